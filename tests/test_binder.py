"""The Binder-like environment (tests/binder.py) has the whole lab stack and the course's own package.

Running every notebook in it is the browser tests' job: their JupyterLab is served from this environment
(tests/browser/conftest.py), so a notebook that runs only with the development set-up fails there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.binder import REPO, TORCH_INDEX, requirements_for_here, run_checked


def test_requirements_for_here_drops_only_the_unreachable_torch_index():
    text = f"# comment\n--extra-index-url {TORCH_INDEX}\ntorch==2.13.0+cpu\nnumpy>=1.26\n"
    assert requirements_for_here(text, torch_index_reachable=True) == text
    assert requirements_for_here(text, torch_index_reachable=False) == "# comment\ntorch==2.13.0+cpu\nnumpy>=1.26\n"
    other_index = "--extra-index-url https://example.org/simple\nfoo\n"
    assert requirements_for_here(other_index, torch_index_reachable=False) == other_index


@pytest.mark.slow
def test_binder_environment_passes_the_doctor_with_this_checkout(binder_env):
    python = Path(binder_env["VIRTUAL_ENV"]) / "bin" / "python"
    # The doctor checks the core and lab packages, the pins and the JupyterLab extensions (nglview's included).
    doctor = run_checked([python, "-m", "mlip_lab.cli", "doctor"], env=binder_env, cwd="/")
    assert "torch" in doctor.stdout, doctor.stdout
    where = run_checked([python, "-c", "import mlip_lab, torch; print(mlip_lab.__file__); print(torch.__version__)"],
                        env=binder_env, cwd="/")
    package_file, torch_version = where.stdout.split()
    assert Path(package_file).is_relative_to(REPO), f"binder's postBuild must install this checkout, got {package_file}"
    assert "cpu" in torch_version or "+" not in torch_version, f"binder must install the CPU torch, got {torch_version}"
