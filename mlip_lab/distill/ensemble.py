"""Ensemble knowledge distillation (EKD; Matin et al., arXiv:2503.14293): forces for energy-only data.

High-level quantum chemistry (coupled cluster) often gives energies only. EKD trains K teachers on those
energies alone, labels every configuration with the ensemble-mean teacher force -dE/dR, and trains a student
on the quantum-chemistry energies plus those forces. The recipe:

1. :func:`train_teachers` -> an :class:`~mlip_lab.models.Ensemble` of K >= 2 energy-only models;
2. :func:`ensemble_force_labels` -> :class:`ForceLabels` (mean forces, their spread), and
   ``labels.label(dataset)`` -> the dataset with the teachers' forces (energies unchanged);
3. :func:`train_ekd_student` on the labelled data; :func:`train_energy_only` is the baseline of the same size.

To grade the recipe at scale on data that do have forces (DFT ``organics``), train on :func:`hide_forces` copies
and grade with :func:`force_errors_against` on the original dataset, whose forces training never saw.

Shapes: M configurations, N (padded) atoms, K teachers. Units: eV, Å, eV/Å.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from mlip_lab.data import Dataset
from mlip_lab.distill.checks import (
    TEACHER_ELEMENTS_KEY, check_dataset, check_model_covers, check_student_fits_labels,
)
from mlip_lab.distill.configs import EKD_CONFIG, build_hipnn
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import Ensemble, HIPNNConfig, device_and_dtype
from mlip_lab.train import EnergyLoss, ErrorStats, ForceLoss, Loss, Trainer

RESAMPLING = ("bootstrap", "split")
# Default loss weights of the EKD student, eV per eV and eV per eV/Å (RMSE terms); see train_ekd_student.
EKD_ENERGY_WEIGHT = 1.0
EKD_FORCE_WEIGHT = 10.0
# Small batches: energy-only training gets one number per configuration, so more optimizer steps per epoch help.
EKD_BATCH_SIZE = 8


def train_energy_only(train: Dataset, valid: Dataset, config: HIPNNConfig = EKD_CONFIG, seed: int = 0, *,
                      dtype: torch.dtype = torch.float32, batch_size: int = EKD_BATCH_SIZE, progress: bool = True,
                      **trainer_options) -> Trainer:
    """Train one model of ``config`` on the energies of ``train`` only (energy RMSE), selecting on ``valid``.

    This is one EKD teacher, and the energy-only baseline the EKD student is compared with (same size and
    budget). Forces in the data, if any, are ignored. ``seed`` sets the initial weights and the batch order;
    ``trainer_options`` go to :class:`~mlip_lab.train.Trainer` (lr, max_epochs, lr_schedule, ...).
    Returns the finished Trainer (``trainer.model`` holds the best weights, ``trainer.history`` the curves).
    """
    check_dataset(train, "the training set")
    check_dataset(valid, "the validation set")
    model = build_hipnn(config, seed, dtype)
    check_model_covers(model, train, "train_energy_only", "the training set")
    check_model_covers(model, valid, "train_energy_only", "the validation set")
    trainer = Trainer(model, Loss([EnergyLoss()]), train, valid, seed=seed, batch_size=batch_size, progress=progress,
                      **trainer_options)
    trainer.fit()
    return trainer


def teacher_draws(train: Dataset, valid: Dataset, seeds: Sequence[int], resample: str = "bootstrap"
                  ) -> list[tuple[Dataset, Dataset]]:
    """One (train, valid) pair per seed, so that teachers see different data and disagree where data are thin.

    "bootstrap": ``len(train)`` configurations drawn from ``train`` with replacement (about 63 % distinct),
    validated on ``valid``. "split": ``train`` and ``valid`` pooled and split anew with each seed into parts of
    the same sizes, so every configuration trains some teachers and validates others.
    """
    if resample not in RESAMPLING:
        raise MLIPLabError(f"resample must be one of {RESAMPLING}, got {resample!r}")
    if resample == "bootstrap":
        draws = []
        for seed in seeds:
            rows = np.sort(np.random.default_rng(seed).integers(0, len(train), len(train)))
            draws.append((train.subset(rows), valid))
        return draws
    pool = Dataset.concatenate([train, valid], name=f"{train.name}+{valid.name}")
    fraction = len(valid) / len(pool)
    return [tuple(pool.split_random((1.0 - fraction, fraction), seed=seed)) for seed in seeds]


def train_teachers(train: Dataset, valid: Dataset, k: int = 4, config: HIPNNConfig = EKD_CONFIG,
                   seeds: Sequence[int] | None = None, resample: str = "bootstrap", *,
                   dtype: torch.dtype = torch.float32, batch_size: int = EKD_BATCH_SIZE, progress: bool = True,
                   **trainer_options) -> Ensemble:
    """Train ``k`` >= 2 teachers on energies only, each on its own draw of the data (:func:`teacher_draws`) and
    from its own seed (default 0..k-1); returns them as an :class:`~mlip_lab.models.Ensemble`.

    Each teacher is :func:`train_energy_only` with ``config``; ``trainer_options`` go to every
    :class:`~mlip_lab.train.Trainer`. A progress bar counts teachers.
    """
    check_dataset(train, "the training set")
    check_dataset(valid, "the validation set")
    seeds = tuple(range(k)) if seeds is None else tuple(int(s) for s in seeds)
    if k < 2:
        raise MLIPLabError(f"EKD needs at least 2 teachers to average (got k={k}); the paper uses 4 or more")
    if len(seeds) != k or len(set(seeds)) != k:
        raise MLIPLabError(f"give k={k} distinct seeds, one per teacher, got {list(seeds)}")
    teachers = []
    for seed, (part, check) in tqdm(list(zip(seeds, teacher_draws(train, valid, seeds, resample))), desc="teachers",
                                    unit="teacher", disable=not progress):
        trainer = train_energy_only(part, check, config, seed, dtype=dtype, batch_size=batch_size,
                                    progress=progress, **trainer_options)
        teachers.append(trainer.model)
    return Ensemble(teachers)


@dataclass(frozen=True)
class ForceLabels:
    """What K teachers say about M configurations.

    forces: (M, N, 3) eV/Å, the ensemble mean of each teacher's -dE/dR (the EKD label).
    force_spread: (M, N) eV/Å, per atom sqrt(sum_x std_k(F_kx)^2), i.e. the root-mean-square distance of the K
    teachers' force vectors from their mean (population std, 1/K); zero on padding and for identical teachers.
    energies: (M,) eV, the ensemble-mean energy; energy_spread: (M,) eV, the std of the K energies.
    member_forces: (K, M, N, 3) and member_energies: (K, M), each teacher's own. elements: the teachers'.
    species: (M, N), the configurations labelled (to refuse labelling a different dataset).
    """

    forces: np.ndarray
    force_spread: np.ndarray
    energies: np.ndarray
    energy_spread: np.ndarray
    member_forces: np.ndarray
    member_energies: np.ndarray
    elements: tuple[int, ...]
    species: np.ndarray

    def label(self, dataset: Dataset) -> Dataset:
        """``dataset`` (the one labelled) with the ensemble-mean forces as its ``forces``; energies, species and
        positions stay its own (the quantum-chemistry energies). Hessians are dropped: they belong to the
        hidden reference, not to the teachers. The metadata records the teachers and their elements."""
        check_dataset(dataset)
        if dataset.species.shape != self.species.shape or not np.array_equal(dataset.species, self.species):
            raise MLIPLabError(f"these labels were computed for {self.species.shape[0]} configurations of up to "
                               f"{self.species.shape[1]} atoms, not for this dataset ({len(dataset)} of up to "
                               f"{dataset.max_atoms}); call ensemble_force_labels(teachers, dataset) on it")
        metadata = {**dataset.metadata, "forces": f"ensemble mean of {self.member_forces.shape[0]} teachers (EKD)",
                    TEACHER_ELEMENTS_KEY: list(self.elements)}
        return replace(dataset, forces=self.forces, hessians=None, metadata=metadata)


def ensemble_force_labels(teachers, dataset: Dataset, batch_size: int = 64) -> ForceLabels:
    """Run K >= 2 ``teachers`` (an :class:`~mlip_lab.models.Ensemble` or a list of models) over ``dataset`` and
    return their mean forces and spreads (:class:`ForceLabels`)."""
    check_dataset(dataset)
    if isinstance(teachers, Ensemble):
        ensemble = teachers
    else:  # one model on its own counts as one teacher
        ensemble = Ensemble([teachers] if isinstance(teachers, torch.nn.Module) else list(teachers))
    if len(ensemble) < 2:
        raise MLIPLabError(f"EKD labels average at least 2 teachers, got {len(ensemble)}; "
                           "train more with train_teachers(..., k=4)")
    check_model_covers(ensemble, dataset, "ensemble_force_labels")
    device, dtype = device_and_dtype(ensemble)
    k, (m, n) = len(ensemble), dataset.species.shape
    member_forces, member_energies = np.zeros((k, m, n, 3)), np.zeros((k, m))
    was_training = ensemble.training
    ensemble.eval()
    try:
        for batch in dataset.batches(batch_size, device=device, dtype=dtype):
            out = ensemble.predict(batch.species, batch.positions, batch.cells, batch.pbc, forces=True)
            rows, width = batch.indices.cpu().numpy(), batch.species.shape[1]
            member_forces[:, rows, :width] = out.member_forces.double().cpu().numpy()
            member_energies[:, rows] = out.member_energies.double().cpu().numpy()
    finally:
        ensemble.train(was_training)
    return ForceLabels(
        forces=member_forces.mean(0),
        force_spread=np.sqrt((member_forces.std(0) ** 2).sum(-1)),
        energies=member_energies.mean(0),
        energy_spread=member_energies.std(0),
        member_forces=member_forces,
        member_energies=member_energies,
        elements=tuple(ensemble.elements),
        species=dataset.species.copy(),
    )


def ekd_loss(energy_weight: float = EKD_ENERGY_WEIGHT, force_weight: float = EKD_FORCE_WEIGHT) -> Loss:
    """The EKD student's loss: ``energy_weight`` x energy RMSE (eV) + ``force_weight`` x force RMSE (eV/Å)."""
    return Loss([EnergyLoss(energy_weight), ForceLoss(force_weight)])


