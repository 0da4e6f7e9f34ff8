import os
import sys
from pathlib import Path

import pytest

# make tests/ helpers (notebook_runner, servers, ...) importable from every test module
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_collection_modifyitems(items):
    """Mark browser tests ``e2e`` and run them last (they start servers and a browser)."""
    e2e, rest = [], []
    for item in items:
        if "/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            e2e.append(item)
        else:
            rest.append(item)
    items[:] = rest + e2e
