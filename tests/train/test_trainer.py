"""Loss terms and the Trainer on tiny models and a tiny Morse-labelled water/ammonia dataset (float64)."""

import math

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import Dataset
from mlip_lab.data.batch import make_batch
from mlip_lab.models import HIPNN, load_model
from mlip_lab.train import (
    AtomicEnergyLoss, EnergyLoss, ForceLoss, HierarchicalityLoss, L2Loss, Loss, LossTerm, Trainer, energy_force_loss,
    load_checkpoint,
)

F64 = torch.float64
WATER = ([8, 1, 1], [[0.0, 0.0, 0.117], [0.0, 0.757, -0.469], [0.0, -0.757, -0.469]])
AMMONIA = ([7, 1, 1, 1], [[0.0, 0.0, 0.11], [0.938, 0.0, -0.27], [-0.469, 0.812, -0.27], [-0.469, -0.812, -0.27]])
RADIUS = {1: 0.35, 7: 0.68, 8: 0.62}  # Å; the Morse minimum of a pair is at the sum of its radii
OFFSET = {1: -0.5, 7: -2.0, 8: -3.0}  # eV per atom, so that reference energies have something to fit


def morse_labels(species, positions):
    """Energy, per-atom energies and exact forces of E = sum_i offset_i + sum_{i<j} (1 - exp(-2 (r - r0)))^2."""
    r = torch.tensor(positions, dtype=F64, requires_grad=True)
    r0 = torch.tensor([[RADIUS[a] + RADIUS[b] for b in species] for a in species], dtype=F64)
    distances = torch.cdist(r, r) + torch.eye(len(species), dtype=F64)  # keep the diagonal away from r = 0
    pair = (1 - torch.exp(-2.0 * (distances - r0))) ** 2 * (1 - torch.eye(len(species), dtype=F64))
    atomic = torch.tensor([OFFSET[z] for z in species], dtype=F64) + 0.5 * pair.sum(1)
    (gradient,) = torch.autograd.grad(atomic.sum(), r)
    return atomic.sum().item(), atomic.detach().numpy(), -gradient.numpy()


def morse_dataset(n_each=12, seed=0, with_forces=True) -> Dataset:
    """``n_each`` distorted waters and ammonias (padded to 4 atoms) with exact Morse labels."""
    rng = np.random.default_rng(seed)
    m = 2 * n_each
    arrays = dict(species=np.zeros((m, 4), int), positions=np.zeros((m, 4, 3)), energies=np.zeros(m),
                  forces=np.zeros((m, 4, 3)), atomic_energies=np.zeros((m, 4)))
    for i in range(m):
        z, xyz = (WATER, AMMONIA)[i % 2]
        k = len(z)
        positions = np.asarray(xyz) + 0.08 * rng.standard_normal((k, 3))
        energy, atomic, forces = morse_labels(z, positions)
        arrays["species"][i, :k], arrays["positions"][i, :k] = z, positions
        arrays["energies"][i], arrays["atomic_energies"][i, :k], arrays["forces"][i, :k] = energy, atomic, forces
    if not with_forces:
        arrays["forces"] = None
    return Dataset(**arrays, name="morse")


@pytest.fixture(scope="module")
def data():
    train, valid = morse_dataset().split_random((0.75, 0.25), seed=0)
    return train, valid


@pytest.fixture
def tiny_model(make_model):
    """Factory ``tiny_model(seed=0)``: a float64 HIP-NN for H, N, O whose cutoff suits the Morse dataset."""

    def build(seed=0, **overrides):
        return make_model(elements=(1, 7, 8), seed=seed, **{**dict(n_features=6, n_sensitivities=4, cutoff=3.5,
                                                                r_soft_min=0.7, r_soft_max=3.0), **overrides})

    return build


@pytest.fixture
def trainer_for(tiny_model):
    """Factory ``trainer_for(data, model=None, **settings)``: a short, seeded Trainer (a fresh tiny model by default)."""

    def build(data, model=None, **settings):
        train, valid = data
        options = dict(lr=3e-3, batch_size=6, max_epochs=4, seed=0, progress=False)
        options.update(settings)
        loss = options.pop("loss", energy_force_loss(force_weight=2.0))
        return Trainer(model if model is not None else tiny_model(), loss, train, valid, **options)

    return build


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def without_seconds(history):
    return [(r.epoch, r.train, r.valid, r.lr, r.is_best) for r in history]


