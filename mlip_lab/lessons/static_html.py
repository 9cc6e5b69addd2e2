"""The course as static web pages: executed notebooks exported to HTML with their widgets' state saved, so the
plots and 3D views draw without a kernel, plus an ``index.html`` linking the lessons.

Widgets in a static page are drawn by the Jupyter widgets' HTML manager, which runs on require.js. By default a
build fetches both with npm (``npm pack``: npm's own cache, nothing kept by us) and copies them into
``_static/`` next to the pages, together with this installation's scripts of the third-party widgets the pages
use (nglview, anywidget for plotly's ``FigureWidget``; Jupyter's ``share/jupyter/nbextensions``), so the folder
reads offline. ``cdn=True`` links the manager and require.js from their CDNs instead: no npm to build, internet
to read. Equations are typeset by MathJax from its CDN either way. A page keeps each anywidget script once
(plotly's 5 MB ``FigureWidget`` bundle, which every such widget otherwise saves in its own state).

``build_course_html`` runs the notebooks itself; ``export_course_html`` writes the pages of notebooks already run
(``benchmarks/course.py --keep DIR`` keeps them), so one full-mode run can both measure the course and publish it.
"""

from __future__ import annotations

import copy
import html
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import jinja2
import nbformat
import plotly
import plotly.io
from jupyter_core.paths import jupyter_path
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from plotly.offline import get_plotlyjs_version

from mlip_lab.errors import MLIPLabError
from mlip_lab.lessons.notebook_run import executed_mode, run_notebook

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
# The HTML manager release that matches ipywidgets 8.1 (widget state version 2).
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
REQUIREJS = ("requirejs", "2.3.8")
# Widget modules the HTML manager carries itself; every other module is a separate script.
BUILT_IN_MODULES = frozenset({"@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"})
STATIC = "_static"
# The HTML manager's other bundles (non-AMD, source map) are not used by the pages.
UNUSED_MANAGER_FILES = frozenset({"embed.js", "embed.js.map", "libembed-amd.js"})
PAGE_TEMPLATE = "mlip_lab_course.html.j2"
# JupyterLab's page, with require.js told where this build's copies of the third-party widget scripts are.
PAGE_TEMPLATE_SOURCE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}
{{ super() }}
{%- if resources.requirejs_paths %}
<script>requirejs.config({paths: {{ resources.requirejs_paths | tojson }}});</script>
{%- endif %}
{%- if resources.plotly_js_url %}
<script src="{{ resources.plotly_js_url }}"></script>
{%- endif %}
{%- if resources.shared_scripts_json %}
<script type="application/json" id="mlip-lab-shared-widget-scripts">{{ resources.shared_scripts_json }}</script>
<script>
globalThis.mlipLabSharedWidgetScripts = JSON.parse(
  document.getElementById("mlip-lab-shared-widget-scripts").textContent
).map((text) => URL.createObjectURL(new Blob([text], {type: "text/javascript"})));
</script>
{%- endif %}
{%- endblock html_head_js_requirejs -%}
"""
PLOTLY_MIME = "application/vnd.plotly.v1+json"
# plotly.js as the installed plotly package ships it: a plain script that sets window.Plotly (no AMD define, so it
# loads beside require.js).
PLOTLY_SCRIPT = "plotly.min.js"
# What an anywidget's saved script becomes once its text is kept once per page (share_widget_scripts): a module
# that imports the page's copy and passes on the two exports anywidget reads.
SHARED_SCRIPT_STUB = ("const shared = await import(globalThis.mlipLabSharedWidgetScripts[{index}]);\n"
                      "export default shared.default;\nexport const render = shared.render;\n")


def saved_widget_states(notebook) -> dict:
    """The widgets' saved state of an executed notebook (model id -> entry with model_module, state, buffers);
    empty when it has none. The entries are the notebook's own: changing them changes the notebook."""
    return notebook.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})


def widget_modules(notebook) -> set[str]:
    """Names of the JavaScript modules (models' and views') of the widgets saved in an executed notebook."""
    states = saved_widget_states(notebook)
    modules = {entry["model_module"] for entry in states.values()}
    modules |= {entry["state"]["_view_module"] for entry in states.values() if entry["state"].get("_view_module")}
    return modules


