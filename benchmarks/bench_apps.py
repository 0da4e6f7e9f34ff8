"""The map and replay apps: cost estimates, a free kernel during a zoom, replay frames per second.

On the paper's 2-D system (``paper_gt16``), orders <= 16:

1. cost model: the estimate of :func:`rnnexplore.dynamics.cost.measure_sweep_cost` against the
   measured serial sweep, side by side, for a zoom of ``--n`` x ``--n`` points; and the estimates
   the app would state for the paper's 200 x 200 and for 1000 x 1000.
2. a free kernel: while a ``--n`` x ``--n`` zoom runs in the background, the main thread sleeps
   10 ms at a time and records how late it wakes (median / max). Three ways side by side: idle,
   the app's way (tiles in a worker process), and a worker *thread* in the same process (what a
   plain thread would do: it competes for the GIL).
3. replay playback (``--browser``): the replay app (``notebooks/app_replay.ipynb``, 150 epochs,
   151 checkpoints) in Voila in Debian's chromium at 1280 x 800; Play for 5 s, the browser counts
   distinct pictures (fingerprints of the canvas every animation frame). Side by side: what one
   full matplotlib re-render of the same figure costs in the kernel (the old way, one per frame).

Run::

    .venv/bin/python benchmarks/bench_apps.py              # parts 1-2 (a few minutes)
    .venv/bin/python benchmarks/bench_apps.py --browser    # and part 3 (chromium needed)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _grid(n, span=0.5):
    from rnnexplore.dynamics.models import paper_gt16

    gt = paper_gt16()
    d = np.linspace(-span, span, n)
    return gt, {"A[0]": gt.get_param("A[0]") + d, "A[1]": gt.get_param("A[1]") + d}


def part_cost(n: int, order: int) -> None:
    from rnnexplore.dynamics.bifurcation import sweep
    from rnnexplore.dynamics.cost import measure_sweep_cost

    gt, grid = _grid(n)
    cost = measure_sweep_cost(gt, grid, order)
    t = time.perf_counter()
    sweep(gt, grid, order)
    measured = time.perf_counter() - t
    print(f"[cost] {n} x {n}, orders <= {order}: estimate {cost.seconds:.1f} s (measuring took "
          f"{cost.measured_seconds:.1f} s), measured {measured:.1f} s, ratio {cost.seconds / measured:.2f}")
    for big in (200, 1000):
        c = measure_sweep_cost(*_grid(big, 1.0), order)
        print(f"[cost] the app would state for {c.describe()}")


def _lateness(stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(0.01)
        out.append(time.perf_counter() - t - 0.01)


def part_kernel(n: int, order: int) -> None:
    from rnnexplore.apps.bifurcation import BifurcationState
    from rnnexplore.apps.jobs import Job
    from rnnexplore.dynamics.bifurcation import sweep

    gt, grid = _grid(9)
    st = BifurcationState(sweep(gt, grid, order))
    a, b = gt.get_param("A[0]"), gt.get_param("A[1]")
    rect = (a - 0.5, a + 0.5, b - 0.5, b + 0.5)

    def measure(start):
        late: list = []
        job = start()
        t0 = time.perf_counter()
        while job.running and time.perf_counter() - t0 < 600:
            t = time.perf_counter()
            time.sleep(0.01)
            late.append(time.perf_counter() - t - 0.01)
        job.wait()
        return late, job.elapsed

    late_idle = []
    for _ in range(300):
        t = time.perf_counter()
        time.sleep(0.01)
        late_idle.append(time.perf_counter() - t - 0.01)
    st.pool.submit(abs, 1).get()  # start the worker before timing
    late_proc, t_proc = measure(lambda: st.start_zoom(*rect, shape=(n, n), confirmed=True))
    zoom_grid = st.zoom_grid(*rect, (n, n))
    late_thr, t_thr = measure(lambda: Job(lambda report: sweep(gt, zoom_grid, order)).start())
    st.close()

    def fmt(x):
        return f"median {1000 * statistics.median(x):.1f} ms, max {1000 * max(x):.0f} ms"

    print(f"[kernel] main thread wakes late by: idle {fmt(late_idle)}")
    print(f"[kernel]   zoom {n} x {n} in the worker process ({t_proc:.1f} s): {fmt(late_proc)}")
    print(f"[kernel]   same zoom in a thread of the kernel ({t_thr:.1f} s): {fmt(late_thr)}")
    print(f"[kernel]   max lateness, thread / process: {max(late_thr) / max(max(late_proc), 1e-4):.1f}x")


def part_browser(seconds: float) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright
    from servers import voila_server

    import tempfile

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        print("[replay] chromium not installed; skipped")
        return
    # the old way, for comparison: one full re-render of the same four-panel figure per frame
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rnnexplore.dynamics.models import paper_gt16
    from rnnexplore.dynamics.training import from_numpy_model, train
    from rnnexplore.dynamics.training.data import gt16_data
    from rnnexplore.dynamics.training.replay import analyse_replay
    from rnnexplore.widgets.replay import TrainingReplay

    torch.set_num_threads(1)
    data = gt16_data(1000, seed=0)
    gt = paper_gt16()
    m0 = gt.with_params({"A[0]": gt.get_param("A[0]") + 0.05, "A[1]": gt.get_param("A[1]") - 0.05})
    run = train(from_numpy_model(m0), data, alpha=0.0, trainable=["A"], epochs=150, seq_len=100, batch_size=16,
                lr=0.005, seed=0, progress=False)
    view = TrainingReplay(run, analysis=analyse_replay(run, 16), data=data.train)
    canvas = FigureCanvasAgg(view.fig)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        canvas.draw()
        canvas.print_png(open("/dev/null", "wb"))
        times.append(time.perf_counter() - t)
    full = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp, voila_server(ROOT / "notebooks" / "app_replay.ipynb",
                                                           Path(tmp)) as (base, _proc):
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1280, "height": 800})
            page.goto(base, timeout=600_000)
            page.locator(".rnx-frameplayer-canvas").wait_for(state="attached", timeout=600_000)
            page.wait_for_timeout(3000)
            page.locator(".rnx-replay-play").first.click()
            res = page.evaluate(
                """async (ms) => {
                    const cv = document.querySelector('.rnx-frameplayer-canvas');
                    const small = document.createElement('canvas'); small.width = 160; small.height = 120;
                    const sctx = small.getContext('2d', {willReadFrequently: true});
                    const seen = new Set(); const t0 = performance.now();
                    while (performance.now() - t0 < ms) {
                        sctx.clearRect(0, 0, 160, 120); sctx.drawImage(cv, 0, 0, 160, 120);
                        const d = sctx.getImageData(0, 0, 160, 120).data; let h = 2166136261;
                        for (let k = 0; k < d.length; k++) { h ^= d[k]; h = Math.imul(h, 16777619); }
                        seen.add(h >>> 0);
                        await new Promise(r => requestAnimationFrame(r));
                    }
                    return [seen.size, (performance.now() - t0) / 1000, Number(cv.dataset.index)];
                }""", seconds * 1000)
            b.close()
    fps = res[0] / res[1]
    print(f"[replay] paper's system, {run.n_checkpoints} checkpoints, Voila 1280 x 800: {res[0]} distinct frames "
          f"in {res[1]:.1f} s = {fps:.1f} frames/s (interval {view.player.interval} ms promises "
          f"{1000 / view.player.interval:.1f}); reached checkpoint {res[2]}")
    print(f"[replay] one full re-render of the figure in the kernel (the old way per frame): "
          f"{1000 * full:.0f} ms -> at most {1 / full:.1f} frames/s; ratio {fps * full:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=31, help="points per axis of the zoom")
    ap.add_argument("--max-order", type=int, default=16)
    ap.add_argument("--browser", action="store_true", help="also measure replay playback in chromium")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    part_cost(args.n, args.max_order)
    part_kernel(args.n, args.max_order)
    if args.browser:
        part_browser(args.seconds)


if __name__ == "__main__":
    main()
