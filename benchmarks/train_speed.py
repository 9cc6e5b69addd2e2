"""Epoch time and peak memory of HIP-NN training for tensor orders 0, 1 and 2 on `organics`.

Each order runs in its own process (so peak memory is its own), one after the other in this run, and the
table prints ratios to order 0. Usage:

    .venv/bin/python benchmarks/train_speed.py [--epochs 3] [--batch-size 32] [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(order: int, epochs: int, batch_size: int, device: str, threads: int) -> dict:
    import torch

    from mlip_lab.data import load
    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.train import Trainer, energy_force_loss

    torch.set_num_threads(threads)
    data = load("organics")
    train, valid = data.split_random((0.9, 0.1), seed=0)
    # The plain stack and RMSE loss RESULTS.md's figures were measured with (issue 14 changed both defaults).
    model = HIPNN(HIPNNConfig(elements=tuple(data.elements), tensor_order=order, residual=False)).to(device)
    trainer = Trainer(model, energy_force_loss(force_weight=10.0, metric="rmse"), train, valid, batch_size=batch_size,
                      max_epochs=epochs + 1, device=device, progress=False)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(1)  # warm-up epoch: allocator, reference-energy fit
    start = time.perf_counter()
    trainer.fit(epochs + 1)
    seconds = (time.perf_counter() - start) / epochs
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"order": order, "epoch_s": seconds, "peak_mib": peak, "configs": len(train),
            "params": sum(p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child-order", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_order is not None:
        print(json.dumps(run_one(args.child_order, args.epochs, args.batch_size, args.device, args.threads)))
        return
    rows = []
    for order in (0, 1, 2):
        cmd = [sys.executable, __file__, "--child-order", str(order), "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--device", args.device, "--threads", str(args.threads)]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    base = rows[0]
    mem = "peak GPU MiB" if args.device == "cuda" else "peak RSS MiB"
    print(f"organics: {base['configs']} training configurations, batch {args.batch_size}, device {args.device}, "
          f"{args.threads} threads, mean of {args.epochs} epochs")
    print(f"{'order':>5} {'params':>8} {'epoch s':>9} {'x order 0':>10} {mem:>13} {'x order 0':>10}")
    for r in rows:
        print(f"{r['order']:>5} {r['params']:>8} {r['epoch_s']:>9.2f} {r['epoch_s'] / base['epoch_s']:>10.2f} "
              f"{r['peak_mib']:>13.0f} {r['peak_mib'] / base['peak_mib']:>10.2f}")


if __name__ == "__main__":
    main()
