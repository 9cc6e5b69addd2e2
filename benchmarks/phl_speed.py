"""Epoch time and peak memory of the four projected-Hessian-learning schemes, side by side in one run.

Datasets: `reactions` (if present) and water clusters of growing size (2 to 20 molecules: 6 to 60 atoms),
random geometries with all-zero labels for an untrained model: only time and memory matter there.
Every (dataset, scheme) pair runs in its own process, so peak memory is its own; the first epoch is a
warm-up and is not timed. The validation set is one configuration, so an "epoch" is essentially training.
Prints per dataset: seconds per epoch, E-F-HVP ÷ E-F and E-F-H ÷ E-F-HVP (random probes), peak memory.

    .venv/bin/python benchmarks/phl_speed.py [--sizes 6 15 30 60] [--configs 16] [--batch-size 8]
        [--atoms-per-batch 60] [--epochs 2] [--device cpu|cuda] [--threads N] [--no-reactions]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

def water_clusters(n_molecules: int, n_configs: int):
    """A timing-only Dataset of water clusters with all-zero labels (the model is untrained: only cost matters)."""
    from mlip_lab.data import Dataset
    from mlip_lab.lessons import water_cluster

    species, positions = water_cluster(n_molecules, n_configs)
    n = positions.shape[1]
    return Dataset(species=species, positions=positions, energies=np.zeros(n_configs), forces=np.zeros_like(positions),
                   hessians=np.zeros((n_configs, 3 * n, 3 * n)), name=f"water_{n_molecules}")


def run_one(dataset_name: str, scheme: str, args) -> dict:
    import torch

    from mlip_lab.data import load
    from mlip_lab.lessons import reactions_split
    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.train import Trainer, scheme_loss

    torch.set_num_threads(args.threads)
    if dataset_name == "reactions":
        data, _ = reactions_split(load("reactions"))  # the training set of notebook 03
    else:
        data = water_clusters(int(dataset_name.split("_")[1]), args.configs)
    torch.manual_seed(0)
    model = HIPNN(HIPNNConfig(elements=tuple(data.elements), residual=False)).to(args.device)  # the plain stack RESULTS.md's figures were measured with
    batch_size = max(1, min(args.batch_size, args.atoms_per_batch // int(data.n_atoms.max())))
    trainer = Trainer(model, scheme_loss(scheme), data, data.subset([0]), batch_size=batch_size,
                      max_epochs=args.epochs + 1, device=args.device, progress=False)
    trainer.fit(1)  # warm-up epoch: allocator, reference-energy fit
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.fit(args.epochs + 1)
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.epochs
    peak = (torch.cuda.max_memory_allocated() if args.device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
    return {"dataset": dataset_name, "scheme": scheme, "epoch_s": seconds, "peak_mib": peak, "configs": len(data),
            "batch": batch_size, "atoms": int(data.n_atoms.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[6, 15, 30, 60], help="atoms per water cluster (multiples of 3)")
    parser.add_argument("--configs", type=int, default=16, help="configurations per water-cluster dataset")
    parser.add_argument("--batch-size", type=int, default=16, help="largest batch (configurations)")
    parser.add_argument("--atoms-per-batch", type=int, default=60,
                        help="smaller batches for large molecules: at most this many atoms per batch (E-F-H memory)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-reactions", action="store_true", help="skip the reactions dataset")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(*args.child, args)))
        return
    if any(s % 3 for s in args.sizes):
        parser.error(f"--sizes must be multiples of 3 (water clusters), got {args.sizes}")
    datasets = ([] if args.no_reactions else ["reactions"]) + [f"water_{s // 3}" for s in args.sizes]
    schemes = ["E-F", "E-F-HVP-onehot", "E-F-HVP-random", "E-F-H"]
    mem = "GPU MiB" if args.device == "cuda" else "RSS MiB"
    print(f"device {args.device}, {args.threads} thread(s), batch <= {args.batch_size} and <= {args.atoms_per_batch} atoms, mean of {args.epochs} epochs "
          f"after a warm-up; peak memory per scheme ({mem}: {'allocated by torch' if args.device == 'cuda' else 'whole process'})")
    print(f"{'dataset':<12}{'atoms':>6}{'configs':>8}{'batch':>6}" + "".join(f"{s:>16}" for s in schemes)
          + f"{'HVP/EF':>8}{'H/HVP':>8}   peak {mem} per scheme")
    for name in datasets:
        rows = {}
        for scheme in schemes:
            cmd = [sys.executable, __file__, "--child", name, scheme, "--configs", str(args.configs),
                   "--batch-size", str(args.batch_size), "--atoms-per-batch", str(args.atoms_per_batch), "--epochs", str(args.epochs), "--device", args.device,
                   "--threads", str(args.threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            rows[scheme] = json.loads(out)
        t = {s: rows[s]["epoch_s"] for s in schemes}
        r = rows["E-F"]
        print(f"{name:<12}{r['atoms']:>6}{r['configs']:>8}{r['batch']:>6}" + "".join(f"{t[s]:>15.3f}s" for s in schemes)
              + f"{t['E-F-HVP-random'] / t['E-F']:>8.2f}{t['E-F-H'] / t['E-F-HVP-random']:>8.1f}   "
              + " ".join(f"{rows[s]['peak_mib']:.0f}" for s in schemes), flush=True)


if __name__ == "__main__":
    main()
