"""The atomistic methanol reference: force field, units, the resumable chunked build and its shipped files.

Tiny boxes and a few steps. The exact-resume test runs on OpenMM's Reference platform: its double-precision
trajectories are bitwise reproducible, while the CPU platform's are not from one run to the next (differences of
1e-6 Å after a few dozen steps), so on CPU a resumed build matches a straight one statistically. Even on
Reference the potential energy can differ in its last bit: OpenMM sums the dispersion-correction coefficient
of a CustomNonbondedForce over threads in no fixed order.
"""

import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

openmm = pytest.importorskip("openmm", reason="OpenMM is not installed (pip install -e '.[cg]')")

from mlip_lab.cg.reference import liquid  # noqa: E402
from mlip_lab.cg.reference.__main__ import main  # noqa: E402
from mlip_lab.cg.reference.assemble import shorten_mantissa  # noqa: E402
from mlip_lab.cg.reference.build import Reference, _log_entry, build, chunk_path, load_chunk, run  # noqa: E402
from mlip_lab.cg.reference.recipe import RECIPES, LiquidRecipe, resolve  # noqa: E402
from mlip_lab.cg.reference.validation import Validation, first_peak  # noqa: E402
from mlip_lab.data import load  # noqa: E402
from mlip_lab.errors import MLIPLabError  # noqa: E402

# The cited OPLS-AA values (Jorgensen et al. 1996, GROMACS oplsaa.ff), kept here independently of the XML:
# name -> (charge e, sigma nm, epsilon kJ/mol), in the residue's atom order C, O, HO, H1, H2, H3.
OPLS = {"C": (0.145, 0.350, 0.276144), "O": (-0.683, 0.312, 0.71128), "HO": (0.418, 0.0, 0.0), "H": (0.040, 0.250, 0.12552)}
ATOM_PARAMETERS = [OPLS["C"], OPLS["O"], OPLS["HO"], OPLS["H"], OPLS["H"], OPLS["H"]]

TINY = LiquidRecipe(
    name="tiny_methanol", description="27 methanols for tests", temperatures=(278.0,), n_molecules=27, cutoff=5.5,
    frame_interval=0.02, chunk_frames=3, compress_chunks=1, validate_chunks=1, npt_equilibrate_chunks=1,
    npt_average_chunks=1, nvt_chunks=1, production_chunks=2, atomistic_frames=1, minimise_iterations=50,
    density_tolerance=10.0, oxygen_peak_window=(0.0, 10.0),
)


def _forces(system):
    return {type(f).__name__: f for f in system.getForces()}


def _box(n_molecules, edge, cutoff, seed=0, constraints=True):
    """(topology, system, positions Å) of ``n_molecules`` methanols on a lattice filling a cubic box of ``edge`` Å."""
    molar_mass = 32.0424
    density = n_molecules * molar_mass / edge**3 * liquid.AMU_PER_ANGSTROM3_G_PER_CM3
    positions, edge = liquid.lattice_box(n_molecules, density, molar_mass, np.random.default_rng(seed))
    top = liquid.topology(n_molecules, edge)
    return top, liquid.methanol_system(top, cutoff, constraints=constraints), positions, edge


