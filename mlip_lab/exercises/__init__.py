"""The notebooks' exercises: checkers that take the student's answer and say what is right or wrong, and the
instructor's answer key, swapped in by :func:`exercise` when ``MLIP_LAB_SOLUTIONS`` is set."""

from mlip_lab.exercises.checking import CheckResult
from mlip_lab.exercises.lesson01 import check_cutoff, check_forces, check_kcal_conversion, check_sensitivity
from mlip_lab.exercises.lesson02 import check_hutchinson, check_hvp, check_rademacher
from mlip_lab.exercises.lesson03 import check_hessian_mae, check_hvp_loss, check_one_hot_variance
from mlip_lab.exercises.lesson04 import check_largest_stable_timestep, check_temperature, check_wavenumber
from mlip_lab.exercises.lesson05 import check_binned_rmse, check_force_label, check_spearman
from mlip_lab.exercises.lesson06 import check_atomic_energy_loss, check_closer_student
from mlip_lab.exercises.lesson07 import check_centre_of_mass, check_mapped_forces, check_rdf_from_counts
from mlip_lab.exercises.solutions import SOLUTIONS, exercise

__all__ = [
    "CheckResult", "SOLUTIONS", "exercise",
    "check_cutoff", "check_forces", "check_kcal_conversion", "check_sensitivity",
    "check_hutchinson", "check_hvp", "check_rademacher",
    "check_hessian_mae", "check_hvp_loss", "check_one_hot_variance",
    "check_largest_stable_timestep", "check_temperature", "check_wavenumber",
    "check_binned_rmse", "check_force_label", "check_spearman",
    "check_atomic_energy_loss", "check_closer_student",
    "check_centre_of_mass", "check_mapped_forces", "check_rdf_from_counts",
]