# ---------------------------------------------------------------------- loss terms
@pytest.fixture
def batch(data):
    """Water (padded from 3 to 4 atoms) and ammonia, so every term sees padding."""
    train, _ = data
    rows = [int(np.flatnonzero(train.n_atoms == 3)[0]), int(np.flatnonzero(train.n_atoms == 4)[0])]
    return make_batch(train, rows, dtype=F64)


def test_each_term_matches_a_hand_computation(data, batch, tiny_model):
    model = tiny_model()
    model.reference_energies.copy_(torch.tensor([-0.4, -2.1, -2.9], dtype=F64))
    out, mask = model.predict(batch), batch.mask.numpy()  # the inference path, not the loss's
    n_atoms = mask.sum(1)
    e_err = out.energy.numpy() - batch.energies.numpy()
    f_err = (out.forces.numpy() - batch.forces.numpy())[mask]  # (K, 3) real atoms only
    a_err = (out.atomic_energies.numpy() - batch.atomic_energies.numpy())[mask]
    layers = out.layer_energies.numpy() ** 2
    hier = np.mean([sum(layers[b, l] / (layers[b, l] + layers[b, l - 1]) for l in range(1, layers.shape[1]))
                    for b in range(len(layers))])
    p = dict(model.named_parameters())
    l2 = sum(float((p[name].detach() ** 2).sum()) for name in (
        "blocks.0.interaction.interaction", "blocks.0.interaction.self_interaction.weight",
        "blocks.0.atom_layers.0.linear.weight", "energy_heads.0.weight", "energy_heads.1.weight",
        "blocks.0.interaction.residual.linear.weight", "blocks.0.interaction.residual.adjust.weight",
        "blocks.0.atom_layers.0.residual.linear.weight"))
    expected = {
        "energy_rmse": math.sqrt(np.mean(e_err**2)),
        "energy_mae": np.mean(np.abs(e_err)),
        "energy_per_atom_rmse": math.sqrt(np.mean((e_err / n_atoms) ** 2)),
        "forces_rmse": math.sqrt(np.mean(f_err**2)),
        "forces_mae": np.mean(np.abs(f_err)),
        "atomic_energies_rmse": math.sqrt(np.mean(a_err**2)),
        "hierarchicality": hier,
        "l2": l2,
    }
    terms = [EnergyLoss(2.0), EnergyLoss(metric="mae"), EnergyLoss(per_atom=True), ForceLoss(3.0),
             ForceLoss(metric="mae"), AtomicEnergyLoss(0.5), HierarchicalityLoss(0.1), L2Loss()]
    total, values = Loss(terms)(model, batch)
    assert set(values) == set(expected)
    for name, value in expected.items():
        assert values[name].item() == pytest.approx(value, rel=1e-10), name
    assert all(v > 0 for v in expected.values())
    weighted = sum(t.weight * expected[t.name] for t in terms)
    assert total.item() == pytest.approx(weighted, rel=1e-10)
    assert L2Loss().weight == 1e-6


def test_padding_is_masked_in_force_and_atomic_energy_terms(batch, tiny_model):
    model = tiny_model()
    loss = Loss([ForceLoss(), AtomicEnergyLoss()])
    _, clean = loss(model, batch)
    assert not batch.mask[0, 3]  # the water row really has a padding atom
    batch.forces[0, 3] = 1e3
    batch.atomic_energies[0, 3] = 1e3
    _, garbage = loss(model, batch)
    assert clean == garbage


def test_loss_runs_the_model_once_and_forces_keep_their_graph_only_when_training(batch, tiny_model):
    model = tiny_model()
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    total, _ = energy_force_loss(force_weight=1.0)(model, batch)
    assert len(calls) == 1
    total.backward()  # needs the double-backward graph through the forces
    assert model.energy_heads[1].weight.grad.abs().sum() > 0
    forces_only = Loss([ForceLoss()])
    assert forces_only(model, batch)[0].requires_grad
    assert not forces_only(model, batch, training=False)[0].requires_grad  # no graph through the forces


