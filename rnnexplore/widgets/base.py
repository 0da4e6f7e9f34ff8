"""What every view shares: one guarded-callback rule, one status line, one refresh policy, one style.

- :func:`guarded` - widget callbacks never raise into the notebook: the traceback goes to
  ``self.last_error`` and a one-line message to the view's status line (``self.status``).
- :func:`status_html` - the status line's HTML for a level (``ok``, ``busy``, ``warning``,
  ``error``); the span carries the CSS class ``rnx-status-<level>`` for browser tests.
- :func:`refresh` - redraw a figure: ``draw_idle`` on an interactive (ipympl) canvas; on a
  static backend re-display the whole figure in its ``Output`` (never patch an old image).
- :data:`STABILITY_STYLE`, :data:`STABILITY_HTML`, :data:`EVENT_COLOURS` - the one style table for
  stability markers and event kinds, used by every figure and table of the kit.

Examples
--------
>>> status_html("error", "a < b")
'<span class="rnx-status-error" style="color:#cf222e; font-family:monospace">a &lt; b</span>'
>>> class View:
...     status = type("HTML", (), {"value": ""})()
...     @guarded
...     def boom(self):
...         raise RuntimeError("no")
>>> v = View(); v.boom()
>>> "RuntimeError" in v.last_error and "rnx-status-error" in v.status.value
True
"""

from __future__ import annotations

import functools
import html
import traceback
from typing import Any

from rnnexplore.widgets.figure import in_ipython

__all__ = ["guarded", "status_html", "refresh", "STABILITY_STYLE", "STABILITY_HTML", "EVENT_COLOURS",
           "STATUS_COLOURS"]

STATUS_COLOURS = {"ok": "#1a7f37", "busy": "#9a6700", "warning": "#9a6700", "error": "#cf222e"}

#: matplotlib marker style per stability (colour, fill: full = stable, half = saddle, empty = unstable)
STABILITY_STYLE = {
    "stable": {"color": "tab:blue", "fillstyle": "full", "label": "stable"},
    "saddle": {"color": "tab:orange", "fillstyle": "left", "label": "saddle"},
    "unstable": {"color": "tab:red", "fillstyle": "none", "label": "unstable"},
}
#: the same in HTML tables: (symbol, colour)
STABILITY_HTML = {
    "stable": ("&#9679;", "#1f77b4"),
    "saddle": ("&#9680;", "#ff7f0e"),
    "unstable": ("&#9675;", "#d62728"),
}
#: one colour per bifurcation event kind (:data:`rnnexplore.dynamics.events.EVENT_KINDS`)
EVENT_COLOURS = {
    "birth": "tab:green",
    "death": "tab:red",
    "stability_change": "tab:orange",
    "border_collision": "tab:purple",
    "degenerate_transcritical": "black",
    "degenerate_flip": "tab:brown",
    "neimark_sacker": "tab:pink",
    "pair_creation": "tab:cyan",
    "pair_annihilation": "tab:olive",
}


def status_html(level: str, text: str) -> str:
    """HTML of a status line at ``level`` (escaped text, CSS class ``rnx-status-<level>``)."""
    colour = STATUS_COLOURS.get(level, "black")
    return (f'<span class="rnx-status-{level}" style="color:{colour}; font-family:monospace">'
            f"{html.escape(text)}</span>")


def guarded(method):
    """Decorate a view's callback: errors go to ``self.last_error`` and the status line."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self.last_error = None
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the point of this wrapper
            self.last_error = traceback.format_exc()
            try:
                self.status.value = status_html(
                    "error", f"internal error in {method.__name__}: {type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001 - a broken status line must not raise either
                pass
            return None

    return wrapper


def refresh(fig: Any, output: Any = None) -> None:
    """Redraw ``fig``: ``draw_idle`` on an interactive canvas (``output`` None), else re-display it.

    On a static backend the figure is shown as an image in ``output``; the whole image is
    replaced (``clear_output(wait=True)``), so a view never shows a stale picture.
    """
    if output is None:
        fig.canvas.draw_idle()
        return
    if in_ipython():
        from IPython.display import clear_output, display

        with output:
            clear_output(wait=True)
            display(fig)
