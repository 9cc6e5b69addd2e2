"""Knowledge distillation: ensemble knowledge distillation (EKD) for energy-only data, the atomic-energy
teacher-student recipe, the ensemble spread as uncertainty, MD time to failure, and MD cost (speed, memory).

Layer: above train (may import data, models, physics, train, md; never viz or lessons).
"""

from mlip_lab.distill.configs import EKD_CONFIG, STUDENT_CONFIG, TEACHER_CONFIG, build_hipnn, count_parameters
from mlip_lab.distill.cost import ModelCost, md_speed, model_cost, peak_step_memory
from mlip_lab.distill.ensemble import (
    EKD_BATCH_SIZE, EKD_ENERGY_WEIGHT, EKD_FORCE_WEIGHT, RESAMPLING, EKDRun, ForceLabels, ekd_loss,
    ensemble_force_labels, force_errors_against, hide_forces, run_ekd, teacher_draws, train_ekd_student,
    train_energy_only, train_teachers,
)
from mlip_lab.distill.stability import TimeToFailure, stability_replicas, time_to_failure
from mlip_lab.distill.teacher_student import (
    STUDENT_TRAINER_SETTINGS, STUDENT_WEIGHTS, SUM_TOLERANCE, TeacherStudentRun, student_loss,
    teacher_atomic_energies, train_student, train_teacher_and_students,
)
from mlip_lab.distill.uncertainty import (
    CalibrationCurve, SpreadAndError, calibration_curve, calibration_error, spearman, spread_and_error,
)

__all__ = [
    "EKD_CONFIG", "STUDENT_CONFIG", "TEACHER_CONFIG", "build_hipnn", "count_parameters",
    "ModelCost", "md_speed", "model_cost", "peak_step_memory",
    "EKD_BATCH_SIZE", "EKD_ENERGY_WEIGHT", "EKD_FORCE_WEIGHT", "RESAMPLING", "EKDRun", "ForceLabels", "ekd_loss",
    "ensemble_force_labels", "force_errors_against", "hide_forces", "run_ekd", "teacher_draws", "train_ekd_student",
    "train_energy_only", "train_teachers",
    "TimeToFailure", "stability_replicas", "time_to_failure",
    "STUDENT_TRAINER_SETTINGS", "STUDENT_WEIGHTS", "SUM_TOLERANCE", "TeacherStudentRun", "student_loss",
    "teacher_atomic_energies", "train_student", "train_teacher_and_students",
    "CalibrationCurve", "SpreadAndError", "calibration_curve", "calibration_error", "spearman", "spread_and_error",
]
