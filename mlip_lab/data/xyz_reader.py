"""Streaming extended-XYZ reader: frame by frame, with every header checked before anything is allocated.

A frame is an atom-count line, a comment line of ``key=value`` pairs (parsed by ASE's extxyz key/value
parser, so files written by ASE read back the same) and one line per atom whose columns follow the
``Properties`` key (default ``species:S:1:pos:R:3``). Lines are read with a length cap and decoded as
strict UTF-8, and a claimed atom count is compared with the bytes left in the file, so binary files,
absurd counts and truncated frames are rejected at once instead of exhausting memory or time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from mlip_lab.data.frames import Frame, checked_frame
from mlip_lab.errors import MLIPLabError

DEFAULT_PROPERTIES = "species:S:1:pos:R:3"
MAX_COUNT_LINE_BYTES = 1024
MAX_ATOM_LINE_BYTES = 64 * 1024
COMMENT_BYTES_PER_HESSIAN_VALUE = 32  # a comment line may carry a (3N)^2 Hessian written with repr()
# extxyz column names (after ASE's renaming) that become dataset fields; other columns are checked and ignored
_COLUMNS = {"symbols": "S", "numbers": "I", "positions": "R", "forces": "R", "atomic_energies": "R"}


class _Lines:
    """Numbered, length-capped, strictly UTF-8 lines of a binary file, with the bytes still unread."""

    def __init__(self, handle: BinaryIO, size: int, source: str):
        self.handle, self.size, self.source, self.number = handle, size, source, 0

    @property
    def remaining(self) -> int:
        return self.size - self.handle.tell()

    def next(self, limit: int, what: str) -> str | None:
        """The next line without its newline, or None at the end of the file."""
        raw = self.handle.readline(limit + 1)
        if not raw:
            return None
        self.number += 1
        if len(raw) > limit:
            self.fail(f"line {self.number} ({what}) is longer than {limit} bytes; is this a binary file?")
        if b"\0" in raw:
            self.fail(f"line {self.number} contains NUL bytes: this is a binary file, not extended XYZ text")
        try:
            return raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            self.fail(f"line {self.number} is not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                      "extended XYZ files are text, save it as UTF-8")

    def fail(self, message: str):
        raise MLIPLabError(f"{self.source}: not a readable extended XYZ file: {message}")


def read_xyz_frames(path) -> Iterator[Frame]:
    """Yield one checked :class:`Frame` per configuration of the extxyz file at ``path``."""
    path = Path(path)
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise MLIPLabError(f"{source}: cannot open the file ({exc.strerror})") from exc
    with handle:
        lines = _Lines(handle, os.fstat(handle.fileno()).st_size, source)
        index = 0
        while True:
            count_line = lines.next(MAX_COUNT_LINE_BYTES, "atom count")
            while count_line is not None and not count_line.strip():  # blank lines between or after frames
                count_line = lines.next(MAX_COUNT_LINE_BYTES, "atom count")
            if count_line is None:
                break
            yield _read_frame(lines, index, count_line)
            index += 1
    if index == 0:
        raise MLIPLabError(f"{source}: the file is empty (no configurations)")


def _read_frame(lines: _Lines, index: int, count_line: str) -> Frame:
    where = f"configuration {index} (line {lines.number})"
    try:
        n = int(count_line.strip())
    except ValueError:
        lines.fail(f"{where}: expected the number of atoms, found {count_line.strip()[:40]!r}; "
                   "the previous configuration may have more atom lines than its count says")
    if n < 1:
        lines.fail(f"{where}: the atom count is {n}; a configuration needs at least one atom")
    if 2 * n - 1 > lines.remaining:  # every atom line needs at least one character and a newline
        lines.fail(f"{where} claims {n} atoms but only {lines.remaining} bytes follow; the count is wrong or the file is truncated")
    comment = lines.next(MAX_ATOM_LINE_BYTES + COMMENT_BYTES_PER_HESSIAN_VALUE * 9 * n * n, "comment")
    if comment is None:
        lines.fail(f"{where}: the file ends before the comment line")
    info = _parse_comment(lines, index, comment)
    spec = info.pop("Properties", DEFAULT_PROPERTIES)
    columns = _parse_properties(lines, index, spec)
    width = sum(cols for _, _, cols in columns)
    if n * 2 * width - 1 > lines.remaining:
        lines.fail(f"{where} claims {n} atoms of {width} columns each, but only {lines.remaining} bytes follow; "
                   "the count is wrong or the file is truncated")
    rows = []
    for j in range(n):
        line = lines.next(MAX_ATOM_LINE_BYTES, "atom")
        if line is None:
            lines.fail(f"configuration {index}: the file ends after {j} of its {n} atom lines (truncated?)")
        values = line.split()
        if len(values) != width:
            lines.fail(f"configuration {index}, line {lines.number}: expected {width} columns (Properties={spec}), "
                       f"found {len(values)}")
        rows.append(values)
    try:
        return _frame(index, info, columns, np.array(rows, dtype=str))
    except MLIPLabError as exc:
        raise MLIPLabError(f"{lines.source}: {exc}") from exc


def _parse_comment(lines: _Lines, index: int, comment: str) -> dict:
    from ase.io.extxyz import key_val_str_to_dict

    try:
        return key_val_str_to_dict(comment)
    except Exception as exc:  # ASE's parser raises several types on malformed key=value text
        lines.fail(f"configuration {index}, line {lines.number}: cannot parse the key=value comment line ({exc})")


def _parse_properties(lines: _Lines, index: int, spec) -> list[tuple[str, str, int]]:
    """``Properties`` as (ASE column name, type letter, number of columns), e.g. ("positions", "R", 3)."""
    from ase.io.extxyz import REV_PROPERTY_NAME_MAP

    parts = spec.split(":") if isinstance(spec, str) else []
    columns = [
        (REV_PROPERTY_NAME_MAP.get(name, name), kind, int(cols))
        for name, kind, cols in zip(parts[::3], parts[1::3], parts[2::3])
        if kind in ("R", "I", "S", "L") and cols.isascii() and cols.isdigit() and 1 <= int(cols) <= 1000
    ]
    names = [c[0] for c in columns]
    if not parts or len(parts) != 3 * len(columns) or len(set(names)) != len(names):
        lines.fail(f"configuration {index}: Properties={str(spec)[:80]!r} is not a list of distinct NAME:TYPE:COLUMNS "
                   "entries with TYPE one of R, I, S, L (e.g. species:S:1:pos:R:3:forces:R:3)")
    for name, kind, cols in columns:
        expected = _COLUMNS.get(name)
        if expected is not None and (kind != expected or cols != (3 if name in ("positions", "forces") else 1)):
            lines.fail(f"configuration {index}: Properties gives {name} as {kind}:{cols}; "
                       f"expected {expected}:{3 if name in ('positions', 'forces') else 1}")
    if "positions" not in names or not {"symbols", "numbers"} & set(names):
        lines.fail(f"configuration {index}: Properties={spec!r} needs pos:R:3 and species:S:1 (or Z:I:1)")
    return columns


def _frame(index: int, info: dict, columns, table: np.ndarray) -> Frame:
    """Convert the text table of one frame (n, width) and its comment-line info into a checked Frame."""
    fields, start = {}, 0
    for name, kind, cols in columns:
        block = table[:, start : start + cols]
        start += cols
        if name not in _COLUMNS:
            continue
        if kind == "S":
            fields[name] = block[:, 0]
            continue
        try:
            fields[name] = block.astype(np.float64 if kind == "R" else np.int64)
        except ValueError as exc:
            raise MLIPLabError(f"configuration {index}: the {name} column holds a value that is not a number ({exc})") from exc
        if cols == 1:
            fields[name] = fields[name][:, 0]
    numbers = fields.get("numbers")
    if numbers is None:
        numbers = _atomic_numbers(index, fields["symbols"])
    cell = info.get("Lattice")
    pbc = info.get("pbc", None if cell is None else np.ones(3, bool))
    return checked_frame(
        index, numbers, fields["positions"], info.get("energy"), forces=fields.get("forces"),
        hessian=info.get("hessian"), atomic_energies=fields.get("atomic_energies"),
        cell=None if cell is None else np.asarray(cell).T, pbc=pbc, molecule=info.get("molecule"),
        category=info.get("category", "other"), temperature=info.get("temperature", float("nan")),
    )


def _atomic_numbers(index: int, symbols: np.ndarray) -> np.ndarray:
    from ase.data import atomic_numbers

    numbers = []
    for j, symbol in enumerate(symbols.tolist()):
        z = atomic_numbers.get(symbol.capitalize(), 0)  # ASE capitalises too ("h" -> "H"); "X" is its dummy (0)
        if z == 0:
            raise MLIPLabError(f"configuration {index}: unknown element symbol {symbol!r} (atom {j}); "
                               "use standard symbols such as H, C, N, O")
        numbers.append(z)
    return np.array(numbers, dtype=np.int64)
