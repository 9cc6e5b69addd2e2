"""Coarse-graining by force matching, measured: train at one temperature, test at all. Not a test.

For each seed: HIP-NN-TS (plus the fitted repulsive prior) is force-matched on the CG frames of ``--train-temperature``
(from the first 80 % of that trajectory, every ``--train-every``-th frame; the next 10 % validate, the last 10 %
test), and the pairwise MS-CG baseline (plus the same prior) is fitted on the same frames. Both then run CG Langevin
MD at every temperature of the data, from frames of that temperature, and their bead-bead RDFs are compared with
the atomistic one (integrated absolute difference up to ``--r-max``). Speed: simulated ps per wall-clock hour of CG
MD (one box, HIP-NN-TS) and of the atomistic OpenMM reference on an atomistic frame with the same number of
molecules, both measured in this run.

Parts: ``train`` fits and saves the models of every seed to ``--models-dir`` and prints their test force errors;
``md`` runs the saved models' CG MD and prints the RDF errors (kept per model, seed and temperature in
``--models-dir``, so temperatures can be run one at a time); ``speed`` times CG MD against OpenMM (run it alone on
an idle machine); ``all`` does the three in turn.

Goals (issue 13): HIP-NN-TS's RDF error below the baseline's at every temperature; its error at training ± 40 K at
most 2x its error at the training temperature; CG MD >= 10x the atomistic ps per hour. Dense vs sparse pairs are
measured by ``benchmarks/pairs.py``.

    python benchmarks/cg.py --threads 2                 # 3 seeds, all parts
    python benchmarks/cg.py --part speed --threads 2    # the saved models' speed, alone
    python benchmarks/cg.py --quick                     # a few minutes: checks the script runs, numbers mean nothing
    python benchmarks/cg.py --frames my.npz --atomistic my_atomistic.npz   # other data made by mlip_lab.cg.reference
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from _stats import mean_spread

PAIRWISE_FILE = "pairwise.pt"  # one fit: linear least squares on the same frames gives the same model for any seed

def force_mae(model, frames) -> float:
    from mlip_lab.train import ErrorStats, force_errors, predict_dataset

    return ErrorStats.of(force_errors(frames, predict_dataset(model, frames, batch_size=4))).mae


def training_frames(data, args):
    """The (train, valid, test) frames at the training temperature, in trajectory order."""
    from mlip_lab.cg import frames_at

    train, valid, test = frames_at(data, args.train_temperature).split_in_order()
    train = train.subset(np.arange(0, len(train), args.train_every))
    if args.quick:
        train, valid, test = (d.subset(np.arange(min(len(d), 8))) for d in (train, valid, test))
    return train, valid, test


def run_train_part(args, data) -> None:
    """Fit the pairwise baseline once and HIP-NN-TS per seed (both with the same prior, on the same frames); save
    them; print test force MAEs. The prior and the least-squares fit do not depend on the seed."""
    from mlip_lab.cg import CG_CONFIG, fit_pairwise, reference_prior, train_force_matching
    from mlip_lab.models import save_model

    config = CG_CONFIG
    if args.cutoff is not None:  # e.g. for small test boxes: the soft cutoff keeps its distance to the hard one
        config = replace(CG_CONFIG, cutoff=args.cutoff, r_soft_max=args.cutoff - (CG_CONFIG.cutoff - CG_CONFIG.r_soft_max))
    train, valid, test = training_frames(data, args)
    prior = reference_prior(train)
    pairwise = fit_pairwise(train, r_cut=config.cutoff, n_basis=args.n_basis, prior=prior, progress=False).model
    save_model(pairwise, args.models_dir / PAIRWISE_FILE)
    maes = {"HIP-NN-TS": [], "pairwise": force_mae(pairwise, test)}
    print(f"{len(train)} training frames at {args.train_temperature:g} K; prior at {float(prior.taper):.2f} Å; "
          f"pairwise test force MAE {maes['pairwise']:.4f} eV/Å")
    for seed in args.seeds:
        start = time.perf_counter()
        network = train_force_matching(train, valid, config, prior=prior, seed=seed, max_epochs=args.epochs,
                                       batch_size=4, lr=2e-3, lr_schedule="cosine", progress=False).model
        trained = time.perf_counter() - start
        maes["HIP-NN-TS"].append(force_mae(network, test))
        save_model(network, args.models_dir / f"HIP-NN-TS_seed{seed}.pt")
        print(f"seed {seed}: HIP-NN-TS trained in {trained:.0f} s; test force MAE {maes['HIP-NN-TS'][-1]:.4f} eV/Å")
    (args.models_dir / "test_force_mae.json").write_text(json.dumps(maes))
    print(f"\nTrained at {args.train_temperature:g} K on every {args.train_every}. frame of the first 80 %, "
          f"{len(args.seeds)} seeds, {args.epochs} epochs:")
    print(f"  test force MAE: HIP-NN-TS {mean_spread(maes['HIP-NN-TS'])}, pairwise {maes['pairwise']:.4g} eV/Å "
          f"(mean |F| {float(np.abs(test.forces).mean()):.4f} eV/Å)")


def load_seed_models(args, seed) -> dict:
    """The seed's HIP-NN-TS and the (seed-independent) pairwise baseline saved by the train part."""
    from mlip_lab.models import load_model

    return {"HIP-NN-TS": load_model(args.models_dir / f"HIP-NN-TS_seed{seed}.pt"),
            "pairwise": load_model(args.models_dir / PAIRWISE_FILE)}


