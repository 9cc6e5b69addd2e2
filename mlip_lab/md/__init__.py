"""Molecular dynamics: a batched state, functional integrators (velocity Verlet, Langevin BAOAB), blow-up
detection, observers, vibrational spectra, and adapters to ASE (calculator) and TorchSim."""

from mlip_lab.md.blowup import BlowUp, BlowUpLimits, check_and_freeze, nearest_neighbour_distances
from mlip_lab.md.calculator import MLIPCalculator
from mlip_lab.md.forcefield import HarmonicBonds, ModelForceField
from mlip_lab.md.integrators import Integrator, langevin, velocity_verlet
from mlip_lab.md.observers import FrameRecorder, ThermoLog, TrajectoryWriter, energy_change_per_atom, energy_drift, thermo
from mlip_lab.md.run import MDBlowUpWarning, MDResult, run_md
from mlip_lab.md.stability import TimestepScan, largest_stable_timestep, measure_speed, scan_timesteps
from mlip_lab.md.spectrum import (
    spectral_resolution, spectrum_peaks, velocity_autocorrelation, verlet_wavenumbers, vibrational_spectrum,
)
from mlip_lab.md.state import (
    AMU_A2_PER_FS2_IN_EV, MDState, degrees_of_freedom, kinetic_energy, make_state, maxwell_boltzmann_velocities,
    remove_com_velocity, state_from_atoms, temperature, wrap_positions,
)

__all__ = [
    "BlowUp", "BlowUpLimits", "check_and_freeze", "nearest_neighbour_distances",
    "MLIPCalculator",
    "HarmonicBonds", "ModelForceField",
    "Integrator", "langevin", "velocity_verlet",
    "FrameRecorder", "ThermoLog", "TrajectoryWriter", "energy_change_per_atom", "energy_drift", "thermo",
    "MDBlowUpWarning", "MDResult", "run_md",
    "TimestepScan", "largest_stable_timestep", "measure_speed", "scan_timesteps",
    "spectral_resolution", "spectrum_peaks", "velocity_autocorrelation", "verlet_wavenumbers", "vibrational_spectrum",
    "AMU_A2_PER_FS2_IN_EV", "MDState", "degrees_of_freedom", "kinetic_energy", "make_state", "maxwell_boltzmann_velocities",
    "remove_com_velocity", "state_from_atoms", "temperature", "wrap_positions",
]
