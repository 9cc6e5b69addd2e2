"""Widgets without a browser: the numbers they draw, the traces they hold, the buttons' effects."""

import re
from dataclasses import dataclass, field

import numpy as np
import pytest
from ase.build import molecule

from mlip_lab import MLIPLabError
from mlip_lab.data import Dataset
from mlip_lab.viz import (
    TrainingDashboard, best_record, color_scheme, colorbar_stops, epoch_summary, face_on, loss_curves,
    molecule_view, parity_points, parity_title, per_atom_colors, value_range,
)

VIRIDIS_ENDS = ("#440154", "#fde725")


# ---------------------------------------------------------------------------------------------- colours
def test_per_atom_colors_map_range_ends_clip_and_mark_nan():
    colors = per_atom_colors([0.0, 1.0, -5.0, 7.0, np.nan, 0.5], vmin=0.0, vmax=1.0, cmap="Viridis")
    assert colors[:4] == [VIRIDIS_ENDS[0], VIRIDIS_ENDS[1], VIRIDIS_ENDS[0], VIRIDIS_ENDS[1]]
    assert colors[4] == "#b0b0b0"
    assert re.fullmatch(r"#[0-9a-f]{6}", colors[5]) and colors[5] not in VIRIDIS_ENDS


def test_per_atom_colors_reject_bad_range_and_scale():
    with pytest.raises(MLIPLabError, match="vmin < vmax"):
        per_atom_colors([1.0], 1.0, 1.0)
    with pytest.raises(MLIPLabError, match="unknown colour scale"):
        per_atom_colors([1.0], 0.0, 2.0, cmap="no-such-scale")


def test_value_range_uses_finite_data_and_never_collapses():
    assert value_range([3.0, np.nan, -1.0]) == (-1.0, 3.0)
    assert value_range([2.0, 2.0]) == (1.5, 2.5)
    assert value_range([0.0, 1.0], vmin=-2.0) == (-2.0, 1.0)
    with pytest.raises(MLIPLabError):
        value_range([0.0], vmin=1.0, vmax=0.0)


def test_colorbar_stops_span_the_range_with_the_same_colours():
    stops = colorbar_stops(-1.0, 1.0, "Viridis", n=5)
    assert [v for v, _ in stops] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert [c for _, c in stops] == per_atom_colors([-1.0, -0.5, 0.0, 0.5, 1.0], -1.0, 1.0, "Viridis")


# ---------------------------------------------------------------------------------------------- molecule view
def _messages(view, method):
    return [m for m in view._ngl_msg_archive if m["methodName"] == method]


def _atom_lines(view):
    (load,) = _messages(view, "loadFile")
    return [line for line in load["args"][0]["data"].splitlines() if line.startswith(("ATOM", "HETATM"))]


def test_molecule_view_colours_each_atom_explicitly():
    atoms = molecule("H2O")
    values = atoms.get_atomic_numbers().astype(float)
    box = molecule_view(atoms, values, label="atomic number")
    view = box.view
    assert len(_atom_lines(view)) == 3
    (rep,) = _messages(view, "addRepresentation")
    expected = per_atom_colors(values, *value_range(values), "Viridis")
    assert box.colors == expected
    assert rep["reconstruc_color_scheme"] and rep["kwargs"]["color"] == color_scheme(expected)
    assert color_scheme(expected) == [[expected[0], "@0"], [expected[1], "@1"], [expected[2], "@2"]]
    colorbar = box.children[1].value
    assert "atomic number" in colorbar and ">8<" in colorbar and ">1<" in colorbar


def test_molecule_view_takes_a_dataset_row_and_its_atomic_energies(make_dataset):
    dataset = make_dataset(["water", "methane"])
    box = molecule_view((dataset, 1))
    assert len(_atom_lines(box.view)) == 5
    atomic = dataset.atomic_energies[1, :5]
    assert box.colors == per_atom_colors(atomic, *value_range(atomic), "Viridis")


def test_molecule_view_without_values_keeps_element_colours_and_draws_force_arrows():
    atoms = molecule("CH4")
    box = molecule_view(atoms, forces=np.ones((5, 3)))
    (rep,) = _messages(box.view, "addRepresentation")
    assert rep["kwargs"]["color"] == "element" and box.colors is None and len(box.children) == 1
    shapes = _messages(box.view, "addShape")
    assert sum(len(m["args"][1]) for m in shapes) == 5


def test_molecule_view_shows_a_flat_molecule_face_on_and_zooms_onto_it():
    benzene = molecule("C6H6")
    benzene.rotate(60, "y")  # tilt the ring out of the screen plane
    box = molecule_view(benzene)
    queued = [callback._method_name for callback in box.view._ngl_displayed_callbacks_before_loaded]
    assert queued[-1] == "autoView"  # sent once the view is shown, after the structure and its colours
    lines = _atom_lines(box.view)
    z = [float(line[46:54]) for line in lines]  # PDB columns 47-54 hold z
    np.testing.assert_allclose(z, 0.0, atol=1e-3)
    assert [line[76:78].strip() for line in lines] == benzene.get_chemical_symbols()  # same atom order


