"""The ensemble spread as an uncertainty estimate, and how well it is calibrated against true errors.

Pure functions on arrays: a spread (what the ensemble predicts about its own error) and the error measured
against reference data. A useful spread ranks configurations by error (:func:`spearman`); a calibrated one
also has the right size (:func:`calibration_curve`: in each bin of predicted spread, the observed RMSE should
equal the RMS spread; :func:`calibration_error` summarises the gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from mlip_lab.data import Dataset
from mlip_lab.distill.checks import check_dataset
from mlip_lab.errors import MLIPLabError


def _paired(spread, errors) -> tuple[np.ndarray, np.ndarray]:
    spread = np.asarray(spread, dtype=float).reshape(-1)
    errors = np.asarray(errors, dtype=float).reshape(-1)
    if spread.shape != errors.shape:
        raise MLIPLabError(f"give one spread per error: got {spread.size} spreads and {errors.size} errors")
    if spread.size < 2:
        raise MLIPLabError(f"need at least 2 (spread, error) pairs, got {spread.size}")
    if not (np.isfinite(spread).all() and np.isfinite(errors).all()):
        raise MLIPLabError("spreads and errors must be finite; drop the configurations without a reference")
    return spread, errors


def spearman(spread, errors) -> float:
    """Spearman rank correlation of predicted ``spread`` against observed |``errors``| (both (K,), same unit).

    1: the spread orders the errors perfectly; 0: no relation. NaN when either is constant (no ranking).
    """
    spread, errors = _paired(spread, errors)
    if np.ptp(spread) == 0 or np.ptp(np.abs(errors)) == 0:
        return float("nan")
    return float(spearmanr(spread, np.abs(errors)).statistic)


@dataclass(frozen=True)
class CalibrationCurve:
    """Observed error per bin of predicted spread (B bins of about equal counts, sorted by spread).

    spread_rms: (B,) root-mean-square predicted spread in each bin; observed_rmse: (B,) root-mean-square
    error in the bin (a calibrated estimate gives observed_rmse = spread_rms); counts: (B,) values per bin;
    edges: (B, 2) lowest and highest spread in each bin. Units: those of the inputs.
    """

    spread_rms: np.ndarray
    observed_rmse: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def calibration_curve(spread, errors, n_bins: int = 10) -> CalibrationCurve:
    """Sort (spread, error) pairs by spread and cut them into ``n_bins`` bins of equal counts (the first bins
    one larger when the count does not divide), so every bin holds enough points for its RMSE to mean something.
    Both inputs (K,) in one unit (eV for energies, eV/Å for forces)."""
    spread, errors = _paired(spread, errors)
    if int(n_bins) != n_bins or not 1 <= n_bins <= spread.size:
        raise MLIPLabError(f"n_bins must be a whole number from 1 to the number of pairs ({spread.size}), got {n_bins}")
    order = np.argsort(spread, kind="stable")
    bins = np.array_split(order, int(n_bins))
    return CalibrationCurve(
        spread_rms=np.array([np.sqrt(np.mean(spread[b] ** 2)) for b in bins]),
        observed_rmse=np.array([np.sqrt(np.mean(errors[b] ** 2)) for b in bins]),
        counts=np.array([b.size for b in bins]),
        edges=np.array([[spread[b].min(), spread[b].max()] for b in bins]),
    )


def calibration_error(curve: CalibrationCurve) -> float:
    """Count-weighted mean |observed RMSE - RMS spread| over the bins, in the inputs' unit; 0 when calibrated.

    Ensembles of similar models usually under-estimate their error (observed above spread); the sign of
    ``curve.observed_rmse - curve.spread_rms`` shows which way a curve is off."""
    gaps = np.abs(curve.observed_rmse - curve.spread_rms)
    return float((gaps * curve.counts).sum() / curve.counts.sum())


@dataclass(frozen=True)
class SpreadAndError:
    """Paired uncertainty data of an ensemble on a reference dataset.

    energy_spread, energy_error: (M,) eV, the ensemble's energy std and |mean energy - reference|.
    force_spread, force_error: (K,) eV/Å over the K real atoms of all configurations: each atom's force
    spread (see :class:`~mlip_lab.distill.ForceLabels`) and |mean force - reference force| (vector norm).
    """

    energy_spread: np.ndarray
    energy_error: np.ndarray
    force_spread: np.ndarray
    force_error: np.ndarray


def spread_and_error(labels, truth: Dataset) -> SpreadAndError:
    """Pair an ensemble's :class:`~mlip_lab.distill.ForceLabels` on ``truth`` with its errors against
    ``truth``'s reference energies and forces (forces are required: grade on data that have them)."""
    check_dataset(truth, "the reference dataset")
    if truth.forces is None:
        raise MLIPLabError(f"{truth.name or 'the reference dataset'} has no forces; per-atom force errors need a "
                           "reference with forces (e.g. the dataset before hide_forces)")
    if labels.species.shape != truth.species.shape or not np.array_equal(labels.species, truth.species):
        raise MLIPLabError("the labels were computed on another dataset; call ensemble_force_labels(teachers, truth)")
    real = truth.species > 0
    return SpreadAndError(
        energy_spread=labels.energy_spread,
        energy_error=np.abs(labels.energies - truth.energies),
        force_spread=labels.force_spread[real],
        force_error=np.linalg.norm(labels.forces - truth.forces, axis=-1)[real],
    )
