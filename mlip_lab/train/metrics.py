"""Predictions of a model over a dataset and the error statistics every notebook and widget shows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, device_and_dtype
from mlip_lab.physics.units import EV_KCAL_PER_MOL


@dataclass
class DatasetPredictions:
    """A model's outputs for every configuration of a dataset (numpy, dataset padding kept).

    energies (M,) eV; forces (M, N, 3) eV/Å or None; atomic_energies (M, N) eV.
    """

    energies: np.ndarray
    forces: np.ndarray | None
    atomic_energies: np.ndarray


# Padded atoms per prediction batch, at most: forces keep the autograd graph of a whole batch alive, and 50
# frames of lesson 07's 256-bead liquid in one batch (batch_size 64) took the kernel from 0.5 to 2.1 GiB.
MAX_ATOMS_PER_BATCH = 2048


def predict_dataset(model, dataset: Dataset, batch_size: int = 64, forces: bool = True,
                    max_atoms: int = MAX_ATOMS_PER_BATCH) -> DatasetPredictions:
    """Run ``model`` (any kind that follows the model contract) over ``dataset`` in batches.

    A batch holds ``batch_size`` configurations, fewer when that would exceed ``max_atoms`` padded atoms (at
    least one configuration each): small molecules go 64 at a time, a periodic box of 256 beads 8 at a time.
    The predictions do not depend on the batching.
    """
    check_model(model, "predict_dataset")
    if int(batch_size) < 1 or int(max_atoms) < 1:
        raise MLIPLabError(f"batch_size and max_atoms must be at least 1, got {batch_size} and {max_atoms}")
    device, dtype = device_and_dtype(model)
    m, n = dataset.species.shape
    batch_size = max(1, min(int(batch_size), int(max_atoms) // max(n, 1)))
    energies = np.zeros(m)
    atomic = np.zeros((m, n))
    force_out = np.zeros((m, n, 3)) if forces else None
    was_training = model.training
    model.eval()
    try:
        for batch in dataset.batches(batch_size, device=device, dtype=dtype):
            out = model.predict(batch.species, batch.positions, batch.cells, batch.pbc, forces=forces)
            idx = batch.indices.cpu().numpy()
            k = batch.species.shape[1]
            energies[idx] = out.energy.cpu().double().numpy()
            atomic[idx, :k] = out.atomic_energies.cpu().double().numpy()
            if forces:
                force_out[idx, :k] = out.forces.cpu().double().numpy()
    finally:
        model.train(was_training)
    return DatasetPredictions(energies, force_out, atomic)


@dataclass(frozen=True)
class ErrorStats:
    """Errors of one quantity: mae, rmse, max_abs in the quantity's unit; count of values compared."""

    mae: float
    rmse: float
    max_abs: float
    count: int

    @staticmethod
    def of(errors: np.ndarray) -> "ErrorStats":
        e = np.abs(np.asarray(errors, dtype=float).reshape(-1))
        if e.size == 0:
            return ErrorStats(float("nan"), float("nan"), float("nan"), 0)
        return ErrorStats(float(e.mean()), float(np.sqrt((e**2).mean())), float(e.max()), int(e.size))

    def scaled(self, factor: float) -> "ErrorStats":
        return ErrorStats(self.mae * factor, self.rmse * factor, self.max_abs * factor, self.count)


def energy_errors(dataset: Dataset, predictions: DatasetPredictions, per_atom: bool = False) -> np.ndarray:
    """(M,) predicted minus reference energies, eV (per atom if asked); NaN when the dataset has no energies."""
    if dataset.energies is None:
        return np.full(len(dataset), np.nan)
    err = predictions.energies - dataset.energies
    return err / dataset.n_atoms if per_atom else err


def force_errors(dataset: Dataset, predictions: DatasetPredictions) -> np.ndarray:
    """(K, 3) predicted minus reference force components of all real atoms, eV/Å."""
    if dataset.forces is None or predictions.forces is None:
        raise ValueError("force errors need reference forces in the dataset and predicted forces")
    mask = dataset.species > 0
    return (predictions.forces - dataset.forces)[mask]


