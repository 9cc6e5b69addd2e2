"""Safe reading of ``.npz`` archives: every array header is checked before any data is loaded.

Object arrays (pickles, which can run code) are refused without being unpickled, as are dtypes a dataset
never holds; each header's claimed shape must match the bytes actually stored, and the whole archive must
fit a memory budget, so a corrupted or hostile file fails at once instead of allocating gigabytes.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from mlip_lab.errors import MLIPLabError

MAX_NPZ_BYTES = 4 * 2**30  # uncompressed; far above any teaching dataset, far below a zip bomb
_ALLOWED_KINDS = "biufUS"  # bool, integers, floats, text
_NPY_MAGIC = b"\x93NUMPY"


def read_npz_arrays(path) -> dict[str, np.ndarray]:
    """All arrays of the npz archive at ``path`` by name; every problem is an :class:`MLIPLabError`."""
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as handle:
            start = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise MLIPLabError(f"{source}: cannot open the file ({exc.strerror})") from exc
    if not start:
        raise MLIPLabError(f"{source}: the file is empty; rebuild or re-copy it")
    if start == _NPY_MAGIC:  # a bare .npy array under an .npz name
        raise MLIPLabError(f"{source}: holds a single .npy array, not an npz archive of named dataset fields; "
                           "write datasets with mlip_lab.data.save_npz")
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
            total = sum(_check_header(archive, m, source) for m in members)
            if total > MAX_NPZ_BYTES:
                raise MLIPLabError(f"{source}: the arrays would take {total / 2**30:.1f} GiB in memory "
                                   f"(limit {MAX_NPZ_BYTES / 2**30:.0f} GiB); split the dataset into smaller files")
            arrays = {}
            for member in members:
                with archive.open(member) as fp:
                    arrays[member.filename[: -len(".npy")]] = np.lib.format.read_array(fp, allow_pickle=False)
            return arrays
    except MLIPLabError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError, zlib.error) as exc:
        raise MLIPLabError(f"{source}: not a readable npz file ({type(exc).__name__}: {exc})") from exc


def _check_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, source: str) -> int:
    """Read one member's .npy header only; returns the bytes its array will take in memory."""
    name = member.filename[: -len(".npy")]
    with archive.open(member) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise MLIPLabError(f"{source}: array '{name}' has an unknown .npy format version {version}")
        header_bytes = fp.tell()
    if dtype.hasobject:
        raise MLIPLabError(f"{source}: array '{name}' holds Python objects (a pickle), which MLIP Lab never loads because "
                           "unpickling can run code; store labels as plain string arrays (mlip_lab.data.save_npz does)")
    if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None:
        raise MLIPLabError(f"{source}: array '{name}' has dtype {dtype}; dataset arrays hold numbers, booleans or text")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes != member.file_size - header_bytes:
        raise MLIPLabError(f"{source}: array '{name}' claims shape {shape} ({nbytes} bytes) but stores "
                           f"{member.file_size - header_bytes} bytes; the file is corrupted or truncated")
    return nbytes
