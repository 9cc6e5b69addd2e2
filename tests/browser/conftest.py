"""One JupyterLab server and one headless system Chromium for the whole browser-test session.

The server runs from the Binder-like environment built from binder/ alone (tests/binder.py), so the notebooks
run, in quick mode, in what a Binder class gets; where binder/runtime.txt names another Python it runs from
this environment instead and says so. It serves the repository's ``notebooks/`` with ``MLIP_LAB_QUICK=1``; its
settings, workspaces, checkpoints and runtime files live in a temporary directory, and autosave is off so a
test run never writes outputs into the stored notebooks.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-gpu",
    # No GPU here: WebGL (nglview) runs on SwiftShader, which recent Chromium only allows when asked to.
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
]
# JupyterLab user settings: deterministic, offline, and never saving notebooks behind our back.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Render every cell, so widgets below the fold exist in the DOM and can be checked.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


@dataclass(frozen=True)
class LabServer:
    url: str  # http://127.0.0.1:<port>
    token: str

    def lab_url(self, notebook: str) -> str:
        # ?reset: start from an empty workspace, so an earlier test's notebook is not reopened (with a kernel).
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("browser tests need the system Chromium (Debian/Ubuntu: apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def lab_python(request, chromium_path) -> tuple[str, dict[str, str]]:
    """(python, environment) the JupyterLab server runs with: the Binder-like venv's, or this one's."""
    try:
        env = request.getfixturevalue("binder_env")
    except pytest.skip.Exception as skipped:
        print(f"\nJupyterLab runs from the test environment, not Binder's: {skipped}")
        return sys.executable, dict(os.environ)
    return str(Path(env["VIRTUAL_ENV"]) / "bin" / "python"), env


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, lab_python) -> LabServer:
    """JupyterLab on 127.0.0.1:<free port> with a random token; stopped (kernels included) at the end."""
    python, base_env = lab_python
    home = tmp_path_factory.mktemp("jupyterlab")
    settings_dir = home / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings_dir / name).write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**base_env, "MLIP_LAB_QUICK": "1", "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "MLIP_LAB_OUTPUT_DIR": str(home / "outputs"), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    command = [
        python, "-m", "jupyter", "lab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", "--allow-root",
        f"--ServerApp.root_dir={NOTEBOOK_DIR}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings_dir}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
        # An absolute path keeps the checkpoints JupyterLab makes on opening a notebook out of notebooks/.
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    log = home / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log)
        yield LabServer(f"http://127.0.0.1:{port}", token)
    finally:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless system Chromium driven by Playwright (never a downloaded browser build)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
