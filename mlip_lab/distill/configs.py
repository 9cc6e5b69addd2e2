"""Default model sizes of the distillation recipes, and building a seeded HIP-NN from a config.

Sizes follow the papers (shared/DESIGN.md §5-6) scaled to the course's small organic molecules:

- :data:`EKD_CONFIG`: the teachers of ensemble knowledge distillation and their student share one architecture
  (the paper distils knowledge from energy-only teachers into a student of the same kind); 32 features,
  HIP-NN-TS l=1, 2 interaction layers, about 26,000 parameters.
- :data:`TEACHER_CONFIG`: the large teacher of the atomic-energy recipe, lesson 01's most accurate model on
  ``organics`` (64 features, HIP-NN-TS l=2, 2 interaction layers; 99,500 parameters).
- :data:`STUDENT_CONFIG`: the small student, the paper's reference student (HIP-NN-TS l=1, 24 features, one
  interaction layer) with 2 atom layers; 2,900 parameters, 34x fewer than the teacher (the issue asks >= 5x).

All cover H, C, N and O, the elements of ``organics`` and of the coupled-cluster sets.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from mlip_lab.models import HIPNN, HIPNNConfig

# Å, lesson 01's radii for these molecules; the plain (non-residual) stack lessons 05-06's measured results
# (benchmarks/RESULTS.md) were taken with, before residual blocks became the default.
_RADII = dict(r_soft_min=0.75, r_soft_max=4.0, cutoff=5.0, residual=False)
EKD_CONFIG = HIPNNConfig(elements=(1, 6, 7, 8), n_features=32, n_sensitivities=16, n_interactions=2,
                         n_atom_layers=3, tensor_order=1, **_RADII)
TEACHER_CONFIG = HIPNNConfig(elements=(1, 6, 7, 8), n_features=64, n_sensitivities=16, n_interactions=2,
                             n_atom_layers=3, tensor_order=2, **_RADII)
STUDENT_CONFIG = HIPNNConfig(elements=(1, 6, 7, 8), n_features=24, n_sensitivities=16, n_interactions=1,
                             n_atom_layers=2, tensor_order=1, **_RADII)


def build_hipnn(config: HIPNNConfig, seed: int = 0, dtype: torch.dtype = torch.float32,
                elements: tuple[int, ...] | None = None) -> HIPNN:
    """A fresh :class:`~mlip_lab.models.HIPNN` of ``config`` whose initial weights depend only on ``seed``.

    ``elements`` (optional) replaces the config's elements. Torch's global random state is left as it was.
    float32 by default: these molecules are small, so steps are dominated by per-operation overhead and
    float32 trains about twice as fast, while energies of a few thousand eV still resolve 0.2 meV.
    """
    if elements is not None:
        config = replace(config, elements=tuple(elements))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return HIPNN(config).to(dtype)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable numbers in ``model`` (what "a 5x smaller student" counts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
