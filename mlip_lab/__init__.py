"""MLIP Lab: a notebook-first teaching environment for machine-learned interatomic potentials."""

from mlip_lab.errors import MLIPLabError

__version__ = "0.1.0"

__all__ = ["MLIPLabError", "__version__"]
