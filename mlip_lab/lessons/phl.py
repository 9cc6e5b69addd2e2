"""Lesson 03 (projected Hessian learning): the data split, model and trainer settings shared by notebook 03 and
benchmarks/phl_accuracy.py, so both measure the same thing."""

from __future__ import annotations

import torch

from mlip_lab.data import Dataset
from mlip_lab.models import HIPNN, HIPNNConfig

TRAIN_CATEGORIES = ("reactant", "product", "ts")
# Trainer settings for the 12 training geometries: small batches and a high learning rate give enough
# optimizer steps per epoch; with all 12 geometries used for training, model selection uses them too.
TRAINER_SETTINGS = {"lr": 5e-3, "batch_size": 2, "lr_patience": 25}
TEST_CATEGORIES = ("irc", "nms")


def reactions_split(reactions: Dataset) -> tuple[Dataset, Dataset]:
    """(train, test) of the PHL paper: stationary points to train on, IRC and normal-mode-sampled geometries
    (far from equilibrium) to test on. Other categories are left out."""
    return reactions.where(category=list(TRAIN_CATEGORIES)), reactions.where(category=list(TEST_CATEGORIES))


def make_reactions_model(train: Dataset, seed: int = 0, n_features: int = 24) -> HIPNN:
    """A small HIP-NN-TS (tensor order 1) for the 3-4-atom reaction molecules, initialised from ``seed``, with
    reference energies fitted on ``train``. float32: these molecules are tiny, so steps are dominated by
    per-operation overhead and float32 trains about twice as fast; Hessian errors of interest (> 0.01 eV/Å²)
    are far above its rounding."""
    torch.manual_seed(seed)
    config = HIPNNConfig(elements=tuple(train.elements), n_features=n_features, n_sensitivities=16, n_interactions=2,
                         n_atom_layers=3, tensor_order=1, r_soft_min=0.75, r_soft_max=4.0, cutoff=5.0,
                         residual=False)  # the plain stack lesson 03's measured results (RESULTS.md) were taken with
    model = HIPNN(config)
    model.fit_reference_energies(train.species, train.energies)
    return model
