"""MLIP Lab against hippynn 0.1.3 (LANL's research code), side by side: seconds per epoch and test errors.

Trains MLIP Lab's HIPNN and hippynn on the same `organics` split with the same settings, for tensor order 0
(MLIP Lab HIP-NN vs hippynn ``Hipnn``) and order 2 (HIP-NN-TS vs ``HipnnQuad``), over several seeds, and
prints one table: seconds per epoch, test energy MAE (kcal/mol), test force MAE (kcal/mol/Å) and the ratios
MLIP Lab ÷ hippynn (below 1: MLIP Lab is faster or more accurate). Usage:

    .venv/bin/python benchmarks/peer_hippynn.py                    # full: orders 0 and 2, seeds 0 1, 100 epochs
    .venv/bin/python benchmarks/peer_hippynn.py --quick            # minutes: 300 configurations, 2 epochs, seed 0
    .venv/bin/python benchmarks/peer_hippynn.py --no-install       # never create hippynn's venv (skip if absent)
    [--orders 0 2] [--seeds 0 1] [--epochs 100] [--lr-schedule plateau|cosine] [--mlip-loss rmse|hippynn]
    [--json results.json] [--keep WORKDIR]

hippynn is a peer for comparison only, never a dependency of ``mlip_lab``: on first use this script creates its
own virtual environment ``benchmarks/.venv-hippynn`` (gitignored) with ``python -m venv`` and installs
``torch==2.13.0`` (the CPU build; never an unpinned torch) and then ``hippynn==0.1.3 numba`` into it. The hippynn
side runs in that environment as a subprocess (``benchmarks/_hippynn_runner.py``). With ``--no-install`` and no
usable venv the hippynn side is skipped with a message and MLIP Lab's numbers are still printed.

Same for both sides
    Data: ``mlip_lab.data.load("organics")`` split by ``Dataset.split_random((0.8, 0.1, 0.1), seed=0)``; the
    three sets are exported once to an .npz (eV, Å) and both sides read that file (hippynn gets them as explicit
    split masks, so it does not re-split). ``--quick`` first takes 300 configurations at random (seed 0).
    Model: 64 features, 16 sensitivities, 2 interaction layers, 3 atom layers per interaction, sensitivities
    initialised between 0.75 and 4.0 Å, cosine cutoff 5 Å; species reference (E0) energies fitted by least
    squares over composition on the training set and kept fixed (MLIP Lab's Trainer; hippynn's
    ``hierarchical_energy_initialization(trainable_after=False)``).
    Training: Adam, lr 2e-3, batch 16 (shuffled every epoch), exactly ``--epochs`` epochs (no early stopping on
    either side); the same schedule class on both: ``plateau`` = torch ReduceLROnPlateau(factor 0.5, patience 5,
    min_lr 1e-5) on each side's validation loss, or ``cosine`` = CosineAnnealingLR(T_max=epochs, eta_min 1e-5);
    at the end each side keeps the weights of its best validation epoch. Seed s sets the weight initialisation
    and the batch order of both sides (their random streams differ, so equal seeds are not equal runs).
    Threads: one each (``torch.set_num_threads(1)``, OMP/MKL/OpenBLAS/NUMBA_NUM_THREADS=1); each run is its own
    process, MLIP Lab's then hippynn's, one after the other.
    Evaluation: each side returns its predicted test energies (eV) and forces (eV/Å); the errors of both are
    computed here by the same code (``mlip_lab.train.error_table``), in kcal/mol and kcal/mol/Å.

The losses (errors in eV and eV/Å for MLIP Lab; kcal/mol and kcal/mol/Å for hippynn, as in hippynn's examples)
    MLIP Lab, ``--mlip-loss rmse+mae`` (default; the library's ``energy_force_loss`` default since issue 14):
        (E_RMSE + E_MAE) + 30 * (F_RMSE + F_MAE)
    MLIP Lab, ``--mlip-loss rmse`` (lesson 01's loss before issue 14): E_RMSE + 30 * F_RMSE
    MLIP Lab, ``--mlip-loss hippynn`` (hippynn's form with MLIP Lab's terms):
        (E_RMSE + E_MAE) + 30 * (F_RMSE + F_MAE) + (hier_weight / 23.06) * mean_batch(h_MLIP)
        where h_MLIP = sum_l E_l^2 / (E_l^2 + E_(l-1)^2) over the configuration's layer energies; the factor
        1/23.06 (kcal/mol per eV) gives the hierarchicality the same weight relative to the errors as on
        the hippynn side, whose errors are in kcal/mol.
    hippynn (its per-target default, RMSE + MAE, with the hierarchicality term, as in its examples):
        (E_RMSE + E_MAE) + 30 * (F_RMSE + F_MAE) + hier_weight * mean_batch(h_hippynn),   hier_weight = 1
        where h_hippynn is ``HEnergyNode.hierarchicality``: the sum over atoms of e_il^2 / (e_il^2 + e_i(l-1)^2)
        per atomic layer energy e_il. No L2 term on either side. Adam is invariant to the scale of the loss,
        so training hippynn in kcal/mol only changes the hierarchicality's relative weight (by 23.06).

Experiments (one change at a time on the MLIP Lab side; benchmarks/peer_hippynn_differences.md has the table)
    ``--mlip-set KEY=VALUE`` overrides a HIPNNConfig field (``residual=false`` gives the plain stack);
    ``--mlip-init hippynn`` applies hippynn's initialisation; ``--mlip-unit kcal/mol`` trains in kcal/mol;
    ``--mlip-only`` skips the hippynn side.

Not matched (each library keeps its own default; the header of the output prints them)
    Atom layers: both wrap the interaction layer and every atom layer in the same residual form (softplus, then
    a second linear layer, plus the input; MLIP Lab's ``HIPNNConfig.residual`` default): 132,807 vs 132,802
    parameters at order 0 (MLIP Lab's one-hot head has a bias and E0 is not a parameter). Weight initialisation: hippynn uses Xavier-normal for the interaction
    tensors and atom layers and scales the layer energy heads by 1e-2 and 1e-4 after fitting E0; MLIP Lab its
    own. Cusp regulariser of the tensor norms: hippynn ``cusp_reg=1e-6``, MLIP Lab ``HIPNNConfig.eps``.
    Pairs: hippynn builds a sparse pair list per batch (numba kernels for the pair sums), MLIP Lab dense pair
    tensors for small molecules. Validation: hippynn evaluates its loss over the whole validation set at once and
    also a random 10 % of the training set every epoch (its default ``fraction_train_eval``); MLIP Lab averages
    per-batch losses over the validation set only. Both costs are inside each side's epoch time.

Timing: seconds per epoch is the mean over all epochs of each library's own per-epoch wall time (MLIP Lab:
``EpochRecord.seconds``; hippynn: ``MetricTracker.epoch_times``), training plus validation, excluding imports,
data loading, model construction and the final test evaluation. Warm-up: before the first epoch each side runs
one untimed loss evaluation and backward pass on a training batch (no optimiser step), which compiles hippynn's
numba kernels (forward, backward and the double backward of force training) and warms up torch on both sides;
its time is reported separately in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-hippynn"  # --venv changes it
RUNNER = HERE / "_hippynn_runner.py"
TORCH_PIN = "torch==2.13.0"  # the CPU wheel on disk; an unpinned torch pulls a multi-GB CUDA build
HIPPYNN_PINS = ("hippynn==0.1.3", "numba")
HIPPYNN_VERSION = "0.1.3"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
QUICK_CONFIGS = 300
LIBRARIES = ("MLIP Lab", "hippynn")
MODEL_NAMES = {0: ("HIP-NN", "Hipnn"), 1: ("HIP-NN-TS l=1", "HipnnVec"), 2: ("HIP-NN-TS", "HipnnQuad")}


# ---------------------------------------------------------------------------------------------- hippynn's venv
def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def use_venv(path: Path) -> None:
    global VENV
    VENV = Path(path).resolve()


def hippynn_ready() -> str | None:
    """None when the venv has hippynn 0.1.3 and numba, else what is missing."""
    python = venv_python()
    if not python.exists():
        return f"no virtual environment at {VENV}"
    probe = subprocess.run([str(python), "-c", "import hippynn, numba, torch; print(hippynn.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{VENV} lacks hippynn, numba or torch ({probe.stderr.strip().splitlines()[-1:]})"
    if probe.stdout.strip() != HIPPYNN_VERSION:
        return f"{VENV} has hippynn {probe.stdout.strip()}, not {HIPPYNN_VERSION}"
    return None


def install_hippynn() -> None:
    """Create benchmarks/.venv-hippynn (if needed) and install pinned torch, then hippynn and numba into it."""
    if not venv_python().exists():
        print(f"creating {VENV} (python -m venv) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    for packages in ((TORCH_PIN,), HIPPYNN_PINS):  # torch first, so hippynn's "torch>2.0" is already met
        print(f"pip install {' '.join(packages)} into {VENV} ...", flush=True)
        subprocess.run([*pip, *packages], check=True)


# ---------------------------------------------------------------------------------------------- the shared split
def export_split(path: Path, quick: bool) -> tuple[list[int], list]:
    """Write train/valid/test of `organics` (80/10/10, seed 0) to ``path``; returns (elements, [train, valid, test])."""
    from mlip_lab.data import load

    data = load("organics")
    if quick:
        data = data.subset(np.sort(np.random.default_rng(0).choice(len(data), QUICK_CONFIGS, replace=False)))
    parts = data.split_random((0.8, 0.1, 0.1), seed=0)
    n = max(p.species.shape[1] for p in parts)  # one padding width, so hippynn can hold them in one Database
    arrays = {}
    for name, part in zip(("train", "valid", "test"), parts):
        pad = n - part.species.shape[1]
        arrays[f"{name}_species"] = np.pad(part.species, ((0, 0), (0, pad))).astype(np.int64)
        arrays[f"{name}_positions"] = np.pad(part.positions, ((0, 0), (0, pad), (0, 0)))
        arrays[f"{name}_energies"] = np.asarray(part.energies, dtype=np.float64)
        arrays[f"{name}_forces"] = np.pad(part.forces, ((0, 0), (0, pad), (0, 0)))
    np.savez(path, **arrays)
    return [int(z) for z in data.elements], parts


def read_part(split: Path, name: str, scale: float = 1.0):
    """One part of the exported split as a mlip_lab Dataset (the arrays hippynn gets; energies and forces times
    ``scale``: 1 keeps eV, 23.06 trains in kcal/mol as hippynn does)."""
    from mlip_lab.data import Dataset

    arrays = np.load(split)
    return Dataset(species=arrays[f"{name}_species"], positions=arrays[f"{name}_positions"],
                   energies=scale * arrays[f"{name}_energies"], forces=scale * arrays[f"{name}_forces"],
                   name=f"organics/{name}")


# ---------------------------------------------------------------------------------------------- MLIP Lab side
def mlip_worker(job_path: str) -> None:
    """One MLIP Lab training run (in its own process); writes the test predictions and epoch times."""
    job = json.loads(Path(job_path).read_text())
    import torch

    torch.set_num_threads(job["threads"])

    from mlip_lab.data.batch import make_batch
    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.train import (
        EnergyLoss, ForceLoss, HierarchicalityLoss, Loss, Trainer, energy_force_loss, predict_dataset,
    )

    split = Path(job["split_file"])
    scale = job["energy_scale"] if job.get("mlip_unit") == "kcal/mol" else 1.0
    train, valid, test = (read_part(split, s, scale) for s in ("train", "valid", "test"))
    config = HIPNNConfig(elements=tuple(job["elements"]), n_features=job["features"],
                         n_sensitivities=job["sensitivities"], n_interactions=job["interactions"],
                         n_atom_layers=job["atom_layers"], tensor_order=job["order"], r_soft_min=job["r_soft_min"],
                         r_soft_max=job["r_soft_max"], cutoff=job["cutoff"], **job["mlip_set"])
    fw = job["force_weight"]
    if job["mlip_loss"] in ("rmse", "rmse+mae"):  # MLIP Lab's energy-force loss with that metric
        loss = energy_force_loss(force_weight=fw, metric=job["mlip_loss"])
    else:  # hippynn's form; the hierarchicality weight per eV of error, see the module docstring
        loss = Loss([EnergyLoss(1.0, "rmse"), EnergyLoss(1.0, "mae"), ForceLoss(fw, "rmse"), ForceLoss(fw, "mae"),
                     HierarchicalityLoss(job["hier_weight"] / job["energy_scale"])])
    torch.manual_seed(job["seed"])
    model = HIPNN(config)
    if job.get("mlip_init") == "hippynn":
        hippynn_like_init(model)
    trainer = Trainer(model, loss, train, valid, lr=job["lr"], batch_size=job["batch_size"],
                      max_epochs=job["epochs"], early_stopping_patience=job["epochs"] + 1,
                      lr_schedule=job["lr_schedule"], lr_patience=job["lr_patience"], lr_factor=job["lr_factor"],
                      min_lr=job["min_lr"], seed=job["seed"], progress=False)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    # Warm-up (untimed): one loss evaluation and backward pass on a training batch, no optimiser step.
    start = time.perf_counter()
    batch = make_batch(train, np.arange(min(job["batch_size"], len(train))), dtype=trainer.dtype)
    total, _ = loss(trainer.model, batch)
    total.backward()
    trainer.model.zero_grad(set_to_none=True)
    warmup_seconds = time.perf_counter() - start

    start = time.perf_counter()
    trainer.fit()
    fit_seconds = time.perf_counter() - start
    predictions = predict_dataset(trainer.model, test)
    np.savez(job["out_file"], energies=predictions.energies / scale, forces=predictions.forces / scale)
    info = {"epoch_seconds": [r.seconds for r in trainer.history], "warmup_seconds": warmup_seconds,
            "fit_seconds": fit_seconds, "best_epoch": trainer.best_epoch, "n_params": int(n_params),
            "config": config.to_dict(), "versions": {"torch": torch.__version__},
            "final_lr": trainer.optimizer.param_groups[0]["lr"]}
    Path(job["out_file"]).with_suffix(".json").write_text(json.dumps(info))


def hippynn_like_init(model) -> None:
    """hippynn's initialisation on an MLIP Lab HIPNN (an experiment, not a library default): Xavier-normal
    interaction tensors (std sqrt(2 / (F_in (S + F_out))), as measured on hippynn's), self-interaction and atom
    layers; layer energy heads scaled by 1e-2 and 1e-4; the one-hot head zeroed and frozen (E0 carries it)."""
    import torch

    with torch.no_grad():
        for block in model.blocks:
            v = block.interaction.interaction
            s, f_in, f_out = v.shape
            v.normal_(0.0, (2.0 / (f_in * (s + f_out))) ** 0.5)
            torch.nn.init.xavier_normal_(block.interaction.self_interaction.weight)
            for layer in block.atom_layers:
                torch.nn.init.xavier_normal_(layer.linear.weight)
        for head, scale in zip(model.energy_heads[1:], (1e-2, 1e-4)):
            head.weight.mul_(scale)
            head.bias.mul_(scale)
        model.energy_heads[0].weight.zero_()
        model.energy_heads[0].bias.zero_()
    model.energy_heads[0].requires_grad_(False)


# ---------------------------------------------------------------------------------------------- orchestration
def run_side(library: str, job: dict, workdir: Path) -> dict | None:
    """Run one side in its own process; returns its info (epoch times, ...) or None if it failed."""
    tag = f"{'mlip' if library == 'MLIP Lab' else 'hippynn'}_order{job['order']}_seed{job['seed']}"
    job = {**job, "out_file": str(workdir / f"{tag}.npz"), "scratch": str(workdir)}
    job_file = workdir / f"{tag}.job.json"
    job_file.write_text(json.dumps(job))
    if library == "MLIP Lab":
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(job_file)]
    else:
        command = [str(venv_python()), str(RUNNER), str(job_file)]
    env = {**os.environ, **ONE_THREAD}
    log = workdir / f"{tag}.log"
    start = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        print(f"  {library} order {job['order']} seed {job['seed']} FAILED (exit {done.returncode}); "
              f"log {log}:\n{tail}", flush=True)
        return None
    info = json.loads(Path(job["out_file"]).with_suffix(".json").read_text())
    predicted = np.load(job["out_file"])
    info.update(energies=predicted["energies"], forces=predicted["forces"], process_seconds=wall)
    print(f"  {library:<8} order {job['order']} seed {job['seed']}: {np.mean(info['epoch_seconds']):.2f} s/epoch "
          f"({len(info['epoch_seconds'])} epochs, process {wall:.0f} s)", flush=True)
    return info


def test_errors(test, info: dict) -> tuple[float, float]:
    """(energy MAE kcal/mol, force MAE kcal/mol/Å) of one side's predictions, by MLIP Lab's error_table."""
    from mlip_lab.train import DatasetPredictions, error_table

    forces = info["forces"][:, : test.species.shape[1]]
    predictions = DatasetPredictions(info["energies"], forces, np.zeros(test.species.shape))
    row = error_table(test, predictions, by=None, unit="kcal/mol")[0]
    return row["energy_mae"], row["force_mae"]


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def format_table(results: dict, orders) -> str:
    """results[(library, order)] = list of per-seed dicts with seed, s_per_epoch, energy_mae, force_mae, n_params."""
    cols = ("s_per_epoch", "energy_mae", "force_mae")
    header = (f"{'order':<6}{'model':<15}{'library':<10}{'params':>8}  {'s / epoch':>15}  {'test E MAE':>15}  "
              f"{'test F MAE':>15}")
    lines = [header, "-" * len(header)]
    for order in orders:
        means = {}
        for library, model in zip(LIBRARIES, MODEL_NAMES[order]):
            rows = results.get((library, order), [])
            params = str(rows[0]["n_params"]) if rows else "-"
            cells = [summary([r[c] for r in rows]) if rows else "skipped" for c in cols]
            means[library] = {c: np.mean([r[c] for r in rows]) for c in cols} if rows else None
            lines.append(f"{order:<6}{model:<15}{library:<10}{params:>8}  " + "  ".join(f"{x:>15}" for x in cells))
        if all(means.values()):
            ratio = [means["MLIP Lab"][c] / means["hippynn"][c] for c in cols]
            lines.append(f"{'':<6}{'ratio MLIP Lab ÷ hippynn':<33}  " + "  ".join(f"{x:>15.2f}" for x in ratio))
        lines.append("")
    # Seeds per order: combined runs may give one order more seeds than another.
    seeds = {order: sorted({row["seed"] for (_, o), rows in results.items() if o == order for row in rows})
             for order in orders}
    over = "; ".join(f"order {order}: seeds {seeds[order]}" for order in orders)
    lines.append(f"units: E kcal/mol, F kcal/mol/Å (test set, same evaluation code for both); mean ± sample sd over "
                 f"the seeds ({over}); ratio of the means (< 1: MLIP Lab faster or more accurate)")
    return "\n".join(lines)


def print_combined(paths: list[Path]) -> None:
    """The results table of several --json files (same settings apart from the seeds) as one."""
    runs = [run for path in paths for run in json.loads(Path(path).read_text())["runs"]]
    results: dict = {}
    for run in runs:
        results.setdefault((run["library"], run["order"]), []).append(run)
    orders = sorted({run["order"] for run in runs})
    print(f"combined from {', '.join(str(p) for p in paths)}\n")
    print(format_table(results, orders))


def parse_overrides(pairs: list[str]) -> dict:
    """["residual=true", "eps=1e-6"] -> {"residual": True, "eps": 1e-6}; names must be HIPNNConfig fields."""
    from dataclasses import fields

    from mlip_lab.models import HIPNNConfig

    names = {f.name for f in fields(HIPNNConfig)}
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in names:
            raise SystemExit(f"--mlip-set {pair!r}: expected KEY=VALUE with KEY one of {sorted(names)}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            raise SystemExit(f"--mlip-set {pair!r}: VALUE must be JSON (true, 1e-6, \"dense\")") from None
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one MLIP Lab job file
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_CONFIGS} configurations, 2 epochs, seed 0 (checks the whole pipeline)")
    parser.add_argument("--no-install", action="store_true",
                        help="never create or install hippynn's venv; skip the hippynn side if it is absent")
    parser.add_argument("--orders", type=int, nargs="+", choices=(0, 1, 2), default=[0, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 (--quick: 0)")
    parser.add_argument("--epochs", type=int, default=None, help="default 100 (--quick: 2)")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--sensitivities", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--force-weight", type=float, default=30.0)
    parser.add_argument("--lr-schedule", choices=("plateau", "cosine"), default="plateau")
    parser.add_argument("--lr-patience", type=int, default=5)
    parser.add_argument("--hier-weight", type=float, default=1.0,
                        help="hierarchicality weight on the hippynn side (errors in kcal/mol); default 1")
    parser.add_argument("--mlip-loss", choices=("rmse", "rmse+mae", "hippynn"), default="rmse+mae",
                        help="MLIP Lab's loss: energy_force_loss with that metric (default rmse+mae) or hippynn's form")
    parser.add_argument("--mlip-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a HIPNNConfig field on the MLIP Lab side (VALUE as JSON), e.g. residual=true; "
                             "repeatable")
    parser.add_argument("--mlip-init", choices=("default", "hippynn"), default="default",
                        help="MLIP Lab's own initialisation or hippynn's (see hippynn_like_init)")
    parser.add_argument("--mlip-unit", choices=("eV", "kcal/mol"), default="eV",
                        help="energy unit MLIP Lab trains in (hippynn's examples train in kcal/mol)")
    parser.add_argument("--mlip-only", action="store_true", help="train only the MLIP Lab side (experiments)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--venv", type=Path, default=VENV, help=f"hippynn's virtual environment (default {VENV})")
    parser.add_argument("--json", type=Path, help="also write the results (per seed) to this JSON file")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="print one table from the --json files of earlier runs (e.g. one per seed, run side by "
                             "side as separate processes) and exit")
    parser.add_argument("--keep", type=Path, help="keep the split, job files, logs and predictions in this folder")
    args = parser.parse_args()
    if args.worker:
        mlip_worker(args.worker)
        return
    if args.combine:
        print_combined(args.combine)
        return
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1])
    epochs = args.epochs if args.epochs is not None else (2 if args.quick else 100)

    from mlip_lab.physics.units import EV_KCAL_PER_MOL

    mlip_set = parse_overrides(args.mlip_set)
    use_venv(args.venv)
    skip_reason = "--mlip-only" if args.mlip_only else hippynn_ready()
    if skip_reason and not args.no_install and not args.mlip_only:
        try:
            install_hippynn()
            skip_reason = hippynn_ready()
        except (subprocess.CalledProcessError, OSError) as exc:
            skip_reason = f"installing hippynn failed ({exc})"
    if skip_reason:
        how = "run without --no-install to create it" if args.no_install else "see the pip output above"
        print(f"hippynn side SKIPPED: {skip_reason}; {how}. MLIP Lab's numbers follow alone.\n", flush=True)

    workdir = args.keep if args.keep else Path(tempfile.mkdtemp(prefix="peer_hippynn_"))
    workdir.mkdir(parents=True, exist_ok=True)
    split_file = workdir / "split.npz"
    elements, (train, valid, test) = export_split(split_file, args.quick)
    job = {"split_file": str(split_file), "elements": elements, "features": args.features,
           "sensitivities": args.sensitivities, "interactions": 2, "atom_layers": 3, "r_soft_min": 0.75,
           "r_soft_max": 4.0, "cutoff": 5.0, "batch_size": args.batch_size, "lr": args.lr, "epochs": epochs,
           "force_weight": args.force_weight, "lr_schedule": args.lr_schedule, "lr_patience": args.lr_patience,
           "lr_factor": 0.5, "min_lr": 1e-5, "hier_weight": args.hier_weight, "mlip_loss": args.mlip_loss,
           "energy_scale": EV_KCAL_PER_MOL, "threads": args.threads, "kernels": "numba", "mlip_set": mlip_set,
           "mlip_init": args.mlip_init, "mlip_unit": args.mlip_unit}
    print(f"organics{' (quick: %d configurations)' % QUICK_CONFIGS if args.quick else ''}: "
          f"train {len(train)}, valid {len(valid)}, test {len(test)}; {epochs} epochs, seeds {seeds}, "
          f"batch {args.batch_size}, lr {args.lr:g} ({args.lr_schedule}), force weight {args.force_weight:g}, "
          f"{args.threads} thread(s); MLIP Lab loss: {args.mlip_loss}; MLIP Lab config overrides: {mlip_set or 'none'}, init {args.mlip_init}; "
          f"work folder {workdir}", flush=True)

    results: dict = {}
    per_run = []
    started = time.perf_counter()
    for order in args.orders:
        for seed in seeds:
            for library in LIBRARIES:
                if library == "hippynn" and skip_reason:
                    continue
                info = run_side(library, {**job, "order": order, "seed": seed}, workdir)
                if info is None:
                    continue
                e_mae, f_mae = test_errors(test, info)
                row = {"library": library, "order": order, "seed": seed, "n_params": info["n_params"],
                       "s_per_epoch": float(np.mean(info["epoch_seconds"])), "energy_mae": e_mae, "force_mae": f_mae,
                       "epoch_seconds": info["epoch_seconds"], "warmup_seconds": info["warmup_seconds"],
                       "best_epoch": info["best_epoch"], "final_lr": info["final_lr"],
                       "versions": info["versions"], **({"kernels": info["kernels"]} if "kernels" in info else {}),
                       **({"config": info["config"]} if "config" in info else {})}
                results.setdefault((library, order), []).append(row)
                per_run.append(row)

    mlip_config = next((r["config"] for r in per_run if "config" in r), {})
    hippynn_kernels = next((r["kernels"] for r in per_run if "kernels" in r), None)
    print(f"\nMLIP Lab HIPNNConfig defaults in use: residual={mlip_config.get('residual')}, "
          f"eps={mlip_config.get('eps')}, pairs={mlip_config.get('pairs')}; hippynn defaults in use: resnet=True, "
          f"cusp_reg=1e-6, sensitivity 'inverse', kernels {hippynn_kernels or '-'}  "
          f"(all runs {time.perf_counter() - started:.0f} s)\n")
    print(format_table(results, args.orders))
    print("\nper seed:")
    for r in per_run:
        print(f"  order {r['order']} {r['library']:<8} seed {r['seed']}: {r['s_per_epoch']:.3f} s/epoch, "
              f"E {r['energy_mae']:.3f}, F {r['force_mae']:.3f}, best epoch {r['best_epoch']}, "
              f"final lr {r['final_lr']:.2g}, warm-up {r['warmup_seconds']:.1f} s")
    if args.json:
        settings = {k: v for k, v in job.items() if k not in ("split_file",)}
        args.json.write_text(json.dumps({"settings": {**settings, "seeds": seeds, "quick": args.quick,
                                                      "orders": args.orders,
                                                      "hippynn_skipped": skip_reason}, "runs": per_run}, indent=1))
        print(f"results written to {args.json}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
