"""The answer key: every reference solution passes its checker and every blank fails it; ``exercise`` swaps the
solution in only when ``MLIP_LAB_SOLUTIONS`` is switched on."""

import numpy as np
import pytest
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.exercises import (
    check_atomic_energy_loss, check_binned_rmse, check_centre_of_mass, check_closer_student, check_force_label,
    check_mapped_forces, check_rdf_from_counts, check_spearman,
    SOLUTIONS, check_cutoff, check_forces, check_hessian_mae, check_hutchinson, check_hvp, check_hvp_loss,
    check_kcal_conversion, check_largest_stable_timestep, check_one_hot_variance, check_rademacher,
    check_sensitivity, check_temperature, check_wavenumber, exercise,
)
from mlip_lab.md import TimestepScan, largest_stable_timestep
from mlip_lab.settings import solutions_mode

WATER = torch.tensor([[8, 1, 1]])
WATER_POSITIONS = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]], dtype=torch.float64)
HVP_VECTORS = torch.randn(WATER_POSITIONS.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
# Drift in eV/atom/ps; 2 fs drifts too much, 4 fs blew up, yet 3 fs is fine: stability need not be monotonic.
SCAN = TimestepScan(timesteps=np.array([0.5, 1.0, 2.0, 3.0, 4.0]), drift=np.array([1e-4, 5e-4, 0.2, 5e-3, np.nan]),
                    fluctuation=np.zeros(5), blown_up=np.array([0, 0, 0, 0, 3]), n_replicas=3)
# Lesson 06: teacher atomic energies of two configurations (the second padded) and two students' answers.
TEACHER_ATOMIC = np.array([[-2.0, -0.5, -0.5], [-1.0, -0.4, 0.0]])
STUDENTS = {"with atomic energies": TEACHER_ATOMIC + 0.01, "without atomic energies": TEACHER_ATOMIC + 0.2}
PAIR_SPECIES = np.array([[8, 1, 1], [6, 1, 0]])


def blank(*args):
    """What every exercise cell leaves for the student to fill in."""
    return None


@pytest.fixture(scope="module")
def model(make_model):
    return make_model(elements=(1, 8))


@pytest.fixture
def hessian_data(make_dataset):
    data = make_dataset(("water", "methane", "water"))
    return data, data.hessians * 1.1 + 0.01


def probes_and_products():
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=generator, dtype=torch.float64)
    probes = torch.nn.functional.normalize(torch.randn(40, 6, generator=generator, dtype=torch.float64), dim=1)
    return probes, probes @ a.T


# How each exercise's notebook cell calls its checker with the student's function ``fn``.
@pytest.fixture(scope="module")
def teachers(make_model):
    return [make_model(elements=(1, 8), seed=seed) for seed in (1, 2, 3)]


CHECKS = {
    "01.cutoff": lambda fn, ctx: check_cutoff(fn),
    "01.sensitivity": lambda fn, ctx: check_sensitivity(fn),
    "01.forces": lambda fn, ctx: check_forces(fn, ctx["model"], WATER, WATER_POSITIONS),
    "01.kcal_per_mol": lambda fn, ctx: check_kcal_conversion(0.043, fn(0.043)),
    "02.hvp": lambda fn, ctx: check_hvp(fn, ctx["model"], WATER, WATER_POSITIONS, HVP_VECTORS),
    "02.rademacher": lambda fn, ctx: check_rademacher(fn),
    "02.hutchinson": lambda fn, ctx: check_hutchinson(fn, *probes_and_products()),
    "03.hvp_loss": lambda fn, ctx: check_hvp_loss(fn, ctx["model"], ctx["hessian_data"][0].subset([0, 2])),
    "03.hessian_mae": lambda fn, ctx: check_hessian_mae(fn(*ctx["hessian_data"]), *ctx["hessian_data"]),
    "03.one_hot_variance": lambda fn, ctx: check_one_hot_variance(
        fn, torch.as_tensor(ctx["hessian_data"][0].hessians[0, :9, :9])),
    "04.temperature": lambda fn, ctx: check_temperature(fn),
    "04.largest_stable_timestep": lambda fn, ctx: check_largest_stable_timestep(fn(SCAN, 0.01), SCAN, 0.01),
    "04.wavenumber": lambda fn, ctx: check_wavenumber(9.0, fn(9.0)),
    "05.force_label": lambda fn, ctx: check_force_label(fn, ctx["teachers"], WATER, WATER_POSITIONS),
    "05.spearman": lambda fn, ctx: check_spearman(fn),
    "05.binned_rmse": lambda fn, ctx: check_binned_rmse(fn),
    "06.atomic_energy_loss": lambda fn, ctx: check_atomic_energy_loss(fn),
    "06.closer_student": lambda fn, ctx: check_closer_student(fn(TEACHER_ATOMIC, STUDENTS, PAIR_SPECIES),
                                                              TEACHER_ATOMIC, STUDENTS, PAIR_SPECIES),
    "07.centre_of_mass": lambda fn, ctx: check_centre_of_mass(fn),
    "07.mapped_forces": lambda fn, ctx: check_mapped_forces(fn),
    "07.rdf_from_counts": lambda fn, ctx: check_rdf_from_counts(fn),
}


def test_every_solution_has_a_check():
    assert set(CHECKS) == set(SOLUTIONS)


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_solution_passes_and_blank_fails(key, model, teachers, hessian_data):
    context = {"model": model, "teachers": teachers, "hessian_data": hessian_data}
    result = CHECKS[key](SOLUTIONS[key], context)
    assert result, result.message
    assert not CHECKS[key](blank, context)


def test_run_dependent_solutions_follow_the_data():
    for max_drift in (1e-5, 1e-3, 0.01, 1.0):
        assert SOLUTIONS["04.largest_stable_timestep"](SCAN, max_drift) == largest_stable_timestep(SCAN, max_drift)
    assert SOLUTIONS["04.largest_stable_timestep"](SCAN, 0.01) == 3.0


def test_exercise_returns_the_student_function_unless_solutions_are_switched_on(monkeypatch):
    def my_cutoff(r, cutoff):
        return None

    for value in (None, "", "0", "false", "no"):
        if value is None:
            monkeypatch.delenv("MLIP_LAB_SOLUTIONS", raising=False)
        else:
            monkeypatch.setenv("MLIP_LAB_SOLUTIONS", value)
        assert not solutions_mode()
        assert exercise("01.cutoff")(my_cutoff) is my_cutoff
    for value in ("1", "yes", "true"):
        monkeypatch.setenv("MLIP_LAB_SOLUTIONS", value)
        assert solutions_mode()
        assert exercise("01.cutoff")(my_cutoff) is SOLUTIONS["01.cutoff"]


def test_unknown_exercise_names_the_known_ones(monkeypatch):
    monkeypatch.delenv("MLIP_LAB_SOLUTIONS", raising=False)
    with pytest.raises(MLIPLabError, match="01.cutoff"):
        exercise("01.cutof")
