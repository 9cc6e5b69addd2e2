"""Figures and widgets of ensemble knowledge distillation: each teacher's force arrows on a molecule beside their
mean and the true forces, the spread of a high-level - low-level energy difference per molecule, the ensemble
spread against the true error (calibration), and MD time-to-failure histograms. The numbers come from
:mod:`mlip_lab.distill`; this module only picks and draws them."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from mlip_lab.data import Dataset, to_ase
from mlip_lab.distill import ForceLabels, TimeToFailure, calibration_curve, spearman
from mlip_lab.errors import MLIPLabError
from mlip_lab.viz.molecule import face_on
from mlip_lab.viz.ngl import add_arrows, ngl_view

TEACHER_COLORS = ("#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")  # cycled over teachers
MEAN_COLOR = "#2ca02c"
TRUE_COLOR = "#000000"  # element colours use red (O), blue (N), grey (C) and white (H): black and green stand out
MEAN, TRUE = "teachers' mean", "true"
TEACHER_RADIUS, MAIN_RADIUS = 0.05, 0.09  # Å: thin teachers, so the mean and the truth stay visible among them
LONGEST_ARROW = 2.0  # Å: the default scale draws the largest force of a configuration this long (beyond the balls)


class TeacherForces(widgets.VBox):
    """Pick a configuration and what to show: each teacher's force arrows on the molecule (nglview), the
    teachers' mean (the EKD label) and the true forces, so one sees where the teachers agree and where they fan out.

    dataset: the M configurations; labels: the teachers' :class:`~mlip_lab.distill.ForceLabels` on exactly that
    dataset; true_forces: (M, N, 3) eV/Å reference forces (default: ``dataset.forces``; None and no forces in the
    dataset: no "true" arrows); arrow_scale: Å of arrow per eV/Å (default: per configuration, so that its largest
    force is drawn :data:`LONGEST_ARROW` Å long). ``index`` and ``shown`` (names from ``options``) can be set.
    """

    def __init__(self, dataset: Dataset, labels: ForceLabels, true_forces=None, arrow_scale: float | None = None,
                 index: int = 0):
        if not isinstance(dataset, Dataset) or not isinstance(labels, ForceLabels):
            raise MLIPLabError("TeacherForces(dataset, labels) takes a mlip_lab.data.Dataset and the ForceLabels of "
                               "ensemble_force_labels(teachers, dataset)")
        if labels.species.shape != dataset.species.shape or not np.array_equal(labels.species, dataset.species):
            raise MLIPLabError("these labels were computed on another dataset; call "
                               "ensemble_force_labels(teachers, dataset) on the dataset shown")
        if true_forces is None:
            true_forces = dataset.forces
        if true_forces is not None:
            true_forces = np.asarray(true_forces, dtype=float)
            if true_forces.shape != labels.forces.shape:
                raise MLIPLabError(f"true_forces have shape {true_forces.shape}, expected {labels.forces.shape} "
                                   "(configurations, atoms, 3) like the dataset's")
        if arrow_scale is not None and not arrow_scale > 0:
            raise MLIPLabError(f"arrow_scale must be a positive number of Å per eV/Å, got {arrow_scale}")
        self.dataset, self.labels, self.true_forces, self.arrow_scale = dataset, labels, true_forces, arrow_scale
        n_teachers = labels.member_forces.shape[0]
        self.colors = {f"teacher {k + 1}": TEACHER_COLORS[k % len(TEACHER_COLORS)] for k in range(n_teachers)}
        self.colors[MEAN] = MEAN_COLOR
        if true_forces is not None:
            self.colors[TRUE] = TRUE_COLOR
        self.configuration = widgets.Dropdown(options=[(self._describe(i), i) for i in range(len(dataset))],
                                              value=self._checked_index(index), description="configuration",
                                              style={"description_width": "initial"},
                                              layout=widgets.Layout(width="420px"))
        self.chooser = widgets.SelectMultiple(options=list(self.colors), value=tuple(self.colors),
                                              rows=len(self.colors), description="show",
                                              layout=widgets.Layout(width="260px"))
        legend = " ".join(f'<span style="color:{c};font-weight:600">&#9632; {html.escape(name)}</span>'
                          for name, c in self.colors.items())
        self.summary = widgets.HTML()
        self._holder = widgets.Box()
        for control in (self.configuration, self.chooser):
            control.observe(lambda _: self.update(), names="value")
        super().__init__([widgets.HBox([self.configuration, self.chooser]), widgets.HTML(legend), self.summary,
                          self._holder])
        self.update()

    @property
    def options(self) -> tuple[str, ...]:
        """What can be shown: "teacher 1" ... "teacher K", the teachers' mean and (with true forces) "true"."""
        return tuple(self.colors)

    @property
    def index(self) -> int:
        return self.configuration.value

    @index.setter
    def index(self, i: int) -> None:
        self.configuration.value = self._checked_index(i)

    @property
    def shown(self) -> tuple[str, ...]:
        return tuple(self.chooser.value)

    @shown.setter
    def shown(self, names) -> None:
        names = (names,) if isinstance(names, str) else tuple(names)
        unknown = [name for name in names if name not in self.colors]
        if unknown:
            raise MLIPLabError(f"cannot show {unknown}; choose from {list(self.colors)}")
        self.chooser.value = names

    @property
    def view(self):
        """The nglview widget of the configuration shown (rebuilt when the choice changes)."""
        return self._holder.children[0]

    def forces_of(self, name: str, index: int | None = None) -> np.ndarray:
        """(n, 3) eV/Å forces of ``name`` (one of :attr:`options`) on the real atoms of configuration ``index``
        (default: the one shown)."""
        i = self.index if index is None else self._checked_index(index)
        n = int(self.dataset.n_atoms[i])
        if name == MEAN:
            return self.labels.forces[i, :n]
        if name == TRUE and self.true_forces is not None:
            return self.true_forces[i, :n]
        if name in self.colors:
            return self.labels.member_forces[int(name.split()[-1]) - 1, i, :n]
        raise MLIPLabError(f"no forces called {name!r}; choose from {list(self.colors)}")

    def update(self) -> None:
        """Redraw the molecule and the chosen arrows for the chosen configuration."""
        i = self.index
        atoms = to_ase(self.dataset.subset([i]))[0]
        rotation = face_on(atoms.positions)  # turned face-on, like every molecule view of the course
        centre = atoms.positions.mean(0)
        atoms.positions = (atoms.positions - centre) @ rotation
        scale = self.arrow_scale or LONGEST_ARROW / max(self._largest_force(i), 1e-12)
        view = ngl_view(atoms)
        for name in self.shown:
            radius = TEACHER_RADIUS if name.startswith("teacher ") else MAIN_RADIUS
            add_arrows(view, atoms.positions, scale * (self.forces_of(name, i) @ rotation), self.colors[name], radius)
        self._holder.children = [view]
        self.summary.value = self._summary(i, scale)

    def _largest_force(self, i: int) -> float:
        return max(float(np.linalg.norm(self.forces_of(name, i), axis=-1).max()) for name in self.colors)

    def _summary(self, i: int, scale: float) -> str:
        n = int(self.dataset.n_atoms[i])
        spread = float(np.sqrt(np.mean(self.labels.force_spread[i, :n] ** 2)))
        text = f"teachers' force spread (RMS over atoms) {spread:.3f} eV/Å"
        if self.true_forces is not None:
            miss = float(np.sqrt(np.mean(np.sum((self.labels.forces[i, :n] - self.true_forces[i, :n]) ** 2, -1))))
            text += f"; |mean − true| (RMS over atoms) {miss:.3f} eV/Å"
        return f"{text}; arrows {scale:.2g} Å per eV/Å"

    def _describe(self, i: int) -> str:
        temperature = self.dataset.temperature[i]
        extra = f", {temperature:.0f} K" if np.isfinite(temperature) else ""
        return f"{i}: {self.dataset.molecule[i]} ({self.dataset.category[i]}{extra})"

    def _checked_index(self, i) -> int:
        if not (isinstance(i, (int, np.integer)) and 0 <= i < len(self.dataset)):
            raise MLIPLabError(f"index must be a whole number in 0..{len(self.dataset) - 1}, got {i!r}")
        return int(i)


