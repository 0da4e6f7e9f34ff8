"""Widgets that do their work in the browser (anywidget): a width probe and a frame player.

- :class:`WidthProbe` reports the width its container has in the page (``width``, in CSS
  pixels), so a view can size its figures to the space it really has (JupyterLab with or
  without the side bar, Voila, a narrow window).
- :class:`FramePlayer` shows a background image (a matplotlib figure rendered once) and draws
  the moving parts of an animation over it on a canvas, from data sent once: vertical cursor
  lines, a path drawn up to the current frame, one polyline and one set of stability markers
  per frame. Changing ``index`` (from a linked slider, in the browser) redraws in the browser
  without a round trip to the kernel; with ``playing`` the browser advances ``index`` itself
  every ``interval`` ms, so playback keeps its interval however busy the kernel is. Each drawn frame increments the ``data-frames`` attribute of the canvas
  (browser tests count them).

Examples
--------
>>> import numpy as np
>>> fd = FrameData()
>>> fd.add(np.arange(3.0)), fd.add(np.ones((2, 2)))
([0, 3], [3, 4])
>>> fd.buffer().nbytes
56
"""

from __future__ import annotations

import json
from typing import Any

import anywidget
import numpy as np
import traitlets

__all__ = ["WidthProbe", "FramePlayer", "FrameData", "axes_layout"]

_WIDTH_JS = """
function watchWidth(el, model) {
  let timer = null;
  const ro = new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const w = Math.round(el.getBoundingClientRect().width);
      if (w > 0 && w !== model.get("width")) { model.set("width", w); model.save_changes(); }
    }, 150);
  });
  ro.observe(el);
  return () => ro.disconnect();
}
"""


class WidthProbe(anywidget.AnyWidget):
    """An invisible full-width strip that reports its width in CSS pixels (``width``, 0 until known)."""

    _esm = _WIDTH_JS + """
export default {
  render({ model, el }) {
    el.style.width = "100%"; el.style.height = "1px";
    return watchWidth(el, model);
  }
};
"""
    width = traitlets.Int(0).tag(sync=True)


class FrameData:
    """One float64 buffer holding every array of a :class:`FramePlayer` (``add`` returns ``[offset, length]``)."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._n = 0

    def add(self, arr: Any) -> list[int]:
        a = np.ascontiguousarray(arr, dtype=np.float64).ravel()
        self._parts.append(a)
        ref = [self._n, int(a.size)]
        self._n += int(a.size)
        return ref

    def buffer(self) -> np.ndarray:
        return np.concatenate(self._parts) if self._parts else np.zeros(0)


def axes_layout(ax: Any) -> dict:
    """Where ``ax`` sits in its figure's pixels (top-left origin) and how it maps data to them."""
    fig = ax.figure
    H = fig.bbox.height
    bb = ax.get_window_extent()
    return {"bbox": [float(bb.x0), float(H - bb.y1), float(bb.width), float(bb.height)],
            "xlim": [float(v) for v in ax.get_xlim()], "ylim": [float(v) for v in ax.get_ylim()],
            "xlog": ax.get_xscale() == "log", "ylog": ax.get_yscale() == "log"}


