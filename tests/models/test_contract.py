"""The model contract: every model kind runs through every model user, and check_model names what a broken
model lacks.

A new model kind joins by adding one line to MODEL_KINDS; it then gets every consumer test below.
"""

import numpy as np
import pytest
import torch
from ase import Atoms

from mlip_lab.cg.pairwise import PairwiseModel
from mlip_lab.cg.prior import RepulsivePrior, WithPrior
from mlip_lab.errors import MLIPLabError
from mlip_lab.md import MLIPCalculator, ModelForceField, make_state, run_md, velocity_verlet
from mlip_lab.models import Ensemble, check_model, fit_reference_energies, load_model, reference_energies_unset, save_model
from mlip_lab.physics import model_hessian, model_hvp
from mlip_lab.train import EnergyLoss, HierarchicalityLoss, Loss, Trainer, energy_force_loss

ELEMENTS = (1, 6, 8)

# One line per model kind: name -> builder of a small float64 model for H, C, O from the conftest's make_model.
MODEL_KINDS = {
    "hipnn-order0": lambda make: make(ELEMENTS, tensor_order=0),
    "hipnn-order1": lambda make: make(ELEMENTS, tensor_order=1),
    "hipnn-order2": lambda make: make(ELEMENTS, tensor_order=2),
    "ensemble": lambda make: Ensemble([make(ELEMENTS, tensor_order=1, seed=1), make(ELEMENTS, tensor_order=2, seed=2)]),
    # Random coefficients, so forces, Hessians and MD are not checked on a zero potential.
    "pairwise": lambda make: PairwiseModel(ELEMENTS, 0.5, 4.0, 8, torch.randn(6, 8, dtype=torch.float64,
                                                                               generator=torch.Generator().manual_seed(0))),
    # A taper of 1 Å puts the prior to work on water's O-H bonds (0.96 Å).
    "with-prior": lambda make: WithPrior(make(ELEMENTS, tensor_order=1),
                                         RepulsivePrior(taper=1.0, decay=0.05, energy_at_taper=0.01, cutoff=2.0)),
}


@pytest.fixture(params=sorted(MODEL_KINDS))
def model(request, make_model):
    return MODEL_KINDS[request.param](make_model)


@pytest.fixture
def molecules(make_dataset):
    return make_dataset(("water", "methane", "water"))


def _water(offset=(0.0, 0.0, 0.0)) -> Atoms:
    return Atoms("OH2", positions=np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]) + offset)


