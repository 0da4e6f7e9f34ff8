"""Per-event cost of the live cycle explorer: compute, and the two ways of getting a frame out.

For each case an ExplorerState is driven through ``BENCH_STEPS`` slider steps (synchronously).
Per event we time, side by side on the same states:

- compute: the state's recompute (warm-started SCYFI search with ``budget="interactive"``,
  event classification, trajectories);
- PNG frame (what the explorer did before, with ipympl): update the matplotlib phase portrait,
  render the whole figure with Agg (a full redraw - patching a cached background is what let
  frames go stale) and encode it as PNG, the image ipympl sends; its size in bytes;
- canvas frame (now): build the data the browser canvas draws from (``CanvasPortrait.update``:
  scene dict + binary buffers) and its size as sent (scene JSON + the buffers that changed;
  the region grid only travels when the view or the borders change).

The browser side (decode + draw) is measured by the browser test
(``tests/e2e/test_explorer_browser.py``, key press to final pixels).

Run: ``.venv/bin/python benchmarks/bench_explorer.py`` (a minute or two; numbers are noisy on a
shared machine - the load average is printed); ``... bench_explorer.py flip-flop`` runs only the
cases whose names contain the given words. The flip-flop case opens the explorer on the trained
M = 64 network of ``benchmarks/data/flipflop_M64.npz`` with sliders on the input ``u`` and sweeps
``u[0]`` from 0 to 1 (the target of issue 13: warm events under 100 ms of compute). The cold
start (opening the explorer: the capped search, for wide nets seeded from the network's own
trajectories) and the objects at the start and the end of each sweep are printed per case.
"""

from __future__ import annotations

import io
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from rnnexplore.apps.explorer import ExplorerState  # noqa: E402
from rnnexplore.dynamics.models import paper_gt16, random_plrnn  # noqa: E402
from rnnexplore.widgets.portrait import CanvasPortrait, PhasePortrait  # noqa: E402

N_STEPS = int(os.environ.get("BENCH_STEPS", "60"))


def _png_frame(fig) -> int:
    from PIL import Image

    fig.canvas.draw()
    with io.BytesIO() as png:
        Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(png, format="png")
        return png.tell()


def flipflop_state() -> ExplorerState:
    """The explorer on the trained M = 64 flip-flop net (benchmarks/data, see bench_flipflop.py),
    sliders on the constant input as notebook 06 opens it for M = 10."""
    from pathlib import Path

    from rnnexplore.dynamics.models import from_torch_rnn
    from rnnexplore.dynamics.training.flipflop import load_flipflop

    rnn, _ = load_flipflop(Path(__file__).resolve().parent / "data" / "flipflop_M64.npz")
    W_ih = rnn.weight_ih_l0.detach().numpy().astype(float)
    return ExplorerState(from_torch_rnn(rnn), max_order=1, inputs=W_ih, params=["u[0]", "u[1]", "u[2]"])


def sweep(name: str, model, param: str, max_order: int, span: float, png: bool = True) -> dict:
    import matplotlib.pyplot as plt

    t0 = time.perf_counter()
    st = model() if callable(model) else ExplorerState(model, max_order=max_order)
    cold, objects0 = time.perf_counter() - t0, len(st.cycles)
    model = st.model
    fig = plt.figure(figsize=(5.6, 5.0))
    pp = PhasePortrait(fig.add_subplot(), st.projection)
    cp = CanvasPortrait()
    v0 = st.get_param(param)
    lo, hi, _ = st.ranges[param]
    values = np.clip(v0 + np.linspace(0.0, span, N_STEPS + 1)[1:], lo, hi)
    compute, cpu, t_png, b_png, t_cv, b_cv = [], [], [], [], [], []
    for i, v in enumerate(values):
        c0 = time.thread_time()
        st.set_param(param, float(v))
        cpu.append(time.thread_time() - c0)  # CPU of this thread: less sensitive to a loaded machine
        compute.append(st.compute_time)
        if png:
            t0 = time.perf_counter()
            pp.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories, projection=st.projection)
            b_png.append(_png_frame(fig))
            t_png.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cp.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories, projection=st.projection,
                  view=st.view, frame=i)
        t_cv.append(time.perf_counter() - t0)
        b_cv.append(cp.last_message_bytes)
    plt.close(fig)
    st.wait()
    ms = lambda a, q: 1000 * float(np.percentile(a, q)) if len(a) else float("nan")  # noqa: E731
    return {"name": name, "M": model.M, "K": max_order, "compute": (ms(compute, 50), ms(compute, 95)),
            "cpu": (ms(cpu, 50), ms(cpu, 95)), "objects": len(st.cycles),
            "cold": cold, "objects0": objects0,
            "png": (ms(t_png, 50), ms(t_png, 95)), "png_kb": np.median(b_png) / 1e3 if b_png else float("nan"),
            "canvas": (ms(t_cv, 50), ms(t_cv, 95)), "canvas_kb": np.median(b_cv) / 1e3}


def main() -> int:
    cases = [
        ("paper GT16, A[0] sweep", paper_gt16(), "A[0]", 16, 0.1, True),
        ("paper GT16, W[0,1] sweep", paper_gt16(), "W[0,1]", 16, 0.2, True),
        ("random M=10, h[3] sweep", random_plrnn(10, seed=0), "h[3]", 4, 1.0, True),
        ("random M=64, h[3] sweep", random_plrnn(64, seed=0), "h[3]", 1, 0.5, False),
        ("flip-flop M=64, u[0] sweep", flipflop_state, "u[0]", 1, 1.0, False),
    ]
    print(f"CycleExplorer per-event cost, {N_STEPS} slider steps per case "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    hdr = (f"{'case':<26} {'M':>2} {'K':>2} | {'compute ms':>13} | {'PNG frame ms':>13} | {'PNG kB':>6} | "
           f"{'canvas frame ms':>15} | {'canvas kB':>9} | PNG/canvas frame time")
    print(hdr)
    print(f"{'':<26} {'':>2} {'':>2} | {'median   p95':>13} | {'median   p95':>13} | {'':>6} | "
          f"{'median    p95':>15} | {'':>9} |")
    print("-" * len(hdr))
    only = sys.argv[1:]  # optional substrings of case names
    cpus = []
    for name, model, param, K, span, png in cases:
        if only and not any(o in name for o in only):
            continue
        r = sweep(name, model, param, K, span, png=png)
        ratio = r["png"][0] / r["canvas"][0] if png else float("nan")
        print(f"{name:<26} {r['M']:>2} {r['K']:>2} | {r['compute'][0]:6.1f} {r['compute'][1]:6.1f} | "
              f"{r['png'][0]:6.1f} {r['png'][1]:6.1f} | {r['png_kb']:6.1f} | {r['canvas'][0]:7.2f} {r['canvas'][1]:7.2f} | "
              f"{r['canvas_kb']:9.1f} | {ratio:8.0f}x")
        cpus.append(f"{name}: CPU of the event's thread median {r['cpu'][0]:.1f} ms, p95 {r['cpu'][1]:.1f} ms; "
                    f"cold start {r['cold']:.2f} s, {r['objects0']} objects at the start, {r['objects']} at the end")
    print("\n" + "\n".join(cpus))
    print("\nTarget (issue 13): warm events under 100 ms of compute at M = 64 (the flip-flop row, median and p95).")
    print("\nPNG frame: full Agg render + PNG encode of the portrait (server side only; ipympl then "
          "base64-encodes it and the browser decodes it). Canvas frame: the data the browser draws from.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
