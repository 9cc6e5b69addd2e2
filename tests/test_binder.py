"""A Binder-like run: a fresh virtualenv built from binder/ alone, the way repo2docker builds it (``pip install -r
binder/requirements.txt``, then ``binder/postBuild`` run from the repository root), then every notebook executed
in quick mode inside it by that environment's own Jupyter. Catches a requirement missing from binder/ and a
notebook that runs only with the development set-up (``make setup``).

Where the CPU torch index (download.pytorch.org) is unreachable, as on CI, its ``--extra-index-url`` line is
left out and the torch pin is met by the CPU wheel ``make setup`` installs from pip's find-links
(``PIP_FIND_LINKS``); every other line comes from binder/. Nothing is cached between runs but pip's own cache.
Slow: it installs the whole lab stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
NOTEBOOK_TIMEOUT_S = 900  # nbconvert's limit per cell; quick mode needs a few minutes per notebook at most


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


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, \
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory) -> dict[str, str]:
    """Environment variables that put a fresh Binder-built virtualenv first on PATH, with a Jupyter home of its
    own (no kernel specs or settings from this machine), quick mode on and one shared output folder."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    if runtime != f"python-{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(f"binder/runtime.txt asks for {runtime}; this is Python {sys.version.split()[0]}")
    root = tmp_path_factory.mktemp("binder")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", venv])
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "MLIP_LAB_SOLUTIONS") and not key.startswith("JUPYTER")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv),
               JUPYTER_CONFIG_DIR=str(root / "jupyter-config"), JUPYTER_DATA_DIR=str(root / "jupyter-data"),
               JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"), IPYTHONDIR=str(root / "ipython"),
               MLIP_LAB_QUICK="1", MLIP_LAB_OUTPUT_DIR=str(root / "runs"))
    requirements = root / "requirements.txt"
    requirements.write_text(requirements_for_here((BINDER / "requirements.txt").read_text(), reachable(TORCH_INDEX)))
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-r", requirements], env=env)
    _run([BINDER / "postBuild"], cwd=REPO, env=env)  # repo2docker runs it as an executable from the repository root
    return env


def test_requirements_for_here_drops_only_the_unreachable_torch_index():
    text = f"# comment\n--extra-index-url {TORCH_INDEX}\ntorch==2.13.0+cpu\nnumpy>=1.26\n"
    assert requirements_for_here(text, torch_index_reachable=True) == text
    assert requirements_for_here(text, torch_index_reachable=False) == "# comment\ntorch==2.13.0+cpu\nnumpy>=1.26\n"
    other_index = "--extra-index-url https://example.org/simple\nfoo\n"
    assert requirements_for_here(other_index, torch_index_reachable=False) == other_index


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_the_binder_environment(path, binder_env, tmp_path):
    executed = _run([Path(binder_env["VIRTUAL_ENV"]) / "bin" / "jupyter", "nbconvert", "--to", "notebook", "--execute",
                     f"--ExecutePreprocessor.timeout={NOTEBOOK_TIMEOUT_S}", "--output-dir", tmp_path, path],
                    env=binder_env)
    assert (tmp_path / path.name).is_file(), executed.stderr[-2000:]
