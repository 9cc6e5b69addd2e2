"""Pure tensor functions: units, pair geometry (dense and neighbour lists), forces, harmonic analysis, model
Hessians, Hessian-vector products and probes."""

from mlip_lab.physics import units
from mlip_lab.physics.forces import forces_from_energy
from mlip_lab.physics.frobenius import frobenius_estimate, frobenius_estimate_variance
from mlip_lab.physics.geometry import PairGeometry, displacement_vectors, distance_rmsd, distance_rmsd_matrix, minimum_image, pair_geometry
from mlip_lab.physics.harmonic import HarmonicAnalysis, harmonic_analysis
from mlip_lab.physics.hessians import HVP_METHODS, gradient_hessian, gradient_hvp, model_hessian, model_hvp
from mlip_lab.physics.masses import masses_of
from mlip_lab.physics.modes import mode_frames
from mlip_lab.physics.neighbours import NeighbourList, half_pair_sums, neighbour_list
from mlip_lab.physics.probes import PROBE_KINDS, fixed_probes, hutchinson_trace, probe_matrix, random_probes

__all__ = [
    "units", "forces_from_energy", "frobenius_estimate", "frobenius_estimate_variance", "PairGeometry", "displacement_vectors", "distance_rmsd", "distance_rmsd_matrix", "minimum_image", "pair_geometry",
    "HarmonicAnalysis", "harmonic_analysis", "masses_of", "mode_frames", "NeighbourList", "half_pair_sums", "neighbour_list",
    "HVP_METHODS", "gradient_hessian", "gradient_hvp", "model_hessian", "model_hvp", "PROBE_KINDS", "fixed_probes", "hutchinson_trace", "probe_matrix", "random_probes",
]
