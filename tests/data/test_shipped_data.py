"""The datasets shipped in mlip_lab/datasets/ load, hold what their issue promised, and are physically sane."""

import numpy as np
import pytest

from mlip_lab.data import load, shipped_datasets
from mlip_lab.physics import harmonic_analysis, masses_of
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K


def test_every_promised_dataset_ships():
    assert {"reactions", "organics", "organics_minima", "organics_ccsdt", "ccsdt_grading"} <= set(shipped_datasets())


def test_reactions_has_four_reactions_with_all_categories_and_a_hessian_for_every_configuration():
    data = load("reactions")
    assert len(data) >= 500
    assert len(data.counts("molecule")) >= 3
    assert set(data.counts("category")) == {"reactant", "product", "ts", "irc", "nms"}
    assert data.forces is not None and data.hessians is not None
    assert set(data.elements) <= {1, 6, 7, 8} and data.n_atoms.max() <= 8
    for i in range(len(data)):
        k = 3 * data.n_atoms[i]
        h = data.hessians[i, :k, :k]
        assert np.abs(h - h.T).max() < 1e-6 * max(1.0, np.abs(h).max()), f"configuration {i}: asymmetric Hessian"
        assert np.all(data.hessians[i, k:] == 0) and np.all(data.hessians[i, :, k:] == 0)


def test_every_transition_state_has_exactly_one_imaginary_mode_and_minima_none():
    data = load("reactions")
    for category, expected in (("ts", 1), ("reactant", 0), ("product", 0)):
        part = data.where(category=category)
        for i in range(len(part)):
            analysis = harmonic_analysis(part.hessians[i], part.positions[i], masses_of(part.species[i]))
            wavenumbers = analysis.frequencies_cm.numpy()
            # small negative "frequencies" below 50 cm^-1 are numerical noise of the rigid-body projection
            assert int((wavenumbers < -50).sum()) == expected, (category, part.molecule[i])


def test_organics_has_seven_molecules_with_normal_mode_and_md_samples():
    data = load("organics")
    assert len(data) >= 1500
    assert len(data.counts("molecule")) >= 6 and data.n_atoms.max() <= 9
    assert {"nms", "md"} <= set(data.counts("category"))
    md = data.where(category="md")
    assert set(np.unique(md.temperature)) >= {300.0, 1000.0}
    assert data.forces is not None and np.isfinite(data.forces).all()


def test_organics_md_snapshots_are_as_hot_as_their_temperature_label():
    """Mean DFT energy above the minimum stays within 2x the harmonic (3N-6)/2 k_B T of each label.

    MD snapshots once came from a Langevin variant that ran small molecules about twice too hot: their
    "300 K" water sat 8x above this estimate."""
    data = load("organics")
    for molecule in np.unique(data.molecule):
        one = data.where(molecule=molecule)
        minimum = one.energies[one.category == "min"][0]
        n_modes = 3 * int(one.n_atoms[0]) - 6
        for temperature in (300.0, 600.0, 1000.0):
            above = one.energies[(one.category == "md") & (one.temperature == temperature)] - minimum
            harmonic = 0.5 * n_modes * BOLTZMANN_EV_PER_K * temperature
            assert above.mean() < 2.0 * harmonic, f"{molecule} at {temperature:g} K: {above.mean():.3f} eV vs {harmonic:.3f}"


@pytest.mark.parametrize("name", ["reactions", "organics", "organics_minima"])
def test_provenance_card_names_the_level_of_theory_and_rebuild_command(name):
    data = load(name)
    assert data.metadata["method"]["functional"] == "wb97x-d3bj"
    assert "python -m mlip_lab.data.reference build" in data.metadata["command"]
    assert sum(data.metadata["counts"].values()) == len(data)


def test_organics_ccsdt_is_energy_only_coupled_cluster_on_organics_geometries():
    ccsdt, organics = load("organics_ccsdt"), load("organics")
    assert len(ccsdt) >= 1000 and ccsdt.forces is None and ccsdt.hessians is None
    assert ccsdt.metadata["method"]["method"] == "CCSD(T)" and ccsdt.metadata["method"]["basis"] == "cc-pvdz"
    assert set(ccsdt.molecule) == set(organics.molecule) and set(ccsdt.category) == {"nms", "md"}
    assert set(ccsdt.temperature) == set(organics.temperature[organics.category == "md"])
    rows = np.asarray(ccsdt.metadata["source_indices"])
    assert len(set(rows)) == len(ccsdt)
    assert np.array_equal(ccsdt.positions, organics.positions[rows][:, : ccsdt.max_atoms])
    # CCSD(T) and DFT differ by a large constant per molecule; what varies with geometry is tens of meV.
    difference = ccsdt.energies - organics.energies[rows]
    for molecule in set(ccsdt.molecule):
        assert difference[ccsdt.molecule == molecule].std() < 0.15


def test_ccsdt_grading_has_forces_for_seen_and_unseen_molecules():
    grading, training, organics = load("ccsdt_grading"), load("organics_ccsdt"), load("organics")
    assert len(grading) >= 60 and grading.forces is not None
    assert grading.metadata["method"]["method"] == "CCSD(T)"
    unseen = ~np.isin(grading.molecule, list(set(organics.molecule)))
    assert unseen.sum() >= 20 and len(set(grading.molecule[unseen])) >= 2
    rows = np.asarray(grading.metadata["source_indices"])
    assert np.all(rows[unseen] == -1) and np.all(rows[~unseen] >= 0)
    assert not set(rows[~unseen]) & set(training.metadata["source_indices"])  # training never sees them


@pytest.mark.qc
@pytest.mark.slow
def test_ccsdt_grading_forces_are_minus_the_gradient_of_the_energy():
    """A few stored analytic CCSD(T) forces against central differences of freshly computed CCSD(T) energies."""
    pytest.importorskip("pyscf")
    from ase.data import chemical_symbols

    from mlip_lab.data.reference.qc import CoupledClusterSettings, coupled_cluster_point

    grading = load("ccsdt_grading")
    settings = CoupledClusterSettings(**{k: grading.metadata["method"][k] for k in ("basis", "frozen_core")})
    step = 1e-3  # Å
    for molecule, atom, axis in (("water", 0, 2), ("hydrogen_cyanide", 1, 0)):
        index = int(np.flatnonzero(grading.molecule == molecule)[0])
        n = int(grading.n_atoms[index])
        symbols = [chemical_symbols[z] for z in grading.species[index, :n]]
        energies = []
        for sign in (1, -1):
            positions = grading.positions[index, :n].copy()
            positions[atom, axis] += sign * step
            energies.append(coupled_cluster_point(symbols, positions, settings)["energy"])
        assert -(energies[0] - energies[1]) / (2 * step) == pytest.approx(grading.forces[index, atom, axis], abs=2e-3)
