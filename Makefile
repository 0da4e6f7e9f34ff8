# Two entry points on a fresh machine:
#   make lab   -> JupyterLab on notebooks/00_start_here.ipynb (127.0.0.1, normal token)
#   make test  -> the whole test suite (unit, notebooks via papermill, browser tests)
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.rnnexplore-installed
PORT   ?= 8888
# requirements.lock pins every package for Linux x86_64, CPython 3.11 (CI's machine); pyproject.toml
# keeps the ranges. uv installs it (32 s against pip's 70 s on a fresh venv, docs/install.md).
LOCK        := requirements.lock
UV_VERSION  := 0.13.9
TORCH_CPU   := torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# uv does not read pip's configuration: hand it pip's find-links (where a local CPU torch wheel
# may lie), else the CPU index.
FIND_LINKS  := $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$$/\1/p" | head -n 1)
TORCH_FROM  := $(if $(FIND_LINKS),--find-links $(FIND_LINKS),--extra-index-url $(TORCH_INDEX) --index-strategy unsafe-best-match)

.PHONY: lab app test test-fast browser screenshot bench doctor docs lock clean-venv

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	# CPU build of torch first, so that nothing else pulls a multi-GB CUDA build.
	$(UV) pip install --quiet --python $(PY) "$(TORCH_CPU)" $(TORCH_FROM) \
	  || $(UV) pip install --quiet --python $(PY) "$(TORCH_CPU)" --index-url $(TORCH_INDEX)
	# then exactly the locked versions, then the package itself (editable, no dependency resolution)
	$(UV) pip install --quiet --python $(PY) -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	# same JupyterLab settings as Binder (no news pop-up)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# Re-resolve pyproject.toml's ranges (extra "all") to today's newest versions; run `make test`
# afterwards and commit requirements.lock with the code it passed with.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	echo "$(TORCH_CPU)" > torch-cpu.txt
	$(UV) pip compile pyproject.toml --extra all --quiet --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --override torch-cpu.txt $(TORCH_FROM) \
	  --no-emit-find-links --no-emit-index-url --custom-compile-command "make lock" -o $(LOCK); \
	  status=$$?; rm -f torch-cpu.txt; exit $$status

lab: $(STAMP)
	$(VENV)/bin/rnnexplore lab --port $(PORT)

app: $(STAMP)
	$(VENV)/bin/rnnexplore app --port $(PORT) --no-browser

browser:
	@bash .ci/ensure-chromium

# Two cores, two pytest-xdist workers for everything but the browser tests (a test module is one unit
# of work, so module-scoped fixtures are computed once; tests/conftest.py); then the browser tests
# (servers, chromium, the docs site built from the notebooks the first run executed) on their own, so
# that their frame counts see a quiet machine. Both always run; make fails if either failed.
XDIST ?= -n 2 --dist loadscope --no-loadscope-reorder
test: $(STAMP) browser
	status=0; \
	$(PY) -m pytest -q --timeout=1500 $(XDIST) -m "not e2e" || status=$$?; \
	$(PY) -m pytest -q --timeout=1500 tests/e2e || status=$$?; \
	exit $$status

test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m "not e2e and not slow"

screenshot: $(STAMP) browser
	RNNEXPLORE_SCREENSHOT=docs/explorer.png $(PY) -m pytest -q tests/e2e -k explorer

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# The documentation site (docs/_build/html), warnings are errors. Notebook pages use the executed
# copies the notebook tests leave in tests/_out/ (docs/prepare.py runs only missing or stale ones).
docs: $(STAMP)
	$(PY) docs/prepare.py
	$(PY) -m sphinx -W --keep-going -E -b html -q docs docs/_build/html

doctor: $(STAMP)
	$(VENV)/bin/rnnexplore doctor

clean-venv:
	rm -rf $(VENV)
