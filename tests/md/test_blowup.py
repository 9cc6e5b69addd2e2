"""A replica that blows up is frozen with a message naming it and the step; the others go on; nothing is NaN."""

import math

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.md import BlowUpLimits, HarmonicBonds, MDBlowUpWarning, ThermoLog, make_state, run_md, velocity_verlet

H2 = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.74]]], dtype=torch.float64)


class PoisonedSprings:
    """Harmonic springs whose replica ``bad`` gets NaN forces once the force field has been called ``after`` times."""

    def __init__(self, springs, bad, after):
        self.springs, self.bad, self.after, self.calls = springs, bad, after, 0

    def __call__(self, species, positions, cells=None, pbc=None):
        energies, forces = self.springs(species, positions, cells, pbc)
        self.calls += 1
        if self.calls > self.after:
            forces = forces.clone()
            forces[self.bad] = math.nan
        return energies, forces


def three_h2(temperature=300.0):
    species = torch.tensor([[1, 1]] * 3)
    return make_state(species, H2.repeat(3, 1, 1), temperatures=temperature, dtype=torch.float64, seed=0)


def test_non_finite_forces_freeze_only_that_replica():
    state = three_h2()
    springs = PoisonedSprings(HarmonicBonds(state.species, state.positions), bad=1, after=11)
    log = ThermoLog(every=1)
    with pytest.warns(MDBlowUpWarning, match=r"replica 1 blew up at step 11 .*non-finite"):
        result = run_md(state, velocity_verlet(springs, 0.5), 30, [log], progress=False)
    [event] = result.blow_ups
    assert (event.replica, event.step) == (1, 11)
    final = result.state
    assert final.active.tolist() == [True, False, True]
    assert torch.isfinite(final.positions).all() and torch.isfinite(final.energies).all()
    assert torch.all(final.velocities[1] == 0)
    assert torch.equal(final.positions[1], log_positions_at(state, springs, 10))  # frozen at its last good step
    assert not torch.allclose(final.positions[0], state.positions[0])  # the others kept moving


def log_positions_at(state, springs, steps):
    """Positions of replica 1 after ``steps`` clean steps (the same deterministic run without poison)."""
    clean = run_md(state, velocity_verlet(springs.springs, 0.5), steps, progress=False).state
    return clean.positions[1]


def test_too_large_a_time_step_is_caught_as_hot_or_flying_apart():
    # dt far beyond the Verlet stability limit 2/omega: the spring energy grows exponentially.
    state = three_h2()
    state = state.replace(temperatures=torch.tensor([300.0, 300.0, 300.0], dtype=torch.float64))
    springs = HarmonicBonds(state.species, state.positions, k=30.0)
    with pytest.warns(MDBlowUpWarning):
        result = run_md(state, velocity_verlet(springs, 8.0), 200, progress=False)
    assert not result.state.active.any()
    assert all(("temperature above" in e.reason) or ("flew off" in e.reason) for e in result.blow_ups)
    assert sorted(e.replica for e in result.blow_ups) == [0, 1, 2]
    assert torch.isfinite(result.state.positions).all()


def test_an_atom_flying_off_is_detected():
    species = torch.tensor([[1, 1], [1, 1]])
    velocities = torch.zeros(2, 2, 3, dtype=torch.float64)
    velocities[1, 1, 2] = 0.5  # Å/fs, no force pulls it back: it leaves the molecule
    state = make_state(species, H2.repeat(2, 1, 1), velocities=velocities, dtype=torch.float64)
    free = lambda s, p, c=None, b=None: (torch.zeros(p.shape[0], dtype=p.dtype), torch.zeros_like(p))  # noqa: E731
    limits = BlowUpLimits(max_temperature=1e9, max_neighbour_distance=3.0)
    with pytest.warns(MDBlowUpWarning, match="replica 1 .*flew off"):
        result = run_md(state, velocity_verlet(free, 1.0), 20, limits=limits, progress=False)
    assert result.state.active.tolist() == [True, False]
    assert result.blow_ups[0].step == 5  # relative speed 0.5 Å/fs (COM removed): 0.74 + 0.5 t > 3 Å first at t = 5 fs


@pytest.mark.parametrize("kwargs", [dict(max_temperature=0), dict(max_neighbour_distance=-1.0)])
def test_bad_limits_are_rejected(kwargs):
    with pytest.raises(MLIPLabError):
        BlowUpLimits(**kwargs)
