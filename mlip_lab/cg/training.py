"""Force matching of a HIP-NN-TS coarse-grained force field (Shinkle et al., JCTC 2024), through mlip_lab.train.

The network learns the mapped forces only (RMSE + MAE); a fixed repulsive prior, fitted where the reference RDF
sets in, is added to it so that CG MD cannot collapse into the region no training frame samples.
"""

from __future__ import annotations

import numpy as np
import torch

from mlip_lab.cg.prior import WithPrior, fit_repulsive_prior, mean_force_magnitude
from mlip_lab.cg.structure import largest_rdf_range, radial_distribution
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import HIPNN, HIPNNConfig
from mlip_lab.train import ForceLoss, Loss, Trainer

# One bead type (code 1). The reference example uses l = 2, 128 features, 20 sensitivities, one interaction layer
# and three atom layers with soft cutoffs 2-13 Å and a hard one at 15 Å in larger boxes; 256 methanol beads make a
# box of about 25 Å, so the hard cutoff must stay below half of it (minimum image), and 64 features keep CPU epochs
# short enough to train live in a lesson.
CG_CONFIG = HIPNNConfig(elements=(1,), n_features=64, n_sensitivities=20, r_soft_min=2.5, r_soft_max=9.0,
                        cutoff=10.0, n_interactions=1, n_atom_layers=3, tensor_order=2,
                        residual=False)  # the plain stack lesson 07's measured results (RESULTS.md) were taken with


def force_matching_loss() -> Loss:
    """Forces only, RMSE + MAE: CG data have mapped forces and no energies."""
    return Loss([ForceLoss(metric="rmse"), ForceLoss(metric="mae")])


def check_cg_frames(frames, what: str = "the CG frames") -> Dataset:
    """``frames`` if it is a periodic Dataset with forces and a temperature label on every frame, else MLIPLabError."""
    if not isinstance(frames, Dataset):
        raise MLIPLabError(f"{what} must be a mlip_lab.data.Dataset, got {type(frames).__name__}")
    if frames.forces is None:
        raise MLIPLabError(f"{what} ({frames.name or 'unnamed'}) have no forces; force matching needs the mapped forces")
    if frames.cells is None or frames.pbc is None or not frames.pbc.all():
        raise MLIPLabError(f"{what} ({frames.name or 'unnamed'}) are not periodic in all three directions; "
                           "a liquid needs its cell on every frame")
    if np.isnan(frames.temperature).any():
        first = int(np.flatnonzero(np.isnan(frames.temperature))[0])
        raise MLIPLabError(f"{what}: frame {first} has no temperature label; every frame of a CG liquid needs the "
                           "temperature it was simulated at (set Dataset.temperature)")
    return frames


def frames_at(frames: Dataset, temperature: float) -> Dataset:
    """The frames simulated at ``temperature`` K (within 0.01 K)."""
    check_cg_frames(frames)
    mask = np.isclose(frames.temperature, temperature, atol=1e-2)
    if not mask.any():
        raise MLIPLabError(f"no frames at {temperature} K; this dataset has {available_temperatures(frames)} K")
    return frames.subset(mask)


def available_temperatures(frames: Dataset) -> list[float]:
    """Sorted distinct temperature labels (K)."""
    return sorted(float(t) for t in np.unique(np.round(frames.temperature[np.isfinite(frames.temperature)], 2)))


def reference_prior(frames: Dataset, r_max: float | None = None, n_bins: int = 200):
    """The repulsive prior of the reference recipe fitted to ``frames``: its RDF onset and mean |F| per bead.

    r_max: Å, range of the RDF (default: 10 Å or just under the longest range the cells allow, whichever is smaller).
    """
    check_cg_frames(frames)
    if r_max is None:
        r_max = min(10.0, 0.998 * largest_rdf_range(frames.cells))
    r, g = radial_distribution(frames.positions, frames.cells, r_max, n_bins)
    return fit_repulsive_prior(r, g, mean_force_magnitude(frames.forces, frames.species))


def train_force_matching(train: Dataset, valid: Dataset, config: HIPNNConfig = CG_CONFIG, *, prior=None,
                         seed: int = 0, dtype: torch.dtype = torch.float32, **trainer_options) -> Trainer:
    """Train a fresh HIP-NN(-TS) of ``config`` (plus the fixed ``prior``, if given) on the mapped forces.

    Returns the fitted :class:`~mlip_lab.train.Trainer`; its ``model`` is the force field (a
    :class:`~mlip_lab.cg.prior.WithPrior` when a prior is given). ``trainer_options`` go to the Trainer (lr,
    batch_size, max_epochs, callbacks, progress, ...). Reference energies are not fitted: CG data have no energies.
    """
    for data, what in ((train, "the training frames"), (valid, "the validation frames")):
        check_cg_frames(data, what)
        missing = sorted(set(data.elements) - set(config.elements))
        if missing:
            raise MLIPLabError(f"{what} hold bead types {missing} that the config's elements {list(config.elements)} "
                               "do not include; list every bead-type code in HIPNNConfig(elements=...)")
    torch.manual_seed(seed)
    model: torch.nn.Module = HIPNN(config).to(dtype)
    if prior is not None:
        model = WithPrior(model, prior.to(dtype))
    trainer = Trainer(model, force_matching_loss(), train, valid, seed=seed, fit_reference_energies=False,
                      **trainer_options)
    trainer.fit()
    return trainer