def train_ekd_student(train: Dataset, valid: Dataset, config: HIPNNConfig = EKD_CONFIG,
                      energy_weight: float = EKD_ENERGY_WEIGHT, force_weight: float = EKD_FORCE_WEIGHT,
                      seed: int = 0, *, dtype: torch.dtype = torch.float32, batch_size: int = EKD_BATCH_SIZE,
                      progress: bool = True, **trainer_options) -> Trainer:
    """Train a student of ``config`` on the energies and the teachers' forces of ``train`` and ``valid`` (both
    labelled by :meth:`ForceLabels.label`); returns the finished :class:`~mlip_lab.train.Trainer`.

    Default weights: energy 1, forces 10 (RMSE in eV and eV/Å). The paper trains the student on QC energies
    plus teacher forces but gives no weight that transfers to our units and data, so we measured one: on
    ``organics`` with the DFT forces hidden (385 training configurations, 4 bootstrap teachers and students of
    16 features, 1 interaction and 2 atom layers, batch 8, 40 epochs, cosine, lr 2e-3; graded on 482 held-out
    configurations' DFT forces; two student seeds), the students' force MAE fell from 0.656 / 0.651 eV/Å at
    weight 1 to 0.650 / 0.645 at 10 and stayed there at 30 and 100, while their energy MAE rose from
    0.086 / 0.078 eV (weight 1) to 0.105 / 0.083 (10) and 0.155 / 0.112 (100). 10 is the smallest weight at
    which the forces reached their plateau for both seeds; a larger one only trades energy accuracy for copying
    the teachers (whose own mean force had MAE 0.643 eV/Å) more closely. The energy-only baseline of the same
    size had 0.642 / 0.794 eV/Å: at that small scale the students matched their teachers and removed the
    baseline's seed-to-seed scatter rather than beating it, so re-check the weight at full scale.
    """
    for data, what in ((train, "the training set"), (valid, "the validation set")):
        check_dataset(data, what)
        if data.forces is None:
            raise MLIPLabError(f"{what} ({data.name or 'unnamed'}) has no forces for the student to learn; label it "
                               "with ensemble_force_labels(teachers, data).label(data) first")
    student = build_hipnn(config, seed, dtype)
    check_student_fits_labels(student, train, "the training set")
    check_student_fits_labels(student, valid, "the validation set")
    trainer = Trainer(student, ekd_loss(energy_weight, force_weight), train, valid, seed=seed, batch_size=batch_size,
                      progress=progress, **trainer_options)
    trainer.fit()
    return trainer


