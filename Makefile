# Two entry points: `make lab` (set up, open JupyterLab) and `make test` (set up, run the whole suite).
# `make test-fast` is the inner loop: everything except quantum chemistry, notebooks, browsers and other slow tests.
# Everything lives in .venv; torch is the CPU build (never the multi-GB CUDA wheel on a CPU box).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mlip-lab-installed
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: setup lab test test-fast doctor clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# CPU torch first, so the project's "torch>=..." is already satisfied and pulls nothing bigger.
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet --retries 1 --timeout 20 "torch==2.13.0" --extra-index-url $(TORCH_CPU_INDEX)
	$(PIP) install --quiet -e ".[lab,qc,dev,torchsim,cg]"
	# Browser tests drive Debian's Chromium (never a downloaded browser build).
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: no Chromium (install the 'chromium' package); browser tests will be skipped"
	command -v npm >/dev/null || echo "note: no npm (install Node.js); make course-html and its browser test need it"
	touch $(STAMP)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not qc and not notebook and not browser"

# The course as static HTML with the widgets' state saved: build/course-html/index.html. QUICK=1 for quick mode;
# NOTEBOOKS="00_smoke_widgets ..." to build some lessons only. Needs npm for the widget scripts (see the command's --help).
# EXECUTED=DIR exports the notebooks benchmarks/course.py --keep DIR kept, without running them again.
.PHONY: course-html
course-html: setup
	$(VENV)/bin/mlip-lab course html $(if $(filter 1,$(QUICK)),--quick) $(if $(EXECUTED),--executed $(EXECUTED)) $(NOTEBOOKS)

doctor: setup
	$(VENV)/bin/mlip-lab doctor

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
