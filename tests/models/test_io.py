"""Model files for kinds other than HIP-NN: the kind registry, nested specs, and ensembles of any saved kind."""

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.models import Ensemble, build_model, load_model, model_spec, register_model_kind, save_model
from tests.models.test_contract import _Pair


class Springs(_Pair):
    """The conformance test's minimal model with a rest length: E = k/2 sum over real pairs (r - r0)^2, split
    evenly between the two atoms; k trainable, r0 in the config."""

    def __init__(self, r0: float):
        super().__init__()
        self.r0 = r0

    def atomic(self, species, positions):
        real = (species > 0).to(positions.dtype)
        pair = real[:, :, None] * real[:, None] * (1 - torch.eye(species.shape[1], dtype=positions.dtype))
        r = (positions[:, :, None] - positions[:, None]).norm(dim=-1)
        return 0.25 * self.k * ((r - self.r0) ** 2 * pair).sum(-1)


class Unregistered(Springs):
    pass


register_model_kind("Springs (test)", Springs, lambda model: {"r0": model.r0}, lambda config: Springs(**config))


def test_a_registered_kind_round_trips(tmp_path):
    model = Springs(1.1)
    with torch.no_grad():
        model.k.fill_(2.5)
    loaded = load_model(save_model(model, tmp_path / "springs.pt"))
    assert type(loaded) is Springs and loaded.r0 == 1.1 and loaded.k.item() == 2.5
    assert model_spec(model) == {"kind": "Springs (test)", "config": {"r0": 1.1}}
    assert type(build_model(model_spec(model))) is Springs


def test_ensembles_of_any_saved_kind_round_trip(tmp_path, make_model):
    ensemble = Ensemble([Springs(1.0), Springs(1.2)])
    loaded = load_model(save_model(ensemble, tmp_path / "ensemble.pt"))
    assert [m.r0 for m in loaded.members] == [1.0, 1.2]
    # HIPNN members keep the plain config list older files have.
    hipnn = Ensemble([make_model(seed=0), make_model(seed=1)])
    raw = torch.load(save_model(hipnn, tmp_path / "hipnn.pt"), weights_only=True)
    assert raw["config"]["members"][0] == hipnn.members[0].config.to_dict()


def test_unregistered_kinds_are_refused_with_the_fix():
    with pytest.raises(MLIPLabError, match="cannot save a Unregistered.*register_model_kind"):
        save_model(Unregistered(1.0), "never-written.pt")
    with pytest.raises(MLIPLabError, match="unknown model kind 'Nope'.*import mlip_lab.cg"):
        build_model({"kind": "Nope", "config": {}})
