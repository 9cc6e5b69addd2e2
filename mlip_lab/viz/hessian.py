"""Figures and widgets for curvature: Hessian heatmaps, animated normal modes, probe arrows, Hutchinson
convergence, cost curves and a predicted-vs-reference Hessian explorer. Numbers come from
:mod:`mlip_lab.physics` and :mod:`mlip_lab.train`; this module only picks and draws them."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from ase.data import chemical_symbols

from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics import harmonic_analysis, masses_of, mode_frames
from mlip_lab.train import real_block
from mlip_lab.viz.live import live_update
from mlip_lab.viz.molecule import as_atoms, face_on
from mlip_lab.viz.ngl import ngl_view

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


class NormalModeView(widgets.VBox):
    """The VBox :func:`normal_mode_view` returns: a dropdown of the modes (``chooser``), the molecule vibrating
    along the chosen one (``view``, an nglview trajectory, rebuilt when the mode changes) and a ``play`` control.
    ``mode`` (0-based, ascending frequency) is the mode shown; set it to show another."""

    def __init__(self, atoms, analysis, mode: int | None, amplitude: float, n_frames: int):
        frequencies = analysis.frequencies_cm.tolist()
        options = [(f"mode {k + 1}: {f:.0f} cm⁻¹{' (imaginary)' if f < 0 else ''}", k)
                   for k, f in enumerate(frequencies)]
        mode = len(options) - 1 if mode is None else mode
        _check_mode(mode, len(options))
        self.atoms, self.analysis, self.amplitude, self.n_frames = atoms, analysis, amplitude, n_frames
        self.rotation = face_on(atoms.positions)
        self.chooser = widgets.Dropdown(options=options, value=mode, description="mode")
        self.play = widgets.Play(min=0, max=n_frames - 1, interval=50, repeat=True, description="play")
        self._holder = widgets.Box()
        self.chooser.observe(lambda change: self._show(change["new"]), names="value")
        super().__init__([self.chooser, self._holder, self.play])
        self._show(mode)

    @property
    def mode(self) -> int:
        return self.chooser.value

    @mode.setter
    def mode(self, k: int) -> None:
        _check_mode(k, len(self.chooser.options))
        self.chooser.value = k

    @property
    def view(self):
        return self._holder.children[0]

    def _show(self, k: int) -> None:
        centred = (self.atoms.positions - self.atoms.positions.mean(0)) @ self.rotation
        direction = self.analysis.modes_cartesian[k].numpy() @ self.rotation
        frames = []
        for positions in mode_frames(centred, direction, self.amplitude, self.n_frames).numpy():
            frame = self.atoms.copy()
            frame.positions = positions
            frames.append(frame)
        view = ngl_view(frames)
        widgets.jslink((self.play, "value"), (view, "frame"))
        self._holder.children = [view]


def _check_mode(k, n_modes: int) -> None:
    if not (isinstance(k, (int, np.integer)) and 0 <= k < n_modes):
        raise MLIPLabError(f"mode must be a whole number in 0..{n_modes - 1} (0 is the lowest frequency), got {k!r}")


def normal_mode_view(atoms_or_dataset_row, analysis, mode: int | None = None, amplitude: float = 0.35,
                     n_frames: int = 24) -> NormalModeView:
    """A :class:`NormalModeView`: pick a mode from a dropdown and watch the molecule vibrate along it.

    analysis: the :class:`~mlip_lab.physics.HarmonicAnalysis` of this molecule; mode: the mode shown first
    (0-based in ascending frequency, so 0 is an imaginary mode when there is one; default: the highest);
    amplitude: the largest displacement in Å; n_frames: frames per vibration period.
    """
    return NormalModeView(as_atoms(atoms_or_dataset_row), analysis, mode, amplitude, n_frames)


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


def coordinate_labels(species) -> list[str]:
    """["O1 x", "O1 y", ..., "H3 z"]: axis labels for the 3n real Cartesian coordinates of one configuration
    (species (N,) atomic numbers, 0 = padding)."""
    real = [int(z) for z in np.asarray(species) if z > 0]
    return [f"{chemical_symbols[z]}{i + 1} {axis}" for i, z in enumerate(real) for axis in "xyz"]


def hessian_comparison(dataset: Dataset, index: int, hessians: np.ndarray) -> dict:
    """Everything :class:`HessianExplorer` shows for configuration ``index`` of ``dataset`` (with reference
    Hessians) given predicted (M, 3N, 3N) ``hessians``: ``reference``, ``predicted`` and ``difference``
    (predicted - reference) real blocks (3n, 3n) eV/Å², ``reference_frequencies`` and ``predicted_frequencies``
    (cm^-1), coordinate ``labels``, and ``mae`` eV/Å²."""
    if not 0 <= index < len(dataset):
        raise MLIPLabError(f"index must be in 0..{len(dataset) - 1}, got {index}")
    n = int(dataset.n_atoms[index])
    reference, predicted = real_block(dataset.hessians[index], n), real_block(hessians[index], n)
    positions, masses = dataset.positions[index], masses_of(dataset.species[index])
    return {
        "reference": reference, "predicted": predicted, "difference": predicted - reference,
        "reference_frequencies": harmonic_analysis(dataset.hessians[index], positions, masses).frequencies_cm.numpy(),
        "predicted_frequencies": harmonic_analysis(hessians[index], positions, masses).frequencies_cm.numpy(),
        "labels": coordinate_labels(dataset.species[index]),
        "mae": float(np.abs(predicted - reference).mean()),
    }


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
        with live_update(self.heatmap):
            self.heatmap.data[0].update(fresh_map.data[0])
            self.heatmap.layout.update(fresh_map.layout)
        with live_update(self.spectrum):
            for trace, fresh in zip(self.spectrum.data, fresh_freq.data):
                trace.update(x=fresh.x, y=fresh.y)
        self.summary.value = (f"Hessian MAE {shown['mae']:.3f} eV/Å²; colour scale ± the largest reference element, "
                              "so a pale map means small errors relative to the curvature itself")
