"""The teacher-student gap widget and the cost views, without a browser."""

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.distill import ModelCost
from mlip_lab.viz import (
    TeacherStudentGap, atomic_energy_gaps, element_offsets, format_comparison, model_cost_figure, per_atom_colors,
)

TEACHER_OFFSET = {1: -13.6, 6: -1030.0, 8: -2040.0}  # eV, roughly each element's atomic energy


@pytest.fixture
def gap_data(make_dataset):
    """(dataset, teacher, {"close": ..., "far": ...}): water, methane, water; the students' gaps are known, in eV."""
    data = make_dataset(("water", "methane", "water"))
    real = data.species > 0
    rng = np.random.default_rng(3)
    teacher = np.where(real, np.vectorize(lambda z: TEACHER_OFFSET.get(z, 0.0))(data.species)
                       + 0.1 * rng.standard_normal(real.shape), 0.0)
    close = teacher + np.where(real, 0.001 * np.arange(real.shape[1]), 0.0)  # 0, 1, 2, ... meV along the atoms
    far = teacher + np.where(real, rng.uniform(-0.2, 0.2, real.shape), 0.0)
    return data, teacher, {"close": close, "far": far}


def test_gaps_are_absolute_differences_in_mev_with_nan_on_padding(gap_data):
    data, teacher, students = gap_data
    gaps = atomic_energy_gaps(teacher, students["close"], data.species)
    assert np.allclose(gaps[1], [0, 1, 2, 3, 4])  # methane fills all five slots
    assert np.allclose(gaps[0, :3], [0, 1, 2]) and np.isnan(gaps[0, 3:]).all()


def test_element_offsets_are_the_teachers_element_means(gap_data):
    data, teacher, _ = gap_data
    offsets = element_offsets(teacher, data.species)
    hydrogens = data.species == 1
    assert np.allclose(offsets[hydrogens], teacher[hydrogens].mean())
    assert np.all(offsets[data.species == 0] == 0)
    assert abs(offsets[data.species == 8][0] - TEACHER_OFFSET[8]) < 0.5


def test_widget_colours_follow_the_gaps_of_the_chosen_configuration_and_student(gap_data):
    data, teacher, students = gap_data
    widget = TeacherStudentGap(data, teacher, students)
    assert widget.index == 0 and widget.student == "close"
    vmax = max(np.nanmax(atomic_energy_gaps(teacher, s, data.species)) for s in students.values())
    assert widget.vmax == pytest.approx(vmax)
    for student in ("close", "far"):
        widget.student = student
        for i in (1, 2):
            widget.index = i
            n = data.n_atoms[i]
            gaps = np.abs(students[student][i, :n] - teacher[i, :n]) * 1000
            assert widget.molecule.colors == per_atom_colors(gaps, 0.0, vmax)
            assert f"configuration {i}" in widget.summary.value and student in widget.summary.value
    widget.student, widget.index = "close", 1
    colors = widget.molecule.colors
    assert colors[0] == per_atom_colors([0.0], 0.0, vmax)[0]  # no gap: the bottom of the scale
    assert len(set(colors)) == 5  # five different gaps, five colours


def test_parity_plot_highlights_the_chosen_atoms(gap_data):
    data, teacher, students = gap_data
    widget = TeacherStudentGap(data, teacher, students)
    offsets = element_offsets(teacher, data.species)
    widget.index = 1
    highlight = widget.parity.data[-1]
    assert np.allclose(highlight.x, teacher[1, :5] - offsets[1, :5])
    assert np.allclose(highlight.y, students["close"][1, :5] - offsets[1, :5])
    assert list(highlight.text) == ["C1", "H2", "H3", "H4", "H5"]
    hydrogen_trace = next(t for t in widget.parity.data if t.name == "H")
    real_h = data.species == 1
    assert np.allclose(hydrogen_trace.y, (students["close"] - offsets)[real_h])
    widget.student = "far"
    assert np.allclose(widget.parity.data[-1].y, students["far"][1, :5] - offsets[1, :5])
    assert np.allclose(hydrogen_trace.y, (students["far"] - offsets)[real_h])


def test_a_single_student_array_gets_a_default_name(gap_data):
    data, teacher, students = gap_data
    widget = TeacherStudentGap(data, teacher, students["far"])
    assert widget.student == "student" and widget.student_chooser.layout.display == "none"


@pytest.mark.parametrize("bad", [3, -1, 1.0, True, "0"])
def test_bad_index_is_refused_and_the_view_stays(gap_data, bad):
    data, teacher, students = gap_data
    widget = TeacherStudentGap(data, teacher, students)
    widget.index = 2
    with pytest.raises(MLIPLabError, match=r"index must be a whole number in 0\.\.2"):
        widget.index = bad
    assert widget.index == 2


def test_bad_inputs_are_refused(gap_data):
    data, teacher, students = gap_data
    with pytest.raises(MLIPLabError, match="no student 'nobody'"):
        TeacherStudentGap(data, teacher, students).student = "nobody"
    with pytest.raises(MLIPLabError, match=r"'far' atomic energies have shape \(3, 4\)"):
        TeacherStudentGap(data, teacher, {**students, "far": students["far"][:, :4]})
    with pytest.raises(MLIPLabError, match="at least one student"):
        TeacherStudentGap(data, teacher, {})
    with pytest.raises(MLIPLabError, match="must be a mlip_lab.data.Dataset"):
        TeacherStudentGap(teacher, teacher, students)


COSTS = {"teacher": ModelCost(100_000, 1000.0, 8 * 2**20), "student": ModelCost(3_000, 2500.0, 2 * 2**20)}
ACCURACY = {"teacher": {"energy_mae": 0.5, "force_mae": 1.2, "atomic_energy_mae": 0.0},
            "student": {"energy_mae": 0.6, "force_mae": 1.3, "atomic_energy_mae": 12.5}}


def test_comparison_table_gives_ratios_to_the_reference():
    lines = format_comparison(ACCURACY, COSTS).splitlines()
    assert "x teacher" in lines[0]
    student = next(line for line in lines if line.startswith("student")).split()
    assert student[1:] == ["0.600", "1.300", "12.5", "3,000", "2500", "2.50", "2.00", "0.25"]
    assert next(line for line in lines if line.startswith("teacher")).split()[-4:] == ["1000", "1.00", "8.00", "1.00"]
    teacher = next(line for line in format_comparison(ACCURACY, COSTS, reference="student").splitlines()
                   if line.startswith("teacher")).split()
    assert teacher[-3:] == ["0.40", "8.00", "4.00"]
    with pytest.raises(MLIPLabError, match="same models"):
        format_comparison({"teacher": ACCURACY["teacher"]}, COSTS)
    with pytest.raises(MLIPLabError, match="no model 'nobody'"):
        format_comparison(ACCURACY, COSTS, reference="nobody")


def test_cost_figure_has_one_bar_panel_per_measure():
    fig = model_cost_figure(COSTS)
    assert [list(bar.y) for bar in fig.data] == [[100_000, 3_000], [1000.0, 2500.0], [8.0, 2.0]]
    with pytest.raises(MLIPLabError, match="at least one model"):
        model_cost_figure({})
