"""Coarse-graining views (lesson 07): the mapping widget (one molecule of an atomistic liquid with its beads and
mapped forces, for a centre-of-mass, centre-of-geometry or clicked-together map), RDFs of CG models against the
atomistic reference across temperatures, and the speed of CG MD. The numbers come from :mod:`mlip_lab.cg`; this
module only picks and draws them.

RDF curves are ``(r, g)`` pairs as :func:`mlip_lab.cg.radial_distribution` returns: bin centres (K,) Å and g (K,).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from ase import Atoms
from ase.data import chemical_symbols
from ase.data.colors import jmol_colors

from mlip_lab.cg import Mapping, rdf_error
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.viz.live import live_update
from mlip_lab.viz.ngl import add_arrows, add_spheres, ngl_view

COM, COG, GROUPS = "centre of mass", "centre of geometry", "groups"
MAPPING_KINDS = (COM, COG, GROUPS)
# Bead colours avoid the element colours of methanol (grey C, white H, red O), so beads stand out from atoms.
BEAD_COLORS = ("#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#1f77b4", "#8c564b")
BEAD_RADIUS, BEAD_OPACITY = 0.9, 0.35  # Å; translucent, so the atoms inside each bead stay visible
BEAD_ARROW_RADIUS, ATOM_ARROW_RADIUS = 0.1, 0.04  # Å: the mapped forces bold, the atomic forces thin
ATOM_FORCE_COLOR = "#404040"
LONGEST_ARROW = 2.0  # Å: the default scale draws the largest force shown this long
SPLIT_TOLERANCE = 1e-6  # Å: an atom moved more than this to make its molecule whole was across the box edge
REFERENCE_COLOR = "#000000"
MODEL_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")  # cycled over the CG models


class MappingView(widgets.VBox):
    """Pick a molecule of an atomistic periodic frame and a mapping, and see the beads over the atoms (nglview):
    translucent spheres at the bead positions, bold arrows of the mapped forces and, on request, thin arrows of the
    atomic forces, with each bead's mass (amu) and |mapped force| (eV/Å) in a line of text.

    Mappings: "centre of mass", "centre of geometry" (one bead per molecule), or "groups": clicking an atom in the
    view puts it into the current group (clicking it again takes it out), "new group" starts the next bead and
    "clear" starts over. Groups that leave atoms out show the mapping's own message instead of beads.

    atomic_numbers, masses: (A,) of one molecule (amu), the same for every molecule; positions: (n_atoms, 3) Å
    and forces: (n_atoms, 3) eV/Å of one frame, n_atoms = n_molecules * A, atoms stored molecule after molecule
    (molecules may be split across the box edge: they are shown whole); cell: (3, 3) Å, lattice vectors as
    rows, periodic along all axes. arrow_scale: Å of arrow per eV/Å (default: the largest force shown is drawn
    :data:`LONGEST_ARROW` Å long). :attr:`molecule`, :attr:`mapping_kind`, :attr:`groups` and
    :attr:`show_atomic_forces` can be set; :meth:`pick` is what a click does.
    """

    def __init__(self, atomic_numbers, masses, positions, forces, cell, n_molecules: int, molecule: int = 0,
                 mapping_kind: str = COM, arrow_scale: float | None = None):
        numbers = np.asarray(atomic_numbers)
        if numbers.ndim != 1 or numbers.size == 0 or not np.issubdtype(numbers.dtype, np.integer):
            raise MLIPLabError(f"atomic_numbers must be the (atoms_per_molecule,) integers of one molecule, got "
                               f"{atomic_numbers!r}")
        positions = np.asarray(positions, dtype=float)
        if positions.ndim != 2:
            raise MLIPLabError(f"positions must be one frame, (n_atoms, 3) Å, got shape {positions.shape}")
        masses = np.asarray(masses, dtype=float)
        if masses.shape != numbers.shape:
            raise MLIPLabError(f"got masses of shape {masses.shape} for a molecule of {numbers.size} atoms; give one "
                               "mass (amu) per atom of one molecule")
        forces = np.asarray(forces, dtype=float)
        if forces.shape != positions.shape:
            raise MLIPLabError(f"forces have shape {forces.shape}, positions {positions.shape}; give one force "
                               "(eV/Å) per atom")
        if arrow_scale is not None and not arrow_scale > 0:
            raise MLIPLabError(f"arrow_scale must be a positive number of Å per eV/Å, got {arrow_scale}")
        # Each atom its own bead: this identity map returns every molecule made whole by the same minimum-image
        # rule that places the beads (and checks masses, atom count and cell against the topology).
        identity = Mapping(np.eye(numbers.size), masses, n_molecules)
        self._whole = identity.map_positions(positions, cell, wrap=False).reshape(n_molecules, numbers.size, 3)
        self.atomic_numbers, self.masses = numbers, masses
        self.cell, self.arrow_scale = np.asarray(cell, dtype=float), arrow_scale
        self._positions = positions.reshape(self._whole.shape)
        self._forces = forces.reshape(self._whole.shape)
        split = np.abs(self._whole - self._positions).max(axis=(1, 2)) > SPLIT_TOLERANCE
        self._groups: list[list[int]] = [[]]
        self._shown: dict = {}

        self.chooser = widgets.Dropdown(
            options=[(f"molecule {m}" + (" (split across the box edge)" if split[m] else ""), m)
                     for m in range(n_molecules)],
            value=self._checked_molecule(molecule), description="molecule", layout=widgets.Layout(width="340px"))
        self.kind = widgets.ToggleButtons(options=MAPPING_KINDS, value=self._checked_kind(mapping_kind),
                                          description="mapping")
        self.new_group_button = widgets.Button(description="new group", icon="plus")
        self.clear_button = widgets.Button(description="clear", icon="eraser")
        self.atomic_forces = widgets.Checkbox(value=False, description="atomic forces (thin arrows)",
                                              style={"description_width": "initial"})
        self.groups_text = widgets.HTML()
        self.summary = widgets.HTML()
        self._holder = widgets.Box()
        self.chooser.observe(lambda _: self._redraw(keep_camera=False), names="value")
        for control in (self.kind, self.atomic_forces):
            control.observe(lambda _: self._redraw(), names="value")
        self.new_group_button.on_click(lambda _: self.new_group())
        self.clear_button.on_click(lambda _: self.clear())
        super().__init__([widgets.HBox([self.chooser, self.kind]),
                          widgets.HBox([self.new_group_button, self.clear_button, self.atomic_forces]),
                          self.groups_text, self._holder, self.summary])
        self._redraw(keep_camera=False)

    @classmethod
    def from_dataset(cls, frames: Dataset, index: int = 0, **options) -> "MappingView":
        """The view of frame ``index`` of atomistic periodic ``frames`` (e.g. the shipped
        ``cg_methanol_atomistic`` data), whose ``metadata["topology"]`` gives ``atomic_numbers_per_molecule``,
        ``masses_per_molecule`` (amu) and ``n_molecules``; ``options`` go to :class:`MappingView`."""
        if not isinstance(frames, Dataset):
            raise MLIPLabError(f"frames must be a mlip_lab.data.Dataset of atomistic frames, got {type(frames).__name__}")
        topology = frames.metadata.get("topology", {})
        missing = [key for key in ("atomic_numbers_per_molecule", "masses_per_molecule", "n_molecules")
                   if key not in topology]
        if missing:
            raise MLIPLabError(f"{frames.name or 'the dataset'} has no {missing} in metadata['topology']; build the "
                               "view with MappingView(atomic_numbers, masses, positions, forces, cell, n_molecules)")
        if frames.forces is None or frames.cells is None:
            raise MLIPLabError("the mapping view needs periodic frames with forces (cells and forces in the dataset)")
        if not (isinstance(index, (int, np.integer)) and 0 <= index < len(frames)):
            raise MLIPLabError(f"index must be a whole number in 0..{len(frames) - 1}, got {index!r}")
        n = int(frames.n_atoms[index])
        return cls(np.asarray(topology["atomic_numbers_per_molecule"]), topology["masses_per_molecule"],
                   frames.positions[index, :n], frames.forces[index, :n], frames.cells[index],
                   int(topology["n_molecules"]), **options)

    # ------------------------------------------------------------------ what can be set
    @property
    def molecule(self) -> int:
        """Index of the molecule shown."""
        return self.chooser.value

    @molecule.setter
    def molecule(self, m: int) -> None:
        self.chooser.value = self._checked_molecule(m)

    @property
    def mapping_kind(self) -> str:
        """One of :data:`MAPPING_KINDS`."""
        return self.kind.value

    @mapping_kind.setter
    def mapping_kind(self, kind: str) -> None:
        self.kind.value = self._checked_kind(kind)

    @property
    def groups(self) -> list[list[int]]:
        """The atom groups (indices inside one molecule, from 0) of the "groups" mapping, one per bead; the last
        one is the group that clicks go into (empty right after "new group" or "clear")."""
        return [list(group) for group in self._groups]

    @groups.setter
    def groups(self, groups) -> None:
        """Set the groups (and switch to the "groups" mapping), e.g. ``[[0, 1, 2, 3], [4, 5]]``."""
        try:
            checked = [[self._checked_atom(atom) for atom in group] for group in groups]
        except TypeError:
            raise MLIPLabError(f"groups must be a list of lists of atom indices, e.g. [[0, 1, 2, 3], [4, 5]], got "
                               f"{groups!r}") from None
        self._groups = [group for group in checked if group] or [[]]
        self._redraw_as_groups()

    @property
    def show_atomic_forces(self) -> bool:
        return self.atomic_forces.value

    @show_atomic_forces.setter
    def show_atomic_forces(self, show: bool) -> None:
        self.atomic_forces.value = bool(show)

    def pick(self, atom: int) -> None:
        """What clicking atom ``atom`` (index inside the molecule) does in the "groups" mapping: put it into the
        current group, or take it out if it is already there; an atom of an earlier group moves to the current one."""
        if self.mapping_kind != GROUPS:
            raise MLIPLabError(f"atoms are picked into groups only with the {GROUPS!r} mapping; set "
                               f"mapping_kind = {GROUPS!r} first")
        atom = self._checked_atom(atom)
        current = self._groups[-1]
        if atom in current:
            current.remove(atom)
        else:
            for group in self._groups:
                if atom in group:
                    group.remove(atom)
            current.append(atom)
        # Keep every group but the current one non-empty, so group k is bead k.
        self._groups = [group for group in self._groups[:-1] if group] + [current]
        self._redraw()

    def new_group(self) -> None:
        """Start the next group (bead); does nothing while the current group is still empty."""
        if self._groups[-1]:
            self._groups.append([])
        self._redraw_as_groups()

    def clear(self) -> None:
        """Forget all groups."""
        self._groups = [[]]
        self._redraw_as_groups()

    # ------------------------------------------------------------------ what is shown
    @property
    def view(self):
        """The nglview widget of the molecule shown (rebuilt when anything changes)."""
        return self._holder.children[0]

    @property
    def mapping(self) -> Mapping | None:
        """The :class:`~mlip_lab.cg.Mapping` of one molecule that is shown, or None with :attr:`message` saying why."""
        return self._shown["mapping"]

    @property
    def message(self) -> str:
        """Why no beads are shown ("" when they are)."""
        return self._shown["message"]

    @property
    def atom_positions(self) -> np.ndarray:
        """(A, 3) Å: the atoms of the molecule shown, made whole."""
        return self._whole[self.molecule].copy()

    @property
    def beads(self) -> np.ndarray:
        """(beads_per_molecule, 3) Å: the bead positions shown, next to the whole molecule; (0, 3) without beads."""
        return self._shown["beads"].copy()

    @property
    def bead_forces(self) -> np.ndarray:
        """(beads_per_molecule, 3) eV/Å: the mapped force of each bead shown."""
        return self._shown["forces"].copy()

    @property
    def bead_masses(self) -> np.ndarray:
        """(beads_per_molecule,) amu."""
        return self._shown["masses"].copy()

    # ------------------------------------------------------------------ drawing
    def _current_mapping(self) -> tuple[Mapping | None, str]:
        kind, n_atoms = self.mapping_kind, self.atomic_numbers.size
        if kind == COM:
            return Mapping.centre_of_mass(self.masses, 1), ""
        if kind == COG:
            return Mapping.centre_of_geometry(n_atoms, 1, self.masses), ""
        groups = [group for group in self._groups if group]
        if not groups:
            return None, "click atoms in the view to put them into the first bead; 'new group' starts the next bead"
        try:
            return Mapping.from_groups(groups, self.masses, 1), ""
        except MLIPLabError as error:  # a half-finished map is a normal state while clicking: say what is missing
            return None, str(error)

    def _redraw_as_groups(self) -> None:
        if self.mapping_kind == GROUPS:
            self._redraw()
        else:
            self.mapping_kind = GROUPS  # redraws through the toggle's observer

    def _redraw(self, keep_camera: bool = True) -> None:
        m = self.molecule
        mapping, message = self._current_mapping()
        if mapping is None:
            beads, forces, masses = np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)
        else:
            # The library's periodic-aware map of the raw (possibly split) molecule; wrap=False keeps each bead
            # next to the molecule's first atom, where the whole molecule is drawn.
            beads = mapping.map_positions(self._positions[m], self.cell, wrap=False)
            forces, masses = mapping.map_forces(self._forces[m]), mapping.bead_masses
        self._shown = dict(mapping=mapping, message=message, beads=beads, forces=forces, masses=masses)

        atoms = Atoms(numbers=self.atomic_numbers, positions=self._whole[m])
        view = ngl_view(atoms, atom_colors=self._atom_colors())
        shown_forces = [forces] + ([self._forces[m]] if self.show_atomic_forces else [])
        largest = max(float(np.linalg.norm(f, axis=-1).max(initial=0.0)) for f in shown_forces)
        scale = self.arrow_scale or LONGEST_ARROW / max(largest, 1e-12)
        colors = [BEAD_COLORS[k % len(BEAD_COLORS)] for k in range(len(beads))]
        add_spheres(view, beads, colors, BEAD_RADIUS, BEAD_OPACITY)
        for k, color in enumerate(colors):
            add_arrows(view, beads[k:k + 1], scale * forces[k:k + 1], color, BEAD_ARROW_RADIUS)
        if self.show_atomic_forces:
            add_arrows(view, self._whole[m], scale * self._forces[m], ATOM_FORCE_COLOR, ATOM_ARROW_RADIUS)
        if keep_camera and self._holder.children and self._holder.children[0]._camera_orientation:
            # Same molecule, new drawing: keep the student's rotation and zoom (nglview syncs it from the browser).
            view._set_camera_orientation(self._holder.children[0]._camera_orientation)
        view.observe(self._on_picked, names="picked")
        self._holder.children = [view]
        self.groups_text.value = self._groups_html()
        self.summary.value = self._summary_html(scale)
        for button in (self.new_group_button, self.clear_button):
            button.disabled = self.mapping_kind != GROUPS

    def _on_picked(self, change) -> None:
        """nglview reports a click as {"atom1": {"index": i, ...}, "component": c}; a bond click adds "atom2"."""
        picked = change["new"]
        if self.mapping_kind != GROUPS or "atom1" not in picked or "atom2" in picked or picked.get("component", 0) != 0:
            return
        self.pick(int(picked["atom1"]["index"]))

    def _atom_colors(self) -> list[str]:
        """Element colours, except that in the "groups" mapping each grouped atom takes its bead's colour."""
        colors = ["#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in jmol_colors[z]))
                  for z in self.atomic_numbers]
        if self.mapping_kind == GROUPS:
            for k, group in enumerate(self._groups):
                for atom in group:
                    colors[atom] = BEAD_COLORS[k % len(BEAD_COLORS)]
        return colors

    def _atom_name(self, atom: int) -> str:
        return f"{chemical_symbols[self.atomic_numbers[atom]]}{atom}"

    def _groups_html(self) -> str:
        if self.mapping_kind != GROUPS:
            return "choose 'groups' to build beads by clicking atoms"
        parts = []
        for k, group in enumerate(self._groups):
            color = BEAD_COLORS[k % len(BEAD_COLORS)]
            current = " (clicks go here)" if k == len(self._groups) - 1 else ""
            atoms = " ".join(self._atom_name(a) for a in group) or "—"
            parts.append(f'<span style="color:{color};font-weight:600">bead {k + 1}{current}:</span> {html.escape(atoms)}')
        return " · ".join(parts)

    def _summary_html(self, scale: float) -> str:
        if self.message:
            return f'<span style="color:#d62728">{html.escape(self.message)}</span>'
        beads = "; ".join(f"bead {k + 1}: {mass:.3f} amu, |F| {np.linalg.norm(force):.3f} eV/Å"
                          for k, (mass, force) in enumerate(zip(self._shown["masses"], self._shown["forces"])))
        return html.escape(f"{beads} (arrows {scale:.2g} Å per eV/Å)")

    def _checked_molecule(self, m) -> int:
        n = len(self._whole)
        if not (isinstance(m, (int, np.integer)) and not isinstance(m, bool) and 0 <= m < n):
            raise MLIPLabError(f"molecule must be a whole number in 0..{n - 1}, got {m!r}")
        return int(m)

    def _checked_kind(self, kind) -> str:
        if kind not in MAPPING_KINDS:
            raise MLIPLabError(f"unknown mapping {kind!r}; choose one of {list(MAPPING_KINDS)}")
        return kind

    def _checked_atom(self, atom) -> int:
        n = self.atomic_numbers.size
        if not (isinstance(atom, (int, np.integer)) and not isinstance(atom, bool) and 0 <= atom < n):
            raise MLIPLabError(f"atoms are numbered 0..{n - 1} inside the molecule, got {atom!r}")
        return int(atom)


