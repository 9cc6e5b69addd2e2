"""Coarse-graining by force matching: mapping operators (atoms -> beads), structural analysis (RDFs, coordination
numbers, bond and angle distributions, RDF errors), the repulsive prior, the pairwise MS-CG baseline, HIP-NN-TS
force matching and CG MD. Importing it registers its model kinds (WithPrior, PairwiseModel) for model files.
``atomistic_ps_per_hour`` (the OpenMM reference's speed) loads on first use: it needs OpenMM, the ``cg`` extra."""

from mlip_lab.cg.mapping import Mapping, map_trajectory
from mlip_lab.cg.pairwise import PairwiseFit, PairwiseModel, fit_pairwise
from mlip_lab.cg.prior import RepulsivePrior, WithPrior, fit_repulsive_prior, mean_force_magnitude, taper_point
from mlip_lab.cg.simulate import CGTrajectory, bead_masses, run_cg_md
from mlip_lab.cg.structure import (
    angle_distribution, bond_angles, bond_length_distribution, bond_lengths, coordination_number,
    normalised_histogram, radial_distribution, rdf_error,
)
from mlip_lab.cg.training import (
    CG_CONFIG, available_temperatures, check_cg_frames, force_matching_loss, frames_at, reference_prior,
    train_force_matching,
)

__all__ = [
    "Mapping", "map_trajectory",
    "PairwiseFit", "PairwiseModel", "fit_pairwise",
    "RepulsivePrior", "WithPrior", "fit_repulsive_prior", "mean_force_magnitude", "taper_point",
    "CGTrajectory", "bead_masses", "run_cg_md",
    "angle_distribution", "bond_angles", "bond_length_distribution", "bond_lengths", "coordination_number",
    "normalised_histogram", "radial_distribution", "rdf_error",
    "CG_CONFIG", "available_temperatures", "check_cg_frames", "force_matching_loss", "frames_at", "reference_prior",
    "train_force_matching", "atomistic_ps_per_hour",
]


def __getattr__(name: str):
    # Lazy, so that the rest of mlip_lab.cg imports without OpenMM (only the atomistic reference needs it).
    if name == "atomistic_ps_per_hour":
        from mlip_lab.cg.reference import atomistic_ps_per_hour

        return atomistic_ps_per_hour
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
