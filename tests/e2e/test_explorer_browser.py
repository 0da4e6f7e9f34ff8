"""The cycle explorer app in a real browser (Debian chromium): JupyterLab and Voila.

Open ``notebooks/app_explorer.ipynb``, focus the ``A[0]`` slider, press ArrowRight, and check that
the status line reports the new objects, that the figure's pixels changed and that no cell
shows an error. The time from key press to updated status is printed (run with ``-s``).
With ``RNNEXPLORE_SCREENSHOT=path.png`` a screenshot of the app is saved there
(``make screenshot`` -> docs/explorer.png).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from jlab import error_outputs, open_notebook, run_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ROOT, voila_server  # noqa: E402

APP = "notebooks/app_explorer.ipynb"
STATUS = ".rnx-explorer-status"
FIGURE = ".rnx-explorer-figure"
HANDLE = ".rnx-param-A-0 .noUi-handle"
LOAD_MS = 120_000


def _status(page) -> str:
    return page.locator(STATUS).inner_text()


def _wait_ready(page) -> None:
    """The app has rendered: status line with counts and a drawn figure canvas."""
    page.wait_for_function(
        """(sel) => { const s = document.querySelector(sel);
                      return s && /object/.test(s.innerText); }""",
        arg=STATUS, timeout=LOAD_MS, polling=200)
    page.locator(f"{FIGURE} canvas").first.wait_for(state="visible", timeout=LOAD_MS)
    _settle_figure(page)


def _figure_png(page) -> bytes:
    return page.locator(FIGURE).first.screenshot()


def _settle_figure(page, timeout: float = 20.0) -> bytes:
    """Screenshot of the figure once two consecutive shots agree (ipympl draws asynchronously)."""
    last = _figure_png(page)
    deadline = time.time() + timeout
    while time.time() < deadline:
        page.wait_for_timeout(300)
        cur = _figure_png(page)
        if cur == last:
            return cur
        last = cur
    return last


def _press_and_time(page, key: str = "ArrowRight") -> tuple[str, str, float]:
    """Focus the A[0] slider, press ``key``; return (status before, after, seconds)."""
    before = _status(page)
    handle = page.locator(HANDLE).first
    handle.focus()
    t0 = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        """([sel, old]) => { const s = document.querySelector(sel);
                             return s && s.innerText !== old && /object/.test(s.innerText); }""",
        arg=[STATUS, before], timeout=30_000, polling="raf")
    return before, _status(page), time.perf_counter() - t0


def _check_slider_moves_the_dynamics(page, where: str) -> None:
    fig_before = _settle_figure(page)
    before, after, dt = _press_and_time(page)
    print(f"\n[{where}] key press -> updated status: {1000 * dt:.0f} ms")
    print(f"[{where}] status before: {before}\n[{where}] status after:  {after}")
    assert before.split(":")[-1] != after  # new objects reported
    assert "A[0] = 0.8478" in after, after  # one slider step (0.01) from the paper's 0.8377689
    # the paper's stable 16-cycle and its saddle partner are annihilated at A[0] ~ 0.8448
    assert "1 object up to order 16" in after and "0 stable" in after, after
    assert "refused" not in after and "error" not in after.lower()
    page.wait_for_function(
        """() => /pair_annihilation/.test(document.querySelector('.rnx-explorer-events').innerText)""",
        timeout=10_000, polling=100)
    # the canvas changed (objects removed): compare pixels once ipympl has redrawn
    deadline = time.time() + 20
    fig_after = _figure_png(page)
    while fig_after == fig_before and time.time() < deadline:
        page.wait_for_timeout(250)
        fig_after = _figure_png(page)
    assert fig_after != fig_before, "the figure did not change after the slider moved"
    _settle_figure(page)


def _burst(page, where: str, key: str, n: int, final: str) -> None:
    """``n`` key presses in a row: the app ends at the last value (stale events dropped)."""
    page.locator(HANDLE).first.focus()
    t0 = time.perf_counter()
    for _ in range(n):
        page.keyboard.press(key)
    page.wait_for_function(
        """([sel, final]) => { const s = document.querySelector(sel);
                               return s && s.innerText.startsWith(final); }""",
        arg=[STATUS, final], timeout=30_000, polling="raf")
    print(f"[{where}] {n} x {key} -> final status: {1000 * (time.perf_counter() - t0):.0f} ms")


def _sweep_down_and_back(page, where: str) -> None:
    """From A[0] = 0.8478 down 8 steps (a border collision on the way), then back up 7 steps to
    the paper's value, where the stable 16-cycle is born again with its saddle partner."""
    _burst(page, where, "ArrowLeft", 8, "A[0] = 0.7678: 1 object")
    _burst(page, where, "ArrowRight", 7, "A[0] = 0.8378: 3 objects")
    page.wait_for_function(
        """() => /pair_creation/.test(document.querySelector('.rnx-explorer-events').innerText)""",
        timeout=10_000, polling=100)


def _maybe_screenshot(page) -> None:
    target = os.environ.get("RNNEXPLORE_SCREENSHOT")
    if not target:
        return
    path = Path(target)
    if not path.is_absolute():
        path = ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    _settle_figure(page)
    page.locator(".rnx-explorer").first.screenshot(path=str(path))
    print(f"screenshot saved to {path}")


def _kernel_print(page, code: str) -> str:
    """Run ``code`` in the notebook's kernel (JupyterLab) and return what it printed."""
    return page.evaluate(
        """async (code) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const f = k.requestExecute({code, silent: false, store_history: false});
            let out = '';
            f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
            await f.done;
            return out;
        }""", code)


def test_explorer_in_jupyterlab(lab, page):
    base, token = lab
    open_notebook(page, base, token, APP)
    run_all(page)
    assert error_outputs(page) == []
    _wait_ready(page)
    assert page.locator(".rnx-explorer-slider").count() == 8  # A (2), W (4), h (2)
    for cls in ("order", "preset", "reset", "table", "events", "share", "projection"):
        assert page.locator(f".rnx-explorer-{cls}").count() == 1, cls
    assert "3 objects up to order 16" in _status(page)
    _check_slider_moves_the_dynamics(page, "JupyterLab")
    # that frame was a blit (objects redrawn over the cached background) and it reached the page
    mode = _kernel_print(page, "print(app.timings['last_draw_mode'])").strip()
    print(f"[JupyterLab] draw mode of that event: {mode}")
    assert mode == "blit"
    _sweep_down_and_back(page, "JupyterLab")
    counts = _kernel_print(page, "t = app.timings; print(t['requests'], t['deferred'], t['computes'])").split()
    print(f"[JupyterLab] slider events received: {counts[0]} ({counts[1]} through the event loop), "
          f"recomputes run: {counts[2]}")
    assert int(counts[2]) <= int(counts[0])
    assert error_outputs(page) == []


def test_explorer_in_voila(page, tmp_path):
    with voila_server(ROOT / APP, tmp_path) as (base, _proc):
        page.goto(base, timeout=LOAD_MS)
        _wait_ready(page)
        assert "3 objects up to order 16" in _status(page)
        _check_slider_moves_the_dynamics(page, "Voila")
        _sweep_down_and_back(page, "Voila")
        _maybe_screenshot(page)
        text = page.locator("body").inner_text()
        assert "Traceback" not in text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", "-q"]))
