"""Langevin's random stream lives on the state: a run resumes, repeats and survives copies and saving exactly."""

import copy
import io

import pytest
import torch

from mlip_lab.md import HarmonicBonds, langevin, make_state, run_md, velocity_verlet

WATER = [[0.0, 0.0, 0.117], [0.0, 0.757, -0.469], [0.0, -0.757, -0.469]]


@pytest.fixture
def start():
    """Two waters (one padded next to an O-H pair) in float64, and springs that hold them together."""
    species = torch.tensor([[8, 1, 1], [8, 1, 0]])
    positions = torch.tensor([WATER, [[0, 0, 0], [0, 0, 0.97], [0, 0, 0]]], dtype=torch.float64)
    state = make_state(species, positions, temperatures=[300.0, 500.0], dtype=torch.float64, seed=0)
    return state, HarmonicBonds(species, positions, k=20.0)


def run(state, springs, n_steps, seed=7):
    return run_md(state, langevin(springs, 0.5, friction=0.05, seed=seed), n_steps, progress=False).state


def assert_same(a, b):
    assert torch.equal(a.positions, b.positions) and torch.equal(a.velocities, b.velocities)
    assert torch.equal(a.rng_state, b.rng_state) and a.step == b.step


def test_n_then_m_steps_equal_n_plus_m_steps_exactly(start):
    state, springs = start
    in_one_go = run(state, springs, 25)
    resumed = run(run(state, springs, 10), springs, 15, seed=123)  # the state's stream wins over a new seed
    assert_same(resumed, in_one_go)


def test_the_same_state_gives_the_same_trajectory_and_the_stream_moves_on(start):
    state, springs = start
    middle = run(state, springs, 10)
    assert_same(run(middle, springs, 10), run(middle, springs, 10))
    assert not torch.equal(run(state, springs, 10, seed=8).positions, middle.positions)  # the seed matters at first
    assert not torch.equal(run(middle, springs, 1).rng_state, middle.rng_state)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda s: s.replace(), lambda s: s.to("cpu")])
def test_a_copied_state_continues_identically(start, duplicate):
    state, springs = start
    middle = run(state, springs, 10)
    assert_same(run(duplicate(middle), springs, 10), run(middle, springs, 10))


def test_a_saved_and_loaded_state_continues_identically(start):
    state, springs = start
    middle = run(state, springs, 10)
    buffer = io.BytesIO()
    torch.save(middle, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert_same(run(loaded, springs, 10), run(middle, springs, 10))


def test_the_stream_survives_a_stretch_of_nve(start):
    # Verlet neither uses nor drops the stream, so thermostatting resumes where it stopped.
    state, springs = start
    middle = run(state, springs, 5)
    after_nve = run_md(middle, velocity_verlet(springs, 0.5), 5, progress=False).state
    assert torch.equal(after_nve.rng_state, middle.rng_state)


def test_langevin_leaves_torchs_global_generator_alone(start):
    state, springs = start
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    run(state, springs, 3, seed=None)
    assert torch.equal(torch.rand(3), expected)