# ---------------------------------------------------------------------- RDFs
def _curve(label: str, curve) -> tuple[np.ndarray, np.ndarray]:
    """(r, g) checked: two (K,) arrays."""
    try:
        r, g = (np.asarray(values, dtype=float) for values in curve)
    except (TypeError, ValueError):
        raise MLIPLabError(f"the {label!r} RDF must be an (r, g) pair of arrays, as radial_distribution returns") from None
    if r.ndim != 1 or r.size == 0 or g.shape != r.shape:
        raise MLIPLabError(f"the {label!r} RDF has r of shape {r.shape} and g of shape {g.shape}; give two (K,) arrays")
    return r, g


def _model_colors(labels, reference_label: str | None) -> dict[str, str]:
    models = [label for label in labels if label != reference_label]
    colors = {label: MODEL_COLORS[k % len(MODEL_COLORS)] for k, label in enumerate(models)}
    if reference_label is not None:
        colors[reference_label] = REFERENCE_COLOR
    return colors


def rdf_figure(curves: dict, title: str = "radial distribution function",
               reference_label: str | None = None) -> go.Figure:
    """One line per RDF, ``curves`` {label: (r, g)} (r Å), with ``reference_label`` (e.g. the atomistic RDF)
    drawn first as a thick black line under the others, and g = 1 (no correlation) dotted."""
    if not isinstance(curves, dict) or not curves:
        raise MLIPLabError("give the RDFs as {label: (r, g)}, at least one")
    if reference_label is not None and reference_label not in curves:
        raise MLIPLabError(f"no RDF called {reference_label!r} to use as the reference; got {list(curves)}")
    checked = {str(label): _curve(str(label), curve) for label, curve in curves.items()}
    colors = _model_colors(checked, reference_label)
    order = ([reference_label] if reference_label is not None else []) + [k for k in checked if k != reference_label]
    fig = go.Figure(layout=dict(title=title, xaxis_title="r / Å", yaxis_title="g(r)", height=380, width=620,
                                margin=dict(l=60, r=10, t=40, b=40), legend=dict(x=0.98, xanchor="right", y=0.98)))
    for label in order:
        r, g = checked[label]
        width = 4 if label == reference_label else 2
        fig.add_scatter(x=r, y=g, mode="lines", name=label, line=dict(color=colors[label], width=width))
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    return fig


