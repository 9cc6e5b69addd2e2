"""The four training schemes of projected Hessian learning (Rodriguez et al., arXiv:2603.04523) as named
loss recipes, and a helper that trains one.

Scheme names: "E-F" (energies and forces), "E-F-HVP-onehot" and "E-F-HVP-random" (plus one Hessian-vector
product per configuration, with a one-hot or a random probe), "E-F-H" (plus the full Hessian).

Weights: the paper's loss is E_RMSE + 0.30 F_RMSE + 0.09 HVP_RMSE in kcal/mol and Å. Every term is linear
in the energy unit, so in eV and Å the same weights give the same loss divided by 23.06 (same optimum,
same relative balance); we use 1, 0.30 and 0.09 unchanged, and 0.09 for the full-Hessian RMSE as well
because the HVP RMSE estimates the Hessian element RMSE (see :mod:`mlip_lab.train.hessian_losses`).
"""

from __future__ import annotations

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.probes import PROBE_KINDS
from mlip_lab.train.hessian_losses import PROBE_REGIMES, HessianLoss, HVPLoss
from mlip_lab.train.losses import EnergyLoss, ForceLoss, Loss
from mlip_lab.train.trainer import Trainer

SCHEMES = ("E-F", "E-F-HVP-onehot", "E-F-HVP-random", "E-F-H")
REFERENCE_WEIGHTS = {"energy": 1.0, "forces": 0.30, "hessian": 0.09}


def scheme_loss(name: str, probes: str = "redrawn", random_kind: str = "gaussian", seed: int = 0,
                weights: dict | None = None) -> Loss:
    """The loss of scheme ``name`` (one of :data:`SCHEMES`).

    probes: "redrawn" (a new probe per configuration every mini-batch) or "fixed" (one probe per
    configuration for the whole run, from its dataset index and ``seed``). random_kind: "gaussian" or
    "rademacher" for E-F-HVP-random. weights: overrides of :data:`REFERENCE_WEIGHTS` (keys energy,
    forces, hessian).
    """
    if name not in SCHEMES:
        raise MLIPLabError(f"unknown scheme {name!r}; choose one of {SCHEMES}")
    if probes not in PROBE_REGIMES:
        raise MLIPLabError(f"probes must be one of {PROBE_REGIMES}, got {probes!r}")
    if random_kind not in PROBE_KINDS or random_kind == "one_hot":
        raise MLIPLabError(f"random_kind must be 'gaussian' or 'rademacher', got {random_kind!r}")
    unknown = sorted(set(weights or {}) - set(REFERENCE_WEIGHTS))
    if unknown:
        raise MLIPLabError(f"unknown weight keys {unknown}; use {sorted(REFERENCE_WEIGHTS)}")
    w = {**REFERENCE_WEIGHTS, **(weights or {})}
    terms = [EnergyLoss(w["energy"]), ForceLoss(w["forces"])]
    if name == "E-F-H":
        terms.append(HessianLoss(w["hessian"]))
    elif name != "E-F":
        kind = "one_hot" if name == "E-F-HVP-onehot" else random_kind
        terms.append(HVPLoss(kind, probes, seed, weight=w["hessian"]))
    return Loss(terms)


def train_scheme(name: str, model, train_set, valid_set, *, probes: str = "redrawn", seed: int = 0,
                 **trainer_options) -> Trainer:
    """Train ``model`` with scheme ``name`` and return the finished :class:`Trainer`.

    The same ``seed`` drives batch order, probes and (for fixed probes) the probe of each configuration.
    ``trainer_options`` go to :class:`Trainer` (lr, batch_size, max_epochs, ...).
    """
    trainer = Trainer(model, scheme_loss(name, probes=probes, seed=seed), train_set, valid_set, seed=seed,
                      **trainer_options)
    trainer.fit()
    return trainer
