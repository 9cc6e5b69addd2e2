"""Force matching of a HIP-NN-TS CG model (plus the fixed prior) through mlip_lab.train, and its input checks."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.cg import (
    WithPrior, available_temperatures, frames_at, reference_prior, run_cg_md, train_force_matching,
)
from mlip_lab.data import Dataset
from mlip_lab.models import HIPNNConfig, load_model

# Fits the 12 Å test box (hard cutoff below half of it).
SMALL = HIPNNConfig(elements=(1,), n_features=8, n_sensitivities=6, r_soft_min=2.0, r_soft_max=5.0, cutoff=5.5,
                    n_interactions=1, n_atom_layers=1, tensor_order=2)


def test_reference_prior_sits_at_the_rdf_onset(cg_frames):
    frames = cg_frames(n_frames=6)
    prior = reference_prior(frames, n_bins=120)
    nearest = np.linalg.norm(frames.positions[:, :, None] - frames.positions[:, None], axis=-1)
    nearest = np.where(np.eye(27, dtype=bool), np.inf, nearest).min()
    assert nearest - 0.2 < float(prior.taper) < nearest + 0.2  # first neighbours of the jittered lattice
    mean_force = np.linalg.norm(frames.forces, axis=-1).mean()
    assert prior.force_at(float(prior.taper) - 0.15) == pytest.approx(mean_force, rel=1e-6)


def test_force_matching_learns_and_the_model_is_kept(cg_frames, tmp_path):
    frames = cg_frames(n_frames=12, seed=1)
    train, valid = frames.subset(range(10)), frames.subset([10, 11])
    prior = reference_prior(train, n_bins=120)
    trainer = train_force_matching(train, valid, SMALL, prior=prior, dtype=torch.float64, max_epochs=30, lr=5e-3,
                                   batch_size=2, progress=False, checkpoint_dir=tmp_path)
    assert isinstance(trainer.model, WithPrior)
    history = [record.valid["forces_rmse"] for record in trainer.history]
    assert history[-1] < 0.7 * history[0]
    best = load_model(tmp_path / "best.pt")  # the checkpoint of a CG model loads back as one
    assert isinstance(best, WithPrior)
    run = run_cg_md(best, valid, 300.0, n_steps=5, progress=False)
    assert np.isfinite(run.positions).all()


def test_temperature_labels(cg_frames):
    frames = cg_frames(n_frames=6, temperatures=(258.0, 298.0))
    assert available_temperatures(frames) == [258.0, 298.0]
    assert len(frames_at(frames, 298.0)) == 3
    with pytest.raises(MLIPLabError, match=r"no frames at 318.0 K; this dataset has \[258.0, 298.0\] K"):
        frames_at(frames, 318.0)
    unlabelled = Dataset(species=frames.species, positions=frames.positions, forces=frames.forces, cells=frames.cells,
                         pbc=frames.pbc, metadata=frames.metadata)
    with pytest.raises(MLIPLabError, match="frame 0 has no temperature label"):
        train_force_matching(unlabelled, unlabelled, SMALL, max_epochs=1, progress=False)


def test_force_matching_refuses_bad_frames(cg_frames):
    frames = cg_frames(n_frames=2)
    no_forces = Dataset(species=frames.species, positions=frames.positions, energies=np.zeros(2), cells=frames.cells,
                        pbc=frames.pbc, temperature=frames.temperature)
    with pytest.raises(MLIPLabError, match="have no forces"):
        train_force_matching(no_forces, no_forces, SMALL, max_epochs=1, progress=False)
    with pytest.raises(MLIPLabError, match=r"bead types \[1\].*elements \[2\]"):
        train_force_matching(frames, frames, HIPNNConfig(**{**SMALL.to_dict(), "elements": (2,)}), max_epochs=1,
                             progress=False)
