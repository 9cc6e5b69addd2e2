"""Run a course notebook top to bottom in a fresh kernel, as a student's "Run All" does, without touching the
stored file. The course benchmark (``benchmarks/course.py``) and the static HTML copy (``static_html``) both run
the notebooks this way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mlip_lab.errors import MLIPLabError
from mlip_lab.settings import OUTPUT_ENV, QUICK_ENV

RUN_METADATA = "mlip_lab"


def course_notebooks(directory: str | Path, names=()) -> list[Path]:
    """The notebooks ``directory/*.ipynb`` in course order (by file name), or those ``names`` picks, in the
    order given; a name is a stem (``00_smoke_widgets``), a file name or a path."""
    directory = Path(directory)
    found = {path.stem: path for path in sorted(directory.glob("*.ipynb"))}
    if not found:
        raise MLIPLabError(f"no notebooks (*.ipynb) in {directory}; run from the repository root or name the "
                           "notebooks folder")
    unknown = [name for name in names if Path(name).stem not in found]
    if unknown:
        raise MLIPLabError(f"no notebook {', '.join(unknown)} in {directory}; choose from {', '.join(found)}")
    return [found[Path(name).stem] for name in names] if names else list(found.values())


def kernel_environment(quick: bool, output_dir: str | Path) -> dict[str, str]:
    """This process's environment with quick mode switched on or off and the notebooks' files (checkpoints,
    saved models) sent to ``output_dir``. A course run shares one ``output_dir``, so a lesson finds the model
    an earlier lesson saved, as it does for a student who runs the lessons in order."""
    env = {key: value for key, value in os.environ.items() if key != QUICK_ENV}
    if quick:
        env[QUICK_ENV] = "1"
    env[OUTPUT_ENV] = str(output_dir)
    return env


def run_notebook(path: str | Path, *, quick: bool, output_dir: str | Path, timeout: int | None = None):
    """Execute the notebook at ``path`` in a new ``python3`` kernel started in its folder; return the executed
    ``nbformat`` notebook, with outputs, the widgets' state (``metadata.widgets``) and the mode it ran in
    (``metadata.mlip_lab.quick``, read by :func:`executed_mode`) in it.

    ``timeout`` is for the whole notebook, in s (None: no limit). Raises nbclient's ``CellExecutionError`` when a
    cell raises (its ``ename`` names the error), ``CellTimeoutError`` when the run goes past ``timeout``, and
    ``DeadKernelError`` when the kernel dies (e.g. killed for memory). ``MLIP_LAB_SOLUTIONS`` passes through
    from this process's environment.
    """
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    deadline = None if timeout is None else time.monotonic() + timeout
    client = NotebookClient(notebook, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}},
                            # nbclient limits cells one by one: each may use what the earlier ones left.
                            timeout_func=None if deadline is None else lambda cell: _seconds_left(deadline))
    client.execute(env=kernel_environment(quick, output_dir))
    notebook.metadata[RUN_METADATA] = {"quick": bool(quick)}
    return notebook


def executed_mode(notebook, name: str) -> bool:
    """Whether the executed ``notebook`` (called ``name`` in messages) ran in quick mode, as :func:`run_notebook`
    recorded it; MLIPLabError for a notebook it did not run."""
    run = notebook.metadata.get(RUN_METADATA)
    if not isinstance(run, dict) or not isinstance(run.get("quick"), bool):
        raise MLIPLabError(f"{name} was not executed by MLIP Lab (no metadata.{RUN_METADATA}); keep executed "
                           "notebooks with `benchmarks/course.py --keep DIR`, or let `mlip-lab course html` run them")
    return run["quick"]


def _seconds_left(deadline: float) -> int:
    """Whole seconds until ``deadline`` (``time.monotonic``), at least 1: nbclient reads 0 as "no limit"."""
    return max(1, round(deadline - time.monotonic()))
