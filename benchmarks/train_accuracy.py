"""Test-split accuracy and training time of lesson 01's HIP-NN on `organics`, with overridable settings.

Uses the lesson's split (80/10/10, seed 0), loss (energy + FORCE_WEIGHT x force, each RMSE + MAE), seeds and
defaults, so the default run reproduces the notebook's full mode; flags change one setting at a time for a
sweep. Prints the error table (kcal/mol, kcal/mol/Å) by molecule and by category, then one JSON line.

    .venv/bin/python benchmarks/train_accuracy.py [--features 64] [--sensitivities 8] [--order 2] [--interactions 2]
        [--atom-layers 3] [--force-weight 30] [--epochs 46] [--lr-schedule cosine|plateau] [--lr 4e-3]
        [--batch-size 32] [--threads 2] [--seed 0] [--plain] [--metric rmse+mae|rmse|mae]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--sensitivities", type=int, default=8)
    parser.add_argument("--order", type=int, default=2)
    parser.add_argument("--interactions", type=int, default=2)
    parser.add_argument("--atom-layers", type=int, default=3)
    parser.add_argument("--force-weight", type=float, default=30.0)
    parser.add_argument("--epochs", type=int, default=46)
    parser.add_argument("--lr-schedule", choices=["cosine", "plateau"], default="cosine")
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--plain", action="store_true",
                        help="atom layers without residual blocks (the default before issue 14)")
    parser.add_argument("--metric", choices=["rmse+mae", "rmse", "mae"], default="rmse+mae",
                        help="error metric of the energy-force loss (rmse before issue 14)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order (the lesson's: 0)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from mlip_lab.data import load
    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.train import Trainer, energy_force_loss, error_table, format_table, predict_dataset

    torch.set_num_threads(args.threads)
    data = load("organics")
    train, valid, test = data.split_random((0.8, 0.1, 0.1), seed=0)
    config = HIPNNConfig(elements=tuple(data.elements), n_features=args.features, n_sensitivities=args.sensitivities,
                         n_interactions=args.interactions, n_atom_layers=args.atom_layers, tensor_order=args.order,
                         r_soft_min=0.75, r_soft_max=4.0, cutoff=5.0, residual=not args.plain)
    torch.manual_seed(args.seed)
    model = HIPNN(config)
    trainer = Trainer(model, energy_force_loss(force_weight=args.force_weight, metric=args.metric), train, valid, lr=args.lr,
                      batch_size=args.batch_size, max_epochs=args.epochs, lr_schedule=args.lr_schedule,
                      lr_patience=8, early_stopping_patience=30, seed=args.seed, device=args.device, progress=False)
    start = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - start
    predictions = predict_dataset(trainer.model, test)
    by_molecule = error_table(test, predictions, by="molecule")
    print(format_table(by_molecule))
    print(format_table(error_table(test, predictions, by="category")))
    overall = next(row for row in by_molecule if row["group"] == "all")
    print(json.dumps({**vars(args), "train_seconds": round(seconds, 1), "best_epoch": trainer.best_epoch,
                      "energy_mae": round(overall["energy_mae"], 3), "force_mae": round(overall["force_mae"], 3)}))


if __name__ == "__main__":
    main()
