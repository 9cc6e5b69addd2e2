"""Exercises of notebook 06 (teacher-student with atomic energies): the atomic-energy loss term (RMSE + MAE over
the real atoms), and reading off which student ended up closer to its teacher's atomic energies.

:data:`SOLUTIONS_06` holds the reference solutions, merged into :data:`mlip_lab.exercises.SOLUTIONS`.
"""

from __future__ import annotations

import numpy as np
import torch

from mlip_lab.exercises.checking import CheckResult, student_tensor

# Two configurations padded to 4 atom slots (water has one padding slot), atomic energies in eV.
_SPECIES = torch.tensor([[8, 1, 1, 0], [6, 8, 1, 1]])
_REFERENCE = torch.tensor([[-2041.30, -13.52, -13.47, 0.0], [-1031.90, -2040.85, -13.61, -13.58]], dtype=torch.float64)
_ERRORS = torch.tensor([[0.031, -0.012, 0.047, 0.0], [-0.085, 0.006, 0.019, -0.024]], dtype=torch.float64)


def atomic_energy_loss(predicted, reference, species):
    """RMSE + MAE (eV) of predicted vs reference atomic energies (B, N) over the real atoms (species > 0),
    differentiable in ``predicted``."""
    errors = (predicted - reference)[species > 0]
    return torch.sqrt((errors**2).mean()) + errors.abs().mean()


def closer_student(teacher_atomic, students, species):
    """The name of the student in ``students`` ({name: (M, N) eV}) whose atomic energies have the lowest MAE
    against ``teacher_atomic`` (M, N) eV over the real atoms (species > 0)."""
    real = np.asarray(species) > 0
    mae = {name: np.abs(np.asarray(values) - np.asarray(teacher_atomic))[real].mean() for name, values in students.items()}
    return min(mae, key=mae.get)


SOLUTIONS_06 = {
    "06.atomic_energy_loss": atomic_energy_loss,
    "06.closer_student": closer_student,
}


def check_atomic_energy_loss(student_fn) -> CheckResult:
    """``student_fn(predicted, reference, species)`` must return RMSE + MAE of the atomic-energy errors over the
    real atoms (species > 0; padding slots hold 0 in both), as a scalar tensor that autograd can differentiate
    with respect to ``predicted``."""
    predicted = (_REFERENCE + _ERRORS).clone().requires_grad_(True)
    try:
        answer = student_fn(predicted, _REFERENCE.clone(), _SPECIES.clone())
    except Exception as exc:  # noqa: BLE001 - any error in student code is feedback, not a crash
        return CheckResult(False, f"your function raised {type(exc).__name__}: {exc}")
    got, error = student_tensor(lambda: answer, dtype=torch.float64)
    if error is not None:
        return error
    if got.numel() != 1:
        return CheckResult(False, f"return one number (a scalar tensor) for the whole batch, got shape {tuple(got.shape)}")
    errors = _ERRORS[_SPECIES > 0]
    rmse, mae, mse = errors.pow(2).mean().sqrt(), errors.abs().mean(), errors.pow(2).mean()
    all_slots = _ERRORS.reshape(-1)
    value = float(got)
    if np.isclose(value, float(rmse + mae), rtol=1e-6):
        if not (isinstance(answer, torch.Tensor) and answer.requires_grad):
            return CheckResult(False, "the value is right, but it no longer depends on `predicted` for autograd "
                                      "(.item(), .detach() or numpy break the graph); a loss must stay a torch tensor")
        return CheckResult(True, f"correct: {value * 1000:.1f} meV = RMSE {float(rmse) * 1000:.1f} + MAE "
                                 f"{float(mae) * 1000:.1f} meV over the {errors.numel()} real atoms; in the student loss "
                                 "this term is weighted by 100")
    mistakes = [
        (all_slots.pow(2).mean().sqrt() + all_slots.abs().mean(),
         "you averaged over every slot, padding included: select the real atoms (species > 0) first"),
        (rmse, "that is the RMSE alone; the recipe adds the MAE"),
        (mae, "that is the MAE alone; the recipe adds the RMSE"),
        (mse + mae, "you used the mean square error; take its square root for the RMSE"),
        (errors.pow(2).sum().sqrt() + errors.abs().sum(), "sums, not means: divide by the number of real atoms"),
    ]
    for wrong, message in mistakes:
        if np.isclose(value, float(wrong), rtol=1e-6):
            return CheckResult(False, message)
    return CheckResult(False, f"not yet: expected {float(rmse + mae):.4g} eV, got {value:.4g} eV")


def check_closer_student(answer, teacher_atomic, students: dict, species) -> CheckResult:
    """``answer`` must name the student in ``students`` ({name: (M, N) eV}) whose atomic energies are closer to
    ``teacher_atomic`` (M, N) eV by MAE over the real atoms."""
    if not isinstance(answer, str) or answer not in students:
        return CheckResult(False, f"answer with one of the names {list(students)}, got {answer!r}")
    want = closer_student(teacher_atomic, students, species)
    real = np.asarray(species) > 0
    numbers = ", ".join(f"{name} {np.abs(np.asarray(v) - np.asarray(teacher_atomic))[real].mean() * 1000:.1f} meV"
                        for name, v in students.items())
    if answer != want:
        return CheckResult(False, f"look again: the atomic-energy MAE against the teacher is {numbers}")
    return CheckResult(True, f"right for this run ({numbers}). A student that never saw the teacher's atomic energies "
                             "has no reason to split the energy the same way, even when its total energies are good")
