"""The atomistic reference for coarse-graining: liquid methanol (OPLS-AA) simulated with OpenMM, validated
against experiment, and mapped to one bead per molecule (``python -m mlip_lab.cg.reference``)."""
