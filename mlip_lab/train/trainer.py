"""The Trainer: Adam, learning-rate reduction on plateau, early stopping, checkpoints and resumption."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau
from tqdm.auto import tqdm

from mlip_lab.data.batch import make_batch
from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, device_and_dtype, fit_reference_energies, reference_energies_unset
from mlip_lab.train.checkpoints import load_checkpoint, save_best_model, save_checkpoint
from mlip_lab.train.distributed import (
    Ranks, agree, any_rank, combine_gradients, join_process_group, same_start, sum_over_ranks,
)
from mlip_lab.train.losses import Loss


@dataclass
class EpochRecord:
    """What one epoch did.

    train, valid: {term name: unweighted value, "total": weighted sum}, each the mean over that set's
    batches weighted by their number of configurations. lr: the learning rate used during the epoch.
    seconds: wall time of the epoch (training and validation). is_best: the validation total is the lowest so far.
    """

    epoch: int
    train: dict[str, float]
    valid: dict[str, float]
    lr: float
    seconds: float
    is_best: bool


class Trainer:
    """Trains any ``model`` that follows the model contract (a HIPNN, an Ensemble, ...) by minimising ``loss`` on ``train_set``, selecting weights on ``valid_set``.

    Adam with learning rate ``lr``. ``lr_schedule="plateau"`` multiplies the rate by ``lr_factor`` (not below
    ``min_lr``) when the validation total has not improved for ``lr_patience`` epochs; ``"cosine"`` lowers
    it along half a cosine from ``lr`` to ``min_lr`` at ``max_epochs``, which suits a fixed epoch budget
    (a run that is still improving never triggers the plateau rule). Training stops when the validation
    total has not improved for ``early_stopping_patience`` epochs. ``seed`` drives every random choice (batch order and
    the random numbers loss terms draw from ``LossContext.generator``), so the same seed on the same
    device gives the same history. ``device`` (a torch.device or a string such as "cuda") defaults to the
    model's device; batches use the model's dtype.

    ``fit_reference_energies`` (default True): before the first epoch of a new run, fit the model's
    per-element reference energies on the training set by least squares over composition
    (:func:`mlip_lab.models.fit_reference_energies`), so the network only learns what composition cannot
    explain. It applies to model kinds that have reference energies and only while they are unfitted (all
    zero), so a trained model being fine-tuned keeps its own; pass False to skip it.

    With ``checkpoint_dir``, ``best.pt`` (a model file for :func:`mlip_lab.models.load_model`) is written
    whenever the validation loss improves, and ``last.pt`` (the full trainer state, see
    :meth:`state_dict`) after every epoch; ``fit(resume=True)`` continues from ``last.pt``.

    ``callbacks``: objects with any of the methods ``on_train_begin(trainer)``,
    ``on_batch_end(trainer, batch_index)``, ``on_epoch_end(trainer, record)`` and ``on_train_end(trainer)``;
    any of them may call :meth:`request_stop`. ``progress`` shows a progress bar over epochs.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the same Trainer trains data-parallel: see
    :mod:`mlip_lab.train.distributed`; ``ranks`` says which process this is.

    After :meth:`fit`: ``history`` (list of :class:`EpochRecord`), ``best_epoch`` (0 = the starting weights),
    ``best_valid_loss``, and ``stop_reason`` ("max_epochs", "early_stopping", "request_stop" or "interrupted").
    """

    def __init__(self, model, loss: Loss, train_set: Dataset, valid_set: Dataset, *, lr: float = 1e-3,
                 batch_size: int = 32, max_epochs: int = 100, early_stopping_patience: int = 20,
                 lr_patience: int = 5, lr_factor: float = 0.5, min_lr: float = 1e-5, lr_schedule: str = "plateau",
                 seed: int = 0, device=None, fit_reference_energies: bool = True,
                 checkpoint_dir=None, callbacks=(), progress: bool = True):
        check_model(model, "the Trainer")
        if not isinstance(loss, Loss):
            raise MLIPLabError(f"loss must be a mlip_lab.train.Loss, got {type(loss).__name__}")
        for name, data in (("training set", train_set), ("validation set", valid_set)):
            if not isinstance(data, Dataset):
                raise MLIPLabError(f"the {name} must be a mlip_lab.data.Dataset, got {type(data).__name__}")
            loss.check(data, f"the {name} ({data.name or 'unnamed'})")
        _check_settings(lr=lr, batch_size=batch_size, max_epochs=max_epochs, lr_factor=lr_factor,
                        min_lr=min_lr, lr_patience=lr_patience, early_stopping_patience=early_stopping_patience)
        model_device, self.dtype = device_and_dtype(model)
        self.device = model_device if device is None else torch.device(device)
        self.fit_reference_energies = bool(fit_reference_energies)
        self.ranks, self.device = join_process_group(self.device)
        self.model = model.to(self.device)
        self.loss = loss
        self.train_set, self.valid_set = train_set, valid_set
        self.batch_size, self.max_epochs = int(batch_size), int(max_epochs)
        self.early_stopping_patience = int(early_stopping_patience)
        # The fused kernel updates every parameter in one call: small models spend much of a step in the per-tensor
        # Adam loop otherwise (order-0 HIP-NN on organics: about 15 % faster steps on one CPU thread).
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr,
                                          fused=self.device.type in ("cpu", "cuda") or None)
        if lr_schedule == "plateau":
            self.scheduler = ReduceLROnPlateau(self.optimizer, factor=lr_factor, patience=lr_patience, min_lr=min_lr)
        elif lr_schedule == "cosine":
            self.scheduler = CosineAnnealingLR(self.optimizer, T_max=max(int(max_epochs), 1), eta_min=min_lr)
        else:
            raise MLIPLabError(f"lr_schedule must be 'plateau' or 'cosine', got {lr_schedule!r}")
        # One CPU stream for all randomness, so its state alone makes a resumed run repeat the original.
        self.generator = torch.Generator().manual_seed(int(seed))
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.callbacks = list(callbacks)
        self.progress = progress and self.ranks.main
        self.history: list[EpochRecord] = []
        self.best_epoch = 0
        self.best_valid_loss = math.inf
        self.stop_reason: str | None = None
        self._best_state: dict | None = None
        self._stop_requested = False

    # ------------------------------------------------------------------ public API
    def fit(self, max_epochs: int | None = None, resume: bool = False) -> list[EpochRecord]:
        """Train until ``max_epochs`` epochs in total (default: the constructor's), early stopping or a stop.

        A new run first fits the reference energies if the ``fit_reference_energies`` option says so.
        ``resume=True`` first loads ``checkpoint_dir/last.pt`` (weights, optimizer,
        scheduler, history, random state); the same seed then gives the same result as an uninterrupted run.
        Calling ``fit`` again on the same trainer continues from the model's current (best) weights.

        :meth:`request_stop` ends training after the current batch; the unfinished epoch is dropped (not
        validated, recorded or checkpointed). Ctrl-C (KeyboardInterrupt) drops the unfinished epoch too,
        sets ``stop_reason = "interrupted"``, tells the callbacks ``on_train_end`` and re-raises, so a
        script looping over runs stops; a caller that owns a Stop button (the dashboard) catches it. In
        every case the model ends up holding the weights of the best epoch. Returns :attr:`history`.
        """
        max_epochs = self.max_epochs if max_epochs is None else int(max_epochs)
        if resume:
            self.load_state_dict(load_checkpoint(self._checkpoint_path("last.pt")))
        elif (self.fit_reference_energies and not self.history and self.train_set.energies is not None
              and reference_energies_unset(self.model)):
            fit_reference_energies(self.model, self.train_set.species, self.train_set.energies)
        same_start(self.model, self.ranks)
        if self._best_state is None:  # nothing validated yet: the starting weights are the best known
            self._best_state = self._snapshot()
        self._stop_requested = False
        self.stop_reason = "max_epochs"
        bar = tqdm(total=max_epochs, initial=len(self.history), desc="training", unit="epoch",
                   disable=not self.progress)
        self._notify("on_train_begin")
        try:
            for epoch in range(len(self.history) + 1, max_epochs + 1):
                reason = self._run_epoch(epoch, bar)
                if reason:
                    self.stop_reason = reason
                    break
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            raise
        finally:
            bar.close()
            self.model.load_state_dict(self._best_state)
            self._notify("on_train_end")
        return self.history

    def request_stop(self) -> None:
        """Ask :meth:`fit` to stop after the current batch (e.g. from a notebook button or a callback)."""
        self._stop_requested = True

    def state_dict(self) -> dict:
        """The full training state as plain data (what ``last.pt`` holds).

        Keys: epoch, model and best_model (state dicts), optimizer, scheduler (their state dicts),
        history (list of dicts), best_epoch, best_valid_loss, rng (the generator state).
        """
        return {
            "epoch": len(self.history),
            "model": self.model.state_dict(),
            "best_model": self._best_state,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": [asdict(record) for record in self.history],
            "best_epoch": self.best_epoch,
            "best_valid_loss": self.best_valid_loss,
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned; the model must have the same architecture."""
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise MLIPLabError(f"the checkpoint does not fit this model: {exc}") from exc
        self._best_state = state["best_model"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = [EpochRecord(**record) for record in state["history"]]
        self.best_epoch = state["best_epoch"]
        self.best_valid_loss = state["best_valid_loss"]
        self.generator.set_state(state["rng"])

    # ------------------------------------------------------------------ one epoch
    def _run_epoch(self, epoch: int, bar) -> str | None:
        """Train, validate, record and checkpoint one epoch; returns why training should stop, or None."""
        start = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        train = self._train_epoch()
        if train is None:
            return "request_stop"
        valid = self._evaluate(self.valid_set)
        is_best = valid["total"] < self.best_valid_loss
        if is_best:
            self.best_epoch, self.best_valid_loss = epoch, valid["total"]
            self._best_state = self._snapshot()
            if self.checkpoint_dir is not None and self.ranks.main:
                save_best_model(self.model, self._checkpoint_path("best.pt"))
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(valid["total"])
        else:
            self.scheduler.step()
        record = EpochRecord(epoch, train, valid, lr, time.perf_counter() - start, is_best)
        self.history.append(record)
        if self.checkpoint_dir is not None and self.ranks.main:
            save_checkpoint(self.state_dict(), self._checkpoint_path("last.pt"))
        bar.set_postfix(train=f"{train['total']:.4g}", valid=f"{valid['total']:.4g}", lr=f"{lr:.2g}", refresh=False)
        bar.update()
        self._notify("on_epoch_end", record)
        if self._stop_requested:
            return "request_stop"
        if epoch - self.best_epoch >= self.early_stopping_patience:
            return "early_stopping"
        return None

    def _train_epoch(self) -> dict[str, float] | None:
        """One pass over shuffled training batches; None if a stop was requested part-way.

        Distributed (see :mod:`mlip_lab.train.distributed`), every rank walks the same global batches and computes
        the loss on its shard of each; the shards' gradients are combined before the step."""
        self.model.train()
        totals = _Means(self.loss, self.ranks)
        order_seed = agree(int(torch.randint(2**62, (), generator=self.generator)), self.ranks)
        for index, (rows, mine) in enumerate(self._batches(self.train_set, order_seed)):
            self.optimizer.zero_grad(set_to_none=True)
            if len(mine):
                batch = make_batch(self.train_set, mine, device=self.device, dtype=self.dtype)
                total, values = self.loss(self.model, batch, generator=self.generator)
                total.backward()
                totals.add(total, values, len(mine))
            combine_gradients(self.model.parameters(), len(mine) / len(rows), self.ranks)
            self.optimizer.step()
            self._notify("on_batch_end", index)
            if any_rank(self._stop_requested, self.ranks):
                self._stop_requested = True
                return None
        return totals.result()

    def _evaluate(self, dataset: Dataset) -> dict[str, float]:
        self.model.eval()
        totals = _Means(self.loss, self.ranks)
        for _, mine in self._batches(dataset):
            if len(mine):
                batch = make_batch(dataset, mine, device=self.device, dtype=self.dtype)
                total, values = self.loss(self.model, batch, training=False, generator=self.generator)
                totals.add(total, values, len(mine))
        return totals.result()

    def _batches(self, dataset: Dataset, shuffle_seed: int | None = None):
        """(rows of the global batch, this rank's rows of it) for each batch of ``Dataset.batch_rows`` (shuffled
        with ``shuffle_seed``, or in order)."""
        for rows in dataset.batch_rows(self.batch_size, shuffle=shuffle_seed is not None, seed=shuffle_seed or 0):
            yield rows, self.ranks.shard(rows)

    # ------------------------------------------------------------------ helpers
    def _snapshot(self) -> dict:
        return {name: tensor.detach().clone() for name, tensor in self.model.state_dict().items()}

    def _notify(self, event: str, *args) -> None:
        if not self.ranks.main:  # callbacks (dashboards, loggers) belong to rank 0
            return
        for callback in self.callbacks:
            method = getattr(callback, event, None)
            if method is not None:
                method(self, *args)

    def _checkpoint_path(self, name: str) -> Path:
        if self.checkpoint_dir is None:
            raise MLIPLabError("resuming needs the checkpoint_dir the earlier run wrote to; pass checkpoint_dir=...")
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return self.checkpoint_dir / name


class _Means:
    """Configuration-weighted means of the loss values over the batches of one pass (over every rank's shards)."""

    def __init__(self, loss: Loss, ranks: Ranks):
        # Every key from the start, so ranks that saw no batch still join the same sums.
        self.sums: dict[str, torch.Tensor | float] = {name: 0.0 for name in [t.name for t in loss.terms] + ["total"]}
        self.count = 0
        self.ranks = ranks

    def add(self, total: torch.Tensor, values: dict[str, torch.Tensor], n: int) -> None:
        # Summing device tensors and converting once per epoch avoids a GPU sync after every batch.
        for name, value in {**values, "total": total.detach()}.items():
            self.sums[name] = self.sums[name] + value * n
        self.count += n

    def result(self) -> dict[str, float]:
        sums = sum_over_ranks({**self.sums, " count": self.count}, self.ranks)
        count = float(sums.pop(" count"))
        return {name: float(total) / count for name, total in sums.items()}


def _check_settings(**settings) -> None:
    rules = {
        "lr": (lambda v: v >= 0, "be >= 0"),
        "batch_size": (lambda v: v >= 1, "be at least 1"),
        "max_epochs": (lambda v: v >= 0, "be >= 0"),
        "lr_factor": (lambda v: 0 < v < 1, "lie strictly between 0 and 1"),
        "min_lr": (lambda v: v >= 0, "be >= 0"),
        "lr_patience": (lambda v: v >= 0, "be >= 0"),
        "early_stopping_patience": (lambda v: v >= 1, "be at least 1"),
    }
    for name, value in settings.items():
        ok, rule = rules[name]
        if not ok(value):
            raise MLIPLabError(f"{name} must {rule}, got {value}")