class _HVPNorm(LossTerm):
    """Mean square of a Hessian-vector product H v = -d(F . v)/dR: what a later HVP term needs."""

    needs_hessians = True

    def __init__(self):
        super().__init__("hvp_norm")

    def value(self, context):
        v = torch.randn(context.positions.shape, generator=context.generator, dtype=F64)
        (hv,) = torch.autograd.grad(-(context.forces * v).sum(), context.positions, create_graph=True)
        return (hv**2).mean()


def test_a_term_that_differentiates_forces_works_when_only_evaluating(batch, tiny_model):
    model = tiny_model()
    loss = Loss([EnergyLoss(), _HVPNorm()])
    assert loss.needs_forces and loss.needs_hessians
    _, values = loss(model, batch, training=False, generator=torch.Generator().manual_seed(0))
    assert values["hvp_norm"] > 0


def test_missing_reference_data_names_the_term_and_the_field(data, tiny_model):
    no_forces = morse_dataset(n_each=2, with_forces=False)
    loss = energy_force_loss(force_weight=1.0)
    with pytest.raises(MLIPLabError, match="'forces_rmse' needs reference forces.*batch"):
        loss(tiny_model(), make_batch(no_forces, [0, 1], dtype=F64))
    with pytest.raises(MLIPLabError, match="'forces_rmse' needs reference forces.*training set"):
        Trainer(tiny_model(), loss, no_forces, data[1], progress=False)
    Loss([EnergyLoss()])(tiny_model(), make_batch(no_forces, [0, 1], dtype=F64))  # energies alone are fine


def test_energy_force_loss_counts_each_error_as_rmse_plus_mae_by_default(batch, tiny_model):
    model = tiny_model()
    total, values = energy_force_loss(force_weight=3.0)(model, batch)
    assert sorted(values) == ["energy_mae", "energy_rmse", "forces_mae", "forces_rmse"]
    expected = values["energy_rmse"] + values["energy_mae"] + 3.0 * (values["forces_rmse"] + values["forces_mae"])
    torch.testing.assert_close(total.detach(), expected)
    for metric in ("rmse", "mae"):
        _, alone = energy_force_loss(force_weight=3.0, metric=metric)(model, batch)
        assert sorted(alone) == [f"energy_{metric}", f"forces_{metric}"]
        torch.testing.assert_close(alone[f"forces_{metric}"], values[f"forces_{metric}"])
    with pytest.raises(MLIPLabError, match="rmse\\+mae"):
        energy_force_loss(force_weight=3.0, metric="mse")


def test_bad_loss_definitions_are_refused():
    with pytest.raises(MLIPLabError, match="unique"):
        Loss([EnergyLoss(), EnergyLoss()])
    with pytest.raises(MLIPLabError, match="metric"):
        ForceLoss(metric="mse")
    with pytest.raises(MLIPLabError, match="at least one"):
        Loss([])
    with pytest.raises(MLIPLabError, match="reserved"):
        Loss([EnergyLoss(name="total")])
    assert Loss([EnergyLoss(), EnergyLoss(name="energy_again")]).names == ["energy_rmse", "energy_again"]


# ---------------------------------------------------------------------- trainer
def test_training_lowers_the_loss_and_ends_on_the_best_weights(data, trainer_for):
    trainer = trainer_for(data, max_epochs=12, lr=1e-2)
    assert trainer.optimizer.defaults["fused"]  # one kernel for all parameters on CPU (and CUDA)
    history = trainer.fit()
    assert len(history) == 12 and trainer.stop_reason == "max_epochs"
    assert history[-1].valid["total"] < 0.5 * history[0].valid["total"]
    assert history[-1].train["total"] < 0.5 * history[0].train["total"]
    assert set(history[0].train) == {"energy_rmse", "energy_mae", "forces_rmse", "forces_mae", "total"}
    best = min(history, key=lambda r: r.valid["total"])
    assert trainer.best_epoch == best.epoch and trainer.best_valid_loss == best.valid["total"]
    assert [r.is_best for r in history].count(True) >= 2
    # The final weights reproduce the best validation loss.
    assert trainer._evaluate(trainer.valid_set)["total"] == pytest.approx(best.valid["total"], rel=1e-12)


def test_reference_energies_are_fitted_only_when_unset(data, tiny_model, trainer_for):
    trainer = trainer_for(data, max_epochs=0)
    trainer.fit()
    expected = tiny_model().fit_reference_energies(data[0].species, data[0].energies)
    assert torch.allclose(trainer.model.reference_energies, expected)
    chosen = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    model = tiny_model()
    model.reference_energies.copy_(chosen)
    trainer_for(data, model=model, max_epochs=0).fit()
    assert torch.equal(model.reference_energies, chosen)


