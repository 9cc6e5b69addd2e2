"""Liquid methanol in OpenMM: the box, the OPLS-AA system, a simulation, and its state in our units.

OpenMM works in nm, kJ/mol and ps; everything this module hands out is in Å, eV, eV/Å, amu, K and g/cm³
(converted here, at the boundary, with the constants below). Atoms are ordered molecule by molecule,
each molecule as :data:`ATOM_NAMES`, so one-bead-per-molecule maps need only the per-molecule masses.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from mlip_lab.errors import MLIPLabError

# 1 eV = e * N_A / 1000 kJ/mol (exact since the 2019 SI; 96.485332123310018 kJ/mol).
KJ_PER_MOL_EV = 1.0 / 96.485332123310018
NM_ANGSTROM = 10.0
KJ_PER_MOL_NM_EV_PER_ANGSTROM = KJ_PER_MOL_EV / NM_ANGSTROM
# g/cm³ of one amu per Å³: 1.66053906660e-24 g / 1e-24 cm³.
AMU_PER_ANGSTROM3_G_PER_CM3 = 1.66053906660
BOLTZMANN_KJ_PER_MOL_K = 0.008314462618

FORCE_FIELD = files("mlip_lab.cg.reference") / "forcefields" / "methanol_oplsaa.xml"
RESIDUE = "MOH"
ATOM_NAMES = ("C", "O", "HO", "H1", "H2", "H3")
ATOMIC_NUMBERS = (6, 8, 1, 1, 1, 1)
OXYGEN = ATOM_NAMES.index("O")


def _openmm():
    try:
        import openmm
        import openmm.app
    except ImportError as exc:
        raise MLIPLabError("OpenMM is not installed: install the cg extra (pip install -e '.[cg]')") from exc
    return openmm


def molecule_template() -> np.ndarray:
    """(6, 3) Å: one methanol at the force field's bond lengths (C-O 1.41, O-H 0.945, C-H 1.09 Å) and
    tetrahedral-ish angles (C-O-H 108.5°, H-C-O 109.5°), methyl staggered against the hydroxyl H, carbon at
    the origin. Minimisation settles the rest; only a sensible start is needed."""
    c_o, o_h, c_h = 1.41, 0.945, 1.09
    coh, hco = np.radians(108.5), np.radians(109.5)
    oxygen = np.array([0.0, 0.0, c_o])
    hydroxyl = oxygen + o_h * np.array([np.sin(np.pi - coh), 0.0, -np.cos(np.pi - coh)])
    methyl = [c_h * np.array([np.sin(hco) * np.cos(phi), np.sin(hco) * np.sin(phi), np.cos(hco)])
              for phi in np.radians([60.0, 180.0, 300.0])]
    return np.array([[0.0, 0.0, 0.0], oxygen, hydroxyl, *methyl])


def lattice_box(n_molecules: int, density: float, molar_mass: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``n_molecules`` randomly rotated methanols on the sites of a simple cubic lattice at ``density``.

    density in g/cm³, molar_mass in amu. Returns positions (n_molecules * 6, 3) Å and the cubic box edge
    in Å. The lattice has the smallest k³ >= n_molecules sites; a random choice of them is filled.
    """
    from scipy.spatial.transform import Rotation

    if n_molecules < 1:
        raise MLIPLabError(f"need at least one molecule, got {n_molecules}")
    if not density > 0:
        raise MLIPLabError(f"the starting density must be positive, got {density} g/cm³")
    edge = (n_molecules * molar_mass / density * AMU_PER_ANGSTROM3_G_PER_CM3) ** (1.0 / 3.0)
    per_side = int(np.ceil(n_molecules ** (1.0 / 3.0) - 1e-9))
    sites = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = sites[np.sort(rng.choice(len(sites), n_molecules, replace=False))]
    centres = (sites + 0.5) * edge / per_side
    template = molecule_template()
    template = template - template.mean(axis=0)
    rotations = Rotation.random(n_molecules, random_state=rng)
    molecules = np.einsum("mij,aj->mai", rotations.as_matrix(), template) + centres[:, None, :]
    return molecules.reshape(-1, 3), edge


