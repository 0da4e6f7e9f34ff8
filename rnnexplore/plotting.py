"""Static matplotlib pictures shared by notebooks, benchmarks and scripts.

- :func:`plot_map` - a 2-parameter :class:`~rnnexplore.dynamics.bifurcation.BifurcationMap`:
  stability signature (or object count) of every point, bifurcation curves on top;
- :func:`plot_curves` - only the bifurcation curves (e.g. over a loss landscape);
- :func:`plot_diagram` - a 1-parameter sweep: every object found, coloured by stability, and
  optionally the simulated orbit diagram;
- :func:`plot_objects` - fixed points and cycles in a phase plane, over trajectories.

Colours come from the kit's one style table (:data:`rnnexplore.widgets.base.STABILITY_STYLE`,
:data:`~rnnexplore.widgets.base.EVENT_COLOURS`), so static figures match the live views.
matplotlib is imported inside the functions only: importing this module costs nothing.
Every function draws on ``ax`` (a new figure when omitted) and returns the axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> from rnnexplore.dynamics.bifurcation import sweep
>>> from rnnexplore.dynamics.models import skew_tent
>>> tent = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": np.linspace(-2.2, 0.7, 30)}, 2, seed=0)
>>> ax = plot_diagram(tent, orbit=True, transform=lambda w: w + 0.2)
>>> ax.get_xlabel()
'W[0,0]'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_callable, check_choice, check_int, check_real


def _check_map(result: Any, ndim: int) -> None:
    from rnnexplore.dynamics.bifurcation import BifurcationMap

    if not isinstance(result, BifurcationMap):
        raise ValueError(f"result must be a BifurcationMap (from sweep), got {type(result).__name__}")
    if result.ndim != ndim:
        raise ValueError(f"result must be a {ndim}-D sweep, got a {result.ndim}-D one")

__all__ = ["plot_map", "plot_curves", "plot_diagram", "plot_objects"]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _style():
    from rnnexplore.widgets.base import EVENT_COLOURS, STABILITY_STYLE

    return STABILITY_STYLE, EVENT_COLOURS


def _xy(transform: Callable | None, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (x, y) if transform is None else tuple(np.asarray(v, dtype=float) for v in transform(x, y))


def _faded(name: str, alpha: float, n: int | None = None) -> Any:
    """Colour map ``name`` (``n`` levels) blended with white (opaque cells: no darker seams at overlaps)."""
    import matplotlib as mpl

    base = mpl.colormaps[name]
    colours = base(np.linspace(0.0, 1.0, base.N if n is None else max(n, 2)))
    colours[:, :3] = 1.0 - alpha * (1.0 - colours[:, :3])
    return mpl.colors.ListedColormap(colours)


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges around grid values: midpoints inside, half a step beyond the ends."""
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def plot_curves(result: Any, ax: Any = None, *, kinds: Any = None, orders: Any = None,
                transform: Callable | None = None, lw: float = 1.3, legend: bool = True) -> Any:
    """Draw the bifurcation curves of a 2-D map, one colour per event kind.

    Parameters
    ----------
    result : BifurcationMap
        A 2-parameter map.
    ax : matplotlib Axes, optional
    kinds, orders : optional
        Restrict the curves (as in :meth:`BifurcationMap.curves`).
    transform : callable, optional
        ``transform(x, y) -> (x', y')`` from the swept parameters to plotted coordinates
        (e.g. ``lambda a, w: (a, a + w)`` or offsets from a trained point).
    lw : float
        Line width.
    legend : bool
        Add one legend entry per kind drawn.

    Returns
    -------
    matplotlib Axes
    """
    _check_map(result, 2)
    check_real(lw, "lw", minimum=0.0)
    ax = _axes(ax, (7.0, 5.5))
    _, colours = _style()
    for kind, segs in result.curves(kinds=kinds, orders=orders).items():
        x, y = _xy(transform, segs[..., 0], segs[..., 1])      # (n_segments, 2) each
        nan = np.full((len(x), 1), np.nan)
        ax.plot(np.hstack([x, nan]).ravel(), np.hstack([y, nan]).ravel(), "-", color=colours[kind], lw=lw,
                label=kind.replace("_", " ") if legend else None)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return ax