def test_same_seed_gives_the_same_history_and_another_seed_does_not(data, trainer_for):
    runs = [trainer_for(data, seed=seed, max_epochs=3) for seed in (7, 7, 8)]
    histories = [without_seconds(t.fit()) for t in runs]
    assert histories[0] == histories[1]
    assert same_state(runs[0].model.state_dict(), runs[1].model.state_dict())
    assert histories[0] != histories[2]


def test_early_stopping_stops_when_validation_stops_improving(data, trainer_for):
    # lr = 0 freezes the weights, so the validation loss never improves after the first epoch.
    trainer = trainer_for(data, lr=0.0, early_stopping_patience=3, max_epochs=50)
    history = trainer.fit()
    assert len(history) == 4 and trainer.stop_reason == "early_stopping"
    assert trainer.best_epoch == 1


def test_learning_rate_is_reduced_on_plateau(data, trainer_for, tiny_model):
    # A learning rate this small changes the validation loss of the plain stack by far less than the plateau
    # threshold (the residual one still improves by more than 1e-4 relative at 1e-6).
    trainer = trainer_for(data, model=tiny_model(residual=False), lr=1e-6, lr_patience=1, lr_factor=0.1,
                          min_lr=1e-8, max_epochs=8)
    lrs = [r.lr for r in trainer.fit()]
    assert lrs == pytest.approx([1e-6, 1e-6, 1e-6, 1e-7, 1e-7, 1e-8, 1e-8, 1e-8], rel=1e-12)


def test_cosine_schedule_lowers_the_rate_along_half_a_cosine_to_min_lr(data, trainer_for):
    trainer = trainer_for(data, lr=1e-3, min_lr=1e-5, lr_schedule="cosine", max_epochs=4)
    lrs = [r.lr for r in trainer.fit()]
    expected = [1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)


def test_cosine_schedule_resumes_exactly(data, tmp_path, tiny_model, trainer_for):
    settings = dict(lr=2e-2, lr_schedule="cosine", seed=3, max_epochs=5)
    straight = trainer_for(data, **settings)
    straight.fit()
    trainer_for(data, checkpoint_dir=tmp_path, **settings).fit(max_epochs=3)
    resumed = trainer_for(data, model=tiny_model(seed=9), checkpoint_dir=tmp_path, **settings)
    resumed.fit(resume=True)
    assert without_seconds(resumed.history) == without_seconds(straight.history)


def test_unknown_lr_schedule_is_a_clear_error(data, trainer_for):
    with pytest.raises(MLIPLabError, match="lr_schedule must be 'plateau' or 'cosine'"):
        trainer_for(data, lr_schedule="linear")


