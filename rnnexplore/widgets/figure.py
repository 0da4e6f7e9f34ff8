"""Figure plumbing shared by every widget: one place decides how a matplotlib figure is shown.

With ``%matplotlib widget`` (ipympl) the figure's canvas *is* a widget and is updated in place;
with a static backend (inline, papermill, nbconvert, headless tests) the view holds an
``ipywidgets.Output`` in which the figure is (re)displayed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["figure_canvas", "in_ipython"]


def in_ipython() -> bool:
    """True inside an IPython kernel/shell (False in plain Python, e.g. tests and scripts)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def figure_canvas(fig: Any, css_class: str, *, toolbar_position: str | None = None,
                  footer: bool = True, show_static: bool = False) -> tuple[Any, bool]:
    """The widget that shows ``fig`` and whether the backend is static.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    css_class : str
        Stable CSS class for browser tests (``add_class``).
    toolbar_position : str, optional
        ipympl toolbar position ("bottom", ...); default left as ipympl sets it.
    footer : bool
        Keep ipympl's footer (coordinates readout).
    show_static : bool
        With a static backend, display the figure in the Output right away (inside IPython).

    Returns
    -------
    canvas : ipywidgets.DOMWidget
        ipympl's canvas, or an ``ipywidgets.Output``.
    static : bool
        True when ``canvas`` is an Output (re-display the figure after each update).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> canvas, static = figure_canvas(plt.figure(), "rnx-demo-figure")
    >>> static, "rnx-demo-figure" in canvas._dom_classes
    (True, True)
    """
    import ipywidgets as W

    canvas = fig.canvas
    if isinstance(canvas, W.DOMWidget):  # ipympl
        canvas.header_visible = False
        if not footer:
            canvas.footer_visible = False
        if toolbar_position is not None:
            canvas.toolbar_position = toolbar_position
        static = False
    else:
        canvas = W.Output()
        static = True
        if show_static and in_ipython():
            from IPython.display import display

            with canvas:
                display(fig)
    canvas.add_class(css_class)
    return canvas, static
