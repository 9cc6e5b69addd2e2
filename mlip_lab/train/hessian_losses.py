"""Loss terms on second derivatives: projected Hessians (Hessian-vector products) and full Hessians.

Both differentiate the predicted forces again, so they set ``needs_hessians`` and :class:`Loss` keeps the
force graph. Their errors are in eV/Å² (the HVP of a unit probe has the unit of H). With probes normalised
as in :mod:`mlip_lab.physics.probes`, the mean squared HVP error per component is an unbiased estimate of
the mean squared Hessian element error, so the two terms are on the same scale and take the same weight.

Shapes: B configurations, N (padded) atoms.
"""

from __future__ import annotations

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.hessians import HVP_METHODS, gradient_hessian, gradient_hvp, matrix_hvp, model_hvp
from mlip_lab.physics.probes import PROBE_KINDS, fixed_probes, random_probes
from mlip_lab.train.losses import ErrorTerm, LossContext

PROBE_REGIMES = ("redrawn", "fixed")


class HVPLoss(ErrorTerm):
    """Error of projected Hessians: predicted H v = -d(F . v)/dR (double backward) minus H_ref v.

    kind: the probe kind ("one_hot", "gaussian" or "rademacher"). regime: "redrawn" draws a new probe for
    every configuration in every mini-batch from ``context.generator``; "fixed" gives each configuration
    one probe for the whole run, derived from its dataset index and ``seed``. method: "double_backward"
    differentiates the force graph the loss already has (cheapest); "forward_over_reverse" runs the model
    again under ``torch.func.jvp`` (same numbers, for comparison). Errors (K, 3) over the real atoms, eV/Å².
    """

    quantity = "hvp"
    fields = ("hessians",)
    needs_hessians = True

    def __init__(self, kind: str = "gaussian", regime: str = "redrawn", seed: int = 0, weight: float = 1.0,
                 metric: str = "rmse", name: str | None = None, method: str = "double_backward"):
        if kind not in PROBE_KINDS:
            raise MLIPLabError(f"probe kind must be one of {PROBE_KINDS}, got {kind!r}")
        if regime not in PROBE_REGIMES:
            raise MLIPLabError(f"probe regime must be one of {PROBE_REGIMES}, got {regime!r}")
        if method not in HVP_METHODS:
            raise MLIPLabError(f"method must be one of {HVP_METHODS}, got {method!r}")
        super().__init__(weight, metric, name)
        self.kind, self.regime, self.seed, self.method = kind, regime, int(seed), method

    def probes(self, context: LossContext) -> torch.Tensor:
        """(B, N, 3) this batch's probes, in the positions' dtype and device."""
        batch, dtype = context.batch, context.positions.dtype
        if self.regime == "fixed":
            return fixed_probes(batch.mask, batch.indices, self.kind, self.seed, dtype=dtype)
        return random_probes(batch.mask, self.kind, context.generator, dtype=dtype)

    def errors(self, context: LossContext) -> torch.Tensor:
        batch = context.batch
        probes = self.probes(context)
        if self.method == "double_backward":
            predicted = gradient_hvp(-context.forces, context.positions, probes, create_graph=True)
        else:
            predicted = model_hvp(context.model, batch.species, context.positions, probes, batch.cells, batch.pbc,
                                  method=self.method, create_graph=True)
        return (predicted - matrix_hvp(batch.hessians, probes))[batch.mask]


class HessianLoss(ErrorTerm):
    """Error of the full Hessian elements (K,) over pairs of real coordinates, eV/Å².

    The Hessian is built by one batched double-backward pass over all 3N directions (cost grows with N).
    """

    quantity = "hessian"
    fields = ("hessians",)
    needs_hessians = True

    def errors(self, context: LossContext) -> torch.Tensor:
        batch = context.batch
        predicted = gradient_hessian(-context.forces, context.positions, create_graph=True)
        real = batch.mask.repeat_interleave(3, dim=1)  # (B, 3N)
        pairs = real[:, :, None] & real[:, None, :]
        return (predicted - batch.hessians)[pairs]
