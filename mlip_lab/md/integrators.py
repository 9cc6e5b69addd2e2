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


def _half_kick(state: MDState, velocities: torch.Tensor, forces: torch.Tensor, dt: float) -> torch.Tensor:
    """v + a dt/2 with a = F/m, in Å/fs; zero for atoms that may not move. velocities, forces: (B, N, 3)."""
    return torch.where(_moving(state), velocities + 0.5 * dt * _accelerations(state, forces), 0.0)


def _drift(state: MDState, positions: torch.Tensor, velocities: torch.Tensor, dt: float) -> torch.Tensor:
    """x + v dt for atoms that may move, wrapped into the cell along periodic axes. (B, N, 3) Å."""
    moved = torch.where(_moving(state), positions + dt * velocities, positions)
    return wrap_positions(moved, state.cells, state.pbc)


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
        velocities = _half_kick(state, state.velocities, state.forces, dt)
        positions = _drift(state, state.positions, velocities, dt)
        energies, forces = _evaluate(state, force_field, positions)
        velocities = _half_kick(state, velocities, forces, dt)
        return state.replace(positions=positions, velocities=velocities, energies=energies, forces=forces,
                             step=state.step + 1, time=state.time + dt)

    return Integrator("velocity Verlet (NVE)", dt, _init(force_field), step)


def _langevin_noise(state: MDState, seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard normal numbers shaped like ``state.velocities`` and the advanced ``rng_state`` to store.

    The stream continues from ``state.rng_state``; a state without one starts a stream from ``seed`` (None: a
    fresh non-deterministic seed). The numbers are drawn on the CPU and moved to the state's device, so the
    stream, and with it the trajectory, does not depend on where the state lives; torch's global generator is
    left alone.
    """
    generator = torch.Generator()
    if state.rng_state is not None:
        generator.set_state(state.rng_state)
    elif seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    noise = torch.randn(state.velocities.shape, generator=generator, dtype=state.velocities.dtype)
    return noise.to(state.velocities.device), generator.get_state()


def langevin(force_field: ForceField, timestep: float, friction: float = 0.01, seed: int | None = 0) -> Integrator:
    """NVT Langevin dynamics by BAOAB at each replica's ``state.temperatures``.

    timestep: fs; friction gamma: 1/fs (0.01 /fs = 10 /ps couples gently; 1/gamma is the velocity memory time).
    The random kicks come from the stream carried by the state (``state.rng_state``), so a state alone resumes
    or repeats a run exactly; ``seed`` (None: a fresh one) only starts the stream of a state that has none yet.
    The kick's centre-of-mass part is removed, so the thermostat samples the 3N - 3 internal degrees of freedom
    and molecules do not drift away.
    """
    dt = _check_timestep(timestep)
    if not (math.isfinite(friction) and friction > 0):
        raise MLIPLabError(f"the friction must be a positive rate in 1/fs, got {friction}")
    c1 = math.exp(-friction * dt)
    c2 = math.sqrt(1.0 - c1 * c1)

    def step(state: MDState) -> MDState:
        _require_init(state)
        velocities = _half_kick(state, state.velocities, state.forces, dt)  # B
        positions = _drift(state, state.positions, velocities, 0.5 * dt)  # A
        thermal = (BOLTZMANN_EV_PER_K * state.temperatures[:, None]
                   / (state.masses.clamp(min=1e-30) * AMU_A2_PER_FS2_IN_EV)).sqrt()[..., None]
        noise, rng_state = _langevin_noise(state, seed)
        velocities = c1 * velocities + c2 * thermal * noise  # O
        velocities = torch.where(_moving(state), remove_com_velocity(state.masses, velocities), 0.0)
        positions = _drift(state, positions, velocities, 0.5 * dt)  # A
        energies, forces = _evaluate(state, force_field, positions)
        velocities = _half_kick(state, velocities, forces, dt)  # B
        return state.replace(positions=positions, velocities=velocities, energies=energies, forces=forces,
                             rng_state=rng_state, step=state.step + 1, time=state.time + dt)

    return Integrator(f"Langevin BAOAB (NVT, friction {friction:g}/fs)", dt, _init(force_field), step)


def _require_init(state: MDState) -> None:
    if state.forces is None:
        raise MLIPLabError("the state has no forces yet; call integrator.init(state) before integrator.step")
