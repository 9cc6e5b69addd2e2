"""Shipped datasets live inside the package; the builder's work folders stay at the checkout's root."""

from pathlib import Path

import mlip_lab
from mlip_lab.data import shipped_datasets
from mlip_lab.data.paths import DATA_DIR, build_dir

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def test_shipped_datasets_are_package_data_with_a_card_each():
    assert DATA_DIR == Path(mlip_lab.__file__).parent / "datasets"
    assert {"organics", "organics_minima", "reactions"} <= set(shipped_datasets())
    assert all((DATA_DIR / f"{name}.md").is_file() for name in shipped_datasets())


def test_builder_work_folders_are_under_data_build_at_the_checkout_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a source checkout ignores the current directory
    assert build_dir() == SOURCE_ROOT / "data" / "build"
    assert not build_dir().is_relative_to(DATA_DIR.parent)
