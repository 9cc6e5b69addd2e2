"""The model contract: what every model kind provides, and :func:`check_model`, which every model user calls.

Trainer, MD force fields, the ASE calculator, the TorchSim adapter, Hessian-vector products and the lessons
accept any object that passes :func:`check_model`, not one class. A new model kind (an ensemble, a distilled
student, a coarse-grained model) joins the library by passing it, and the conformance test in
``tests/models/test_contract.py`` then runs it through every consumer.

The contract, in words (shapes: B configurations, N padded atoms):

- It is a ``torch.nn.Module`` with at least one floating-point parameter. Its first floating parameter sets
  the model's **device and dtype**; callers put positions, cells and pbc there in that dtype (species, long,
  may be anywhere). Outputs come back on that device in that dtype.
- ``elements``: the atomic numbers it accepts, a tuple of distinct ints. Species 0 marks padding.
- ``forward(species, positions, cells=None, pbc=None)`` (also reached by calling the model):
  species (B, N) long; positions (B, N, 3) Å; cells (B, 3, 3) Å row vectors or None; pbc (B, 3) bool or None.
  Returns an output whose ``energy`` (B,) eV is differentiable with respect to ``positions`` (forces are
  -dE/dR, Hessians its second derivative) and whose ``atomic_energies`` (B, N) eV sum to ``energy`` and are
  zero on padding. Padded atoms must not change anything.
- ``predict(species, positions, cells=None, pbc=None, forces=True)``: the same quantities detached,
  plus ``forces`` (B, N, 3) eV/Å (zero on padding) when asked, else None. (HIPNN and Ensemble also take a
  :class:`~mlip_lab.data.Batch` in place of the tensors, as a convenience; consumers pass tensors.)
- Optional: ``fit_reference_energies(species, energies)`` and a ``reference_energies`` buffer, for kinds
  with per-element reference energies (see :func:`fit_reference_energies`).
"""

from __future__ import annotations

import weakref
from typing import Protocol, runtime_checkable

import torch

from mlip_lab.data.batch import Batch
from mlip_lab.errors import MLIPLabError


@runtime_checkable
class ModelOutput(Protocol):
    """What ``forward`` and ``predict`` return: energy (B,) eV, atomic_energies (B, N) eV, forces (B, N, 3) eV/Å or None."""

    energy: torch.Tensor
    atomic_energies: torch.Tensor
    forces: torch.Tensor | None


