"""The atomistic reference for coarse-graining: liquid methanol (OPLS-AA) simulated with OpenMM, validated
against experiment, and mapped to one bead per molecule (``python -m mlip_lab.cg.reference``)."""

from mlip_lab.cg.reference.speed import atomistic_ps_per_hour

__all__ = ["atomistic_ps_per_hour"]
