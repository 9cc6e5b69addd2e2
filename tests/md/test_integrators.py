"""Velocity Verlet and Langevin BAOAB: known answers on harmonic springs, energy conservation with a trained
HIP-NN, batched == single-replica runs, agreement with ASE's VelocityVerlet, and the Langevin temperature."""

import math

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import load, to_ase
from mlip_lab.md import (
    FrameRecorder, HarmonicBonds, MLIPCalculator, ModelForceField, ThermoLog, langevin, make_state, run_md,
    state_from_atoms, velocity_verlet,
)
from mlip_lab.md.state import AMU_A2_PER_FS2_IN_EV
from mlip_lab.train import Trainer, energy_force_loss


@pytest.fixture(scope="module")
def water_model(make_model):
    """A small HIP-NN trained for a few seconds on the DFT water configurations of ``organics`` (float64)."""
    data = load("organics").where(molecule="water")
    train, valid, _ = data.split_random((0.8, 0.1, 0.1), seed=0)
    model = make_model(elements=(1, 8), n_features=12, n_sensitivities=10, n_atom_layers=2)
    Trainer(model, energy_force_loss(force_weight=10.0), train, valid, lr=5e-3, max_epochs=15, progress=False).fit()
    return model


@pytest.fixture(scope="module")
def minima():
    return to_ase(load("organics_minima"))


def test_diatomic_spring_oscillates_at_the_analytic_frequency():
    # r(t) = r0 + A cos(omega t) with omega = sqrt(k / mu); Verlet's phase error is O((omega dt)^2 t).
    k, r0, amplitude = 20.0, 0.74, 0.05
    species = torch.tensor([[1, 1]])
    reference = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, r0]]], dtype=torch.float64)
    start = torch.tensor([[[0.0, 0.0, -amplitude / 2], [0.0, 0.0, r0 + amplitude / 2]]], dtype=torch.float64)
    state = make_state(species, start, velocities=torch.zeros(1, 2, 3), dtype=torch.float64)
    frames = FrameRecorder(every=1, velocities=False)
    run_md(state, velocity_verlet(HarmonicBonds(species, reference, k=k), 0.05), 400, [frames], progress=False)
    mu = 0.5 * float(state.masses[0, 0])
    omega = math.sqrt(k / (mu * AMU_A2_PER_FS2_IN_EV))  # rad/fs
    times = torch.tensor(frames.times, dtype=torch.float64)
    distance = (frames.positions[:, 0, 1] - frames.positions[:, 0, 0]).norm(dim=-1)
    assert torch.allclose(distance, r0 + amplitude * torch.cos(omega * times), atol=2e-4)


def test_nve_conserves_energy_on_harmonic_springs(minima):
    # Tolerance: dt = 0.5 fs resolves the fastest (C-H) spring period (~10 fs) with ~20 steps; Verlet's energy
    # error then oscillates by < 1 meV per atom and does not drift (< 1e-5 eV/atom/ps over 1 ps).
    state = state_from_atoms(minima, temperatures=300.0, dtype=torch.float64)
    log = ThermoLog(every=5)
    run_md(state, velocity_verlet(HarmonicBonds(state.species, state.positions, k=30.0), 0.5), 2000, [log],
           progress=False)
    data = log.arrays()
    n_atoms = state.n_atoms.numpy()
    assert np.abs(data["total"] - data["total"][0]).max(0).max() / n_atoms.min() < 1e-3
    assert np.abs(log.drift()).max() < 1e-5
    assert data["temperature"][-1].min() > 10.0  # it really moved


def test_nve_conserves_energy_with_a_trained_model(water_model, minima):
    # Tolerance for the trained water model at 300 K, dt = 0.25 fs over 500 fs: drift below 1 meV/atom/ps.
    state = state_from_atoms([minima[0]] * 8, temperatures=300.0, dtype=torch.float64)
    log = ThermoLog(every=4)
    result = run_md(state, velocity_verlet(ModelForceField(water_model), 0.25), 2000, [log], progress=False)
    assert not result.blow_ups
    assert np.abs(log.drift()).max() < 1e-3
    total = log.arrays()["total"]
    assert np.abs(total - total[0]).max() / 3 < 5e-3


def test_batched_run_equals_single_replica_runs(water_model):
    # Water and a padded hydroxide-like O-H pair in one batch must move exactly as when run alone.
    species = torch.tensor([[8, 1, 1], [8, 1, 0]])
    positions = torch.tensor([[[0, 0, 0.117], [0, 0.757, -0.469], [0, -0.757, -0.469]],
                              [[0, 0, 0], [0, 0, 0.97], [0, 0, 0]]], dtype=torch.float64)
    force_field = ModelForceField(water_model)
    both = make_state(species, positions, temperatures=500.0, dtype=torch.float64, seed=2)
    batched = run_md(both, velocity_verlet(force_field, 0.5), 50, progress=False).state
    for b, n in ((0, 3), (1, 2)):
        alone = make_state(species[b:b + 1, :n], positions[b:b + 1, :n], velocities=both.velocities[b:b + 1, :n],
                           dtype=torch.float64)
        single = run_md(alone, velocity_verlet(force_field, 0.5), 50, progress=False).state
        assert torch.allclose(batched.positions[b, :n], single.positions[0], atol=1e-10)
        assert torch.allclose(batched.velocities[b, :n], single.velocities[0], atol=1e-10)
    assert torch.all(batched.positions[1, 2] == 0) and torch.all(batched.velocities[1, 2] == 0)  # padding stays


