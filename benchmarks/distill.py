"""Knowledge distillation, measured side by side in one run over several seeds (mean ± spread). Not a test.

Ensemble knowledge distillation (EKD): K teachers trained on energies only label forces; a student trained on
the energies plus those forces is compared with the same architecture and budget trained on energies only.
- ``--data ccsdt``: trained on the CCSD(T) energies of ``organics_ccsdt``, graded on the CCSD(T) forces of
  ``ccsdt_grading`` (molecules seen in training and unseen molecules reported separately);
- ``--data dft``: trained on the DFT energies of ``organics`` with the forces hidden, graded by the true DFT
  forces of a held-out split.
Goals: student force MAE ÷ baseline force MAE <= 0.7 on seen molecules; median MD time to failure of the student
>= 2x the baseline's at ``--temperature``.

Teacher-student with atomic energies (``organics``, DFT E + F): a large teacher, a small student with the
teacher's atomic energies and the same student without (the control). Goals: student force MAE ÷ teacher's
<= 1.1; student MD atom-steps/s >= 3x the teacher's; student peak memory of one MD force evaluation <= 1/3 of the
teacher's (both measured in this process). ``--part ts`` trains and saves them; ``--part cost`` measures the saved
models side by side, so the timing can run alone on an idle machine after the long training.

    python benchmarks/distill.py --threads 2                      # everything, 3 seeds
    python benchmarks/distill.py --part ekd --data dft --seeds 0 1 2 --epochs 200
    python benchmarks/distill.py --quick                          # a minute: checks the script runs, numbers mean nothing
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from _stats import mean_spread


def ekd_data(kind: str, quick: bool, seed: int):
    """(train, valid, graded sets {name: dataset with true forces}) for one seed."""
    from mlip_lab.data import load

    if kind == "ccsdt":
        data = load("organics_ccsdt")
        grading = load("ccsdt_grading")
        seen = set(data.molecule)
        graded = {"seen molecules": grading.subset(np.flatnonzero(np.isin(grading.molecule, list(seen)))),
                  "unseen molecules": grading.subset(np.flatnonzero(~np.isin(grading.molecule, list(seen))))}
        train, valid = data.split_random((0.9, 0.1), seed=seed)
    else:
        data = load("organics")
        train, valid, test = data.split_random((0.8, 0.1, 0.1), seed=seed)
        graded = {"held-out DFT forces": test}
    if quick:
        train, valid = train.subset(np.arange(min(len(train), 96))), valid.subset(np.arange(min(len(valid), 24)))
        graded = {name: g.subset(np.arange(min(len(g), 24))) for name, g in graded.items()}
    return train, valid, graded


def run_ekd_part(args) -> None:
    from mlip_lab.distill import force_errors_against, run_ekd, time_to_failure
    from mlip_lab.train import predict_dataset

    ratios, times, failed = {}, {"student": [], "baseline": []}, {"student": [], "baseline": []}
    for seed in args.seeds:
        train, valid, graded = ekd_data(args.data, args.quick, seed)
        start = time.perf_counter()
        run = run_ekd(train, valid, k=args.teachers, seed=seed, max_epochs=args.epochs, lr_schedule="cosine",
                      progress=False)
        print(f"seed {seed}: teachers, student and baseline trained in {time.perf_counter() - start:.0f} s "
              f"({len(train)} training configurations)")
        for name, truth in graded.items():
            maes = {}
            for who, model in (("student", run.student.model), ("baseline", run.baseline.model), ("teachers", run.teachers)):
                maes[who] = force_errors_against(truth, predict_dataset(model, truth).forces).mae
            ratios.setdefault(name, []).append(maes["student"] / maes["baseline"])
            print(f"  {name}: force MAE student {maes['student']:.3f}, baseline {maes['baseline']:.3f}, "
                  f"teachers' mean {maes['teachers']:.3f} eV/Å; student ÷ baseline {ratios[name][-1]:.2f}")
        for who, model in (("student", run.student.model), ("baseline", run.baseline.model)):
            outcome = time_to_failure(model, valid, temperature=args.temperature, n_replicas=args.replicas,
                                      duration_fs=args.duration, seed=seed, progress=False)
            times[who].append(outcome.median)
            failed[who].append(outcome.fraction_failed)
            print(f"  {who}: {outcome.summary()}")
    print(f"\nEKD on {args.data}, {len(args.seeds)} seeds (mean ± std over seeds), K = {args.teachers} teachers, "
          f"{args.epochs} epochs:")
    for name, values in ratios.items():
        verdict = "met" if name != "unseen molecules" and np.mean(values) <= 0.7 else ("goal applies to seen molecules" if name == "unseen molecules" else "NOT met")
        print(f"  force MAE student ÷ baseline, {name}: {mean_spread(values)}  (goal <= 0.7: {verdict})")
    with np.errstate(invalid="ignore"):  # inf / inf: both medians beyond the run, the ratio is unknown
        ratio = np.asarray(times["student"]) / np.asarray(times["baseline"])
    print(f"  median MD time to failure at {args.temperature:g} K, {args.replicas} replicas, {args.duration:g} fs: "
          f"student {mean_spread(times['student'])} fs, baseline {mean_spread(times['baseline'])} fs, "
          f"ratio {mean_spread(ratio)} (goal >= 2; a replica set whose median exceeds the run length counts as inf)")
    print(f"  fraction of replicas failed within the run: student {mean_spread(failed['student'])}, baseline "
          f"{mean_spread(failed['baseline'])} (the distribution when medians are censored)")


def run_teacher_student_part(args) -> None:
    """Train teacher and students per seed, print their accuracy and save them for :func:`run_cost_part`."""
    from mlip_lab.data import load
    from mlip_lab.distill import count_parameters, force_errors_against, train_teacher_and_students
    from mlip_lab.models import save_model
    from mlip_lab.train import predict_dataset

    ratios = {"with AE": [], "without AE": []}
    for seed in args.seeds:
        train, valid, test = load("organics").split_random((0.8, 0.1, 0.1), seed=seed)
        if args.quick:
            train, valid, test = (d.subset(np.arange(min(len(d), n))) for d, n in ((train, 96), (valid, 24), (test, 24)))
        start = time.perf_counter()
        run = train_teacher_and_students(train, valid, seed=seed, teacher_options={"max_epochs": args.epochs},
                                         max_epochs=args.epochs, progress=False)
        maes = {who: force_errors_against(test, predict_dataset(trainer.model, test).forces).mae
                for who, trainer in (("teacher", run.teacher), ("with AE", run.with_atomic_energies),
                                     ("without AE", run.without_atomic_energies))}
        for who in ratios:
            ratios[who].append(maes[who] / maes["teacher"])
        save_model(run.teacher.model, args.models_dir / f"teacher_seed{seed}.pt")
        save_model(run.with_atomic_energies.model, args.models_dir / f"student_seed{seed}.pt")
        print(f"seed {seed} ({time.perf_counter() - start:.0f} s): force MAE teacher {maes['teacher']:.3f}, student with "
              f"AE {maes['with AE']:.3f}, without {maes['without AE']:.3f} eV/Å; parameters "
              f"{count_parameters(run.teacher.model)} vs {count_parameters(run.with_atomic_energies.model)}")
    print(f"\nTeacher-student on organics, {len(args.seeds)} seeds, {args.epochs} epochs:")
    print(f"  force MAE student with AE ÷ teacher: {mean_spread(ratios['with AE'])} (goal <= 1.1: "
          f"{'met' if np.mean(ratios['with AE']) <= 1.1 else 'NOT met'}); without AE ÷ teacher: "
          f"{mean_spread(ratios['without AE'])}")


def run_cost_part(args) -> None:
    """MD speed and peak memory of the saved teacher and student of every seed, side by side in this process.

    A separate part so that it can run alone on an idle machine after the (long) training."""
    from mlip_lab.data import load
    from mlip_lab.distill import model_cost
    from mlip_lab.models import load_model

    minima = load("organics_minima")
    speed, memory = [], []
    for seed in args.seeds:
        teacher, student = (load_model(args.models_dir / f"{who}_seed{seed}.pt") for who in ("teacher", "student"))
        teacher_cost = model_cost(teacher, minima, n_replicas=args.replicas, seed=seed)
        student_cost = model_cost(student, minima, n_replicas=args.replicas, seed=seed)
        speed.append(student_cost.atom_steps_per_s / teacher_cost.atom_steps_per_s)
        memory.append(student_cost.peak_memory / teacher_cost.peak_memory)
        print(f"seed {seed}: atom-steps/s teacher {teacher_cost.atom_steps_per_s:.3g}, student "
              f"{student_cost.atom_steps_per_s:.3g}; peak memory of one force evaluation {teacher_cost.peak_memory / 2**20:.1f} "
              f"vs {student_cost.peak_memory / 2**20:.1f} MiB ({args.replicas} replicas of the organics minima)")
    print(f"\nTeacher-student cost, {len(args.seeds)} seeds:")
    print(f"  MD atom-steps/s student ÷ teacher: {mean_spread(speed)} (goal >= 3: {'met' if np.mean(speed) >= 3 else 'NOT met'})")
    print(f"  peak memory student ÷ teacher: {mean_spread(memory)} (goal <= 1/3: "
          f"{'met' if np.mean(memory) <= 1 / 3 else 'NOT met'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["ekd", "ts", "cost", "all"], default="all",
                        help="ts trains and saves teacher and students; cost measures the saved ones (run it alone)")
    parser.add_argument("--models-dir", type=Path, default=Path("runs/distill_benchmark"),
                        help="where --part ts saves the teacher-student models that --part cost measures")
    parser.add_argument("--data", choices=["ccsdt", "dft"], default="ccsdt", help="EKD training data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--teachers", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=1000.0, help="K, for the time-to-failure runs")
    parser.add_argument("--duration", type=float, default=1000.0, help="fs, length of the time-to-failure runs")
    parser.add_argument("--replicas", type=int, default=64, help="MD replicas (time to failure, speed, memory)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny data and epochs: checks that the script runs")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.teachers, args.replicas, args.duration = 2, 2, 4, 20.0
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{platform.node()} ({platform.processor() or 'cpu'}), {torch.get_num_threads()} CPU threads, torch "
          f"{torch.__version__}; seeds {args.seeds}")
    if args.part in ("ekd", "all"):
        run_ekd_part(args)
    if args.part in ("ts", "all"):
        run_teacher_student_part(args)
    if args.part in ("cost", "all"):
        run_cost_part(args)


if __name__ == "__main__":
    main()