def level_difference_figure(difference, groups, unit: str = "kcal/mol",
                            title: str = "CCSD(T) − DFT, each molecule's mean removed") -> go.Figure:
    """One box per group (e.g. molecule) of ``difference`` (M,) values, e.g. a high-level minus low-level energy
    with each molecule's mean subtracted, so the boxes show how much the difference varies between geometries."""
    difference, groups = np.asarray(difference, dtype=float).reshape(-1), np.asarray(groups, dtype=str).reshape(-1)
    if difference.shape != groups.shape:
        raise MLIPLabError(f"give one group per value: {difference.size} values, {groups.size} groups")
    fig = go.Figure(layout=dict(title=title, yaxis_title=unit, height=360, width=640, showlegend=False,
                                margin=dict(l=60, r=10, t=40, b=40)))
    for group in dict.fromkeys(groups.tolist()):
        fig.add_box(y=difference[groups == group], name=group, boxpoints="outliers")
    return fig


def calibration_figure(spread, errors, n_bins: int = 10, unit: str = "eV/Å",
                       title: str = "ensemble spread vs true error") -> go.Figure:
    """Each (spread, |error|) pair as a faint point, the binned calibration curve (observed RMSE against RMS spread
    per bin of :func:`~mlip_lab.distill.calibration_curve`) and the ideal line observed = predicted; the Spearman
    rank correlation in the title. spread, errors: (K,) in ``unit``."""
    curve = calibration_curve(spread, errors, n_bins)
    spread, errors = np.asarray(spread, dtype=float).reshape(-1), np.abs(np.asarray(errors, dtype=float).reshape(-1))
    rho = spearman(spread, errors)
    fig = go.Figure(layout=dict(title=f"{title} (Spearman ρ = {rho:.2f})", xaxis_title=f"ensemble spread / {unit}",
                                yaxis_title=f"error / {unit}", height=400, width=520,
                                margin=dict(l=60, r=10, t=40, b=40), legend=dict(x=0.02, y=0.98)))
    fig.add_scatter(x=spread, y=errors, mode="markers", name="|error| of one value",
                    marker=dict(size=4, color="#7f7f7f", opacity=0.35))
    top = float(max(curve.spread_rms.max(), curve.observed_rmse.max()))
    fig.add_scatter(x=[0.0, top], y=[0.0, top], mode="lines", name="ideal (calibrated)",
                    line=dict(color="black", dash="dot"))
    fig.add_scatter(x=curve.spread_rms, y=curve.observed_rmse, mode="lines+markers", name="RMSE per bin of spread",
                    marker=dict(size=8, color="#d62728"), line=dict(color="#d62728"),
                    text=[f"{c} values" for c in curve.counts])
    return fig


