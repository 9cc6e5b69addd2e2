"""Input checks shared by the distillation recipes, so each bad input gets one clear message naming the fix."""

from __future__ import annotations

from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import check_model

# Metadata key under which a labelled dataset records the elements of the model(s) that labelled it, so a
# student for other elements is refused before training rather than failing part-way.
TEACHER_ELEMENTS_KEY = "teacher_elements"


def check_dataset(data, what: str = "the dataset") -> Dataset:
    """Return ``data`` if it is a :class:`~mlip_lab.data.Dataset` with energies, else raise :class:`MLIPLabError`.

    Every recipe here trains on energies; a Dataset that has them has finite ones for every configuration (its
    validation sees to that), while force-only data (e.g. coarse-grained force matching) has none.
    """
    if not isinstance(data, Dataset):
        raise MLIPLabError(f"{what} must be a mlip_lab.data.Dataset with energies for every configuration, got "
                           f"{type(data).__name__}; build one with mlip_lab.data.Dataset(...) or mlip_lab.data.load")
    if data.energies is None:
        raise MLIPLabError(f"{what} ({data.name or 'unnamed'}) has no energies, and distillation trains on energies; "
                           "use a dataset with reference energies")
    return data


def check_model_covers(model, dataset: Dataset, consumer: str, what: str = "the dataset") -> None:
    """``model`` passes :func:`~mlip_lab.models.check_model` and accepts every element of ``dataset``."""
    check_model(model, consumer)
    missing = sorted(set(dataset.elements) - set(model.elements))
    if missing:
        raise MLIPLabError(f"{what} ({dataset.name or 'unnamed'}) holds elements {missing} that the "
                           f"{type(model).__name__} built for {list(model.elements)} does not accept; build the model "
                           "with a config whose elements include them")


def check_same_elements(teacher_elements, student_elements) -> None:
    """Teachers and students must be built for the same elements (their atomic energies and forces are
    per element), else :class:`MLIPLabError`."""
    teacher, student = tuple(int(z) for z in teacher_elements), tuple(int(z) for z in student_elements)
    if sorted(teacher) != sorted(student):
        raise MLIPLabError(f"the teacher was built for elements {list(teacher)} but the student for {list(student)}; "
                           "build the student with the teacher's elements "
                           "(e.g. HIPNNConfig(elements=teacher.elements))")


def check_student_fits_labels(student, dataset: Dataset, what: str) -> None:
    """``student`` passes the contract, covers ``dataset``'s elements, and, when the dataset was labelled by a
    teacher (see :data:`TEACHER_ELEMENTS_KEY`), is built for that teacher's elements."""
    check_model_covers(student, dataset, "the student", what)
    teacher_elements = dataset.metadata.get(TEACHER_ELEMENTS_KEY)
    if teacher_elements is not None:
        check_same_elements(teacher_elements, student.elements)
