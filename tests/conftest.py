import os
import sys
from pathlib import Path

import pytest

# make tests/ helpers (notebook_runner, servers, ...) importable from every test module
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Under pytest-xdist (`make test`: two workers on two cores) each worker computes with one thread:
# two workers with two BLAS/torch threads each would oversubscribe the cores. Set before a test
# module imports numpy or torch; kernels and servers started by tests inherit it.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")


def pytest_collection_modifyitems(config, items):
    """Mark browser tests ``e2e`` and run them last (they start servers and a browser).

    Under pytest-xdist (``make test``: ``--dist loadscope --no-loadscope-reorder``, a module is one
    unit of work, so a module-scoped fixture is computed once) the modules with ``slow`` tests are
    handed out first, so that a long module does not start last on one worker.
    """
    e2e, rest = [], []
    for item in items:
        if "/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            e2e.append(item)
        else:
            rest.append(item)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        slow_modules = {it.nodeid.split("::")[0] for it in rest if it.get_closest_marker("slow")}
        rest.sort(key=lambda it: it.nodeid.split("::")[0] not in slow_modules)  # stable sort
    items[:] = rest + e2e


@pytest.fixture(autouse=True)
def _working_directory_is_restored():
    """A test that changes the process's working directory must restore it (monkeypatch.chdir)."""
    before = os.getcwd()
    yield
    after = os.getcwd()
    if after != before:
        os.chdir(before)
        pytest.fail(f"the test left the working directory in {after} (was {before})")
