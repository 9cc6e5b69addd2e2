"""The static HTML copy of the course (``make course-html``) draws its widgets in a real browser, with no kernel
and no network: lesson 00, built in quick mode, opened from the index page as a local file in headless Chromium.

The widget scripts come from npm at build time (skipped without npm); MathJax still comes from its CDN and is not
checked here. A 3D view must show its molecule, not a speck: without a kernel, NGL's camera only moves where the
saved messages tell it to.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import plotly
import pytest

from mlip_lab.lessons.notebook_run import course_notebooks
from mlip_lab.lessons.static_html import build_course_html
from tests.browser.test_notebooks_in_browser import MARK_NGL_CANVASES_JS, MIN_DRAWN_FRACTION, wait_until_drawn

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.slow]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
LESSON = "00_smoke_widgets"
VIEW_SCRIPT = '<script type="application/vnd.jupyter.widget-view+json">'
RENDER_TIMEOUT_MS = 60_000
# What the HTML manager writes in place of a widget it cannot draw, and the placeholder of a page still loading.
PLACEHOLDERS = ("Error displaying widget", "Error creating widget", "Failed to load model class", "Loading widget")
# The HTML manager falls back to these CDNs for a widget module it has no local copy of.
WIDGET_CDNS = ("cdn.jsdelivr.net", "unpkg.com")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Lesson 00 built in quick mode with local widget scripts; the index page's path."""
    if shutil.which("npm") is None:
        pytest.skip("building the offline course pages needs npm (apt-get install npm)")
    return build_course_html(course_notebooks(NOTEBOOKS_DIR, [LESSON]), tmp_path_factory.mktemp("course-html"),
                             quick=True, timeout=600)


def test_lesson_page_from_the_index_draws_its_widgets_offline(site, browser, screenshot_dir):
    lesson_html = (site.parent / f"{LESSON}.html").read_text()
    n_views = lesson_html.count(VIEW_SCRIPT)
    assert n_views >= 2, "lesson 00 shows a 3D view and a plotly figure; their views were not saved"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(site.as_uri())
        page.click(f'a[href="{LESSON}.html"]')
        page.wait_for_url(f"**/{LESSON}.html")
        # The HTML manager draws each saved view into a .widget-subarea next to its script.
        page.wait_for_function(f"() => document.querySelectorAll('.widget-subarea').length === {n_views}",
                               timeout=RENDER_TIMEOUT_MS, polling=500)
        page.wait_for_selector(".widget-subarea .js-plotly-plot .main-svg", timeout=RENDER_TIMEOUT_MS)
        page.wait_for_function(MARK_NGL_CANVASES_JS, timeout=RENDER_TIMEOUT_MS, polling=500)
        canvases = page.locator("canvas[data-mlip-ngl]")
        drawn = []
        for k in range(canvases.count()):
            png, fraction = wait_until_drawn(canvases.nth(k), RENDER_TIMEOUT_MS / 1000)
            (screenshot_dir / f"course-html-{LESSON}.nglview-{k}.png").write_bytes(png)
            drawn.append(round(fraction, 4))
        page.screenshot(path=str(screenshot_dir / f"course-html-{LESSON}.png"), full_page=True)
        assert min(drawn) > MIN_DRAWN_FRACTION, f"an nglview canvas is blank or a speck: drawn fractions {drawn}"
        assert page.locator(".widget-subarea .mlip-colorbar").count() == 1, "the ipywidgets colour bar is missing"
        body = page.inner_text("body")
        assert [text for text in PLACEHOLDERS if text in body] == []
        assert [url for url in requested if any(cdn in url for cdn in WIDGET_CDNS)] == [], \
            "widget scripts were fetched from the web instead of the local copies"
    finally:
        context.close()


def test_figure_widget_updated_from_python_and_a_plotly_figure_draw(tmp_path, browser, screenshot_dir):
    """A FigureWidget that Python changed after display leaves stale buffers in the saved state (the cause of blank
    widget pages in lessons 01, 03, 04 and 06) and, unless changed through ``live_update``, its initial data; a plain
    plotly Figure leaves only its JSON. All must draw, the FigureWidget with its updated data, and the two
    FigureWidgets from the page's one copy of plotly's widget bundle."""
    if shutil.which("npm") is None:
        pytest.skip("building the offline course pages needs npm (apt-get install npm)")
    cells = ["import plotly.graph_objects as go\nfig = go.FigureWidget(go.Scatter(x=[0, 1, 2], y=[0, 1, 0]))\nfig",
             "import numpy as np\nfrom mlip_lab.viz.live import live_update\n"
             "with live_update(fig):  # one update message with a binary array, and the saved state updated\n"
             "    fig.data[0].y = np.array([2.0, 0.5, 1.5])",
             "go.Figure(go.Bar(x=['a', 'b'], y=[1, 2]))",
             "go.FigureWidget(go.Scatter(x=[0, 1], y=[3, 4]))"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 09 · Figures")]
                                        + [nbformat.v4.new_code_cell(source) for source in cells])
    nbformat.write(notebook, tmp_path / "09_figures.ipynb")
    index = build_course_html([tmp_path / "09_figures.ipynb"], tmp_path / "site", quick=True, timeout=300)
    page_size = (index.parent / "09_figures.html").stat().st_size
    bundle_size = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").stat().st_size
    assert page_size < 1.5 * bundle_size, f"a {page_size} B page: the {bundle_size} B widget bundle is saved twice"
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto((index.parent / "09_figures.html").as_uri())
        try:
            page.wait_for_selector(".widget-subarea .js-plotly-plot .main-svg", timeout=RENDER_TIMEOUT_MS)
        finally:
            page.screenshot(path=str(screenshot_dir / "course-html-figures.png"), full_page=True)
        assert not [e for e in errors if "style_data" in e], errors
        assert page.locator(".js-plotly-plot").count() == 3, "both FigureWidgets and the plotly Figure should draw"
        drawn = page.evaluate("() => Array.from(document.querySelector('.widget-subarea .js-plotly-plot').data[0].y)")
        assert drawn == [2.0, 0.5, 1.5], "the FigureWidget shows its data from before the update"
        second = page.evaluate("() => Array.from(document.querySelectorAll('.widget-subarea .js-plotly-plot')[1].data[0].y)")
        assert second == [3, 4]
    finally:
        context.close()
