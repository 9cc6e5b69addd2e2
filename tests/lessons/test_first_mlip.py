"""Lesson 01's set-up: the random and held-out-temperature splits of `organics`, and its learning curves."""

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.data import load
from mlip_lab.lessons import HELD_OUT_TEMPERATURE, make_learning_curve_model, organics_learning_curves, organics_splits
from mlip_lab.models import check_model


@pytest.fixture(scope="module")
def organics():
    return load("organics")


def test_both_splits_test_on_600_K_and_only_the_held_out_one_trains_without_it(organics):
    splits = organics_splits(organics)
    (train, valid, test), (held_train, held_valid, held_out) = splits["random split"], splits["600 K held out"]
    lesson_train, _, lesson_test = organics.split_random((0.8, 0.1, 0.1), seed=0)
    assert np.array_equal(train.positions, lesson_train.positions)  # the lesson's own random split
    assert np.all(test.temperature == HELD_OUT_TEMPERATURE) and np.all(held_out.temperature == HELD_OUT_TEMPERATURE)
    assert len(test) == int(np.sum(lesson_test.temperature == HELD_OUT_TEMPERATURE))
    assert np.any(train.temperature == HELD_OUT_TEMPERATURE)  # random: 600 K frames on both sides
    assert not np.any(held_train.temperature == HELD_OUT_TEMPERATURE)
    assert not np.any(held_valid.temperature == HELD_OUT_TEMPERATURE)
    assert len(held_train) + len(held_valid) + len(held_out) == len(organics)
    assert len(held_out) == int(np.sum(organics.temperature == HELD_OUT_TEMPERATURE))
    with pytest.raises(MLIPLabError, match="Dataset"):
        organics_splits(organics.positions)


def test_learning_curve_model_follows_the_contract_and_its_seed(organics):
    first, again = make_learning_curve_model(organics.elements, seed=3), make_learning_curve_model(organics.elements, 3)
    check_model(first)
    assert all(a.equal(b) for a, b in zip(first.parameters(), again.parameters()))
    assert first.config.tensor_order == 0 and first.config.n_features == 32


def test_organics_learning_curves_give_one_curve_per_split_over_the_sizes(organics):
    small = organics.subset(range(0, len(organics), 10))
    splits = organics_splits(small)
    curves = organics_learning_curves(splits, [8, 16], epochs=2, progress=False)
    assert list(curves) == list(splits)
    for curve in curves.values():
        assert curve.sizes.tolist() == [8, 16]
        assert curve.epochs.tolist() == [2, 2] and curve.batch_sizes.tolist() == [1, 2]  # 8 batches an epoch
        assert np.all(np.isfinite(curve.force_mae)) and np.all(curve.force_mae > 0)