class FramePlayer(anywidget.AnyWidget):
    """Background PNG + per-frame layers drawn in the browser (see the module docstring).

    Traits: ``background`` (PNG bytes), ``size`` (pixel width, height of the PNG), ``layers``
    (JSON: ``{"axes": {...}, "layers": [...], "status": [...]}``), ``data`` (float64 bytes the
    layers point into), ``index`` (current frame), ``width`` (CSS width the browser gives it),
    ``playing`` / ``interval`` (ms) / ``repeat``: playback, timed by the browser.
    """

    _esm = _WIDTH_JS + r"""
const STAB = [["#1f77b4", "full"], ["#ff7f0e", "left"], ["#d62728", "none"]];
export default {
  render({ model, el }) {
    el.classList.add("rnx-frameplayer");
    const status = document.createElement("div");
    status.className = "rnx-frameplayer-status";
    status.style.cssText = "font-family:monospace;font-size:12px;min-height:1.3em";
    const box = document.createElement("div");
    box.style.cssText = "position:relative;width:100%";
    const img = document.createElement("img");
    img.style.cssText = "width:100%;display:block";
    img.className = "rnx-frameplayer-background";
    const cv = document.createElement("canvas");
    cv.className = "rnx-frameplayer-canvas";
    cv.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none";
    cv.dataset.frames = "0";
    box.append(img, cv);
    el.append(status, box);
    let url = null, spec = null, data = null, frames = 0;
    const ctx = cv.getContext("2d");

    function mapper(a) {
      const [x0, y0, w, h] = a.bbox;
      const f = (v, log) => log ? Math.log10(v) : v;
      const [xa, xb] = [f(a.xlim[0], a.xlog), f(a.xlim[1], a.xlog)];
      const [ya, yb] = [f(a.ylim[0], a.ylog), f(a.ylim[1], a.ylog)];
      return [(x) => x0 + (f(x, a.xlog) - xa) / (xb - xa) * w,
              (y) => y0 + h - (f(y, a.ylog) - ya) / (yb - ya) * h];
    }
    function seg(ref) { return data.subarray(ref[0], ref[0] + ref[1]); }
    function polyline(px, py, xy, from, to) {
      let pen = false;
      ctx.beginPath();
      for (let k = from; k < to; k++) {
        const x = xy[2 * k], y = xy[2 * k + 1];
        if (!isFinite(x) || !isFinite(y)) { pen = false; continue; }
        const X = px(x), Y = py(y);
        if (pen) ctx.lineTo(X, Y); else { ctx.moveTo(X, Y); pen = true; }
      }
      ctx.stroke();
    }
    function marker(X, Y, code) {
      const [col, fill] = STAB[code] || STAB[0];
      ctx.strokeStyle = col; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(X, Y, 4.5, 0, 2 * Math.PI);
      if (fill === "full") { ctx.fillStyle = col; ctx.fill(); }
      else if (fill === "left") {
        ctx.fillStyle = "white"; ctx.fill(); ctx.beginPath(); ctx.fillStyle = col;
        ctx.arc(X, Y, 4.5, 0.5 * Math.PI, 1.5 * Math.PI); ctx.fill();
        ctx.beginPath(); ctx.arc(X, Y, 4.5, 0, 2 * Math.PI);
      } else { ctx.fillStyle = "white"; ctx.fill(); }
      ctx.stroke();
    }
    function draw() {
      if (!spec || !data) return;
      const n = spec.n_frames;
      const i = Math.max(0, Math.min(n - 1, model.get("index")));
      ctx.clearRect(0, 0, cv.width, cv.height);
      for (const L of spec.layers) {
        const a = spec.axes[L.axes];
        const [px, py] = mapper(a);
        ctx.save();
        ctx.beginPath(); ctx.rect(a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]); ctx.clip();
        ctx.strokeStyle = L.color || "black"; ctx.lineWidth = L.lw || 1;
        if (L.type === "vline") {
          const X = px(seg(L.x)[i]);
          ctx.beginPath(); ctx.moveTo(X, a.bbox[1]); ctx.lineTo(X, a.bbox[1] + a.bbox[3]); ctx.stroke();
        } else if (L.type === "prefix_path") {
          const xy = seg(L.xy);
          polyline(px, py, xy, 0, i + 1);
          ctx.fillStyle = L.color; ctx.beginPath();
          ctx.arc(px(xy[2 * i]), py(xy[2 * i + 1]), 4, 0, 2 * Math.PI); ctx.fill();
        } else if (L.type === "frame_lines") {
          const xy = seg(L.xy), st = seg(L.starts);
          polyline(px, py, xy, st[i], st[i + 1]);
        } else if (L.type === "frame_markers") {
          const xy = seg(L.xy), st = seg(L.starts), code = seg(L.code), obj = seg(L.object);
          let k = st[i];
          while (k < st[i + 1]) {  // one object: a closed polygon (cycles), then its markers
            let e = k; while (e < st[i + 1] && obj[e] === obj[k]) e++;
            if (e - k > 1) {
              ctx.strokeStyle = (STAB[code[k]] || STAB[0])[0]; ctx.lineWidth = 0.8;
              ctx.beginPath(); ctx.moveTo(px(xy[2 * k]), py(xy[2 * k + 1]));
              for (let q = k + 1; q < e; q++) ctx.lineTo(px(xy[2 * q]), py(xy[2 * q + 1]));
              ctx.closePath(); ctx.stroke();
            }
            for (let q = k; q < e; q++) marker(px(xy[2 * q]), py(xy[2 * q + 1]), code[q]);
            k = e;
          }
        }
        ctx.restore();
      }
      if (spec.status && spec.status.length) status.textContent = spec.status[i];
      frames += 1;
      cv.dataset.frames = String(frames);
      cv.dataset.index = String(i);
    }
    function setBackground() {
      const b = model.get("background");
      if (!b || !b.byteLength) return;
      const blob = new Blob([b], { type: "image/png" });
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      img.src = url;
      const [w, h] = model.get("size");
      cv.width = w; cv.height = h;
      box.style.maxWidth = w + "px";
      draw();
    }
    function setData() {
      const b = model.get("data");
      data = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      spec = JSON.parse(model.get("layers") || "null");
      draw();
    }
    // playback: one frame per `interval` ms on the browser's clock; the index is synced to the
    // kernel (and linked widgets) at most every 200 ms and when playback stops
    let lastSync = 0;
    function sync(now) { lastSync = now; model.save_changes(); }
    function tick(now, due) {
      if (!model.get("playing") || !spec) { sync(now); return; }
      if (now >= due) {
        let i = model.get("index") + 1;
        if (i >= spec.n_frames) {
          if (model.get("repeat")) i = 0;
          else { model.set("playing", false); sync(now); return; }
        }
        model.set("index", i);
        if (now - lastSync > 200) sync(now);
        due = Math.max(due + model.get("interval"), now - model.get("interval"));
      }
      requestAnimationFrame((t) => tick(t, due));
    }
    function onPlaying() {
      if (!model.get("playing")) return;
      if (spec && model.get("index") >= spec.n_frames - 1) model.set("index", 0);
      const now = performance.now();
      requestAnimationFrame((t) => tick(t, now + model.get("interval")));
    }
    setData(); setBackground();
    model.on("change:background", setBackground);
    model.on("change:data", setData);
    model.on("change:layers", setData);
    model.on("change:index", draw);
    model.on("change:playing", onPlaying);
    if (model.get("playing")) onPlaying();
    return watchWidth(el, model);
  }
};
"""
    background = traitlets.Bytes(b"").tag(sync=True)
    size = traitlets.List([1, 1]).tag(sync=True)
    layers = traitlets.Unicode("null").tag(sync=True)
    data = traitlets.Bytes(b"").tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    interval = traitlets.Int(66).tag(sync=True)
    repeat = traitlets.Bool(False).tag(sync=True)

    def set_frames(self, spec: dict, data: FrameData) -> None:
        """Send new layers (``spec`` with ``n_frames``, ``axes``, ``layers``, ``status``) and their data."""
        with self.hold_sync():
            self.data = data.buffer().tobytes()
            self.layers = json.dumps(spec)
