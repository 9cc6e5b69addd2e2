"""A live training dashboard: loss curves, a validation parity plot, hyper-parameter controls, Start / Stop.

The dashboard is a trainer callback (``on_train_begin``, ``on_epoch_end``, ``on_train_end``). Every number it
draws comes from the functions at the top of this module (tested without a browser); the class only moves
those numbers into plotly ``FigureWidget`` traces and ipywidgets.
"""

from __future__ import annotations

import html
import threading
import traceback

import ipywidgets as widgets
import numpy as np
import plotly.colors
import plotly.graph_objects as go

from mlip_lab.errors import MLIPLabError
from mlip_lab.train import ErrorStats, parity_data, predict_dataset
from mlip_lab.viz.live import live_update

# Keyed like the Trainer's arguments (lr, batch_size, max_epochs) and HIPNNConfig's fields, so make_and_fit can
# pass them straight on.
DEFAULT_PARAMS = {"lr": 1e-3, "batch_size": 32, "max_epochs": 100, "n_features": 20, "n_interactions": 2,
                  "tensor_order": 0}


# ---------------------------------------------------------------------------------------------- pure data
def loss_curves(history) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train total": (epochs, values), "valid total": ..., "train energy": ..., ...} from EpochRecords.

    Terms are ordered total first, then as they first appear; an epoch missing a term is left out of that curve.
    """
    terms: list[str] = []
    for record in history:
        for split in (record.train, record.valid):
            terms += [t for t in split if t not in terms]
    terms.sort(key=lambda t: t != "total")  # stable: keeps first-appearance order after "total"
    curves = {}
    for term in terms:
        for name, get in (("train", lambda r: r.train), ("valid", lambda r: r.valid)):
            points = [(r.epoch, get(r)[term]) for r in history if term in (get(r) or {})]
            if points:
                epochs, values = zip(*points)
                curves[f"{name} {term}"] = (np.asarray(epochs), np.asarray(values, dtype=float))
    return curves


def parity_points(model, dataset, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(reference, predicted) for the parity plot over ``dataset``: energies per atom in eV, or the force
    components in eV/Å for force-only data (e.g. coarse-grained force matching)."""
    forces = dataset.energies is None
    predictions = predict_dataset(model, dataset, batch_size=batch_size, forces=forces)
    return parity_data(dataset, predictions, quantity="forces" if forces else "energy", per_atom=True)


def parity_title(reference: np.ndarray, predicted: np.ndarray, quantity: str = "energy") -> str:
    """Title of the parity plot, with the RMSE: energies in meV/atom, forces in eV/Å."""
    rmse = ErrorStats.of(np.asarray(predicted) - np.asarray(reference)).rmse
    if quantity == "forces":
        return f"validation set: force RMSE {rmse:.3f} eV/Å"
    return f"validation set: RMSE {1000 * rmse:.1f} meV/atom"


PARITY_AXES = {"energy": "energy / eV per atom", "forces": "force component / eV/Å"}


def best_record(history):
    """The last record flagged ``is_best`` (the trainer's best so far), or None."""
    best = [r for r in history if r.is_best]
    return best[-1] if best else None


def interrupted_status(trainer) -> str:
    """The status line after Ctrl-C (KeyboardInterrupt) stopped a run: the trainer has already put back the best
    weights (``trainer`` is None when the run was interrupted before training began)."""
    best = best_record(trainer.history) if trainer is not None else None
    return "training interrupted; the best weights are kept" + (f" (best: {epoch_summary(best)})" if best else "")


