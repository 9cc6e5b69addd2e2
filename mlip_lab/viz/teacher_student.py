"""Teacher-student views: the teacher-student gap widget (atoms coloured by |teacher - student| atomic energy,
with a parity plot of atomic energies that highlights the chosen configuration), and teacher vs student cost and
accuracy side by side.

Shapes: M configurations, N (padded) atoms; atomic energies (M, N) eV, zero or anything on padding (never shown).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from ase.data import chemical_symbols
from plotly.subplots import make_subplots

from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.viz.live import live_update
from mlip_lab.viz.molecule import molecule_view

MEV_PER_EV = 1000.0
MIB = 2**20
HIGHLIGHT = "#d62728"
GAP_LABEL = "|teacher − student| atomic energy / meV"


def atomic_energy_gaps(teacher_atomic, student_atomic, species) -> np.ndarray:
    """|teacher - student| atomic energy (M, N) in meV on real atoms, NaN on padding (species 0)."""
    teacher_atomic, student_atomic = np.asarray(teacher_atomic, float), np.asarray(student_atomic, float)
    gaps = np.abs(student_atomic - teacher_atomic) * MEV_PER_EV
    return np.where(np.asarray(species) > 0, gaps, np.nan)


def element_offsets(teacher_atomic, species) -> np.ndarray:
    """(M, N) eV: each atom's element mean of the teacher's atomic energies (0 on padding).

    Atomic energies are dominated by a constant per element (about -13.6 eV for H, -2000 eV for O), which would
    squeeze a parity plot into one dot per element; subtracting the same offset from teacher and student keeps
    the plot's distances from the diagonal and shows the environment-dependent part.
    """
    species, teacher_atomic = np.asarray(species), np.asarray(teacher_atomic, float)
    offsets = np.zeros(species.shape)
    for z in np.unique(species[species > 0]):
        offsets[species == z] = teacher_atomic[species == z].mean()
    return offsets


def _as_students(student_atomic) -> dict[str, np.ndarray]:
    if isinstance(student_atomic, dict):
        if not student_atomic:
            raise MLIPLabError("give at least one student's atomic energies, e.g. {'student': predictions.atomic_energies}")
        return {str(name): np.asarray(values, float) for name, values in student_atomic.items()}
    return {"student": np.asarray(student_atomic, float)}


class TeacherStudentGap(widgets.VBox):
    """Pick a configuration (and a student): the molecule with atoms coloured by |teacher - student| atomic energy
    (meV, colour bar beside it), and a parity plot of all atomic energies of ``dataset`` (student vs teacher, each
    minus the element's mean teacher value) with the chosen configuration's atoms highlighted.

    dataset: the configurations (any :class:`~mlip_lab.data.Dataset`); teacher_atomic: (M, N) eV, e.g.
    ``predict_dataset(teacher, dataset).atomic_energies``; student_atomic: (M, N) eV, or {name: (M, N)} for several
    students (a dropdown picks the one shown). The colour scale runs from 0 to the largest gap of any student on
    any configuration, so colours compare across configurations and students.

    Set :attr:`index` (the configuration) and :attr:`student` (its name) to change what is shown; :attr:`molecule`
    is the current :class:`~mlip_lab.viz.MoleculeView` and ``parity`` the plotly FigureWidget.
    """

    def __init__(self, dataset: Dataset, teacher_atomic, student_atomic, cmap: str = "Viridis"):
        if not isinstance(dataset, Dataset):
            raise MLIPLabError(f"dataset must be a mlip_lab.data.Dataset, got {type(dataset).__name__}")
        teacher_atomic = np.asarray(teacher_atomic, float)
        students = _as_students(student_atomic)
        for name, values in {"teacher": teacher_atomic, **students}.items():
            if values.shape != dataset.species.shape:
                raise MLIPLabError(f"the {name!r} atomic energies have shape {values.shape}, but the dataset's species "
                                   f"are {dataset.species.shape}; give one value per atom slot (M, N), e.g. "
                                   "predict_dataset(model, dataset).atomic_energies")
        self.dataset, self.teacher_atomic, self.students, self.cmap = dataset, teacher_atomic, students, cmap
        self.gaps = {name: atomic_energy_gaps(teacher_atomic, values, dataset.species) for name, values in students.items()}
        self.vmax = max(float(np.nanmax(g)) for g in self.gaps.values())
        self.offsets = element_offsets(teacher_atomic, dataset.species)
        self._real = dataset.species > 0

        options = [(self._describe(i), i) for i in range(len(dataset))]
        self.chooser = widgets.Dropdown(options=options, value=0, description="configuration",
                                        layout=widgets.Layout(width="420px"), style={"description_width": "initial"})
        self.student_chooser = widgets.Dropdown(options=list(students), description="student",
                                                layout=widgets.Layout(display="" if len(students) > 1 else "none"))
        self.summary = widgets.HTML()
        self._holder = widgets.Box()
        self.parity = go.FigureWidget(self._parity_figure())
        self.chooser.observe(lambda _: self._show(), names="value")
        self.student_chooser.observe(lambda _: self._show_student(), names="value")
        super().__init__([widgets.HBox([self.chooser, self.student_chooser]), self.summary,
                          widgets.HBox([self._holder, self.parity], layout=widgets.Layout(align_items="center"))])
        self._show_student()

    @property
    def index(self) -> int:
        """The configuration shown (0-based index into ``dataset``)."""
        return self.chooser.value

    @index.setter
    def index(self, i: int) -> None:
        if not (isinstance(i, (int, np.integer)) and not isinstance(i, bool) and 0 <= i < len(self.dataset)):
            raise MLIPLabError(f"index must be a whole number in 0..{len(self.dataset) - 1}, got {i!r}")
        self.chooser.value = int(i)

    @property
    def student(self) -> str:
        """The name of the student shown."""
        return self.student_chooser.value

    @student.setter
    def student(self, name: str) -> None:
        if name not in self.students:
            raise MLIPLabError(f"no student {name!r}; choose one of {list(self.students)}")
        self.student_chooser.value = name

    @property
    def molecule(self):
        """The :class:`~mlip_lab.viz.MoleculeView` of the configuration shown (rebuilt when it changes)."""
        return self._holder.children[0]

    def _describe(self, i: int) -> str:
        temperature = self.dataset.temperature[i]
        where = f", {temperature:.0f} K" if np.isfinite(temperature) else ""
        return f"{i}: {self.dataset.molecule[i]} ({self.dataset.category[i]}{where})"

    def _parity_figure(self) -> go.Figure:
        fig = go.Figure(layout=dict(width=460, height=400, margin=dict(l=70, r=10, t=40, b=50),
                                    xaxis_title="teacher atomic energy − element mean / eV",
                                    yaxis_title="student atomic energy − element mean / eV", yaxis_scaleanchor="x",
                                    legend=dict(orientation="h", y=-0.25)))
        shifted = (self.teacher_atomic - self.offsets)[self._real]
        ends = [float(shifted.min()), float(shifted.max())]
        fig.add_scatter(x=ends, y=ends, mode="lines", line=dict(color="grey", dash="dot"), name="ideal",
                        showlegend=False)
        species = self.dataset.species[self._real]
        for z in np.unique(species):
            fig.add_scatter(x=shifted[species == z], y=[], mode="markers", name=chemical_symbols[z],
                            marker=dict(size=4, opacity=0.45))
        fig.add_scatter(x=[], y=[], mode="markers+text", name="chosen configuration", textposition="top center",
                        marker=dict(size=11, color="rgba(0,0,0,0)", line=dict(color=HIGHLIGHT, width=2.5)))
        return fig

    def _show_student(self) -> None:
        shifted = (self.students[self.student] - self.offsets)[self._real]
        species = self.dataset.species[self._real]
        with live_update(self.parity):
            for trace, z in zip(self.parity.data[1:-1], np.unique(species)):
                trace.y = shifted[species == z]
        self._show()

    def _show(self) -> None:
        i, n = self.index, int(self.dataset.n_atoms[self.index])
        gaps = self.gaps[self.student][i, :n]
        self._holder.children = [molecule_view((self.dataset, i), values=gaps, label=GAP_LABEL, cmap=self.cmap,
                                               vmin=0.0, vmax=self.vmax)]
        teacher = self.teacher_atomic[i, :n] - self.offsets[i, :n]
        student = self.students[self.student][i, :n] - self.offsets[i, :n]
        labels = [f"{chemical_symbols[z]}{k + 1}" for k, z in enumerate(self.dataset.species[i, :n])]
        with live_update(self.parity):
            self.parity.data[-1].update(x=teacher, y=student, text=labels)
            self.parity.layout.title = f"atomic energies, {self.student}: configuration {i} circled"
        worst = int(np.argmax(gaps))
        energy_gap = abs(float(student.sum() - teacher.sum())) * MEV_PER_EV
        self.summary.value = html.escape(
            f"{self.student}, configuration {i}: largest atomic gap {gaps[worst]:.1f} meV on {labels[worst]}; "
            f"sum of the atomic gaps {gaps.sum():.1f} meV, gap of the total energy {energy_gap:.1f} meV "
            "(a total far smaller than the sum means the student splits the same energy differently among the atoms)")


def model_cost_figure(costs: dict, title: str = "cost in MD, measured on this machine") -> go.Figure:
    """Bars of parameters, MD speed (atom-steps/s) and peak memory of one force evaluation (MiB) side by side,
    one bar per model; costs: {name: :class:`~mlip_lab.distill.ModelCost`}."""
    if not costs:
        raise MLIPLabError("give at least one model's cost, e.g. {'teacher': model_cost(teacher, data)}")
    names = list(costs)
    panels = [("parameters", [c.parameters for c in costs.values()]),
              ("MD atom-steps / s", [c.atom_steps_per_s for c in costs.values()]),
              ("peak memory / MiB", [c.peak_memory / MIB for c in costs.values()])]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[p[0] for p in panels])
    for col, (_, values) in enumerate(panels, start=1):
        fig.add_bar(x=names, y=values, marker_color=["#444", "#1f77b4", "#ff7f0e", "#2ca02c"][: len(names)],
                    showlegend=False, row=1, col=col)
    fig.update_layout(title=title, width=900, height=340, margin=dict(l=50, r=10, t=70, b=40))
    return fig


def format_comparison(accuracy: dict, costs: dict, reference: str | None = None) -> str:
    """Plain-text table of models side by side: energy and force MAE (kcal/mol, kcal/mol/Å), atomic-energy MAE
    against the teacher (meV), parameters, MD speed and peak memory, with speed and memory also as ratios to
    ``reference`` (default: the first model).

    accuracy: {name: {"energy_mae", "force_mae" (kcal/mol units, e.g. the "all" row of
    :func:`~mlip_lab.train.error_table`), "atomic_energy_mae" (meV)}}; costs: {name: ModelCost}, same names.
    """
    if not accuracy or set(accuracy) != set(costs):
        raise MLIPLabError(f"accuracy and costs must name the same models, got {list(accuracy)} and {list(costs)}")
    reference = next(iter(costs)) if reference is None else reference
    if reference not in costs:
        raise MLIPLabError(f"no model {reference!r} to compare with; choose one of {list(costs)}")
    base = costs[reference]
    width = max(len(name) for name in costs) + 2
    ratio = f"x {reference}"[:10]
    lines = [f"{'model':<{width}}{'E MAE':>10}{'F MAE':>12}{'AE MAE':>8}{'params':>9}{'atom-steps/s':>14}{ratio:>11}"
             f"{'peak mem':>10}{ratio:>11}",
             f"{'':<{width}}{'kcal/mol':>10}{'kcal/mol/Å':>12}{'meV':>8}{'':>9}{'':>14}{'':>11}{'MiB':>10}"]
    for name, cost in costs.items():
        row = accuracy[name]
        lines.append(f"{name:<{width}}{row['energy_mae']:>10.3f}{row['force_mae']:>12.3f}{row['atomic_energy_mae']:>8.1f}"
                     f"{cost.parameters:>9,}{cost.atom_steps_per_s:>14.4g}{cost.atom_steps_per_s / base.atom_steps_per_s:>11.2f}"
                     f"{cost.peak_memory / MIB:>10.2f}{cost.peak_memory / base.peak_memory:>11.2f}")
    return "\n".join(lines)
