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
from mlip_lab.data.frames import Frame, stack_frames

PROGRAMS = ("pyscf", "pyscf-dispersion", "sella", "tblite", "ase", "numpy", "mlip_lab")


def program_versions(programs=PROGRAMS) -> dict[str, str]:
    """Installed versions of ``programs`` (distribution names; "not installed" where missing) and of Python,
    for a provenance card."""
    out = {}
    for name in programs:
        try:
            out[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def tasks_to_dataset(tasks, store, name: str, with_hessians: bool, with_forces: bool = True) -> Dataset:
    """Stack the labelled ``tasks`` (those the store has) into a padded dataset (through the readers' one
    stacking step, :func:`~mlip_lab.data.frames.stack_frames`); ``with_forces=False`` for energy-only labels."""
    frames = []
    for t in tasks:
        if t.key not in store.records:
            continue
        rec = store.records[t.key]
        frames.append(Frame(
            numbers=np.array([atomic_numbers[s] for s in t.symbols], dtype=np.int64),
            positions=np.asarray(t.positions, dtype=np.float64), energy=rec["energy"],
            forces=rec["forces"] if with_forces else None,
            hessian=0.5 * (rec["hessian"] + rec["hessian"].T) if with_hessians else None,
            molecule=t.system, category=t.category, temperature=t.temperature,
        ))
    return stack_frames(frames, name, source=f"recipe {name}")


def _label_name(recipe) -> str:
    return "CCSD(T)" if recipe.label_method == "ccsd(t)" else "DFT"


def _label_name_of(method: dict) -> str:
    """The same name from a dataset's stored method metadata."""
    return method.get("method", "DFT")


def _method(recipe) -> dict:
    """The level of theory of the labels, for the metadata and the card."""
    if recipe.label_method == "ccsd(t)":
        cc = recipe.coupled_cluster
        return {"program": "PySCF", "method": "CCSD(T)", "reference": "RHF", "basis": cc.basis,
                "frozen_core": cc.frozen_core, "scf_conv_tol_hartree": cc.scf_conv_tol,
                "cc_conv_tol_hartree": cc.cc_conv_tol, "max_cycles": cc.max_cycle,
                "derivatives": ("analytic CCSD(T) gradients (pyscf.grad.ccsd_t with the CCSD(T) lambda equations "
                                "solved), the same frozen core as the energies") if recipe.label_forces
                else "none: energies only"}
    settings = recipe.settings
    return {"program": "PySCF", "functional": settings.xc, "basis": settings.basis,
            "dispersion": "D3(BJ) via pyscf-dispersion (part of the functional name)",
            "scf_conv_tol_hartree": settings.conv_tol, "scf_conv_tol_grad": settings.conv_tol_grad,
            "grid_level": settings.grid_level, "max_scf_cycles": settings.max_cycle,
            "derivatives": "analytic gradients and Hessians"}


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
        "programs": program_versions(),
        "method": _method(recipe),
        "sampling": {"geometry_searches": "Sella (minima, order-1 saddle points, IRC)",
                     "md_driver": f"GFN2-xTB (tblite) Langevin; every stored label is {_label_name(recipe)}",
                     "nms_temperatures_K": list(recipe.nms_temperatures), "md_temperatures_K": list(recipe.md_temperatures),
                     "seed": recipe.seed},
        "units": {"energy": "eV", "length": "Angstrom", "forces": "eV/Angstrom", "hessians": "eV/Angstrom^2"},
        "dropped_scf_not_converged": len(dropped),
        "cpu_seconds": {"geometry_searches": round(search_seconds, 1), "labels": round(label_seconds, 1)},
        "date": date.today().isoformat(),
        "command": f"python -m mlip_lab.data.reference build {recipe.name}",
    }
    if recipe.draws:
        provenance["sampling"]["drawn_from"] = [dict(vars(d), molecules=list(d.molecules), categories=list(d.categories))
                                                for d in recipe.draws]
    main = tasks_to_dataset(tasks, store, recipe.name, with_hessians=recipe.hessian_for_all,
                            with_forces=recipe.label_forces)
    main.metadata = dict(provenance, counts=main.counts("category"), molecules=main.counts("molecule"))
    if recipe.draws:
        # Index of each configuration in the dataset it was drawn from (-1: sampled by this recipe), so a
        # lesson can put that dataset's labels of the same geometries beside these.
        main.metadata["source_indices"] = [t.source_index for t in tasks if t.key in store.records]
    paths = [_write(main, out_dir)]
    if recipe.label_method == "dft" and not recipe.hessian_for_all:
        minima = tasks_to_dataset([t for t in tasks if t.hessian], store, f"{recipe.name}_minima", with_hessians=True)
        minima.metadata = dict(provenance, counts=minima.counts("category"), molecules=minima.counts("molecule"))
        paths.append(_write(minima, out_dir))
    return paths[0]


