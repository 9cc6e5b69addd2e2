"""A Binder-like environment: a fresh virtualenv built from binder/ alone, the way repo2docker builds it
(``pip install -r binder/requirements.txt``, then ``binder/postBuild`` run from the repository root).

The browser tests serve JupyterLab from it, so every notebook runs in quick mode, in a real browser, in exactly
what a Binder class gets (tests/browser/conftest.py); tests/test_binder.py checks the environment itself.

Where the CPU torch index (download.pytorch.org) is unreachable, as on CI, its ``--extra-index-url`` line is
left out and the torch pin is met by the CPU wheel ``make setup`` installs from pip's find-links
(``PIP_FIND_LINKS``); every other line comes from binder/. Nothing is cached between runs but pip's own cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


class BinderRuntimeMismatch(Exception):
    """binder/runtime.txt asks for another Python than the one running the tests."""


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except OSError:
        return False


def requirements_for_here(text: str, torch_index_reachable: bool) -> str:
    """binder/requirements.txt as this machine can install it: unchanged, or without the line that adds the
    unreachable CPU torch index (the torch pin itself stays)."""
    if torch_index_reachable:
        return text
    return "".join(line for line in text.splitlines(keepends=True)
                   if not (line.startswith("--extra-index-url") and TORCH_INDEX in line))


def run_checked(command: list, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure raise with its command line and the tails of stdout and stderr."""
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed (exit {result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def build_binder_env(root: Path) -> dict[str, str]:
    """Build the venv under ``root``; return environment variables that put it first on PATH, with a Jupyter
    home of its own (no kernel specs or settings from this machine), quick mode on and one output folder."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    if runtime != f"python-{sys.version_info.major}.{sys.version_info.minor}":
        raise BinderRuntimeMismatch(f"binder/runtime.txt asks for {runtime}; this is Python {sys.version.split()[0]}")
    venv = root / "venv"
    run_checked([sys.executable, "-m", "venv", venv])
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "MLIP_LAB_SOLUTIONS") and not key.startswith("JUPYTER")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv),
               JUPYTER_CONFIG_DIR=str(root / "jupyter-config"), JUPYTER_DATA_DIR=str(root / "jupyter-data"),
               JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"), IPYTHONDIR=str(root / "ipython"),
               MLIP_LAB_QUICK="1", MLIP_LAB_OUTPUT_DIR=str(root / "runs"))
    requirements = root / "requirements.txt"
    requirements.write_text(requirements_for_here((BINDER / "requirements.txt").read_text(), reachable(TORCH_INDEX)))
    run_checked([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-r", requirements], env=env)
    run_checked([BINDER / "postBuild"], cwd=REPO, env=env)  # repo2docker runs it as an executable from the repo root
    return env