def time_to_failure_figure(runs: dict, n_bins: int = 20, title: str = "MD time to failure") -> go.Figure:
    """Histograms of the failure times of several stability runs, ``{name: TimeToFailure}`` (same run length),
    with the replicas that survived the whole run (censored: their time to failure is unknown, only longer) as a
    separate hatched bar beyond the end of the run, never mixed with the failures."""
    if not runs or not all(isinstance(run, TimeToFailure) for run in runs.values()):
        raise MLIPLabError("give {name: TimeToFailure} from mlip_lab.distill.time_to_failure, at least one")
    durations = {run.duration for run in runs.values()}
    if len(durations) != 1:
        raise MLIPLabError(f"the runs have different lengths {sorted(durations)} fs; compare runs of one length")
    duration = durations.pop()
    edges = np.linspace(0.0, duration, int(n_bins) + 1)
    width = edges[1] - edges[0]
    first = next(iter(runs.values()))
    fig = go.Figure(layout=dict(title=f"{title} at {first.temperature:g} K", barmode="group", bargap=0.1,
                                xaxis_title="time to failure / fs", yaxis_title="replicas", height=380, width=680,
                                margin=dict(l=60, r=10, t=40, b=40)))
    for k, (name, run) in enumerate(runs.items()):
        color = ("#7f7f7f", "#2ca02c", "#1f77b4", "#d62728")[k % 4]
        counts, _ = np.histogram(run.times[run.failed], edges)
        median = f"> {duration:g}" if np.isinf(run.median) else f"{run.median:.0f}"
        # One offset group per run keeps its failures and its survivors side by side with the other runs'.
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, name=f"{name}: failed (median {median} fs)",
                    marker_color=color, legendgroup=name, offsetgroup=name)
        fig.add_bar(x=[duration + 1.5 * width], y=[int((~run.failed).sum())], legendgroup=name, offsetgroup=name,
                    name=f"{name}: survived all {duration:g} fs", marker=dict(color=color, pattern_shape="/"))
    fig.add_vline(x=duration, line_dash="dot", line_color="black", annotation_text="end of run")
    return fig
