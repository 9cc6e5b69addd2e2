"""Data flows one way through the package (shared/DESIGN.md): no module imports a layer above its own.

Every ``import``/``from ... import`` counts, at module level or inside a function, absolute or relative.
"""

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "mlip_lab"
# Lowest first. A module may import its own layer and those below; a part named here that does not exist
# yet simply has no modules. ``data.reference`` (the PySCF recipes that build the shipped datasets) uses
# physics, so it sits above it; the entry points may use everything but the widgets.
ENTRY_POINTS = ("cli", "doctor")
LAYERS = (
    ("errors", "settings"),
    ("data",),
    ("models", "physics"),
    ("data.reference",),
    ("train",),
    ("distill", "cg", "md"),
    ("lessons", "exercises"),
    ENTRY_POINTS,
    ("viz",),
)
# ``mlip_lab/__init__.py`` is the package's public face (``mlip_lab.doctor()``, ``MLIPLabError``), an entry
# point too: modules inside import a name from where it is defined, never through the package root.
RANK = {f"mlip_lab.{part}": rank for rank, parts in enumerate(LAYERS) for part in parts}
RANK["mlip_lab"] = LAYERS.index(ENTRY_POINTS)


def layer_of(module: str) -> str | None:
    """The most specific entry of RANK that ``module`` (dotted) lies in; None outside mlip_lab."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return None


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Absolute dotted names an import node in ``module`` reaches (``from a import b`` reaches ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: level 1 is the module's own package (a package's __init__ is its own package)
        parts = module.split(".")
        anchor = parts[: len(parts) - node.level + is_package]
        base = ".".join(anchor + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names]


def module_name(filename: str) -> str:
    """``mlip_lab/data/io.py`` -> ``mlip_lab.data.io``; a package's ``__init__.py`` is the package."""
    parts = Path(filename).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def upward_imports(source: str, filename: str) -> list[str]:
    """One message per import in ``source`` (the text of ``filename``, relative to the repository root) that
    reaches a layer above the file's own."""
    module = module_name(filename)
    own = layer_of(module)
    if own == "mlip_lab" and module != "mlip_lab":
        return [f"{filename}: {module} is in no layer; add its package to LAYERS in tests/test_layers.py"]
    is_package = Path(filename).name == "__init__.py"
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        for target in _imported(node, module, is_package):
            theirs = layer_of(target)  # None: another library
            if theirs is not None and RANK[theirs] > RANK[own]:
                problems.append(f"{filename}:{node.lineno}: `{ast.unparse(node)}` imports {theirs} (layer "
                                f"{RANK[theirs]}) from {own} (layer {RANK[own]}); move the code or the import down")
    return problems


def test_no_module_imports_a_layer_above_its_own():
    files = sorted(str(p.relative_to(PACKAGE_DIR.parent)) for p in PACKAGE_DIR.rglob("*.py"))
    assert len(files) > 20
    problems = [p for name in files for p in upward_imports((PACKAGE_DIR.parent / name).read_text(), name)]
    assert not problems, "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, filename, expected", [
    ("def show():\n    from mlip_lab.viz import molecule_view\n", "mlip_lab/md/run.py", "mlip_lab/md/run.py:2: "
     "`from mlip_lab.viz import molecule_view` imports mlip_lab.viz (layer 8) from mlip_lab.md (layer 5)"),
    ("import mlip_lab.train.trainer as t\n", "mlip_lab/physics/hessians.py",
     "imports mlip_lab.train (layer 4) from mlip_lab.physics (layer 2)"),
    ("from mlip_lab import viz\n", "mlip_lab/cli.py", "`from mlip_lab import viz` imports mlip_lab.viz"),
    ("from ..physics import units\n", "mlip_lab/data/io.py", "`from ..physics import units` imports mlip_lab.physics"),
    ("from . import recipes\nfrom ...md import run\n", "mlip_lab/data/reference/__init__.py",
     ":2: `from ...md import run` imports mlip_lab.md"),
    ("from mlip_lab.data.reference import build\n", "mlip_lab/physics/modes.py",
     "imports mlip_lab.data.reference (layer 3)"),
    ("from mlip_lab.cli import describe\n", "mlip_lab/lessons/phl.py",
     "imports mlip_lab.cli (layer 7) from mlip_lab.lessons"),
    ("from mlip_lab import MLIPLabError\n", "mlip_lab/data/io.py", "imports mlip_lab (layer 7) from mlip_lab.data"),
    ("from mlip_lab import viz\n", "mlip_lab/__init__.py", "imports mlip_lab.viz (layer 8) from mlip_lab (layer 7)"),
    ("", "mlip_lab/gui/window.py", "mlip_lab.gui.window is in no layer"),
])
def test_checker_names_file_line_and_import_of_an_upward_import(source, filename, expected):
    (problem,) = upward_imports(source, filename)
    assert expected in problem


@pytest.mark.parametrize("source, filename", [
    ("from mlip_lab.physics import model_hvp\nfrom mlip_lab.data import load\n", "mlip_lab/md/run.py"),
    ("from mlip_lab.physics.units import EV_KCAL_PER_MOL\n", "mlip_lab/data/reference/assemble.py"),
    ("from mlip_lab.errors import MLIPLabError\nimport numpy\n", "mlip_lab/data/io.py"),
    ("from mlip_lab import doctor\nfrom mlip_lab.errors import MLIPLabError\n", "mlip_lab/__init__.py"),
    ("from .batch import Batch\nfrom . import io\n", "mlip_lab/data/dataset.py"),
    ("from mlip_lab.md import run_md\nfrom mlip_lab.viz.colors import palette\n", "mlip_lab/viz/md.py"),
    ("from mlip_lab.train import Trainer\n", "mlip_lab/doctor.py"),
    ("x = 'mlip_lab.viz'\n", "mlip_lab/data/io.py"),
])
def test_checker_accepts_imports_of_the_same_or_lower_layers(source, filename):
    assert upward_imports(source, filename) == []
