"""The one nglview set-up behind every 3D view (molecule, normal mode, MD trajectory): size, structure,
representation, colours and camera."""

from __future__ import annotations

import uuid
import warnings

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
    return view