def plot_map(result: Any, ax: Any = None, *, colour: str = "signature", curves: bool = True,
             kinds: Any = None, orders: Any = None, transform: Callable | None = None,
             colorbar: bool = False, alpha: float = 0.45) -> Any:
    """Draw a 2-parameter bifurcation map: regions of equal objects, and the curves between them.

    Parameters
    ----------
    result : BifurcationMap
        A 2-parameter map.
    ax : matplotlib Axes, optional
    colour : {"signature", "count"}
        Background: the stability signature of every point (one colour per set of
        ``order + stable/saddle/unstable``, see :meth:`BifurcationMap.signatures`) or the
        number of objects.
    curves : bool
        Overlay the bifurcation curves (:func:`plot_curves`).
    kinds, orders : optional
        Restrict the curves.
    transform : callable, optional
        ``transform(x, y) -> (x', y')`` from the swept parameters to plotted coordinates.
    colorbar : bool
        Add a colour bar (object counts; signature labels index ``result.signatures()[1]``).
    alpha : float
        Strength of the background colours (blended with white).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rnnexplore.dynamics.bifurcation import sweep
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> m = sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": np.linspace(-0.8, 0.8, 9),
    ...                                      "W[0,0]": np.linspace(-2.9, 1.9, 13)}, 2, seed=0)
    >>> ax = plot_map(m, transform=lambda a, w: (a, a + w))
    >>> sorted(t.get_text() for t in ax.get_legend().get_texts())
    ['degenerate flip', 'degenerate transcritical']
    """
    _check_map(result, 2)
    check_choice(colour, "colour", ("signature", "count"))
    check_real(alpha, "alpha", minimum=0.0, maximum=1.0)
    ax = _axes(ax, (7.0, 5.5))
    # cell corners in parameter space (midpoints between grid values), then transformed: the cells
    # tile the plane also under a shear such as (a_l, w) -> (a_l, a_l + w)
    X, Y = _xy(transform, *np.meshgrid(_edges(result.values0), _edges(result.values1), indexing="ij"))
    if colour == "signature":
        values, kw = result.signatures()[0], dict(cmap=_faded("tab20", alpha), vmin=-0.5, vmax=19.5)
    else:  # an integer count: one colour per value, integer ticks
        values = result.n_objects()
        k_max = int(values.max(initial=0))
        kw = dict(cmap=_faded("Greys", alpha, k_max + 1), vmin=-0.5, vmax=k_max + 0.5)
    mesh = ax.pcolormesh(X, Y, values, shading="flat", edgecolors="face", linewidth=0.3, rasterized=True, **kw)
    if colorbar and colour == "count":
        ax.figure.colorbar(mesh, ax=ax, label="objects", ticks=range(k_max + 1))
    elif colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="signature")
    if curves:
        plot_curves(result, ax, kinds=kinds, orders=orders, transform=transform)
    names = [str(n) for n in result.names]
    ax.set(xlabel=names[0], ylabel=names[1])
    return ax


def plot_diagram(result: Any, ax: Any = None, *, coord: int = 0, orbit: bool = False, objects: bool = True,
                 transform: Callable | None = None, ms: float = 2.0) -> Any:
    """Draw a 1-parameter sweep: every object's orbit points against the parameter.

    Parameters
    ----------
    result : BifurcationMap
        A 1-parameter sweep.
    ax : matplotlib Axes, optional
    coord : int
        State coordinate on the vertical axis.
    orbit : bool
        Draw the simulated orbit diagram (grey; what a trajectory shows).
    objects : bool
        Draw the objects found (coloured by stability).
    transform : callable, optional
        ``transform(p) -> p'`` from the swept parameter to the horizontal axis.
    ms : float
        Marker size.

    Returns
    -------
    matplotlib Axes
    """
    _check_map(result, 1)
    check_int(coord, "coord", minimum=0)
    check_real(ms, "ms", minimum=0.0)
    ax = _axes(ax, (8.0, 4.0))
    styles, _ = _style()
    tx = (lambda p: p) if transform is None else transform
    if orbit and result.orbit.size:
        orb = result.orbit[..., coord]
        ax.plot(np.repeat(tx(result.values0), orb.shape[1]), orb.ravel(), ".", ms=ms * 0.75, color="0.6")
    d = result.diagram(coord)
    for stab, style in styles.items():
        sel = d["stability"] == stab
        if objects and np.any(sel):
            ax.plot(tx(d["param"][sel]), d["z"][sel], "o", ms=ms, color=style["color"],
                    fillstyle=style["fillstyle"], label=style["label"], linestyle="none")
    ax.set(xlabel=str(result.names[0]), ylabel=f"z[{coord}]")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return ax


def plot_objects(cycles: Iterable[Any], ax: Any = None, *, trajectories: Sequence[np.ndarray] = (),
                 project: Callable[[np.ndarray], np.ndarray] | None = None, ms: float = 4.0) -> Any:
    """Draw fixed points and cycles in a phase plane (closed orbits), over grey trajectories.

    Parameters
    ----------
    cycles : iterable of Cycle
    ax : matplotlib Axes, optional
    trajectories : sequence of ndarray (T, M), optional
        Simulated trajectories drawn underneath.
    project : callable, optional
        ``project(points (n, M)) -> (n, 2)``; default the first two coordinates (or, in 1-D,
        ``z_t`` against ``z_t+1``).
    ms : float
        Marker size.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> g = paper_gt16()
    >>> ax = plot_objects(find_cycles(g, 16, seed=0), trajectories=[g.simulate([1.0, 0.0], 200)])
    >>> sorted(t.get_text() for t in ax.get_legend().get_texts())
    ['order 1 (unstable)', 'order 16 (saddle)', 'order 16 (stable)']
    """
    from rnnexplore.dynamics.cycles import _as_cycles

    cycles = _as_cycles(cycles, "cycles")
    check_callable(project, "project")
    check_real(ms, "ms", minimum=0.0)
    if isinstance(trajectories, (str, bytes)) or not isinstance(trajectories, (Sequence, np.ndarray)):
        raise ValueError(f"trajectories must be a list of (T, M) arrays, got {type(trajectories).__name__}")
    trajectories = [check_array(t, "trajectories entry", ndim=2, allow_nonfinite=True) for t in trajectories]
    ax = _axes(ax, (6.0, 5.0))
    styles, _ = _style()

    def proj(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if project is not None:
            return np.asarray(project(z), dtype=float)
        return z[:, :2] if z.shape[1] >= 2 else np.c_[z[:, 0], np.roll(z[:, 0], -1)]

    for tr in trajectories:
        p = proj(np.asarray(tr)[np.all(np.isfinite(tr), axis=1)])
        ax.plot(p[:, 0], p[:, 1], color="0.8", lw=0.5)
    for c in cycles:
        p = proj(c.points)
        closed = np.vstack([p, p[:1]])
        style = styles[c.stability]
        ax.plot(closed[:, 0], closed[:, 1], "-o", ms=ms, lw=0.8, color=style["color"],
                fillstyle=style["fillstyle"], label=f"order {c.order} ({c.stability})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return ax
