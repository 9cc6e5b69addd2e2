"""Every notebook in notebooks/ is stored without outputs and runs top to bottom in quick mode; every exercise
checker rejects the blank answer, and accepts the reference solution once ``MLIP_LAB_SOLUTIONS`` is switched on
in the same kernel."""

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

from mlip_lab.exercises import SOLUTIONS

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
SWITCH_ON = 'import os\nos.environ["MLIP_LAB_SOLUTIONS"] = "1"'
VERDICT = re.compile(r'data-check="(passed|failed)"')


def exercise_cells(cells) -> list[int]:
    """Indices of the code cells of the "## Exercises" section (up to the next "## " heading)."""
    indices, inside = [], False
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## "):
            inside = "".join(cell["source"]).startswith("## Exercises")
        elif inside and cell["cell_type"] == "code":
            indices.append(index)
    return indices


def exercise_functions(source: str) -> list[tuple[str, int]]:
    """(key, number of parameters) of every function decorated with ``@exercise("key")`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "exercise":
                    found.append((decorator.args[0].value, len(node.args.args)))
    return found


def verdicts(cell) -> list[str]:
    """"passed" / "failed" of every CheckResult the cell displayed."""
    return [m for output in cell.get("outputs", []) for m in VERDICT.findall(output.get("data", {}).get("text/html", ""))]


def lesson_keys(path: Path) -> set[str]:
    number = path.stem.split("_")[0]
    return {key for key in SOLUTIONS if key.startswith(number + ".")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have stored outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_cell_fills_one_solution_of_its_lesson(path):
    cells = json.loads(path.read_text())["cells"]
    per_cell = [exercise_functions("".join(cells[i]["source"])) for i in exercise_cells(cells)]
    assert all(len(found) == 1 for found in per_cell), f"{path.name}: each exercise cell needs one @exercise function"
    keys = [key for ((key, _),) in per_cell]
    assert sorted(keys) == sorted(lesson_keys(path)), f"{path.name} fills {keys}, the answer key has {lesson_keys(path)}"
    for ((key, n_parameters),) in per_cell:
        required = [p for p in inspect.signature(SOLUTIONS[key]).parameters.values() if p.default is p.empty]
        assert n_parameters == len(required), f"{path.name}: the blank of {key} and its solution take different inputs"


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_quick_mode_and_checkers_judge_blank_and_solution(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MLIP_LAB_QUICK", "1")
    monkeypatch.setenv("MLIP_LAB_OUTPUT_DIR", str(tmp_path))
    monkeypatch.delenv("MLIP_LAB_SOLUTIONS", raising=False)
    nb = nbformat.read(path, as_version=4)
    blanks = exercise_cells(nb.cells)
    # After the whole notebook, the same kernel switches solutions on and runs the exercise cells again.
    solved = list(range(len(nb.cells) + 1, len(nb.cells) + 1 + len(blanks)))
    nb.cells += [nbformat.v4.new_code_cell(SWITCH_ON)] + [nbformat.v4.new_code_cell(nb.cells[i].source) for i in blanks]
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(blanks) == len(lesson_keys(path))
    assert [verdicts(nb.cells[i]) for i in blanks] == [["failed"]] * len(blanks), "a checker accepted a blank answer"
    assert [verdicts(nb.cells[i]) for i in solved] == [["passed"]] * len(blanks), "a checker rejected the solution"
