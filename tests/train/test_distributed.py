"""Data-parallel training: the unchanged Trainer under torchrun with 2 CPU processes (gloo) takes the same steps as
one process on the same global batches, writes checkpoints from rank 0 only, and resumes."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mlip_lab.train.distributed import Ranks

# A user's training script, unchanged between `python script.py` and `torchrun --nproc_per_node=2 script.py`.
# Water only and MAE terms: each loss is a mean over configurations of equal size, so the shards' weighted
# gradients sum to the global batch's exactly (up to rounding).
SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np, torch
    from mlip_lab.data import Dataset
    from mlip_lab.models import HIPNN, HIPNNConfig
    from mlip_lab.train import EnergyLoss, ForceLoss, Loss, Trainer

    out, epochs, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"
    rng = np.random.default_rng(0)
    m = 23  # global batches of 8: the last one (7 rows) splits 4 + 3 over two ranks
    water = np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]])
    positions = water + rng.normal(scale=0.05, size=(m, 3, 3))
    data = Dataset(species=np.tile([8, 1, 1], (m, 1)), positions=positions, energies=rng.normal(size=m),
                   forces=rng.normal(size=(m, 3, 3)))
    train, valid = data.subset(range(17)), data.subset(range(17, 23))
    torch.manual_seed(0)
    model = HIPNN(HIPNNConfig(elements=(1, 8), n_features=6, n_sensitivities=4, n_interactions=1,
                              n_atom_layers=1, cutoff=4.0, r_soft_max=3.5)).double()
    trainer = Trainer(model, Loss([EnergyLoss(metric="mae"), ForceLoss(weight=5.0, metric="mae")]), train, valid,
                      batch_size=8, max_epochs=epochs, lr=5e-3, seed=3, checkpoint_dir=out, progress=False)
    trainer.fit(resume=resume)
    if trainer.ranks.main:
        torch.save(model.state_dict(), f"{out}/final.pt")
        json.dump({"valid": [r.valid["total"] for r in trainer.history], "world": trainer.ranks.world},
                  open(f"{out}/history.json", "w"))
''')


def run(tmp_path, name, epochs, processes=1, resume=False):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / name
    out.mkdir(exist_ok=True)
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    done = subprocess.run([*launcher, str(script), str(out), str(epochs), "resume" if resume else "new"],
                          capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    return torch.load(out / "final.pt", weights_only=True), history, out


@pytest.mark.slow
def test_two_gloo_processes_take_the_single_process_steps(tmp_path):
    single, single_history, _ = run(tmp_path, "single", epochs=3)
    double, double_history, out = run(tmp_path, "double", epochs=3, processes=2)
    assert single_history["world"] == 1 and double_history["world"] == 2
    # Tolerance: the shard sums differ from the whole-batch sums only in floating-point rounding (float64).
    for name, value in single.items():
        assert torch.allclose(value, double[name], rtol=1e-9, atol=1e-12), name
    assert np.allclose(single_history["valid"], double_history["valid"], rtol=1e-9)
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "final.pt", "history.json", "last.pt"]

    # Resume: 2 epochs, then continue to 3 from last.pt, both distributed, equals 3 uninterrupted epochs.
    run(tmp_path, "resumed", epochs=2, processes=2)
    resumed, resumed_history, _ = run(tmp_path, "resumed", epochs=3, processes=2, resume=True)
    for name, value in single.items():
        assert torch.allclose(value, resumed[name], rtol=1e-9, atol=1e-12), name
    assert len(resumed_history["valid"]) == 3


def test_a_single_process_is_rank_0_of_1(monkeypatch, make_model, make_dataset):
    from mlip_lab.train import Trainer, energy_force_loss

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    data = make_dataset(["water", "water"])
    trainer = Trainer(make_model(), energy_force_loss(force_weight=10.0), data, data, progress=False)
    assert trainer.ranks == Ranks() and trainer.ranks.main and not trainer.ranks.distributed
    assert Ranks(1, 2).shard(np.arange(7)).tolist() == [1, 3, 5]
