"""Coarse-graining: mapping operators (atoms -> beads) and structural analysis (RDFs, coordination numbers,
bond and angle distributions, RDF errors)."""

from mlip_lab.cg.mapping import Mapping, map_trajectory
from mlip_lab.cg.structure import (
    angle_distribution, bond_angles, bond_length_distribution, bond_lengths, coordination_number,
    normalised_histogram, radial_distribution, rdf_error,
)

__all__ = [
    "Mapping", "map_trajectory",
    "angle_distribution", "bond_angles", "bond_length_distribution", "bond_lengths", "coordination_number",
    "normalised_histogram", "radial_distribution", "rdf_error",
]