def test_face_on_is_a_proper_rotation_into_the_screen_plane():
    water = molecule("H2O")
    water.rotate(37, "x")
    water.rotate(52, "z")  # tilt the molecule's plane away from every axis
    rotation = face_on(water.positions)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    turned = (water.positions - water.positions.mean(0)) @ rotation
    np.testing.assert_allclose(turned[:, 2], 0.0, atol=1e-12)
    assert np.ptp(turned[:, 0]) >= np.ptp(turned[:, 1])  # widest along x, the viewer's wide side


def test_molecule_view_rejects_wrong_number_of_values():
    with pytest.raises(MLIPLabError, match="3 atoms"):
        molecule_view(molecule("H2O"), [1.0, 2.0])


# ---------------------------------------------------------------------------------------------- training data
@dataclass
class Record:
    """Stand-in for the trainer's EpochRecord (same fields)."""

    epoch: int
    train: dict
    valid: dict
    lr: float = 1e-3
    seconds: float = 0.5
    is_best: bool = False


def records(n=4):
    out = []
    for epoch in range(1, n + 1):
        train = {"total": 1.0 / epoch, "energy": 0.5 / epoch, "forces": 0.2 / epoch}
        valid = {"total": 2.0 / epoch, "energy": 1.0 / epoch}
        out.append(Record(epoch, train, valid, is_best=epoch in (1, 3)))
    return out


def test_loss_curves_per_term_and_split():
    history = records(3)
    curves = loss_curves(history)
    assert list(curves) == ["train total", "valid total", "train energy", "valid energy", "train forces"]
    epochs, values = curves["valid energy"]
    np.testing.assert_array_equal(epochs, [1, 2, 3])
    np.testing.assert_allclose(values, [1.0, 0.5, 1.0 / 3])
    assert loss_curves([]) == {}


def test_loss_curves_skip_epochs_without_a_term():
    history = records(3)
    del history[1].train["forces"]
    epochs, _ = loss_curves(history)["train forces"]
    np.testing.assert_array_equal(epochs, [1, 3])


def test_best_record_and_summary():
    history = records(4)
    assert best_record(history).epoch == 3
    assert best_record([]) is None
    line = epoch_summary(history[2])
    assert "epoch 3" in line and "train 0.3333" in line and "valid 0.6667 (best)" in line and "lr 1.00e-03" in line


# ---------------------------------------------------------------------------------------------- dashboard
@pytest.fixture
def tiny_model(make_model):
    """Factory ``tiny_model()``: an untrained float64 H/C/O HIP-NN for the fake trainer."""
    return lambda: make_model(elements=(1, 6, 8), n_features=4, n_sensitivities=4)


@dataclass
class FakeTrainer:
    """Duck-typed trainer: history, model, valid_set, request_stop, and a fit() that replays records."""

    model: object
    valid_set: object
    callbacks: tuple = ()
    planned: list = field(default_factory=list)
    history: list = field(default_factory=list)
    stop_requests: int = 0
    stop_reason: str | None = None
    interrupt_after: int | None = None  # Ctrl-C after this many epochs, handled as Trainer.fit does

    def request_stop(self):
        self.stop_requests += 1

    def fit(self):
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
            for record in self.planned:
                if len(self.history) == self.interrupt_after:
                    raise KeyboardInterrupt
                self.history.append(record)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, record)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            raise
        finally:
            for cb in self.callbacks:
                cb.on_train_end(self)


def traces(figure):
    return {t.name: (np.asarray(t.x), np.asarray(t.y)) for t in figure.data}


def test_dashboard_updates_loss_traces_each_epoch_and_parity_every_k(make_dataset, tiny_model):
    dataset = make_dataset(["water", "methane", "water"])
    dash = TrainingDashboard(parity_every=2)
    trainer = FakeTrainer(tiny_model(), dataset)
    dash.on_train_begin(trainer)
    for record in records(3):
        trainer.history.append(record)
        dash.on_epoch_end(trainer, record)
        got = traces(dash.loss_figure)
        want = loss_curves(trainer.history)
        assert list(got) == list(want)
        for name, (x, y) in want.items():
            np.testing.assert_array_equal(got[name][0], x)
            np.testing.assert_allclose(got[name][1], y)
        assert dash.status.value == epoch_summary(record)
        parity = traces(dash.parity_figure)["validation"]
        assert len(parity[0]) == (3 if record.epoch >= 2 else 0)  # first refresh at epoch 2
    reference, predicted = parity_points(trainer.model, dataset)
    np.testing.assert_allclose(traces(dash.parity_figure)["validation"][0], reference)
    np.testing.assert_allclose(traces(dash.parity_figure)["validation"][1], predicted)
    assert dash.parity_figure.layout.title.text == parity_title(reference, predicted)
    assert dash.loss_figure.layout.yaxis.type == "log"