def hide_forces(dataset: Dataset) -> Dataset:
    """An energy-only copy of ``dataset``: forces, Hessians and atomic energies dropped, as coupled-cluster
    data come. Keep ``dataset`` itself to grade with: its true forces never reach training
    (:func:`force_errors_against`)."""
    check_dataset(dataset)
    hidden = [name for name in ("forces", "hessians", "atomic_energies") if getattr(dataset, name) is not None]
    if "forces" not in hidden:
        raise MLIPLabError(f"{dataset.name or 'the dataset'} has no forces to hide; it is energy-only already, so "
                           "train on it as it is")
    metadata = {**dataset.metadata, "hidden": hidden}
    return replace(dataset, forces=None, hessians=None, atomic_energies=None, metadata=metadata)


def force_errors_against(truth: Dataset, forces) -> ErrorStats:
    """Errors of predicted or labelled ``forces`` (M, N, 3) eV/Å against ``truth``'s reference forces, over the
    real atoms' components (eV/Å): e.g. how close the teachers' labels or a student's predictions come to the
    DFT forces :func:`hide_forces` kept from training."""
    check_dataset(truth, "the reference dataset")
    if truth.forces is None:
        raise MLIPLabError(f"{truth.name or 'the reference dataset'} has no forces to grade against; pass the "
                           "dataset before hide_forces, or a grading set with forces")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != truth.forces.shape:
        raise MLIPLabError(f"forces of shape {forces.shape} do not match the reference {truth.forces.shape}")
    real = truth.species > 0
    return ErrorStats.of(forces[real] - truth.forces[real])