# ---------------------------------------------------------------- the force field
def test_force_field_builds_neutral_molecules_with_the_cited_parameters():
    top, system, _, _ = _box(3, 24.0, 10.0)
    forces = _forces(system)
    coulomb, lj = forces["NonbondedForce"], forces["CustomNonbondedForce"]
    assert system.getNumParticles() == 18
    charges = np.array([coulomb.getParticleParameters(i)[0]._value for i in range(18)])
    assert np.abs(charges.reshape(3, 6).sum(axis=1)).max() < 1e-12
    for i in range(18):
        q, sigma, epsilon = ATOM_PARAMETERS[i % 6]
        assert charges[i] == pytest.approx(q)
        assert lj.getParticleParameters(i) == pytest.approx((sigma, epsilon))
        assert coulomb.getParticleParameters(i)[2]._value == 0.0  # LJ lives only in the geometric-mixing force
    assert not coulomb.getUseDispersionCorrection() and lj.getUseLongRangeCorrection()
    assert coulomb.getCutoffDistance()._value == pytest.approx(1.0) and lj.getCutoffDistance()._value == pytest.approx(1.0)
    assert coulomb.getNonbondedMethod() == openmm.NonbondedForce.PME
    # Every intramolecular pair is an exception; the three H(C)-H(O) 1-4 pairs keep half their Coulomb.
    scaled = [coulomb.getExceptionParameters(k) for k in range(coulomb.getNumExceptions())]
    assert len(scaled) == 3 * 15 and lj.getNumExclusions() == 3 * 15
    one_four = [e for e in scaled if e[2]._value != 0.0]
    assert len(one_four) == 9
    assert all(e[2]._value == pytest.approx(0.5 * 0.040 * 0.418) for e in one_four)
    # Constrained bonds to H leave the bond force and keep their length as the constraint distance.
    flexible_system = liquid.methanol_system(top, 10.0, constraints=False)  # kept: its forces die with it
    flexible = _forces(flexible_system)["HarmonicBondForce"]
    lengths = {round(flexible.getBondParameters(k)[2]._value, 4): flexible.getBondParameters(k)[3]._value
               for k in range(flexible.getNumBonds())}
    assert lengths == pytest.approx({0.141: 267776.0, 0.0945: 462750.4, 0.109: 284512.0})
    assert forces["HarmonicBondForce"].getNumBonds() == 3  # C-O only
    constrained = sorted({round(system.getConstraintParameters(k)[2]._value, 4) for k in range(system.getNumConstraints())})
    assert system.getNumConstraints() == 3 * 4 and constrained == [0.0945, 0.109]
    angles = forces["HarmonicAngleForce"]
    degrees = {round(np.degrees(angles.getAngleParameters(k)[3]._value), 3): angles.getAngleParameters(k)[4]._value
               for k in range(angles.getNumAngles())}
    assert degrees == pytest.approx({107.8: 276.144, 109.5: 292.88, 108.5: 460.24})
    torsions = forces["PeriodicTorsionForce"]
    assert torsions.getNumTorsions() == 3 * 3
    for k in range(torsions.getNumTorsions()):
        *_, periodicity, phase, barrier = torsions.getTorsionParameters(k)
        assert (periodicity, phase._value) == (3, 0.0)
        assert barrier._value == pytest.approx(0.45 * 4.184 / 2)  # V3/2 with V3 = 0.45 kcal/mol


def test_lennard_jones_between_molecules_mixes_geometrically():
    """Moving one molecule from beyond the cutoff to contact changes the LJ energy by exactly the geometric-mixing sum
    (arithmetic sigmas, OpenMM's default, would differ by about 1 %)."""
    top, system, _, _ = _box(2, 30.0, 10.0, constraints=False)
    _forces(system)["CustomNonbondedForce"].setForceGroup(1)
    integrator = openmm.VerletIntegrator(0.001)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("Reference"))
    one = liquid.molecule_template()
    near = np.concatenate([one, one + [3.4, 0.5, 0.2]])
    far = np.concatenate([one, one + [13.0, 0.5, 0.2]])  # every atom pair beyond the 10 Å cutoff

    def lj_energy(positions):
        context.setPositions(positions / liquid.NM_ANGSTROM)
        return context.getState(getEnergy=True, groups={1}).getPotentialEnergy()._value

    sigma = np.array([p[1] for p in ATOM_PARAMETERS])
    epsilon = np.array([p[2] for p in ATOM_PARAMETERS])
    r = np.linalg.norm(near[:6, None] - near[None, 6:], axis=-1) / liquid.NM_ANGSTROM
    s, e = np.sqrt(sigma[:, None] * sigma[None, :]), np.sqrt(epsilon[:, None] * epsilon[None, :])
    expected = (4 * e * ((s / r) ** 12 - (s / r) ** 6)).sum()
    arithmetic = 0.5 * (sigma[:, None] + sigma[None, :])
    assert abs(expected - (4 * e * ((arithmetic / r) ** 12 - (arithmetic / r) ** 6)).sum()) > 1e-3 * abs(expected)
    assert lj_energy(near) - lj_energy(far) == pytest.approx(expected, rel=1e-9)