def topology(n_molecules: int, box_edge: float):
    """An OpenMM Topology of ``n_molecules`` methanols (residue ``MOH``) in a cubic box of edge Å."""
    _openmm()
    from openmm import app, unit

    top = app.Topology()
    chain = top.addChain()
    element = {6: app.element.carbon, 8: app.element.oxygen, 1: app.element.hydrogen}
    for _ in range(n_molecules):
        residue = top.addResidue(RESIDUE, chain)
        atoms = {name: top.addAtom(name, element[z], residue) for name, z in zip(ATOM_NAMES, ATOMIC_NUMBERS)}
        for a, b in (("C", "O"), ("O", "HO"), ("C", "H1"), ("C", "H2"), ("C", "H3")):
            top.addBond(atoms[a], atoms[b])
    top.setPeriodicBoxVectors(np.eye(3) * box_edge / NM_ANGSTROM * unit.nanometer)
    return top


def methanol_system(top, cutoff: float, constraints: bool = True, hydrogen_mass: float | None = None):
    """The OPLS-AA system of ``top``: PME electrostatics and Lennard-Jones cut at ``cutoff`` Å with the
    long-range dispersion correction; bonds to hydrogen constrained when ``constraints``.

    hydrogen_mass: amu given to every hydrogen, taken from the atom it is bonded to (hydrogen mass
    repartitioning): the potential, and so the sampled configurations and forces, are unchanged, while the
    fastest remaining motions slow down enough for 4 fs steps. None keeps the force field's masses.

    OPLS mixes LJ geometrically; OpenMM's NonbondedForce mixes sigma arithmetically. The NonbondedForce
    keeps the charges (PME) and the 1-4 exceptions, the LJ of all other pairs moves to a
    CustomNonbondedForce with geometric mixing, and the 1-4 sigmas are made geometric too (their epsilons,
    0.5 sqrt(eps_i eps_j), are already what OPLS uses).
    """
    openmm = _openmm()
    from openmm import app, unit

    forcefield = app.ForceField(str(FORCE_FIELD))
    system = forcefield.createSystem(
        top, nonbondedMethod=app.PME, nonbondedCutoff=cutoff / NM_ANGSTROM * unit.nanometer,
        constraints=app.HBonds if constraints else None, rigidWater=False,
        hydrogenMass=None if hydrogen_mass is None else hydrogen_mass * unit.amu,
    )
    (coulomb,) = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
    lennard_jones = openmm.CustomNonbondedForce(
        "4*epsilon*((sigma/r)^12 - (sigma/r)^6); sigma = sqrt(sigma1*sigma2); epsilon = sqrt(epsilon1*epsilon2)")
    lennard_jones.addPerParticleParameter("sigma")
    lennard_jones.addPerParticleParameter("epsilon")
    lennard_jones.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    lennard_jones.setCutoffDistance(coulomb.getCutoffDistance())
    lennard_jones.setUseLongRangeCorrection(True)
    sigmas = []
    for i in range(coulomb.getNumParticles()):
        charge, sigma, epsilon = coulomb.getParticleParameters(i)
        lennard_jones.addParticle([sigma, epsilon])
        coulomb.setParticleParameters(i, charge, sigma, 0.0)
        sigmas.append(sigma.value_in_unit(unit.nanometer))
    for k in range(coulomb.getNumExceptions()):
        i, j, charge_product, _, epsilon = coulomb.getExceptionParameters(k)
        lennard_jones.addExclusion(i, j)  # 1-2, 1-3 (excluded) and 1-4 (scaled) pairs stay in the exceptions
        coulomb.setExceptionParameters(k, i, j, charge_product, np.sqrt(sigmas[i] * sigmas[j]), epsilon)
    coulomb.setUseDispersionCorrection(False)  # no LJ left in it; the custom force carries the correction
    system.addForce(lennard_jones)
    return system


def degrees_of_freedom(system) -> int:
    """3N minus constraints minus 3 when the centre-of-mass motion is removed."""
    openmm = _openmm()
    removes_com = any(isinstance(f, openmm.CMMotionRemover) for f in system.getForces())
    return 3 * system.getNumParticles() - system.getNumConstraints() - 3 * removes_com


def masses(system) -> np.ndarray:
    """(N,) amu, as the system simulates them."""
    from openmm import unit

    return np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])


def platform(name: str, threads: int | None = None):
    """(Platform, properties) for ``name``; ``threads`` sets the CPU platform's thread count."""
    openmm = _openmm()
    available = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
    if name not in available:
        raise MLIPLabError(f"OpenMM platform {name!r} is not available here; choose one of {available}")
    if threads is not None and threads < 1:
        raise MLIPLabError(f"threads must be at least 1, got {threads}")
    properties = {}
    if name == "CPU" and threads is not None:
        properties["Threads"] = str(threads)
    if name in ("CUDA", "OpenCL"):
        properties["Precision"] = "mixed"
    return openmm.Platform.getPlatformByName(name), properties