def epoch_summary(record) -> str:
    """One status line for an epoch: losses (total), learning rate and time."""
    valid = record.valid.get("total") if record.valid else None
    parts = [f"epoch {record.epoch}", f"train {record.train['total']:.4g}"]
    if valid is not None:
        parts.append(f"valid {valid:.4g}{' (best)' if record.is_best else ''}")
    parts += [f"lr {record.lr:.2e}", f"{record.seconds:.2f} s"]
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------- widgets
def _controls(params: dict) -> dict[str, widgets.Widget]:
    """One input widget per hyper-parameter, keyed like DEFAULT_PARAMS."""
    style = {"description_width": "110px"}
    batch_options = sorted({8, 16, 32, 64, 128, int(params["batch_size"])})
    return {
        "lr": widgets.FloatLogSlider(value=params["lr"], base=10, min=-5, max=-1, step=0.25,
                                     description="learning rate", readout_format=".1e", style=style),
        "batch_size": widgets.Dropdown(options=batch_options, value=int(params["batch_size"]),
                                       description="batch size", style=style),
        "max_epochs": widgets.BoundedIntText(value=params["max_epochs"], min=1, max=100_000,
                                             description="max epochs", style=style),
        "n_features": widgets.IntSlider(value=params["n_features"], min=4, max=64, step=2, description="features",
                                        style=style),
        "n_interactions": widgets.IntSlider(value=params["n_interactions"], min=1, max=4,
                                            description="interactions", style=style),
        "tensor_order": widgets.Dropdown(options=[("0 (HIP-NN)", 0), ("1 (HIP-NN-TS)", 1), ("2 (HIP-NN-TS)", 2)],
                                         value=params["tensor_order"], description="tensor order", style=style),
    }


