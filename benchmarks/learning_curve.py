"""Lesson 01's learning curves on `organics`: test force error against training-set size for the random split and
with every 600 K configuration held out, over several seeds.

Uses the lesson's set-up (`mlip_lab.lessons.organics_splits`, `organics_learning_curves`: an order-0 HIP-NN with 32
features, the same epochs of 8 mini-batches at every size, tested on 600 K configurations under both splits), so
the default run reproduces the notebook's full mode (which trains the held-out split only) for seed 0. Each seed draws other nested subsets and other
initial weights; the random split itself stays the lesson's. Prints the force and energy MAE per split and size
(mean ± standard deviation over seeds, kcal/mol/Å and kcal/mol), the log-log slope of each seed's force curve, and
the ratio held-out ÷ random at each size.

    .venv/bin/python benchmarks/learning_curve.py [--sizes 32 128 512] [--epochs 60] [--seeds 0 1 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from _stats import mean_spread
from mlip_lab.data import load
from mlip_lab.lessons import organics_learning_curves, organics_splits
from mlip_lab.physics.units import EV_KCAL_PER_MOL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    splits = organics_splits(load("organics"))
    for label, (train, valid, test) in splits.items():
        print(f"{label}: {len(train)} training, {len(valid)} validation, {len(test)} test configurations (600 K)")
    runs = []  # one {label: LearningCurve} per seed
    start = time.perf_counter()
    for seed in args.seeds:
        runs.append(organics_learning_curves(splits, args.sizes, args.epochs, seed=seed, progress=False))
        print(f"seed {seed} done after {time.perf_counter() - start:.0f} s", flush=True)

    print(f"\n{args.epochs} epochs of 8 batches per run; mean ± sd over seeds {args.seeds}")
    print(f"{'split':<16}{'size':>6}{'batch':>7}{'F MAE kcal/mol/Å':>20}{'E MAE kcal/mol':>18}{'train s':>9}")
    summary = {}
    for label in splits:
        force = np.array([run[label].force_mae for run in runs]) * EV_KCAL_PER_MOL  # (seeds, sizes)
        energy = np.array([run[label].energy_mae for run in runs]) * EV_KCAL_PER_MOL
        seconds = np.array([run[label].seconds for run in runs])
        for k, size in enumerate(args.sizes):
            print(f"{label:<16}{size:>6}{runs[0][label].batch_sizes[k]:>7}{mean_spread(force[:, k]):>20}"
                  f"{mean_spread(energy[:, k]):>18}{seconds[:, k].mean():>9.1f}")
        slopes = [run[label].slope() for run in runs]
        print(f"{label:<16} log-log slope of the force MAE: {mean_spread(slopes)}")
        summary[label] = {"force_mae": force.tolist(), "energy_mae": energy.tolist(), "slopes": slopes,
                          "seconds": seconds.tolist()}
    random_label, held_label = list(splits)
    ratio = np.array(summary[held_label]["force_mae"]) / np.array(summary[random_label]["force_mae"])
    print("held out ÷ random, force MAE per size: "
          + ", ".join(f"{size}: {mean_spread(ratio[:, k])}" for k, size in enumerate(args.sizes)))
    print(json.dumps({**vars(args), "results": summary}))


if __name__ == "__main__":
    main()
