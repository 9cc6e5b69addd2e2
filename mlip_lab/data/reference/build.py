"""The resumable, parallel pipeline that turns a :class:`Recipe` into a shipped dataset.

Stages, each skipped when its output already exists in the work folder:

1. ``stationary/<system>.npz``: minima (and for reactions the transition state, the IRC both ways and
   the relaxed IRC ends), each with its analytic Hessian; for molecules also GFN2-xTB MD snapshots.
2. task list: every configuration to label, drawn deterministically from stage 1 and the recipe seed.
   Recipes with ``draws`` also take geometries from a shipped dataset (stratified, seeded).
3. ``labels.npz`` + ``scf_log.jsonl``: DFT or CCSD(T) labels, flushed every few configurations. A
   configuration whose SCF (or coupled-cluster iteration) does not converge is logged, counted and never stored.
4. assembly into ``mlip_lab/datasets/<name>.npz`` (where ``load`` finds it) plus a provenance card
   ``mlip_lab/datasets/<name>.md``.

Stopping at any point and running the same command again continues where it stopped.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from mlip_lab.data.padding import pad_ragged
from mlip_lab.data.paths import write_atomically
from mlip_lab.data.reference.recipes import RECIPES, Recipe
from mlip_lab.errors import MLIPLabError

FLUSH_EVERY = 8


@dataclass(frozen=True)
class Task:
    key: str
    system: str
    category: str
    temperature: float
    symbols: tuple[str, ...]
    positions: np.ndarray
    hessian: bool
    source_index: int = -1  # index in the shipped dataset a drawn geometry comes from; -1 = sampled here


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from pyscf import lib

    lib.num_threads(threads)


def _rng(seed: int, *parts) -> np.random.Generator:
    """A generator fixed by ``seed`` and the labels in ``parts`` (system, kind, temperature, ...)."""
    text = "/".join(str(p) for p in (seed, *parts))
    return np.random.default_rng(int.from_bytes(text.encode(), "little") % (2**63))


# ---------------------------------------------------------------- stage 1: stationary points and paths
def _stationary_molecule(recipe: Recipe, name: str) -> dict:
    from ase import Atoms

    from mlip_lab.data.reference.qc import PySCFCalculator
    from mlip_lab.data.reference.sampling import tight_binding_md_samples
    from mlip_lab.data.reference.search import count_imaginary, optimise_minimum
    from mlip_lab.data.reference.systems import MOLECULES

    mol = MOLECULES[name]
    calc = PySCFCalculator(recipe.settings)
    minimum = optimise_minimum(Atoms(mol.symbols, positions=mol.positions), calc)
    hessian = calc.hessian(minimum)
    n_imag = count_imaginary(minimum.positions, mol.symbols, hessian)
    if n_imag:
        raise MLIPLabError(f"{name}: optimised minimum has {n_imag} imaginary frequencies")
    out = {"min_positions": minimum.positions, "min_hessian": hessian}
    for t in recipe.md_temperatures:
        rng = _rng(recipe.seed, name, "md", t)
        out[f"md_{t:g}"] = tight_binding_md_samples(mol.symbols, minimum.positions, t, _md_frames(recipe, name), rng)
    return out


def _stationary_reaction(recipe: Recipe, name: str) -> dict:
    from ase import Atoms

    from mlip_lab.data.reference.qc import PySCFCalculator
    from mlip_lab.data.reference.search import (
        count_imaginary,
        distance_signature,
        find_transition_state,
        follow_irc,
        optimise_minimum,
    )
    from mlip_lab.data.reference.systems import REACTIONS

    rxn = REACTIONS[name]
    calc = PySCFCalculator(recipe.settings)
    ts = find_transition_state(Atoms(rxn.symbols, positions=rxn.ts_guess), calc, calc.hessian)
    ts_hessian = calc.hessian(ts)
    n_imag = count_imaginary(ts.positions, rxn.symbols, ts_hessian)
    if n_imag != 1:
        raise MLIPLabError(f"{name}: transition state has {n_imag} imaginary frequencies, expected exactly 1")
    paths = {d: follow_irc(ts, calc, calc.hessian, d, dx=recipe.irc_dx, steps=recipe.irc_steps) for d in ("forward", "reverse")}
    ends = {d: optimise_minimum(Atoms(rxn.symbols, positions=p[-1]), calc) for d, p in paths.items()}
    hint = distance_signature(rxn.reactant_hint)
    gap = {d: np.abs(distance_signature(a.positions) - hint).sum() for d, a in ends.items()}
    reactant_dir = min(gap, key=gap.get)
    product_dir = "reverse" if reactant_dir == "forward" else "forward"
    out = {"ts_positions": ts.positions, "ts_hessian": ts_hessian}
    for label, d in (("reactant", reactant_dir), ("product", product_dir)):
        h = calc.hessian(ends[d])
        n_imag = count_imaginary(ends[d].positions, rxn.symbols, h)
        if n_imag:
            raise MLIPLabError(f"{name}: {label} has {n_imag} imaginary frequencies after relaxation")
        out[f"{label}_positions"] = ends[d].positions
        out[f"{label}_hessian"] = h
        out[f"irc_{label}_side"] = paths[d]
    return out


def _stationary_job(recipe_name: str, system: str, kind: str, path: str, settings_override) -> str:
    recipe = _resolve(recipe_name, settings_override)
    start = time.perf_counter()
    out = _stationary_reaction(recipe, system) if kind == "reaction" else _stationary_molecule(recipe, system)
    out["seconds"] = np.array(time.perf_counter() - start)
    _save_stationary(Path(path), out)
    return system


def _save_stationary(path: Path, arrays: dict) -> None:
    write_atomically(path, lambda tmp: np.savez(tmp, **arrays))


def _load_stationary(work: Path, system: str) -> dict:
    with np.load(work / "stationary" / f"{system}.npz") as z:
        return {k: z[k] for k in z.files}


def _work_dir(recipe: Recipe, work_dir) -> Path:
    from mlip_lab.data.paths import build_dir

    return Path(work_dir) if work_dir else build_dir() / recipe.name


# ---------------------------------------------------------------- stage 2: tasks
def _symbols(system: str) -> tuple[str, ...]:
    from mlip_lab.data.reference.systems import MOLECULES, REACTIONS

    return (REACTIONS.get(system) or MOLECULES[system]).symbols


def _evenly(frames: np.ndarray, count: int) -> np.ndarray:
    if len(frames) <= count:
        return frames
    return frames[np.unique(np.linspace(0, len(frames) - 1, count).round().astype(int))]


def make_tasks(recipe: Recipe, stationary: dict[str, dict]) -> list[Task]:
    """Every configuration of the recipe, in a fixed order, from the stage-1 results."""
    from ase.symbols import symbols2numbers

    from mlip_lab.data.reference.sampling import normal_mode_samples
    from mlip_lab.physics import masses_of

    tasks = []
    for system, st in stationary.items():
        symbols = _symbols(system)
        masses = masses_of(symbols2numbers(symbols))
        n_nms, n_md = recipe.sample_counts(system)
        points = ("reactant", "product", "ts") if system in recipe.reactions else ("min",)

        def add(category, temperature, positions, index, stationary_point=False, _s=system, _sym=symbols):
            key = f"{_s}/{category}/{temperature:g}K/{index:04d}" if temperature == temperature else f"{_s}/{category}/{index:04d}"
            wants_hessian = recipe.label_method == "dft" and (recipe.hessian_for_all or stationary_point)
            tasks.append(Task(key, _s, category, temperature, _sym, np.asarray(positions), wants_hessian))

        for point in points:
            add(point, float("nan"), st[f"{point}_positions"], 0, stationary_point=True)
        for side in ("reactant", "product") if system in recipe.reactions else ():
            for i, pos in enumerate(_evenly(st[f"irc_{side}_side"], recipe.irc_points_per_side)):
                add("irc", float("nan"), pos, i + (0 if side == "reactant" else 1000))
        for t in recipe.nms_temperatures:
            for point in points:
                rng = _rng(recipe.seed, system, "nms", point, t)
                samples = normal_mode_samples(st[f"{point}_positions"], masses, st[f"{point}_hessian"], t, n_nms, rng)
                for i, pos in enumerate(samples):
                    add("nms", t, pos, i + 1000 * points.index(point))
        for t in recipe.md_temperatures:
            for i, pos in enumerate(st[f"md_{t:g}"][:n_md]):
                add("md", t, pos, i)
    return tasks + drawn_tasks(recipe)


def drawn_tasks(recipe: Recipe) -> list[Task]:
    """The geometries ``recipe.draws`` take from shipped datasets, stratum by stratum (see :class:`Draw`)."""
    from ase.data import chemical_symbols

    from mlip_lab.data.io import load

    tasks = []
    for draw in recipe.draws:
        source = load(draw.dataset)
        temperature_keys = np.where(np.isfinite(source.temperature), source.temperature, -1.0)
        strata = sorted({(m, c, t) for m, c, t in zip(source.molecule, source.category, temperature_keys)
                         if c in draw.categories and (not draw.molecules or m in draw.molecules)})
        for molecule, category, temperature in strata:
            members = np.flatnonzero((source.molecule == molecule) & (source.category == category)
                                     & (temperature_keys == temperature))
            order = _rng(draw.seed, draw.dataset, molecule, category, temperature).permutation(members)
            for index in order[draw.skip: draw.skip + draw.take(len(members))]:
                n = int(source.n_atoms[index])
                symbols = tuple(chemical_symbols[z] for z in source.species[index, :n])
                if symbols != _symbols(str(molecule)):  # a resumed run rebuilds the symbols from the system name
                    raise MLIPLabError(f"{draw.dataset}[{index}] ({molecule}) has atoms {symbols}, not the "
                                       f"{_symbols(str(molecule))} of the recipe system of that name")
                key = f"{molecule}/{category}/{temperature:g}K/{draw.dataset}{int(index):05d}"
                tasks.append(Task(key, str(molecule), str(category), float(source.temperature[index]), symbols,
                                  source.positions[index, :n].copy(), False, int(index)))
    return tasks


def load_or_make_tasks(recipe: Recipe, stationary: dict[str, dict], path: Path) -> list[Task]:
    """The task list, frozen in ``path`` the first time so that a resumed run labels exactly the same
    geometries even if the sampling code has changed since."""
    if path.exists():
        with np.load(path) as z:
            sources = z["source_index"] if "source_index" in z.files else np.full(len(z["keys"]), -1)
            return [
                Task(str(k), str(s), str(c), float(t), tuple(_symbols(str(s))), z["positions"][i, : len(_symbols(str(s)))],
                     bool(h), int(source))
                for i, (k, s, c, t, h, source) in enumerate(zip(z["keys"], z["systems"], z["categories"],
                                                                 z["temperatures"], z["hessian"], sources))
            ]
    tasks = make_tasks(recipe, stationary)
    _save_tasks(tasks, path)
    return tasks


def _save_tasks(tasks: list[Task], path: Path) -> None:
    np.savez_compressed(
        path, keys=np.array([t.key for t in tasks]), systems=np.array([t.system for t in tasks]),
        categories=np.array([t.category for t in tasks]), temperatures=np.array([t.temperature for t in tasks]),
        hessian=np.array([t.hessian for t in tasks]), positions=pad_ragged([t.positions for t in tasks], dtype=np.float64),
        source_index=np.array([t.source_index for t in tasks]),
    )


# ---------------------------------------------------------------- stage 3: labels
def _label_job(task: Task, recipe: Recipe) -> tuple[Task, dict]:
    from mlip_lab.data.reference.qc import coupled_cluster_point, single_point

    if recipe.label_method == "ccsd(t)":
        return task, coupled_cluster_point(task.symbols, task.positions, recipe.coupled_cluster, forces=recipe.label_forces)
    return task, single_point(task.symbols, task.positions, recipe.settings, hessian=task.hessian)


class LabelStore:
    """Labels of finished configurations, kept in one npz rewritten atomically on each flush."""

    def __init__(self, folder: Path):
        self.path = folder / "labels.npz"
        self.log_path = folder / "scf_log.jsonl"
        self.records: dict[str, dict] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                # Files from before energy-only labels existed have forces for every configuration.
                has_forces = z["has_forces"] if "has_forces" in z.files else np.ones(len(z["keys"]), bool)
                for i, key in enumerate(z["keys"]):
                    n = int(z["n_atoms"][i])
                    rec = {"energy": float(z["energies"][i]), "n_atoms": n}
                    if has_forces[i]:
                        rec["forces"] = z["forces"][i, :n]
                    if z["has_hessian"][i]:
                        rec["hessian"] = z["hessians"][i, : 3 * n, : 3 * n]
                    self.records[str(key)] = rec
        self.failed = set()
        if self.log_path.exists():
            for line in self.log_path.read_text().splitlines():
                entry = json.loads(line)
                if not entry["converged"]:
                    self.failed.add(entry["key"])

    def done(self, key: str) -> bool:
        return key in self.records or key in self.failed

    def add(self, task: Task, result: dict) -> None:
        entry = {k: result[k] for k in ("converged", "scf_cycles", "solver", "cc_cycles") if k in result}
        entry.update(key=task.key, seconds=round(result["seconds"], 2))
        with self.log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
        if result["converged"]:
            record = {k: result[k] for k in ("energy", "forces", "hessian") if k in result}
            self.records[task.key] = dict(record, n_atoms=len(task.symbols))
        else:
            self.failed.add(task.key)

    def flush(self) -> None:
        keys = sorted(self.records)
        if not keys:
            return
        records = [self.records[k] for k in keys]
        n_max = max(rec["n_atoms"] for rec in records)
        no_forces, no_hessian = np.zeros((0, 3)), np.zeros((0, 0))  # padded to zeros like the missing atoms
        write_atomically(self.path, lambda tmp: np.savez_compressed(
            tmp, keys=np.array(keys), n_atoms=np.array([rec["n_atoms"] for rec in records]),
            energies=np.array([rec["energy"] for rec in records]),
            forces=pad_ragged([rec.get("forces", no_forces) for rec in records], length=n_max, dtype=np.float64),
            has_forces=np.array(["forces" in rec for rec in records]),
            hessians=pad_ragged([rec.get("hessian", no_hessian) for rec in records], length=3 * n_max, axes=2, dtype=np.float64),
            has_hessian=np.array(["hessian" in rec for rec in records]),
        ))

    def forget(self, keys) -> None:
        """Drop the labels and log lines of ``keys`` (their geometries changed), then flush."""
        keys = set(keys)
        self.records = {k: v for k, v in self.records.items() if k not in keys}
        self.failed -= keys
        kept = [e for e in self.log_entries() if e["key"] not in keys]
        self.log_path.write_text("".join(json.dumps(e) + "\n" for e in kept))
        self.flush()

    def log_entries(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


# ---------------------------------------------------------------- changing a frozen task list
def _md_frames(recipe: Recipe, system: str) -> int:
    """MD snapshots to draw per temperature: enough for the largest count any system uses."""
    return max(recipe.md_per_temperature, recipe.sample_counts(system)[1])


def update_tasks(recipe_name: str, work_dir=None, redraw_md: bool = False, progress: bool = True) -> int:
    """Bring a frozen task list up to date with its recipe, keeping every label still valid.

    New configurations (the recipe now samples a system more densely) are appended in recipe order; frozen
    ones keep their geometry and label. ``redraw_md`` also redraws every molecule's MD snapshots with the
    current sampler and forgets their labels (for snapshots from a faulty sampler). The minima and their
    Hessians are never redone. Returns how many configurations now lack a label: the next ``build``
    labels them.
    """
    from tqdm.auto import tqdm

    from mlip_lab.data.reference.sampling import tight_binding_md_samples

    recipe = _resolve(recipe_name)
    work = _work_dir(recipe, work_dir)
    tasks_path = work / "tasks.npz"
    if not tasks_path.exists():
        raise MLIPLabError(f"{work} has no task list yet: run `build {recipe.name}` first")
    stationary = {system: _load_stationary(work, system) for system in recipe.reactions}
    for system in tqdm(recipe.molecules, desc=f"{recipe.name}: MD snapshots", disable=not progress):
        st = _load_stationary(work, system)
        frames = _md_frames(recipe, system)
        stale = [t for t in recipe.md_temperatures if redraw_md or len(st[f"md_{t:g}"]) < frames]
        for t in stale:
            st[f"md_{t:g}"] = tight_binding_md_samples(_symbols(system), st["min_positions"], t, frames, _rng(recipe.seed, system, "md", t))
        if stale:
            _save_stationary(work / "stationary" / f"{system}.npz", st)
        stationary[system] = st
    frozen = {t.key: t for t in load_or_make_tasks(recipe, stationary, tasks_path)}
    fresh = make_tasks(recipe, stationary)
    dropped = sorted(set(frozen) - {t.key for t in fresh})
    if dropped:
        raise MLIPLabError(f"the recipe no longer asks for {len(dropped)} frozen tasks (e.g. {dropped[0]}): "
                           "lower counts are not supported, start a new work folder instead")
    redrawn = {k for k, t in frozen.items() if redraw_md and t.category == "md"}
    tasks = [frozen[t.key] if t.key in frozen and t.key not in redrawn else t for t in fresh]
    _save_tasks(tasks, tasks_path)
    store = LabelStore(work)
    if redrawn:
        store.forget(redrawn)
    return sum(not store.done(t.key) for t in tasks)


# ---------------------------------------------------------------- driver
def _resolve(recipe_name: str, settings_override=None) -> Recipe:
    if recipe_name not in RECIPES:
        raise MLIPLabError(f"unknown recipe {recipe_name!r}; choose one of {sorted(RECIPES)}")
    recipe = RECIPES[recipe_name]
    if settings_override is not None:
        from dataclasses import replace

        recipe = replace(recipe, settings=settings_override)
    return recipe


def build(recipe_name: str, work_dir=None, out_dir=None, workers: int | None = None, progress: bool = True,
          settings_override=None, max_tasks: int | None = None) -> Path | None:
    """Run (or continue) a recipe. Returns the dataset path once all configurations are labelled.

    work_dir defaults to ``data/build/<name>``, out_dir to the shipped datasets (``mlip_lab/datasets``).
    ``max_tasks`` stops after that many new labels (a chunk); the next call continues. ``workers`` defaults
    to the number of cores.
    """
    from tqdm.auto import tqdm

    from mlip_lab.data.paths import DATA_DIR

    recipe = _resolve(recipe_name, settings_override)
    work = _work_dir(recipe, work_dir)
    out = Path(out_dir) if out_dir else DATA_DIR
    (work / "stationary").mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    ctx = get_context("spawn")
    systems = [(s, "reaction") for s in recipe.reactions] + [(s, "molecule") for s in recipe.molecules]
    pending = [(s, k) for s, k in systems if not (work / "stationary" / f"{s}.npz").exists()]
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(1,)) as pool:
        if pending:
            futures = [pool.submit(_stationary_job, recipe.name, s, k, str(work / "stationary" / f"{s}.npz"), settings_override) for s, k in pending]
            for f in tqdm(as_completed(futures), total=len(futures), desc=f"{recipe.name}: stationary points", disable=not progress):
                f.result()
        stationary = {s: _load_stationary(work, s) for s, _ in systems}
        tasks = load_or_make_tasks(recipe, stationary, work / "tasks.npz")
        store = LabelStore(work)
        todo = [t for t in tasks if not store.done(t.key)]
        if max_tasks is not None:
            todo = todo[:max_tasks]
        futures = [pool.submit(_label_job, t, recipe) for t in todo]
        bar = tqdm(total=len(tasks), initial=len(tasks) - len([t for t in tasks if not store.done(t.key)]),
                   desc=f"{recipe.name}: {recipe.label_method.upper()} labels", disable=not progress)
        try:
            for i, f in enumerate(as_completed(futures), 1):
                task, result = f.result()
                store.add(task, result)
                bar.update()
                if i % FLUSH_EVERY == 0:
                    store.flush()
        finally:
            store.flush()
            bar.close()
    if not all(store.done(t.key) for t in tasks):
        return None
    from mlip_lab.data.reference.assemble import assemble

    return assemble(recipe, tasks, stationary, store, out)
