"""Running a notebook as a student's "Run All" does: picked by name, quick mode and output folder passed to the
kernel, widget state kept, the stored file untouched, and failures named."""

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from mlip_lab.errors import MLIPLabError
from mlip_lab.lessons.notebook_run import (
    _seconds_left, course_notebooks, executed_mode, kernel_environment, run_notebook,
)
from mlip_lab.settings import OUTPUT_ENV, QUICK_ENV

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks_dir(tmp_path):
    for stem in ("01_first", "00_setup", "02_second"):
        write_notebook(tmp_path / f"{stem}.ipynb", "1")
    (tmp_path / "notes.md").write_text("not a notebook")
    return tmp_path


def test_course_notebooks_are_in_course_order(notebooks_dir):
    assert [p.name for p in course_notebooks(notebooks_dir)] == ["00_setup.ipynb", "01_first.ipynb", "02_second.ipynb"]


def test_course_notebooks_picks_by_stem_file_name_or_path_in_the_order_given(notebooks_dir):
    picked = course_notebooks(notebooks_dir, ["02_second", "00_setup.ipynb", str(notebooks_dir / "01_first.ipynb")])
    assert [p.stem for p in picked] == ["02_second", "00_setup", "01_first"]


def test_course_notebooks_names_unknown_notebooks_and_the_choices(notebooks_dir):
    with pytest.raises(MLIPLabError, match="no notebook 03_missing in .*; choose from 00_setup, 01_first, 02_second"):
        course_notebooks(notebooks_dir, ["00_setup", "03_missing"])


def test_course_notebooks_says_where_it_looked_when_there_are_none(tmp_path):
    with pytest.raises(MLIPLabError, match=r"no notebooks \(\*\.ipynb\) in .*run from the repository root"):
        course_notebooks(tmp_path)


def test_kernel_environment_switches_quick_mode_and_sets_the_output_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(QUICK_ENV, "1")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    full = kernel_environment(False, tmp_path)
    assert QUICK_ENV not in full and full[OUTPUT_ENV] == str(tmp_path) and full["SOMETHING_ELSE"] == "kept"
    monkeypatch.delenv(QUICK_ENV)
    assert kernel_environment(True, tmp_path)[QUICK_ENV] == "1"


def test_seconds_left_never_reaches_nbclients_no_limit_value():
    assert _seconds_left(0.0) == 1  # long past: the next cell times out at once instead of running unbounded


@pytest.mark.slow
def test_run_notebook_passes_the_mode_keeps_widget_state_and_leaves_the_file_alone(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb",
                          "import os\nprint(os.environ.get('MLIP_LAB_QUICK'), os.environ['MLIP_LAB_OUTPUT_DIR'])",
                          "import ipywidgets\nipywidgets.IntSlider(value=7)")
    stored = path.read_bytes()
    nb = run_notebook(path, quick=True, output_dir=tmp_path / "runs", timeout=120)
    assert nb.cells[0].outputs[0]["text"] == f"1 {tmp_path / 'runs'}\n"
    states = nb.metadata["widgets"][WIDGET_STATE]["state"].values()
    assert any(s["model_name"] == "IntSliderModel" and s["state"]["value"] == 7 for s in states)
    assert executed_mode(nb, "nb.ipynb") is True  # recorded, so the pages can be exported later
    assert path.read_bytes() == stored


def test_executed_mode_refuses_a_notebook_mlip_lab_did_not_run():
    for metadata in ({}, {"mlip_lab": {"quick": "yes"}}):
        nb = nbformat.v4.new_notebook(metadata=metadata)
        with pytest.raises(MLIPLabError, match="01_x.ipynb was not executed by MLIP Lab"):
            executed_mode(nb, "01_x.ipynb")
    assert executed_mode(nbformat.v4.new_notebook(metadata={"mlip_lab": {"quick": False}}), "01_x.ipynb") is False


@pytest.mark.slow
def test_run_notebook_raises_with_the_error_name(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "1", "raise KeyError('x')")
    with pytest.raises(CellExecutionError) as caught:
        run_notebook(path, quick=True, output_dir=tmp_path, timeout=120)
    assert caught.value.ename == "KeyError"


@pytest.mark.slow
def test_run_notebook_timeout_covers_the_whole_notebook(tmp_path):
    # Each cell alone is shorter than the limit; together they are not.
    path = write_notebook(tmp_path / "nb.ipynb", *["import time\ntime.sleep(3)"] * 4)
    with pytest.raises(CellTimeoutError):
        run_notebook(path, quick=True, output_dir=tmp_path, timeout=7)
