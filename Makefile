# Two entry points on a fresh machine:
#   make lab   -> JupyterLab on notebooks/00_start_here.ipynb (127.0.0.1, normal token)
#   make test  -> the whole test suite (unit, notebooks via papermill, browser tests)
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rnnexplore-installed
PORT   ?= 8888

.PHONY: lab app test test-fast browser screenshot bench doctor clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch first, so that nothing else pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0+cpu" \
	  || $(PY) -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
	$(PY) -m pip install --quiet -e ".[all]"
	# same JupyterLab settings as Binder (no news pop-up)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/rnnexplore lab --port $(PORT)

app: $(STAMP)
	$(VENV)/bin/voila notebooks/app_explorer.ipynb --port=$(PORT) --no-browser --Voila.ip=127.0.0.1

browser:
	@bash .ci/ensure-chromium

test: $(STAMP) browser
	$(PY) -m pytest -q --timeout=1500

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e and not slow"

screenshot: $(STAMP) browser
	RNNEXPLORE_SCREENSHOT=docs/explorer.png $(PY) -m pytest -q tests/e2e -k explorer

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

doctor: $(STAMP)
	$(VENV)/bin/rnnexplore doctor

clean-venv:
	rm -rf $(VENV)
