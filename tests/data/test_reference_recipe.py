"""The reference-data recipe run end to end on a tiny case with real PySCF, plus its building blocks."""

import json

import numpy as np
import pytest

pytestmark = [pytest.mark.qc, pytest.mark.slow]
pytest.importorskip("pyscf")
pytest.importorskip("tblite")

from mlip_lab.data import load  # noqa: E402
from mlip_lab.data.reference.build import LabelStore, Task, build, update_tasks  # noqa: E402
from mlip_lab.data.reference.qc import QCSettings, single_point  # noqa: E402
from mlip_lab.data.reference.recipes import RECIPES  # noqa: E402
from mlip_lab.errors import MLIPLabError  # noqa: E402

TINY = RECIPES["water-tiny"]


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    """Build water-tiny in two chunks, as a stopped and resumed run would."""
    root = tmp_path_factory.mktemp("tiny")
    work, out = root / "work", root / "out"
    first = build("water-tiny", work, out, workers=2, progress=False, max_tasks=2)
    log_after_first = (work / "scf_log.jsonl").read_text().splitlines()
    path = build("water-tiny", work, out, workers=2, progress=False)
    return {"work": work, "out": out, "first": first, "log_after_first": log_after_first, "path": path}


def test_stopped_run_resumes_without_redoing_work(tiny_build):
    assert tiny_build["first"] is None  # not finished after the first chunk
    assert len(tiny_build["log_after_first"]) == 2
    log = (tiny_build["work"] / "scf_log.jsonl").read_text().splitlines()
    keys = [json.loads(line)["key"] for line in log]
    assert len(keys) == len(set(keys)) == 4  # each configuration labelled exactly once
    again = build("water-tiny", tiny_build["work"], tiny_build["out"], workers=1, progress=False)
    assert again == tiny_build["path"]
    assert len((tiny_build["work"] / "scf_log.jsonl").read_text().splitlines()) == 4


def test_resumed_run_labels_the_frozen_task_list(tiny_build, monkeypatch):
    """Once tasks.npz exists, a resumed run never re-samples (so code changes cannot shift geometries)."""
    import mlip_lab.data.reference.build as build_module

    assert (tiny_build["work"] / "tasks.npz").exists()
    monkeypatch.setattr(build_module, "make_tasks", lambda *a, **k: pytest.fail("tasks were re-sampled"))
    assert build("water-tiny", tiny_build["work"], tiny_build["out"], workers=1, progress=False) == tiny_build["path"]


@pytest.fixture()
def tiny_copy(tiny_build, tmp_path):
    import shutil

    shutil.copytree(tiny_build["work"], tmp_path / "work")
    return {"work": tmp_path / "work", "out": tmp_path / "out", "before": load(tiny_build["path"])}


def test_redraw_md_replaces_snapshots_and_relabels_only_them(tiny_copy, monkeypatch):
    import mlip_lab.data.reference.sampling as sampling

    work, before = tiny_copy["work"], tiny_copy["before"]
    drawn = []

    def shifted_sampler(symbols, positions, temperature_k, count, rng):
        drawn.append(temperature_k)
        return np.repeat(np.asarray(positions)[None] + 0.01, count, axis=0)

    monkeypatch.setattr(sampling, "tight_binding_md_samples", shifted_sampler)
    assert update_tasks("water-tiny", work, redraw_md=True, progress=False) == 1
    assert drawn == [500.0]
    store = LabelStore(work)
    assert len(store.records) == 3 and all("/md/" not in k for k in store.records)
    assert all("/md/" not in e["key"] for e in store.log_entries())
    after = load(build("water-tiny", work, tiny_copy["out"], workers=1, progress=False))
    md_before, md_after = (ds.positions[ds.category == "md"][0] for ds in (before, after))
    np.testing.assert_allclose(md_after, after.positions[after.category == "min"][0] + 0.01, atol=1e-9)
    assert np.abs(md_after - md_before).max() > 0.01
    keep = before.category != "md"
    np.testing.assert_array_equal(after.energies[keep], before.energies[keep])  # nms and min labels kept
    assert len([e for e in LabelStore(work).log_entries() if "/md/" in e["key"]]) == 1


def test_denser_recipe_appends_configurations_and_keeps_old_labels(tiny_copy, monkeypatch):
    from dataclasses import replace

    work, before = tiny_copy["work"], tiny_copy["before"]
    monkeypatch.setitem(RECIPES, "water-tiny", replace(TINY, sample_overrides=(("water", 3, 2),)))
    assert update_tasks("water-tiny", work, progress=False) == 2  # one more normal-mode sample, one more snapshot
    after = load(build("water-tiny", work, tiny_copy["out"], workers=1, progress=False))
    assert after.counts("category") == {"md": 2, "min": 1, "nms": 3}
    for i in range(len(before)):
        j = int(np.flatnonzero(np.all(np.isclose(after.positions, before.positions[i]), axis=(1, 2)))[0])
        assert after.energies[j] == before.energies[i]  # the old label, not a new calculation
    assert len(LabelStore(work).log_entries()) == 6


