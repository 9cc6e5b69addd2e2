"""What a model costs in MD: speed (atom-steps per second, batched) and the peak memory of one force evaluation,
measured for teacher and student in the same process on the same replicas.

Peak memory is the high point of memory allocated by torch during one MD force evaluation (the model's forward
pass and the backward pass for -dE/dR, which is all the model does in a step), above what was allocated before
it: activations, the autograd graph and temporaries, not the parameters or the MD state. On CUDA it comes from
the caching allocator's statistics (``torch.cuda.max_memory_allocated``). On the CPU torch keeps no such
statistics, so it comes from ``torch.profiler`` with ``profile_memory=True``: the running sum of the bytes every
operator allocated and freed, in time order, and its maximum. Both count tensor memory only, not the Python
process around it (which dominates a process's RSS at these sizes).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.profiler import ProfilerActivity, profile

from mlip_lab.data import Dataset
from mlip_lab.distill.checks import check_dataset, check_model_covers
from mlip_lab.distill.configs import count_parameters
from mlip_lab.distill.stability import stability_replicas
from mlip_lab.md import MDState, ModelForceField, measure_speed, velocity_verlet
from mlip_lab.models import device_and_dtype


def _replicas(model, dataset: Dataset, n_replicas: int, seed: int, consumer: str) -> MDState:
    check_dataset(dataset)
    check_model_covers(model, dataset, consumer)
    device, dtype = device_and_dtype(model)
    return stability_replicas(dataset, n_replicas, 300.0, seed, dtype, device)[0]


def md_speed(model, dataset: Dataset, n_replicas: int = 64, n_steps: int = 20, timestep: float = 0.5,
             seed: int = 0) -> float:
    """Atom-steps per second of batched velocity-Verlet MD of ``model`` over ``n_replicas`` replicas of
    ``dataset`` geometries (:func:`mlip_lab.md.measure_speed`: real atoms x steps / wall time, after warm-up)."""
    state = _replicas(model, dataset, n_replicas, seed, "md_speed")
    return measure_speed(state, velocity_verlet(ModelForceField(model), timestep), n_steps)


def peak_step_memory(model, dataset: Dataset, n_replicas: int = 64, seed: int = 0) -> int:
    """Peak bytes of tensor memory allocated during one MD force evaluation of ``model`` on ``n_replicas``
    replicas of ``dataset`` geometries, above what was allocated before (see the module docstring for how it is
    measured on CUDA and on the CPU)."""
    state = _replicas(model, dataset, n_replicas, seed, "peak_step_memory")
    force_field = ModelForceField(model)
    force_field(state.species, state.positions)  # warm-up: lazy initialisation is not the step's memory
    if state.positions.device.type == "cuda":
        torch.cuda.synchronize(state.positions.device)
        torch.cuda.reset_peak_memory_stats(state.positions.device)
        before = torch.cuda.memory_allocated(state.positions.device)
        force_field(state.species, state.positions)
        torch.cuda.synchronize(state.positions.device)
        return int(torch.cuda.max_memory_allocated(state.positions.device) - before)
    with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        force_field(state.species, state.positions)
    running, peak = 0, 0
    for event in sorted(profiler.events(), key=lambda e: e.time_range.start):
        running += event.self_cpu_memory_usage  # an operator's own allocations minus frees, nested ops excluded
        peak = max(peak, running)
    return int(peak)


@contextmanager
def _quiet_native_stderr():
    """Silence file descriptor 2 for the duration: this torch build's profiler prints "USDT ... profiler_start /
    profiler_stop" lines from C++ on every start and stop, which no setting turns off and which would land in
    every notebook cell that measures memory. Python exceptions still propagate as usual."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass(frozen=True)
class ModelCost:
    """One model's cost: parameters (count), atom_steps_per_s (batched MD), peak_memory (bytes, one force
    evaluation)."""

    parameters: int
    atom_steps_per_s: float
    peak_memory: int


def model_cost(model, dataset: Dataset, n_replicas: int = 64, n_steps: int = 20, seed: int = 0) -> ModelCost:
    """:class:`ModelCost` of ``model`` on ``n_replicas`` replicas of ``dataset``; call it for teacher and student
    in the same process (same machine, same load) so their ratios mean something."""
    return ModelCost(parameters=count_parameters(model),
                     atom_steps_per_s=md_speed(model, dataset, n_replicas, n_steps, seed=seed),
                     peak_memory=peak_step_memory(model, dataset, n_replicas, seed))