@runtime_checkable
class Model(Protocol):
    """Structural type of every model kind; see the module docstring for the rules behind each member."""

    elements: tuple[int, ...]

    def forward(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> ModelOutput: ...

    def predict(self, species, positions, cells=None, pbc=None, forces: bool = True) -> ModelOutput: ...

    def parameters(self, recurse: bool = True): ...


# Models that passed the behavioural probe, with the (device, dtype) they passed it in: a model is probed
# once, not on every call of a consumer that is used inside a loop (Hessians of a dataset, HVPs).
_VERIFIED: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()

# The probe: two atoms 1.1 Å apart plus one padded slot; relative tolerance for sums of atomic energies.
_PROBE_DISTANCE = 1.1
_SUM_TOLERANCE = 1e-4


def device_and_dtype(model) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of ``model``'s first floating-point parameter (the contract's rule)."""
    for parameter in model.parameters():
        if parameter.is_floating_point():
            return parameter.device, parameter.dtype
    raise MLIPLabError(f"{type(model).__name__} has no floating-point parameters, so it has no dtype or device")


def predict_by_autograd(model, batch_or_species, positions=None, cells=None, pbc=None, forces: bool = True):
    """The model contract's ``predict`` for a kind whose ``forward`` returns energy, atomic energies and (where it
    has them) layer energies: the same output class, detached, with F = -dE/dR by autograd when ``forces``.

    Takes a :class:`~mlip_lab.data.Batch` or the tensors of ``forward``; positions go to the model's device and
    dtype. The output class must take the keywords energy, atomic_energies, forces and layer_energies.
    """
    from mlip_lab.physics.forces import forces_from_energy  # physics imports this module: import when called

    species, positions, cells, pbc = model_inputs(batch_or_species, positions, cells, pbc)
    device, dtype = device_and_dtype(model)
    positions = torch.as_tensor(positions, dtype=dtype, device=device)
    with torch.set_grad_enabled(forces):
        positions = positions.detach().requires_grad_(forces)
        out = model(species, positions, cells, pbc)
        force = forces_from_energy(out.energy, positions) if forces else None
    layers = getattr(out, "layer_energies", None)
    return type(out)(energy=out.energy.detach(), atomic_energies=out.atomic_energies.detach(), forces=force,
                     layer_energies=None if layers is None else layers.detach())


def model_inputs(batch_or_species, positions=None, cells=None, pbc=None) -> tuple:
    """(species, positions, cells, pbc) from a :class:`~mlip_lab.data.Batch` or from the tensors themselves,
    for ``predict`` methods that accept either."""
    if isinstance(batch_or_species, Batch):
        b = batch_or_species
        return b.species, b.positions, b.cells, b.pbc
    if positions is None:
        raise MLIPLabError("predict needs a Batch, or species and positions")
    return torch.as_tensor(batch_or_species, dtype=torch.long), positions, cells, pbc


def check_model(model, consumer: str = "this") -> Model:
    """Raise :class:`MLIPLabError` naming what ``model`` lacks of the contract; return it unchanged if it passes.

    Checks the members (``elements``, ``forward``, ``predict``, parameters), then runs one tiny probe
    (a padded two-atom configuration of the model's first element) through ``forward`` and ``predict``:
    output fields, shapes, device, dtype, finiteness, atomic energies summing to the energy, zero forces
    and atomic energies on padding, and an energy that depends on positions through autograd.
    ``consumer`` names the caller in the message (e.g. "the Trainer"). The probe runs once per model,
    device and dtype.
    """
    kind = type(model).__name__
    where = f"{consumer} needs a model that follows mlip_lab's model contract (mlip_lab.models.contract), but {kind}"
    if not isinstance(model, torch.nn.Module):
        raise MLIPLabError(f"{where} is not a torch.nn.Module; wrap it in one (or train a mlip_lab.models.HIPNN)")
    missing = [name for name in ("elements", "predict") if not hasattr(model, name)]
    if missing:
        raise MLIPLabError(f"{where} has no {' or '.join(missing)}")
    elements = model.elements
    if (not isinstance(elements, tuple) or not elements or len(set(elements)) != len(elements)
            or not all(isinstance(z, int) and 1 <= z <= 118 for z in elements)):
        raise MLIPLabError(f"{where} has elements={elements!r}; it must be a tuple of distinct atomic numbers 1..118")
    device, dtype = device_and_dtype(model)
    if _VERIFIED.get(model) != (device, dtype):
        _probe(model, where, device, dtype)
        _VERIFIED[model] = (device, dtype)
    return model


def _probe(model, where: str, device: torch.device, dtype: torch.dtype) -> None:
    species = torch.tensor([[model.elements[0], model.elements[0], 0]], device=device)
    positions = torch.zeros(1, 3, 3, dtype=dtype, device=device)
    positions[0, 1, 2] = _PROBE_DISTANCE
    positions.requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = model(species, positions)
            _check_output(out, where, "forward", device, dtype, with_forces=False)
            gradient = None
            if out.energy.requires_grad:
                (gradient,) = torch.autograd.grad(out.energy.sum(), positions, allow_unused=True)
        if gradient is None:
            raise MLIPLabError(f"{where}'s forward returns an energy that does not depend on positions through "
                               "autograd; forces -dE/dR need it")
        if bool(gradient[0, 2].abs().max() > 0):
            raise MLIPLabError(f"{where}'s energy depends on the position of a padded atom (species 0); "
                               "padding must not change anything")
        predicted = model.predict(species, positions.detach(), forces=True)
        _check_output(predicted, where, "predict", device, dtype, with_forces=True)
    finally:
        model.train(was_training)


def _check_output(out, where: str, method: str, device, dtype, with_forces: bool) -> None:
    """Fields, shapes, device, dtype and values of one probe output (1 configuration, 3 slots, the last padding)."""
    for name in ("energy", "atomic_energies", "forces"):
        if not hasattr(out, name):
            raise MLIPLabError(f"{where}'s {method} returns {type(out).__name__} without {name!r}")
    shapes = {"energy": (1,), "atomic_energies": (1, 3)}
    if with_forces:
        shapes["forces"] = (1, 3, 3)
    for name, shape in shapes.items():
        value = getattr(out, name)
        if not isinstance(value, torch.Tensor):
            raise MLIPLabError(f"{where}'s {method} gives {name} as {type(value).__name__}, not a tensor")
        if tuple(value.shape) != shape:
            raise MLIPLabError(f"{where}'s {method} gives {name} of shape {tuple(value.shape)} for one configuration "
                               f"of 3 (padded) atoms; the contract says {shape}")
        if value.dtype != dtype or value.device.type != device.type:
            raise MLIPLabError(f"{where}'s {method} gives {name} as {value.dtype} on {value.device}, but the model "
                               f"is {dtype} on {device}; outputs must follow the model's dtype and device")
        if not bool(torch.isfinite(value).all()):
            raise MLIPLabError(f"{where}'s {method} gives non-finite {name} for two atoms {_PROBE_DISTANCE} Å apart")
        if name != "energy" and bool(value[0, 2].abs().sum() > 0):
            raise MLIPLabError(f"{where}'s {method} gives non-zero {name} on a padded atom (species 0)")
    total = out.atomic_energies.detach().sum(-1)
    scale = max(1.0, float(out.energy.detach().abs().max()))
    if float((total - out.energy.detach()).abs().max()) > _SUM_TOLERANCE * scale:
        raise MLIPLabError(f"{where}'s {method} gives atomic energies summing to {float(total[0]):.6g} eV, not to its "
                           f"energy {float(out.energy.detach()[0]):.6g} eV; they must add up")


def fit_reference_energies(model, species, energies) -> torch.Tensor:
    """Fit a model's per-element reference energies by least squares over composition (an explicit step).

    species: (M, N) atomic numbers (0 = padding); energies: (M,) eV. Works for every kind that has them
    (a HIPNN, an Ensemble: each member). Returns what the model stored. Raises :class:`MLIPLabError` for a
    kind without reference energies.
    """
    if not hasattr(model, "fit_reference_energies"):
        raise MLIPLabError(f"{type(model).__name__} has no per-element reference energies to fit; "
                           "train it without this step")
    return model.fit_reference_energies(species, energies)


def composition_least_squares(index: torch.Tensor, n_elements: int, energies) -> torch.Tensor:
    """Per-element energies e (n_elements,) float64 from E_m ~ sum_k count_mk e_k by least squares.

    index: (M, N) each atom's position in the model's element list, -1 on padding; energies: (M,) eV. Elements
    absent from the data, and directions the compositions cannot tell apart (e.g. one stoichiometry only), get
    the minimum-norm solution (gelsd handles the rank deficiency). The one fit every kind with reference
    energies uses.
    """
    counts = torch.nn.functional.one_hot(index.clamp(min=0), n_elements)
    counts = (counts * (index >= 0)[..., None]).sum(1).to(torch.float64).cpu()
    targets = torch.as_tensor(energies, dtype=torch.float64).reshape(-1, 1).cpu()
    if targets.shape[0] != counts.shape[0]:
        raise MLIPLabError(f"got {counts.shape[0]} configurations but {targets.shape[0]} energies")
    return torch.linalg.lstsq(counts, targets, driver="gelsd").solution.reshape(-1)


def reference_energies_unset(model) -> bool:
    """True when ``model`` has per-element reference energies and they are all still zero (never fitted)."""
    if not hasattr(model, "fit_reference_energies"):
        return False
    return not any(bool(buffer.any()) for name, buffer in model.named_buffers() if name.endswith("reference_energies"))
