"""Accuracy of the four projected-Hessian-learning schemes on `reactions`, as in Rodriguez et al. (2026).

Train on the stationary points (reactant, product, ts), test on the far-from-equilibrium geometries (irc, nms).
Each scheme trains from the same initial weights with the same seed; probes are redrawn every mini-batch,
and with --fixed the two HVP schemes are also trained with one fixed probe per configuration.
Prints the errors by test category (energy, force, Hessian element, Hessian eigenvalue, frequency MAE; means
over the seeds, with the sample standard deviation over seeds of the Hessian and force MAEs) and the mean epoch
time of each scheme. With --models-dir, trained models are saved there and reused by a later
run with the same directory (to re-evaluate on a grown test set without retraining).

    .venv/bin/python benchmarks/phl_accuracy.py [--epochs 300] [--seeds 0 1] [--fixed] [--threads 1]
        [--models-dir runs/phl_accuracy]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from mlip_lab.data import load
from mlip_lab.lessons import TRAINER_SETTINGS, make_reactions_model, reactions_split
from mlip_lab.models import load_model, save_model
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train import SCHEMES, curvature_error_table, predict_dataset, predict_hessians, train_scheme


def run(scheme: str, probes: str, seed: int, train, test, args) -> tuple[list[dict], float]:
    saved = None if args.models_dir is None else Path(args.models_dir) / f"{scheme}-{probes}-seed{seed}-{args.epochs}ep.pt"
    if saved is not None and saved.exists():
        model = load_model(saved)
        seconds = json.loads(saved.with_suffix(".json").read_text())["epoch_seconds"]
    else:
        model = make_reactions_model(train, seed)
        settings = {**TRAINER_SETTINGS, "lr": args.lr, "batch_size": args.batch_size}
        trainer = train_scheme(scheme, model, train, train, probes=probes, seed=seed, max_epochs=args.epochs,
                               early_stopping_patience=args.epochs, progress=False, **settings)
        seconds = float(np.mean([r.seconds for r in trainer.history]))
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            save_model(model, saved)
            saved.with_suffix(".json").write_text(json.dumps({"epoch_seconds": seconds}))
    rows = curvature_error_table(test, predict_dataset(model, test), predict_hessians(model, test), unit="eV")
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--lr", type=float, default=TRAINER_SETTINGS["lr"])
    parser.add_argument("--batch-size", type=int, default=TRAINER_SETTINGS["batch_size"])
    parser.add_argument("--models-dir", default=None, help="save trained models here and reuse them when present")
    parser.add_argument("--fixed", action="store_true", help="also train the HVP schemes with fixed probes")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, test = reactions_split(load("reactions"))
    print(f"train: {len(train)} stationary points; test: {test.counts('category')}; {args.epochs} epochs, "
          f"batch {args.batch_size}, lr {args.lr}, seeds {args.seeds}, {args.threads} thread(s)")
    runs = [(s, "redrawn") for s in SCHEMES]
    if args.fixed:
        runs += [("E-F-HVP-onehot", "fixed"), ("E-F-HVP-random", "fixed")]
    print(f"{'scheme':<16}{'probes':<9}{'group':<6}{'H MAE eV/Å²':>12}{'± sd':>8}{'kcal/mol/Å²':>12}{'eig eV/Å²':>10}"
          f"{'freq cm-1':>10}{'E meV':>8}{'F meV/Å':>9}{'± sd':>7}{'epoch s':>9}")
    for scheme, probes in runs:
        per_seed = []
        for seed in args.seeds:
            start = time.perf_counter()
            rows, seconds = run(scheme, probes, seed, train, test, args)
            per_seed.append((rows, seconds, time.perf_counter() - start))
        for group in ("irc", "nms", "all"):
            def values(key):
                return [next(r[key] for r in rows if r["group"] == group) for rows, _, _ in per_seed]

            def mean(key):
                return np.mean(values(key))

            def spread(key):  # sample standard deviation over the seeds (NaN with one seed)
                return np.std(values(key), ddof=1) if len(per_seed) > 1 else float("nan")
            print(f"{scheme:<16}{probes:<9}{group:<6}{mean('hessian_mae'):>12.4f}{spread('hessian_mae'):>8.4f}"
                  f"{mean('hessian_mae') * EV_KCAL_PER_MOL:>12.3f}{mean('eigenvalue_mae'):>10.4f}"
                  f"{mean('frequency_mae'):>10.1f}{1000 * mean('energy_mae'):>8.1f}{1000 * mean('force_mae'):>9.1f}"
                  f"{1000 * spread('force_mae'):>7.1f}{np.mean([s for _, s, _ in per_seed]):>9.4f}", flush=True)


if __name__ == "__main__":
    main()
