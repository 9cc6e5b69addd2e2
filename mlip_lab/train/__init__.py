"""Training: loss terms, the Trainer, checkpoints, callbacks and metrics."""

from mlip_lab.train.metrics import (
    DatasetPredictions, ErrorStats, energy_errors, error_table, force_errors, format_table, parity_data, predict_dataset,
)

__all__ = [
    "DatasetPredictions", "ErrorStats", "energy_errors", "error_table", "force_errors", "format_table", "parity_data",
    "predict_dataset",
]
