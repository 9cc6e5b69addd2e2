"""Seeded fuzzing of the dataset readers: mutated bytes, lines and arrays of small files cut from the shipped data.

Every case must end in one of two ways: the reader returns a dataset that an independent oracle (plain numpy,
not the library's validation) finds sane, or it raises MLIPLabError, which ``mlip-lab data validate`` turns into
exit status 1 and one ``error:`` line. Any other exception, or a case that runs for HANG_SECONDS (a hang, not
slowness: a case takes milliseconds), fails the test with the seed and mutation needed to reproduce it.
"""

import contextlib
import io
import signal

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.cli import main
from mlip_lab.data import MIN_DISTANCE, load, save_npz, write_extxyz

SEED = 20240611
CASES_PER_FILE = 100
HANG_SECONDS = 60  # a hang detector, not a speed limit: a case takes milliseconds
TOKENS = ["nan", "inf", "-inf", "-1", "0", "1e308", "1e-320", "Xx", "X", "h", "T", "999999999", "-7", "\"", "=", ":",
          "Properties=species:S:1", "energy=", "pbc=\"T T T\"", "Lattice=\"1 0 0 0 1 0 0 0 1\"", "1.0 2.0"]


class Hang(BaseException):  # not an Exception, so no reader can swallow it
    pass


@contextlib.contextmanager
def hang_guard(description):
    """Interrupt (and fail) a case that runs for HANG_SECONDS of wall time."""

    def alarm(signum, frame):
        raise Hang(f"{description} ran for more than {HANG_SECONDS} s: the reader hangs")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ mutations
def mutate_text(data: bytes, rng) -> tuple[bytes, str]:
    lines = data.split(b"\n")
    kind = rng.choice(["delete_line", "duplicate_line", "swap_lines", "replace_token", "insert_token", "drop_token",
                       "truncate", "flip_bytes", "insert_bytes", "count_line"])
    i, j = (int(x) for x in rng.integers(0, len(lines), 2))
    if kind == "delete_line":
        del lines[i]
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
    elif kind == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind in ("replace_token", "insert_token", "drop_token"):
        tokens = lines[i].split(b" ")
        k = int(rng.integers(0, len(tokens)))
        token = str(rng.choice(TOKENS)).encode()
        if kind == "replace_token":
            tokens[k] = token
        elif kind == "insert_token":
            tokens.insert(k, token)
        else:
            del tokens[k]
        lines[i] = b" ".join(tokens)
    elif kind == "count_line":  # the first line of some frame gets an absurd atom count
        counts = [n for n, line in enumerate(lines) if line.strip().isdigit()]
        lines[counts[int(rng.integers(0, len(counts)))]] = str(rng.choice(["-3", "0", "1000000000", "2", "12"])).encode()
    else:
        return mutate_bytes(data, rng, kind)
    return b"\n".join(lines), f"{kind} at line {i}"


def mutate_bytes(data: bytes, rng, kind=None) -> tuple[bytes, str]:
    kind = kind or rng.choice(["truncate", "flip_bytes", "insert_bytes"])
    at = int(rng.integers(0, len(data)))
    if kind == "truncate":
        return data[:at], f"truncate at byte {at}"
    if kind == "flip_bytes":
        buf = bytearray(data)
        for k in rng.integers(0, len(data), int(rng.integers(1, 8))):
            buf[k] ^= int(rng.integers(1, 256))
        return bytes(buf), "flip bytes"
    return data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:], f"insert bytes at {at}"