def _write(dataset: Dataset, out_dir: Path) -> Path:
    path = save_npz(dataset, Path(out_dir) / f"{dataset.name}.npz")
    path.with_suffix(".md").write_text(provenance_card(dataset))
    return path


def _draw_text(draw: dict) -> str:
    amount = f"{draw['per_stratum']} per" if draw["per_stratum"] is not None else f"{draw['fraction']:.0%} of each"
    molecules = ", ".join(draw["molecules"]) or "every molecule"
    return (f"geometries drawn from `{draw['dataset']}`: {amount} (molecule, category, temperature) stratum of "
            f"{molecules}, categories {', '.join(draw['categories'])}, after skipping {draw['skip']} (seed {draw['seed']})")


def provenance_card(dataset: Dataset) -> str:
    """A Markdown card describing how ``dataset`` was made, from its metadata."""
    md = dataset.metadata
    method, programs = md["method"], md["programs"]
    rows = "\n".join(f"| {k} | {v} |" for k, v in md["counts"].items())
    mols = "\n".join(f"| {k} | {v} |" for k, v in md["molecules"].items())
    cpu = md["cpu_seconds"]
    md_temperatures = md["sampling"]["md_temperatures_K"]
    md_part = f", MD at {md_temperatures} K" if md_temperatures else " (no MD sampling)"
    fields = ", ".join(f for f in ("energies", "forces", "Hessians") if getattr(dataset, f.lower()) is not None)
    if method.get("method") == "CCSD(T)":
        level = (f"CCSD(T) / {method['basis']} on an {method['reference']} reference in {method['program']} "
                 f"{programs['pyscf']}, {'frozen core' if method['frozen_core'] else 'all electrons correlated'}; "
                 f"{method['derivatives']};\n  SCF energy tolerance {method['scf_conv_tol_hartree']} Ha, CCSD energy "
                 f"tolerance {method['cc_conv_tol_hartree']} Ha, at most {method['max_cycles']} cycles each (then a "
                 "second-order SCF retry)")
    else:
        level = (f"{method['functional']} / {method['basis']} in {method['program']} {programs['pyscf']}, dispersion "
                 f"{method['dispersion']};\n  {method['derivatives']}; SCF energy tolerance {method['scf_conv_tol_hartree']} "
                 f"Ha, gradient tolerance\n  {method['scf_conv_tol_grad']}, DFT grid level {method['grid_level']}, at most "
                 f"{method['max_scf_cycles']} SCF cycles\n  (then a second-order SCF retry)")
    drawn = "; ".join(_draw_text(d) for d in md["sampling"].get("drawn_from", ()))
    sampled_here = md["sampling"]["nms_temperatures_K"] or md_temperatures or md["counts"].get("min")
    sampling = (f"{md['sampling']['geometry_searches']}; MD driver {md['sampling']['md_driver']};\n  normal-mode "
                f"sampling at {md['sampling']['nms_temperatures_K']} K{md_part}, seed {md['sampling']['seed']}"
                if sampled_here else f"no geometries of its own; every stored label is {_label_name_of(method)}")
    sampling += f"; {drawn}" if drawn else ""
    return f"""# Dataset `{dataset.name}`

{md['description']}

- Configurations: {len(dataset)} (up to {dataset.max_atoms} atoms); elements Z = {dataset.elements}
- Fields: {fields}; labels molecule, category, temperature
- Level of theory: {level}
- Sampling: {sampling}
- Units: energy {md['units']['energy']}, length {md['units']['length']}, forces {md['units']['forces']}, Hessians {md['units']['hessians']}
- Configurations dropped because the SCF{' or the coupled-cluster iterations' if method.get('method') == 'CCSD(T)' else ''} did not converge: {md['dropped_scf_not_converged']}
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
