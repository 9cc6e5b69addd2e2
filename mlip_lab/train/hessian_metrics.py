"""Hessian predictions over a dataset and curvature errors by geometry category: Hessian elements,
Hessian eigenvalues and harmonic frequencies, next to the energy and force errors of :func:`error_table`."""

from __future__ import annotations

import numpy as np

from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import device_and_dtype
from mlip_lab.physics.harmonic import harmonic_analysis
from mlip_lab.physics.hessians import model_hessian
from mlip_lab.physics.masses import masses_of
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train.metrics import DatasetPredictions, ErrorStats, error_table


def predict_hessians(model, dataset: Dataset, batch_size: int = 32) -> np.ndarray:
    """(M, 3N, 3N) model Hessians in eV/Å², zero on padding (the dataset's N); any model that follows the contract."""
    device, dtype = device_and_dtype(model)
    m, n = dataset.species.shape
    out = np.zeros((m, 3 * n, 3 * n))
    for batch in dataset.batches(batch_size, device=device, dtype=dtype):
        k = 3 * batch.species.shape[1]
        hessians = model_hessian(model, batch.species, batch.positions, batch.cells, batch.pbc)
        out[batch.indices.cpu().numpy(), :k, :k] = hessians.detach().cpu().double().numpy()
    return out


def real_block(hessian: np.ndarray, n_atoms: int) -> np.ndarray:
    """(3n, 3n) the part of a padded (3N, 3N) Hessian that belongs to the first ``n_atoms`` (real) atoms."""
    return np.asarray(hessian)[: 3 * n_atoms, : 3 * n_atoms]


def curvature_errors(dataset: Dataset, hessians: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Per configuration, predicted minus reference: ``hessian`` elements (3n*3n,) eV/Å², sorted Cartesian
    ``eigenvalue``s (3n,) eV/Å², and sorted harmonic ``frequency``s (3n-6 or 3n-5,) cm^-1."""
    if dataset.hessians is None:
        raise MLIPLabError("curvature errors need reference Hessians; use a dataset with hessians")
    if np.shape(hessians) != dataset.hessians.shape:
        raise MLIPLabError(f"predicted Hessians have shape {np.shape(hessians)}, expected {dataset.hessians.shape}")
    out = {"hessian": [], "eigenvalue": [], "frequency": []}
    for i, n in enumerate(dataset.n_atoms):
        pred, ref = real_block(hessians[i], n), real_block(dataset.hessians[i], n)
        out["hessian"].append((pred - ref).reshape(-1))
        out["eigenvalue"].append(np.linalg.eigvalsh(0.5 * (pred + pred.T)) - np.linalg.eigvalsh(0.5 * (ref + ref.T)))
        positions, masses = dataset.positions[i], masses_of(dataset.species[i])
        predicted, reference = (harmonic_analysis(h, positions, masses).frequencies_cm.numpy()
                                for h in (hessians[i], dataset.hessians[i]))
        out["frequency"].append(predicted - reference)
    return out


def curvature_error_table(dataset: Dataset, predictions: DatasetPredictions, hessians: np.ndarray,
                          by: str | None = "category", unit: str = "kcal/mol") -> list[dict]:
    """:func:`error_table` rows (energy and force MAE/RMSE) with curvature MAEs added: hessian_mae and
    eigenvalue_mae (kcal/mol/Å² or eV/Å², following ``unit``) and frequency_mae (cm^-1), and the baseline
    zero_hessian_mae: the Hessian MAE of predicting H = 0, i.e. the mean |H_ref| over the same elements. A model
    whose hessian_mae is not well below it has learnt no useful curvature."""
    rows = error_table(dataset, predictions, by=by, unit=unit)
    factor = EV_KCAL_PER_MOL if unit == "kcal/mol" else 1.0
    errors = curvature_errors(dataset, hessians)
    # Minus the reference: the error of a zero prediction, compared over exactly the elements of "hessian".
    errors["zero_hessian"] = [-real_block(h, n).reshape(-1) for h, n in zip(dataset.hessians, dataset.n_atoms)]
    labels = np.asarray(getattr(dataset, by), dtype=str) if by is not None else None
    for row in rows:
        chosen = np.ones(len(dataset), bool) if row["group"] == "all" else labels == row["group"]
        picked = {key: np.concatenate([e for e, keep in zip(values, chosen) if keep]) for key, values in errors.items()}
        row["hessian_mae"] = ErrorStats.of(picked["hessian"]).mae * factor
        row["zero_hessian_mae"] = ErrorStats.of(picked["zero_hessian"]).mae * factor
        row["eigenvalue_mae"] = ErrorStats.of(picked["eigenvalue"]).mae * factor
        row["frequency_mae"] = ErrorStats.of(picked["frequency"]).mae
    return rows


def format_curvature_table(rows: list[dict], unit: str = "kcal/mol") -> str:
    """Plain-text rendering of :func:`curvature_error_table` rows (MAEs only), with the H = 0 baseline
    (column "H=0") next to the Hessian MAE."""
    header = (f"{'group':<14}{'count':>6}{'E':>9}{'F':>9}{'H':>9}{'H=0':>9}{'eig':>9}{'freq':>9}"
              f"   MAE: E {unit}, F {unit}/Å, H, H=0 (predicting H = 0) and eig {unit}/Å², freq cm^-1")
    lines = [header]
    for r in rows:
        lines.append(f"{r['group']:<14}{r['count']:>6}{r['energy_mae']:>9.3f}{r['force_mae']:>9.3f}"
                     f"{r['hessian_mae']:>9.3f}{r['zero_hessian_mae']:>9.3f}{r['eigenvalue_mae']:>9.3f}"
                     f"{r['frequency_mae']:>9.1f}")
    return "\n".join(lines)