@dataclass
class EKDRun:
    """One EKD comparison on one split: ``teachers`` (the Ensemble), ``train_labels`` and ``valid_labels``
    (their :class:`ForceLabels`), ``student`` (trained on energies + teacher forces) and ``baseline`` (the
    same architecture, seed and budget on energies only), the last two as finished Trainers."""

    teachers: Ensemble
    train_labels: ForceLabels
    valid_labels: ForceLabels
    student: Trainer
    baseline: Trainer


def run_ekd(train: Dataset, valid: Dataset, k: int = 4, teacher_config: HIPNNConfig = EKD_CONFIG,
            student_config: HIPNNConfig = EKD_CONFIG, seed: int = 0, *, resample: str = "bootstrap",
            energy_weight: float = EKD_ENERGY_WEIGHT, force_weight: float = EKD_FORCE_WEIGHT,
            progress: bool = True, **trainer_options) -> EKDRun:
    """The whole recipe on energy-only ``train`` and ``valid`` (forces, if any, are hidden first): ``k``
    teachers (seeds 1000 ``seed`` + 1 ... + k), labels, the student and the energy-only baseline (both from
    ``seed``, so the teachers' forces are the only difference). ``trainer_options`` go to every Trainer."""
    train, valid = (data if data.forces is None else hide_forces(data) for data in (train, valid))
    teachers = train_teachers(train, valid, k, teacher_config, [1000 * seed + 1 + i for i in range(k)], resample,
                              progress=progress, **trainer_options)
    train_labels, valid_labels = ensemble_force_labels(teachers, train), ensemble_force_labels(teachers, valid)
    student = train_ekd_student(train_labels.label(train), valid_labels.label(valid), student_config, energy_weight,
                                force_weight, seed, progress=progress, **trainer_options)
    baseline = train_energy_only(train, valid, student_config, seed, progress=progress, **trainer_options)
    return EKDRun(teachers, train_labels, valid_labels, student, baseline)
