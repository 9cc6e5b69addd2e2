"""Teacher-student training with atomic energies (Matin et al., Digital Discovery 2025, arXiv:2502.05379).

A large teacher is trained on energies and forces. Its per-atom energies (a HIP-NN's energy is a sum over
atoms) are latent knowledge the reference data do not carry; a small student trained on E + F + the
teacher's atomic energies learns them too, and can end up as accurate as its teacher while running faster in
less memory. The control is the same student trained without the atomic-energy term.

- :func:`teacher_atomic_energies`: a dataset labelled with the teacher's atomic energies.
- :func:`student_loss`: the reference recipe's loss (with or without the atomic-energy terms).
- :func:`train_student` trains one student; :func:`train_teacher_and_students` trains the teacher and both
  students on one split, for the notebook and the benchmark.

Shapes: M configurations, N (padded) atoms. Units: eV, Å, eV/Å.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from mlip_lab.data import Dataset
from mlip_lab.distill.checks import (
    TEACHER_ELEMENTS_KEY, check_dataset, check_model_covers, check_same_elements, check_student_fits_labels,
)
from mlip_lab.distill.configs import STUDENT_CONFIG, TEACHER_CONFIG, build_hipnn
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import HIPNNConfig
from mlip_lab.train import (
    AtomicEnergyLoss, EnergyLoss, ForceLoss, HierarchicalityLoss, L2Loss, Loss, Trainer, predict_dataset,
)

# The public reference example's weights (shared/DESIGN.md §6): each error term enters as RMSE + MAE.
STUDENT_WEIGHTS = {"energy": 1.0, "forces": 30.0, "atomic_energies": 100.0, "hierarchicality": 0.01, "l2": 1e-6}
# The reference example's trainer settings (Adam lr 1e-3, batch 64, patience 50).
STUDENT_TRAINER_SETTINGS = {"lr": 1e-3, "batch_size": 64, "early_stopping_patience": 50}
# Atomic energies must sum to the energy within this many eV: float32 rounding of a 9-atom molecule near
# -4000 eV is about 1e-3 eV; a teacher that breaks the sum is off by far more.
SUM_TOLERANCE = 5e-3


def teacher_atomic_energies(teacher, dataset: Dataset, batch_size: int = 64,
                            tolerance: float = SUM_TOLERANCE) -> Dataset:
    """``dataset`` with ``atomic_energies`` (M, N) eV from ``teacher`` (any model that follows the contract).

    Energies and forces stay the dataset's own. Raises :class:`MLIPLabError` if the teacher's atomic energies
    do not sum to its energy within ``tolerance`` eV for some configuration (then they are not a decomposition
    of anything the student could learn). The metadata records the teacher's elements, so a student for other
    elements is refused (:func:`train_student`).
    """
    check_dataset(dataset)
    check_model_covers(teacher, dataset, "teacher_atomic_energies")
    predictions = predict_dataset(teacher, dataset, batch_size=batch_size, forces=False)
    mismatch = np.abs(predictions.atomic_energies.sum(1) - predictions.energies)
    if mismatch.max() > tolerance:
        worst = int(mismatch.argmax())
        raise MLIPLabError(f"the teacher's atomic energies do not sum to its energy (configuration {worst}: off by "
                           f"{mismatch[worst]:.3g} eV, tolerance {tolerance:g} eV); use a teacher whose energy is the "
                           "sum of its atomic energies, such as a mlip_lab.models.HIPNN")
    metadata = {**dataset.metadata, "atomic_energies": f"from a {type(teacher).__name__} teacher",
                TEACHER_ELEMENTS_KEY: list(teacher.elements)}
    return replace(dataset, atomic_energies=predictions.atomic_energies, metadata=metadata)


def student_loss(atomic_energies: bool = True, weights: dict | None = None) -> Loss:
    """The reference recipe's loss, every error term as RMSE + MAE with the same weight.

    With the default :data:`STUDENT_WEIGHTS`: 1 (E_RMSE + E_MAE) + 30 (F_RMSE + F_MAE) + 100 (AE_RMSE + AE_MAE)
    + 0.01 hierarchicality + 1e-6 L2, in eV, eV/Å and eV. ``atomic_energies=False`` drops the AE terms (the
    control, and the teacher's own loss). ``weights`` overrides entries of :data:`STUDENT_WEIGHTS`.
    """
    unknown = sorted(set(weights or {}) - set(STUDENT_WEIGHTS))
    if unknown:
        raise MLIPLabError(f"unknown weight keys {unknown}; use {sorted(STUDENT_WEIGHTS)}")
    w = {**STUDENT_WEIGHTS, **(weights or {})}
    error_terms = [(EnergyLoss, "energy"), (ForceLoss, "forces")]
    if atomic_energies:
        error_terms.append((AtomicEnergyLoss, "atomic_energies"))
    terms = [term(w[key], metric) for term, key in error_terms for metric in ("rmse", "mae")]
    terms += [HierarchicalityLoss(w["hierarchicality"]), L2Loss(w["l2"])]
    return Loss(terms)


def train_student(train: Dataset, valid: Dataset, config: HIPNNConfig = STUDENT_CONFIG, atomic_energies: bool = True,
                  seed: int = 0, *, weights: dict | None = None, dtype: torch.dtype = torch.float32,
                  progress: bool = True, **trainer_options) -> Trainer:
    """Train a student of ``config`` with :func:`student_loss` on ``train``, selecting on ``valid``.

    With ``atomic_energies=True`` both sets must carry atomic energies (:func:`teacher_atomic_energies`) and,
    when labelled by a teacher, the student must be built for the teacher's elements. ``trainer_options``
    override :data:`STUDENT_TRAINER_SETTINGS` and go to :class:`~mlip_lab.train.Trainer`. Returns the
    finished Trainer (``trainer.model`` holds the best weights).
    """
    for data, what in ((train, "the training set"), (valid, "the validation set")):
        check_dataset(data, what)
        if data.forces is None:
            raise MLIPLabError(f"{what} ({data.name or 'unnamed'}) has no forces; the teacher-student recipe trains "
                               "on energies and forces (for energy-only data use ensemble distillation)")
        if atomic_energies and data.atomic_energies is None:
            raise MLIPLabError(f"the student is asked to learn atomic energies, but {what} ({data.name or 'unnamed'}) "
                               "carries none; label it with teacher_atomic_energies(teacher, data) first, or pass "
                               "atomic_energies=False")
    student = build_hipnn(config, seed, dtype)
    check_student_fits_labels(student, train, "the training set")
    check_student_fits_labels(student, valid, "the validation set")
    settings = {**STUDENT_TRAINER_SETTINGS, **trainer_options}
    trainer = Trainer(student, student_loss(atomic_energies, weights), train, valid, seed=seed, progress=progress,
                      **settings)
    trainer.fit()
    return trainer


@dataclass
class TeacherStudentRun:
    """The three models of one comparison, trained on the same split: ``teacher`` (E + F),
    ``with_atomic_energies`` (student on E + F + the teacher's atomic energies) and ``without_atomic_energies``
    (the same student on E + F: the control). Each is a finished :class:`~mlip_lab.train.Trainer`;
    ``train`` and ``valid`` are the sets labelled with the teacher's atomic energies."""

    teacher: Trainer
    with_atomic_energies: Trainer
    without_atomic_energies: Trainer
    train: Dataset
    valid: Dataset


def train_teacher_and_students(train: Dataset, valid: Dataset, teacher_config: HIPNNConfig = TEACHER_CONFIG,
                               student_config: HIPNNConfig = STUDENT_CONFIG, seed: int = 0, *,
                               dtype: torch.dtype = torch.float32, teacher_options: dict | None = None,
                               progress: bool = True, **student_options) -> TeacherStudentRun:
    """Train the teacher on E + F, label ``train`` and ``valid`` with its atomic energies, then train the
    student with and without them from the same ``seed`` (same initial weights and batch order, so the
    atomic-energy terms are the only difference).

    The teacher uses :func:`student_loss` without atomic energies (the recipe's E + F terms) and
    ``teacher_options`` for its Trainer; ``student_options`` go to both students' :func:`train_student`.
    """
    check_same_elements(teacher_config.elements, student_config.elements)
    steps = tqdm(total=3, desc="teacher, student with AE, student without", unit="model", disable=not progress)
    try:
        teacher = train_student(train, valid, teacher_config, atomic_energies=False, seed=seed, dtype=dtype,
                                progress=progress, **(teacher_options or {}))
        steps.update()
        train, valid = (teacher_atomic_energies(teacher.model, data) for data in (train, valid))
        with_ae = train_student(train, valid, student_config, True, seed, dtype=dtype, progress=progress,
                                **student_options)
        steps.update()
        without_ae = train_student(train, valid, student_config, False, seed, dtype=dtype, progress=progress,
                                   **student_options)
        steps.update()
    finally:
        steps.close()
    return TeacherStudentRun(teacher, with_ae, without_ae, train, valid)