def _finite_difference_forces(energy_of, positions: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """-dE/dR by central differences; energy_of(positions) -> float."""
    forces = np.zeros_like(positions)
    for index in np.ndindex(positions.shape):
        plus, minus = positions.copy(), positions.copy()
        plus[index] += step
        minus[index] -= step
        forces[index] = -(energy_of(plus) - energy_of(minus)) / (2 * step)
    return forces


def test_every_kind_passes_check_model(model):
    assert check_model(model) is model


def test_model_files_round_trip(model, molecules, tmp_path):
    """A trained model of any kind can be saved and loaded back, predicting exactly what it did."""
    loaded = load_model(save_model(model, tmp_path / "model.pt"))
    assert type(loaded) is type(model)
    batch = next(molecules.batches(len(molecules), dtype=torch.float64))
    before, after = model.predict(batch), loaded.predict(batch)
    assert torch.equal(before.energy, after.energy) and torch.equal(before.forces, after.forces)


def test_trainer_runs_one_epoch(model, molecules):
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, energy_force_loss(force_weight=1.0), molecules, molecules, max_epochs=1, batch_size=2,
                      progress=False)
    history = trainer.fit()
    assert len(history) == 1 and np.isfinite(history[0].train["total"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not reference_energies_unset(model)  # the option's default fitted them before the first epoch


def test_force_field_md_runs_a_few_steps(model, molecules):
    force_field = ModelForceField(model)
    state = make_state(molecules.species, molecules.positions, temperatures=100.0, dtype=torch.float64)
    energies, forces = force_field(state.species, state.positions)
    predicted = model.predict(state.species, state.positions)
    assert torch.allclose(energies, predicted.energy) and torch.allclose(forces, predicted.forces)
    result = run_md(state, velocity_verlet(force_field, 0.25), 5, progress=False)
    assert torch.isfinite(result.state.positions).all() and not result.blow_ups
    assert not torch.equal(result.state.positions, state.positions)


def test_ase_calculator_forces_match_finite_differences(model):
    atoms = _water()
    atoms.calc = MLIPCalculator(model)
    forces = atoms.get_forces()

    def energy_of(positions):
        probe = atoms.copy()
        probe.calc = MLIPCalculator(model)
        probe.positions = positions
        return probe.get_potential_energy()

    assert np.allclose(forces, _finite_difference_forces(energy_of, atoms.positions), atol=1e-6)
    assert atoms.calc.results["energies"].sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-9)


def test_torchsim_adapter_on_molecules_and_a_periodic_cell(model):
    ts = pytest.importorskip("torch_sim")
    from mlip_lab.md.torchsim import TorchSimModel

    adapter = TorchSimModel(model)
    box = Atoms("OH2OH2", positions=np.vstack([_water().positions, _water((4.1, 1.3, 7.9)).positions]),
                cell=np.diag([8.2, 8.4, 8.6]), pbc=True)  # wider than twice the cutoff
    for systems in ([_water(), Atoms("CH4", positions=[[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                                                        [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]])], [box]):
        state = ts.initialize_state(systems, adapter.device, adapter.dtype)
        out = adapter(state)
        for b, atoms in enumerate(systems):
            cells = pbc = None
            if atoms.pbc.any():
                cells, pbc = torch.as_tensor(np.asarray(atoms.cell))[None], torch.tensor(atoms.pbc)[None]
            ref = model.predict(torch.as_tensor(atoms.numbers)[None], torch.as_tensor(atoms.positions)[None], cells, pbc)
            assert float(out["energy"][b]) == pytest.approx(float(ref.energy[0]), abs=1e-10)
            assert torch.allclose(out["forces"][state.system_idx == b], ref.forces[0], atol=1e-10)


def test_hessian_and_hvp_match_finite_differences_of_forces(model):
    species = torch.tensor([[8, 1, 1, 0]])
    positions = torch.as_tensor(np.vstack([_water().positions, np.zeros((1, 3))]))[None]
    hessian = model_hessian(model, species, positions)[0]
    step = 1e-5
    columns = []
    for k in range(9):  # the 3 real atoms
        shift = torch.zeros(12, dtype=torch.float64)
        shift[k] = step
        shift = shift.reshape(1, 4, 3)
        plus = model.predict(species, positions + shift).forces
        minus = model.predict(species, positions - shift).forces
        columns.append(-(plus - minus).reshape(-1) / (2 * step))
    finite_difference = torch.stack(columns, dim=1)  # (12, 9)
    assert torch.allclose(hessian[:, :9], finite_difference, atol=1e-5)
    assert hessian[9:].abs().max() == 0  # padding
    vector = torch.randn(1, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    hvp = model_hvp(model, species, positions, vector)
    assert torch.allclose(hvp.reshape(-1), hessian @ vector.reshape(-1), atol=1e-9)


def test_reference_energies_are_an_explicit_step(model, molecules):
    assert reference_energies_unset(model)
    fit_reference_energies(model, molecules.species, molecules.energies)
    assert not reference_energies_unset(model)
    # A new Trainer fine-tuning a fitted model keeps its reference energies.
    fitted = {n: b.clone() for n, b in model.named_buffers() if n.endswith("reference_energies")}
    Trainer(model, Loss([EnergyLoss()]), molecules, molecules, max_epochs=1, progress=False).fit()
    assert all(torch.equal(b, fitted[n]) for n, b in model.named_buffers() if n in fitted)


def test_the_trainer_option_skips_fitting(molecules, make_model):
    model = make_model(ELEMENTS)
    Trainer(model, Loss([EnergyLoss()]), molecules, molecules, max_epochs=1, progress=False,
            fit_reference_energies=False).fit()
    assert reference_energies_unset(model)


def test_hierarchicality_needs_layer_energies(molecules, make_model):
    trainer = Trainer(MODEL_KINDS["ensemble"](make_model), Loss([EnergyLoss(), HierarchicalityLoss()]), molecules, molecules,
                      max_epochs=1, progress=False)
    with pytest.raises(MLIPLabError, match="per-layer energies"):
        trainer.fit()


# --------------------------------------------------------------------------- broken models are named


class _Pair(torch.nn.Module):
    """A minimal contract model: E = k * sum over real pairs of r^2, split evenly between the two atoms.
    Each test breaks one rule by overriding one hook."""

    elements = (1, 8)

    def __init__(self):
        super().__init__()
        self.k = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))

    def atomic(self, species, positions):
        real = (species > 0).to(positions.dtype)
        r2 = ((positions[:, :, None] - positions[:, None]) ** 2).sum(-1) * real[:, :, None] * real[:, None]
        return 0.5 * self.k * r2.sum(-1)

    def forward(self, species, positions, cells=None, pbc=None):
        atomic = self.atomic(species, positions)
        return _Output(atomic.sum(-1), atomic)

    def predict(self, species, positions, cells=None, pbc=None, forces=True):
        positions = positions.detach().requires_grad_(True)
        out = self(species, positions)
        (gradient,) = torch.autograd.grad(out.energy.sum(), positions)
        return _Output(out.energy.detach(), out.atomic_energies.detach(), -gradient)


class _Output:
    def __init__(self, energy, atomic_energies, forces=None):
        self.energy, self.atomic_energies, self.forces = energy, atomic_energies, forces


def test_a_minimal_model_of_another_kind_passes_and_runs_in_md():
    model = _Pair()
    assert check_model(model) is model
    state = make_state([[8, 1]], [[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]], temperatures=0.0, dtype=torch.float64)
    result = run_md(state, velocity_verlet(ModelForceField(model), 0.5), 3, progress=False)
    assert torch.isfinite(result.state.positions).all()


class _NoElements(_Pair):
    elements = None


class _NoPredict(torch.nn.Module):
    elements = (1,)

    def forward(self, species, positions, cells=None, pbc=None):
        return None


class _NoAtomicEnergies(_Pair):
    def forward(self, species, positions, cells=None, pbc=None):
        return type("Out", (), {"energy": super().forward(species, positions).energy})()


class _AtomicEnergiesDoNotSum(_Pair):
    def forward(self, species, positions, cells=None, pbc=None):
        out = super().forward(species, positions)
        return _Output(out.energy + 1.0, out.atomic_energies)


class _PaddingMatters(_Pair):
    def atomic(self, species, positions):
        return super().atomic(torch.ones_like(species), positions) * (species > 0)


class _DetachedEnergy(_Pair):
    def forward(self, species, positions, cells=None, pbc=None):
        out = super().forward(species, positions.detach())
        return _Output(out.energy.detach(), out.atomic_energies.detach())


class _WrongDtype(_Pair):
    def forward(self, species, positions, cells=None, pbc=None):
        out = super().forward(species, positions)
        return _Output(out.energy.float(), out.atomic_energies.float())


class _NoParameters(torch.nn.Module):
    elements = (1,)

    def predict(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("broken, message", [
    (lambda: torch.zeros(3), "not a torch.nn.Module"),
    (_NoPredict, "has no predict"),
    (_NoElements, "elements=None"),
    (_NoParameters, "no floating-point parameters"),
    (_NoAtomicEnergies, "without 'atomic_energies'"),
    (_AtomicEnergiesDoNotSum, "must add up"),
    (_PaddingMatters, "padded atom"),
    (_DetachedEnergy, "does not depend on positions"),
    (_WrongDtype, "must follow the model's dtype"),
])
def test_check_model_names_what_is_missing(broken, message):
    with pytest.raises(MLIPLabError, match=message):
        check_model(broken())


@pytest.mark.parametrize("consumer", [
    lambda m, data: Trainer(m, Loss([EnergyLoss()]), data, data),
    lambda m, data: ModelForceField(m),
    lambda m, data: MLIPCalculator(m),
    lambda m, data: model_hessian(m, torch.tensor([[1, 1]]), torch.zeros(1, 2, 3, dtype=torch.float64)),
    lambda m, data: Ensemble([m]),
])
def test_every_consumer_checks_the_contract(consumer, molecules):
    with pytest.raises(MLIPLabError, match="model contract"):
        consumer(_AtomicEnergiesDoNotSum(), molecules)


def test_ensemble_members_must_share_elements(make_model):
    with pytest.raises(MLIPLabError, match="different elements"):
        Ensemble([make_model(ELEMENTS), make_model((1, 8))])


def test_fitting_reference_energies_of_a_kind_without_them_is_an_error(molecules):
    with pytest.raises(MLIPLabError, match="no per-element reference energies"):
        fit_reference_energies(_Pair(), molecules.species, molecules.energies)
