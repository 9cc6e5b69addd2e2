"""Coarse-graining views without a browser: the mapping widget draws the library's beads (whole-molecule centres,
also for a molecule split across the box edge), clicks build groups, half-finished groups get the mapping's own
message; the RDF figures and the temperature slider show the library's RDF errors; the speed figure its ratios."""

import numpy as np
import pytest

from mlip_lab.cg import rdf_error
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics import masses_of

viz = pytest.importorskip("mlip_lab.viz")
from mlip_lab.viz import cg as cg_views  # noqa: E402  (after the skip: needs the [lab] extra)
from tests.conftest import GEOMETRIES  # noqa: E402

METHANOL = GEOMETRIES["methanol"][0]
TEMPLATE = np.array(GEOMETRIES["methanol"][1])
MASSES = masses_of(METHANOL)
BOX = 10.0  # Å
CELL = np.diag([BOX, BOX, BOX])
# Molecule 1 sits on the y = 0 face: its carbon stays at y = 0.96 Å, its O-H wraps to y > 9 Å.
CENTRES = np.array([[5.0, 5.0, 5.0], [5.0, 0.3, 5.0], [2.0, 8.0, 3.0]])


@pytest.fixture
def frame():
    """(positions (18, 3) Å with every atom wrapped into the box on its own, forces (18, 3) eV/Å, whole (3, 6, 3) Å)."""
    whole = TEMPLATE[None] + CENTRES[:, None]
    forces = np.random.default_rng(0).standard_normal((18, 3))
    return whole.reshape(-1, 3) % BOX, forces, whole


def make_view(frame, **options):
    positions, forces, _ = frame
    return viz.MappingView(METHANOL, MASSES, positions, forces, CELL, 3, **options)


def messages(view, method):
    return [m for m in view._ngl_msg_archive if m["methodName"] == method]


def shapes(view, kind):
    """The parameters of every shape of ``kind`` ('sphere' or 'arrow') NGL was asked to draw."""
    return [shape[1:] for m in messages(view, "addShape") for shape in m["args"][1] if shape[0] == kind]


def drawn_atoms(view):
    """(n, 3) Å positions of the structure's atoms, read back from the PDB text nglview sends."""
    (load,) = messages(view, "loadFile")
    lines = [line for line in load["args"][0]["data"].splitlines() if line.startswith("ATOM")]
    return np.array([[float(line[30:38]), float(line[38:46]), float(line[46:54])] for line in lines])


def mass_centre(points, masses):
    return np.average(points, axis=0, weights=masses)


# ---------------------------------------------------------------------- the mapping view
def test_a_split_molecule_is_drawn_whole_with_its_bead_at_the_whole_molecule_centre(frame):
    positions, forces, whole = frame
    raw = positions[6:12]
    assert raw[:, 1].min() < 1 and raw[:, 1].max() > BOX - 1  # the fixture really splits molecule 1
    view = make_view(frame, molecule=1)
    assert "split across the box edge" in view.chooser.options[1][0]
    assert "split" not in view.chooser.options[0][0]
    assert view.mapping_kind == "centre of mass" and view.message == ""

    want = mass_centre(whole[1], MASSES)
    np.testing.assert_allclose(view.beads, [want], atol=1e-9)
    assert np.linalg.norm(mass_centre(raw, MASSES) - want) > 4  # what averaging the split atoms would give
    np.testing.assert_allclose(view.atom_positions, whole[1], atol=1e-9)
    np.testing.assert_allclose(drawn_atoms(view.view), whole[1], atol=1e-3)  # PDB keeps three decimals
    np.testing.assert_allclose(view.bead_forces, [forces[6:12].sum(0)])
    np.testing.assert_allclose(view.bead_masses, [MASSES.sum()])
    assert f"{MASSES.sum():.3f} amu" in view.summary.value
    assert f"|F| {np.linalg.norm(forces[6:12].sum(0)):.3f} eV/Å" in view.summary.value

    (sphere,) = shapes(view.view, "sphere")
    np.testing.assert_allclose(sphere[0], want)
    assert sphere[2] == cg_views.BEAD_RADIUS
    (translucent,) = messages(view.view, "setParameters")
    assert translucent["kwargs"] == {"opacity": cg_views.BEAD_OPACITY} and translucent["component_index"] == 1
    ((start, end, _, radius),) = shapes(view.view, "arrow")  # the mapped force, scaled to the longest arrow
    np.testing.assert_allclose(start, want)
    direction = forces[6:12].sum(0) / np.linalg.norm(forces[6:12].sum(0))
    np.testing.assert_allclose(np.subtract(end, start), cg_views.LONGEST_ARROW * direction)
    assert radius == cg_views.BEAD_ARROW_RADIUS


