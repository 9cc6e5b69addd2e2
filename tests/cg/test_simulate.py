"""CG Langevin MD at bead masses in periodic cells, and the trajectory -> RDF pipeline."""

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.cg.simulate import bead_masses, run_cg_md
from mlip_lab.data import Dataset


@pytest.fixture(scope="module")
def bead_model():
    """A tiny HIP-NN-TS for bead code 1 whose cutoff fits the 12 Å test box."""
    import torch

    from mlip_lab.models import HIPNN, HIPNNConfig

    torch.manual_seed(0)
    return HIPNN(HIPNNConfig(elements=(1,), n_features=8, n_sensitivities=6, n_interactions=1, n_atom_layers=1,
                             r_soft_min=2.0, r_soft_max=5.0, cutoff=5.5, tensor_order=2)).double()


def test_bead_masses_come_from_metadata(cg_frames):
    frames = cg_frames()
    assert np.all(bead_masses(frames) == 32.042)
    bare = Dataset(species=frames.species, positions=frames.positions, forces=frames.forces, cells=frames.cells,
                   pbc=frames.pbc)
    with pytest.raises(MLIPLabError, match="bead_types"):
        bead_masses(bare)


def test_cg_md_records_wrapped_frames_at_bead_masses(cg_frames, bead_model):
    frames = cg_frames(n_frames=2)
    trajectory = run_cg_md(bead_model, frames, 300.0, n_steps=20, start=[0, 1], record_every=5, progress=False)
    assert trajectory.positions.shape == (5, 2, 27, 3)  # the start frame and every 5th of 20 steps
    assert np.allclose(trajectory.times, [0, 10, 20, 30, 40])  # fs, at 2 fs steps
    assert np.all(trajectory.masses == 32.042)
    box = frames.cells[0, 0, 0]
    assert trajectory.positions.min() >= 0 and trajectory.positions.max() < box  # wrapped into the cell
    assert not trajectory.blow_ups and trajectory.duration_fs == 40.0
    assert trajectory.simulated_ps_per_hour == pytest.approx(0.04 / (trajectory.wall_seconds / 3600))
    # The beads moved by thermal amounts of 32 amu beads in 10 fs (~0.05 Å), not those of the 1.008 amu of
    # hydrogen that bead code 1 would otherwise get (~0.27 Å).
    step = np.linalg.norm(trajectory.positions[1] - trajectory.positions[0], axis=-1)
    assert 0.01 < np.median(step) < 0.15


def test_trajectory_rdf(cg_frames, bead_model):
    trajectory = run_cg_md(bead_model, cg_frames(n_frames=1), 300.0, n_steps=10, record_every=5, progress=False)
    r, g = trajectory.rdf(r_max=5.9, n_bins=30, skip_fs=5.0)
    assert r.shape == g.shape == (30,) and np.all(g >= 0)
    assert g[r < 2.0].max() == 0 and g.max() > 1  # no close contacts; the lattice shell at 4 Å
    with pytest.raises(MLIPLabError, match="leaves no frames"):
        trajectory.rdf(r_max=5.9, skip_fs=100.0)


def test_cg_md_refuses_bad_input(cg_frames, bead_model):
    frames = cg_frames(n_frames=2)
    molecules = Dataset(species=frames.species, positions=frames.positions, forces=frames.forces,
                        metadata=frames.metadata)
    with pytest.raises(MLIPLabError, match="periodic"):
        run_cg_md(bead_model, molecules, 300.0, 5, progress=False)
    with pytest.raises(MLIPLabError, match="temperature"):
        run_cg_md(bead_model, frames, -5.0, 5, progress=False)
    with pytest.raises(MLIPLabError, match="start"):
        run_cg_md(bead_model, frames, 300.0, 5, start=2, progress=False)
    with pytest.raises(MLIPLabError, match="record_every"):
        run_cg_md(bead_model, frames, 300.0, 5, record_every=0, progress=False)


def test_describe_names_bead_types(cg_frames):
    text = cg_frames().describe()
    assert "bead types: MeOH (code 1, 32.042 amu)" in text and "elements" not in text
