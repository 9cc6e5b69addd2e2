"""Where shipped datasets live, and where the reference-data builder keeps its work."""

from collections.abc import Callable
from pathlib import Path

# Package data (declared in pyproject.toml), so an installed copy carries the datasets with it.
DATA_DIR = Path(__file__).resolve().parents[1] / "datasets"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def build_dir() -> Path:
    """Parent of the builder's resumable work folders ``<name>/``: ``data/build/`` at the root of a source
    checkout, or under the current directory for an installed copy (never inside site-packages)."""
    root = _SOURCE_ROOT if (_SOURCE_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return root / "data" / "build"


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` to a sibling ``<stem>.tmp<suffix>``, then rename it to ``path``: a reader, or a resumed
    build, sees the old file or the whole new one, never half of one. The temporary names are the ones
    ``.gitignore`` keeps out of ``data/build`` (``*.tmp.npz``, ``*.tmp.xml``)."""
    path = Path(path)
    tmp = path.with_suffix(".tmp" + path.suffix)
    write(tmp)
    tmp.replace(path)
    return path
