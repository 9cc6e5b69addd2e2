"""How large a time step can be: NVE energy drift and blow-ups as a function of the time step, and the speed of
a run in atom-steps per second."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.md.blowup import BlowUpLimits
from mlip_lab.md.integrators import Integrator, velocity_verlet
from mlip_lab.md.observers import ThermoLog
from mlip_lab.md.run import MDBlowUpWarning, run_md
from mlip_lab.md.state import MDState


@dataclass(frozen=True)
class TimestepScan:
    """NVE runs of the same state and duration at each time step (K of them).

    timesteps: (K,) fs; drift: (K,) median |energy drift| over the replicas that survived, eV / atom / ps (NaN if
    none did); fluctuation: (K,) median RMS of the total energy around its trend line, eV / atom; blown_up: (K,)
    replicas that blew up; n_replicas: B.
    """

    timesteps: np.ndarray
    drift: np.ndarray
    fluctuation: np.ndarray
    blown_up: np.ndarray
    n_replicas: int


def scan_timesteps(force_field, state: MDState, timesteps, duration_fs: float, limits: BlowUpLimits | None = None,
                   samples: int = 100, progress: bool = True) -> TimestepScan:
    """Run NVE velocity Verlet from ``state`` for ``duration_fs`` at each of ``timesteps`` (fs).

    Energies are logged about ``samples`` times per run; blow-ups are counted, not warned about.
    """
    timesteps = np.asarray(sorted(float(t) for t in timesteps))
    if timesteps.size == 0 or timesteps[0] <= 0 or not duration_fs > 0:
        raise MLIPLabError("give positive time steps (fs) and a positive duration (fs)")
    drift, fluctuation, blown_up = [], [], []
    for dt in timesteps:
        n_steps = max(int(round(duration_fs / dt)), 2)
        log = ThermoLog(every=max(n_steps // samples, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MDBlowUpWarning)
            result = run_md(state, velocity_verlet(force_field, dt), n_steps, [log], limits, progress=progress)
        alive = result.state.active.cpu().numpy()
        data = log.arrays()
        blown_up.append(int((~alive).sum()))
        if not alive.any():
            drift.append(np.nan)
            fluctuation.append(np.nan)
            continue
        slopes = log.drift()
        t = (data["time"] - data["time"].mean()) / 1000.0
        residual = data["total"] - data["total"].mean(0) - t[:, None] * slopes * log.n_atoms
        drift.append(float(np.median(np.abs(slopes[alive]))))
        fluctuation.append(float(np.median(residual.std(0)[alive] / log.n_atoms[alive])))
    return TimestepScan(timesteps, np.asarray(drift), np.asarray(fluctuation), np.asarray(blown_up),
                        int(state.species.shape[0]))


def largest_stable_timestep(scan: TimestepScan, max_drift: float) -> float | None:
    """The largest time step (fs) of ``scan`` at which no replica blew up and the drift is at most ``max_drift``
    eV / atom / ps, or None if there is none. Stability is judged per time step, not assumed to be monotonic."""
    stable = (scan.blown_up == 0) & (np.nan_to_num(scan.drift, nan=np.inf) <= max_drift)
    return float(scan.timesteps[stable].max()) if stable.any() else None


def measure_speed(state: MDState, integrator: Integrator, n_steps: int, warmup: int = 3) -> float:
    """Atom-steps per second (real atoms x steps / wall time) of ``n_steps`` steps after ``warmup`` untimed ones.

    Waits for the device to finish (CUDA is asynchronous) before reading the clock.
    """
    state = run_md(state, integrator, warmup, progress=False).state
    _synchronize(state.positions.device)
    start = time.perf_counter()
    run_md(state, integrator, n_steps, progress=False)
    _synchronize(state.positions.device)
    return float(state.n_atoms.sum()) * n_steps / (time.perf_counter() - start)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
