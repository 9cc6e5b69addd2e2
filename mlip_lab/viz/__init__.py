"""Widgets and figures only: they render results and collect input; the numbers come from the library.

Nothing else in ``mlip_lab`` imports this package (it needs the ``[lab]`` extra: ipywidgets, plotly, nglview).
"""

from mlip_lab.viz.cg import (
    MAPPING_KINDS, MappingView, TransferabilityView, cg_speed_figure, rdf_error_figure, rdf_figure,
)
from mlip_lab.viz.colors import colorbar_stops, per_atom_colors, value_range
from mlip_lab.viz.dashboard import (
    DEFAULT_PARAMS, TrainingDashboard, best_record, epoch_summary, loss_curves, parity_points, parity_title,
)
from mlip_lab.viz.ensemble import (
    TeacherForces, calibration_figure, level_difference_figure, time_to_failure_figure,
)
from mlip_lab.viz.figures import learning_curve_figure, nearest_distance_figure, parity_figure, sensitivity_figure
from mlip_lab.viz.hessian import (
    SCHEME_COLORS, HessianExplorer, NormalModeView, column_figure, coordinate_labels, cost_figure, frequency_figure,
    hessian_comparison, hessian_heatmap, hutchinson_figure, normal_mode_view, scheme_bars,
)
from mlip_lab.viz.md import (
    MDMonitor, TrajectoryView, shown_replicas, spectrum_figure, timestep_scan_figure, trajectory_view,
)
from mlip_lab.viz.molecule import MoleculeView, as_atoms, face_on, molecule_view, per_atom_values
from mlip_lab.viz.ngl import add_arrows, add_spheres, color_scheme, ngl_view
from mlip_lab.viz.teacher_student import (
    TeacherStudentGap, atomic_energy_gaps, element_offsets, format_comparison, model_cost_figure,
)

__all__ = [
    "MAPPING_KINDS", "MappingView", "TransferabilityView", "cg_speed_figure", "rdf_error_figure", "rdf_figure",
    "colorbar_stops", "per_atom_colors", "value_range",
    "DEFAULT_PARAMS", "TrainingDashboard", "best_record", "epoch_summary", "loss_curves", "parity_points",
    "parity_title",
    "TeacherForces", "calibration_figure", "level_difference_figure", "time_to_failure_figure",
    "parity_figure", "sensitivity_figure", "learning_curve_figure", "nearest_distance_figure",
    "SCHEME_COLORS", "HessianExplorer", "NormalModeView", "column_figure", "coordinate_labels", "cost_figure",
    "frequency_figure", "hessian_comparison", "hessian_heatmap", "hutchinson_figure", "normal_mode_view", "scheme_bars",
    "MDMonitor", "TrajectoryView", "shown_replicas", "spectrum_figure", "timestep_scan_figure", "trajectory_view",
    "MoleculeView", "as_atoms", "face_on", "molecule_view", "per_atom_values",
    "add_arrows", "add_spheres", "color_scheme", "ngl_view",
    "TeacherStudentGap", "atomic_energy_gaps", "element_offsets", "format_comparison", "model_cost_figure",
]