def test_forces_are_minus_the_energy_gradient_in_ev_per_angstrom():
    top, system, positions, edge = _box(8, 12.0, 5.5)
    sim = liquid.simulation(top, system, liquid.Dynamics(300.0), seed=1, platform_name="Reference")
    liquid.set_positions(sim, positions, edge)
    sim.minimizeEnergy(maxIterations=20)
    base = liquid.snapshot(sim)
    step = 1e-4  # Å
    for atom, axis in ((0, 0), (7, 1), (14, 2), (45, 0)):
        energies = []
        for sign in (1, -1):
            moved = base.positions.copy()
            moved[atom, axis] += sign * step
            liquid.set_positions(sim, moved)
            energies.append(liquid.snapshot(sim).potential_energy)
        assert -(energies[0] - energies[1]) / (2 * step) == pytest.approx(base.forces[atom, axis], rel=1e-4, abs=1e-4)
    assert np.abs(base.box - np.eye(3) * edge).max() < 1e-9


def test_constraint_forces_leave_each_molecules_momentum_to_the_applied_forces():
    """With bonds to H constrained, one Verlet step changes every molecule's momentum by dt times the sum of the
    forces OpenMM reports: the constraint forces (left out of them) cancel inside the molecule, so the mapped
    bead force needs none of them."""
    top, system, positions, edge = _box(8, 12.0, 5.5)
    for k in reversed(range(system.getNumForces())):
        if isinstance(system.getForce(k), openmm.CMMotionRemover):  # it would shift every molecule's momentum
            system.removeForce(k)
    dt = 0.001  # ps
    context = openmm.Context(system, openmm.VerletIntegrator(dt), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions / liquid.NM_ANGSTROM)
    context.applyConstraints(1e-10)
    context.setVelocitiesToTemperature(300.0, 7)
    context.applyVelocityConstraints(1e-10)
    masses = liquid.masses(system)[:, None]

    def momenta_and_forces():
        state = context.getState(getVelocities=True, getForces=True)
        p = masses * state.getVelocities(asNumpy=True)._value
        return p.reshape(8, 6, 3).sum(1), state.getForces(asNumpy=True)._value.reshape(8, 6, 3).sum(1)

    before, forces = momenta_and_forces()
    context.getIntegrator().step(1)
    after, _ = momenta_and_forces()
    assert system.getNumConstraints() == 8 * 4 and np.abs(forces).max() > 10.0  # kJ/mol/nm: a real test
    assert np.allclose(after - before, dt * forces, rtol=1e-6, atol=1e-8)


def test_lattice_box_has_the_density_asked_for_and_no_overlapping_molecules():
    positions, edge = liquid.lattice_box(64, 0.5, 32.0424, np.random.default_rng(3))
    assert liquid.density(edge**3, 64, 32.0424) == pytest.approx(0.5)
    molecules = positions.reshape(64, 6, 3)
    assert np.allclose(np.linalg.norm(molecules[:, 1] - molecules[:, 0], axis=-1), 1.41)  # C-O kept by the rotation
    distances = np.linalg.norm(molecules[:, None, :, None] - molecules[None, :, None, :], axis=-1)
    distances[np.arange(64), np.arange(64)] = np.inf
    assert distances.min() > 1.0


