"""The static HTML copy of the course: pages carry the widget state and point require.js at local copies of the
widget scripts (or at the CDNs), the index links the lessons, and failures say which notebook and why.

The real HTML manager (fetched with npm) drawing a real lesson is checked in tests/browser/test_course_html.py.
"""

import json

import nbformat
import pytest

from mlip_lab.errors import MLIPLabError
from mlip_lab.lessons import static_html
from mlip_lab.lessons.static_html import (
    PLOTLY_MIME, WIDGET_STATE_MIME, build_course_html, copy_plotly_script, copy_widget_modules, drop_stale_buffers,
    export_course_html, index_html, notebook_title, npm_pack, page_html, widget_modules,
)

VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def widget_entry(module, name, view_module=None):
    state = {"_view_module": view_module} if view_module else {}
    return {"model_module": module, "model_module_version": "1.0", "model_name": name, "state": state}


@pytest.fixture
def executed():
    """A notebook as nbclient leaves it: a heading, an output showing a widget view, the widgets' state."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Intro\n\n# 03 · Curvature <for> everyone\nmore"),
        nbformat.v4.new_code_cell("view", outputs=[nbformat.v4.new_output(
            "display_data", data={VIEW_MIME: {"model_id": "m1", "version_major": 2, "version_minor": 0},
                                  "text/plain": "NGLWidget()"})]),
    ])
    nb.metadata["widgets"] = {WIDGET_STATE_MIME: {"version_major": 2, "version_minor": 0, "state": {
        "m1": widget_entry("nglview-js-widgets", "NGLModel"),
        "m2": widget_entry("@jupyter-widgets/controls", "HBoxModel", view_module="@jupyter-widgets/controls"),
        "m3": widget_entry("@jupyter-widgets/base", "LayoutModel", view_module="custom-views"),
    }}}
    return nb


def test_widget_modules_lists_model_and_view_modules(executed):
    assert widget_modules(executed) == {"nglview-js-widgets", "@jupyter-widgets/controls", "@jupyter-widgets/base",
                                        "custom-views"}
    assert widget_modules(nbformat.v4.new_notebook()) == set()


def test_notebook_title_is_the_first_top_level_heading(executed):
    assert notebook_title(executed, "03_x") == "03 · Curvature <for> everyone"
    assert notebook_title(nbformat.v4.new_notebook(), "03_x") == "03_x"


def test_page_embeds_widget_state_and_view_and_points_requirejs_at_local_copies(executed):
    page = page_html(executed, "03 · Curvature", {"nglview-js-widgets": "_static/nglview-js-widgets/index"})
    assert f'<script type="{WIDGET_STATE_MIME}">' in page and f'<script type="{VIEW_MIME}">' in page
    assert "<title>03 · Curvature</title>" in page
    assert '<script src="_static/require.js"></script>' in page
    assert "'_static/html-manager/embed-amd.js'" in page
    config = page.split("requirejs.config(")[1].split(");</script>")[0]
    assert config == '{paths: {"nglview-js-widgets": "_static/nglview-js-widgets/index"}}'
    assert page.index("require.js") < page.index("requirejs.config") < page.index("embed-amd.js")


def test_page_for_the_web_links_the_cdns_and_configures_nothing(executed):
    page = page_html(executed, "t", None)
    assert "_static" not in page and "requirejs.config" not in page
    assert "require.min.js" in page and "@jupyter-widgets/html-manager@" in page


def test_index_links_the_pages_in_order_and_escapes_titles():
    page = index_html([("00 · Setup", "00_setup.html"), ("01 <first> & more", "01_first.html")], quick=True)
    assert page.index('<a href="00_setup.html">00 · Setup</a>') < page.index(
        '<a href="01_first.html">01 &lt;first&gt; &amp; more</a>')
    assert "quick mode" in page and "full mode" in index_html([], quick=False)


def test_npm_pack_without_npm_says_what_to_install_or_use(monkeypatch, tmp_path):
    monkeypatch.setattr(static_html.shutil, "which", lambda name: None)
    with pytest.raises(MLIPLabError, match="need npm.*install Node.js.*--cdn"):
        npm_pack("requirejs", "2.3.8", tmp_path)


def test_copy_widget_modules_copies_installed_scripts_without_source_maps(monkeypatch, tmp_path, capsys):
    installed = tmp_path / "share" / "nbextensions"
    for module in ("nglview-js-widgets", "@jupyter-widgets/controls"):
        (installed / module).mkdir(parents=True)
        (installed / module / "index.js").write_text("define([], function () {});")
        (installed / module / "index.js.map").write_text("{}")
    (installed / "folder-without-script").mkdir()
    monkeypatch.setattr(static_html, "jupyter_path", lambda sub: [str(tmp_path / "elsewhere"), str(installed)])
    static = tmp_path / "site" / "_static"
    modules = {"nglview-js-widgets", "@jupyter-widgets/controls", "folder-without-script"}
    assert copy_widget_modules(static, modules) == {"nglview-js-widgets": "_static/nglview-js-widgets/index"}
    assert sorted(p.name for p in (static / "nglview-js-widgets").iterdir()) == ["index.js"]
    assert not (static / "@jupyter-widgets").exists()  # the HTML manager carries the built-in widgets itself
    assert "folder-without-script is not installed here" in capsys.readouterr().out


@pytest.mark.slow
def test_build_writes_a_page_per_notebook_and_an_index(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Tiny"),
                                         nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=3)")])
    nbformat.write(nb, notebooks / "00_tiny.ipynb")
    index = build_course_html([notebooks / "00_tiny.ipynb"], tmp_path / "site", quick=True, timeout=120, cdn=True)
    assert index == tmp_path / "site" / "index.html"
    assert '<a href="00_tiny.html">00 · Tiny</a>' in index.read_text()
    page = (tmp_path / "site" / "00_tiny.html").read_text()
    state = json.loads(page.split(f'<script type="{WIDGET_STATE_MIME}">')[1].split("</script>")[0])
    assert any(s["model_name"] == "IntSliderModel" and s["state"]["value"] == 3 for s in state["state"].values())
    assert f'<script type="{VIEW_MIME}">' in page
    assert not list(notebooks.glob("*.html")) and not nbformat.read(notebooks / "00_tiny.ipynb", 4).cells[1].outputs


@pytest.mark.slow
def test_build_names_the_notebook_that_failed_and_its_error(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), tmp_path / "05_bad.ipynb")
    with pytest.raises(MLIPLabError, match="05_bad.ipynb failed: ZeroDivisionError: division by zero"):
        build_course_html([tmp_path / "05_bad.ipynb"], tmp_path / "site", quick=True, timeout=120, cdn=True)


def test_export_writes_pages_of_notebooks_already_run_in_their_recorded_mode(executed, tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    executed.metadata["mlip_lab"] = {"quick": False}
    nbformat.write(executed, kept / "03_curvature.ipynb")
    index = export_course_html([kept / "03_curvature.ipynb"], tmp_path / "site", cdn=True)
    assert "full mode" in index.read_text() and '<a href="03_curvature.html">' in index.read_text()
    page = (tmp_path / "site" / "03_curvature.html").read_text()
    state = json.loads(page.split(f'<script type="{WIDGET_STATE_MIME}">')[1].split("</script>")[0])
    assert state["state"]["m1"]["model_name"] == "NGLModel" and f'<script type="{VIEW_MIME}">' in page
    quick = nbformat.v4.new_notebook(metadata={"mlip_lab": {"quick": True}})
    nbformat.write(quick, kept / "04_quick.ipynb")
    with pytest.raises(MLIPLabError, match=r"different modes \(04_quick.ipynb in quick mode"):
        export_course_html([kept / "03_curvature.ipynb", kept / "04_quick.ipynb"], tmp_path / "site", cdn=True)
    nbformat.write(nbformat.v4.new_notebook(), kept / "05_plain.ipynb")
    with pytest.raises(MLIPLabError, match="05_plain.ipynb was not executed by MLIP Lab"):
        export_course_html([kept / "05_plain.ipynb"], tmp_path / "site", cdn=True)


def test_plotly_figures_are_drawn_with_plotly_js_from_static_or_the_cdn(executed, tmp_path):
    # A plotly Figure shown by a cell leaves only its JSON, which nbconvert cannot draw.
    figure = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "parity"}}}
    executed.cells.append(nbformat.v4.new_code_cell("fig", outputs=[nbformat.v4.new_output(
        "display_data", data={PLOTLY_MIME: figure, "text/plain": "Figure()"})]))
    local = page_html(executed, "03 · Curvature", {})
    assert '<script src="_static/plotly.min.js"></script>' in local
    assert local.count("Plotly.newPlot(") == 1 and '"title":{"text":"parity"}' in local
    assert local.index("plotly.min.js") < local.index("Plotly.newPlot(")
    assert "text/html" not in executed.cells[-1].outputs[0]["data"]  # the caller's notebook is left alone
    web = page_html(executed, "03 · Curvature", None)
    assert '<script src="https://cdn.plot.ly/plotly-' in web and "_static/plotly.min.js" not in web
    executed.cells.pop()
    assert "plotly.min.js" not in page_html(executed, "03 · Curvature", {})
    copy_plotly_script(tmp_path / "_static")
    assert (tmp_path / "_static" / "plotly.min.js").read_text().rstrip().endswith("}));")


def test_stale_buffers_of_cleared_widget_messages_are_dropped_from_the_page(executed):
    # A FigureWidget after an update from Python: the message was reset to None, its buffers were kept.
    state = executed.metadata["widgets"][WIDGET_STATE_MIME]["state"]
    state["fig"] = widget_entry("anywidget", "AnyModel")
    state["fig"]["state"].update({"_widget_data": [{"y": {"dtype": "float64"}}], "_py2js_update": None})
    state["fig"]["buffers"] = [
        {"path": ["_widget_data", 0, "y", "buffer"], "data": "AAAAAAAA8D8=", "encoding": "base64"},
        {"path": ["_py2js_update", "style_data", "y", 0, "buffer"], "data": "AAAAAAAA8D8=", "encoding": "base64"},
    ]
    state["m1"]["buffers"] = [{"path": ["missing", "buffer"], "data": "AA==", "encoding": "base64"}]
    page = page_html(executed, "03 · Curvature", None)
    saved = json.loads(page.split(f'<script type="{WIDGET_STATE_MIME}">')[1].split("</script>")[0])["state"]
    assert [b["path"] for b in saved["fig"]["buffers"]] == [["_widget_data", 0, "y", "buffer"]]
    assert "buffers" not in saved["m1"]
    assert len(state["fig"]["buffers"]) == 2  # the caller's notebook is left alone
    assert drop_stale_buffers(executed) == 2 and drop_stale_buffers(executed) == 0


def test_anywidget_scripts_are_kept_once_per_page(executed):
    # Every plotly FigureWidget saves plotly's whole widget bundle as its anywidget _esm (5 MB each).
    state = executed.metadata["widgets"][WIDGET_STATE_MIME]["state"]
    bundle = '// the bundle\nexport default {render() {}}; const tag = "</script><!--";\n' + "let filler;\n" * 200
    for name in ("fig1", "fig2"):
        state[name] = widget_entry("anywidget", "AnyModel")
        state[name]["state"]["_esm"] = bundle
    state["web"] = widget_entry("anywidget", "AnyModel")
    state["web"]["state"]["_esm"] = "https://example.org/widget.js"
    page = page_html(executed, "03 · Curvature", {})
    shared = page.split('id="mlip-lab-shared-widget-scripts"')[1].split(">", 1)[1].split("</script>")[0]
    assert json.loads(shared) == [bundle]  # the one copy, intact, and no "<" that could end the element early
    assert "<" not in shared
    assert page.count("the bundle") == 1
    assert "globalThis.mlipLabSharedWidgetScripts" in page
    saved = json.loads(page.split(f'<script type="{WIDGET_STATE_MIME}">')[1].split("</script>")[0])["state"]
    stub = "await import(globalThis.mlipLabSharedWidgetScripts[0])"
    assert stub in saved["fig1"]["state"]["_esm"] and saved["fig1"]["state"]["_esm"] == saved["fig2"]["state"]["_esm"]
    assert saved["web"]["state"]["_esm"] == "https://example.org/widget.js"
    assert state["fig1"]["state"]["_esm"] == bundle  # the caller's notebook is left alone
    del state["fig1"], state["fig2"], state["web"]
    assert "mlip-lab-shared-widget-scripts" not in page_html(executed, "03 · Curvature", {})
