"""The one nglview set-up behind every 3D view (molecule, normal mode, MD trajectory, CG mapping): size, structure,
representation, colours and camera; and the shapes drawn over a structure (force arrows, translucent spheres)."""

from __future__ import annotations

import re
import uuid
import warnings

import numpy as np

from mlip_lab.errors import MLIPLabError

with warnings.catch_warnings():
    # nglview 3.1 imports pkg_resources, whose deprecation warning would land in every student's notebook.
    warnings.simplefilter("ignore", UserWarning)
    import nglview
    from nglview.color import _ColorScheme

VIEW_SIZE_PX = (420, 320)  # a fixed size leaves room for a colour bar; NGL would take the full width


def color_scheme(colors: list[str]) -> list[list[str]]:
    """NGL selection scheme ``[[colour, '@i'], ...]``: atom i (0-based, '@' selects by index) gets colours[i]."""
    return [[color, f"@{i}"] for i, color in enumerate(colors)]


def ngl_view(frames, representation: str = "ball+stick", atom_colors: list[str] | None = None) -> nglview.NGLWidget:
    """An nglview widget of :data:`VIEW_SIZE_PX` showing ``frames`` as ``representation``, with the camera on the
    structure.

    frames: one ``ase.Atoms`` (a still structure) or a list of them (a trajectory; the widget's ``frame`` trait
    picks the frame shown, e.g. linked to a play control).
    atom_colors: one '#rrggbb' per atom; default: element colours.
    """
    view = nglview.NGLWidget()
    # NGL sizes its canvas from these synced traits when it is created, before it zooms onto the molecule.
    view._view_width, view._view_height = (f"{n}px" for n in VIEW_SIZE_PX)
    view.layout.width, view.layout.height = view._view_width, view._view_height
    if isinstance(frames, (list, tuple)):
        view.add_trajectory(nglview.ASETrajectory(list(frames)), default_representation=False)
    else:
        view.add_structure(nglview.ASEStructure(frames), default_representation=False)
    color = "element"
    if atom_colors is not None:
        # The scheme travels inside the addRepresentation message, so it exists before NGL draws; a unique label
        # keeps views in one notebook from overwriting each other's scheme in NGL's global registry.
        color = _ColorScheme(color_scheme(atom_colors), f"mlip_lab_{uuid.uuid4().hex}")
    view.add_representation(representation, color=color)
    view.center()  # without a default representation NGL does not zoom onto the structure by itself
    # center() reaches only a live view: nglview leaves autoView out of the message archive that a saved view (the
    # static course pages) replays in order without a kernel, which then shows the molecule as a speck. A view saved
    # with its camera (from a live browser) restores that camera and skips the replay, so nothing zooms twice.
    zoom = view._get_remote_call_msg("autoView", target="compList", args=["*", 0], kwargs={"component_index": 0})
    view._ngl_msg_archive = [*view._ngl_msg_archive, zoom]
    return view


def _rgb(color: str) -> list[float]:
    """'#rrggbb' -> [r, g, b] in 0..1, as NGL's shapes take colours."""
    if not (isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", color)):
        raise MLIPLabError(f"colours of shapes are '#rrggbb' strings, got {color!r}")
    return [int(color[k:k + 2], 16) / 255 for k in (1, 3, 5)]


def _points(values, name: str) -> np.ndarray:
    points = np.asarray(values, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise MLIPLabError(f"{name} must be (n, 3) in Å, got shape {points.shape}")
    return points


def add_arrows(view: nglview.NGLWidget, starts, vectors, color: str, radius: float) -> None:
    """Draw one arrow per row from ``starts`` (n, 3) Å to ``starts + vectors`` ((n, 3) Å, e.g. forces times an
    arrow scale in Å per eV/Å), in one '#rrggbb' colour, ``radius`` Å thick (one NGL shape per arrow)."""
    starts, vectors = _points(starts, "arrow starts"), np.asarray(vectors, dtype=float)
    if vectors.shape != starts.shape:
        raise MLIPLabError(f"arrow vectors have shape {vectors.shape}, expected {starts.shape} (one 3-vector per start "
                           "point, e.g. one force per atom)")
    rgb = _rgb(color)
    for start, vector in zip(starts, vectors):
        view.shape.add_arrow(start.tolist(), (start + vector).tolist(), rgb, radius)


def add_spheres(view: nglview.NGLWidget, centres, colors: list[str], radius: float, opacity: float = 1.0) -> None:
    """Draw one sphere of ``radius`` Å per row of ``centres`` (n, 3) Å, coloured ``colors[k]`` ('#rrggbb'); with
    ``opacity`` below 1 they are translucent, so atoms inside them stay visible."""
    centres = _points(centres, "sphere centres")
    if len(colors) != len(centres):
        raise MLIPLabError(f"got {len(colors)} colours for {len(centres)} spheres; give one '#rrggbb' per sphere")
    if not 0 < opacity <= 1:
        raise MLIPLabError(f"opacity must lie in (0, 1], got {opacity}")
    for centre, color in zip(centres, colors):
        component = view.shape.add_sphere(centre.tolist(), _rgb(color), radius)
        if opacity < 1:
            # NGL's addShape takes no opacity; its one "buffer" representation is made translucent afterwards.
            view.update_representation(component=component._index, repr_index=0, opacity=opacity)
