"""The model contract, HIP-NN and HIP-NN-TS (one family, tensor order as a parameter), ensembles, and safe file I/O."""

from mlip_lab.models.contract import (
    Model, ModelOutput, check_model, device_and_dtype, fit_reference_energies, reference_energies_unset,
)
from mlip_lab.models.ensemble import Ensemble, EnsembleOutput
from mlip_lab.models.hipnn import HIPNN, HIPNNConfig, HIPNNOutput, hierarchicality
from mlip_lab.models.io import build_model, load_model, model_spec, register_model_kind, save_model

__all__ = [
    "Model", "ModelOutput", "check_model", "device_and_dtype", "fit_reference_energies", "reference_energies_unset",
    "HIPNN", "HIPNNConfig", "HIPNNOutput", "hierarchicality", "Ensemble", "EnsembleOutput",
    "save_model", "load_model", "register_model_kind", "model_spec", "build_model",
]
