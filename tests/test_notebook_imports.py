"""Notebooks import the public API only: names from ``mlip_lab`` or a ``mlip_lab.<package>`` that exports them in
its ``__all__``, never from a module inside a package (those may move without notice)."""

import ast
import importlib
import json
from pathlib import Path

import pytest

import mlip_lab

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PACKAGE_DIR = Path(mlip_lab.__file__).parent


def _is_public_module(name: str) -> bool:
    """``mlip_lab`` itself or one of its packages (a folder with an ``__init__.py``), not a module inside one."""
    parts = name.split(".")
    return parts[0] == "mlip_lab" and (len(parts) == 1 or (len(parts) == 2 and (PACKAGE_DIR / parts[1]).is_dir()))


def _exported(module: str) -> set[str]:
    return set(getattr(importlib.import_module(module), "__all__", ()))


def non_public_imports(source: str) -> list[str]:
    """The import statements in ``source`` (Python code) that reach past mlip_lab's public API, as written."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] == "mlip_lab"]
            if any(not _is_public_module(name) for name in names):
                bad.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mlip_lab":
            if not _is_public_module(node.module):
                bad.append(ast.unparse(node))
                continue
            exported = _exported(node.module)
            if any(alias.name not in exported for alias in node.names):
                bad.append(ast.unparse(node))
    return bad


def _code_cells(path: Path):
    """(index, source) of each code cell, with IPython-only lines (%magics, !shell) left out."""
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            yield index, "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))


def test_checker_flags_imports_from_inside_a_package_and_unexported_names():
    assert non_public_imports("from mlip_lab.train.trainer import Trainer") == [
        "from mlip_lab.train.trainer import Trainer"]
    assert non_public_imports("import mlip_lab.md.state as state") == ["import mlip_lab.md.state as state"]
    assert non_public_imports("from mlip_lab.settings import output_dir") == [
        "from mlip_lab.settings import output_dir"]  # a module of mlip_lab, not a package
    assert non_public_imports("from mlip_lab.train import not_a_public_name") == [
        "from mlip_lab.train import not_a_public_name"]
    assert non_public_imports("def f():\n    from mlip_lab.physics.units import EV_KCAL_PER_MOL") == [
        "from mlip_lab.physics.units import EV_KCAL_PER_MOL"]  # found inside functions too


def test_checker_accepts_the_public_api():
    source = "\n".join([
        "import mlip_lab", "import mlip_lab.train", "import numpy as np", "from ase.build import molecule",
        "from mlip_lab import output_dir, quick_mode", "from mlip_lab.physics import units",
        "from mlip_lab.train import Trainer, energy_force_loss",
    ])
    assert non_public_imports(source) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_imports_only_the_public_api(path):
    problems = [f"{path.name}, cell {index}: {statement}"
                for index, source in _code_cells(path) for statement in non_public_imports(source)]
    assert not problems, ("notebooks import from mlip_lab or mlip_lab.<package> (names in its __all__) only; "
                          "export the name from the package or use the public one:\n" + "\n".join(problems))
