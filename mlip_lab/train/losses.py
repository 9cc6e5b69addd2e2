"""Loss terms as small composable objects, and :class:`Loss`, their weighted sum.

A training scheme is a list of terms, not a subclass: E-F is ``[EnergyLoss(), ForceLoss(weight=...)]``,
the teacher-student recipe adds an :class:`AtomicEnergyLoss`, and so on. Every term reads what it needs
from one :class:`LossContext`, so the model runs once per batch however many terms there are.

Shapes: B configurations, N (padded) atoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mlip_lab.data.batch import Batch
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import ModelOutput
from mlip_lab.models.hipnn import hierarchicality
from mlip_lab.physics.forces import forces_from_energy

METRICS = {
    "rmse": lambda errors: torch.sqrt((errors**2).mean()),
    "mae": lambda errors: errors.abs().mean(),
}


@dataclass
class LossContext:
    """Everything a term may read for one batch.

    model: the model being trained (any kind that follows the model contract). batch: the reference data.
    positions: (B, N, 3) the tensor the model saw; it requires grad whenever some term needs forces or
    Hessians, so a term can differentiate the energy graph again (e.g. a Hessian-vector product
    -d(F . v)/dR). output: the model's one forward pass (energy, atomic energies, and whatever else its kind
    returns, e.g. a HIPNN's layer energies).
    forces: (B, N, 3) eV/Å predicted, or None when no term needs them; during training they keep their
    graph. generator: the trainer's (CPU) random stream, for terms that draw random numbers (e.g. probe
    vectors: draw on the CPU, then move), so that a seeded run is reproducible; None outside a trainer.
    """

    model: torch.nn.Module
    batch: Batch
    positions: torch.Tensor
    output: ModelOutput
    forces: torch.Tensor | None
    generator: torch.Generator | None = None


class LossTerm:
    """One scalar term of a loss; subclasses implement :meth:`value`.

    name: the key of this term in logs and histories. weight: its factor in the total.
    metric: "rmse" or "mae" for terms that compare predictions with labels, None for regularisers.
    fields: the batch fields the term needs (e.g. ``("forces",)``). needs_forces: the term reads
    ``context.forces``. needs_hessians: the term differentiates the forces again (Hessian-vector products,
    full Hessians), so the forces keep their graph even when the loss is only evaluated.
    """

    fields: tuple[str, ...] = ()
    needs_forces: bool = False
    needs_hessians: bool = False
    metric: str | None = None

    def __init__(self, name: str, weight: float = 1.0):
        self.name = name
        self.weight = float(weight)

    def value(self, context: LossContext) -> torch.Tensor:
        """The unweighted term, a 0-d tensor."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, weight={self.weight:g})"


class ErrorTerm(LossTerm):
    """A term that reduces prediction-minus-reference errors by RMSE or MAE; subclasses implement :meth:`errors`."""

    quantity = ""  # the default name is f"{quantity}_{metric}"

    def __init__(self, weight: float = 1.0, metric: str = "rmse", name: str | None = None):
        if metric not in METRICS:
            raise MLIPLabError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
        super().__init__(name or f"{self.quantity}_{metric}", weight)
        self.metric = metric

    def errors(self, context: LossContext) -> torch.Tensor:
        """Prediction minus reference for every compared value, any shape."""
        raise NotImplementedError

    def value(self, context: LossContext) -> torch.Tensor:
        return METRICS[self.metric](self.errors(context))


class EnergyLoss(ErrorTerm):
    """Error of the total energies (B,) in eV, or of the energies per atom with ``per_atom=True``."""

    fields = ("energies",)

    def __init__(self, weight: float = 1.0, metric: str = "rmse", per_atom: bool = False, name: str | None = None):
        self.per_atom = per_atom
        self.quantity = "energy_per_atom" if per_atom else "energy"
        super().__init__(weight, metric, name)

    def errors(self, context: LossContext) -> torch.Tensor:
        error = context.output.energy - context.batch.energies
        return error / context.batch.mask.sum(1) if self.per_atom else error


class ForceLoss(ErrorTerm):
    """Error of the force components (K, 3) of the real atoms, eV/Å; padding rows are left out."""

    quantity = "forces"
    fields = ("forces",)
    needs_forces = True

    def errors(self, context: LossContext) -> torch.Tensor:
        mask = context.batch.mask
        return context.forces[mask] - context.batch.forces[mask]


class AtomicEnergyLoss(ErrorTerm):
    """Error of the per-atom energies (K,) of the real atoms against ``batch.atomic_energies``, eV."""

    quantity = "atomic_energies"
    fields = ("atomic_energies",)

    def errors(self, context: LossContext) -> torch.Tensor:
        mask = context.batch.mask
        return context.output.atomic_energies[mask] - context.batch.atomic_energies[mask]