def test_picking_atoms_into_two_groups_gives_two_beads_at_their_mass_weighted_centres(frame):
    _, forces, whole = frame
    view = make_view(frame, molecule=1, mapping_kind="groups")
    assert view.groups == [[]] and len(view.beads) == 0 and "click atoms" in view.message
    for atom in (0, 1, 2, 3):
        view.pick(atom)
    # Half a map: the mapping's own error instead of beads, and nothing drawn over the atoms.
    assert view.groups == [[0, 1, 2, 3]] and view.mapping is None
    assert "leave atom(s) [4, 5]" in view.message and "leave atom(s) [4, 5]" in view.summary.value
    assert view.beads.shape == (0, 3) and not shapes(view.view, "sphere") and not shapes(view.view, "arrow")

    view.new_group()
    view.pick(4)
    view.pick(5)
    assert view.groups == [[0, 1, 2, 3], [4, 5]] and view.message == ""
    methyl, hydroxyl = [0, 1, 2, 3], [4, 5]
    want = [mass_centre(whole[1, methyl], MASSES[methyl]), mass_centre(whole[1, hydroxyl], MASSES[hydroxyl])]
    np.testing.assert_allclose(view.beads, want, atol=1e-9)
    np.testing.assert_allclose(view.bead_forces, [forces[6:10].sum(0), forces[10:12].sum(0)])
    np.testing.assert_allclose(view.bead_masses, [MASSES[methyl].sum(), MASSES[hydroxyl].sum()])
    np.testing.assert_allclose([s[0] for s in shapes(view.view, "sphere")], want)
    colors = cg_views.BEAD_COLORS
    assert [s[1] for s in shapes(view.view, "sphere")] == [[int(c[k:k + 2], 16) / 255 for k in (1, 3, 5)]
                                                          for c in colors[:2]]
    (representation,) = messages(view.view, "addRepresentation")  # grouped atoms take their bead's colour
    assert [c for c, _ in representation["kwargs"]["color"]] == [colors[0]] * 4 + [colors[1]] * 2
    assert "C0 H1 H2 H3" in view.groups_text.value and "O4 H5" in view.groups_text.value
    assert view.summary.value.count("amu") == 2


def test_clicks_in_the_view_put_atoms_into_groups(frame):
    view = make_view(frame)
    view.view.picked = {"atom1": {"index": 4}, "component": 0}
    assert view.groups == [[]]  # clicks count only with the "groups" mapping
    view.mapping_kind = "groups"
    view.view.picked = {"atom1": {"index": 4}, "component": 0}
    view.view.picked = {}  # nglview resets the trait before each click
    view.view.picked = {"atom1": {"index": 5}, "component": 0}
    view.view.picked = {"atom1": {"index": 0}, "atom2": {"index": 1}, "bond": {}, "component": 0}  # a bond: ignored
    assert view.groups == [[4, 5]]
    view.new_group()
    view.new_group()  # the new group is still empty: no second empty one
    assert view.groups == [[4, 5], []]
    view.view.picked = {"atom1": {"index": 5}, "component": 0}  # moves atom 5 into the current group
    view.pick(0)
    assert view.groups == [[4], [5, 0]]
    view.pick(4)  # group 1 emptied: dropped, so group k stays bead k
    view.pick(0)  # clicking an atom of the current group takes it out
    assert view.groups == [[5, 4]]
    view.clear()
    assert view.groups == [[]]
    view.groups = [[0, 1, 2, 3], [4, 5]]
    assert len(view.beads) == 2


