"""Training: loss terms, the Trainer, checkpoints, callbacks and metrics."""

from mlip_lab.train.checkpoints import load_checkpoint
from mlip_lab.train.hessian_losses import PROBE_REGIMES, HessianLoss, HVPLoss
from mlip_lab.train.hessian_metrics import (
    curvature_error_table, curvature_errors, format_curvature_table,
    predict_hessians, real_block,
)
from mlip_lab.train.learning_curve import LearningCurve, learning_curve, nearest_reference_distance, nested_subsets
from mlip_lab.train.losses import (
    AtomicEnergyLoss, EnergyLoss, ErrorTerm, ForceLoss, HierarchicalityLoss, L2Loss, Loss, LossContext, LossTerm,
    energy_force_loss,
)
from mlip_lab.train.metrics import (
    DatasetPredictions, ErrorStats, energy_errors, error_table, force_errors, format_table, parity_data, predict_dataset,
)
from mlip_lab.train.schemes import REFERENCE_WEIGHTS, SCHEMES, scheme_loss, train_scheme
from mlip_lab.train.trainer import EpochRecord, Trainer

__all__ = [
    "DatasetPredictions", "ErrorStats", "energy_errors", "error_table", "force_errors", "format_table", "parity_data",
    "predict_dataset",
    "AtomicEnergyLoss", "EnergyLoss", "ErrorTerm", "ForceLoss", "HierarchicalityLoss", "L2Loss", "Loss", "LossContext",
    "LossTerm", "energy_force_loss",
    "EpochRecord", "Trainer", "load_checkpoint",
    "LearningCurve", "learning_curve", "nearest_reference_distance", "nested_subsets",
    "PROBE_REGIMES", "HessianLoss", "HVPLoss", "curvature_error_table", "curvature_errors",
    "format_curvature_table", "predict_hessians", "real_block", "REFERENCE_WEIGHTS", "SCHEMES", "scheme_loss", "train_scheme",
]