class HierarchicalityLoss(LossTerm):
    """Batch mean of :attr:`HIPNNOutput.hierarchicality`: pushes each layer's energy below the previous one's.

    Needs a model kind whose output has layer energies (a HIPNN)."""

    def __init__(self, weight: float = 1.0, name: str = "hierarchicality"):
        super().__init__(name, weight)

    def value(self, context: LossContext) -> torch.Tensor:
        if getattr(context.output, "layer_energies", None) is None:
            raise MLIPLabError(f"loss term {self.name!r} needs per-layer energies, which a "
                               f"{type(context.model).__name__} does not give; drop the term or train a HIPNN")
        return hierarchicality(context.output.layer_energies).mean()


class L2Loss(LossTerm):
    """Sum of squares of the model's weight matrices and interaction tensors.

    Biases, sensitivity centres and widths and tensor scales are left out: they set the position and
    scale of features, not how wiggly the fitted function is, and penalising the widths would blur the
    sensitivities. Keep the weight small (the default 1e-6 is typical for eV-scale energies).
    """

    def __init__(self, weight: float = 1e-6, name: str = "l2"):
        super().__init__(name, weight)

    def value(self, context: LossContext) -> torch.Tensor:
        return sum((p**2).sum() for name, p in context.model.named_parameters() if _is_weight(name))


def _is_weight(parameter_name: str) -> bool:
    """True for nn.Linear weights and the interaction tensors V of HIP-NN."""
    return parameter_name.rsplit(".", 1)[-1] in ("weight", "interaction")


class Loss:
    """The weighted sum of loss terms: ``total = sum_t weight_t * value_t``.

    ``loss(model, batch)`` runs the model once, computes forces (with ``create_graph`` while training)
    only if a term needs them, and returns ``(total, values)``: the 0-d total with its graph, and
    ``{term name: unweighted value}`` as detached 0-d tensors for logging.
    """

    def __init__(self, terms: Sequence[LossTerm]):
        terms = tuple(terms)
        if not terms or not all(isinstance(t, LossTerm) for t in terms):
            raise MLIPLabError("a Loss needs at least one loss term, e.g. Loss([EnergyLoss(), ForceLoss(weight=10)])")
        names = [t.name for t in terms]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise MLIPLabError(f"loss term names must be unique, {repeated} appear more than once; pass name=...")
        if "total" in names:
            raise MLIPLabError("'total' is reserved for the weighted sum; give that term another name")
        self.terms = terms

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    @property
    def needs_forces(self) -> bool:
        """Some term reads the predicted forces (Hessian terms differentiate them, so they count too)."""
        return any(t.needs_forces or t.needs_hessians for t in self.terms)

    @property
    def needs_hessians(self) -> bool:
        """Some term differentiates the forces again."""
        return any(t.needs_hessians for t in self.terms)

    def check(self, data, where: str = "the batch") -> None:
        """Raise :class:`MLIPLabError` if ``data`` (a Dataset or Batch) lacks a field some term needs."""
        for term in self.terms:
            for field in term.fields:
                if getattr(data, field, None) is None:
                    raise MLIPLabError(
                        f"loss term {term.name!r} needs reference {field}, but {where} has none; "
                        f"use a dataset with {field} or drop the term"
                    )

    def __call__(self, model, batch: Batch, *, training: bool = True,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Evaluate on one batch. ``training=False`` skips the graphs only a backward pass would need."""
        self.check(batch)
        with torch.set_grad_enabled(training or self.needs_forces):
            positions = batch.positions.detach().requires_grad_(self.needs_forces)
            output = model(batch.species, positions, batch.cells, batch.pbc)
            forces = None
            if self.needs_forces:
                forces = forces_from_energy(output.energy, positions, create_graph=training or self.needs_hessians)
            context = LossContext(model, batch, positions, output, forces, generator)
            values = {t.name: t.value(context) for t in self.terms}
            total = sum(t.weight * values[t.name] for t in self.terms)
        return total, {name: v.detach() for name, v in values.items()}

    def __repr__(self) -> str:
        return f"Loss({list(self.terms)})"


def energy_force_loss(force_weight: float, energy_weight: float = 1.0, metric: str = "rmse+mae") -> Loss:
    """The E-F scheme: ``energy_weight`` times the energy error plus ``force_weight`` times the force error.

    Errors are in eV and eV/Å, so the weights also convert units: ``force_weight`` sets how many eV of
    energy error one eV/Å of force error is worth. ``metric`` is "rmse", "mae", or "rmse+mae" (the default,
    as in hippynn): each error counted as RMSE plus MAE. The MAE's gradient keeps its size as errors shrink,
    so small errors keep being pushed down: with lesson 01's model on `organics` (100 epochs, one seed) it lowered
    the test force MAE by 5 % at tensor order 0 and by 9 % at order 2, where it was measured together with a
    hierarchicality term (benchmarks/peer_hippynn_differences.md).
    """
    metrics = metric.split("+")
    if metric not in ("rmse", "mae", "rmse+mae"):
        raise MLIPLabError(f"metric must be 'rmse', 'mae' or 'rmse+mae', got {metric!r}")
    return Loss([term(weight, m) for term, weight in ((EnergyLoss, energy_weight), (ForceLoss, force_weight))
                 for m in metrics])
