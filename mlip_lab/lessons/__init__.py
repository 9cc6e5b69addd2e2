"""Per-lesson set-ups and cost demos shared by the notebooks and the benchmarks, so both run the same thing.

Layer: above the library (may import data, models, physics, train, md; never viz), and only through their
public packages.
"""

from mlip_lab.lessons.clusters import water_cluster
from mlip_lab.lessons.costs import curvature_cost, seconds_per_call
from mlip_lab.lessons.first_mlip import (
    HELD_OUT_TEMPERATURE, make_learning_curve_model, organics_learning_curves, organics_splits,
)
from mlip_lab.lessons.phl import (
    TEST_CATEGORIES, TRAIN_CATEGORIES, TRAINER_SETTINGS, make_reactions_model, reactions_split,
)

__all__ = [
    "water_cluster",
    "curvature_cost", "seconds_per_call",
    "HELD_OUT_TEMPERATURE", "make_learning_curve_model", "organics_learning_curves", "organics_splits",
    "TEST_CATEGORIES", "TRAIN_CATEGORIES", "TRAINER_SETTINGS", "make_reactions_model", "reactions_split",
]
