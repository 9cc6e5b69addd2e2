"""Pure tensor functions: units, pair geometry, forces, harmonic analysis, model Hessians."""

from mlip_lab.physics import units
from mlip_lab.physics.forces import forces
from mlip_lab.physics.geometry import PairGeometry, displacement_vectors, distance_rmsd, minimum_image, pair_geometry
from mlip_lab.physics.harmonic import HarmonicAnalysis, harmonic_analysis
from mlip_lab.physics.hessians import model_hessian

__all__ = [
    "units", "forces", "PairGeometry", "displacement_vectors", "distance_rmsd", "minimum_image", "pair_geometry",
    "HarmonicAnalysis", "harmonic_analysis", "model_hessian",
]
