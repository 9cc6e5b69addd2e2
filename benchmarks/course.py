"""Does a class fit the machine? Runs every course notebook top to bottom, one kernel at a time, and prints per
notebook its wall time, its peak memory and whether it finished, then the totals against the goals for a
2-core machine with Binder's 2 GB: each notebook <= 1.5 GiB peak and <= 8 min, the whole course <= 30 min.

Full mode (``MLIP_LAB_QUICK`` unset) unless ``--quick``. The notebooks run in order, sharing one temporary output
folder as a student's ``runs/`` is shared (a lesson finds the model an earlier one saved); nothing is written into
notebooks/ and nothing is kept unless ``--keep DIR`` asks for the executed notebooks (outputs included), e.g. to
check the lessons' prose against the numbers of the same run, or to export the static course from this run
(``mlip-lab course html --executed DIR``, ``make course-html EXECUTED=DIR``). Threads: the kernel inherits this shell's
environment, so set OMP_NUM_THREADS to the cores a student has.

Peak memory: a thread samples, every 0.1 s with psutil, the resident set size (RSS) summed over every descendant
of this process: the kernel (jupyter_client starts it as a child) and whatever it starts in turn. This process
(nbclient) is not counted: it is not part of a student's session. A spike shorter than the sampling interval can
be missed; pages shared between a kernel and processes it forks count once per process, so then the sum is an
upper bound. Not a test: prints a table.

    OMP_NUM_THREADS=2 python benchmarks/course.py
    OMP_NUM_THREADS=1 python benchmarks/course.py --quick --notebooks 00_smoke_widgets --keep /tmp/executed
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil

from mlip_lab.lessons.notebook_run import course_notebooks, run_notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
MIB = 2**20
GOAL_PEAK_MIB = 1536  # 1.5 GiB: Binder's 2 GB less room for the Jupyter server
GOAL_NOTEBOOK_S = 8 * 60
GOAL_COURSE_S = 30 * 60


class PeakRSS:
    """While in its ``with`` block, the peak (bytes) of the RSS summed over this process's descendants, sampled
    every ``interval_s`` from a background thread."""

    def __init__(self, interval_s: float = 0.1):
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while True:
            total = 0
            for process in me.children(recursive=True):
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # it exited between the listing and the reading
                    pass
            self.peak = max(self.peak, total)
            if self._stop.wait(self.interval_s):
                return


@dataclass(frozen=True)
class NotebookRun:
    name: str
    seconds: float
    peak_bytes: int
    error: str | None  # None: it ran to the end; else the error's name (a cell's exception, or nbclient's)


def run_one(path: Path, quick: bool, output_dir: str, timeout_s: int, keep: Path | None = None) -> NotebookRun:
    """Run one notebook; with ``keep``, write it there with its outputs (after the clock stops)."""
    start = time.perf_counter()
    executed = None
    with PeakRSS() as memory:
        try:
            executed = run_notebook(path, quick=quick, output_dir=output_dir, timeout=timeout_s)
            error = None
        except Exception as exc:  # a failed notebook is a row of the table, not the end of the run
            error = getattr(exc, "ename", type(exc).__name__)  # CellExecutionError carries the cell's error name
    result = NotebookRun(path.stem, time.perf_counter() - start, memory.peak, error)
    if keep is not None and executed is not None:
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed, keep / path.name)
    return result


def finished(run: NotebookRun) -> str:
    return "yes" if run.error is None else f"no: {run.error}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def goal(text: str, offenders: list[str]) -> str:
    """One goal's line: met, or NOT met with the notebooks that miss it."""
    return f"  {text}: {verdict(not offenders)}" + (f" ({', '.join(offenders)})" if offenders else "")


def report(runs: list[NotebookRun], quick: bool) -> str:
    width = max(len(r.name) for r in runs) + 2
    lines = [f"{'notebook':<{width}}{'wall / s':>10}{'peak RSS / MiB':>16}  finished",
             *(f"{r.name:<{width}}{r.seconds:>10.1f}{r.peak_bytes / MIB:>16.0f}  {finished(r)}"
               for r in runs)]
    total_s = sum(r.seconds for r in runs)
    peak = max(r.peak_bytes for r in runs)
    lines.append(f"{'total':<{width}}{total_s:>10.1f}{peak / MIB:>16.0f}  (time: sum; memory: the largest peak)")
    big = [r.name for r in runs if r.peak_bytes > GOAL_PEAK_MIB * MIB]
    slow = [r.name for r in runs if r.seconds > GOAL_NOTEBOOK_S]
    failed = [r.name for r in runs if r.error]
    lines += ["", "goals (2-core machine, Binder 2 GB)" + (" -- quick mode: the goals are for full mode" if quick else ""),
              goal(f"each notebook peak <= {GOAL_PEAK_MIB} MiB", big),
              goal(f"each notebook <= {GOAL_NOTEBOOK_S // 60} min", slow),
              f"  whole course <= {GOAL_COURSE_S // 60} min: {verdict(total_s <= GOAL_COURSE_S)} ({total_s / 60:.1f} min)",
              goal("every notebook finished", failed)]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick mode, to check this script")
    parser.add_argument("--notebooks", nargs="+", default=(), help="stems or files (default: all, in course order)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per notebook (default 1800)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the executed notebooks (with outputs) to this folder, to read the run's numbers")
    args = parser.parse_args(argv)
    paths = course_notebooks(NOTEBOOKS_DIR, args.notebooks)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{psutil.virtual_memory().total / 2**30:.1f} GiB; {'quick' if args.quick else 'full'} mode", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="mlip-lab-course-") as outputs:
        for path in paths:
            runs.append(run_one(path, args.quick, outputs, args.timeout, args.keep))
            last = runs[-1]
            print(f"  {last.name}: {last.seconds:.1f} s, {last.peak_bytes / MIB:.0f} MiB, finished: {finished(last)}",
                  flush=True)
    print()
    print(report(runs, args.quick))


if __name__ == "__main__":
    main()
