"""Where shipped datasets live."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
