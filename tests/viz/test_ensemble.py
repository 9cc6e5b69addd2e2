"""Distillation figures and the teacher-forces widget draw the library's numbers: the arrows are the chosen
teachers', their mean's and the true forces, the calibration curve is calibration_curve's, and survivors of a
stability run are counted apart from failures."""

import numpy as np
import pytest

from mlip_lab.distill import TimeToFailure, calibration_curve, ensemble_force_labels, hide_forces, spearman
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import Ensemble

viz = pytest.importorskip("mlip_lab.viz")


@pytest.fixture
def molecules(make_dataset):
    return make_dataset(("water", "methane", "water"), categories=["md", "nms", "md"],
                        temperatures=[300.0, np.nan, 600.0])


@pytest.fixture
def labels(make_model, molecules):
    return ensemble_force_labels(Ensemble([make_model((1, 6, 8), seed=s) for s in (1, 2, 3)]), molecules)


def drawn_arrows(view):
    """(start (3,), end (3,), colour [r, g, b], radius) of every arrow NGL was asked to draw."""
    return [args[1][0][1:] for args in (m["args"] for m in view._ngl_msg_archive if m["methodName"] == "addShape")]


def test_teacher_forces_draws_each_chosen_set_of_arrows(molecules, labels):
    widget = viz.TeacherForces(molecules, labels, arrow_scale=0.5, index=1)
    assert widget.options == ("teacher 1", "teacher 2", "teacher 3", "teachers' mean", "true")
    assert widget.index == 1 and widget.shown == widget.options
    assert len(drawn_arrows(widget.view)) == 5 * 5  # methane: five atoms, five sets of arrows
    widget.shown = ["teacher 2", "true"]
    widget.index = 0  # water: three atoms
    arrows = drawn_arrows(widget.view)
    assert len(arrows) == 2 * 3
    # Arrow lengths are the forces' magnitudes times the scale, whatever the molecule's turn on screen.
    lengths = [np.linalg.norm(np.subtract(end, start)) for start, end, _, _ in arrows]
    want = np.concatenate([np.linalg.norm(labels.member_forces[1, 0, :3], axis=-1),
                           np.linalg.norm(molecules.forces[0, :3], axis=-1)])
    assert np.allclose(lengths, 0.5 * want)
    teacher_2 = [int(widget.colors["teacher 2"][k:k + 2], 16) / 255 for k in (1, 3, 5)]
    assert [color for _, _, color, _ in arrows] == [teacher_2] * 3 + [[0.0, 0.0, 0.0]] * 3
    assert np.allclose(widget.forces_of("teachers' mean"), labels.forces[0, :3])


def test_teacher_forces_scales_the_largest_force_to_a_fixed_length(molecules, labels):
    widget = viz.TeacherForces(molecules, labels, index=2)
    longest = max(np.linalg.norm(np.subtract(end, start)) for start, end, _, _ in drawn_arrows(widget.view))
    assert np.isclose(longest, viz.ensemble.LONGEST_ARROW)
    assert "|mean − true|" in widget.summary.value


def test_teacher_forces_without_true_forces_offers_no_truth(molecules, labels):
    widget = viz.TeacherForces(hide_forces(molecules), labels)
    assert "true" not in widget.options and "|mean − true|" not in widget.summary.value


def test_teacher_forces_refuses_mismatched_input(molecules, labels):
    with pytest.raises(MLIPLabError, match="another dataset"):
        viz.TeacherForces(molecules.subset([0, 1]), labels)
    with pytest.raises(MLIPLabError, match="shape"):
        viz.TeacherForces(molecules, labels, true_forces=np.zeros((3, 2, 3)))
    widget = viz.TeacherForces(molecules, labels)
    with pytest.raises(MLIPLabError, match="0..2"):
        widget.index = 3
    with pytest.raises(MLIPLabError, match="choose from"):
        widget.shown = ["teacher 9"]


def test_calibration_figure_draws_the_library_curve():
    rng = np.random.default_rng(0)
    spread = rng.random(200)
    errors = spread * rng.standard_normal(200) * 1.5
    fig = viz.calibration_figure(spread, errors, n_bins=5)
    points, ideal, curve = fig.data
    want = calibration_curve(spread, errors, 5)
    assert np.allclose(curve.x, want.spread_rms) and np.allclose(curve.y, want.observed_rmse)
    assert np.allclose(points.y, np.abs(errors)) and ideal.x[0] == ideal.y[0] == 0
    assert f"{spearman(spread, errors):.2f}" in fig.layout.title.text


def test_time_to_failure_figure_counts_survivors_apart():
    def run(times, failed):
        return TimeToFailure(times=np.array(times), failed=np.array(failed), reasons=np.array([""] * len(times)),
                             configurations=np.arange(len(times)), duration=100.0, temperature=1000.0, timestep=0.5)

    baseline = run([10.0, 12.0, 55.0, 100.0], [True, True, True, False])
    student = run([80.0, 100.0, 100.0, 100.0], [True, False, False, False])
    fig = viz.time_to_failure_figure({"baseline": baseline, "student": student}, n_bins=10)
    failed_b, survived_b, failed_s, survived_s = fig.data
    assert list(failed_b.y) == [0, 2, 0, 0, 0, 1, 0, 0, 0, 0] and list(survived_b.y) == [1]
    assert sum(failed_s.y) == 1 and list(survived_s.y) == [3] and survived_s.x[0] > 100.0
    assert "median 12 fs" in failed_b.name and "median > 100 fs" in failed_s.name
    with pytest.raises(MLIPLabError, match="different lengths"):
        viz.time_to_failure_figure({"a": baseline, "b": TimeToFailure(**{**student.__dict__, "duration": 50.0})})


def test_level_difference_figure_has_one_box_per_group():
    fig = viz.level_difference_figure([1.0, -1.0, 0.5, -0.5, 0.0], ["a", "a", "b", "b", "b"])
    assert [box.name for box in fig.data] == ["a", "b"] and list(fig.data[1].y) == [0.5, -0.5, 0.0]
    with pytest.raises(MLIPLabError, match="one group per value"):
        viz.level_difference_figure([1.0, 2.0], ["a"])
