"""The one nglview set-up behind the molecule, normal-mode and trajectory views: same size, representation and
camera for all three, still structures and trajectories alike."""

import numpy as np
from ase.build import molecule

from mlip_lab.physics import harmonic_analysis, masses_of
from mlip_lab.viz import molecule_view, ngl_view, normal_mode_view, trajectory_view
from mlip_lab.viz.ngl import VIEW_SIZE_PX, add_arrows, add_spheres


def _messages(view, method):
    return [m for m in view._ngl_msg_archive if m["methodName"] == method]


def _set_up_alike(view, n_frames):
    assert (view._view_width, view._view_height) == tuple(f"{n}px" for n in VIEW_SIZE_PX)
    assert (view.layout.width, view.layout.height) == (view._view_width, view._view_height)
    (representation,) = _messages(view, "addRepresentation")
    assert representation["args"][0] == "ball+stick"
    assert view.max_frame == n_frames - 1  # a still structure has one frame
    queued = [callback._method_name for callback in view._ngl_displayed_callbacks_before_loaded]
    assert queued[-1] == "autoView"  # the camera moves onto the structure once it is shown
    _replays_the_zoom_onto_the_structure(view)


def _replays_the_zoom_onto_the_structure(view):
    """The saved state (what a static page draws without a kernel) zooms onto the structure after loading it."""
    methods = [m["methodName"] for m in view._ngl_msg_archive]
    assert methods.count("autoView") == 1, methods
    (zoom,) = _messages(view, "autoView")
    assert (zoom["target"], zoom["component_index"], zoom["args"]) == ("compList", 0, ["*", 0])
    assert methods.index("loadFile") < methods.index("addRepresentation") < methods.index("autoView")


def test_still_structures_and_trajectories_get_the_same_set_up():
    water = molecule("H2O")
    _set_up_alike(ngl_view(water), 1)
    moved = water.copy()
    moved.positions += 0.1
    _set_up_alike(ngl_view([water, moved, water]), 3)


def test_the_three_views_share_the_set_up():
    water = molecule("H2O")
    _set_up_alike(molecule_view(water).view, 1)
    _set_up_alike(trajectory_view([water, water]).view, 2)
    analysis = harmonic_analysis(np.eye(9), water.positions, masses_of(water.numbers))
    _set_up_alike(normal_mode_view(water, analysis, n_frames=6).view, 6)


def test_atom_colours_travel_as_one_per_atom_scheme():
    view = ngl_view(molecule("H2O"), atom_colors=["#ff0000", "#00ff00", "#0000ff"])
    (representation,) = _messages(view, "addRepresentation")
    assert representation["kwargs"]["color"] == [["#ff0000", "@0"], ["#00ff00", "@1"], ["#0000ff", "@2"]]
    (plain,) = _messages(ngl_view(molecule("H2O")), "addRepresentation")
    assert plain["kwargs"]["color"] == "element"


def test_views_with_shapes_still_replay_the_zoom_onto_the_molecule():
    # NGL's addShape does not move the camera: arrows and spheres drawn after the zoom leave the molecule in view.
    water = molecule("H2O")
    view = ngl_view(water)
    add_arrows(view, water.positions, np.ones((3, 3)), "#ff0000", 0.1)
    add_spheres(view, water.positions, ["#00ff00"] * 3, 0.5, opacity=0.5)
    _replays_the_zoom_onto_the_structure(view)
    assert len(_messages(view, "addShape")) == 6
