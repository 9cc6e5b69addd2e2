"""MLIP Lab: a notebook-first teaching environment for machine-learned interatomic potentials."""

from mlip_lab.errors import MLIPLabError
from mlip_lab.settings import quick_mode

__version__ = "0.1.0"

__all__ = ["MLIPLabError", "quick_mode", "__version__"]