def test_dashboard_refreshes_parity_at_the_end_and_restarts_curves(make_dataset, tiny_model):
    dataset = make_dataset(["water", "methane"])
    dash = TrainingDashboard(parity_every=100)
    trainer = FakeTrainer(tiny_model(), dataset, callbacks=(dash,), planned=records(2), stop_reason="early_stopping")
    trainer.fit()
    assert len(traces(dash.parity_figure)["validation"][0]) == 2
    assert "finished after 2 epochs (early stopping); best: epoch 1" in dash.status.value
    second = FakeTrainer(tiny_model(), dataset, callbacks=(dash,), planned=records(1))
    second.fit()
    assert all(len(x) == 1 for x, _ in traces(dash.loss_figure).values())


def test_stop_button_asks_the_trainer_to_stop(make_dataset, tiny_model):
    dash = TrainingDashboard()
    dash.stop_button.click()  # no trainer yet: nothing to stop, no error
    trainer = FakeTrainer(tiny_model(), make_dataset(["water"]))
    dash.on_train_begin(trainer)
    dash.stop_button.click()
    assert trainer.stop_requests == 1


def test_start_button_calls_make_and_fit_with_the_panel_values(make_dataset, tiny_model):
    dataset = make_dataset(["water", "methane"])
    calls = []

    def make_and_fit(params, dashboard):
        calls.append(params)
        FakeTrainer(tiny_model(), dataset, callbacks=(dashboard,), planned=records(params["max_epochs"])).fit()

    dash = TrainingDashboard(make_and_fit, params={"max_epochs": 3})
    dash.controls["tensor_order"].value = 2
    dash.start_button.click()
    dash.thread.join(timeout=60)
    assert calls == [{**dash.params(), "max_epochs": 3, "tensor_order": 2}]
    # named like the Trainer's arguments and HIPNNConfig's fields, so make_and_fit can pass them straight on
    assert set(calls[0]) == {"lr", "batch_size", "max_epochs", "n_features", "n_interactions", "tensor_order"}
    assert len(dash.loss_figure.data[0].x) == 3
    assert dash.error is None and not dash.start_button.disabled and dash.stop_button.disabled


def test_start_reports_a_failing_make_and_fit():
    def make_and_fit(params, dashboard):
        raise MLIPLabError("no data")

    dash = TrainingDashboard(make_and_fit)
    with pytest.raises(MLIPLabError):  # in the foreground the error surfaces (a notebook cell fails)
        dash.start(background=False)
    assert isinstance(dash.error, MLIPLabError) and "no data" in dash.status.value
    assert not dash.start_button.disabled
    dash.start()  # in a thread it can only be shown
    dash.thread.join(timeout=60)
    assert isinstance(dash.error, MLIPLabError) and "no data" in dash.status.value


def test_dashboard_rejects_unknown_params():
    with pytest.raises(MLIPLabError, match=r"unknown dashboard params \['learning_rate'\]; use .*'lr'"):
        TrainingDashboard(params={"learning_rate": 1e-3})


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
def test_ctrl_c_in_make_and_fit_is_a_clean_stop(background):
    def make_and_fit(params, dashboard):
        raise KeyboardInterrupt

    dash = TrainingDashboard(make_and_fit)
    dash.start(background=background)  # no KeyboardInterrupt escapes: no traceback in the notebook
    if background:
        dash.thread.join()
    assert dash.status.value == "training interrupted; the best weights are kept"
    assert dash.error is None and not dash.start_button.disabled and dash.stop_button.disabled


def test_ctrl_c_during_training_reports_the_best_epoch_kept(make_dataset, tiny_model):
    dataset = make_dataset(["water", "methane"])

    def make_and_fit(params, dashboard):
        FakeTrainer(tiny_model(), dataset, callbacks=(dashboard,), planned=records(4), interrupt_after=3).fit()

    dash = TrainingDashboard(make_and_fit)
    dash.start(background=False)
    assert dash.trainer.stop_reason == "interrupted" and len(dash.trainer.history) == 3
    assert dash.status.value == f"training interrupted; the best weights are kept (best: {epoch_summary(records()[2])})"
    assert len(dash.loss_figure.data[0].x) == 3  # the curves up to the interruption stay drawn


def test_dashboard_parity_shows_forces_for_force_only_data(make_dataset, tiny_model):
    """Force-matching data (no energies) get a parity plot of force components, with axes and title to match."""
    with_energies = make_dataset(["water", "methane"])
    forces_only = Dataset(species=with_energies.species, positions=with_energies.positions, forces=with_energies.forces)
    model = tiny_model()
    dash = TrainingDashboard()
    dash.update_parity(model, forces_only)
    reference, predicted = parity_points(model, forces_only)
    assert len(reference) == 3 * int(forces_only.n_atoms.sum())  # every force component of the real atoms
    assert dash.parity_figure.layout.title.text == parity_title(reference, predicted, "forces")
    assert "eV/Å" in dash.parity_figure.layout.title.text
    assert dash.parity_figure.layout.xaxis.title.text == "reference force component / eV/Å"
    dash.update_parity(model, with_energies)
    assert dash.parity_figure.layout.yaxis.title.text == "predicted energy / eV per atom"
