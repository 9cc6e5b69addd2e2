"""``mlip-lab course html``: picks the notebooks, builds the pages, and reports bad input on one line."""

import nbformat
import pytest

from mlip_lab.cli import main


def test_unknown_notebook_is_reported_with_the_choices(tmp_path, capsys):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "00_setup.ipynb")
    assert main(["course", "html", "--notebooks-dir", str(tmp_path), "--cdn", "09_nothing"]) == 1
    assert capsys.readouterr().err == f"error: no notebook 09_nothing in {tmp_path}; choose from 00_setup\n"


@pytest.mark.slow
def test_builds_the_named_notebooks_into_the_folder(tmp_path, capsys):
    for stem in ("00_setup", "01_first"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {stem} title")]),
                       tmp_path / f"{stem}.ipynb")
    out = tmp_path / "site"
    assert main(["course", "html", "--notebooks-dir", str(tmp_path), "--out", str(out), "--cdn", "--quick",
                 "01_first"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_first.html", "index.html"]
    assert f"wrote {out / 'index.html'}" in capsys.readouterr().out


def test_exports_executed_notebooks_and_refuses_quick_with_them(tmp_path, capsys):
    kept = tmp_path / "kept"
    kept.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Kept")],
                                  metadata={"mlip_lab": {"quick": True}})
    nbformat.write(nb, kept / "00_kept.ipynb")
    out = tmp_path / "site"
    assert main(["course", "html", "--executed", str(kept), "--out", str(out), "--cdn"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["00_kept.html", "index.html"]
    assert "quick mode" in (out / "index.html").read_text()
    capsys.readouterr()
    assert main(["course", "html", "--executed", str(kept), "--quick", "--cdn"]) == 1
    assert "with --executed they already ran" in capsys.readouterr().err
