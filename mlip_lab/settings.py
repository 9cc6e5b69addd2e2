"""Run-wide switches read from the environment."""

import os

QUICK_ENV = "MLIP_LAB_QUICK"


def quick_mode() -> bool:
    """True when ``MLIP_LAB_QUICK`` is set (to anything but 0/false/no): notebooks shrink data and epochs
    so the test suite can run them; nothing else differs from full mode."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")
