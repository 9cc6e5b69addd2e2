"""The coupled-cluster path of the reference recipes: CCSD(T) labels with real PySCF, geometries drawn from a
shipped dataset, energy-only label stores, and the two CCSD(T) recipes' task lists."""

import dataclasses

import numpy as np
import pytest

pytestmark = [pytest.mark.qc, pytest.mark.slow]
pytest.importorskip("pyscf")
pytest.importorskip("tblite")

from mlip_lab.data import load  # noqa: E402
from mlip_lab.data.reference.assemble import tasks_to_dataset  # noqa: E402
from mlip_lab.data.reference.build import LabelStore, Task, build, drawn_tasks  # noqa: E402
from mlip_lab.data.reference.qc import CoupledClusterSettings, coupled_cluster_point  # noqa: E402
from mlip_lab.data.reference.recipes import RECIPES, Draw, Recipe  # noqa: E402
from mlip_lab.errors import MLIPLabError  # noqa: E402

TINY = RECIPES["water-tiny-ccsdt"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-ccsdt")
    return load(build(TINY.name, root / "work", root / "out", workers=2, progress=False))


def test_tiny_recipe_has_ccsdt_energies_and_forces_and_no_hessians(tiny):
    assert len(tiny) == 5 and tiny.forces is not None and tiny.hessians is None
    assert tiny.counts("category") == {"md": 3, "min": 1, "nms": 1}
    assert tiny.metadata["method"]["method"] == "CCSD(T)" and tiny.metadata["method"]["frozen_core"]
    assert "CCSD(T)" in tiny.metadata["sampling"]["md_driver"]


def test_stored_forces_are_minus_the_gradient_of_the_stored_energies(tiny):
    """Central differences of CCSD(T) energies against the analytic forces (which need the (T) lambdas)."""
    step = 1e-3  # Å
    for index, atom, axis in [(0, 0, 2), (2, 1, 0), (3, 2, 1)]:
        n = int(tiny.n_atoms[index])
        symbols = [{1: "H", 8: "O"}[z] for z in tiny.species[index, :n]]
        energies = []
        for sign in (1, -1):
            positions = tiny.positions[index, :n].copy()
            positions[atom, axis] += sign * step
            energies.append(coupled_cluster_point(symbols, positions, TINY.coupled_cluster)["energy"])
        finite_difference = -(energies[0] - energies[1]) / (2 * step)
        assert finite_difference == pytest.approx(tiny.forces[index, atom, axis], abs=2e-4)


def test_drawn_geometries_are_those_of_the_source_dataset(tiny):
    organics = load("organics")
    sources = tiny.metadata["source_indices"]
    drawn = [i for i, s in enumerate(sources) if s >= 0]
    assert len(drawn) == 3 and sources.count(-1) == 2
    for i in drawn:
        j = sources[i]
        assert np.array_equal(tiny.positions[i], organics.positions[j, : tiny.max_atoms])
        assert (tiny.molecule[i], tiny.category[i], tiny.temperature[i]) == (
            organics.molecule[j], organics.category[j], organics.temperature[j])


def test_energy_only_labels_round_trip(tmp_path):
    task = Task("water/md/300K/0000", "water", "md", 300.0, ("O", "H", "H"),
                np.array([[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]]), False)
    store = LabelStore(tmp_path)
    store.add(task, {"converged": True, "scf_cycles": 7, "solver": "diis", "cc_cycles": 9, "seconds": 1.0,
                     "energy": -2075.0})
    store.flush()
    again = LabelStore(tmp_path)
    assert again.records[task.key] == {"energy": -2075.0, "n_atoms": 3}
    data = tasks_to_dataset([task], again, "energy-only", with_hessians=False, with_forces=False)
    assert data.forces is None and data.energies.tolist() == [-2075.0]


def test_the_two_ccsdt_recipes_draw_disjoint_geometries_covering_organics():
    training = drawn_tasks(RECIPES["organics_ccsdt"])
    grading = drawn_tasks(RECIPES["ccsdt_grading"])
    organics = load("organics")
    assert len(training) >= 1000 and len(grading) >= 40
    assert not {t.source_index for t in training} & {t.source_index for t in grading}
    for tasks in (training, grading):
        strata = {(t.system, t.category, t.temperature) for t in tasks}
        expected = {(m, c, t) for m, c, t in zip(organics.molecule, organics.category, organics.temperature)
                    if c in ("nms", "md")}
        assert strata == expected  # every molecule, both categories, every temperature
    unseen = set(RECIPES["ccsdt_grading"].molecules)
    assert len(unseen) >= 2 and not unseen & set(organics.molecule)
    assert RECIPES["organics_ccsdt"].label_forces is False and RECIPES["ccsdt_grading"].label_forces


def test_draws_are_reproducible_and_follow_their_seed():
    recipe = RECIPES["ccsdt_grading"]
    again = [t.source_index for t in drawn_tasks(recipe)]
    assert again == [t.source_index for t in drawn_tasks(recipe)]
    reseeded = dataclasses.replace(recipe, draws=(dataclasses.replace(recipe.draws[0], seed=99),))
    assert again != [t.source_index for t in drawn_tasks(reseeded)]


@pytest.mark.parametrize("changes, message", [
    ({"label_method": "mp2"}, "label_method must be"),
    ({"label_forces": False}, "DFT labels always carry forces"),
    ({"draws": (Draw("organics", per_stratum=1, fraction=0.5),)}, "either per_stratum or fraction"),
])
def test_bad_recipes_are_refused(changes, message):
    with pytest.raises(MLIPLabError, match=message):
        Recipe(name="bad", description="", **changes)


def test_an_unconverged_coupled_cluster_run_is_reported_not_stored():
    water = (("O", "H", "H"), np.array([[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]]))
    result = coupled_cluster_point(*water, CoupledClusterSettings(basis="sto-3g", max_cycle=1))
    assert result["converged"] is False and "energy" not in result
