"""Dense vs sparse (neighbour-list) pairs: time and peak memory of energy + forces for periodic CG boxes.

    OMP_NUM_THREADS=1 python benchmarks/pairs.py [--sizes 250 1000 2000] [--features 128]

A cubic box of N beads at a methanol-like number density (0.0148 beads/Å³; L = 51 Å for 2000 beads), beads on
a jittered simple-cubic lattice so that none overlap, HIP-NN-TS of tensor order 2, one interaction layer,
cutoff 10 Å, float32 (what MD runs in). Each (path, N) runs in a fresh Python process, which reports:
- time: the faster of two energy + autograd-force evaluations (pair search included), in seconds;
- peak: the process's peak resident memory (``resource.getrusage`` ru_maxrss) during them, minus its resident
  memory just before (with torch imported, the model built and the configuration made), in MB. The whole
  process's peak, imports included, is printed too.
Dense runs whose memory, extrapolated as N^2 from the largest dense size measured, would exceed
``--max-dense-gb`` are skipped, and the estimate is printed instead. "pairs" counts the directed neighbour pairs
(i, j) within the cutoff. Timings on a shared machine are indicative.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

DENSITY = 0.0148  # beads per Å³: liquid methanol, 0.787 g/cm³ at 32.04 g/mol


def resident_mb() -> float:
    """Current resident memory of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def box(n: int, seed: int = 0):
    """(species (1, n), positions (1, n, 3) Å, cell (1, 3, 3) Å) of a liquid-like cubic box."""
    import torch

    length = (n / DENSITY) ** (1 / 3)
    sites = math.ceil(n ** (1 / 3))
    generator = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*[torch.arange(sites)] * 3, indexing="ij"), -1).reshape(-1, 3)
    chosen = grid[torch.randperm(len(grid), generator=generator)[:n]].to(torch.float32)
    spacing = length / sites
    positions = (chosen + 0.5 + 0.3 * (torch.rand(n, 3, generator=generator) - 0.5)) * spacing
    return torch.ones(1, n, dtype=torch.long), positions[None], torch.eye(3)[None] * length


def child(path: str, n: int, args) -> dict:
    """One measurement in this (fresh) process."""
    import torch

    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.physics import forces_from_energy

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    config = HIPNNConfig(elements=(1,), n_features=args.features, n_sensitivities=args.sensitivities, r_soft_min=2.0,
                         r_soft_max=args.cutoff - 1.0, cutoff=args.cutoff, n_interactions=1, n_atom_layers=3,
                         tensor_order=2, pairs=path, residual=False)  # the plain stack RESULTS.md's figures were measured with
    model = HIPNN(config)
    species, positions, cell = box(n)
    before = resident_mb()
    times = []
    for _ in range(2):
        start = time.perf_counter()
        r = positions.clone().requires_grad_(True)
        forces = forces_from_energy(model(species, r, cell).energy, r)
        times.append(time.perf_counter() - start)
        assert torch.isfinite(forces).all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    result = {"time_s": min(times), "peak_mb": peak - before, "process_peak_mb": peak}
    if path == "sparse":
        result["pairs"] = len(model.pairs(species, positions, cell).batch)
    return result


def measure(path: str, n: int, argv: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path, str(n), *argv], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 1000, 2000])
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--sensitivities", type=int, default=20)
    parser.add_argument("--cutoff", type=float, default=10.0)
    parser.add_argument("--max-dense-gb", type=float, default=4.0)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args)))
        return
    argv = ["--features", str(args.features), "--sensitivities", str(args.sensitivities), "--cutoff", str(args.cutoff)]
    print(f"HIP-NN-TS order 2, {args.features} features, {args.sensitivities} sensitivities, 1 interaction, "
          f"cutoff {args.cutoff} Å, float32, {DENSITY} beads/Å³, threads {os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("time: energy + forces, s; peak: peak RSS minus RSS before, MB (process peak incl. imports in brackets)")
    print(f"{'N':>6} {'L/Å':>6} {'pairs':>9} | {'dense s':>8} {'dense MB':>16} | {'sparse s':>8} {'sparse MB':>16} | "
          "dense/sparse time, memory")
    dense_reference = None  # (n, peak MB) of the largest dense run, for the N^2 estimate
    for n in sorted(args.sizes):
        sparse = measure("sparse", n, argv)
        estimate = dense_reference and dense_reference[1] * (n / dense_reference[0]) ** 2
        if estimate and estimate > 1024 * args.max_dense_gb:
            dense = {"skipped": f"dense skipped: estimated {estimate / 1024:.1f} GB (N^2 from N={dense_reference[0]})"}
        else:
            dense = measure("dense", n, argv)
            if "peak_mb" in dense:
                dense_reference = (n, dense["peak_mb"])
        length = (n / DENSITY) ** (1 / 3)
        cells = []
        for result in (dense, sparse):
            if "time_s" in result:
                cells.append(f"{result['time_s']:8.2f} {result['peak_mb']:7.0f} ({result['process_peak_mb']:5.0f})")
            else:
                cells.append(f"{'-':>8} {'-':>16}")
        ratio = ""
        if "time_s" in dense and "time_s" in sparse:
            ratio = f"{dense['time_s'] / sparse['time_s']:.1f}x, {dense['peak_mb'] / max(sparse['peak_mb'], 1):.1f}x"
        print(f"{n:6d} {length:6.1f} {sparse.get('pairs', 0):9d} | {cells[0]} | {cells[1]} | {ratio}")
        for result in (dense, sparse):
            for key in ("skipped", "error"):
                if key in result:
                    print(f"{'':6} {result[key]}")


if __name__ == "__main__":
    main()