def test_setting_groups_switches_to_the_groups_mapping(frame):
    view = make_view(frame)
    view.groups = [[4, 5], [0, 1, 2, 3]]
    assert view.mapping_kind == "groups" and len(view.beads) == 2
    view.groups = [[0, 1, 2], [2, 3, 4, 5]]
    assert "more than one group" in view.message and len(view.beads) == 0
    view.mapping_kind = "centre of geometry"  # the groups are kept for later, the beads follow the mapping
    assert view.groups == [[0, 1, 2], [2, 3, 4, 5]] and view.new_group_button.disabled


def test_switching_molecule_redraws_and_keeps_the_camera_only_for_the_same_molecule(frame):
    _, forces, whole = frame
    view = make_view(frame, mapping_kind="centre of geometry")
    first = view.view
    np.testing.assert_allclose(view.beads, [whole[0].mean(0)], atol=1e-9)
    orientation = [float(k) for k in range(16)]
    first._camera_orientation = orientation  # as the browser reports it after the student turns the molecule
    view.show_atomic_forces = True
    assert view.view is not first and messages(view.view, "set_camera_orientation")[0]["args"] == [orientation]
    arrows = shapes(view.view, "arrow")
    assert len(arrows) == 1 + 6 and {a[3] for a in arrows[1:]} == {cg_views.ATOM_ARROW_RADIUS}
    np.testing.assert_allclose([a[0] for a in arrows[1:]], whole[0], atol=1e-9)

    view.view._camera_orientation = orientation
    view.molecule = 2
    assert not messages(view.view, "set_camera_orientation")  # a new molecule: the camera frames it afresh
    np.testing.assert_allclose(view.beads, [whole[2].mean(0)], atol=1e-9)
    np.testing.assert_allclose(drawn_atoms(view.view), whole[2], atol=1e-3)
    np.testing.assert_allclose(view.bead_forces, [forces[12:18].sum(0)])


def test_the_view_reads_atomistic_frames_with_a_topology(frame):
    positions, forces, _ = frame
    topology = {"n_molecules": 3, "atomic_numbers_per_molecule": METHANOL, "masses_per_molecule": MASSES.tolist()}
    frames = Dataset(species=np.array([METHANOL * 3] * 2), positions=np.stack([positions, positions + 0.5]),
                     forces=np.stack([forces, forces]), cells=np.stack([CELL, CELL]), pbc=np.ones((2, 3), bool),
                     name="tiny_atomistic", metadata={"topology": topology})
    view = viz.MappingView.from_dataset(frames, 1, molecule=1)
    np.testing.assert_allclose(view.beads, make_view(frame, molecule=1).beads + 0.5, atol=1e-9)
    without = Dataset(species=frames.species, positions=frames.positions, forces=frames.forces, cells=frames.cells,
                      pbc=frames.pbc, name="bare")
    with pytest.raises(MLIPLabError, match="topology"):
        viz.MappingView.from_dataset(without)
    with pytest.raises(MLIPLabError, match="0..1"):
        viz.MappingView.from_dataset(frames, 2)


def test_the_mapping_view_refuses_bad_input(frame):
    positions, forces, _ = frame
    with pytest.raises(MLIPLabError, match="one frame"):
        viz.MappingView(METHANOL, MASSES, positions[None], forces[None], CELL, 3)
    with pytest.raises(MLIPLabError, match="one force"):
        viz.MappingView(METHANOL, MASSES, positions, forces[:-1], CELL, 3)
    with pytest.raises(MLIPLabError, match="one mass"):
        viz.MappingView(METHANOL, MASSES[:5], positions, forces, CELL, 3)
    with pytest.raises(MLIPLabError, match=r"\(\.\.\., 24, 3\)"):  # the mapping's own atom-count check
        viz.MappingView(METHANOL, MASSES, positions, forces, CELL, 4)
    with pytest.raises(MLIPLabError, match="cell"):
        viz.MappingView(METHANOL, MASSES, positions, forces, np.ones((3, 3)), 3)
    with pytest.raises(MLIPLabError, match="atomic_numbers"):
        viz.MappingView([6.0, 1.0], MASSES[:2], positions, forces, CELL, 9)
    view = make_view(frame)
    with pytest.raises(MLIPLabError, match="0..2"):
        view.molecule = 3
    with pytest.raises(MLIPLabError, match="choose one of"):
        view.mapping_kind = "centre of charge"
    with pytest.raises(MLIPLabError, match="groups"):
        view.pick(0)  # not in the groups mapping
    view.mapping_kind = "groups"
    with pytest.raises(MLIPLabError, match="0..5"):
        view.pick(6)
    with pytest.raises(MLIPLabError, match="list of lists"):
        view.groups = [0, 1]


