"""The resumable build: run a recipe's chunks (see :mod:`~mlip_lab.cg.reference.recipe`), then assemble.

Work folder (``data/build/<name>/`` by default):
  ``chunks/<T>K/<stage>_<i>.npz``        what the chunk saved, frame by frame (float32 coordinates)
  ``chunks/<T>K/<stage>_<i>.state.xml``  its final OpenMM state (positions, velocities, box): portable XML
  ``log.jsonl``                           one line per chunk: wall time, ns/day, kinetic temperature, density

Every chunk, also within one run, starts from its predecessor's XML state in a fresh OpenMM context seeded
from the recipe seed and the chunk's key, so a build stopped after any chunk and continued writes the same
files as one run straight through (on the same platform). Each saved frame is mapped at once to one bead
per molecule (centre of mass, :class:`mlip_lab.cg.mapping.Mapping`). With bonds to hydrogen constrained,
OpenMM's forces leave out the constraint forces; those act along bonds inside a molecule in equal and
opposite pairs, so the bead force (the sum over the molecule) is the same with or without them.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from mlip_lab.cg.mapping import Mapping
from mlip_lab.cg.reference import liquid
from mlip_lab.cg.reference.recipe import Chunk, LiquidRecipe, resolve
from mlip_lab.cg.reference.validation import Validation, oxygen_rdf_peak
from mlip_lab.data.paths import write_atomically
from mlip_lab.errors import MLIPLabError

BEAD_NAME = "MeOH"
# A chunk's mean kinetic temperature may miss its target by this fraction plus 5 standard errors of the
# mean of that many independent frames (2/dof relative variance each): a thermostat running hot fails.
TEMPERATURE_TOLERANCE = 0.02


class Reference:
    """The recipe's starting lattice, topology, system and bead mapping, built once per process (nothing here
    depends on the chunk)."""

    def __init__(self, recipe: LiquidRecipe):
        from mlip_lab.physics import masses_of

        self.recipe = recipe
        # Standard masses are close enough to place the starting lattice; densities use the system's own.
        approximate = float(masses_of(np.array(liquid.ATOMIC_NUMBERS)).sum())
        self.start_positions, self.start_edge = liquid.lattice_box(recipe.n_molecules, recipe.start_density, approximate,
                                                                   _rng(recipe.seed, "lattice"))
        self.topology = liquid.topology(recipe.n_molecules, self.start_edge)
        self.system = liquid.methanol_system(self.topology, recipe.cutoff, hydrogen_mass=recipe.hydrogen_mass)
        self.dof = liquid.degrees_of_freedom(self.system)
        # The force field's masses, not the repartitioned ones the dynamics may use: beads sit at the true centre
        # of mass, and densities count the true molar mass.
        self.masses = liquid.masses(liquid.methanol_system(self.topology, recipe.cutoff))
        atoms = len(liquid.ATOM_NAMES)
        self.molar_mass = float(self.masses[:atoms].sum())
        self.mapping = Mapping.centre_of_mass(self.masses[:atoms], recipe.n_molecules, bead_name=BEAD_NAME)


def _rng(seed: int, *parts) -> np.random.Generator:
    return np.random.default_rng(_seed(seed, *parts))


def _seed(seed: int, *parts) -> int:
    """A positive 31-bit integer fixed by ``seed`` and ``parts`` (OpenMM reads a seed of 0 as 'random')."""
    digest = hashlib.sha256("/".join(str(p) for p in (seed, *parts)).encode()).digest()
    return 1 + int.from_bytes(digest[:8], "little") % (2**31 - 2)


def work_dir(recipe: LiquidRecipe, folder=None) -> Path:
    from mlip_lab.data.paths import build_dir

    return Path(folder) if folder else build_dir() / recipe.name


def chunk_path(work: Path, chunk: Chunk) -> Path:
    return work / "chunks" / f"{chunk.key}.npz"


def state_path(work: Path, key: str) -> Path:
    return work / "chunks" / f"{key}.state.xml"


def load_chunk(work: Path, chunk: Chunk) -> dict:
    with np.load(chunk_path(work, chunk)) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------- one chunk
def _save_state(sim, path: Path) -> None:
    import openmm

    state = sim.context.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)
    write_atomically(path, lambda tmp: tmp.write_text(openmm.XmlSerializer.serialize(state)))


def _restore(sim, path: Path) -> None:
    """Positions, velocities, box and time from a saved state. Not ``Simulation.loadState``: that would
    also restore the barostat's temperature parameter of an NPT run at another temperature (and fail for an
    NVT context, which has no barostat)."""
    import openmm

    state = openmm.XmlSerializer.deserialize(path.read_text())
    sim.context.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    sim.context.setPositions(state.getPositions())
    sim.context.setVelocities(state.getVelocities())
    sim.context.setTime(state.getTime())


def npt_edge(recipe: LiquidRecipe, work: Path, temperature: float) -> float:
    """Cubic box edge (Å) of the average volume of the averaged NPT chunks at ``temperature``."""
    chunks = [c for c in recipe.plan() if c.stage == "npt" and c.temperature == temperature
              and c.index >= recipe.npt_equilibrate_chunks]
    volumes = np.concatenate([np.abs(np.linalg.det(load_chunk(work, c)["boxes"].astype(np.float64))) for c in chunks])
    return float(np.cbrt(volumes.mean()))


def _start(sim, ref: Reference, chunk: Chunk, work: Path, seed: int) -> None:
    recipe = ref.recipe
    if chunk.previous is None:
        liquid.set_positions(sim, ref.start_positions, ref.start_edge)
        sim.minimizeEnergy(maxIterations=recipe.minimise_iterations)
        sim.context.setVelocitiesToTemperature(chunk.temperature, seed)
        return
    _restore(sim, state_path(work, chunk.previous))
    if chunk.stage == "npt" and chunk.index == 0:  # a new temperature: fresh velocities for it
        sim.context.setVelocitiesToTemperature(chunk.temperature, seed)
    elif chunk.stage == "nvt" and chunk.index == 0:  # into the box of the NPT density, molecules kept whole
        now = liquid.snapshot(sim)
        edge = npt_edge(recipe, work, chunk.temperature)
        liquid.set_positions(sim, liquid.rescale_molecules(now.positions, now.box, edge, len(liquid.ATOM_NAMES)), edge)


def run_chunk(ref: Reference, chunk: Chunk, work: Path, platform_name: str = "CPU", threads: int | None = None) -> dict:
    """Run one chunk, save its frames and final state, and return its log entry.

    Raises :class:`MLIPLabError` when the mean kinetic temperature misses the target (nothing is saved)."""
    recipe = ref.recipe
    seed = _seed(recipe.seed, chunk.key)
    dynamics = liquid.Dynamics(chunk.temperature, recipe.timestep, recipe.friction, recipe.pressure if chunk.npt else None)
    sim = liquid.simulation(ref.topology, ref.system, dynamics, seed, platform_name, threads)
    _start(sim, ref, chunk, work, seed)
    coordinates = ("beads", "bead_forces") if chunk.stage == "production" else ("oxygen",)
    frames = {k: [] for k in ("boxes", "kinetic_temperature", "potential_energy", *coordinates)}
    atomistic = None
    started = time.perf_counter()
    for _ in range(recipe.chunk_frames):
        sim.step(recipe.steps_per_frame)
        snap = liquid.snapshot(sim)
        frames["boxes"].append(snap.box)
        frames["kinetic_temperature"].append(snap.kinetic_temperature(ref.dof))
        frames["potential_energy"].append(snap.potential_energy)
        if chunk.stage == "production":
            frames["beads"].append(ref.mapping.map_positions(snap.positions, snap.box))
            frames["bead_forces"].append(ref.mapping.map_forces(snap.forces))
            atomistic = atomistic or snap  # the chunk's first frame, kept whole for the mapping views
        else:
            frames["oxygen"].append(snap.positions[liquid.OXYGEN:: len(liquid.ATOM_NAMES)])
    wall = time.perf_counter() - started
    entry = _log_entry(ref, chunk, frames, wall, platform_name, threads)
    arrays = {k: np.asarray(v, dtype=np.float32 if k in ("boxes", *coordinates) else np.float64) for k, v in frames.items()}
    if atomistic is not None:
        arrays.update(atomistic_positions=atomistic.positions.astype(np.float32),
                      atomistic_forces=atomistic.forces.astype(np.float32), atomistic_box=atomistic.box.astype(np.float32))
    path = chunk_path(work, chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_state(sim, state_path(work, chunk.key))
    write_atomically(path, lambda tmp: np.savez_compressed(tmp, **arrays))  # the chunk is done once this file exists
    with (work / "log.jsonl").open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return entry


def _log_entry(ref: Reference, chunk: Chunk, frames: dict, wall: float, platform_name: str, threads) -> dict:
    recipe = ref.recipe
    kinetic = float(np.mean(frames["kinetic_temperature"]))
    allowed = chunk.temperature * (TEMPERATURE_TOLERANCE + 5.0 * np.sqrt(2.0 / ref.dof / recipe.chunk_frames))
    if abs(kinetic - chunk.temperature) > allowed:
        raise MLIPLabError(f"{chunk.key}: mean kinetic temperature {kinetic:.1f} K misses the target {chunk.temperature:g} K "
                           f"by more than {allowed:.1f} K; the thermostat or the degrees of freedom ({ref.dof}) are wrong")
    volumes = np.abs(np.linalg.det(np.asarray(frames["boxes"])))
    simulated_ps = recipe.chunk_ps
    return {
        "key": chunk.key, "stage": chunk.stage, "temperature": chunk.temperature, "simulated_ps": simulated_ps,
        "wall_seconds": round(wall, 2), "ns_per_day": round(simulated_ps / 1000.0 / (wall / 86400.0), 3),
        "kinetic_temperature": round(kinetic, 2),
        "density": round(float(np.mean([liquid.density(v, recipe.n_molecules, ref.molar_mass) for v in volumes])), 5),
        "platform": platform_name, "threads": threads,
    }


def prune_states(recipe: LiquidRecipe, work: Path) -> None:
    """Delete the saved states no missing chunk starts from (at most a few are ever needed to continue)."""
    needed = {c.previous for c in recipe.plan() if c.previous and not chunk_path(work, c).exists()}
    for path in (work / "chunks").glob("*/*.state.xml"):
        if f"{path.parent.name}/{path.name.removesuffix('.state.xml')}" not in needed:
            path.unlink()


def log_entries(work: Path) -> list[dict]:
    path = work / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---------------------------------------------------------------- validation
def validation(recipe: LiquidRecipe, work: Path, molar_mass: float) -> Validation:
    """Density (of molecules of ``molar_mass`` amu) and O-O RDF of the finished ``validate`` chunks."""
    chunks = [c for c in recipe.plan() if c.stage == "validate"]
    missing = [c.key for c in chunks if not chunk_path(work, c).exists()]
    if missing:
        raise MLIPLabError(f"the validation run is not finished ({len(missing)} chunks missing, e.g. {missing[0]}); "
                           "run `python -m mlip_lab.cg.reference validate` first")
    data = [load_chunk(work, c) for c in chunks]
    boxes = np.concatenate([d["boxes"] for d in data]).astype(np.float64)
    oxygen = np.concatenate([d["oxygen"] for d in data]).astype(np.float64)
    densities = liquid.density(np.abs(np.linalg.det(boxes)), recipe.n_molecules, molar_mass)
    return Validation(float(np.mean(densities)), float(np.std(densities)), recipe.experimental_density,
                      recipe.density_tolerance, oxygen_rdf_peak(oxygen, boxes), recipe.oxygen_peak_window, len(boxes))


# ---------------------------------------------------------------- driver
def run(recipe: str | LiquidRecipe, work_dir_=None, max_chunks: int | None = None, platform_name: str = "CPU",
        threads: int | None = None, stages: tuple[str, ...] | None = None, progress: bool = True) -> bool:
    """Run the recipe's missing chunks in order (only those of ``stages`` if given), at most ``max_chunks``.
    Production temperatures start only once the validation passes. Returns True when none is left."""
    from tqdm.auto import tqdm

    recipe = resolve(recipe)
    liquid.platform(platform_name, threads)  # bad platform or thread count: fail before any work
    if max_chunks is not None and max_chunks < 0:
        raise MLIPLabError(f"max_chunks must be at least 0, got {max_chunks}")
    work = work_dir(recipe, work_dir_)
    plan = [c for c in recipe.plan() if stages is None or c.stage in stages]
    todo = [c for c in plan if not chunk_path(work, c).exists()]
    if not todo:
        return True
    ref = Reference(recipe)
    bar = tqdm(total=len(plan), initial=len(plan) - len(todo), desc=f"{recipe.name}: chunks", unit="chunk", disable=not progress)
    try:
        for ran, chunk in enumerate(todo):
            if max_chunks is not None and ran >= max_chunks:
                return False
            if chunk.stage == "npt" and chunk.index == 0:
                check = validation(recipe, work, ref.molar_mass)
                if not check.passed:
                    raise MLIPLabError(f"{recipe.name}: {check.summary()}; the force field does not reproduce the liquid, "
                                       "so no production runs (the issue's fallback is a water model OpenMM ships)")
            entry = run_chunk(ref, chunk, work, platform_name, threads)
            prune_states(recipe, work)
            bar.update()
            tqdm.write(f"{entry['key']}: {entry['simulated_ps']:g} ps in {entry['wall_seconds']:.0f} s ({entry['ns_per_day']:.2f} ns/day), "
                       f"kinetic T {entry['kinetic_temperature']:.1f} K (target {chunk.temperature:g} K), "
                       f"density {entry['density']:.4f} g/cm³")
    finally:
        bar.close()
    return True


def build(recipe: str | LiquidRecipe, work_dir_=None, out_dir=None, max_chunks: int | None = None,
          platform_name: str = "CPU", threads: int | None = None, progress: bool = True) -> Path | None:
    """Run (or continue) the recipe; once every chunk exists, write ``<name>.npz``, ``<name>_atomistic.npz`` and
    their cards into ``out_dir`` (default: the shipped datasets) and return the CG dataset's path."""
    from mlip_lab.cg.reference.assemble import assemble
    from mlip_lab.data.paths import DATA_DIR

    recipe = resolve(recipe)
    if not run(recipe, work_dir_, max_chunks, platform_name, threads, progress=progress):
        return None
    return assemble(recipe, Reference(recipe), work_dir(recipe, work_dir_), Path(out_dir) if out_dir else DATA_DIR)
