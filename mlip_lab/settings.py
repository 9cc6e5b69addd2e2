"""Run-wide switches read from the environment."""

import os
from pathlib import Path

QUICK_ENV = "MLIP_LAB_QUICK"
OUTPUT_ENV = "MLIP_LAB_OUTPUT_DIR"


def quick_mode() -> bool:
    """True when ``MLIP_LAB_QUICK`` is set (to anything but 0/false/no): notebooks shrink data and epochs
    so the test suite can run them; nothing else differs from full mode."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def output_dir(name: str) -> Path:
    """A folder for a notebook's files (checkpoints, saved models): ``$MLIP_LAB_OUTPUT_DIR/name``, by default
    ``runs/name`` under the current directory. Created if missing."""
    path = Path(os.environ.get(OUTPUT_ENV) or "runs") / name
    path.mkdir(parents=True, exist_ok=True)
    return path