def test_shape_helpers_check_their_input(frame):
    view = make_view(frame).view
    with pytest.raises(MLIPLabError, match="one 3-vector"):
        viz.add_arrows(view, np.zeros((2, 3)), np.zeros((3, 3)), "#ff0000", 0.1)
    with pytest.raises(MLIPLabError, match="#rrggbb"):
        viz.add_arrows(view, np.zeros((1, 3)), np.ones((1, 3)), "red", 0.1)
    with pytest.raises(MLIPLabError, match="one '#rrggbb' per sphere"):
        viz.add_spheres(view, np.zeros((2, 3)), ["#ff0000"], 0.9)
    with pytest.raises(MLIPLabError, match="opacity"):
        viz.add_spheres(view, np.zeros((1, 3)), ["#ff0000"], 0.9, opacity=0.0)
    before = len(messages(view, "setParameters"))
    viz.add_spheres(view, np.zeros((1, 3)), ["#ff0000"], 0.9)  # opaque: no extra message
    assert len(messages(view, "setParameters")) == before


# ---------------------------------------------------------------------- RDFs and speed
R = (np.arange(50) + 0.5) * 0.2  # Å: bin centres of 50 bins up to 10 Å, as radial_distribution returns
TEMPERATURES = (278.0, 298.0, 318.0, 338.0)


def reference_g(t):
    return 1 + np.exp(-((R - 3.6) ** 2) / 0.1) * 300 / t - np.exp(-((R - 4.8) ** 2) / 0.4) * 0.3


@pytest.fixture
def rdfs():
    """{T: {"atomistic", "HIP-NN-TS", "pairwise"}}: HIP-NN-TS 0.02 off everywhere, pairwise off by 0.002 per K from 298 K."""
    return {t: {"atomistic": (R, reference_g(t)), "HIP-NN-TS": (R, reference_g(t) + 0.02),
                "pairwise": (R, reference_g(298.0) + 0.05 + 0.002 * abs(t - 298.0))} for t in TEMPERATURES}


def test_rdf_figure_draws_the_reference_thick_and_black_under_the_models(rdfs):
    curves = rdfs[298.0]
    fig = viz.rdf_figure({"HIP-NN-TS": curves["HIP-NN-TS"], "atomistic": curves["atomistic"]}, "g(r)",
                         reference_label="atomistic")
    reference, model = fig.data
    assert reference.name == "atomistic" and reference.line.color == "#000000"
    assert reference.line.width > model.line.width and model.name == "HIP-NN-TS"
    np.testing.assert_allclose(model.y, curves["HIP-NN-TS"][1])
    assert [t.name for t in viz.rdf_figure(curves).data] == ["atomistic", "HIP-NN-TS", "pairwise"]
    with pytest.raises(MLIPLabError, match="reference"):
        viz.rdf_figure(curves, reference_label="experiment")
    with pytest.raises(MLIPLabError, match="two \\(K,\\) arrays"):
        viz.rdf_figure({"a": (R, R[:-1])})