def error_table(dataset: Dataset, predictions: DatasetPredictions, by: str | None = "category",
                unit: str = "kcal/mol") -> list[dict]:
    """Rows of energy and force errors, overall and per value of ``by`` (``category``, ``molecule`` or None).

    unit "kcal/mol" gives energies in kcal/mol and forces in kcal/mol/Å; "eV" gives eV and eV/Å.
    Each row: group, count, energy_mae, energy_rmse, force_mae, force_rmse (energy columns NaN without reference
    energies, force columns NaN without forces).
    """
    if unit not in ("kcal/mol", "eV"):
        raise ValueError(f"unit must be 'kcal/mol' or 'eV', got {unit!r}")
    factor = EV_KCAL_PER_MOL if unit == "kcal/mol" else 1.0
    groups = [("all", np.ones(len(dataset), bool))]
    if by is not None:
        labels = np.asarray(getattr(dataset, by), dtype=str)
        groups += [(str(v), labels == v) for v in np.unique(labels)]
    e_err = energy_errors(dataset, predictions)
    has_forces = dataset.forces is not None and predictions.forces is not None
    rows = []
    for name, mask in groups:
        e = ErrorStats.of(e_err[mask]).scaled(factor)
        row = {"group": name, "count": int(mask.sum()), "energy_mae": e.mae, "energy_rmse": e.rmse,
               "force_mae": float("nan"), "force_rmse": float("nan")}
        if has_forces:
            f = ErrorStats.of(force_errors(dataset.subset(mask), _subset(predictions, mask, dataset))).scaled(factor)
            row.update(force_mae=f.mae, force_rmse=f.rmse)
        rows.append(row)
    return rows


def _subset(predictions: DatasetPredictions, mask: np.ndarray, dataset: Dataset) -> DatasetPredictions:
    """Predictions of the configurations in ``mask``, trimmed to the padding ``dataset.subset`` would use."""
    n = int((dataset.species[mask] > 0).sum(1).max())
    return DatasetPredictions(
        predictions.energies[mask],
        None if predictions.forces is None else predictions.forces[mask][:, :n],
        predictions.atomic_energies[mask][:, :n],
    )


def format_table(rows: list[dict], unit: str = "kcal/mol") -> str:
    """Plain-text rendering of :func:`error_table` rows."""
    f_unit = f"{unit}/Å"
    header = f"{'group':<14}{'count':>7}{'E MAE':>10}{'E RMSE':>10}{'F MAE':>10}{'F RMSE':>10}   (E in {unit}, F in {f_unit})"
    lines = [header]
    for r in rows:
        lines.append(f"{r['group']:<14}{r['count']:>7}{r['energy_mae']:>10.3f}{r['energy_rmse']:>10.3f}"
                     f"{r['force_mae']:>10.3f}{r['force_rmse']:>10.3f}")
    return "\n".join(lines)


def parity_data(dataset: Dataset, predictions: DatasetPredictions, quantity: str = "energy",
                per_atom: bool = True, relative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(reference, predicted) arrays for a parity plot: energies (per atom by default, eV) or force components (eV/Å).

    relative (energies only): subtract each molecule's mean reference energy from both arrays. Total energies of
    different molecules lie hundreds of eV apart, so on one absolute axis every molecule is a dot and every error
    invisible; the shift is the same for reference and prediction, so the errors are unchanged.
    """
    if quantity == "energy":
        if dataset.energies is None:
            raise MLIPLabError("this dataset has no reference energies to plot; use quantity='forces'")
        scale = dataset.n_atoms if per_atom else 1
        reference, predicted = dataset.energies / scale, predictions.energies / scale
        if relative:
            if dataset.molecule is None or (dataset.molecule == "").any():
                raise MLIPLabError("relative=True needs the molecule of every configuration (dataset.molecule); "
                                   "label them, or plot absolute energies")
            names, group = np.unique(dataset.molecule, return_inverse=True)
            means = np.bincount(group, weights=reference, minlength=len(names)) / np.bincount(group)
            reference, predicted = reference - means[group], predicted - means[group]
        return reference, predicted
    if quantity == "forces":
        mask = dataset.species > 0
        return dataset.forces[mask].reshape(-1), predictions.forces[mask].reshape(-1)
    raise ValueError(f"quantity must be 'energy' or 'forces', got {quantity!r}")

