"""Install checks behind ``mlip-lab doctor``: each check returns a :class:`Finding`; none raises."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from importlib import metadata

LAB_EXTENSIONS = {
    "@jupyter-widgets/jupyterlab-manager": "ipywidgets",
    "nglview-js-widgets": "nglview",
    "jupyterlab-plotly": "plotly",
    "anywidget": "anywidget",
}
PACKAGES = {
    "core": ("torch", "numpy", "scipy", "ase", "tqdm"),
    "lab": ("jupyterlab", "ipywidgets", "plotly", "anywidget", "nglview", "matplotlib"),
    "qc": ("pyscf", "pyscf-dispersion", "sella", "tblite"),
    "cg": ("openmm",),
    "dev": ("pytest", "nbclient", "playwright"),
}


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report. ``ok`` False means the install needs the ``fix``."""

    topic: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_packages() -> list[Finding]:
    findings = [Finding("python", sys.version_info >= (3, 11), sys.version.split()[0], "use Python 3.11 or newer")]
    for extra, names in PACKAGES.items():
        for name in names:
            v = _version(name)
            findings.append(Finding(f"{extra}: {name}", v is not None, v or "not installed",
                                    f"pip install -e '.[{extra}]'" if extra != "core" else "pip install -e .",
                                    required=extra in ("core", "lab")))
    return findings


def check_pins() -> list[Finding]:
    """Versions known to break the lab."""
    out = []
    ngl = _version("nglview")
    if ngl is not None:
        major_minor = tuple(int(x) for x in re.findall(r"\d+", ngl)[:2])
        out.append(Finding("nglview 3.1.x", major_minor == (3, 1), ngl,
                           "pip install 'nglview>=3.1,<3.2' (4.0.1's JupyterLab extension does not load)"))
        setuptools = _version("setuptools")
        ok = setuptools is not None and int(setuptools.split(".")[0]) < 81
        out.append(Finding("setuptools<81 (nglview imports pkg_resources)", ok, setuptools or "not installed",
                           "pip install 'setuptools<81'"))
    if _version("plotly") is not None:
        out.append(Finding("anywidget (plotly FigureWidget)", _version("anywidget") is not None,
                           _version("anywidget") or "not installed", "pip install anywidget"))
    return out


def installed_lab_extensions() -> dict[str, tuple[str, bool]] | None:
    """{name: (version, enabled and OK)} from ``jupyter labextension list``; None without JupyterLab."""
    try:
        proc = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    found = {}
    for match in re.finditer(r"^\s+(\S+) v(\S+) (enabled|disabled)\s+(OK|X)?", text, re.MULTILINE):
        name, version, state, status = match.groups()
        found[name] = (version, state == "enabled" and status == "OK")
    return found


def check_lab_extensions() -> list[Finding]:
    found = installed_lab_extensions()
    if found is None:
        return [Finding("JupyterLab extensions", False, "could not run 'jupyter labextension list'",
                        "pip install -e '.[lab]'")]
    out = []
    for ext, package in LAB_EXTENSIONS.items():
        if ext not in found:
            out.append(Finding(f"lab extension {ext}", False, "missing", f"pip install --force-reinstall {package}"))
            continue
        version, healthy = found[ext]
        detail = f"v{version} {'enabled, OK' if healthy else 'disabled or broken'}"
        out.append(Finding(f"lab extension {ext}", healthy, detail, f"jupyter labextension enable {ext}"))
    if "nglview-js-widgets" in found and _version("nglview"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nglview 3.1 imports the deprecated pkg_resources
            from nglview.widget import NGLWidget

        wanted = NGLWidget._view_module_version.default_value
        have = found["nglview-js-widgets"][0]
        out.append(Finding("nglview Python/frontend versions match", wanted == have,
                           f"Python side asks for {wanted}, extension is {have}",
                           "pip install 'nglview>=3.1,<3.2' so both sides are 3.1.x"))
    return out


def check_torch() -> list[Finding]:
    try:
        import torch
    except ImportError:
        return [Finding("torch", False, "not importable", "make setup (installs the CPU wheel of torch)")]
    cuda_build = torch.version.cuda is not None
    gpu = torch.cuda.is_available()
    name = torch.cuda.get_device_name(0) if gpu else "none visible"
    out = [Finding("GPU", True, f"{name} (torch {torch.__version__}, {'CUDA' if cuda_build else 'CPU'} build)", required=False)]
    if cuda_build and not gpu:
        out.append(Finding("torch build fits the machine", False, "a multi-GB CUDA build on a machine without a GPU",
                           "pip install torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu --force-reinstall",
                           required=False))
    return out


def check_data() -> list[Finding]:
    from mlip_lab.data import load, shipped_datasets
    from mlip_lab.data.paths import DATA_DIR
    from mlip_lab.errors import MLIPLabError

    out = []
    for name in ("reactions", "organics"):
        if name not in shipped_datasets():
            out.append(Finding(f"dataset {name}", False, f"not in {DATA_DIR}",
                               f"reinstall mlip_lab, or in a source checkout: python -m mlip_lab.data.reference build {name}"))
            continue
        try:
            ds = load(name)
            out.append(Finding(f"dataset {name}", True, f"{len(ds)} configurations"))
        except MLIPLabError as exc:
            out.append(Finding(f"dataset {name}", False, str(exc),
                               "reinstall mlip_lab, or in a source checkout: git restore mlip_lab/datasets"))
    return out


def run_checks() -> list[Finding]:
    return check_packages() + check_pins() + check_lab_extensions() + check_torch() + check_data()


def report(findings: list[Finding]) -> tuple[str, bool]:
    """Text report and whether every required check passed."""
    lines = []
    for f in findings:
        mark = "ok " if f.ok else ("FIX" if f.required else "note")
        lines.append(f"[{mark:>4}] {f.topic}: {f.detail}" + ("" if f.ok else f"\n        -> {f.fix}"))
    healthy = all(f.ok for f in findings if f.required)
    lines.append("\nHealthy install." if healthy else "\nSome required checks failed: apply the fixes above (or run `make setup`).")
    return "\n".join(lines), healthy
