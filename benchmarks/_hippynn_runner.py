"""The hippynn side of ``benchmarks/peer_hippynn.py``: one training run, in hippynn's own virtual environment.

Not part of MLIP Lab and never imported by it: ``peer_hippynn.py`` runs this file with the python of
``benchmarks/.venv-hippynn`` (hippynn 0.1.3, numba, CPU torch) as

    benchmarks/.venv-hippynn/bin/python benchmarks/_hippynn_runner.py JOB.json

JOB.json names the split file that ``peer_hippynn.py`` exported (train/valid/test arrays, eV and Å, exactly the
MLIP Lab split) and the settings. The runner builds the hippynn graph (SpeciesNode, PositionsNode, Hipnn or
HipnnQuad, HEnergyNode, GradientNode for the forces), the loss (see ``peer_hippynn.py``'s docstring), a
Database whose train/valid/test splits are given by masks (hippynn does not re-split), fits the E0 energies
with ``hierarchical_energy_initialization``, warms the kernels up, trains with hippynn's ``train_model`` and
writes the test-set predictions (eV, eV/Å) and hippynn's own per-epoch times to the output file named in the job.
Only numpy, torch and hippynn are imported here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    # Settings are read from the environment when hippynn is imported: no progress bars, no distance warnings
    # (hippynn's training examples switch them off too), and numba kernels (an error if numba is missing).
    os.environ["HIPPYNN_PROGRESS"] = "none"
    os.environ["HIPPYNN_WARN_LOW_DISTANCES"] = "false"
    os.environ["HIPPYNN_USE_CUSTOM_KERNELS"] = job["kernels"]

    import numpy as np
    import torch

    torch.set_num_threads(job["threads"])
    torch.set_default_dtype(torch.float32)

    import hippynn
    from hippynn.experiment import SetupParams, assemble_for_training, setup_training, train_model
    from hippynn.experiment.controllers import Controller
    from hippynn.graphs import Predictor, inputs, loss, networks, physics, targets
    from hippynn.pretraining import hierarchical_energy_initialization

    kernels = hippynn.custom_kernels.set_custom_kernels(job["kernels"])

    # ---------------------------------------------------------------- data: the exported split, unchanged
    scale = job["energy_scale"]  # eV -> hippynn's training unit (kcal/mol by default)
    split = np.load(job["split_file"])
    names = ("train", "valid", "test")
    arrays = {
        "Z": np.concatenate([split[f"{s}_species"] for s in names]).astype(np.int64),
        "R": np.concatenate([split[f"{s}_positions"] for s in names]).astype(np.float32),
        "T": (np.concatenate([split[f"{s}_energies"] for s in names]) * scale).astype(np.float32)[:, None],
        "F": (np.concatenate([split[f"{s}_forces"] for s in names]) * scale).astype(np.float32),
    }
    sizes = [len(split[f"{s}_species"]) for s in names]
    for i, s in enumerate(names):  # split masks: hippynn's auto_split takes exactly these rows, in order
        mask = np.zeros(sum(sizes), dtype=bool)
        mask[sum(sizes[:i]) : sum(sizes[: i + 1])] = True
        arrays[f"split_mask_{s}"] = mask

    # ---------------------------------------------------------------- model graph and loss
    torch.manual_seed(job["seed"])  # weights, sensitivities and (DataLoader) batch order
    species = inputs.SpeciesNode(db_name="Z")
    positions = inputs.PositionsNode(db_name="R")
    network_class = {0: networks.Hipnn, 1: networks.HipnnVec, 2: networks.HipnnQuad}[job["order"]]
    network_params = {
        "possible_species": [0, *job["elements"]],
        "n_features": job["features"],
        "n_sensitivities": job["sensitivities"],
        "dist_soft_min": job["r_soft_min"],
        "dist_soft_max": job["r_soft_max"],
        "dist_hard_max": job["cutoff"],
        "n_interaction_layers": job["interactions"],
        "n_atom_layers": job["atom_layers"],
    }  # everything else (resnet=True, inverse sensitivities, cusp_reg 1e-6 for l>0, softplus) is hippynn's default
    network = network_class("hipnn", (species, positions), module_kwargs=network_params)
    henergy = targets.HEnergyNode("HEnergy", network, db_name="T")
    forces = physics.GradientNode("forces", (henergy, positions), sign=-1, db_name="F")

    e_rmse = loss.MSELoss.of_node(henergy) ** 0.5
    e_mae = loss.MAELoss.of_node(henergy)
    f_rmse = loss.MSELoss.of_node(forces) ** 0.5
    f_mae = loss.MAELoss.of_node(forces)
    hier = loss.Mean.of_node(henergy.hierarchicality)
    total = (e_rmse + e_mae) + job["force_weight"] * (f_rmse + f_mae) + job["hier_weight"] * hier
    validation = {"E-RMSE": e_rmse, "E-MAE": e_mae, "F-RMSE": f_rmse, "F-MAE": f_mae, "Hier": hier, "Loss": total}
    training_modules, db_info = assemble_for_training(total, validation)

    database = hippynn.databases.Database(arrays, seed=job["seed"], auto_split=True, pin_memory=False,
                                          quiet=True, **db_info)
    got = [len(database.splits[s]["indices"]) for s in names]
    if got != sizes:
        raise RuntimeError(f"hippynn split sizes {got} differ from the exported split {sizes}")

    hierarchical_energy_initialization(henergy, database, trainable_after=False)

    # ---------------------------------------------------------------- optimiser, schedule, controller
    model = training_modules.model
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=job["lr"])
    if job["lr_schedule"] == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=job["lr_factor"],
                                                               patience=job["lr_patience"], min_lr=job["min_lr"])
    else:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(job["epochs"], 1),
                                                               eta_min=job["min_lr"])
    # The plain Controller has no early stopping: exactly job["epochs"] epochs, like the MLIP Lab side.
    controller = Controller(optimizer=optimizer, scheduler=scheduler, batch_size=job["batch_size"],
                            eval_batch_size=job["batch_size"], max_epochs=job["epochs"], stopping_key="Loss",
                            quiet=True)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    # ---------------------------------------------------------------- warm-up (not timed)
    # One loss evaluation and backward pass on a training batch compiles the numba kernels (forward, backward
    # and the double backward of force training) before the first timed epoch; no optimiser step is taken.
    train_split = database.splits["train"]
    warm = [train_split[k][: job["batch_size"]] for k in database.var_list]
    n_in = len(database.inputs)
    start = time.perf_counter()
    outputs = model(*warm[:n_in])
    training_modules.loss(*outputs, *warm[n_in:])[0].backward()
    model.zero_grad(set_to_none=True)
    warmup_seconds = time.perf_counter() - start

    # ---------------------------------------------------------------- train (hippynn's own loop)
    workdir = Path(tempfile.mkdtemp(prefix="hippynn_run_", dir=job.get("scratch")))
    with hippynn.tools.active_directory(str(workdir)):
        training_modules, controller, metrics = setup_training(training_modules, SetupParams(controller=controller,
                                                                                             device="cpu"))
        start = time.perf_counter()
        metrics = train_model(training_modules, database, controller, metrics, callbacks=None, batch_callbacks=None,
                              store_best=False, store_structure_file=False, store_metrics=False, quiet=True)
        fit_seconds = time.perf_counter() - start  # includes hippynn's final test_model pass and plots
    epoch_seconds = [float(t) for t in metrics.epoch_times]
    stopping = [values["valid"]["Loss"] for values in metrics.epoch_metric_values]
    best_epoch = int(np.argmin(stopping)) + 1 if stopping else 0

    # ---------------------------------------------------------------- predict the test set (best weights)
    predictor = Predictor.from_graph(training_modules.model)
    out = predictor(Z=torch.as_tensor(split["test_species"], dtype=torch.int64),
                    R=torch.as_tensor(split["test_positions"], dtype=torch.float32), batch_size=64)
    energies = out["T"].detach().double().numpy().reshape(-1) / scale
    forces_pred = out["F"].detach().double().numpy() / scale
    expected = split["test_forces"].shape
    if energies.shape != (expected[0],) or forces_pred.shape != expected:
        raise RuntimeError(f"hippynn predictions have shapes {energies.shape}, {forces_pred.shape}; "
                           f"expected ({expected[0]},), {expected}")
    np.savez(job["out_file"], energies=energies, forces=forces_pred)
    info = {
        "epoch_seconds": epoch_seconds, "warmup_seconds": warmup_seconds, "fit_seconds": fit_seconds,
        "best_epoch": best_epoch, "n_params": int(n_params), "kernels": kernels,
        "versions": {"hippynn": hippynn.__version__, "torch": torch.__version__,
                     "numba": __import__("numba").__version__},
        "final_lr": optimizer.param_groups[0]["lr"],
    }
    Path(job["out_file"]).with_suffix(".json").write_text(json.dumps(info))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python _hippynn_runner.py JOB.json  (run by benchmarks/peer_hippynn.py)")
    main(sys.argv[1])
