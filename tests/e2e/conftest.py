"""Fixtures for real-browser tests: Debian's chromium driven by Playwright for Python.

Chromium missing is a skip on a developer machine but a failure in CI (``CI`` set), because
`make test` installs it there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import lab_server  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        msg = "Debian's chromium is not installed (make test installs it: .ci/ensure-chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    # one chromium for the whole run (each test gets its own context). Playwright's sync API keeps
    # an asyncio loop running in this thread while it is alive; no unit test runs in it because
    # tests/conftest.py orders the browser tests last.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """``(base_url, token)`` of a JupyterLab serving the repository (app exposed to JS)."""
    tmp = tmp_path_factory.mktemp("lab")
    # no autosave: the notebooks the tests run must not be written back into the repository
    plugin = tmp / "settings" / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    plugin.parent.mkdir(parents=True)
    plugin.write_text('{"autosave": false}')
    with lab_server(tmp) as (base, token, _proc):
        yield base, token
