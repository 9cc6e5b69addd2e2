"""The MD loop: init, steps, blow-up checks, observers and a progress bar."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from mlip_lab.errors import MLIPLabError
from mlip_lab.md.blowup import BlowUp, BlowUpLimits, check_and_freeze
from mlip_lab.md.integrators import Integrator
from mlip_lab.md.state import MDState


class MDBlowUpWarning(UserWarning):
    """A replica failed and was frozen; the message names the replica, the step and the reason."""


@dataclass
class MDResult:
    """The final state and the replicas that blew up (in the order they did)."""

    state: MDState
    blow_ups: list[BlowUp] = field(default_factory=list)


def run_md(state: MDState, integrator: Integrator, n_steps: int, observers=(), limits: BlowUpLimits | None = None,
           progress: bool = True) -> MDResult:
    """Run ``n_steps`` steps of ``integrator`` on all replicas of ``state``.

    The state is initialised (forces evaluated) unless it already has forces. After every step, replicas failing
    ``limits`` (default :class:`BlowUpLimits`) are frozen and reported with an :class:`MDBlowUpWarning`; the others
    continue. Observers are called after init and after every ``observer.every``-th step; those with a
    ``close`` method are closed at the end. ``progress`` shows a tqdm bar with the number of active replicas.
    """
    if int(n_steps) != n_steps or n_steps < 0:
        raise MLIPLabError(f"n_steps must be a whole number >= 0, got {n_steps}")
    limits = limits or BlowUpLimits()
    if state.forces is None:
        state = integrator.init(state)
    result = MDResult(state)
    for observer in observers:
        observer(state)
    bar = tqdm(range(int(n_steps)), desc=integrator.name, disable=not progress, leave=False)
    try:
        for _ in bar:
            state, events = check_and_freeze(state, integrator.step(state), limits)
            for event in events:
                warnings.warn(str(event), MDBlowUpWarning, stacklevel=2)
            if events:
                result.blow_ups.extend(events)
                bar.set_postfix(active=f"{int(state.active.sum())}/{state.active.numel()}")
            for observer in observers:
                if state.step % observer.every == 0:
                    observer(state)
    finally:
        bar.close()
        for observer in observers:
            if hasattr(observer, "close"):
                observer.close()
    result.state = state
    return result
