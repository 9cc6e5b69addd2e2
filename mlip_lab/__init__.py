"""MLIP Lab: a notebook-first teaching environment for machine-learned interatomic potentials."""

from mlip_lab import doctor
from mlip_lab.errors import MLIPLabError
from mlip_lab.settings import output_dir, quick_mode

__version__ = "0.1.0"

__all__ = ["MLIPLabError", "doctor", "output_dir", "quick_mode", "__version__"]
