"""The bifurcation-map and replay apps in a real browser (Debian chromium), at 1280 x 800.

- Notebook 03 (SMOKE) in JupyterLab with the file browser open: the BifurcationExplorer's panels
  fit the page (element bounding boxes); a rectangle drag on the map shows progress while the
  kernel keeps answering, Cancel stops it and leaves the map, a second drag completes while
  another cell is executing.
- The replay app (SMOKE) in Voila and in JupyterLab: Play for 3 s, the browser counts the
  distinct frames drawn; the picture fits the page.

Numbers (kernel round trip during a zoom, frames per second) are printed (run with ``-s``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import pytest
from jlab import error_outputs, open_notebook, run_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ROOT, lab_server, voila_server  # noqa: E402

NB03 = "notebooks/03_bifurcation_maps.ipynb"
REPLAY_APP = "notebooks/app_replay.ipynb"
BIF_APP = "notebooks/app_bifurcation.ipynb"
VIEWPORT = {"width": 1280, "height": 800}
LOAD_MS = 300_000


@contextlib.contextmanager
def _smoke_env():
    old = os.environ.get("RNNEXPLORE_SMOKE")
    os.environ["RNNEXPLORE_SMOKE"] = "1"  # the servers' kernels inherit it: notebooks run small
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RNNEXPLORE_SMOKE", None)
        else:
            os.environ["RNNEXPLORE_SMOKE"] = old


@pytest.fixture(scope="module")
def smoke_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("applab")
    # no autosave: the executed notebooks must not be written back into the repository
    plugin = tmp / "settings" / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    plugin.parent.mkdir(parents=True)
    plugin.write_text('{"autosave": false}')
    with _smoke_env(), lab_server(tmp) as (base, token, _proc):
        yield base, token


@pytest.fixture
def small_page(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    pg = ctx.new_page()
    yield pg
    ctx.close()


def _kernel_run(page, code: str, timeout_ms: int = 120_000) -> tuple[str, float]:
    """Run ``code`` in the current notebook's kernel; (printed text, seconds until done)."""
    return tuple(page.evaluate(
        """async ([code, timeout]) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const t0 = performance.now();
            const f = k.requestExecute({code, silent: false, store_history: false});
            let out = '';
            f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
            await Promise.race([f.done, new Promise((_, bad) => setTimeout(() => bad('timeout'), timeout))]);
            return [out, (performance.now() - t0) / 1000];
        }""", [code, timeout_ms]))


def _open_side_bar(page) -> None:
    page.evaluate("""() => { const app = window.jupyterapp;
                             if (app.shell.leftCollapsed) app.commands.execute('filebrowser:activate'); }""")
    page.wait_for_function("() => !window.jupyterapp.shell.leftCollapsed", timeout=10_000)
    page.wait_for_timeout(500)


def _boxes_fit(page, selectors: list[str], where: str) -> None:
    """Every element lies inside its notebook output area and inside the window (no clipping)."""
    res = page.evaluate(
        """(sels) => sels.map(sel => {
            const el = document.querySelector(sel);
            if (!el) return [sel, null];
            el.scrollIntoView({block: 'nearest'});
            const b = el.getBoundingClientRect();
            const area = el.closest('.jp-OutputArea-output') || document.body;
            const a = area.getBoundingClientRect();
            return [sel, [b.left, b.right, b.width, b.height], [a.left, a.right], window.innerWidth];
        })""", selectors)
    shots = os.environ.get("RNNEXPLORE_SCREENSHOT_DIR")
    if shots:  # for a person to look at
        Path(shots).mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(Path(shots) / (where.split()[0] + "-" + selectors[0].strip(".") + ".png")),
                            timeout=10_000)
        except Exception as exc:  # noqa: BLE001 - a picture for a person, not part of the test
            print(f"[{where}] no screenshot: {exc}")
    for sel, box, area, win in res:
        assert box is not None, f"{where}: {sel} not found"
        left, right, w, h = box
        print(f"[{where}] {sel}: x {left:.0f}..{right:.0f} ({w:.0f} x {h:.0f} px) in output area "
              f"{area[0]:.0f}..{area[1]:.0f}, window {win}")
        assert w > 100 and h > 20, (sel, box)
        assert left >= area[0] - 1 and right <= area[1] + 1 and right <= win, (sel, box, area)


def _status(page) -> str:
    return page.locator(".rnx-bif-status").first.inner_text()


