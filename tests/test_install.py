"""A non-editable install (a wheel in a fresh venv that cannot see this source tree) loads the shipped data."""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import mlip_lab
from mlip_lab.data import load
from mlip_lab.data.paths import DATA_DIR

pytestmark = pytest.mark.slow

SOURCE_ROOT = Path(__file__).resolve().parents[1]
# The shipped datasets are small teaching sets: about 1 MB of molecules plus the coarse-graining liquid, whose budget
# is 15 MB (9.9 MB now). A wheel beyond this has picked up something it should not (work folders, a checkpoint).
MAX_WHEEL_BYTES = 20 * 2**20
PROBE = """
import json, mlip_lab
from mlip_lab.data import load, shipped_datasets
from mlip_lab.data.paths import build_dir
print(json.dumps({"file": mlip_lab.__file__, "organics": len(load("organics")), "shipped": shipped_datasets(),
                  "build_dir": str(build_dir())}))
"""


def _run(*args, cwd=None) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel offline from a copy of the package sources (never leaving build/ in the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(SOURCE_ROOT / "mlip_lab", source / "mlip_lab", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(SOURCE_ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", tmp / "dist", source)
    (built,) = (tmp / "dist").glob("mlip_lab-*.whl")
    return built


def test_wheel_holds_every_shipped_dataset_with_its_card_and_nothing_else_outside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in DATA_DIR.iterdir() if p.suffix in (".npz", ".md"))
    assert {"organics.npz", "organics.md"} <= set(shipped)
    assert sorted(n.removeprefix("mlip_lab/datasets/") for n in names if n.startswith("mlip_lab/datasets/")) == shipped
    assert {n.split("/")[0] for n in names} == {"mlip_lab", f"mlip_lab-{mlip_lab.__version__}.dist-info"}
    assert wheel.stat().st_size < MAX_WHEEL_BYTES, f"{wheel.name} is {wheel.stat().st_size / 2**20:.1f} MiB"


def test_installed_copy_loads_organics_from_its_own_package_data(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    # Only now reuse this interpreter's packages (torch, numpy, ...): a path line, not site.addsitedir, so the
    # test venv's editable-install hook that points back at the source tree is never run.
    venv_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (venv_site / "test_venv_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    # -I: no PYTHONPATH, no user site, no current directory on sys.path.
    found = json.loads(_run(python, "-I", "-c", PROBE, cwd=workdir))

    assert Path(found["file"]).is_relative_to(venv_site), f"imported {found['file']}, not the installed copy"
    assert found["organics"] == len(load("organics"))
    assert "organics" in found["shipped"]
    assert Path(found["build_dir"]) == workdir.resolve() / "data" / "build"