def notebook_title(notebook, fallback: str) -> str:
    """The text of the notebook's first ``# `` heading, or ``fallback``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def page_html(notebook, title: str, requirejs_paths: dict[str, str] | None) -> str:
    """The executed notebook as one HTML page (JupyterLab's look) titled ``title``, with its widget state embedded
    and its plotly figures drawn (:func:`plotly_figures_as_html`).

    ``requirejs_paths`` (module name -> script path without ``.js``, relative to the page) are the local copies
    from :func:`copy_widget_modules`; the HTML manager, require.js and plotly.js then come from ``_static/`` too
    (:func:`copy_plotly_script`); None links them from their CDNs and leaves the widget modules to the manager's CDN.
    """
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({PAGE_TEMPLATE: PAGE_TEMPLATE_SOURCE})],
                            template_file=PAGE_TEMPLATE)
    if requirejs_paths is not None:
        exporter.require_js_url = f"{STATIC}/require.js"
        exporter.widget_renderer_url = f"{STATIC}/html-manager/embed-amd.js"
    notebook = copy.deepcopy(notebook)
    drop_stale_buffers(notebook)
    shared_scripts = share_widget_scripts(notebook)
    plotly_js_url = None
    if plotly_figures_as_html(notebook):
        plotly_js_url = (f"{STATIC}/{PLOTLY_SCRIPT}" if requirejs_paths is not None
                         else f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js")
    resources = {"metadata": {"name": title}, "requirejs_paths": requirejs_paths or {}, "plotly_js_url": plotly_js_url,
                 # JSON inside a <script> element: no "<" may close it early, so every one is written \u003c.
                 "shared_scripts_json": json.dumps(shared_scripts).replace("<", "\\u003c") if shared_scripts else ""}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return body


def drop_stale_buffers(notebook) -> int:
    """Remove saved widget buffers whose path no longer leads anywhere in their model's state; returns how many.

    A plotly ``FigureWidget`` updated from Python sends its changes as one-off messages (``_py2js_update`` with
    binary arrays) and then resets the message to None. The saved state keeps the reset value but also the old
    message's buffers, and the HTML manager, putting a buffer back at ``_py2js_update.style_data...``, throws on
    the None; every widget of the page then fails to draw. Changes ``notebook`` in place."""
    states = saved_widget_states(notebook)
    dropped = 0
    for entry in states.values():
        buffers = entry.get("buffers")
        if not buffers:
            continue
        kept = [buffer for buffer in buffers if _leads_somewhere(entry.get("state", {}), buffer["path"])]
        dropped += len(buffers) - len(kept)
        if kept:
            entry["buffers"] = kept
        else:
            del entry["buffers"]
    return dropped


def share_widget_scripts(notebook) -> list[str]:
    """Keep each anywidget script of the saved widget state once per page; return the distinct scripts.

    Every plotly ``FigureWidget`` saves anywidget's ``_esm``, plotly's whole 5 MB widget bundle, in its own state,
    so a lesson with seven live figures made a 36 MB page. Each ``_esm`` text becomes a small module
    (``SHARED_SCRIPT_STUB``) that imports the page's one copy, which the page template turns into a blob URL;
    scripts given as web addresses are left alone. Changes ``notebook`` in place."""
    states = saved_widget_states(notebook)
    scripts: dict[str, int] = {}
    for entry in states.values():
        state = entry.get("state", {})
        script = state.get("_esm")
        if entry.get("model_module") != "anywidget" or not isinstance(script, str) or \
                script.startswith(("http://", "https://")):
            continue
        index = scripts.setdefault(script, len(scripts))
        state["_esm"] = SHARED_SCRIPT_STUB.format(index=index)
    return list(scripts)


def _leads_somewhere(state, path) -> bool:
    """Whether every step of ``path`` but the last reaches a dict or list in ``state``."""
    node = state
    for key in path[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return False
    return isinstance(node, (dict, list))


def plotly_figures_as_html(notebook) -> int:
    """Give every plotly figure output of ``notebook`` (a plotly ``Figure`` shown by a cell: only the
    ``application/vnd.plotly.v1+json`` data that JupyterLab draws, which nbconvert cannot) an HTML rendering that
    draws it with the page's ``window.Plotly``; returns how many. Changes ``notebook`` in place."""
    count = 0
    for data in _undrawn_plotly_outputs(notebook):
        data["text/html"] = plotly.io.to_html(data[PLOTLY_MIME], include_plotlyjs=False, full_html=False,
                                              validate=False)
        count += 1
    return count


def has_plotly_figures(notebook) -> bool:
    """Whether a page of ``notebook`` needs plotly.js (:func:`plotly_figures_as_html` would draw a figure)."""
    return next(_undrawn_plotly_outputs(notebook), None) is not None


def _undrawn_plotly_outputs(notebook):
    """The data of each output that carries a plotly figure's JSON and no HTML rendering."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                yield data


def copy_plotly_script(static_dir: Path) -> None:
    """Copy the plotly.js that the installed plotly package ships into ``static_dir``."""
    source = Path(plotly.__file__).parent / "package_data" / PLOTLY_SCRIPT
    if not source.is_file():
        raise MLIPLabError(f"plotly.js is missing from the plotly package ({source}); reinstall plotly, or build "
                           "with --cdn")
    static_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, static_dir / PLOTLY_SCRIPT)


def npm_pack(package: str, version: str, into: Path) -> Path:
    """Fetch ``package@version`` with npm and unpack it under ``into``; return the package's folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise MLIPLabError("the offline course pages need npm (Node.js) to fetch the Jupyter widgets' HTML manager; "
                           "install Node.js (e.g. apt-get install npm), or build with --cdn to link it from the web")
    result = subprocess.run([npm, "pack", f"{package}@{version}", "--silent", "--pack-destination", str(into)],
                            capture_output=True, text=True)
    tarballs = list(into.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        raise MLIPLabError(f"npm could not fetch {package}@{version} (exit {result.returncode}): "
                           f"{result.stderr.strip()[-500:]}; check the network, or build with --cdn")
    unpacked = into / "unpacked"
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked / "package"  # npm tarballs keep everything under package/


def installed_widget_script(module: str) -> Path | None:
    """This installation's folder of ``module``'s classic-notebook (AMD) script, or None if it has none."""
    for data_dir in jupyter_path("nbextensions"):
        if (Path(data_dir) / module / "index.js").is_file():
            return Path(data_dir) / module
    return None


def copy_page_scripts(static_dir: Path) -> None:
    """Fetch require.js and the HTML manager (``embed-amd.js`` with its fonts) into a fresh ``static_dir``."""
    if static_dir.exists():
        shutil.rmtree(static_dir)
    static_dir.mkdir(parents=True)
    for (package, version), copy in ((REQUIREJS, _copy_requirejs), (HTML_MANAGER, _copy_html_manager)):
        with tempfile.TemporaryDirectory() as scratch:
            copy(npm_pack(package, version, Path(scratch)), static_dir)


def copy_widget_modules(static_dir: Path, modules: set[str]) -> dict[str, str]:
    """Copy this installation's scripts of the third-party widget ``modules`` into ``static_dir``; return
    require.js paths for those found (name -> ``_static/<name>/index``). A module not installed here is left to
    the HTML manager, which loads it from its CDN."""
    paths = {}
    for module in sorted(modules - BUILT_IN_MODULES):
        source = installed_widget_script(module)
        if source is None:
            print(f"note: the widget module {module} is not installed here; the pages load it from the web")
            continue
        shutil.copytree(source, static_dir / module, ignore=shutil.ignore_patterns("*.map"))
        paths[module] = f"{STATIC}/{module}/index"
    return paths


def _copy_requirejs(package: Path, static_dir: Path) -> None:
    shutil.copy(package / "require.js", static_dir / "require.js")


def _copy_html_manager(package: Path, static_dir: Path) -> None:
    # embed-amd.js with the fonts and icons it refers to.
    shutil.copytree(package / "dist", static_dir / "html-manager", ignore=lambda _, names: UNUSED_MANAGER_FILES)


def index_html(pages: list[tuple[str, str]], quick: bool) -> str:
    """A page linking ``pages`` ((title, file name) in course order)."""
    items = "\n".join(f'  <li><a href="{html.escape(name)}">{html.escape(title)}</a></li>' for title, name in pages)
    mode = ("quick mode (small data and few epochs, for checking the build)" if quick
            else "full mode (the numbers the lessons discuss)")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>MLIP Lab course</title>\n'
            f"</head>\n<body>\n<h1>MLIP Lab course</h1>\n<p>Every lesson run top to bottom in {mode}, with its "
            "plots and 3D views saved; open a lesson to read it without a kernel. To change and rerun the "
            "code, open the notebooks in JupyterLab.</p>\n"
            f"<ol>\n{items}\n</ol>\n</body>\n</html>\n")


