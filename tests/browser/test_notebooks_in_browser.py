"""Every notebook runs in a real JupyterLab in headless Chromium: no errors, and its widgets really render.

Beyond tests/test_notebooks.py (which runs the code without a browser) this catches what only a browser
sees: a JupyterLab extension that fails to load, a widget that shows an error instead of itself, or a 3D
view whose WebGL canvas stays blank. Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PlaywrightTimeout = pytest.importorskip("playwright.sync_api", reason="needs the [dev] extra").TimeoutError

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT_S = float(os.environ.get("MLIP_LAB_BROWSER_TIMEOUT", "600"))  # per notebook, quick mode
RENDER_TIMEOUT_S = 60.0  # widgets draw after their cell has finished
MIN_DRAWN_FRACTION = 0.003  # of an nglview canvas's pixels (water fills ~1 %, a speck ~0.05 %)

USES_NGLVIEW = re.compile(r"nglview|molecule_view|show_ase")
USES_PLOTLY = re.compile(r"plotly|FigureWidget|TrainingDashboard")
WIDGET_FAILURES = ("Error displaying widget", "Failed to load model class", "Error creating widget")

# The notebook panel JupyterLab opened for <path>, or null while it is still loading.
PANEL_JS = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.sessionContext) return w;
  }
  return null;
}"""

KERNEL_IDLE_JS = f"""(path) => {{
  const w = ({PANEL_JS})(path);
  const kernel = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}}"""

RUN_ALL_JS = f"""(path) => {{
  const w = ({PANEL_JS})(path);
  window.jupyterapp.shell.activateById(w.id);
  void window.jupyterapp.commands.execute('notebook:run-all-cells');  // resolves only when all have run
}}"""

# Finished: the kernel is idle and every non-empty code cell has run, or one failed (the rest never will).
FINISHED_JS = f"""(path) => {{
  const w = ({PANEL_JS})(path);
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  const done = cells.every(c => c.model.executionCount !== null || c.model.sharedModel.getSource().trim() === '');
  return failed || done;
}}"""

# Errors in the outputs' data: raised exceptions and tracebacks printed to stderr.
ERRORS_JS = f"""(path) => {{
  const w = ({PANEL_JS})(path);
  const errors = [];
  w.content.widgets.forEach((c, i) => {{
    if (c.model.type !== 'code') return;
    for (const o of c.model.outputs.toJSON()) {{
      if (o.output_type === 'error') errors.push(`cell ${{i}}: ${{o.ename}}: ${{o.evalue}}`);
      const text = Array.isArray(o.text) ? o.text.join('') : (o.text || '');
      if (o.output_type === 'stream' && o.name === 'stderr' && text.includes('Traceback'))
        errors.push(`cell ${{i}} stderr: ${{text.slice(-500)}}`);
    }}
  }});
  return errors;
}}"""

# Mark NGL's canvases (plotly may draw on canvases too, always inside its .js-plotly-plot divs); return how many.
MARK_NGL_CANVASES_JS = """() => {
  const canvases = [...document.querySelectorAll('.jp-OutputArea-output canvas')]
    .filter(c => !c.closest('.js-plotly-plot'));
  canvases.forEach(c => c.setAttribute('data-mlip-ngl', ''));
  return canvases.length;
}"""

NOT_RUN_JS = f"""(path) => {{
  const w = ({PANEL_JS})(path);
  return w.content.widgets.map((c, i) => [c, i]).filter(([c]) => c.model.type === 'code'
    && c.model.executionCount === null && c.model.sharedModel.getSource().trim() !== '').map(([, i]) => i);
}}"""


def drawn_fraction(png: bytes) -> float:
    """Fraction of a PNG's pixels that differ clearly from its most common colour (the background).

    0 for a blank canvas, about 1 % for a water molecule in a 420 x 320 view, about 0.05 % for a molecule drawn
    as a speck (a camera that never zoomed onto it), which should fail too.
    """
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int).reshape(-1, 3)
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colors[counts.argmax()]
    return float((np.abs(pixels - background).max(axis=1) > 16).mean())


def wait_until_drawn(locator, timeout_s: float) -> tuple[bytes, float]:
    """Screenshot ``locator`` until enough of it is drawn (NGL draws after the cell has finished)."""
    deadline = time.monotonic() + timeout_s
    while True:
        png = locator.screenshot()
        fraction = drawn_fraction(png)
        if fraction > MIN_DRAWN_FRACTION or time.monotonic() > deadline:
            return png, fraction
        time.sleep(1.0)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    yield page
    context.close()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_renders_in_jupyterlab(path: Path, lab_server, page, screenshot_dir):
    name = path.name
    stored = path.read_bytes()
    source = "\n".join("".join(c["source"]) for c in json.loads(stored)["cells"] if c["cell_type"] == "code")
    page_shot = screenshot_dir / f"{path.stem}.png"

    page.goto(lab_server.lab_url(name))
    page.wait_for_function(f"(path) => !!({PANEL_JS})(path)", arg=name, timeout=120_000)
    page.wait_for_function(KERNEL_IDLE_JS, arg=name, timeout=120_000, polling=500)
    started = time.monotonic()
    page.evaluate(RUN_ALL_JS, name)
    try:
        page.wait_for_function(FINISHED_JS, arg=name, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    except PlaywrightTimeout:
        page.screenshot(path=str(page_shot))
        pending = page.evaluate(NOT_RUN_JS, name)
        pytest.fail(f"{name}: not finished after {RUN_TIMEOUT_S:.0f} s; code cells not run: {pending}")
    run_seconds = time.monotonic() - started
    page.screenshot(path=str(page_shot))  # replaced below by one showing a 3D view, if there is one

    def report() -> str:
        return f"{name} (ran in {run_seconds:.0f} s); browser console errors: {page.console_errors[-5:]}"

    assert page.evaluate(ERRORS_JS, name) == [], f"{report()}\nerror outputs: {page.evaluate(ERRORS_JS, name)}"
    stderr_tracebacks = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                                     has_text="Traceback")
    assert stderr_tracebacks.count() == 0, f"{report()}\ntracebacks on stderr"
    assert page.evaluate(NOT_RUN_JS, name) == [], f"{report()}\nsome cells never ran"

    if USES_NGLVIEW.search(source):
        page.wait_for_function(MARK_NGL_CANVASES_JS, timeout=RENDER_TIMEOUT_S * 1000, polling=500)
        canvases = page.locator("canvas[data-mlip-ngl]")
        drawn = []
        for k in range(canvases.count()):
            canvases.nth(k).scroll_into_view_if_needed()
            png, fraction = wait_until_drawn(canvases.nth(k), RENDER_TIMEOUT_S)
            (screenshot_dir / f"{path.stem}.nglview-{k}.png").write_bytes(png)
            drawn.append(round(fraction, 4))
        canvases.first.scroll_into_view_if_needed()
        page.screenshot(path=str(page_shot))
        assert min(drawn) > MIN_DRAWN_FRACTION, f"{report()}\nan nglview canvas is blank or a speck: drawn {drawn}"
    if USES_PLOTLY.search(source):
        page.wait_for_selector(".jp-OutputArea-output .js-plotly-plot", timeout=RENDER_TIMEOUT_S * 1000)

    outputs = page.locator(".jp-OutputArea-output")
    widget_failures = [text for text in WIDGET_FAILURES if outputs.filter(has_text=text).count()]
    assert not widget_failures, f"{report()}\nwidgets failed to render: {widget_failures}"
    assert path.read_bytes() == stored, f"{name} was modified on disk by the browser run"
