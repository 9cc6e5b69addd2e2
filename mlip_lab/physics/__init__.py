"""Pure tensor functions: units, harmonic analysis (more arrive with the model issues)."""

from mlip_lab.physics import units
from mlip_lab.physics.harmonic import HarmonicAnalysis, harmonic_analysis

__all__ = ["units", "HarmonicAnalysis", "harmonic_analysis"]
