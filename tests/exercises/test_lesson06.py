"""Lesson 06's exercise checkers: they accept the right answer and reject the common mistakes; the reference
solutions are in the answer key."""

import numpy as np
import torch

from mlip_lab.exercises import SOLUTIONS, check_atomic_energy_loss, check_closer_student
from mlip_lab.exercises.lesson06 import SOLUTIONS_06


def test_lesson06_solutions_are_in_the_answer_key():
    assert set(SOLUTIONS_06) == {"06.atomic_energy_loss", "06.closer_student"}
    assert all(SOLUTIONS[key] is fn for key, fn in SOLUTIONS_06.items())


def real_errors(predicted, reference, species):
    return (predicted - reference)[species > 0]


def test_atomic_energy_loss_checker_accepts_rmse_plus_mae_over_real_atoms():
    def right(predicted, reference, species):
        e = real_errors(predicted, reference, species)
        return torch.sqrt(torch.mean(e**2)) + torch.mean(torch.abs(e))

    result = check_atomic_energy_loss(right)
    assert result and "weighted by 100" in result.message
    assert check_atomic_energy_loss(SOLUTIONS["06.atomic_energy_loss"])


def test_atomic_energy_loss_checker_names_the_common_mistakes():
    def with_padding(predicted, reference, species):
        e = predicted - reference
        return e.pow(2).mean().sqrt() + e.abs().mean()

    def rmse_only(predicted, reference, species):
        return real_errors(predicted, reference, species).pow(2).mean().sqrt()

    def mae_only(predicted, reference, species):
        return real_errors(predicted, reference, species).abs().mean()

    def mse(predicted, reference, species):
        e = real_errors(predicted, reference, species)
        return e.pow(2).mean() + e.abs().mean()

    def sums(predicted, reference, species):
        e = real_errors(predicted, reference, species)
        return e.pow(2).sum().sqrt() + e.abs().sum()

    def detached(predicted, reference, species):
        return SOLUTIONS["06.atomic_energy_loss"](predicted, reference, species).item()

    def per_configuration(predicted, reference, species):
        return (predicted - reference).abs().sum(1)

    expected = {with_padding: "padding", rmse_only: "RMSE alone", mae_only: "MAE alone", mse: "square root",
                sums: "divide by the number of real atoms", detached: "autograd", per_configuration: "one number"}
    for wrong, hint in expected.items():
        result = check_atomic_energy_loss(wrong)
        assert not result and hint in result.message, (wrong.__name__, result.message)
    assert not check_atomic_energy_loss(lambda *args: None)
    assert not check_atomic_energy_loss(lambda *args: torch.tensor(0.5))
    assert "raised ZeroDivisionError" in check_atomic_energy_loss(lambda *args: 1 / 0).message


def test_closer_student_checker_reads_the_run():
    species = np.array([[8, 1, 1, 0], [6, 1, 1, 1]])
    teacher = np.where(species > 0, -10.0 * species, 0.0)
    # "near" is off by 10 meV on every atom, "far" by 30 meV; near's padding slot holds 5 eV, which must not count.
    students = {"near": teacher + 0.010 * (species > 0) + 5.0 * (species == 0), "far": teacher + 0.030 * (species > 0)}
    assert SOLUTIONS["06.closer_student"](teacher, students, species) == "near"
    result = check_closer_student("near", teacher, students, species)
    assert result and "near 10.0 meV" in result.message and "far 30.0 meV" in result.message
    assert not check_closer_student("far", teacher, students, species)
    assert "one of the names" in check_closer_student(None, teacher, students, species).message
    assert not check_closer_student(["near"], teacher, students, species)
    flipped = {"near": students["far"], "far": students["near"]}
    assert check_closer_student("far", teacher, flipped, species)
