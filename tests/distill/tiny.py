"""Tiny settings shared by the distillation tests: the recipes build their own models from a config."""

from mlip_lab.models import HIPNNConfig

# The size of the shared conftest's TINY_MODEL, for H, C and O.
TINY = HIPNNConfig(elements=(1, 6, 8), n_features=8, n_sensitivities=6, n_interactions=1, n_atom_layers=1,
                   cutoff=4.0, r_soft_max=3.5)
FAST = dict(max_epochs=2, progress=False)
