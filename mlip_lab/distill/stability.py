"""MD stability as time to failure: many batched replicas at an elevated temperature, each run until the MD
module's blow-up detection freezes it or the run ends.

A single trajectory says little (one lucky or unlucky run); the distribution over replicas does. Replicas that
never fail are *censored* at the run length: their time to failure is only known to be longer, so the result
keeps them apart instead of counting the run length as a failure time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from mlip_lab.data import Dataset
from mlip_lab.distill.checks import check_dataset, check_model_covers
from mlip_lab.errors import MLIPLabError
from mlip_lab.md import BlowUpLimits, MDBlowUpWarning, MDState, ModelForceField, langevin, make_state, run_md
from mlip_lab.models import device_and_dtype


@dataclass(frozen=True)
class TimeToFailure:
    """Per-replica outcome of a stability run (R replicas).

    times: (R,) fs, when each replica blew up, or ``duration`` for survivors (censored); failed: (R,) bool;
    reasons: (R,) the blow-up reason, "" for survivors; configurations: (R,) the dataset row each replica
    started from; duration: fs, the run length; temperature: K; timestep: fs.
    """

    times: np.ndarray
    failed: np.ndarray
    reasons: np.ndarray
    configurations: np.ndarray
    duration: float
    temperature: float
    timestep: float

    @property
    def fraction_failed(self) -> float:
        return float(self.failed.mean())

    @property
    def median(self) -> float:
        """Median time to failure, fs; ``inf`` when half or more of the replicas survived the whole run (the
        median is then only known to exceed ``duration``). Every replica is censored at the same time, so this
        is the Kaplan-Meier median."""
        survival_times, survival = self.survival_curve()
        below = np.flatnonzero(survival <= 0.5)
        return float(survival_times[below[0]]) if below.size else float("inf")

    def survival_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(times (T,) fs, fraction of replicas still running just after each time): a step function from 1
        at t = 0 down at every failure time, ending at ``duration``."""
        failure_times = np.sort(self.times[self.failed])
        times = np.concatenate([[0.0], failure_times, [self.duration]])
        alive = len(self.times) - np.concatenate([[0], np.arange(1, failure_times.size + 1), [failure_times.size]])
        return times, alive / len(self.times)

    def summary(self) -> str:
        """One line: replicas, failures, median and quartiles of the failure times."""
        line = (f"{self.failed.sum()}/{self.failed.size} replicas failed within {self.duration:g} fs at "
                f"{self.temperature:g} K (dt {self.timestep:g} fs); median time to failure ")
        median = self.median
        line += f"> {self.duration:g} fs" if np.isinf(median) else f"{median:.1f} fs"
        if self.failed.any():
            q1, q3 = np.percentile(self.times[self.failed], [25, 75])
            line += f"; failures at {q1:.1f}-{q3:.1f} fs (quartiles)"
        return line


def stability_replicas(dataset: Dataset, n_replicas: int, temperature: float, seed: int = 0,
                       dtype: torch.dtype = torch.float32, device=None) -> tuple[MDState, np.ndarray]:
    """``n_replicas`` MD replicas started from ``dataset`` geometries with Maxwell-Boltzmann velocities at
    ``temperature`` K. Configurations are drawn without replacement while there are enough, then cycled, in an
    order set by ``seed``. Returns the state (B = n_replicas) and the dataset rows used (B,)."""
    check_dataset(dataset)
    if int(n_replicas) != n_replicas or n_replicas < 1:
        raise MLIPLabError(f"n_replicas must be a whole number >= 1, got {n_replicas}")
    order = np.random.default_rng(seed).permutation(len(dataset))
    rows = np.resize(order, int(n_replicas))
    state = make_state(dataset.species[rows], dataset.positions[rows], temperatures=temperature, seed=seed,
                       dtype=dtype, device=device)
    return state, rows


def time_to_failure(model_or_force_field, dataset: Dataset, temperature: float = 1000.0, n_replicas: int = 64,
                    duration_fs: float = 1000.0, timestep: float = 0.5, friction: float = 0.01, seed: int = 0,
                    limits: BlowUpLimits | None = None, dtype: torch.dtype = torch.float64,
                    progress: bool = True) -> TimeToFailure:
    """Langevin MD of ``n_replicas`` replicas from ``dataset`` geometries at ``temperature`` K for
    ``duration_fs`` fs with ``timestep`` fs, all in one batch; each replica's time to failure.

    ``model_or_force_field``: a model that follows the contract (it must pass
    :func:`~mlip_lab.models.check_model` and accept the dataset's elements; its dtype and device are used),
    or a force-field callable of :mod:`mlip_lab.md` (then ``dtype`` sets the state's). Failure is what
    ``limits`` (default :class:`~mlip_lab.md.BlowUpLimits`: hotter than 10^4 K, an atom with no neighbour within
    4 Å, or non-finite numbers) says. Elevated temperatures (1000 K by default, about three times the sampling
    temperatures of ``organics``) probe the poorly sampled high-energy regions where models break.
    """
    check_dataset(dataset)
    if not (np.isfinite(duration_fs) and duration_fs > 0):
        raise MLIPLabError(f"duration_fs must be a positive number of fs, got {duration_fs}")
    device = None
    if isinstance(model_or_force_field, torch.nn.Module):
        check_model_covers(model_or_force_field, dataset, "time_to_failure")
        device, dtype = device_and_dtype(model_or_force_field)
        force_field = ModelForceField(model_or_force_field)
    elif callable(model_or_force_field):
        force_field = model_or_force_field
    else:
        raise MLIPLabError(f"time_to_failure needs a model or a force-field callable, got "
                           f"{type(model_or_force_field).__name__}")
    state, rows = stability_replicas(dataset, n_replicas, temperature, seed, dtype, device)
    integrator = langevin(force_field, timestep, friction, seed=seed)
    n_steps = int(np.ceil(duration_fs / integrator.timestep))
    with warnings.catch_warnings():  # every blow-up is recorded below; a warning per replica would flood the output
        warnings.simplefilter("ignore", MDBlowUpWarning)
        result = run_md(state, integrator, n_steps, limits=limits, progress=progress)
    duration = n_steps * integrator.timestep
    times = np.full(len(rows), duration)
    reasons = np.full(len(rows), "", dtype=object)
    for event in result.blow_ups:
        times[event.replica], reasons[event.replica] = event.time, event.reason
    return TimeToFailure(times=times, failed=~result.state.active.cpu().numpy(), reasons=reasons,
                         configurations=rows, duration=duration, temperature=float(temperature),
                         timestep=integrator.timestep)
