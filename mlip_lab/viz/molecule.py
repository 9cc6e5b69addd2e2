"""A 3D molecule (nglview) coloured atom by atom by a per-atom quantity, with its colour bar beside it."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from mlip_lab.data import Dataset, to_ase
from mlip_lab.errors import MLIPLabError
from mlip_lab.viz.colors import colorbar_stops, per_atom_colors, value_range
from mlip_lab.viz.ngl import VIEW_SIZE_PX, add_arrows, ngl_view

FORCE_COLOR, FORCE_RADIUS = "#e61a1a", 0.08  # red arrows (Å thick), visible over element colours


def as_atoms(atoms_or_dataset_row):
    """An ``ase.Atoms`` from an Atoms, a one-configuration Dataset, or a ``(dataset, index)`` pair."""
    item = atoms_or_dataset_row
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Dataset):
        dataset, index = item
        return to_ase(dataset.subset([int(index)]))[0]
    if isinstance(item, Dataset):
        if len(item) != 1:
            raise MLIPLabError(f"got a dataset of {len(item)} configurations; pass (dataset, index) to pick one")
        return to_ase(item)[0]
    if hasattr(item, "get_atomic_numbers") and hasattr(item, "positions"):
        return item
    raise MLIPLabError(
        f"molecule_view takes ase.Atoms, a one-row Dataset or (dataset, index), not {type(item).__name__}")


def per_atom_values(atoms, values=None) -> np.ndarray | None:
    """(n_atoms,) floats to colour by: ``values`` if given, else ``atoms.arrays['atomic_energies']``, else None."""
    if values is None:
        values = atoms.arrays.get("atomic_energies")
        if values is None:
            return None
    values = _as_array(values).reshape(-1)
    if values.shape != (len(atoms),):
        raise MLIPLabError(f"got {values.size} values for a structure of {len(atoms)} atoms; give one per atom")
    return values


def colorbar_html(vmin: float, vmax: float, cmap: str, label: str, height_px: int = VIEW_SIZE_PX[1]) -> str:
    """A vertical CSS-gradient colour bar (vmax on top) with end values and a rotated label, as HTML."""
    stops = colorbar_stops(vmin, vmax, cmap)
    gradient = ", ".join(f"{color} {100 * k / (len(stops) - 1):.0f}%" for k, (_, color) in enumerate(reversed(stops)))
    return (
        f'<div style="display:flex;align-items:center;height:{height_px}px;font-size:12px;padding:0 6px">'
        '<div style="display:flex;flex-direction:column;align-items:center">'
        f"<div>{vmax:.4g}</div>"
        f'<div class="mlip-colorbar" style="width:16px;height:{height_px - 60}px;margin:4px 0;'
        f'background:linear-gradient({gradient})"></div>'
        f"<div>{vmin:.4g}</div></div>"
        f'<div style="writing-mode:vertical-rl;transform:rotate(180deg);margin-left:6px">{html.escape(label)}</div>'
        "</div>"
    )


def face_on(positions: np.ndarray) -> np.ndarray:
    """(3, 3) rotation putting a molecule's widest spread along x and the next along y, i.e. in the screen
    plane of the viewer (which looks down z), so flat molecules are seen face-on rather than edge-on.

    Apply as ``(positions - centre) @ rotation``; a proper rotation (det +1), so chirality is kept.
    """
    centred = np.asarray(positions, dtype=float) - np.mean(positions, axis=0)
    _, axes = np.linalg.eigh(centred.T @ centred)  # ascending spread
    rotation = axes[:, ::-1].copy()
    if np.linalg.det(rotation) < 0:
        rotation[:, 2] *= -1
    return rotation


class MoleculeView(widgets.HBox):
    """The HBox :func:`molecule_view` returns: ``view`` is the nglview widget, ``colors`` the per-atom hex
    colours (None when atoms keep their element colours)."""

    def __init__(self, view, colorbar=None, colors=None):
        super().__init__([view] if colorbar is None else [view, colorbar], layout=widgets.Layout(align_items="center"))
        self.view = view
        self.colors = colors


def molecule_view(atoms_or_dataset_row, values=None, label: str = "atomic energy / eV", cmap: str = "Viridis",
                  vmin: float | None = None, vmax: float | None = None, forces=None, arrow_scale: float = 1.0,
                  representation: str = "ball+stick"):
    """A :class:`MoleculeView` (an ipywidgets HBox): the nglview structure, atoms coloured by ``values``, and a
    colour bar.

    values: one number per atom (numpy, list or tensor); default: the structure's ``atomic_energies`` array,
    and without that atoms keep their element colours and no bar is shown. vmin/vmax default to the data range.
    forces: optional (n_atoms, 3) eV/Å drawn as arrows of length ``arrow_scale`` Å per eV/Å.
    Molecules (no periodic axis) are shown turned face-on (:func:`face_on`); periodic cells as they are.
    """
    atoms = as_atoms(atoms_or_dataset_row)
    values = per_atom_values(atoms, values)
    shown, rotation = atoms.copy(), np.eye(3)
    if not atoms.pbc.any() and len(atoms) > 1:
        rotation = face_on(atoms.positions)
        shown.positions = (atoms.positions - atoms.positions.mean(0)) @ rotation
    colorbar, colors = None, None
    if values is not None:
        lo, hi = value_range(values, vmin, vmax)
        colors = per_atom_colors(values, lo, hi, cmap)
        colorbar = widgets.HTML(colorbar_html(lo, hi, cmap, label))
    view = ngl_view(shown, representation, atom_colors=colors)
    if forces is not None:
        add_arrows(view, shown.positions, arrow_scale * (_as_array(forces) @ rotation), FORCE_COLOR, FORCE_RADIUS)
    return MoleculeView(view, colorbar, colors)


def _as_array(values) -> np.ndarray:
    """numpy float array from numpy, lists or torch tensors."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)