class TransferabilityView(widgets.VBox):
    """A temperature slider over RDFs: at each temperature the atomistic reference and every CG model's RDF in one
    plotly FigureWidget (updated in place), and a line with each model's RDF error there
    (:func:`mlip_lab.cg.rdf_error`, integral of |g_model - g_reference| dr, Å) against its error at the training
    temperature.

    rdfs: {temperature K: {label: (r, g)}}, the same labels (the reference and at least one model) at every
    temperature, all on one r grid; reference_label: the atomistic curve's label; training_temperature: K, one of
    the temperatures; r_max: Å, upper end of the error integral (default: the whole grid). :attr:`temperature`
    can be set; :attr:`errors` ({model: {temperature: Å}}) is what :func:`rdf_error_figure` draws.
    """

    def __init__(self, rdfs: dict, reference_label: str, training_temperature: float, r_max: float | None = None,
                 title: str = "g(r) of the CG models and the atomistic reference"):
        self.rdfs = _checked_rdfs(rdfs, reference_label)
        self.reference_label, self.title = reference_label, title
        self.training_temperature = self._checked_temperature(training_temperature, "training_temperature")
        models = [label for label in next(iter(self.rdfs.values())) if label != reference_label]
        self.errors = {label: {t: rdf_error(*curves[label], curves[reference_label][1], r_max)
                               for t, curves in self.rdfs.items()} for label in models}
        self.slider = widgets.SelectionSlider(options=[(f"{t:g} K", t) for t in self.rdfs],
                                              value=self.training_temperature, description="temperature",
                                              continuous_update=False, layout=widgets.Layout(width="420px"))
        self.figure = go.FigureWidget(rdf_figure(self.rdfs[self.training_temperature], title, reference_label))
        self.summary = widgets.HTML()
        self.slider.observe(lambda _: self._show(), names="value")
        super().__init__([self.slider, self.figure, self.summary])
        self._show()

    @property
    def temperature(self) -> float:
        """The temperature shown, K."""
        return self.slider.value

    @temperature.setter
    def temperature(self, t: float) -> None:
        self.slider.value = self._checked_temperature(t, "temperature")

    def _show(self) -> None:
        t, curves = self.temperature, self.rdfs[self.temperature]
        training = self.training_temperature
        trained = "the training temperature" if t == training else f"trained at {training:g} K"
        with live_update(self.figure):
            for trace in self.figure.data:
                trace.x, trace.y = curves[trace.name]
            self.figure.layout.title = f"{self.title}, {t:g} K ({trained})"
        parts = []
        for label, errors in self.errors.items():
            ratio = errors[t] / errors[training] if errors[training] > 0 else np.inf
            parts.append(f"{label} {errors[t]:.3f} Å ({ratio:.2g}× its error at {training:g} K)")
        self.summary.value = html.escape(f"RDF error ∫|g − g_{self.reference_label}| dr at {t:g} K ({trained}): "
                                         + "; ".join(parts))

    def _checked_temperature(self, t, what: str) -> float:
        try:
            value = float(t)
        except (TypeError, ValueError):
            value = None
        if value not in self.rdfs:
            raise MLIPLabError(f"{what} {t!r} K has no RDFs; choose one of {[f'{k:g}' for k in self.rdfs]} K")
        return value


