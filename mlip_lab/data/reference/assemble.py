"""Turn labelled tasks into the shipped dataset file(s) and their provenance card."""

from __future__ import annotations

import platform
from datetime import date
from importlib import metadata as pkg_metadata
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers

from mlip_lab.data.dataset import Dataset
from mlip_lab.data.io import save_npz
from mlip_lab.data.padding import pad_ragged

PROGRAMS = ("pyscf", "pyscf-dispersion", "sella", "tblite", "ase", "numpy", "mlip_lab")


def _versions() -> dict[str, str]:
    out = {}
    for name in PROGRAMS:
        try:
            out[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def tasks_to_dataset(tasks, store, name: str, with_hessians: bool) -> Dataset:
    """Stack the labelled ``tasks`` (those the store has) into a padded dataset."""
    tasks = [t for t in tasks if t.key in store.records]
    records = [store.records[t.key] for t in tasks]
    species = pad_ragged([[atomic_numbers[s] for s in t.symbols] for t in tasks], dtype=np.int64)
    positions = pad_ragged([t.positions for t in tasks], dtype=np.float64)
    energies = np.array([rec["energy"] for rec in records])
    forces = pad_ragged([rec["forces"] for rec in records], dtype=np.float64)
    hessians = pad_ragged([0.5 * (rec["hessian"] + rec["hessian"].T) for rec in records], axes=2) if with_hessians else None
    return Dataset(
        species, positions, energies, forces, hessians,
        molecule=np.array([t.system for t in tasks]), category=np.array([t.category for t in tasks]),
        temperature=np.array([t.temperature for t in tasks]), name=name,
    )


def assemble(recipe, tasks, stationary, store, out_dir: Path) -> Path:
    """Write ``<name>.npz`` (and ``<name>_minima.npz`` when only stationary points have Hessians)
    with a provenance card each. Returns the main dataset path."""
    log = store.log_entries()
    dropped = sorted({e["key"] for e in log if not e["converged"]})
    label_seconds = sum(e["seconds"] for e in log)
    search_seconds = float(sum(float(st["seconds"]) for st in stationary.values()))
    provenance = {
        "recipe": recipe.name,
        "description": recipe.description,
        "programs": _versions(),
        "method": {"program": "PySCF", "functional": recipe.settings.xc, "basis": recipe.settings.basis,
                   "dispersion": "D3(BJ) via pyscf-dispersion (part of the functional name)",
                   "scf_conv_tol_hartree": recipe.settings.conv_tol, "scf_conv_tol_grad": recipe.settings.conv_tol_grad,
                   "grid_level": recipe.settings.grid_level, "max_scf_cycles": recipe.settings.max_cycle,
                   "derivatives": "analytic gradients and Hessians"},
        "sampling": {"geometry_searches": "Sella (minima, order-1 saddle points, IRC)",
                     "md_driver": "GFN2-xTB (tblite) Langevin; every stored label is DFT",
                     "nms_temperatures_K": list(recipe.nms_temperatures), "md_temperatures_K": list(recipe.md_temperatures),
                     "seed": recipe.seed},
        "units": {"energy": "eV", "length": "Angstrom", "forces": "eV/Angstrom", "hessians": "eV/Angstrom^2"},
        "dropped_scf_not_converged": len(dropped),
        "cpu_seconds": {"geometry_searches": round(search_seconds, 1), "labels": round(label_seconds, 1)},
        "date": date.today().isoformat(),
        "command": f"python -m mlip_lab.data.reference build {recipe.name}",
    }
    main = tasks_to_dataset(tasks, store, recipe.name, with_hessians=recipe.hessian_for_all)
    main.metadata = dict(provenance, counts=main.counts("category"), molecules=main.counts("molecule"))
    paths = [_write(main, out_dir)]
    if not recipe.hessian_for_all:
        minima = tasks_to_dataset([t for t in tasks if t.hessian], store, f"{recipe.name}_minima", with_hessians=True)
        minima.metadata = dict(provenance, counts=minima.counts("category"), molecules=minima.counts("molecule"))
        paths.append(_write(minima, out_dir))
    return paths[0]


def _write(dataset: Dataset, out_dir: Path) -> Path:
    path = save_npz(dataset, Path(out_dir) / f"{dataset.name}.npz")
    path.with_suffix(".md").write_text(provenance_card(dataset))
    return path


def provenance_card(dataset: Dataset) -> str:
    """A Markdown card describing how ``dataset`` was made, from its metadata."""
    md = dataset.metadata
    method, programs = md["method"], md["programs"]
    rows = "\n".join(f"| {k} | {v} |" for k, v in md["counts"].items())
    mols = "\n".join(f"| {k} | {v} |" for k, v in md["molecules"].items())
    cpu = md["cpu_seconds"]
    md_temperatures = md["sampling"]["md_temperatures_K"]
    md_part = f", MD at {md_temperatures} K" if md_temperatures else " (no MD sampling)"
    return f"""# Dataset `{dataset.name}`

{md['description']}

- Configurations: {len(dataset)} (up to {dataset.max_atoms} atoms); elements Z = {dataset.elements}
- Fields: energies, forces{', Hessians' if dataset.hessians is not None else ''}; labels molecule, category, temperature
- Level of theory: {method['functional']} / {method['basis']} in {method['program']} {programs['pyscf']}, dispersion {method['dispersion']};
  {method['derivatives']}; SCF energy tolerance {method['scf_conv_tol_hartree']} Ha, gradient tolerance
  {method['scf_conv_tol_grad']}, DFT grid level {method['grid_level']}, at most {method['max_scf_cycles']} SCF cycles
  (then a second-order SCF retry)
- Sampling: {md['sampling']['geometry_searches']}; MD driver {md['sampling']['md_driver']};
  normal-mode sampling at {md['sampling']['nms_temperatures_K']} K{md_part}, seed {md['sampling']['seed']}
- Units: energy {md['units']['energy']}, length {md['units']['length']}, forces {md['units']['forces']}, Hessians {md['units']['hessians']}
- Configurations dropped because the SCF did not converge: {md['dropped_scf_not_converged']}
- Worker time: {cpu['geometry_searches'] / 3600:.2f} h geometry searches + {cpu['labels'] / 3600:.2f} h labels (wall seconds of single-thread workers, summed: more than the CPU time when the machine was busy with other work)
- Built {md['date']} with: `{md['command']}` (resumable; the work folder is `data/build/{md['recipe']}/`)
- Programs: {', '.join(f'{k} {v}' for k, v in programs.items())}

| category | configurations |
|---|---|
{rows}

| molecule / reaction | configurations |
|---|---|
{mols}
"""