def test_velocity_verlet_agrees_with_ase(water_model, minima):
    from ase import units
    from ase.md.verlet import VelocityVerlet

    state = state_from_atoms([minima[0]], temperatures=400.0, dtype=torch.float64, seed=5)
    ours = run_md(state, velocity_verlet(ModelForceField(water_model), 0.5), 10, progress=False).state
    atoms = minima[0].copy()
    atoms.set_velocities(state.velocities[0].numpy() / units.fs)
    atoms.calc = MLIPCalculator(water_model)
    VelocityVerlet(atoms, timestep=0.5 * units.fs).run(10)
    # ASE's unit constants are CODATA 2014, ours 2018: a relative difference of ~1e-8 in the time unit.
    assert np.allclose(ours.positions[0].numpy(), atoms.positions, atol=1e-7)
    assert np.allclose(ours.velocities[0].numpy(), atoms.get_velocities() * units.fs, atol=1e-8)


def test_langevin_reaches_each_replicas_target_temperature(minima):
    # 64 methanols from rest, half thermostatted to 200 K and half to 400 K. Each replica's time-averaged
    # temperature is one independent sample; their spread gives the standard error of the mean.
    methanol = [a for a in minima if a.get_chemical_formula() == "CH4O"][0]
    targets = torch.tensor([200.0] * 32 + [400.0] * 32, dtype=torch.float64)
    state = state_from_atoms([methanol] * 64, temperatures=targets, dtype=torch.float64)
    state = state.replace(velocities=torch.zeros_like(state.velocities))
    integrator = langevin(HarmonicBonds(state.species, state.positions, k=10.0), 0.25, friction=0.05, seed=0)
    log = ThermoLog(every=2)
    run_md(state, integrator, 3000, [log], progress=False)
    temperatures = log.arrays()["temperature"][500:]  # after 250 fs = 12.5 / friction: equilibrated
    per_replica = temperatures.mean(0)
    for half, target in ((slice(0, 32), 200.0), (slice(32, 64), 400.0)):
        mean, error = per_replica[half].mean(), per_replica[half].std(ddof=1) / math.sqrt(32)
        assert abs(mean - target) < 4 * error + 0.005 * target, (mean, error, target)
        assert error < 0.02 * target  # the test has the statistical power to see a wrong temperature


def test_langevin_is_reproducible_with_a_seed(minima):
    state = state_from_atoms(minima[:2], temperatures=300.0, dtype=torch.float64)
    springs = HarmonicBonds(state.species, state.positions)
    a = run_md(state, langevin(springs, 0.5, seed=1), 20, progress=False).state
    b = run_md(state, langevin(springs, 0.5, seed=1), 20, progress=False).state
    c = run_md(state, langevin(springs, 0.5, seed=2), 20, progress=False).state
    assert torch.equal(a.positions, b.positions) and not torch.equal(a.positions, c.positions)


@pytest.mark.parametrize("make", [lambda f: velocity_verlet(f, 0.0), lambda f: velocity_verlet(f, float("nan")),
                                  lambda f: langevin(f, 0.5, friction=-1.0)])
def test_bad_integrator_settings_are_rejected(make, minima):
    with pytest.raises(MLIPLabError):
        make(lambda *args: None)


def test_step_before_init_says_what_to_do(minima):
    state = state_from_atoms(minima[:1])
    with pytest.raises(MLIPLabError, match="init"):
        velocity_verlet(HarmonicBonds(state.species, state.positions), 0.5).step(state)


def test_model_force_field_matches_predict_and_its_compiled_form(water_model):
    species = torch.tensor([[8, 1, 1], [8, 1, 0]])
    positions = torch.tensor([[[0, 0, 0.117], [0, 0.757, -0.469], [0, -0.757, -0.469]],
                              [[0, 0, 0], [0, 0, 0.97], [0, 0, 0]]], dtype=torch.float64)
    reference = water_model.predict(species, positions)
    # The eager backend runs torch.compile's graph capture without code generation, so the test stays quick.
    for force_field in (ModelForceField(water_model), ModelForceField(water_model, compile={"backend": "eager"})):
        energies, forces = force_field(species, positions)
        assert torch.allclose(energies, reference.energy) and torch.allclose(forces, reference.forces)
        assert not forces.requires_grad


def test_model_force_field_rejects_non_models():
    with pytest.raises(MLIPLabError, match="HIPNN"):
        ModelForceField(object())


def test_periodic_run_wraps_positions_and_uses_the_minimum_image():
    # An H2 bond straddling the face of a 5 Å box: through the boundary the atoms are 0.74 Å apart, not 4.26 Å.
    cells = torch.eye(3, dtype=torch.float64)[None] * 5.0
    species = torch.tensor([[1, 1]])
    positions = torch.tensor([[[0.2, 1.0, 1.0], [4.46, 1.0, 1.0]]], dtype=torch.float64)
    springs = HarmonicBonds(species, positions, k=20.0, cells=cells)
    state = make_state(species, positions, temperatures=2000.0, cells=cells, dtype=torch.float64, seed=1)
    log, frames = ThermoLog(every=1), FrameRecorder(every=1, velocities=False)
    run_md(state, velocity_verlet(springs, 0.2), 300, [log, frames], progress=False)
    assert frames.positions.min() >= 0.0 and frames.positions.max() < 5.0
    total = log.arrays()["total"][:, 0]
    assert abs(total - total[0]).max() < 1e-3 * log.arrays()["kinetic"][0, 0]
    crossed = (frames.positions[:, 0, 1, 0] - frames.positions[0, 0, 1, 0]).abs() > 2.0  # an atom was wrapped
    assert crossed.any() or (frames.positions[:, 0, 0, 0] - frames.positions[0, 0, 0, 0]).abs().max() > 2.0