def _checked_rdfs(rdfs, reference_label: str) -> dict[float, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """{temperature: {label: (r, g)}} with float temperatures in increasing order, checked: the same labels (the
    reference and at least one model) everywhere, every curve on the first reference curve's r grid."""
    if not isinstance(rdfs, dict) or not rdfs or not all(isinstance(c, dict) for c in rdfs.values()):
        raise MLIPLabError("give the RDFs as {temperature K: {label: (r, g)}}, at least one temperature")
    temperatures = sorted(float(t) for t in rdfs)
    if len(set(temperatures)) != len(rdfs):
        raise MLIPLabError(f"temperatures {list(rdfs)} repeat a value; give each temperature once")
    by_temperature = {float(t): curves for t, curves in rdfs.items()}
    labels = list(by_temperature[temperatures[0]])
    if reference_label not in labels or len(labels) < 2:
        raise MLIPLabError(f"each temperature needs the reference {reference_label!r} and at least one CG model; "
                           f"got {labels} at {temperatures[0]:g} K")
    grid = None
    checked = {}
    for t in temperatures:
        curves = by_temperature[t]
        if set(curves) != set(labels):
            raise MLIPLabError(f"the RDFs at {t:g} K are {sorted(curves)}, at {temperatures[0]:g} K {sorted(labels)}; "
                               "give the same curves at every temperature")
        checked[t] = {label: _curve(label, curves[label]) for label in labels}
        for label, (r, _) in checked[t].items():
            grid = r if grid is None else grid
            if r.shape != grid.shape or not np.allclose(r, grid):
                raise MLIPLabError(f"the {label!r} RDF at {t:g} K is on another r grid ({r.size} bins up to "
                                   f"{r[-1]:.4g} Å) than the first ({grid.size} bins up to {grid[-1]:.4g} Å); compute "
                                   "every RDF with the same r_max and n_bins")
    return checked


def rdf_error_figure(errors: dict, training_temperature: float,
                     title: str = "RDF error of each CG model across temperatures") -> go.Figure:
    """Each model's RDF error (Å) against temperature (K), ``errors`` {label: {temperature: error}} (e.g.
    :attr:`TransferabilityView.errors`), with the training temperature marked."""
    if not isinstance(errors, dict) or not errors or not all(isinstance(e, dict) and e for e in errors.values()):
        raise MLIPLabError("give the errors as {model: {temperature K: RDF error Å}}, at least one of each")
    temperatures = {float(t) for by_t in errors.values() for t in by_t}
    if float(training_temperature) not in temperatures:
        raise MLIPLabError(f"training_temperature {training_temperature} K is not among the temperatures "
                           f"{sorted(temperatures)} K of the errors")
    colors = _model_colors(errors, None)
    fig = go.Figure(layout=dict(title=title, xaxis_title="temperature / K", yaxis_title="∫|g − g_ref| dr / Å",
                                yaxis_rangemode="tozero", height=360, width=560, margin=dict(l=60, r=10, t=40, b=40)))
    for label, by_t in errors.items():
        ts = sorted(by_t, key=float)
        values = np.asarray([by_t[t] for t in ts], dtype=float)
        if not np.isfinite(values).all() or (values < 0).any():
            raise MLIPLabError(f"the errors of {label!r} must be finite and non-negative (Å), got {values.tolist()}")
        fig.add_scatter(x=[float(t) for t in ts], y=values, mode="lines+markers", name=label,
                        line=dict(color=colors[label]))
    fig.add_vline(x=float(training_temperature), line_dash="dot", line_color="black", annotation_text="training")
    return fig


def cg_speed_figure(ps_per_hour: dict, title: str = "simulated time per wall-clock hour") -> go.Figure:
    """Bars (log scale) of simulated ps per wall-clock hour, ``ps_per_hour`` {label: ps/h} (e.g. atomistic OpenMM,
    then the CG models; :attr:`mlip_lab.cg.CGTrajectory.simulated_ps_per_hour`), each bar labelled with its ratio to
    the first."""
    if not isinstance(ps_per_hour, dict) or not ps_per_hour:
        raise MLIPLabError("give the speeds as {label: simulated ps per hour}, the reference (e.g. atomistic) first")
    labels = [str(label) for label in ps_per_hour]
    values = np.asarray(list(ps_per_hour.values()), dtype=float)
    if not np.isfinite(values).all() or (values <= 0).any():
        raise MLIPLabError(f"simulated ps per hour must be positive numbers, got {dict(zip(labels, values.tolist()))}")
    ratios = values / values[0]
    fig = go.Figure(layout=dict(title=title, yaxis_type="log", yaxis_title="simulated ps per hour (log scale)",
                                height=360, width=520, margin=dict(l=70, r=10, t=40, b=40), showlegend=False))
    fig.add_bar(x=labels, y=values, text=[f"{ratio:.3g}× {labels[0]}" for ratio in ratios], textposition="outside",
                hovertext=[f"{v:.4g} ps/h" for v in values],
                marker_color=[REFERENCE_COLOR] + [MODEL_COLORS[k % len(MODEL_COLORS)] for k in range(len(labels) - 1)])
    return fig