class TrainingDashboard:
    """Live loss curves and parity plot for a trainer, with a control panel.

    Use it as a trainer callback (``Trainer(..., callbacks=(dashboard,))``) and display it. With
    ``make_and_fit(params, dashboard)`` given, the Start button calls it in a background thread (so the kernel
    stays free to handle Stop) with the control-panel values; that function builds the model and a trainer
    that has this dashboard among its callbacks, and fits. Stop calls the running trainer's ``request_stop``.
    params: starting values of the controls, keyed like :data:`DEFAULT_PARAMS` (the Trainer's ``lr``,
    ``batch_size``, ``max_epochs`` and HIPNNConfig's ``n_features``, ``n_interactions``, ``tensor_order``).
    parity_every: refresh the parity plot every this many epochs (and always at the end).
    """

    def __init__(self, make_and_fit=None, params: dict | None = None, parity_every: int = 5):
        self.make_and_fit = make_and_fit
        self.parity_every = max(1, int(parity_every))
        self.trainer = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        unknown = sorted(set(params or {}) - set(DEFAULT_PARAMS))
        if unknown:
            raise MLIPLabError(f"unknown dashboard params {unknown}; use {sorted(DEFAULT_PARAMS)}")
        self.controls = _controls({**DEFAULT_PARAMS, **(params or {})})
        self.loss_figure = go.FigureWidget(layout=dict(
            title="loss", xaxis_title="epoch", yaxis_title="loss", yaxis_type="log", height=340, width=480,
            margin=dict(l=60, r=10, t=40, b=40), legend=dict(font=dict(size=10))))
        self.parity_figure = go.FigureWidget(layout=dict(
            title="validation set", xaxis_title="reference energy / eV per atom",
            yaxis_title="predicted energy / eV per atom", height=340, width=420, margin=dict(l=70, r=10, t=40, b=40),
            yaxis_scaleanchor="x", showlegend=False))  # equal axis scales, so the diagonal is the 45° line
        self.parity_figure.add_scatter(name="ideal", mode="lines", line=dict(color="grey", dash="dot"))
        self.parity_figure.add_scatter(name="validation", mode="markers", marker=dict(size=5, opacity=0.7))
        self.start_button = widgets.Button(description="Start", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.HTML("ready")
        panel = widgets.VBox([*self.controls.values(), widgets.HBox([self.start_button, self.stop_button]),
                              self.status])
        self.widget = widgets.VBox([panel, widgets.HBox([self.loss_figure, self.parity_figure])])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def params(self) -> dict:
        """The control-panel values, keyed like :data:`DEFAULT_PARAMS` (the Trainer's and HIPNNConfig's names)."""
        return {name: control.value for name, control in self.controls.items()}

    # ------------------------------------------------------------------ Start / Stop
    def start(self, background: bool = True) -> None:
        """Call ``make_and_fit(self.params(), self)``, in a daemon thread unless ``background`` is False.

        An error shows in the status line (and is kept in ``self.error``); in the foreground it is raised too,
        so a notebook run top to bottom fails visibly. Ctrl-C (the notebook's interrupt) is a stop, not an
        error: the status line says so and nothing is raised.
        """
        if self.make_and_fit is None:
            self.status.value = "no make_and_fit function was given to this dashboard"
            return
        if self.running:
            return
        self.error, self.trainer = None, None
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "starting..."
        if background:
            self.thread = threading.Thread(target=self._run, args=(self.params(), False), daemon=True)
            self.thread.start()
        else:
            self._run(self.params(), True)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _run(self, params: dict, reraise: bool) -> None:
        try:
            self.make_and_fit(params, self)
        except KeyboardInterrupt:
            # The trainer has restored its best weights and re-raised so scripts stop; here the user asked to stop.
            self.status.value = interrupted_status(self.trainer)
        except Exception as error:  # a thread would swallow it: show it in the status line
            self.error = error
            last = traceback.format_exception_only(error)[-1].strip()
            self.status.value = f"<span style='color:#b00'>training failed: {html.escape(last)}</span>"
            if reraise:
                raise
        finally:
            self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> None:
        """Ask the current trainer to stop (``request_stop``)."""
        if self.trainer is None:
            return
        self.trainer.request_stop()
        self.status.value = "stopping..."

    # ------------------------------------------------------------------ trainer callbacks
    def on_train_begin(self, trainer) -> None:
        self.trainer = trainer
        self.loss_figure.data = ()  # a new run starts new curves
        self._set_parity(np.zeros(0), np.zeros(0), "validation set")
        self.status.value = "training..."

    def on_epoch_end(self, trainer, record) -> None:
        self.update_losses(trainer.history)
        self.status.value = epoch_summary(record)
        if record.epoch % self.parity_every == 0:
            self.update_parity(trainer.model, trainer.valid_set)

    def on_train_end(self, trainer) -> None:
        self.update_losses(trainer.history)
        self.update_parity(trainer.model, trainer.valid_set)
        best = best_record(trainer.history)
        reason = getattr(trainer, "stop_reason", None)  # e.g. "early_stopping", "request_stop"
        done = f"finished after {len(trainer.history)} epochs" + (f" ({reason.replace('_', ' ')})" if reason else "")
        self.status.value = done + (f"; best: {epoch_summary(best)}" if best is not None else "")

    # ------------------------------------------------------------------ figure updates
    def update_losses(self, history) -> None:
        """Redraw every loss curve from ``history`` (adds a trace the first time a curve appears)."""
        curves = loss_curves(history)
        palette = plotly.colors.qualitative.Plotly
        terms = list(dict.fromkeys(name.split(" ", 1)[1] for name in curves))
        existing = {trace.name: trace for trace in self.loss_figure.data}
        with live_update(self.loss_figure):
            for name, (epochs, values) in curves.items():
                if name in existing:
                    existing[name].x, existing[name].y = epochs, values
                    continue
                split, term = name.split(" ", 1)
                color = palette[terms.index(term) % len(palette)]
                self.loss_figure.add_scatter(x=epochs, y=values, name=name, mode="lines",
                                             line=dict(color=color, dash="solid" if split == "train" else "dash"))

    def update_parity(self, model, dataset) -> None:
        """Recompute the validation parity points with the current model and redraw them."""
        if dataset is None:
            return
        reference, predicted = parity_points(model, dataset)
        quantity = "forces" if dataset.energies is None else "energy"
        self._set_parity(reference, predicted, parity_title(reference, predicted, quantity))
        self.parity_figure.layout.xaxis.title.text = f"reference {PARITY_AXES[quantity]}"
        self.parity_figure.layout.yaxis.title.text = f"predicted {PARITY_AXES[quantity]}"

    def _set_parity(self, reference: np.ndarray, predicted: np.ndarray, title: str) -> None:
        both = np.concatenate([reference, predicted])
        ends = [both.min(), both.max()] if both.size else []
        ideal, points = self.parity_figure.data
        with live_update(self.parity_figure):
            ideal.x, ideal.y = ends, ends
            points.x, points.y = reference, predicted
            self.parity_figure.layout.title.text = title
