"""The in-memory Dataset: views, subsetting, concatenation, splits and padded mini-batches."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import Batch, Dataset, load


def rows_of(subset, full):
    """Row indices in ``full`` of each configuration of ``subset`` (energies are unique per configuration)."""
    return [int(np.flatnonzero(full.energies == e)[0]) for e in subset.energies]


# ---------------------------------------------------------------------------------- basic views
def test_basic_views(mixed):
    assert len(mixed) == 8
    assert mixed.max_atoms == 5
    assert mixed.n_atoms.tolist() == [3, 5, 3, 3, 5, 3, 5, 3]
    assert mixed.elements == [1, 6, 8]
    assert mixed.hessians.shape == (8, 15, 15)
    assert "mixed" in repr(mixed) and "8 configurations" in repr(mixed)


def test_defaults_for_hand_made_dataset():
    d = Dataset(np.array([[1, 1]]), np.array([[[0, 0, 0], [0, 0, 0.74]]]), np.array([-31.5]))
    assert d.category.tolist() == ["other"]
    assert d.molecule.tolist() == [""]
    assert np.isnan(d.temperature).all()
    assert d.forces is None and d.hessians is None


def test_counts(mixed):
    assert mixed.counts() == {"irc": 1, "md": 3, "min": 2, "ts": 2}
    assert mixed.counts("category") == mixed.counts()
    assert mixed.counts("molecule") == {"methane": 3, "water": 5}


# ---------------------------------------------------------------------------------- subset
def test_subset_by_integers_keeps_order_and_values(mixed):
    sub = mixed.subset([4, 1, 6])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub.energies, mixed.energies[[4, 1, 6]])
    np.testing.assert_array_equal(sub.positions, mixed.positions[[4, 1, 6]])
    np.testing.assert_array_equal(sub.hessians, mixed.hessians[[4, 1, 6]])
    assert sub.category.tolist() == ["min", "ts", "md"]
    assert sub.molecule.tolist() == ["methane"] * 3


def test_subset_negative_index(mixed):
    sub = mixed.subset([-1])
    assert sub.energies.tolist() == [mixed.energies[-1]]


def test_subset_trims_padding(mixed):
    water_rows = [0, 2, 3]
    sub = mixed.subset(water_rows)
    assert sub.max_atoms == 3
    assert sub.species.shape == (3, 3)
    assert sub.positions.shape == (3, 3, 3)
    assert sub.forces.shape == (3, 3, 3)
    assert sub.atomic_energies.shape == (3, 3)
    assert sub.hessians.shape == (3, 9, 9)
    np.testing.assert_array_equal(sub.species, mixed.species[water_rows, :3])
    np.testing.assert_array_equal(sub.forces, mixed.forces[water_rows, :3])
    np.testing.assert_array_equal(sub.hessians, mixed.hessians[water_rows, :9, :9])


def test_subset_keeps_padding_needed_by_largest(mixed):
    sub = mixed.subset([0, 1])  # water (3) + methane (5)
    assert sub.max_atoms == 5
    assert sub.n_atoms.tolist() == [3, 5]


def test_subset_boolean_mask(mixed):
    mask = np.array([True, False, False, True, False, False, False, True])
    sub = mixed.subset(mask)
    np.testing.assert_array_equal(sub.energies, mixed.energies[[0, 3, 7]])
    assert sub.max_atoms == 3


def test_subset_boolean_mask_as_list(mixed):
    sub = mixed.subset([False, True] + [False] * 6)
    assert sub.energies.tolist() == [mixed.energies[1]]


@pytest.mark.parametrize("bad, words", [
    (np.ones(5, dtype=bool), "boolean mask has shape"),
    ([0, 8], "out of range"),
    ([-9], "out of range"),
    ([], "empty"),
    (np.zeros(8, dtype=bool), "empty"),
    ([0.5, 1.0], "integer"),
])
def test_subset_errors(mixed, bad, words):
    with pytest.raises(MLIPLabError, match=words):
        mixed.subset(bad)


def test_subset_keeps_name_and_metadata(mixed):
    sub = mixed.subset([0])
    assert sub.name == "mixed"
    assert sub.metadata == {"origin": "tests"}


# ---------------------------------------------------------------------------------- where
def test_where_category(mixed):
    ts = mixed.where(category="ts")
    assert rows_of(ts, mixed) == [1, 7]
    assert set(ts.category) == {"ts"}


def test_where_list_of_values(mixed):
    sub = mixed.where(category=["min", "irc"])
    assert rows_of(sub, mixed) == [0, 4, 5]


def test_where_molecule_trims(mixed):
    water = mixed.where(molecule="water")
    assert len(water) == 5
    assert water.max_atoms == 3


def test_where_combines_labels_with_and(mixed):
    sub = mixed.where(molecule="methane", category="md")
    assert rows_of(sub, mixed) == [6]


def test_where_rejects_other_keys(mixed):
    with pytest.raises(MLIPLabError, match="not 'temperature'"):
        mixed.where(temperature=300.0)


def test_where_without_match_is_an_error(mixed):
    with pytest.raises(MLIPLabError):
        mixed.where(category="nms")


# ---------------------------------------------------------------------------------- concatenate
def test_concatenate_repads_to_largest(make_dataset):
    water = make_dataset(["water", "water"], seed=3, name="w")
    methane = make_dataset(["methane"], seed=4, name="m")
    assert water.max_atoms == 3
    joined = Dataset.concatenate([water, methane])
    assert len(joined) == 3
    assert joined.max_atoms == 5
    assert joined.hessians.shape == (3, 15, 15)
    assert joined.name == "w+m"
    np.testing.assert_array_equal(joined.energies, np.concatenate([water.energies, methane.energies]))
    # the water rows keep their values and gain zero padding
    np.testing.assert_array_equal(joined.positions[:2, :3], water.positions)
    np.testing.assert_array_equal(joined.positions[:2, 3:], 0.0)
    np.testing.assert_array_equal(joined.hessians[:2, :9, :9], water.hessians)
    np.testing.assert_array_equal(joined.hessians[:2, 9:, :], 0.0)
    np.testing.assert_array_equal(joined.hessians[:2, :, 9:], 0.0)
    np.testing.assert_array_equal(joined.atomic_energies[:2, 3:], 0.0)
    np.testing.assert_array_equal(joined.species[:2], [[8, 1, 1, 0, 0]] * 2)
    np.testing.assert_array_equal(joined.forces[2], methane.forces[0])
    assert joined.molecule.tolist() == ["water", "water", "methane"]


def test_concatenate_then_subset_round_trips(make_dataset):
    water = make_dataset(["water", "water"], seed=3)
    methane = make_dataset(["methane"], seed=4)
    back = Dataset.concatenate([water, methane]).subset([0, 1])
    np.testing.assert_array_equal(back.hessians, water.hessians)
    np.testing.assert_array_equal(back.positions, water.positions)


def test_concatenate_drops_fields_not_everywhere(make_dataset):
    with_h = make_dataset(["water"], seed=3)
    without_h = make_dataset(["methane"], seed=4, hessians=False)
    joined = Dataset.concatenate([with_h, without_h], name="joined")
    assert joined.hessians is None
    assert joined.forces is not None
    assert joined.name == "joined"


def test_concatenate_keeps_metadata_of_parts(mixed, make_dataset):
    joined = Dataset.concatenate([mixed, make_dataset(["water"])])
    assert joined.metadata["parts"][0] == {"origin": "tests"}


def test_concatenate_needs_a_dataset():
    with pytest.raises(MLIPLabError, match="at least one"):
        Dataset.concatenate([])


# ---------------------------------------------------------------------------------- split_random
def test_split_random_sizes_and_partition(make_dataset):
    d = make_dataset(["water", "methane"] * 5, seed=5)
    train, val, test = d.split_random((0.8, 0.1, 0.1), seed=0)
    assert (len(train), len(val), len(test)) == (8, 1, 1)
    rows = rows_of(train, d) + rows_of(val, d) + rows_of(test, d)
    assert sorted(rows) == list(range(10))
    assert rows_of(train, d) == sorted(rows_of(train, d))  # parts keep the original order


def test_split_random_is_reproducible(make_dataset):
    d = make_dataset(["water", "methane"] * 10, seed=5)
    first = [rows_of(p, d) for p in d.split_random((0.5, 0.25, 0.25), seed=42)]
    again = [rows_of(p, d) for p in d.split_random((0.5, 0.25, 0.25), seed=42)]
    other = [rows_of(p, d) for p in d.split_random((0.5, 0.25, 0.25), seed=43)]
    assert first == again
    assert first != other


def test_split_random_two_parts(make_dataset):
    d = make_dataset(["water"] * 4, seed=5)
    a, b = d.split_random([0.75, 0.25], seed=1)
    assert (len(a), len(b)) == (3, 1)
    assert sorted(rows_of(a, d) + rows_of(b, d)) == [0, 1, 2, 3]


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.5, 0.6, -0.1), (0.6, 0.6), ()])
def test_split_random_validates_fractions(make_dataset, fractions):
    d = make_dataset(["water"] * 10)
    with pytest.raises(MLIPLabError, match="sum to 1"):
        d.split_random(fractions)


def test_split_random_empty_part_is_a_clear_error(make_dataset):
    d = make_dataset(["water"] * 3)
    with pytest.raises(MLIPLabError, match="empty"):
        d.split_random((0.8, 0.1, 0.1))


# ---------------------------------------------------------------------------------- split_by
def test_split_by_category(mixed):
    rest, test = mixed.split_by_category(["ts", "irc"])
    assert rows_of(test, mixed) == [1, 5, 7]
    assert rows_of(rest, mixed) == [0, 2, 3, 4, 6]
    assert set(rest.category) == {"min", "md"}


def test_split_by_category_single_string(mixed):
    rest, test = mixed.split_by_category("ts")
    assert rows_of(test, mixed) == [1, 7]
    assert len(rest) == 6


def test_split_by_molecule(mixed):
    rest, test = mixed.split_by_molecule(["methane"])
    assert set(test.molecule) == {"methane"} and len(test) == 3
    assert set(rest.molecule) == {"water"} and len(rest) == 5
    assert rest.max_atoms == 3  # padding trimmed in the all-water part


def test_split_by_molecule_unknown_value(mixed):
    with pytest.raises(MLIPLabError, match=r"\['ethanol'\] are not in this dataset") as info:
        mixed.split_by_molecule(["methane", "ethanol"])
    assert "present: ['methane', 'water']" in str(info.value)


def test_split_by_category_unknown_value(mixed):
    with pytest.raises(MLIPLabError, match="nms"):
        mixed.split_by_category(["nms"])


def test_split_by_temperature_compares_numbers_and_keeps_unlabelled_configurations():
    from mlip_lab.data import load

    data = load("organics")
    rest, held_out = data.split_by("temperature", [600])
    assert np.all(held_out.temperature == 600.0) and set(held_out.category) == {"md", "nms"}
    assert 600.0 not in rest.temperature and np.isnan(rest.temperature).sum() == 7  # the minima stay
    assert len(rest) + len(held_out) == len(data)
    assert len(data.split_by("temperature", 600.0)[1]) == len(held_out)
    with pytest.raises(MLIPLabError, match=r"\[450.0\] are not in this dataset; present: \['300', '600', '1000'\]"):
        data.split_by("temperature", [450])
    with pytest.raises(MLIPLabError, match="numbers in K"):
        data.split_by("temperature", ["warm"])


def test_split_by_rejects_other_keys_and_an_empty_rest(mixed):
    with pytest.raises(MLIPLabError, match="'molecule', 'category' or 'temperature'"):
        mixed.split_by("energies", [1.0])
    with pytest.raises(MLIPLabError, match="nothing would be left"):
        mixed.split_by_molecule(["water", "methane"])


# ---------------------------------------------------------------------------------- batches
def test_batches_cover_dataset_in_order(mixed):
    batches = list(mixed.batches(3))
    assert [len(b) for b in batches] == [3, 3, 2]
    assert all(isinstance(b, Batch) for b in batches)
    assert torch.cat([b.indices for b in batches]).tolist() == list(range(8))


def test_batches_are_trimmed_per_batch(mixed):
    batches = list(mixed.batches(3))
    water_only = list(mixed.where(molecule="water").batches(5))[0]
    assert water_only.species.shape == (5, 3)
    assert water_only.positions.shape == (5, 3, 3)
    assert water_only.forces.shape == (5, 3, 3)
    assert water_only.hessians.shape == (5, 9, 9)
    assert water_only.atomic_energies.shape == (5, 3)
    first = batches[0]
    assert first.species.shape == (3, 5)
    assert first.hessians.shape == (3, 15, 15)


def test_batch_trimmed_to_its_own_largest(make_dataset):
    d = make_dataset(["water", "water", "methane"], seed=6)
    b0, b1 = list(d.batches(2))
    assert b0.species.shape == (2, 3)
    assert b0.hessians.shape == (2, 9, 9)
    assert b1.species.shape == (1, 5)
    np.testing.assert_array_equal(b0.positions.double().numpy(), d.positions[:2, :3].astype(np.float32))


def test_batch_values_match_dataset(mixed):
    b = next(mixed.batches(4, dtype=torch.float64))
    assert b.positions.dtype == torch.float64
    np.testing.assert_array_equal(b.energies.numpy(), mixed.energies[:4])
    np.testing.assert_array_equal(b.forces.numpy(), mixed.forces[:4])
    np.testing.assert_array_equal(b.hessians.numpy(), mixed.hessians[:4])
    np.testing.assert_array_equal(b.species.numpy(), mixed.species[:4])
    assert b.species.dtype == torch.long
    assert b.cells is None and b.pbc is None


def test_batch_default_dtype_is_torch_default(mixed):
    b = next(mixed.batches(2))
    assert b.positions.dtype == torch.get_default_dtype()
    assert b.energies.dtype == torch.get_default_dtype()


def test_batch_mask(make_dataset):
    d = make_dataset(["water", "methane"])
    b = next(d.batches(2))
    assert b.mask.dtype == torch.bool
    assert b.mask.tolist() == [[True, True, True, False, False], [True] * 5]


def test_batches_shuffle_reproducible(make_dataset):
    d = make_dataset(["water", "methane"] * 10, seed=7)

    def order(seed):
        return torch.cat([b.indices for b in d.batches(6, shuffle=True, seed=seed)]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert sorted(order(3)) == list(range(20))
    assert order(3) != list(range(20))


def test_shuffled_batch_rows_match_indices(mixed):
    for b in mixed.batches(3, shuffle=True, seed=11, dtype=torch.float64):
        idx = b.indices.numpy()
        n = int(mixed.n_atoms[idx].max())
        assert b.species.shape[1] == n
        np.testing.assert_array_equal(b.energies.numpy(), mixed.energies[idx])
        np.testing.assert_array_equal(b.positions.numpy(), mixed.positions[idx, :n])


def test_batch_to_cpu(mixed):
    b = next(mixed.batches(3))
    moved = b.to("cpu")
    assert isinstance(moved, Batch)
    assert moved.positions.device.type == "cpu"
    assert moved.hessians is not None and moved.cells is None
    assert torch.equal(moved.positions, b.positions)
    assert torch.equal(moved.indices, b.indices)


def test_batches_with_cells(make_dataset):
    arrays_ds = make_dataset(["water", "water"])
    cells = np.tile(np.eye(3) * 10.0, (2, 1, 1))
    d = Dataset(arrays_ds.species, arrays_ds.positions, arrays_ds.energies, cells=cells, pbc=np.ones((2, 3), bool))
    b = next(d.batches(2))
    assert b.cells.shape == (2, 3, 3)
    assert b.pbc.dtype == torch.bool and b.pbc.all()


@pytest.mark.parametrize("size", [0, -1])
def test_batches_rejects_bad_batch_size(mixed, size):
    with pytest.raises(MLIPLabError, match="batch_size"):
        next(mixed.batches(size))


def test_describe_summarises_size_elements_fields_and_labels(mixed):
    text = mixed.describe()
    assert text.splitlines()[:4] == [
        "name: mixed", "configurations: 8 (atoms per configuration 3-5)", "elements: H, C, O",
        "fields: energies, forces, hessians, atomic_energies",
    ]
    assert "categories: irc 1, md 3, min 2, ts 2" in text and "molecules: methane 3, water 5" in text
    assert "level of theory" not in text  # no provenance in the metadata


def test_describe_shows_provenance_of_shipped_data():
    text = load("organics_minima").describe()
    assert "level of theory: " in text and "rebuild with: python -m mlip_lab.data.reference build" in text


def test_batch_rows_are_the_rows_of_each_batch(mixed):
    for shuffle in (False, True):
        rows = list(mixed.batch_rows(3, shuffle=shuffle, seed=7))
        batches = list(mixed.batches(3, shuffle=shuffle, seed=7))
        assert [r.tolist() for r in rows] == [b.indices.tolist() for b in batches]
    assert sorted(np.concatenate(rows).tolist()) == list(range(len(mixed)))


def test_split_in_order_cuts_consecutive_blocks(mixed):
    train, valid, test = mixed.split_in_order((0.5, 0.25, 0.25))
    assert [len(train), len(valid), len(test)] == [4, 2, 2]
    assert train.energies.tolist() == mixed.energies[:4].tolist() and test.energies.tolist() == mixed.energies[6:].tolist()
    with pytest.raises(MLIPLabError, match="sum to 1"):
        mixed.split_in_order((0.5, 0.1))
