"""The finished chunks -> the shipped files: ``<name>.npz`` (the CG dataset: bead positions, mapped forces,
boxes, temperatures), ``<name>_atomistic.npz`` (a few whole atomistic frames for the mapping views), and a
provenance card for each."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from mlip_lab.cg.reference import liquid
from mlip_lab.cg.reference.build import Reference, load_chunk, log_entries, validation
from mlip_lab.cg.reference.recipe import LiquidRecipe
from mlip_lab.cg.reference.validation import oxygen_rdf_peak
from mlip_lab.data.dataset import Dataset
from mlip_lab.data.io import save_npz
from mlip_lab.data.reference.assemble import program_versions

PROGRAMS = ("openmm", "numpy", "mlip_lab")
MOLECULE = "methanol"
# float32 keeps 23 mantissa bits; the shipped coordinates and forces keep 15 (relative precision 3e-5: 0.5 mÅ
# at 30 Å, far below thermal motion). The dropped bits are incompressible noise that would push the files
# past their size budget; the work folder keeps full float32.
SHIPPED_MANTISSA_BITS = 15


def shorten_mantissa(values: np.ndarray, bits: int = SHIPPED_MANTISSA_BITS) -> np.ndarray:
    """float32 copy of ``values`` rounded to ``bits`` mantissa bits (round half up on the magnitude)."""
    dropped = 23 - bits
    raw = np.asarray(values, dtype=np.float32).view(np.uint32)
    rounded = (raw + np.uint32(1 << (dropped - 1))) & np.uint32((0xFFFFFFFF << dropped) & 0xFFFFFFFF)
    return rounded.view(np.float32)


def _state_points(recipe: LiquidRecipe, ref: Reference, work: Path) -> dict:
    """Per temperature: NPT density mean and std (g/cm³), O-O RDF first peak (Å), production kinetic
    temperature (K), NVT box edge (Å)."""
    points = {}
    for t in sorted(recipe.temperatures):
        npt = [load_chunk(work, c) for c in recipe.plan() if c.stage == "npt" and c.temperature == t
               and c.index >= recipe.npt_equilibrate_chunks]
        boxes = np.concatenate([d["boxes"] for d in npt]).astype(np.float64)
        densities = liquid.density(np.abs(np.linalg.det(boxes)), recipe.n_molecules, ref.molar_mass)
        production = [load_chunk(work, c) for c in recipe.plan() if c.stage == "production" and c.temperature == t]
        points[f"{t:g}"] = {
            "density_g_cm3": round(float(densities.mean()), 5), "density_std_g_cm3": round(float(densities.std()), 5),
            "oxygen_rdf_peak_angstrom": round(oxygen_rdf_peak(np.concatenate([d["oxygen"] for d in npt]), boxes), 3),
            "kinetic_temperature_K": round(float(np.mean([d["kinetic_temperature"].mean() for d in production])), 2),
            "box_edge_angstrom": round(float(np.cbrt(abs(np.linalg.det(production[0]["boxes"][0].astype(np.float64))))), 4),
            "frames": int(sum(len(d["beads"]) for d in production)),
        }
    return points


def _provenance(recipe: LiquidRecipe, ref: Reference, work: Path) -> dict:
    log = log_entries(work)
    check = validation(recipe, work, ref.molar_mass)
    production = [e for e in log if e["stage"] == "production"]
    return {
        "recipe": recipe.name,
        "description": recipe.description,
        "programs": program_versions(PROGRAMS),
        "force_field": {
            "name": "OPLS-AA (all-atom) methanol",
            "source": "W. L. Jorgensen, D. S. Maxwell, J. Tirado-Rives, J. Am. Chem. Soc. 118, 11225 (1996), "
                      "doi:10.1021/ja9621760; parameters as in GROMACS oplsaa.ff",
            "file": "mlip_lab/cg/reference/forcefields/methanol_oplsaa.xml",
            "atom_types": "opls_157 C, opls_154 O, opls_155 H(O), opls_156 H(C)",
            "mixing": "geometric sigma and epsilon; 1-4 Coulomb and LJ scaled by 0.5",
        },
        "simulation": {
            "n_molecules": recipe.n_molecules, "atoms": recipe.n_molecules * len(liquid.ATOM_NAMES),
            "electrostatics": "PME (OpenMM default Ewald error tolerance 5e-4)",
            "cutoff_angstrom": recipe.cutoff, "dispersion_correction": True,
            "constraints": "bonds to hydrogen (HBonds)", "timestep_fs": recipe.timestep,
            "hydrogen_mass": ("force-field masses" if recipe.hydrogen_mass is None else
                              f"hydrogen mass repartitioning: {recipe.hydrogen_mass:g} amu per H, taken from its "
                              "bonded atom (configurations and forces unchanged; beads use the true masses)"),
            "integrator": f"LangevinMiddleIntegrator, friction {recipe.friction:g}/ps",
            "barostat": f"MonteCarloBarostat {recipe.pressure:g} bar, isotropic, every 25 steps (NPT stages only)",
            "start": f"cubic lattice at {recipe.start_density} g/cm³, random orientations, minimised "
                     f"({recipe.minimise_iterations} iterations), compressed by NPT",
            "frame_interval_ps": recipe.frame_interval, "chunk_ps": recipe.chunk_ps,
            "npt_ps": {"equilibrate": recipe.npt_equilibrate_chunks * recipe.chunk_ps,
                       "average": recipe.npt_average_chunks * recipe.chunk_ps},
            "nvt_equilibrate_ps": recipe.nvt_chunks * recipe.chunk_ps,
            "production_ps": recipe.production_chunks * recipe.chunk_ps,
            "seed": recipe.seed,
        },
        "validation": {"temperature_K": recipe.validation_temperature, "density_g_cm3": round(check.density, 5),
                       "density_std_g_cm3": round(check.density_std, 5), "experimental_density_g_cm3": recipe.experimental_density,
                       "relative_error": round(check.density_error, 5), "oxygen_rdf_peak_angstrom": round(check.oxygen_peak, 3),
                       "frames": check.frames, "passed": check.passed,
                       "compress_ps": recipe.compress_chunks * recipe.chunk_ps, "average_ps": recipe.validate_chunks * recipe.chunk_ps},
        "state_points": _state_points(recipe, ref, work),
        "bead_force_note": ("bead force = sum of the molecule's atomic forces; OpenMM's forces leave out the "
                            "constraint forces, which cancel inside each molecule, so the bead forces are exact"),
        "units": {"length": "Angstrom", "forces": "eV/Angstrom", "temperature": "K", "mass": "amu"},
        "shipped_mantissa_bits": SHIPPED_MANTISSA_BITS,
        "simulation_hours": {"wall": round(sum(e["wall_seconds"] for e in log) / 3600.0, 3),
                             "platforms": sorted({f"{e['platform']} ({e['threads'] or 'default'} thread{'' if e['threads'] == 1 else 's'})" for e in log})},
        "production_ns_per_day": round(float(np.median([e["ns_per_day"] for e in production])), 3),
        "date": date.today().isoformat(),
        "command": f"python -m mlip_lab.cg.reference build {recipe.name}",
    }


def assemble(recipe: LiquidRecipe, ref: Reference, work: Path, out_dir: Path) -> Path:
    """Write the CG dataset and the atomistic frames with their cards; returns the CG dataset's path."""
    provenance = _provenance(recipe, ref, work)
    beads, forces, boxes, temperatures = [], [], [], []
    atomistic = []
    for t in sorted(recipe.temperatures):
        chunks = [c for c in recipe.plan() if c.stage == "production" and c.temperature == t]
        keep = set(np.linspace(0, len(chunks) - 1, recipe.atomistic_frames).round().astype(int).tolist())
        for i, chunk in enumerate(chunks):
            data = load_chunk(work, chunk)
            beads.append(data["beads"])
            forces.append(data["bead_forces"])
            boxes.append(data["boxes"])
            temperatures.append(np.full(len(data["beads"]), t))
            if i in keep:
                atomistic.append((t, data["atomistic_positions"], data["atomistic_forces"], data["atomistic_box"]))
    m = sum(len(b) for b in beads)
    mapping = ref.mapping
    cg = Dataset(
        species=np.tile(mapping.bead_type_codes, (m, 1)),
        positions=shorten_mantissa(np.concatenate(beads)).astype(np.float64),
        energies=None,
        forces=shorten_mantissa(np.concatenate(forces)),
        cells=np.concatenate(boxes).astype(np.float64),
        pbc=np.ones((m, 3), dtype=bool),
        molecule=np.full(m, MOLECULE), category=np.full(m, "cg"), temperature=np.concatenate(temperatures),
        name=recipe.name,
        metadata={**provenance, "bead_types": mapping.bead_types, "mapping": mapping.describe()},
    )
    k = len(atomistic)
    whole = Dataset(
        species=np.tile(np.array(liquid.ATOMIC_NUMBERS * recipe.n_molecules), (k, 1)),
        positions=shorten_mantissa(np.stack([a[1] for a in atomistic])).astype(np.float64),
        energies=None,
        forces=shorten_mantissa(np.stack([a[2] for a in atomistic])),
        cells=np.stack([a[3] for a in atomistic]).astype(np.float64),
        pbc=np.ones((k, 3), dtype=bool),
        molecule=np.full(k, MOLECULE), category=np.full(k, "md"), temperature=np.array([a[0] for a in atomistic]),
        name=f"{recipe.name}_atomistic",
        metadata={**provenance, "topology": {
            "n_molecules": recipe.n_molecules, "atom_names": list(liquid.ATOM_NAMES),
            "atomic_numbers_per_molecule": list(liquid.ATOMIC_NUMBERS),
            "masses_per_molecule": [float(x) for x in ref.masses[: len(liquid.ATOM_NAMES)]],
            "note": "atoms stored molecule after molecule; positions unwrapped (every molecule whole)"}},
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_npz(cg, out_dir / f"{cg.name}.npz")
    path.with_suffix(".md").write_text(provenance_card(cg))
    atomistic_path = save_npz(whole, out_dir / f"{whole.name}.npz")
    atomistic_path.with_suffix(".md").write_text(provenance_card(whole))
    return path


def provenance_card(dataset: Dataset) -> str:
    """A Markdown card describing how ``dataset`` (CG or atomistic frames) was made, from its metadata."""
    md = dataset.metadata
    ff, sim, val = md["force_field"], md["simulation"], md["validation"]
    rows = "\n".join(
        f"| {t} | {p['density_g_cm3']:.4f} ± {p['density_std_g_cm3']:.4f} | {p['box_edge_angstrom']:.3f} | "
        f"{p['oxygen_rdf_peak_angstrom']:.2f} | {p['kinetic_temperature_K']:.1f} | {p['frames']} |"
        for t, p in md["state_points"].items())
    if dataset.category[0] == "cg":
        what = (f"- Configurations: {len(dataset)} frames of {dataset.max_atoms} beads (one per molecule, centre of mass, "
                f"bead type 1 = {md['bead_types']['1']['name']}, {md['bead_types']['1']['mass']:.4f} amu)\n"
                "- Fields: bead positions (wrapped into the box), mapped forces (sum of the atomic forces of each molecule), "
                "cells, temperature; no energies (force-matching data)")
    else:
        what = (f"- Configurations: {len(dataset)} whole atomistic frames of {dataset.max_atoms} atoms (the first frame of "
                f"evenly spaced production chunks at each temperature) for the mapping views; the CG data is `{md['recipe']}`\n"
                "- Fields: atom positions (unwrapped, every molecule whole), atomic forces, cells, temperature; topology "
                "(atom names, atomic numbers, masses per molecule) in the metadata")
    return f"""# Dataset `{dataset.name}`

{md['description']}

{what}
- Force field: {ff['name']}, {ff['source']}; types {ff['atom_types']}; {ff['mixing']}; `{ff['file']}`
- System: {sim['n_molecules']} molecules ({sim['atoms']} atoms), cubic periodic box; {sim['electrostatics']};
  Lennard-Jones cut at {sim['cutoff_angstrom']:g} Å with the long-range dispersion correction; constraints: {sim['constraints']}
  ({sim["timestep_fs"]:g} fs steps; {sim['hydrogen_mass']}); {sim["integrator"]}; {sim['barostat']}
- Protocol: {sim['start']}. Validation NPT at {val['temperature_K']} K ({val['compress_ps']:g} ps compression discarded,
  {val['average_ps']:g} ps averaged); then for each temperature NPT ({sim['npt_ps']['equilibrate']:g} ps equilibration,
  {sim['npt_ps']['average']:g} ps averaged for the density), NVT in the box rescaled to that density (molecules kept whole;
  {sim['nvt_equilibrate_ps']:g} ps equilibration), and {sim['production_ps']:g} ps NVT production saving a frame every
  {sim['frame_interval_ps']:g} ps; time step {sim['timestep_fs']:g} fs; seed {sim['seed']}
- Validation at {val['temperature_K']} K: density {val['density_g_cm3']:.4f} ± {val['density_std_g_cm3']:.4f} g/cm³
  (experiment {val['experimental_density_g_cm3']}, {val['relative_error']:+.1%}); O-O RDF first peak {val['oxygen_rdf_peak_angstrom']:.2f} Å
  (experiment 2.7-2.8 Å); {'passed' if val['passed'] else 'FAILED'}
- Bead forces: {md['bead_force_note']}
- Units: length {md['units']['length']}, forces {md['units']['forces']}, temperature {md['units']['temperature']}, mass {md['units']['mass']};
  coordinates and forces rounded to {md['shipped_mantissa_bits']} mantissa bits (relative 3e-5) to fit the size budget
- Simulation cost: {md['simulation_hours']['wall']:.2f} h wall-clock of MD on {', '.join(md['simulation_hours']['platforms'])} (CPU hours = wall x threads);
  production {md['production_ns_per_day']:.2f} ns/day
- Built {md['date']} with: `{md['command']}` (resumable; the work folder is `data/build/{md['recipe']}/`)
- Programs: {', '.join(f'{k} {v}' for k, v in md['programs'].items())}

| T (K) | NPT density (g/cm³) | NVT box edge (Å) | O-O RDF peak (Å) | kinetic T (K) | frames |
|---|---|---|---|---|---|
{rows}
"""
