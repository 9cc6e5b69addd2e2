"""Atom-steps per second of the batched velocity Verlet vs ASE's VelocityVerlet with the same model.

Both run the same small HIP-NN (untrained: speed does not depend on the weights) on copies of the same
molecule, side by side in one process. ASE integrates one replica at a time through MLIPCalculator, so its
time for B replicas is B times its per-replica time (measured on one replica); the batched integrator runs all B
in one model call per step. Not a test: prints a table.

    python benchmarks/md_speed.py --device cpu --threads 2
    python benchmarks/md_speed.py --device cpu --threads 2 --compile --replicas 16 256
    python benchmarks/md_speed.py --device cuda --replicas 1 16 256 4096 32768
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch


def build_model(device, dtype):
    from mlip_lab.models import HIPNN, HIPNNConfig

    torch.manual_seed(0)
    config = HIPNNConfig(elements=(1, 6, 7, 8), n_features=20, n_sensitivities=16, n_interactions=2,
                         n_atom_layers=3, tensor_order=1, cutoff=5.0, r_soft_max=4.0,
                         residual=False)  # the plain stack RESULTS.md's figures were measured with
    return HIPNN(config).to(device=device, dtype=dtype).eval()


def molecule(name: str):
    from mlip_lab.data import load, to_ase

    return to_ase(load("organics_minima").where(molecule=name))[0]


def ase_rate(model, atoms, steps: int, timestep_fs: float) -> float:
    """Atom-steps per second of ASE's VelocityVerlet on one replica through MLIPCalculator."""
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    from mlip_lab.md import MLIPCalculator

    atoms = atoms.copy()
    atoms.calc = MLIPCalculator(model)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    dyn.run(3)  # warm-up
    start = time.perf_counter()
    dyn.run(steps)
    return len(atoms) * steps / (time.perf_counter() - start)


def batched_rate(model, atoms, replicas: int, steps: int, timestep_fs: float, device, compile: bool) -> float:
    """Atom-steps per second of mlip_lab's batched velocity Verlet on ``replicas`` copies (compilation, if asked
    for, happens in the untimed warm-up)."""
    from mlip_lab.md import ModelForceField, measure_speed, state_from_atoms, velocity_verlet

    dtype = next(model.parameters()).dtype
    state = state_from_atoms([atoms] * replicas, temperatures=300.0, device=device, dtype=dtype)
    return measure_speed(state, velocity_verlet(ModelForceField(model, compile=compile), timestep_fs), steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 16, 256, 4096])
    parser.add_argument("--molecule", default="ethanol", help="a molecule of organics_minima")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--ase-steps", type=int, default=50, help="timed ASE steps (one replica)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the model for the batched runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda was asked for but torch sees no GPU")
    model = build_model(args.device, getattr(torch, args.dtype))
    atoms = molecule(args.molecule)
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"{args.molecule} ({len(atoms)} atoms), HIP-NN order 1, {args.dtype}, device {args.device} ({name}), "
          f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}, compile={args.compile}")
    ase = ase_rate(model, atoms, args.ase_steps, 0.5)
    print(f"ASE VelocityVerlet, one replica at a time: {ase:.3g} atom-steps/s (same for any B)")
    print(f"{'B':>6} {'batched atom-steps/s':>21} {'x ASE':>8}")
    for replicas in args.replicas:
        try:
            rate = batched_rate(model, atoms, replicas, args.steps, 0.5, args.device, args.compile)
        except (torch.OutOfMemoryError, RuntimeError) as exc:  # noqa: PERF203 - report and go on to the next size
            print(f"{replicas:>6} {'did not fit: ' + str(exc).splitlines()[0][:60]}")
            continue
        print(f"{replicas:>6} {rate:>21.3g} {rate / ase:>8.1f}")


if __name__ == "__main__":
    main()
