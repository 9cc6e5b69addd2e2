"""How fast the atomistic reference runs here: simulated ps per wall-clock hour of OpenMM NVT on a given
methanol box, to set beside CG MD of the same number of molecules (same machine, same moment)."""

from __future__ import annotations

import time

import numpy as np

from mlip_lab.cg.reference import liquid
from mlip_lab.errors import MLIPLabError

FS_PER_PS = 1000.0
SECONDS_PER_HOUR = 3600.0


def atomistic_ps_per_hour(positions, box_edge: float, temperature: float, n_steps: int = 200, *,
                          warmup_steps: int = 20, cutoff: float = 10.0, timestep: float = 4.0,
                          hydrogen_mass: float | None = 3.0, platform_name: str = "CPU", threads: int | None = None,
                          seed: int = 0) -> float:
    """Simulated ps per wall-clock hour of the reference (OPLS-AA methanol, PME, H bonds constrained, Langevin)
    started from ``positions`` (n_molecules * 6, 3) Å, atoms in the force field's order C, O, HO, H1, H2, H3,
    in a cubic box of ``box_edge`` Å at ``temperature`` K. ``warmup_steps`` run untimed first (context set-up,
    first PME grids); then ``n_steps`` of ``timestep`` fs are timed. The defaults are the ``cg_methanol`` build's
    settings (4 fs with 3 amu hydrogens); ``timestep=2.0, hydrogen_mass=None`` is the textbook set-up."""
    positions = np.asarray(positions, dtype=float)
    atoms = len(liquid.ATOM_NAMES)
    if positions.ndim != 2 or positions.shape[1] != 3 or len(positions) % atoms:
        raise MLIPLabError(f"positions must be (n_molecules * {atoms}, 3) Å of whole methanols, got {positions.shape}")
    if int(n_steps) != n_steps or n_steps < 1 or int(warmup_steps) != warmup_steps or warmup_steps < 0:
        raise MLIPLabError(f"n_steps must be a whole number >= 1 and warmup_steps >= 0, got {n_steps}, {warmup_steps}")
    if not box_edge > 2 * cutoff:
        raise MLIPLabError(f"the box edge {box_edge} Å must exceed twice the cutoff ({cutoff} Å) for PME's minimum image")
    top = liquid.topology(len(positions) // atoms, box_edge)
    system = liquid.methanol_system(top, cutoff, hydrogen_mass=hydrogen_mass)
    sim = liquid.simulation(top, system, liquid.Dynamics(temperature, timestep=timestep), seed, platform_name, threads)
    liquid.set_positions(sim, positions, box_edge)
    sim.context.setVelocitiesToTemperature(temperature, seed)
    sim.step(int(warmup_steps))
    started = time.perf_counter()
    sim.step(int(n_steps))
    liquid.snapshot(sim)  # waits for the platform to finish the steps
    wall = time.perf_counter() - started
    return n_steps * timestep / FS_PER_PS / (wall / SECONDS_PER_HOUR)
