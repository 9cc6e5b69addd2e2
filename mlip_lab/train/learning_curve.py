"""Is the test set honest, and how does the error fall with more data?

:func:`nearest_reference_distance` measures how close each test configuration is to the training set (a random
split of MD snapshots can put a frame's neighbours in time on the other side); :func:`learning_curve` trains
fresh models on growing subsets of a training set and tests each on the same held-out set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.geometry import distance_rmsd_matrix
from mlip_lab.train.losses import Loss
from mlip_lab.train.metrics import ErrorStats, energy_errors, force_errors, predict_dataset
from mlip_lab.train.trainer import Trainer


def nearest_reference_distance(queries: Dataset, references: Dataset) -> np.ndarray:
    """(Q,) Å: for each configuration of ``queries``, the smallest distance RMSD
    (:func:`~mlip_lab.physics.distance_rmsd`) to a configuration of ``references`` with the same atoms in the same
    order (the same molecule); NaN where ``references`` has none. Distances ignore rotation and translation.
    """
    for data, what in ((queries, "queries"), (references, "references")):
        if not isinstance(data, Dataset):
            raise MLIPLabError(f"{what} must be a mlip_lab.data.Dataset, got {type(data).__name__}")
    nearest = np.full(len(queries), np.nan)
    reference_rows = _rows_by_molecule(references)
    for key, rows in _rows_by_molecule(queries).items():
        if key not in reference_rows or len(key) < 2:
            continue
        n = len(key)
        distances = distance_rmsd_matrix(queries.positions[rows, :n], references.positions[reference_rows[key], :n])
        nearest[rows] = distances.min(dim=1).values.numpy()
    return nearest


def _rows_by_molecule(data: Dataset) -> dict[tuple, list[int]]:
    """Row indices per molecule, a molecule being its real atoms' species in order (padding dropped)."""
    rows: dict[tuple, list[int]] = {}
    for index, species in enumerate(data.species):
        rows.setdefault(tuple(species[species > 0]), []).append(index)
    return rows


@dataclass(frozen=True)
class LearningCurve:
    """Test errors of models trained on growing subsets; every array has one entry per size.

    sizes: training configurations; energy_mae eV (NaN without energies); force_mae eV/Å; epochs: what each run
    trained for; batch_sizes: its mini-batch size (larger sets, larger batches, the same number of steps);
    seconds: its training wall time.
    """

    sizes: np.ndarray
    energy_mae: np.ndarray
    force_mae: np.ndarray
    epochs: np.ndarray
    batch_sizes: np.ndarray
    seconds: np.ndarray

    def slope(self, quantity: str = "force") -> float:
        """Least-squares slope of log(MAE) against log(size): about -0.5 when each doubling of the data cuts the
        error by 30 %, nearer 0 when the model, not the data, limits the error."""
        mae = {"force": self.force_mae, "energy": self.energy_mae}.get(quantity)
        if mae is None:
            raise MLIPLabError(f"quantity must be 'force' or 'energy', got {quantity!r}")
        if len(self.sizes) < 2 or not np.all(np.isfinite(mae)):
            raise MLIPLabError(f"a slope needs at least two sizes with finite {quantity} errors")
        return float(np.polyfit(np.log(self.sizes), np.log(mae), 1)[0])


def nested_subsets(n_available: int, sizes: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """Row indices of subsets of the given ``sizes`` (ascending), each containing the smaller ones: the first
    ``size`` rows of one random permutation, so a larger set only adds data."""
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes) or sorted(set(sizes)) != sizes:
        raise MLIPLabError(f"sizes must be distinct positive integers in ascending order, got {sizes}")
    if sizes[-1] > n_available:
        raise MLIPLabError(f"the largest size {sizes[-1]} exceeds the {n_available} configurations available")
    order = np.random.default_rng(seed).permutation(n_available)
    return [np.sort(order[:s]) for s in sizes]


def learning_curve(make_model: Callable[[], object], loss: Loss, train: Dataset, valid: Dataset, test: Dataset,
                   sizes: Sequence[int], *, epochs: int, batches_per_epoch: int = 8, seed: int = 0,
                   progress: bool = True, **trainer_options) -> LearningCurve:
    """Train ``make_model()`` (a fresh model that follows the model contract) on nested subsets of ``train`` of
    the given ``sizes`` and test each on ``test``.

    Every run trains for ``epochs`` epochs of ``batches_per_epoch`` mini-batches (batch size = size /
    ``batches_per_epoch``, rounded up), so every run takes the same number of optimiser steps on the same
    learning-rate schedule and sees each of its configurations equally often; a larger set costs more only
    through its larger batches. Each run validates on ``valid`` (the Trainer keeps the best epoch) and starts from
    the weights ``make_model`` draws. Early stopping is off unless ``trainer_options`` set
    ``early_stopping_patience``: a noisy validation error would otherwise end some runs before their learning-rate
    schedule does, and the curve would measure that instead. ``trainer_options`` go to the :class:`Trainer` (lr,
    lr_schedule, ...); ``progress`` shows one bar over the sizes.
    """
    for name, value in (("epochs", epochs), ("batches_per_epoch", batches_per_epoch)):
        if int(value) < 1:
            raise MLIPLabError(f"{name} must be at least 1, got {value}")
    subsets = nested_subsets(len(train), sizes, seed)
    energy_mae, force_mae, epochs_run, batch_sizes, seconds = [], [], [], [], []
    for rows in tqdm(subsets, desc="learning curve", disable=not progress):
        model = make_model()
        batch_size = math.ceil(len(rows) / int(batches_per_epoch))
        start = time.perf_counter()
        options = {"early_stopping_patience": int(epochs), **trainer_options}
        trainer = Trainer(model, loss, train.subset(rows), valid, batch_size=batch_size, max_epochs=int(epochs),
                          seed=seed, progress=False, **options)
        trainer.fit()
        seconds.append(time.perf_counter() - start)
        predictions = predict_dataset(trainer.model, test)
        energy_mae.append(ErrorStats.of(energy_errors(test, predictions)).mae)  # NaN errors without energies
        force_mae.append(ErrorStats.of(force_errors(test, predictions)).mae)
        epochs_run.append(len(trainer.history))
        batch_sizes.append(batch_size)
    return LearningCurve(np.array([len(r) for r in subsets]), np.array(energy_mae), np.array(force_mae),
                         np.array(epochs_run), np.array(batch_sizes), np.array(seconds))
