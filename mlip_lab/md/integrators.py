"""Functional integrators as (init, step) pairs over a batched :class:`~mlip_lab.md.state.MDState`.

``init(state)`` removes centre-of-mass motion and evaluates forces; ``step(state)`` returns the next state,
calling the force field exactly once for all replicas. Inactive (blown-up) replicas and padded atoms never move.

- :func:`velocity_verlet`: NVE, time-reversible and symplectic, so the energy error stays bounded.
- :func:`langevin`: NVT by BAOAB splitting (Leimkuhler & Matthews 2013): half kick, half drift, exact
  Ornstein-Uhlenbeck velocity update, half drift, half kick. Its configurational sampling is accurate to high
  order in the time step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.md.state import AMU_A2_PER_FS2_IN_EV, MDState, remove_com_velocity, wrap_positions
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K

ForceField = Callable[..., tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Integrator:
    """``init(state) -> state`` (forces evaluated) and ``step(state) -> state``; ``timestep`` in fs."""

    name: str
    timestep: float
    init: Callable[[MDState], MDState]
    step: Callable[[MDState], MDState]


def _check_timestep(timestep: float) -> float:
    timestep = float(timestep)
    if not (math.isfinite(timestep) and timestep > 0):
        raise MLIPLabError(f"the time step must be a positive number of fs, got {timestep}")
    return timestep


def _moving(state: MDState) -> torch.Tensor:
    """(B, N, 1) True for real atoms of active replicas: the only ones an integrator may move."""
    return (state.real & state.active[:, None])[..., None]


def _accelerations(state: MDState, forces: torch.Tensor) -> torch.Tensor:
    """F / m in Å/fs², zero on padding and in inactive replicas. forces (B, N, 3) eV/Å."""
    inverse_mass = torch.where(state.masses > 0, 1.0 / state.masses.clamp(min=1e-30), 0.0) / AMU_A2_PER_FS2_IN_EV
    return torch.where(_moving(state), forces * inverse_mass[..., None], 0.0)


def _evaluate(state: MDState, force_field: ForceField, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    energies, forces = force_field(state.species, positions, state.cells, state.pbc)
    return energies.detach(), forces.detach()


def _init(force_field: ForceField):
    def init(state: MDState) -> MDState:
        velocities = torch.where(_moving(state), remove_com_velocity(state.masses, state.velocities), 0.0)
        energies, forces = _evaluate(state, force_field, state.positions)
        return state.replace(velocities=velocities, energies=energies, forces=forces)

    return init


def velocity_verlet(force_field: ForceField, timestep: float) -> Integrator:
    """NVE velocity Verlet with ``timestep`` fs: v += a dt/2; x += v dt; new forces; v += a dt/2."""
    dt = _check_timestep(timestep)

    def step(state: MDState) -> MDState:
        _require_init(state)
        moving = _moving(state)
        velocities = state.velocities + 0.5 * dt * _accelerations(state, state.forces)
        positions = torch.where(moving, state.positions + dt * velocities, state.positions)
        positions = wrap_positions(positions, state.cells, state.pbc)
        energies, forces = _evaluate(state, force_field, positions)
        velocities = torch.where(moving, velocities + 0.5 * dt * _accelerations(state, forces), 0.0)
        return state.replace(positions=positions, velocities=velocities, energies=energies, forces=forces,
                             step=state.step + 1, time=state.time + dt)

    return Integrator("velocity Verlet (NVE)", dt, _init(force_field), step)


def langevin(force_field: ForceField, timestep: float, friction: float = 0.01, seed: int | None = 0) -> Integrator:
    """NVT Langevin dynamics by BAOAB at each replica's ``state.temperatures``.

    timestep: fs; friction gamma: 1/fs (0.01 /fs = 10 /ps couples gently; 1/gamma is the velocity memory time).
    The random kick is drawn from ``seed`` (None: a fresh seed) and its centre-of-mass part is removed, so the
    thermostat samples the 3N - 3 internal degrees of freedom and molecules do not drift away.
    """
    dt = _check_timestep(timestep)
    if not (math.isfinite(friction) and friction > 0):
        raise MLIPLabError(f"the friction must be a positive rate in 1/fs, got {friction}")
    c1 = math.exp(-friction * dt)
    c2 = math.sqrt(1.0 - c1 * c1)
    generators: dict[torch.device, torch.Generator] = {}  # one per device, so CUDA states draw on the GPU

    def noise_like(velocities: torch.Tensor) -> torch.Tensor:
        device = velocities.device
        if device not in generators:
            generators[device] = torch.Generator(device=device)
            if seed is None:
                generators[device].seed()  # non-deterministic, leaves torch's global generator alone
            else:
                generators[device].manual_seed(seed)
        return torch.randn(velocities.shape, generator=generators[device], dtype=velocities.dtype, device=device)

    def step(state: MDState) -> MDState:
        _require_init(state)
        moving = _moving(state)
        velocities = state.velocities + 0.5 * dt * _accelerations(state, state.forces)  # B
        positions = torch.where(moving, state.positions + 0.5 * dt * velocities, state.positions)  # A
        thermal = (BOLTZMANN_EV_PER_K * state.temperatures[:, None]
                   / (state.masses.clamp(min=1e-30) * AMU_A2_PER_FS2_IN_EV)).sqrt()[..., None]
        velocities = c1 * velocities + c2 * thermal * noise_like(velocities)  # O
        velocities = torch.where(moving, remove_com_velocity(state.masses, velocities), 0.0)
        positions = torch.where(moving, positions + 0.5 * dt * velocities, state.positions)  # A
        positions = wrap_positions(positions, state.cells, state.pbc)
        energies, forces = _evaluate(state, force_field, positions)
        velocities = torch.where(moving, velocities + 0.5 * dt * _accelerations(state, forces), 0.0)  # B
        return state.replace(positions=positions, velocities=velocities, energies=energies, forces=forces,
                             step=state.step + 1, time=state.time + dt)

    return Integrator(f"Langevin BAOAB (NVT, friction {friction:g}/fs)", dt, _init(force_field), step)


def _require_init(state: MDState) -> None:
    if state.forces is None:
        raise MLIPLabError("the state has no forces yet; call integrator.init(state) before integrator.step")
