"""The TorchSim adapter (optional extra ``torch-sim-atomistic``): same energies and forces as the model, and
TorchSim's own integrators run it."""

import pytest
import torch

ts = pytest.importorskip("torch_sim")

from mlip_lab.data import load, to_ase  # noqa: E402
from mlip_lab.md.torchsim import TorchSimModel, padded_from_flat  # noqa: E402


@pytest.fixture(scope="module")
def model(make_model):
    return make_model()


def test_padded_from_flat_round_trip():
    system_idx = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    values = torch.arange(9.0)
    padded, mask = padded_from_flat(system_idx, values, 3)
    assert padded.tolist() == [[0, 1, 2, 0], [3, 4, 0, 0], [5, 6, 7, 8]]
    assert torch.equal(padded[mask], values)


def test_adapter_matches_the_model_on_a_mixed_batch(model):
    atoms = to_ase(load("organics_minima"))[:4]
    adapter = TorchSimModel(model)
    state = ts.initialize_state(atoms, adapter.device, adapter.dtype)
    out = adapter(state)
    for b, a in enumerate(atoms):
        ref = model.predict(torch.as_tensor(a.numbers)[None], torch.as_tensor(a.positions)[None])
        assert out["energy"][b] == pytest.approx(float(ref.energy[0]), abs=1e-10)
        assert torch.allclose(out["forces"][state.system_idx == b], ref.forces[0], atol=1e-10)


def test_torchsim_nve_runs_the_model_and_conserves_energy(model):
    atoms = to_ase(load("organics_minima"))[:2]
    adapter = TorchSimModel(model)
    state = ts.initialize_state(atoms, adapter.device, adapter.dtype)
    units = ts.units.MetalUnits  # TorchSim's time unit is the ps
    init, step = ts.nve(model=adapter, dt=torch.tensor(0.25e-3 * units.time), kT=torch.tensor(300 * units.temperature))
    state = init(state)
    start = state.energy + ts.calc_kinetic_energy(masses=state.masses, momenta=state.momenta, system_idx=state.system_idx)
    for _ in range(200):
        state = step(state)
    end = state.energy + ts.calc_kinetic_energy(masses=state.masses, momenta=state.momenta, system_idx=state.system_idx)
    assert not torch.allclose(state.positions, ts.initialize_state(atoms, adapter.device, adapter.dtype).positions)
    assert torch.allclose(start, end, atol=2e-3)