def test_rescaling_to_a_new_box_moves_whole_molecules():
    positions, edge = liquid.lattice_box(8, 0.5, 32.0424, np.random.default_rng(4))
    moved = liquid.rescale_molecules(positions, np.eye(3) * edge, 0.8 * edge, 6).reshape(8, 6, 3)
    before = positions.reshape(8, 6, 3)
    assert np.allclose(moved - moved.mean(1, keepdims=True), before - before.mean(1, keepdims=True))
    assert np.allclose(moved.mean(1), 0.8 * before.mean(1))


def test_the_temperature_check_stops_a_thermostat_running_twice_too_hot():
    ref = SimpleNamespace(recipe=TINY, dof=375, molar_mass=32.0424)
    chunk = TINY.plan()[-1]
    frames = {"boxes": [np.eye(3) * 14.0] * 3, "kinetic_temperature": [2 * 278.0] * 3}
    with pytest.raises(MLIPLabError, match="kinetic temperature"):
        _log_entry(ref, chunk, frames, 1.0, "Reference", None)
    frames["kinetic_temperature"] = [270.0, 285.0, 281.0]
    assert _log_entry(ref, chunk, frames, 1.0, "Reference", None)["kinetic_temperature"] == pytest.approx(278.67, abs=0.01)


# ---------------------------------------------------------------- recipe, validation, bad input
def test_the_plan_chains_every_chunk_to_its_start():
    recipe = RECIPES["cg_methanol"]
    plan = recipe.plan()
    keys = [c.key for c in plan]
    assert len(recipe.temperatures) == 4  # the issue asks for >= 4 spanning >= 80 K
    assert len(keys) == len(set(keys)) == 2 + 4 + 4 * (3 + 1 + 10)
    assert plan[0].previous is None and all(c.previous in keys[: i] for i, c in enumerate(plan) if i)
    last_validation = [c.key for c in plan if c.stage == "validate"][-1]
    assert {c.previous for c in plan if c.stage == "npt" and c.index == 0} == {last_validation}
    production = [c for c in plan if c.stage == "production"]
    assert len(production) * recipe.chunk_frames >= 4 * 500
    assert max(c.temperature for c in production) - min(c.temperature for c in production) == 80.0


def test_validation_passes_only_inside_both_windows():
    good = Validation(0.79, 0.01, 0.787, 0.03, 2.72, (2.6, 2.9), 200)
    assert good.passed and "PASSED" in good.summary()
    assert not replace(good, density=0.75).passed
    assert not replace(good, oxygen_peak=3.1).passed
    r = np.linspace(0.05, 8.0, 160)
    g = np.where(r < 2.4, 0.0, 1.0 + 2.0 * np.exp(-((r - 2.75) / 0.15) ** 2) - 0.5 * np.exp(-((r - 3.6) / 0.3) ** 2))
    assert first_peak(r, g) == pytest.approx(2.75, abs=0.05)


def test_bad_input_raises_clear_errors():
    with pytest.raises(MLIPLabError, match="platform 'Warp'"):
        liquid.platform("Warp")
    with pytest.raises(MLIPLabError, match="threads"):
        liquid.platform("CPU", threads=0)
    with pytest.raises(MLIPLabError, match="no temperatures"):
        resolve(replace(TINY, temperatures=()))
    with pytest.raises(MLIPLabError, match="distinct and positive"):
        resolve(replace(TINY, temperatures=(278.0, -5.0)))
    with pytest.raises(MLIPLabError, match="unknown recipe"):
        resolve("cg_water")
    with pytest.raises(MLIPLabError, match="whole number"):
        resolve(replace(TINY, frame_interval=0.003))
    with pytest.raises(MLIPLabError, match="platform 'Warp'"):
        build(TINY, platform_name="Warp")


def test_the_command_line_runs_nothing_with_zero_chunks(tmp_path, capsys):
    assert main(["build", "--max-chunks", "0", "--threads", "1", "--work-dir", str(tmp_path)]) == 0
    assert "run the same command again" in capsys.readouterr().out
    assert not (tmp_path / "chunks").exists()


