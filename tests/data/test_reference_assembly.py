"""Stacking labelled reference tasks of different sizes into padded arrays (no quantum chemistry needed)."""

import numpy as np

from mlip_lab.data.reference.assemble import tasks_to_dataset
from mlip_lab.data.reference.build import LabelStore, Task, _save_tasks, load_or_make_tasks

WATER = ("O", "H", "H")
AMMONIA = ("N", "H", "H", "H")


def task(key, symbols, offset, hessian):
    positions = np.array([[0.0, 0.0, 0.0]] + [[0.96 * (i == j) for j in range(3)] for i in range(len(symbols) - 1)])
    return Task(key, "water" if len(symbols) == 3 else "ammonia", "min", float("nan"), symbols, positions + offset, hessian)


def label(n, seed, hessian):
    rng = np.random.default_rng(seed)
    rec = {"energy": float(rng.normal()), "forces": rng.normal(size=(n, 3)), "n_atoms": n}
    if hessian:
        a = rng.normal(size=(3 * n, 3 * n))
        rec["hessian"] = a + a.T
    return rec


def test_tasks_to_dataset_pads_mixed_sizes(tmp_path):
    store = LabelStore(tmp_path)
    tasks = [task("w", WATER, 0.0, True), task("a", AMMONIA, 0.1, True), task("skipped", WATER, 0.2, True)]
    store.records = {"w": label(3, 0, True), "a": label(4, 1, True)}
    d = tasks_to_dataset(tasks, store, "mini", with_hessians=True)
    assert d.species.tolist() == [[8, 1, 1, 0], [7, 1, 1, 1]]
    np.testing.assert_array_equal(d.positions[0, :3], tasks[0].positions)
    np.testing.assert_array_equal(d.forces[1], store.records["a"]["forces"])
    assert d.hessians.shape == (2, 12, 12) and not d.hessians[0, 9:].any()
    np.testing.assert_array_equal(d.hessians[1], store.records["a"]["hessian"])
    assert tasks_to_dataset(tasks, store, "mini", with_hessians=False).hessians is None


def test_label_store_round_trips_ragged_labels_with_and_without_hessians(tmp_path):
    store = LabelStore(tmp_path)
    store.records = {"w": label(3, 0, False), "a": label(4, 1, True)}
    store.flush()
    back = LabelStore(tmp_path).records
    assert set(back) == {"w", "a"} and "hessian" not in back["w"]
    for key in ("w", "a"):
        np.testing.assert_array_equal(back[key]["forces"], store.records[key]["forces"])
    np.testing.assert_array_equal(back["a"]["hessian"], store.records["a"]["hessian"])


def test_task_list_round_trips_ragged_positions(tmp_path):
    tasks = [task("water/min/0000", WATER, 0.0, True), task("ammonia/min/0000", AMMONIA, 0.5, False)]
    _save_tasks(tasks, tmp_path / "tasks.npz")
    back = load_or_make_tasks(None, {}, tmp_path / "tasks.npz")
    assert [t.key for t in back] == [t.key for t in tasks] and [t.hessian for t in back] == [True, False]
    for a, b in zip(back, tasks):
        np.testing.assert_array_equal(a.positions, b.positions)