def build_course_html(notebooks: list[Path], out_dir: str | Path, *, quick: bool, timeout: int | None = None,
                      cdn: bool = False) -> Path:
    """Execute ``notebooks`` in order (one shared, temporary output folder, as a student's run shares
    ``runs/``) and write ``<stem>.html`` for each plus ``index.html`` into ``out_dir``; return the index path.

    ``timeout`` is per notebook, in s. Raises MLIPLabError naming the notebook and the error when one fails.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not cdn:  # before the long run, so that a missing npm stops the build at once
        copy_page_scripts(out_dir / STATIC)
    executed = []
    with tempfile.TemporaryDirectory(prefix="mlip-lab-course-") as outputs:
        for path in notebooks:
            print(f"running {path.name} ({'quick' if quick else 'full'} mode)", flush=True)
            try:
                executed.append((path, run_notebook(path, quick=quick, output_dir=outputs, timeout=timeout)))
            except CellExecutionError as exc:
                raise MLIPLabError(f"{path.name} failed: {exc.ename}: {exc.evalue}; run it in JupyterLab to see "
                                   "where") from exc
            except (CellTimeoutError, DeadKernelError) as exc:
                raise MLIPLabError(f"{path.name} did not finish: {type(exc).__name__}: {exc}") from exc
    return write_course_pages(executed, out_dir, quick=quick, cdn=cdn)


def export_course_html(executed_notebooks: list[Path], out_dir: str | Path, *, cdn: bool = False) -> Path:
    """Write the pages of notebooks that were already executed (e.g. kept by ``benchmarks/course.py --keep DIR``,
    which measures the course in the same run) into ``out_dir`` without running them again; return the index
    path. Every notebook must have been run by MLIP Lab, all in the same mode (MLIPLabError otherwise)."""
    executed = [(path, nbformat.read(path, as_version=4)) for path in executed_notebooks]
    modes = {path.name: executed_mode(notebook, path.name) for path, notebook in executed}
    if len(set(modes.values())) > 1:
        quick = sorted(name for name, mode in modes.items() if mode)
        raise MLIPLabError(f"the notebooks ran in different modes ({', '.join(quick)} in quick mode, the others in "
                           "full mode); export notebooks of one run")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not cdn:
        copy_page_scripts(out_dir / STATIC)
    return write_course_pages(executed, out_dir, quick=any(modes.values()), cdn=cdn)


def write_course_pages(executed: list[tuple[Path, object]], out_dir: Path, *, quick: bool, cdn: bool) -> Path:
    """``<stem>.html`` for each executed notebook, the third-party widget scripts they need (unless ``cdn``) and
    ``index.html`` in ``out_dir``; returns the index path. The HTML manager and require.js (``copy_page_scripts``)
    are the caller's: a build copies them before its long run, so that a missing npm stops it at once."""
    # The executed notebooks say which widget modules the pages need.
    modules = set().union(*(widget_modules(notebook) for _, notebook in executed))
    paths = None if cdn else copy_widget_modules(out_dir / STATIC, modules)
    if not cdn and any(has_plotly_figures(notebook) for _, notebook in executed):
        copy_plotly_script(out_dir / STATIC)
    pages = []
    for path, notebook in executed:
        title = notebook_title(notebook, path.stem)
        (out_dir / f"{path.stem}.html").write_text(page_html(notebook, title, paths), encoding="utf-8")
        pages.append((title, f"{path.stem}.html"))
    index = out_dir / "index.html"
    index.write_text(index_html(pages, quick), encoding="utf-8")
    return index