def test_the_temperature_slider_updates_the_curves_and_the_library_errors(rdfs):
    view = viz.TransferabilityView(rdfs, "atomistic", training_temperature=298)
    assert view.temperature == 298.0 and [label for label, _ in view.slider.options] == [f"{t:g} K" for t in TEMPERATURES]
    figure = view.figure
    assert [t.name for t in figure.data] == ["atomistic", "HIP-NN-TS", "pairwise"]
    assert "the training temperature" in view.summary.value
    view.temperature = 338
    assert view.figure is figure  # updated in place
    for trace in figure.data:
        np.testing.assert_allclose(trace.y, rdfs[338.0][trace.name][1])
    want = {label: {t: rdf_error(R, rdfs[t][label][1], rdfs[t]["atomistic"][1]) for t in TEMPERATURES}
            for label in ("HIP-NN-TS", "pairwise")}
    for label in want:
        assert view.errors[label] == pytest.approx(want[label])
    assert view.errors["pairwise"][338.0] == pytest.approx(rdf_error(R, reference_g(298) + 0.13, reference_g(338)))
    summary = view.summary.value
    assert "338 K" in summary and "trained at 298 K" in summary
    for label in ("HIP-NN-TS", "pairwise"):
        assert f"{label} {want[label][338.0]:.3f} Å ({want[label][338.0] / want[label][298.0]:.2g}×" in summary
    assert "338 K" in figure.layout.title.text
    with pytest.raises(MLIPLabError, match="has no RDFs"):
        view.temperature = 300
    limited = viz.TransferabilityView(rdfs, "atomistic", 298.0, r_max=5.0)
    assert limited.errors["HIP-NN-TS"][278.0] == pytest.approx(0.02 * 5.0)


def test_the_temperature_view_refuses_inconsistent_rdfs(rdfs):
    with pytest.raises(MLIPLabError, match="training_temperature"):
        viz.TransferabilityView(rdfs, "atomistic", training_temperature=300.0)
    with pytest.raises(MLIPLabError, match="reference 'experiment'"):
        viz.TransferabilityView(rdfs, "experiment", 298.0)
    coarse = {**rdfs, 318.0: {**rdfs[318.0], "pairwise": (R[::2], reference_g(318)[::2])}}
    with pytest.raises(MLIPLabError, match="another r grid.*same r_max and n_bins"):
        viz.TransferabilityView(coarse, "atomistic", 298.0)
    shifted = {**rdfs, 318.0: {**rdfs[318.0], "pairwise": (R + 0.1, reference_g(318))}}
    with pytest.raises(MLIPLabError, match="another r grid"):
        viz.TransferabilityView(shifted, "atomistic", 298.0)
    missing = {**rdfs, 338.0: {k: v for k, v in rdfs[338.0].items() if k != "pairwise"}}
    with pytest.raises(MLIPLabError, match="same curves at every temperature"):
        viz.TransferabilityView(missing, "atomistic", 298.0)
    with pytest.raises(MLIPLabError, match="at least one CG model"):
        viz.TransferabilityView({298.0: {"atomistic": (R, reference_g(298))}}, "atomistic", 298.0)


def test_rdf_error_figure_has_one_line_per_model_and_marks_the_training_temperature(rdfs):
    errors = viz.TransferabilityView(rdfs, "atomistic", 298.0).errors
    fig = viz.rdf_error_figure(errors, 298.0)
    assert [t.name for t in fig.data] == ["HIP-NN-TS", "pairwise"]
    assert list(fig.data[1].x) == list(TEMPERATURES)
    np.testing.assert_allclose(fig.data[1].y, [errors["pairwise"][t] for t in TEMPERATURES])
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 298.0
    with pytest.raises(MLIPLabError, match="not among the temperatures"):
        viz.rdf_error_figure(errors, 300.0)
    with pytest.raises(MLIPLabError, match="non-negative"):
        viz.rdf_error_figure({"pairwise": {298.0: -1.0}}, 298.0)


def test_cg_speed_figure_shows_ratios_to_the_first_on_a_log_axis():
    fig = viz.cg_speed_figure({"atomistic (OpenMM)": 40.0, "CG HIP-NN-TS": 800.0, "CG pairwise": 20000.0})
    (bars,) = fig.data
    assert fig.layout.yaxis.type == "log" and list(bars.y) == [40.0, 800.0, 20000.0]
    assert list(bars.text) == ["1× atomistic (OpenMM)", "20× atomistic (OpenMM)", "500× atomistic (OpenMM)"]
    with pytest.raises(MLIPLabError, match="positive"):
        viz.cg_speed_figure({"atomistic": 40.0, "CG": 0.0})
    with pytest.raises(MLIPLabError, match="at least|reference"):
        viz.cg_speed_figure({})