def mutate_arrays(path, rng) -> str:
    """Rewrite the npz at ``path`` with one array changed (the content a byte flip in a compressed file rarely reaches)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    key = str(rng.choice(sorted(arrays)))
    a = arrays[key]
    kinds = ["drop", "object", "dtype"] + (["shape", "transpose", "zero"] if a.ndim >= 2 else ["shape", "zero"] if a.ndim else [])
    kinds += ["nan", "inf", "big"] if a.dtype.kind == "f" else []
    kinds += ["copy_atom"] if key == "positions" else []
    kind = str(rng.choice(kinds))
    if kind in ("nan", "inf", "big"):
        a = a.astype(np.float64)  # float32 forces would overflow 1e300 to inf, hiding the "big" case
        a.flat[int(rng.integers(0, a.size))] = {"nan": np.nan, "inf": np.inf, "big": 1e300}[kind]
    elif kind == "shape":
        a = a[:-1] if rng.random() < 0.5 else np.concatenate([a, a[:1]])
    elif kind == "object":
        a = a.astype(object)
    elif kind == "dtype":
        a = a.astype(str(rng.choice(["int8", "float16", "complex64", "U3", "bool"])) if a.dtype.kind in "biuf" else "U3")
    elif kind == "zero":
        a = a.copy()
        a.flat[int(rng.integers(0, a.size))] = 0
    elif kind == "copy_atom":  # atom 1 placed near atom 0: a coincident or nearly coincident pair
        a = a.copy()
        a[:, 1] = a[:, 0] + rng.normal(scale=0.05, size=3)
    elif kind == "transpose":
        a = np.swapaxes(a, -1, -2)
    if kind == "drop":
        del arrays[key]
    else:
        arrays[key] = a
    np.savez(path, **arrays)  # allow_pickle is on here, so "object" really writes a pickle
    return f"{kind} on {key!r}"


# ------------------------------------------------------------------ the oracle
def assert_sane(d):
    """What an accepted dataset must satisfy, checked with plain numpy rather than the library's validation."""
    real = d.species > 0
    assert real.any(axis=1).all() and ((d.species[real] >= 1) & (d.species[real] <= 118)).all()
    m, n = d.species.shape
    assert d.positions.shape == (m, n, 3)
    assert d.energies is not None or d.forces is not None  # force-only data (e.g. coarse-grained) is allowed
    assert d.energies is None or d.energies.shape == (m,)
    for field in ("positions", "energies", "forces", "hessians", "atomic_energies", "cells"):
        value = getattr(d, field)
        assert value is None or np.isfinite(value).all(), field
    assert not np.isinf(d.temperature).any()
    if d.hessians is not None:
        assert d.hessians.shape == (m, 3 * n, 3 * n)
        np.testing.assert_allclose(d.hessians, d.hessians.transpose(0, 2, 1), atol=1e-2)
    if d.cells is None:  # shipped organics are molecules; mutations can add a Lattice, checked by the library tests
        with np.errstate(over="ignore"):  # mutated coordinates may be 1e300: far apart, inf is fine
            gaps = np.linalg.norm(d.positions[:, :, None] - d.positions[:, None], axis=-1)
        pairs = real[:, :, None] & real[:, None] & ~np.eye(n, dtype=bool)
        assert (gaps[pairs] >= MIN_DISTANCE).all()


def run_case(path, description, counts):
    stderr = io.StringIO()
    try:
        with hang_guard(description):
            try:
                dataset = load(path)
            except MLIPLabError as exc:
                assert str(exc).strip(), description
                dataset = None
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                status = main(["data", "validate", str(path)])
    except (Hang, AssertionError):
        raise
    except Exception as exc:
        pytest.fail(f"{description}: {type(exc).__name__}: {exc} (expected a dataset or MLIPLabError)")
    if dataset is None:
        counts["rejected"] += 1
        assert status == 1, description
        lines = stderr.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (description, lines)
    else:
        counts["accepted"] += 1
        assert status == 0, description
        assert_sane(dataset)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Five organics configurations (forces) and five reactions ones (Hessians), as extxyz and npz bytes."""
    folder = tmp_path_factory.mktemp("originals")
    files = {}
    for name in ("organics", "reactions"):
        subset = load(name).subset(np.arange(5))
        files[f"{name}.xyz"] = write_extxyz(subset, folder / f"{name}.xyz").read_bytes()
        files[f"{name}.npz"] = save_npz(subset, folder / f"{name}.npz").read_bytes()
    return files


def test_readers_never_crash_hang_or_accept_bad_data(originals, tmp_path):
    rng = np.random.default_rng(SEED)
    counts = {"accepted": 0, "rejected": 0}
    for filename, data in originals.items():
        for case in range(CASES_PER_FILE):
            path = tmp_path / f"case{case}_{filename}"
            if filename.endswith(".xyz"):
                mutated, how = mutate_text(data, rng)
                path.write_bytes(mutated)
            elif rng.random() < 0.7:
                path.write_bytes(data)
                how = mutate_arrays(path, rng)
            else:
                mutated, how = mutate_bytes(data, rng)
                path.write_bytes(mutated)
            run_case(path, f"seed {SEED}, {filename} case {case}: {how}", counts)
    total = sum(counts.values())
    print(f"\nfuzz: {total} cases, {counts['accepted']} accepted, {counts['rejected']} rejected")
    assert total == CASES_PER_FILE * len(originals)
    assert counts["accepted"] > total // 20 and counts["rejected"] > total // 2  # both paths really exercised
