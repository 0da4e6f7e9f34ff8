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

_SHARED_SCOPES = ("module", "class", "package")


def _shares_a_fixture(item) -> bool:
    """``item`` uses a fixture computed once per module/class (it must not be split over workers)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in _SHARED_SCOPES for defs in info.name2fixturedefs.values() for d in defs)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark browser tests ``e2e`` and run them last (they start servers and a browser).

    For pytest-xdist's ``--dist loadgroup``: the tests of a module that share a module- or
    class-scoped fixture form one group (the fixture is computed once, on one worker), and
    ``slow`` tests go first so that the long ones do not end up last on one worker.
    """
    e2e, rest = [], []
    for item in items:
        if "/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            e2e.append(item)
        else:
            rest.append(item)
    if config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup":
        for item in rest + e2e:
            if _shares_a_fixture(item):
                item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        rest.sort(key=lambda it: it.get_closest_marker("slow") is None)  # stable: order kept otherwise
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
