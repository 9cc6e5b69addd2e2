"""HIP-NN and HIP-NN-TS (one family, tensor order as a parameter), ensembles, and safe file I/O."""

from mlip_lab.models.ensemble import Ensemble, EnsembleOutput
from mlip_lab.models.hipnn import HIPNN, HIPNNConfig, HIPNNOutput, hierarchicality
from mlip_lab.models.io import load_model, save_model

__all__ = [
    "HIPNN", "HIPNNConfig", "HIPNNOutput", "hierarchicality", "Ensemble", "EnsembleOutput",
    "save_model", "load_model",
]