def test_update_refuses_a_recipe_that_dropped_frozen_tasks(tiny_copy, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(RECIPES, "water-tiny", replace(TINY, sample_overrides=(("water", 1, 1),)))
    with pytest.raises(MLIPLabError, match="no longer asks for 1 frozen tasks"):
        update_tasks("water-tiny", tiny_copy["work"], progress=False)


def test_update_needs_a_task_list(tmp_path):
    with pytest.raises(MLIPLabError, match="no task list"):
        update_tasks("water-tiny", tmp_path, progress=False)


def test_dataset_has_every_category_and_provenance(tiny_build):
    ds = load(tiny_build["path"])
    assert len(ds) == 4
    assert ds.counts("category") == {"md": 1, "min": 1, "nms": 2}
    assert ds.hessians is not None and ds.forces is not None
    card = tiny_build["path"].with_suffix(".md").read_text()
    for text in ("wb97x-d3bj", "sto-3g", "pyscf", "python -m mlip_lab.data.reference build water-tiny", "| nms | 2 |"):
        assert text in card
    assert ds.metadata["dropped_scf_not_converged"] == 0
    assert ds.metadata["cpu_seconds"]["labels"] > 0


def _displaced(positions, index, step):
    p = positions.copy().reshape(-1)
    p[index] += step
    return p.reshape(-1, 3)


def test_stored_forces_are_minus_the_energy_gradient(tiny_build):
    ds = load(tiny_build["path"])
    i = int(np.flatnonzero(ds.category == "nms")[0])
    symbols = [{1: "H", 8: "O"}[z] for z in ds.species[i]]
    pos = ds.positions[i]
    h = 2e-3
    coordinates = [0, 2, 4, 7]  # O x, O z, H1 y, H2 y: in-plane and out-of-plane components
    fd = np.zeros(len(coordinates))
    for n, k in enumerate(coordinates):
        plus = single_point(symbols, _displaced(pos, k, h), TINY.settings)["energy"]
        minus = single_point(symbols, _displaced(pos, k, -h), TINY.settings)["energy"]
        fd[n] = -(plus - minus) / (2 * h)
    assert np.abs(ds.forces[i].reshape(-1)[coordinates]).max() > 0.05  # a displaced geometry: forces are not ~0
    np.testing.assert_allclose(ds.forces[i].reshape(-1)[coordinates], fd, atol=2e-3)


def test_stored_hessian_is_symmetric_and_matches_force_differences(tiny_build):
    ds = load(tiny_build["path"])
    i = int(np.flatnonzero(ds.category == "min")[0])
    symbols = [{1: "H", 8: "O"}[z] for z in ds.species[i]]
    hess = ds.hessians[i]
    np.testing.assert_allclose(hess, hess.T, atol=1e-4)
    h = 2e-3
    rows = [1, 2, 5]  # O y, O z, H1 z: the rows with the stiffest couplings
    fd = np.zeros((len(rows), 9))
    for n, k in enumerate(rows):
        plus = single_point(symbols, _displaced(ds.positions[i], k, h), TINY.settings)["forces"].reshape(-1)
        minus = single_point(symbols, _displaced(ds.positions[i], k, -h), TINY.settings)["forces"].reshape(-1)
        fd[n] = -(plus - minus) / (2 * h)
    np.testing.assert_allclose(hess[rows], fd, atol=0.05 * np.abs(hess).max())


def test_unconverged_scf_is_reported_not_labelled():
    out = single_point(["O", "H", "H"], [[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]],
                       QCSettings(basis="sto-3g", grid_level=1, max_cycle=1))
    assert out["converged"] is False
    assert "energy" not in out and "forces" not in out


def test_label_store_drops_and_counts_failed_configurations(tmp_path):
    store = LabelStore(tmp_path)
    ok = Task("w/nms/0", "w", "nms", 300.0, ("H", "H"), np.zeros((2, 3)), False)
    bad = Task("w/nms/1", "w", "nms", 300.0, ("H", "H"), np.ones((2, 3)), False)
    store.add(ok, {"converged": True, "scf_cycles": 5, "solver": "diis", "seconds": 0.1,
                   "energy": -1.0, "forces": np.zeros((2, 3))})
    store.add(bad, {"converged": False, "scf_cycles": 100, "solver": "newton", "seconds": 0.1})
    store.flush()
    reopened = LabelStore(tmp_path)
    assert set(reopened.records) == {"w/nms/0"}
    assert reopened.done("w/nms/1")  # never retried, never stored
    assert [e["converged"] for e in reopened.log_entries()] == [True, False]


def test_unknown_recipe_is_a_clear_error(tmp_path):
    from mlip_lab import MLIPLabError

    with pytest.raises(MLIPLabError, match="unknown recipe 'nope'"):
        build("nope", tmp_path, tmp_path, workers=1, progress=False)
