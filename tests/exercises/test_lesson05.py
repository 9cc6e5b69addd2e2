"""Lesson 05's exercise checkers: they accept the reference answers and reject blanks and the common mistakes."""

import numpy as np
import pytest
import torch

from mlip_lab.distill import ensemble_force_labels
from mlip_lab.exercises import SOLUTIONS, check_binned_rmse, check_force_label, check_spearman
from mlip_lab.exercises.lesson05 import SOLUTIONS_05
from mlip_lab.models import Ensemble


@pytest.fixture(scope="module")
def teachers(make_model):
    return [make_model((1, 6, 8), seed=seed) for seed in (1, 2, 3)]


def blank(*args):
    return None


def test_solutions_join_the_answer_key():
    assert set(SOLUTIONS_05) == {"05.force_label", "05.spearman", "05.binned_rmse"}
    assert all(SOLUTIONS[key] is fn for key, fn in SOLUTIONS_05.items())


def test_force_label_checker(teachers, make_dataset):
    data = make_dataset(("water", "methane"))
    species, positions = torch.as_tensor(data.species), torch.as_tensor(data.positions)
    solution = SOLUTIONS["05.force_label"]
    assert check_force_label(solution, teachers, species, positions)
    # The reference solution is what the library labels with.
    labels = ensemble_force_labels(Ensemble(teachers), data)
    assert np.allclose(solution(teachers, species, positions).detach().numpy(), labels.forces, atol=1e-10)

    def negated(t, s, p):
        return -solution(t, s, p)

    def summed(t, s, p):
        return len(t) * solution(t, s, p)

    def first_teacher(t, s, p):
        return solution(t[:1], s, p)

    assert "sign" in check_force_label(negated, teachers, species, positions).message
    assert "summed" in check_force_label(summed, teachers, species, positions).message
    assert "one teacher" in check_force_label(first_teacher, teachers, species, positions).message
    assert not check_force_label(blank, teachers, species, positions)
    assert not check_force_label(lambda t, s, p: torch.zeros(2, 3), teachers, species, positions)


def test_spearman_checker():
    assert check_spearman(SOLUTIONS["05.spearman"])
    assert "Pearson" in check_spearman(lambda s, e: np.corrcoef(s, e)[0, 1]).message
    assert "decreasing" in check_spearman(lambda s, e: abs(SOLUTIONS["05.spearman"](s, e))).message
    assert not check_spearman(blank)
    assert not check_spearman(lambda s, e: [1.0, 2.0])


def test_binned_rmse_checker():
    assert check_binned_rmse(SOLUTIONS["05.binned_rmse"])

    def mean_error(spread, errors, n_bins):
        return [np.mean(errors[p]) for p in np.array_split(np.argsort(spread), n_bins)]

    def unsorted(spread, errors, n_bins):
        return [np.sqrt(np.mean(errors[p] ** 2)) for p in np.array_split(np.arange(len(spread)), n_bins)]

    assert "mean error" in check_binned_rmse(mean_error).message
    assert "sort by spread" in check_binned_rmse(unsorted).message
    assert not check_binned_rmse(blank)
    assert not check_binned_rmse(lambda s, e, n: np.ones(n + 1))