@dataclass(frozen=True)
class Dynamics:
    """Integrator and ensemble settings (K, fs, 1/ps, bar; ``pressure`` None: NVT)."""

    temperature: float
    timestep: float = 2.0
    friction: float = 1.0
    pressure: float | None = None
    barostat_interval: int = 25


def simulation(top, system, dynamics: Dynamics, seed: int, platform_name: str = "CPU", threads: int | None = None):
    """An ``openmm.app.Simulation`` with a LangevinMiddleIntegrator (and a MonteCarloBarostat when
    ``dynamics.pressure`` is set) on a copy of ``system``, seeded by ``seed``."""
    openmm = _openmm()
    from openmm import app, unit

    system = openmm.XmlSerializer.clone(system)
    if dynamics.pressure is not None:
        barostat = openmm.MonteCarloBarostat(dynamics.pressure * unit.bar, dynamics.temperature * unit.kelvin,
                                             dynamics.barostat_interval)
        barostat.setRandomNumberSeed(seed)
        system.addForce(barostat)
    integrator = openmm.LangevinMiddleIntegrator(dynamics.temperature * unit.kelvin, dynamics.friction / unit.picosecond,
                                                 dynamics.timestep * unit.femtosecond)
    integrator.setRandomNumberSeed(seed)
    chosen, properties = platform(platform_name, threads)
    return app.Simulation(top, system, integrator, chosen, properties)


def set_positions(sim, positions: np.ndarray, box_edge: float | None = None) -> None:
    """Positions (N, 3) Å (and a cubic box edge in Å) into the simulation's context."""
    from openmm import unit

    if box_edge is not None:
        sim.context.setPeriodicBoxVectors(*(np.eye(3) * box_edge / NM_ANGSTROM))
    sim.context.setPositions(np.asarray(positions) / NM_ANGSTROM * unit.nanometer)


@dataclass(frozen=True)
class Snapshot:
    """One state in our units: positions and forces (N, 3) Å and eV/Å (not wrapped into the box: molecules
    stay whole), box (3, 3) Å (rows are lattice vectors), potential energy eV, kinetic energy eV."""

    positions: np.ndarray
    forces: np.ndarray
    box: np.ndarray
    potential_energy: float
    kinetic_energy: float

    def kinetic_temperature(self, degrees_of_freedom: int) -> float:
        """K, from the kinetic energy shared by ``degrees_of_freedom``."""
        return 2.0 * self.kinetic_energy / KJ_PER_MOL_EV / (degrees_of_freedom * BOLTZMANN_KJ_PER_MOL_K)


def snapshot(sim) -> Snapshot:
    """The simulation's current state converted to Å, eV, eV/Å."""
    from openmm import unit

    state = sim.context.getState(getPositions=True, getForces=True, getEnergy=True, enforcePeriodicBox=False)
    return Snapshot(
        positions=state.getPositions(asNumpy=True).value_in_unit(unit.nanometer) * NM_ANGSTROM,
        forces=state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer) * KJ_PER_MOL_NM_EV_PER_ANGSTROM,
        box=state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer) * NM_ANGSTROM,
        potential_energy=state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) * KJ_PER_MOL_EV,
        kinetic_energy=state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole) * KJ_PER_MOL_EV,
    )


def density(volume: float, n_molecules: int, molar_mass: float) -> float:
    """g/cm³ of ``n_molecules`` of ``molar_mass`` amu in ``volume`` Å³."""
    return n_molecules * molar_mass / volume * AMU_PER_ANGSTROM3_G_PER_CM3


def rescale_molecules(positions: np.ndarray, box: np.ndarray, new_edge: float, atoms_per_molecule: int) -> np.ndarray:
    """Positions (N, 3) Å moved into a cubic box of ``new_edge`` Å by scaling each molecule's centre
    (mean of its atoms) with the box and keeping its shape, so no bond is stretched."""
    edge = float(np.cbrt(abs(np.linalg.det(box))))
    molecules = np.asarray(positions).reshape(-1, atoms_per_molecule, 3)
    centres = molecules.mean(axis=1, keepdims=True)
    return (molecules - centres + centres * (new_edge / edge)).reshape(-1, 3)
