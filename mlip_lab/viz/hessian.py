"""Figures and widgets for curvature: Hessian heatmaps, animated normal modes, probe arrows, Hutchinson
convergence, cost curves and a predicted-vs-reference Hessian explorer. Numbers come from
:mod:`mlip_lab.physics` and :mod:`mlip_lab.train.hessian_metrics`; this module only draws them."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.modes import mode_frames
from mlip_lab.train.hessian_metrics import hessian_comparison
from mlip_lab.viz.molecule import VIEW_SIZE_PX, as_atoms, face_on, nglview

SCHEME_COLORS = {"E-F": "#7f7f7f", "E-F-HVP-onehot": "#1f77b4", "E-F-HVP-random": "#2ca02c", "E-F-H": "#d62728"}


def hessian_heatmap(hessian, labels: list[str], title: str = "Hessian / eV Å⁻²", zmax: float | None = None,
                    size: int = 380) -> go.Figure:
    """A (3n, 3n) matrix as a heatmap with a diverging scale centred on zero (blue < 0 < red)."""
    hessian = np.asarray(hessian, dtype=float)
    if hessian.shape != (len(labels), len(labels)):
        raise MLIPLabError(f"got a {hessian.shape} matrix but {len(labels)} coordinate labels")
    if zmax is None:
        zmax = float(np.abs(hessian).max()) or 1.0  # an all-zero matrix still needs a non-empty scale
    fig = go.Figure(go.Heatmap(z=hessian, x=labels, y=labels, colorscale="RdBu", reversescale=True, zmid=0,
                               zmin=-zmax, zmax=zmax))
    fig.update_layout(title=title, width=size + 60, height=size, yaxis_autorange="reversed",
                      margin=dict(l=60, r=10, t=40, b=50))
    return fig


def frequency_figure(reference, predicted, title: str = "harmonic frequencies") -> go.Figure:
    """Reference and predicted frequencies (cm^-1, imaginary < 0) side by side, mode by mode."""
    modes = np.arange(1, len(reference) + 1)
    fig = go.Figure(layout=dict(title=title, barmode="group", xaxis_title="mode", yaxis_title="ν / cm⁻¹",
                                width=420, height=380, margin=dict(l=60, r=10, t=40, b=40)))
    fig.add_bar(x=modes, y=np.asarray(reference), name="reference (DFT)", marker_color="#444")
    fig.add_bar(x=modes, y=np.asarray(predicted), name="model", marker_color="#2ca02c")
    return fig


def normal_mode_view(atoms_or_dataset_row, analysis, amplitude: float = 0.35, n_frames: int = 24):
    """A VBox: a dropdown of the modes (with their frequencies), the molecule vibrating along the chosen one
    (nglview trajectory) and a play control. ``analysis``: the :class:`HarmonicAnalysis` of this molecule."""
    atoms = as_atoms(atoms_or_dataset_row)
    rotation = face_on(atoms.positions)
    centred = (atoms.positions - atoms.positions.mean(0)) @ rotation
    options = [(f"mode {k + 1}: {f:.0f} cm⁻¹{' (imaginary)' if f < 0 else ''}", k)
               for k, f in enumerate(analysis.frequencies_cm.tolist())]
    chooser = widgets.Dropdown(options=options, value=len(options) - 1, description="mode")
    play = widgets.Play(min=0, max=n_frames - 1, interval=50, repeat=True, description="play")
    holder = widgets.Box()

    def show(k):
        frames = mode_frames(centred, analysis.modes_cartesian[k].numpy() @ rotation, amplitude, n_frames).numpy()
        trajectory = []
        for positions in frames:
            frame = atoms.copy()
            frame.positions = positions
            trajectory.append(frame)
        view = nglview.NGLWidget()
        view.add_trajectory(nglview.ASETrajectory(trajectory), default_representation=False)
        view._view_width, view._view_height = (f"{n}px" for n in VIEW_SIZE_PX)
        view.layout.width, view.layout.height = view._view_width, view._view_height
        view.add_representation("ball+stick")
        view.center()
        widgets.jslink((play, "value"), (view, "frame"))
        holder.children = [view]

    chooser.observe(lambda change: show(change["new"]), names="value")
    show(chooser.value)
    return widgets.VBox([chooser, holder, play])


def column_figure(product, column, labels: list[str], title: str = "H v and the Hessian column") -> go.Figure:
    """Bar chart of an HVP (3n,) beside a Hessian column (3n,), coordinate by coordinate."""
    fig = go.Figure(layout=dict(title=title, barmode="group", yaxis_title="eV Å⁻²", width=520, height=320,
                                margin=dict(l=60, r=10, t=40, b=60)))
    fig.add_bar(x=labels, y=np.asarray(product), name="H v (one HVP)", marker_color="#2ca02c")
    fig.add_bar(x=labels, y=np.asarray(column), name="Hessian column", marker_color="#444")
    return fig


def hutchinson_figure(running: dict, exact: float, title: str = "Hutchinson estimate of tr(H)") -> go.Figure:
    """Running estimates {probe kind: (S,)} against the number of probes, with the exact value as a line."""
    fig = go.Figure(layout=dict(title=title, xaxis_title="number of probes", yaxis_title="estimate / eV Å⁻²",
                                xaxis_type="log", width=560, height=340, margin=dict(l=60, r=10, t=40, b=40)))
    for kind, values in running.items():
        values = np.asarray(values)
        fig.add_scatter(x=np.arange(1, len(values) + 1), y=values, mode="lines", name=kind)
    fig.add_hline(y=exact, line_dash="dot", line_color="black", annotation_text="exact tr(H)")
    return fig


def cost_figure(n_atoms, seconds: dict, title: str = "cost of curvature") -> go.Figure:
    """Seconds {"hvp": (K,), "hessian": (K,)} against the number of atoms (K,), log-log."""
    fig = go.Figure(layout=dict(title=title, xaxis_title="atoms", yaxis_title="seconds", xaxis_type="log",
                                yaxis_type="log", width=520, height=340, margin=dict(l=60, r=10, t=40, b=40)))
    names = {"hvp": "one HVP per molecule", "hessian": "full Hessian (3N HVPs, batched)"}
    for key, values in seconds.items():
        fig.add_scatter(x=np.asarray(n_atoms), y=np.asarray(values), mode="lines+markers", name=names.get(key, key))
    return fig


def scheme_bars(rows_by_scheme: dict, column: str, title: str, unit: str) -> go.Figure:
    """Grouped bars of ``column`` from :func:`curvature_error_table` rows, one group per category, one colour
    per scheme: {scheme: rows}."""
    fig = go.Figure(layout=dict(title=title, barmode="group", yaxis_title=unit, width=560, height=340,
                                margin=dict(l=60, r=10, t=40, b=40)))
    for scheme, rows in rows_by_scheme.items():
        fig.add_bar(x=[r["group"] for r in rows], y=[r[column] for r in rows], name=scheme,
                    marker_color=SCHEME_COLORS.get(scheme))
    return fig


class HessianExplorer(widgets.VBox):
    """Pick a test geometry and a scheme: difference heatmap (predicted - reference) and frequencies side by side.

    dataset: the test set with reference Hessians; hessians: {scheme: (M, 3N, 3N) predicted}.
    """

    def __init__(self, dataset: Dataset, hessians: dict):
        if not hessians:
            raise MLIPLabError("give at least one scheme's predicted Hessians, e.g. {'E-F': predict_hessians(...)}")
        options = [(f"{i}: {dataset.molecule[i]} ({dataset.category[i]})", i) for i in range(len(dataset))]
        self.dataset, self.hessians = dataset, hessians
        self.geometry = widgets.Dropdown(options=options, value=0, description="geometry",
                                         layout=widgets.Layout(width="360px"))
        self.scheme = widgets.Dropdown(options=list(hessians), description="scheme")
        self.heatmap = go.FigureWidget(hessian_heatmap(np.zeros((1, 1)), ["-"]))
        self.spectrum = go.FigureWidget(frequency_figure([0.0], [0.0]))
        self.summary = widgets.HTML()
        for control in (self.geometry, self.scheme):
            control.observe(lambda _: self.update(), names="value")
        super().__init__([widgets.HBox([self.geometry, self.scheme]), self.summary,
                          widgets.HBox([self.heatmap, self.spectrum])])
        self.update()

    def update(self) -> None:
        shown = hessian_comparison(self.dataset, self.geometry.value, self.hessians[self.scheme.value])
        fresh_map = hessian_heatmap(shown["difference"], shown["labels"], "predicted − reference / eV Å⁻²",
                                    zmax=float(np.abs(shown["reference"]).max()))
        fresh_freq = frequency_figure(shown["reference_frequencies"], shown["predicted_frequencies"])
        with self.heatmap.batch_update():
            self.heatmap.data[0].update(fresh_map.data[0])
            self.heatmap.layout.update(fresh_map.layout)
        with self.spectrum.batch_update():
            for trace, fresh in zip(self.spectrum.data, fresh_freq.data):
                trace.update(x=fresh.x, y=fresh.y)
        self.summary.value = (f"Hessian MAE {shown['mae']:.3f} eV/Å²; colour scale ± the largest reference element, "
                              "so a pale map means small errors relative to the curvature itself")
