"""The feature-quality explorer in a real browser (Debian chromium) in JupyterLab.

A throw-away notebook (under the git-ignored ``tests/_out/``) shows a small
``FeatureQualityExplorer``. The test clicks "run" on a long training, watches the progress
bar and the status line move while the kernel still answers other requests, clicks "cancel",
then starts a short run again and waits for its result in the status line and in the figure;
no cell and no status line may show an error.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import pytest
from jlab import error_outputs, open_notebook, run_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ROOT  # noqa: E402

STATUS = ".rnx-fq-status"
FIGURE = ".rnx-fq-figure"
LOAD_MS = 120_000

CELL = """%matplotlib widget
from rnnexplore.apps.featurequality import FeatureQualityState
from rnnexplore.widgets.featurequality import FeatureQualityExplorer

app = FeatureQualityExplorer(FeatureQualityState(task="S3 (d=15)", depth=1, width=16, steps=1_000_000,
                                                 n_train=250, n_test=200))
app"""


@pytest.fixture
def app_notebook():
    """Path (relative to the repository) of a one-cell notebook showing the explorer."""
    folder = ROOT / "tests" / "_out" / f"fq-e2e-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "fq-app", "metadata": {},
                     "outputs": [], "source": CELL}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = folder / "fq_app.ipynb"
    path.write_text(json.dumps(nb))
    yield path.relative_to(ROOT).as_posix()
    for p in sorted(folder.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    folder.rmdir()


def _status(page) -> str:
    return page.locator(STATUS).inner_text()


def _wait_status(page, pattern: str, timeout_ms: int = 120_000) -> str:
    page.wait_for_function(
        """([sel, pat]) => { const s = document.querySelector(sel);
                             return s && new RegExp(pat).test(s.innerText); }""",
        arg=[STATUS, pattern], timeout=timeout_ms, polling=200)
    return _status(page)


def _progress_percent(page) -> float:
    """Width of the progress bar's filled part, in percent of the bar."""
    return page.evaluate(
        """() => { const bar = document.querySelector('.rnx-fq-progress .progress-bar');
                   return bar ? parseFloat(bar.style.width || '0') : -1; }""")


def _kernel_print(page, code: str, timeout_ms: int = 30_000) -> str:
    """Run ``code`` in the notebook's kernel and return what it printed (fails if it blocks)."""
    return page.evaluate(
        """async ([code, timeout]) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const f = k.requestExecute({code, silent: false, store_history: false});
            let out = '';
            f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
            const t = new Promise((_, reject) => setTimeout(() => reject(new Error('kernel blocked')), timeout));
            await Promise.race([f.done, t]);
            return out;
        }""", [code, timeout_ms])


def _figure_png(page) -> bytes:
    return page.locator(FIGURE).first.screenshot()


def test_featurequality_explorer_runs_cancels_and_runs_again(lab, page, app_notebook):
    base, token = lab
    open_notebook(page, base, token, app_notebook)
    run_all(page)
    assert error_outputs(page) == []
    page.locator(f"{FIGURE} canvas").first.wait_for(state="visible", timeout=LOAD_MS)
    for cls in ("run", "cancel", "progress", "steps", "ntrain", "task", "allsizes", "load"):
        assert page.locator(f".rnx-fq-{cls}").count() == 1, cls
    assert "0 runs" in _status(page)

    # a long run: progress moves, the kernel still answers, then cancel
    page.locator(".rnx-fq-run").click()
    text = _wait_status(page, r"step \d+/1000000")
    print(f"\nstatus while training: {text}")
    first = _progress_percent(page)
    t0 = time.perf_counter()
    answer = _kernel_print(page, "print(app.state.busy, 6 * 7)")
    print(f"kernel answered during training in {1000 * (time.perf_counter() - t0):.0f} ms: {answer.strip()}")
    assert answer.split() == ["True", "42"]
    page.wait_for_function(
        """(p0) => { const bar = document.querySelector('.rnx-fq-progress .progress-bar');
                     return bar && parseFloat(bar.style.width || '0') > p0; }""",
        arg=first, timeout=60_000, polling=200)
    assert page.locator(".rnx-fq-run").is_disabled() and page.locator(".rnx-fq-cancel").is_enabled()
    page.locator(".rnx-fq-cancel").click()
    text = _wait_status(page, "cancelled")
    print(f"after cancel: {text}")
    assert "0 finished" in text
    assert _kernel_print(page, "print(app.state.job.state, len(app.state.result))").split() == ["cancelled", "0"]

    # start again with a short run: the result reaches the status line and the figure
    fig_before = _figure_png(page)
    steps = page.locator(".rnx-fq-steps input")
    steps.fill("300")
    steps.press("Enter")
    page.wait_for_function("() => true")  # let the widget sync the value
    _kernel_print(page, "import time\nfor _ in range(100):\n    time.sleep(0.05)\n    if app.steps.value == 300: break\nprint(app.steps.value)")
    page.locator(".rnx-fq-run").click()
    text = _wait_status(page, r"run\(s\) done", timeout_ms=240_000)
    print(f"after the second run: {text}")
    assert "FQ=" in text and "1 runs" in text
    deadline = time.time() + 20
    fig_after = _figure_png(page)
    while fig_after == fig_before and time.time() < deadline:
        page.wait_for_timeout(250)
        fig_after = _figure_png(page)
    assert fig_after != fig_before, "the figure did not change after the run"

    assert error_outputs(page) == []
    assert page.locator(".rnx-status-error").count() == 0
    assert _kernel_print(page, "print(app.last_error is None, app.state.job.state)").split() == ["True", "done"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", "-q"]))
