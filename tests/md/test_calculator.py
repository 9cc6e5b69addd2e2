"""MLIPCalculator: ASE sees exactly what the model predicts, forces are consistent, relaxations work."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import molecule
from ase.optimize import BFGS

from mlip_lab import MLIPLabError
from mlip_lab.md import MLIPCalculator
from mlip_lab.models import Ensemble


@pytest.fixture
def tiny_model(make_model):
    """Factory ``tiny_model(seed=0)``: a float64 H/C/O HIP-NN-TS (order 1), two interactions."""

    def build(seed=0):
        return make_model(elements=(1, 6, 8), tensor_order=1, seed=seed, n_features=6, n_sensitivities=5,
                          n_interactions=2, n_atom_layers=2)

    return build


def methanol():
    atoms = molecule("CH3OH")
    atoms.rattle(0.05, seed=1)  # off-equilibrium, so forces are not small by symmetry
    return atoms


def periodic_water():
    """Water straddling the boundary of a 9 Å cell (> 2 x cutoff), so the minimum image matters."""
    atoms = molecule("H2O")
    atoms.cell = np.diag([9.0, 9.2, 9.4])
    atoms.pbc = True
    atoms.positions += [0.1, 0.2, 0.0]
    atoms.wrap()
    return atoms


@pytest.mark.parametrize("make_atoms", [methanol, periodic_water])
def test_results_equal_model_predict(make_atoms, tiny_model):
    model = tiny_model()
    atoms = make_atoms()
    atoms.calc = MLIPCalculator(model)
    cells = torch.tensor(np.asarray(atoms.cell), dtype=torch.float64)[None] if atoms.pbc.any() else None
    pbc = torch.tensor(atoms.pbc)[None] if atoms.pbc.any() else None
    out = model.predict(torch.tensor(atoms.numbers)[None], torch.tensor(atoms.positions)[None], cells, pbc)
    assert atoms.get_potential_energy() == pytest.approx(float(out.energy[0]), abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), out.forces[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(atoms.get_potential_energies(), out.atomic_energies[0].numpy(), atol=1e-12)


def test_periodic_structure_sees_its_images(tiny_model):
    """Unwrapped and wrapped copies of a periodic molecule are the same physical system."""
    model = tiny_model()
    wrapped = periodic_water()
    unwrapped = wrapped.copy()
    unwrapped.positions[1] += wrapped.cell[0]  # move one atom by a lattice vector
    energies = []
    for atoms in (wrapped, unwrapped):
        atoms.calc = MLIPCalculator(model)
        energies.append(atoms.get_potential_energy())
    assert energies[0] == pytest.approx(energies[1], abs=1e-10)
    wrapped.pbc = False  # as an isolated molecule the split water is a different system
    wrapped.calc = MLIPCalculator(model)
    assert abs(wrapped.get_potential_energy() - energies[0]) > 1e-6


def test_per_atom_energies_sum_to_energy(tiny_model):
    atoms = methanol()
    atoms.calc = MLIPCalculator(tiny_model())
    assert atoms.get_potential_energies().shape == (len(atoms),)
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-10)


@pytest.mark.parametrize("make_atoms", [methanol, periodic_water])
def test_forces_are_minus_finite_difference_gradient(make_atoms, tiny_model):
    atoms = make_atoms()
    atoms.calc = MLIPCalculator(tiny_model())
    forces = atoms.get_forces()
    assert np.abs(forces).max() > 1e-3  # a calculator returning zero forces would pass trivially
    h = 1e-5
    numeric = np.zeros_like(forces)
    for i in range(len(atoms)):
        for k in range(3):
            energies = []
            for step in (h, -h):
                displaced = atoms.copy()
                displaced.positions[i, k] += step
                displaced.calc = atoms.calc
                energies.append(displaced.get_potential_energy())
            numeric[i, k] = -(energies[0] - energies[1]) / (2 * h)
    np.testing.assert_allclose(forces, numeric, atol=1e-6)


def test_bfgs_relaxation_lowers_energy_and_converges(tiny_model):
    atoms = methanol()
    atoms.calc = MLIPCalculator(tiny_model())
    start = atoms.get_potential_energy()
    converged = BFGS(atoms, logfile=None).run(fmax=0.01, steps=200)
    assert converged
    assert atoms.get_potential_energy() < start
    assert np.linalg.norm(atoms.get_forces(), axis=1).max() < 0.01


def test_unknown_element_is_named(tiny_model):
    atoms = Atoms("HCl", positions=[[0, 0, 0], [0, 0, 1.3]])
    atoms.calc = MLIPCalculator(tiny_model())
    with pytest.raises(MLIPLabError, match=r"Cl \(Z=17\).*H, C, O"):
        atoms.get_potential_energy()


def test_ensemble_gives_mean_results_and_spread(tiny_model):
    ensemble = Ensemble([tiny_model(seed) for seed in range(3)])
    atoms = methanol()
    atoms.calc = MLIPCalculator(ensemble)
    out = ensemble.predict(torch.tensor(atoms.numbers)[None], torch.tensor(atoms.positions)[None])
    assert atoms.get_potential_energy() == pytest.approx(float(out.energy[0]), abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), out.forces[0].numpy(), atol=1e-12)
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
    assert atoms.calc.results["energy_std"] == pytest.approx(float(out.energy_std[0]), abs=1e-12)
    assert atoms.calc.results["energy_std"] > 0


def test_float32_model_takes_float64_structures(tiny_model):
    model = tiny_model().float()
    atoms = methanol()
    atoms.calc = MLIPCalculator(model)
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().dtype == np.float64


@pytest.mark.parametrize("change, message", [
    (lambda atoms: atoms.positions.__setitem__((1, 0), np.nan), "finite"),
    (lambda atoms: atoms.positions.__setitem__(1, atoms.positions[0] + 0.05), "closer than"),
])
def test_malformed_structures_are_refused_before_the_model_sees_them(tiny_model, change, message):
    atoms = molecule("H2O")
    change(atoms)
    atoms.calc = MLIPCalculator(tiny_model())
    with pytest.raises(MLIPLabError, match=message):
        atoms.get_potential_energy()