def test_shortened_mantissas_stay_within_their_precision():
    values = np.random.default_rng(0).normal(scale=10.0, size=1000).astype(np.float32)
    short = shorten_mantissa(values)
    assert np.abs(short / values - 1).max() <= 2.0**-16
    assert np.array_equal(shorten_mantissa(np.float32([1.5, -0.25, 96.0])), [1.5, -0.25, 96.0])


def test_a_cpu_simulation_runs_on_the_one_thread_it_is_given():
    top, system, positions, edge = _box(8, 12.0, 5.5)
    sim = liquid.simulation(top, system, liquid.Dynamics(300.0, pressure=1.0), seed=3, platform_name="CPU", threads=1)
    assert sim.context.getPlatform().getName() == "CPU" and sim.context.getPlatform().getPropertyValue(sim.context, "Threads") == "1"
    liquid.set_positions(sim, positions, edge)
    sim.minimizeEnergy(maxIterations=20)
    sim.context.setVelocitiesToTemperature(300.0, 3)
    before = liquid.snapshot(sim)
    sim.step(10)
    after = liquid.snapshot(sim)
    assert np.isfinite(after.forces).all() and np.abs(after.positions - before.positions).max() > 1e-3


# ---------------------------------------------------------------- the chunked build
@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The tiny recipe built straight through, and built again stopped after three chunks then continued."""
    root = tmp_path_factory.mktemp("reference")
    straight = build(TINY, root / "straight", root / "straight_out", platform_name="Reference", progress=False)
    assert build(TINY, root / "split", root / "split_out", max_chunks=3, platform_name="Reference", progress=False) is None
    stopped = sorted(p.name for p in (root / "split" / "chunks").glob("*/*.npz"))
    resumed = build(TINY, root / "split", root / "split_out", platform_name="Reference", progress=False)
    return SimpleNamespace(root=root, straight=straight, resumed=resumed, stopped=stopped)


@pytest.mark.slow
def test_a_stopped_build_continues_to_the_same_files(builds):
    assert len(builds.stopped) == 3
    for chunk in TINY.plan():
        a, b = load_chunk(builds.root / "straight", chunk), load_chunk(builds.root / "split", chunk)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a if k != "potential_energy"), chunk.key
        assert np.allclose(a["potential_energy"], b["potential_energy"], rtol=1e-12, atol=0), chunk.key
    first, second = load(builds.straight), load(builds.resumed)
    assert np.array_equal(first.positions, second.positions) and np.array_equal(first.forces, second.forces)
    # finished: no state is kept, nothing is left to run
    assert not list((builds.root / "split" / "chunks").glob("*/*.state.xml"))
    assert run(TINY, builds.root / "split", platform_name="Reference", progress=False)


@pytest.mark.slow
def test_the_shipped_cg_dataset_holds_mapped_frames_at_their_temperature(builds):
    data = load(builds.straight)
    frames = TINY.production_chunks * TINY.chunk_frames
    assert len(data) == frames and data.max_atoms == TINY.n_molecules
    assert data.energies is None and (data.species == 1).all()
    assert set(data.category) == {"cg"} and set(data.molecule) == {"methanol"} and (data.temperature == 278.0).all()
    assert data.metadata["bead_types"] == {"1": {"name": "MeOH", "mass": pytest.approx(32.0424)}}
    assert data.pbc.all() and np.allclose(data.cells[:, [0, 1, 2], [0, 1, 2]], data.cells[0, 0, 0])
    fractional = data.positions / data.cells[:, None, 0, 0, None]
    assert (fractional >= 0).all() and (fractional < 1).all()  # beads wrapped into the box
    assert data.metadata["validation"]["frames"] == TINY.validate_chunks * TINY.chunk_frames
    card = builds.straight.with_suffix(".md").read_text()
    assert "Jorgensen" in card and "PME" in card and "python -m mlip_lab.cg.reference build tiny_methanol" in card


@pytest.mark.slow
def test_each_bead_force_is_the_sum_of_its_molecules_atomic_forces(builds):
    """In the saved chunks and in the shipped atomistic frames (eV/Å)."""
    ref = Reference(TINY)
    chunk = [c for c in TINY.plan() if c.stage == "production"][0]
    data = load_chunk(builds.root / "straight", chunk)
    atomic = data["atomistic_forces"].astype(np.float64).reshape(TINY.n_molecules, 6, 3)
    assert np.allclose(data["bead_forces"][0], atomic.sum(axis=1), rtol=1e-5, atol=1e-5)
    masses = ref.masses[:6, None]
    molecules = data["atomistic_positions"].astype(np.float64).reshape(TINY.n_molecules, 6, 3)
    centres = (masses * molecules).sum(1) / masses.sum()
    edge = data["atomistic_box"][0, 0]
    assert np.allclose(data["beads"][0], centres - edge * np.floor(centres / edge), atol=1e-4)
    whole = load(builds.straight.with_name("tiny_methanol_atomistic.npz"))
    assert whole.max_atoms == 6 * TINY.n_molecules and whole.metadata["topology"]["atom_names"] == list(liquid.ATOM_NAMES)
    assert np.allclose(whole.forces[0], data["atomistic_forces"], rtol=1e-4, atol=1e-5)
    assert chunk_path(builds.root / "straight", chunk).exists()


def test_atomistic_speed_is_measured_on_the_box_given():
    from mlip_lab.cg.reference import atomistic_ps_per_hour

    _, _, positions, edge = _box(27, 16.0, 6.0)
    speed = atomistic_ps_per_hour(positions, edge, 300.0, n_steps=5, warmup_steps=1, cutoff=6.0, threads=1)
    assert np.isfinite(speed) and speed > 0
    with pytest.raises(MLIPLabError, match="whole methanols"):
        atomistic_ps_per_hour(positions[:-1], edge, 300.0, cutoff=6.0)
    with pytest.raises(MLIPLabError, match="twice the cutoff"):
        atomistic_ps_per_hour(positions, edge, 300.0, cutoff=10.0)


def test_hydrogen_mass_repartitioning_moves_mass_but_keeps_forces_and_the_bead_map():
    top, system, positions, edge = _box(8, 16.0, 6.0)
    heavy_h = liquid.methanol_system(top, 6.0, hydrogen_mass=3.0)
    standard, repartitioned = liquid.masses(system), liquid.masses(heavy_h)
    hydrogens = np.array(liquid.ATOMIC_NUMBERS * 8) == 1
    assert np.allclose(repartitioned[hydrogens], 3.0) and np.isclose(repartitioned.sum(), standard.sum())
    forces = []
    for s in (system, heavy_h):
        sim = liquid.simulation(top, s, liquid.Dynamics(300.0), 1, "Reference")
        liquid.set_positions(sim, positions, edge)
        forces.append(liquid.snapshot(sim).forces)
    assert np.allclose(forces[0], forces[1], atol=1e-10)
    reference = Reference(replace(TINY, hydrogen_mass=3.0, timestep=4.0, frame_interval=0.04))
    assert np.allclose(reference.mapping.bead_masses, standard[:6].sum())  # beads keep the true masses
    simulated = liquid.masses(reference.system)
    assert np.allclose(simulated[np.array(liquid.ATOMIC_NUMBERS * TINY.n_molecules) == 1], 3.0)  # dynamics use 3 amu


def test_the_reference_speed_is_public_in_mlip_lab_cg_and_loads_openmm_only_when_used():
    import mlip_lab.cg
    from mlip_lab.cg.reference import atomistic_ps_per_hour

    assert mlip_lab.cg.atomistic_ps_per_hour is atomistic_ps_per_hour
    assert "atomistic_ps_per_hour" in mlip_lab.cg.__all__
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        mlip_lab.cg.not_there  # noqa: B018
    code = "import sys, mlip_lab.cg; print('openmm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