def run_md_part(args, data) -> None:
    """CG MD of the saved models at each temperature; RDF errors against the atomistic RDF; the two goals.

    Results accumulate in ``<models-dir>/rdf_errors.json`` per model, seed and temperature: a run computes only the
    missing ones (``--temperatures`` limits it further, e.g. to those already built), and the table covers all."""
    from mlip_lab.cg import available_temperatures, frames_at, radial_distribution, rdf_error, run_cg_md

    temperatures = available_temperatures(data)
    todo = [t for t in temperatures if not args.temperatures or t in args.temperatures]
    n_bins = int(round(args.r_max / 0.1))
    n_steps = int(round(args.md_ps * 1000 / args.timestep))
    record_every = max(1, min(int(round(args.record_ps * 1000 / args.timestep)), n_steps // 10))
    store = args.models_dir / "rdf_errors.json"
    settings = {key: getattr(args, key) for key in ("md_ps", "equilibration_ps", "record_ps", "replicas", "timestep",
                                                    "r_max", "train_temperature")}
    saved = json.loads(store.read_text()) if store.is_file() else {"settings": settings, "errors": {}}
    if saved["settings"] != settings:
        raise SystemExit(f"{store} holds RDF errors made with {saved['settings']}, not {settings}: use another "
                         "--models-dir or delete the file")
    errors = saved["errors"]  # {label: {seed: {T: error}}}
    for t in todo:
        frames = frames_at(data, t)
        reference = radial_distribution(frames.positions, frames.cells, args.r_max, n_bins)[1]
        starts = np.linspace(0, len(frames) - 1, args.replicas).round().astype(int).tolist()
        for seed in args.seeds:
            models = load_seed_models(args, seed)
            line = []
            for label, model in models.items():
                done = errors.setdefault(label, {}).setdefault(str(seed), {})
                if f"{t:g}" in done:
                    continue
                run = run_cg_md(model, frames, t, n_steps, start=starts, timestep=args.timestep,
                                record_every=record_every, seed=seed, progress=False)
                r, g = run.rdf(args.r_max, n_bins, skip_fs=args.equilibration_ps * 1000)
                done[f"{t:g}"] = rdf_error(r, g, reference)
                failed = f", {len(run.blow_ups)} of {args.replicas} replicas blew up" if run.blow_ups else ""
                line.append(f"{label} {done[f'{t:g}']:.3f} Å{failed}")
                store.write_text(json.dumps(saved, indent=1))
            if line:
                print(f"seed {seed}, {t:g} K: RDF error " + "; ".join(line), flush=True)

    def values(label, t):
        return [errors.get(label, {}).get(str(seed), {}).get(f"{t:g}", np.nan) for seed in args.seeds]

    print(f"\nRDF error (integrated |g - g_ref| up to {args.r_max:g} Å) after training at {args.train_temperature:g} K, "
          f"seeds {args.seeds} (mean ± std), CG MD {args.replicas} x {args.md_ps:g} ps per temperature at "
          f"{args.timestep:g} fs, first {args.equilibration_ps:g} ps left out:")
    print(f"  {'T / K':>8} {'HIP-NN-TS':>16} {'pairwise':>16}")
    complete = [t for t in temperatures if not np.isnan(values("HIP-NN-TS", t) + values("pairwise", t)).any()]
    for t in temperatures:
        if t in complete:
            print(f"  {t:>8g} {mean_spread(values('HIP-NN-TS', t)):>16} {mean_spread(values('pairwise', t)):>16}")
        else:
            print(f"  {t:>8g} {'not run for every seed yet':>33}")
    if len(complete) < len(temperatures):
        print("  goals not evaluated: run --part md for the missing temperatures first")
        return
    below = all(np.mean(values("HIP-NN-TS", t)) < np.mean(values("pairwise", t)) for t in temperatures)
    print(f"  HIP-NN-TS below the baseline at every temperature: {'met' if below else 'NOT met'}")
    at_train = np.mean(values("HIP-NN-TS", args.train_temperature))
    for t in (args.train_temperature - 40, args.train_temperature + 40):
        if t in temperatures:
            ratio = np.mean(values("HIP-NN-TS", t)) / at_train
            print(f"  HIP-NN-TS error at {t:g} K ÷ at {args.train_temperature:g} K: {ratio:.2f} (goal <= 2: "
                  f"{'met' if ratio <= 2 else 'NOT met'})")
        else:
            print(f"  no frames at {t:g} K in the data: the ±40 K goal cannot be checked there")


def run_speed_part(args, data, atomistic) -> None:
    """Simulated ps per hour: CG MD of each seed's saved HIP-NN-TS (one box) and OpenMM's atomistic reference."""
    from mlip_lab.cg import frames_at, run_cg_md
    from mlip_lab.cg.reference import atomistic_ps_per_hour

    n_steps = 10 if args.quick else args.speed_steps
    cg_speed = []
    for seed in args.seeds:
        network = load_seed_models(args, seed)["HIP-NN-TS"]
        one_box = run_cg_md(network, frames_at(data, args.train_temperature), args.train_temperature, n_steps,
                            timestep=args.timestep, record_every=n_steps, seed=seed, progress=False)
        cg_speed.append(one_box.simulated_ps_per_hour)
    frame = int(np.flatnonzero(np.isclose(atomistic.temperature, args.train_temperature))[0])
    n_atoms = int(atomistic.n_atoms[frame])
    reference_speed = atomistic_ps_per_hour(atomistic.positions[frame, :n_atoms], float(atomistic.cells[frame, 0, 0]),
                                            args.train_temperature, n_steps=20 if args.quick else 500,
                                            cutoff=args.atomistic_cutoff, threads=torch.get_num_threads())
    speed = np.mean(cg_speed) / reference_speed
    print(f"\nSimulated ps per wall-clock hour, {n_atoms // 6} molecules, {torch.get_num_threads()} threads: CG HIP-NN-TS "
          f"at {args.timestep:g} fs {mean_spread(cg_speed)}, atomistic OpenMM {reference_speed:.3g}; ratio {speed:.3g} "
          f"(goal >= 10: {'met' if speed >= 10 else 'NOT met'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["train", "md", "speed", "all"], default="all",
                        help="train saves the models that md and speed use; run speed alone on an idle machine")
    parser.add_argument("--models-dir", type=Path, default=Path("runs/cg_benchmark"))
    parser.add_argument("--frames", default="cg_methanol", help="CG dataset (shipped name or file)")
    parser.add_argument("--atomistic", default="cg_methanol_atomistic", help="atomistic frames (for the speed)")
    parser.add_argument("--train-temperature", type=float, default=278.0)
    parser.add_argument("--train-every", type=int, default=1, help="stride over the training frames (0.5 ps apart)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n-basis", type=int, default=40, help="B-splines of the pairwise baseline")
    parser.add_argument("--md-ps", type=float, default=6.0, help="CG MD per replica and temperature, ps")
    parser.add_argument("--equilibration-ps", type=float, default=1.5, help="left out of the RDFs, ps")
    parser.add_argument("--record-ps", type=float, default=0.1, help="ps between the frames the RDF uses")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--temperatures", type=float, nargs="+", default=None,
                        help="--part md: simulate only these (K); results of earlier runs are kept and reused")
    parser.add_argument("--timestep", type=float, default=4.0, help="CG MD time step, fs")
    parser.add_argument("--speed-steps", type=int, default=250, help="CG MD steps timed by --part speed")
    parser.add_argument("--r-max", type=float, default=12.0, help="RDF range, Å")
    parser.add_argument("--cutoff", type=float, default=None, help="CG model and pairwise cutoff, Å (default CG_CONFIG's)")
    parser.add_argument("--atomistic-cutoff", type=float, default=10.0, help="the reference's nonbonded cutoff, Å")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny training and MD: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs, args.md_ps, args.equilibration_ps, args.replicas = args.seeds[:1], 2, 0.4, 0.1, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    args.models_dir.mkdir(parents=True, exist_ok=True)

    from mlip_lab.data import load

    print(f"{platform.node()} ({platform.processor() or 'cpu'}), {torch.get_num_threads()} CPU threads, torch "
          f"{torch.__version__}; seeds {args.seeds}; part {args.part}")
    data = load(args.frames)
    if args.part in ("train", "all"):
        run_train_part(args, data)
    if args.part in ("md", "all"):
        run_md_part(args, data)
    if args.part in ("speed", "all"):
        run_speed_part(args, data, load(args.atomistic))


if __name__ == "__main__":
    main()
