"""Run-wide switches read from the environment."""

import os
from pathlib import Path

QUICK_ENV = "MLIP_LAB_QUICK"
SOLUTIONS_ENV = "MLIP_LAB_SOLUTIONS"
OUTPUT_ENV = "MLIP_LAB_OUTPUT_DIR"


def _switched_on(name: str) -> bool:
    """True when the environment variable ``name`` is set to anything but empty, 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def quick_mode() -> bool:
    """True when ``MLIP_LAB_QUICK`` is set (to anything but 0/false/no): notebooks shrink data and epochs
    so the test suite can run them; nothing else differs from full mode."""
    return _switched_on(QUICK_ENV)


def solutions_mode() -> bool:
    """True when ``MLIP_LAB_SOLUTIONS`` is set (to anything but 0/false/no): the instructor mode, in which every
    exercise cell uses the reference solution instead of the student's answer (see ``mlip_lab.exercises``)."""
    return _switched_on(SOLUTIONS_ENV)


def output_dir(name: str) -> Path:
    """A folder for a notebook's files (checkpoints, saved models): ``$MLIP_LAB_OUTPUT_DIR/name``, by default
    ``runs/name`` under the current directory. Created if missing."""
    path = Path(os.environ.get(OUTPUT_ENV) or "runs") / name
    path.mkdir(parents=True, exist_ok=True)
    return path