class StopAt:
    """Calls ``request_stop`` (or raises ``KeyboardInterrupt``) at batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch, interrupt=False):
        self.epoch, self.batch, self.interrupt = epoch, batch, interrupt
        self.batches_seen, self.best_states, self.ended = 0, {}, False

    def on_batch_end(self, trainer, batch_index):
        self.batches_seen += 1
        if len(trainer.history) + 1 == self.epoch and batch_index == self.batch:
            self.epoch = None  # once only
            if self.interrupt:
                raise KeyboardInterrupt
            trainer.request_stop()

    def on_epoch_end(self, trainer, record):
        if record.is_best:
            self.best_states[record.epoch] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    def on_train_end(self, trainer):
        self.ended = True


def test_request_stop_from_a_callback_stops_after_the_current_batch(data, trainer_for):
    stopper = StopAt(epoch=3, batch=1)
    trainer = trainer_for(data, callbacks=[stopper], max_epochs=10)
    batches_per_epoch = math.ceil(len(data[0]) / 6)
    history = trainer.fit()
    assert stopper.batches_seen == 2 * batches_per_epoch + 2
    assert len(history) == 2 and trainer.stop_reason == "request_stop" and stopper.ended
    assert same_state(trainer.model.state_dict(), stopper.best_states[trainer.best_epoch])
    trainer.fit(max_epochs=3)  # a new fit starts with the stop request cleared
    assert len(trainer.history) == 3


def test_keyboard_interrupt_keeps_the_best_weights_and_reaches_the_caller(data, tmp_path, trainer_for):
    stopper = StopAt(epoch=4, batch=2, interrupt=True)
    trainer = trainer_for(data, callbacks=[stopper], max_epochs=10, checkpoint_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):  # a script looping over runs must be stoppable
        trainer.fit()
    history = trainer.history
    assert len(history) == 3 and trainer.stop_reason == "interrupted" and stopper.ended
    assert same_state(trainer.model.state_dict(), stopper.best_states[trainer.best_epoch])
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 3  # the unfinished epoch was not checkpointed


def test_best_checkpoint_holds_the_best_epochs_weights(data, tmp_path, trainer_for):
    recorder = StopAt(epoch=0, batch=0)  # never stops; records the weights of every best epoch
    trainer = trainer_for(data, callbacks=[recorder], max_epochs=5, lr=2e-2, checkpoint_dir=tmp_path)
    trainer.fit()
    best = load_model(tmp_path / "best.pt")
    assert isinstance(best, HIPNN) and best.reference_energies.dtype == F64
    assert same_state(best.state_dict(), recorder.best_states[trainer.best_epoch])
    assert same_state(best.state_dict(), trainer.model.state_dict())


def test_last_checkpoint_is_plain_data(data, tmp_path, trainer_for):
    trainer_for(data, max_epochs=2, checkpoint_dir=tmp_path).fit()
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and [r["epoch"] for r in state["history"]] == [1, 2]
    assert {"model", "best_model", "optimizer", "scheduler", "rng"} <= set(state)
    assert isinstance(state["history"][0]["valid"]["total"], float)


def test_resuming_from_last_checkpoint_equals_an_uninterrupted_run(data, tmp_path, tiny_model, trainer_for):
    settings = dict(lr=2e-2, lr_patience=1, lr_factor=0.5, seed=3)
    # The plain stack's validation loss goes up and down at this learning rate, so best and last weights differ.
    straight = trainer_for(data, model=tiny_model(residual=False), max_epochs=6, **settings)
    straight.fit()
    first = trainer_for(data, model=tiny_model(residual=False), max_epochs=4, checkpoint_dir=tmp_path, **settings)
    first.fit()
    assert first.best_epoch < 4  # so the best weights differ from the last ones in last.pt
    # Fresh trainers around a differently initialised model, as after a kernel restart.
    no_new_epochs = trainer_for(data, model=tiny_model(seed=9, residual=False), checkpoint_dir=tmp_path, **settings)
    no_new_epochs.fit(max_epochs=4, resume=True)
    assert same_state(no_new_epochs.model.state_dict(), first.model.state_dict())  # the best weights came back
    resumed = trainer_for(data, model=tiny_model(seed=9, residual=False), max_epochs=6, checkpoint_dir=tmp_path,
                          **settings)
    resumed.fit(resume=True)
    assert without_seconds(resumed.history) == without_seconds(straight.history)
    assert same_state(resumed.model.state_dict(), straight.model.state_dict())
    assert (resumed.best_epoch, resumed.best_valid_loss) == (straight.best_epoch, straight.best_valid_loss)


def test_resume_without_a_checkpoint_is_a_clear_error(data, tmp_path, trainer_for):
    with pytest.raises(MLIPLabError, match="checkpoint_dir"):
        trainer_for(data).fit(resume=True)
    with pytest.raises(MLIPLabError, match="no training checkpoint"):
        trainer_for(data, checkpoint_dir=tmp_path).fit(resume=True)


def test_device_given_as_a_string(data, trainer_for):
    trainer = trainer_for(data, device="cpu", max_epochs=1, progress=True)
    assert isinstance(trainer.device, torch.device) and trainer.device.type == "cpu"
    assert trainer_for(data).device == next(trainer.model.parameters()).device  # default: the model's device
    assert len(trainer.fit()) == 1
    assert all(p.device.type == "cpu" for p in trainer.model.parameters())


@pytest.mark.parametrize("setting", [dict(lr=-1.0), dict(batch_size=0), dict(lr_factor=1.0),
                                     dict(early_stopping_patience=0)])
def test_bad_settings_are_refused(data, setting, trainer_for):
    with pytest.raises(MLIPLabError, match=next(iter(setting))):
        trainer_for(data, **setting)
