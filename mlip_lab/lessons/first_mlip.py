"""Lesson 01 (first MLIP): the two splits of `organics` and the learning-curve set-up shared by notebook 01 and
benchmarks/learning_curve.py, so both measure the same thing."""

from __future__ import annotations

from functools import partial
from typing import Sequence

import torch

from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import HIPNN, HIPNNConfig
from mlip_lab.train import LearningCurve, energy_force_loss, learning_curve

HELD_OUT_TEMPERATURE = 600.0
# A smaller model than the lesson's main one (order 0, 32 features, 16 sensitivities): a learning curve trains one
# model per size, and it compares amounts of data, not architectures.
LEARNING_CURVE_FEATURES = 32
LEARNING_CURVE_SETTINGS = {"lr": 4e-3, "lr_schedule": "cosine", "batches_per_epoch": 8}
# Model selection needs a validation set, not all of it: every epoch of a small subset would otherwise spend
# more time validating than training.
LEARNING_CURVE_VALIDATION = 64


def organics_splits(data: Dataset, seed: int = 0) -> dict[str, tuple[Dataset, Dataset, Dataset]]:
    """The lesson's two ways to split ``data``, each as (train, valid, test), both tested on 600 K configurations.

    "random split": the lesson's 80/10/10 random split (``seed``), its test set restricted to 600 K.
    "600 K held out": every configuration sampled at 600 K (MD trajectories and normal-mode samples) is the test
    set; the rest is split 90/10 into train and valid.
    """
    if not isinstance(data, Dataset):
        raise MLIPLabError(f"data must be a mlip_lab.data.Dataset, got {type(data).__name__}")
    train, valid, test = data.split_random((0.8, 0.1, 0.1), seed=seed)
    rest, held_out = data.split_by("temperature", [HELD_OUT_TEMPERATURE])
    held_train, held_valid = rest.split_random((0.9, 0.1), seed=seed)
    return {"random split": (train, valid, test.subset(test.temperature == HELD_OUT_TEMPERATURE)),
            f"{HELD_OUT_TEMPERATURE:g} K held out": (held_train, held_valid, held_out)}


def make_learning_curve_model(elements: Sequence[int], seed: int = 0) -> HIPNN:
    """A fresh HIP-NN (tensor order 0, 32 features, 16 sensitivities; the lesson's layers and cutoffs) drawn from
    ``seed``."""
    torch.manual_seed(seed)
    return HIPNN(HIPNNConfig(elements=tuple(elements), n_features=LEARNING_CURVE_FEATURES, n_sensitivities=16,
                             n_interactions=2, n_atom_layers=3, tensor_order=0, r_soft_min=0.75, r_soft_max=4.0,
                             cutoff=5.0))


def organics_learning_curves(splits: dict[str, tuple[Dataset, Dataset, Dataset]], sizes: Sequence[int],
                             epochs: int, seed: int = 0, force_weight: float = 30.0,
                             progress: bool = True) -> dict[str, LearningCurve]:
    """One :class:`~mlip_lab.train.LearningCurve` per split of :func:`organics_splits` (or any of them): for every
    size, a fresh :func:`make_learning_curve_model` trained for ``epochs`` epochs of 8 mini-batches (cosine
    schedule from lr 4e-3) on that many configurations of the split's training set (nested subsets drawn with
    ``seed``), validated on the first 64 of its validation set and tested on its test set."""
    loss = energy_force_loss(force_weight=force_weight)
    curves = {}
    for label, (train, valid, test) in splits.items():
        valid = valid.subset(range(min(LEARNING_CURVE_VALIDATION, len(valid))))
        curves[label] = learning_curve(partial(make_learning_curve_model, train.elements, seed), loss, train, valid,
                                       test, sizes, epochs=epochs, seed=seed, progress=progress,
                                       **LEARNING_CURVE_SETTINGS)
    return curves