def _drag_on_map(page, frm=(0.35, 0.35), to=(0.6, 0.6)) -> None:
    canvas = page.locator(".rnx-bif-figure canvas").last
    canvas.scroll_into_view_if_needed()
    b = canvas.bounding_box()
    x0, y0 = b["x"] + frm[0] * b["width"], b["y"] + frm[1] * b["height"]
    x1, y1 = b["x"] + to[0] * b["width"], b["y"] + to[1] * b["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10)
        page.wait_for_timeout(30)
    page.mouse.up()


def test_bifurcation_explorer_in_notebook_03(smoke_lab, small_page):
    page = small_page
    base, token = smoke_lab
    open_notebook(page, base, token, NB03)
    _open_side_bar(page)
    run_all(page, timeout_ms=LOAD_MS)
    assert error_outputs(page) == []
    page.locator(".rnx-bif-figure canvas").last.wait_for(state="visible", timeout=60_000)
    page.wait_for_timeout(1500)  # the width probe reports, the panels are resized
    _boxes_fit(page, [".rnx-bif-figure", ".rnx-bif-phase", ".rnx-bif-line-figure", ".rnx-bif-panels"],
               "JupyterLab 1280 x 800, side bar open")
    width, _ = _kernel_run(page, "print(bif_app.probe.width, bif_app._sizes)")
    print(f"[nb03] page width reported to the kernel, (columns, panel px): {width.strip()}")

    # 1. a zoom shows progress while the kernel answers; Cancel stops it and keeps the map
    _kernel_run(page, "bif_app.resolution.value = 60")
    _drag_on_map(page)
    page.wait_for_function(
        """() => /zoom: .*%/.test(document.querySelector('.rnx-bif-status').innerText)""",
        timeout=60_000, polling=100)
    assert page.locator(".rnx-bif-progress").first.is_visible()
    assert page.locator(".rnx-bif-cancel").first.is_visible()
    out, dt = _kernel_run(page, "print(1 + 1)")
    print(f"[nb03] kernel round trip while the zoom runs: {1000 * dt:.0f} ms")
    assert out.strip() == "2" and dt < 2.0
    page.locator(".rnx-bif-cancel button, button.rnx-bif-cancel").first.click()
    page.wait_for_function("() => /cancelled/.test(document.querySelector('.rnx-bif-status').innerText)",
                           timeout=10_000, polling=100)
    out, _ = _kernel_run(page, "print(bif_app.state.result is gt_map, len(bif_app.state.history), "
                               "bif_app.state.job.state, bif_app.state.pool.alive)")
    print(f"[nb03] after cancel: {out.strip()}")
    assert out.split() == ["True", "0", "cancelled", "False"]

    # 2. again, and it completes while another cell executes
    _kernel_run(page, "bif_app.resolution.value = 12")
    before = page.locator(".rnx-bif-figure").first.screenshot()
    _drag_on_map(page)
    page.wait_for_function("() => /zoom: /.test(document.querySelector('.rnx-bif-status').innerText)",
                           timeout=60_000, polling=100)
    result = page.evaluate(
        """async () => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const f = k.requestExecute({code: 'import time\\nt_end = time.time() + 60\\n'
                + 'while time.time() < t_end and bif_app.state.job.running:\\n    time.sleep(0.2)\\n'
                + 'time.sleep(3)\\nprint("other cell done")'});
            let doneFlag = false; f.done.then(() => { doneFlag = true; });
            const t0 = performance.now();
            while (performance.now() - t0 < 90000) {
                const s = document.querySelector('.rnx-bif-status').innerText;
                if (/computed in/.test(s)) return [s, doneFlag];
                await new Promise(r => setTimeout(r, 100));
            }
            return ['timeout', doneFlag];
        }""")
    print(f"[nb03] status while the other cell was still running: {result}")
    assert "12 x 12 map" in result[0] and result[1] is False
    page.wait_for_timeout(4000)
    after = page.locator(".rnx-bif-figure").first.screenshot()
    assert after != before, "the new map did not reach the page"
    out, _ = _kernel_run(page, "print(bif_app.state.result.shape, len(bif_app.state.history))")
    assert out.strip() == "(12, 12) 1"
    assert error_outputs(page) == []


def _count_frames(page, seconds: float = 3.0) -> dict:
    """Press Play, then count distinct canvas images (sampled every animation frame) for ``seconds``."""
    page.locator(".rnx-replay-play").first.click()
    return page.evaluate(
        """async (ms) => {
            const cv = document.querySelector('.rnx-frameplayer-canvas');
            // a cheap fingerprint of the picture: the canvas scaled into 320 x 240 pixels, hashed
            const small = document.createElement('canvas'); small.width = 320; small.height = 240;
            const sctx = small.getContext('2d', {willReadFrequently: true});
            const fingerprint = () => {
                sctx.clearRect(0, 0, 320, 240); sctx.drawImage(cv, 0, 0, 320, 240);
                const d = sctx.getImageData(0, 0, 320, 240).data; let h = 2166136261;
                for (let k = 0; k < d.length; k += 1) { h ^= d[k]; h = Math.imul(h, 16777619); }
                return h >>> 0;
            };
            const seen = new Set(); let samples = 0;
            const n0 = Number(cv.dataset.frames);
            const t0 = performance.now();
            while (performance.now() - t0 < ms) {
                seen.add(fingerprint()); samples += 1;
                await new Promise(r => requestAnimationFrame(r));
            }
            return {distinct: seen.size, samples, drawn: Number(cv.dataset.frames) - n0,
                    index: Number(cv.dataset.index), seconds: (performance.now() - t0) / 1000, samples};
        }""", seconds * 1000)


def test_replay_plays_in_the_browser_voila(small_page, tmp_path):
    page = small_page
    with _smoke_env(), voila_server(ROOT / REPLAY_APP, tmp_path) as (base, _proc):
        page.goto(base, timeout=LOAD_MS)
        page.locator(".rnx-frameplayer-canvas").wait_for(state="attached", timeout=LOAD_MS)
        page.wait_for_timeout(1500)
        _boxes_fit(page, [".rnx-replay-figure"], "Voila 1280 x 800")
        res = _count_frames(page, 3.0)
        fps = res["distinct"] / res["seconds"]
        print(f"[replay, Voila] {res['distinct']} distinct frames in {res['seconds']:.2f} s ({fps:.1f} frames/s), "
              f"{res['drawn']} draws, {res['samples']} samples, now at checkpoint {res['index']}")
        assert res["distinct"] >= 25
        assert "Traceback" not in page.locator("body").inner_text()


def test_replay_fits_and_plays_in_jupyterlab(smoke_lab, small_page):
    page = small_page
    base, token = smoke_lab
    open_notebook(page, base, token, REPLAY_APP)
    _open_side_bar(page)
    run_all(page, timeout_ms=LOAD_MS)
    assert error_outputs(page) == []
    page.locator(".rnx-frameplayer-canvas").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(2500)  # width reported, background re-rendered at that width
    _boxes_fit(page, [".rnx-replay-figure", ".rnx-replay-controls"], "JupyterLab 1280 x 800, side bar open")
    res = _count_frames(page, 3.0)
    print(f"[replay, JupyterLab] {res['distinct']} distinct frames in {res['seconds']:.2f} s "
          f"({res['distinct'] / res['seconds']:.1f} frames/s)")
    assert res["distinct"] >= 25
    # drawn once: the replay's figure is not shown again under a later cell
    out, _ = _kernel_run(page, "import matplotlib.pyplot as plt\nprint(app.fig in [plt.figure(n) for n in plt.get_fignums()])")
    assert out.strip() == "False"


def _panel_layout(page) -> dict:
    return page.evaluate("""() => {
        const probe = document.querySelector('.rnx-bif-probe');
        const panels = ['.rnx-bif-figure', '.rnx-bif-phase', '.rnx-bif-line-figure'].map(sel => {
            const b = document.querySelector(sel).getBoundingClientRect();
            return [Math.round(b.left), Math.round(b.top), Math.round(b.width)]; });
        return {probe: Math.round(probe.getBoundingClientRect().width), panels}; }""")


def _wait_for_layout(page, where: str, away_from: int | None = None) -> dict:
    """The panels take the width and the number of columns panel_sizes gives for the width the
    probe measures (the kernel got the probe's report and re-laid the figures out); with
    ``away_from``, only once the probe reports a width other than that one (after a resize)."""
    from rnnexplore.widgets.bifurcation import panel_sizes

    deadline = time.time() + 30
    while True:
        lay = _panel_layout(page)
        cols, pw, _ = panel_sizes(lay["probe"])
        rows = len({top for _, top, _ in lay["panels"]})
        moved = away_from is None or lay["probe"] != away_from
        if moved and all(abs(w - pw) <= 1 for *_, w in lay["panels"]) and rows == -(-3 // cols):
            print(f"[{where}] probe {lay['probe']} px -> {cols} column(s) of {pw} px: {lay['panels']}")
            return lay
        assert time.time() < deadline, f"{where}: panels {lay['panels']} never followed the width {lay} ({cols} x {pw})"
        page.wait_for_timeout(300)


def test_bifurcation_app_in_voila(small_page, tmp_path):
    """In Voila the panels follow the page width (the probe's reports reach the kernel) and no
    broken image request is made (ipympl's bare-base64 initial image, see _repair_data_url)."""
    page = small_page
    bad = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url[:120]}") if r.status >= 400 else None)
    with _smoke_env(), voila_server(ROOT / BIF_APP, tmp_path) as (base, _proc):
        page.goto(base, timeout=LOAD_MS)
        page.wait_for_function(
            """() => { const s = document.querySelector('.rnx-bif-status');
                       return s && /drag a rectangle/.test(s.innerText); }""", timeout=LOAD_MS, polling=200)
        page.locator(".rnx-bif-figure canvas").last.wait_for(state="visible", timeout=60_000)
        wide = _wait_for_layout(page, "Voila 1280 x 800")
        assert len({top for _, top, _ in wide["panels"]}) == 1   # three side by side at 1280 px
        _boxes_fit(page, [".rnx-bif-figure", ".rnx-bif-phase", ".rnx-bif-line-figure"], "Voila 1280 x 800")
        assert "stability signature" in page.locator(".rnx-bif-key").first.inner_text()
        page.set_viewport_size({"width": 900, "height": 800})
        narrow = _wait_for_layout(page, "Voila 900 x 800", away_from=wide["probe"])
        assert narrow["probe"] < wide["probe"] and len({top for _, top, _ in narrow["panels"]}) == 2
        _boxes_fit(page, [".rnx-bif-figure", ".rnx-bif-phase", ".rnx-bif-line-figure"], "Voila 900 x 800")
        assert "Traceback" not in page.locator("body").inner_text()
    assert not bad, bad


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", "-q"]))
