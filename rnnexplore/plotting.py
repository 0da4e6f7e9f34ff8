"""Static matplotlib pictures shared by notebooks, benchmarks and scripts.

- :func:`plot_map` - a 2-parameter :class:`~rnnexplore.dynamics.bifurcation.BifurcationMap`:
  stability signature (or object count) of every point, bifurcation curves on top, a colour key
  (the one static map drawer; the live map view colours with the same :func:`map_colours`);
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

__all__ = ["map_colours", "plot_curves", "plot_diagram", "plot_map", "plot_objects", "proven_cells",
           "proven_collection", "signature_colours"]


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
        Add a legend (one entry per kind drawn; the lines carry the kind as label either way).

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
                label=kind.replace("_", " "), gid="rnx-curve")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return ax


def signature_colours(n: int) -> list:
    """``n`` distinct RGBA colours for stability signatures (tab20, tab20b, tab20c; cycled beyond 60).

    Examples
    --------
    >>> cols = signature_colours(3)
    >>> len(cols), len(set(cols))
    (3, 3)
    """
    import matplotlib

    n = check_int(n, "n", minimum=0)
    cols = []
    for name in ("tab20", "tab20b", "tab20c"):
        cmap = matplotlib.colormaps[name]
        cols.extend(tuple(cmap(k)) for k in range(cmap.N))
    return [cols[k % len(cols)] for k in range(max(n, 1))]


def map_colours(img: np.ndarray, labels: list, colour: str) -> tuple[Any, Any, list]:
    """Colormap, norm and integer ticks for a map image: one colour per count or per signature.

    The static :func:`plot_map` and the live map of
    :class:`~rnnexplore.widgets.bifurcation.BifurcationExplorer` both colour with this.

    Parameters
    ----------
    img : ndarray of int
        Label index (signature) or count of every point.
    labels : list of str
        One label per value (``BifurcationState.image`` returns both).
    colour : {"count", "signature", "stable"}

    Returns
    -------
    cmap : matplotlib.colors.ListedColormap
    norm : matplotlib.colors.BoundaryNorm
        Integer ``k`` maps to the ``k``-th colour.
    ticks : list of int
        At most about 12 colour-bar ticks.

    Examples
    --------
    >>> import numpy as np
    >>> cmap, norm, ticks = map_colours(np.array([[0, 3]]), ["0", "1", "2", "3"], "count")
    >>> cmap.N, ticks
    (4, [0, 1, 2, 3])
    """
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    check_choice(colour, "colour", ("count", "signature", "stable"))
    n = max(len(labels), int(np.max(img)) + 1 if np.size(img) else 1)
    if colour == "signature":
        cmap = ListedColormap(signature_colours(n))
    else:
        base = matplotlib.colormaps["viridis"]
        cmap = ListedColormap([base(v) for v in (np.linspace(0, 1, n) if n > 1 else [0.0])])
    norm = BoundaryNorm(np.arange(-0.5, n + 0.5), cmap.N)
    step = max(1, n // 12)
    return cmap, norm, list(range(0, n, step))


def _faded(cmap: Any, alpha: float) -> Any:
    """``cmap`` blended with white (opaque cells: no darker seams where cells overlap)."""
    from matplotlib.colors import ListedColormap

    colours = np.array(cmap(np.arange(cmap.N)))
    colours[:, :3] = 1.0 - alpha * (1.0 - colours[:, :3])
    return ListedColormap(colours)


def plot_map(result: Any, ax: Any = None, *, colour: str = "signature", curves: bool = True,
             kinds: Any = None, orders: Any = None, transform: Callable | None = None,
             key: bool = True, alpha: float = 1.0, proven: bool = False) -> Any:
    """Draw a 2-parameter bifurcation map: regions of equal objects, the curves between them, a key.

    The one static map drawer; the live
    :class:`~rnnexplore.widgets.bifurcation.BifurcationExplorer` moves artists built from the
    same data (``BifurcationState.image``) and colours (:func:`map_colours`).

    Parameters
    ----------
    result : BifurcationMap
        A 2-parameter map.
    ax : matplotlib Axes, optional
    colour : {"signature", "count", "stable"}
        Background: the stability signature of every point (one colour per set of
        ``order + stable/saddle/unstable``, see :meth:`BifurcationMap.signatures`), the number
        of objects or the number of stable objects.
    curves : bool
        Overlay the bifurcation curves (:func:`plot_curves`).
    kinds, orders : optional
        Restrict the curves.
    transform : callable, optional
        ``transform(x, y) -> (x', y')`` from the swept parameters to plotted coordinates
        (e.g. ``lambda a, w: (a, a + w)``, or ``lambda x, y: (x - x0, y - y0)`` for offsets).
    key : bool
        Add the colour key: a legend naming every signature in words (outside the axes, on
        the right) or an integer colour bar for counts; the curve kinds join the legend.
    alpha : float
        Strength of the background colours (1 = the live view's colours; smaller values blend
        with white so overlays stand out).
    proven : bool
        Hatch the cells whose object set is proven complete up to ``max_order``
        (:attr:`BifurcationMap.cell_proven`, maps swept with ``prove=``; see :func:`proven_cells`).

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
    >>> sorted(t.get_text() for t in ax.get_legend().get_texts())[:3]
    ['degenerate flip', 'degenerate transcritical', 'no object']
    >>> ax = plot_map(m, colour="count")
    >>> [int(t) for t in ax.figure.axes[-1].get_yticks()]
    [0, 1, 2]
    """
    from rnnexplore.apps.bifurcation import BifurcationState

    _check_map(result, 2)
    check_choice(colour, "colour", ("signature", "count", "stable"))
    check_real(alpha, "alpha", minimum=0.0, maximum=1.0)
    state = BifurcationState(result)
    ax = _axes(ax, (7.0, 5.5))
    img, labels = state.image(colour)
    cmap, norm, ticks = map_colours(img, labels, colour)
    # cell corners in parameter space (midpoints between grid values), then transformed: the cells
    # tile the plane also under a shear such as (a_l, w) -> (a_l, a_l + w)
    X, Y = _xy(transform, *np.meshgrid(_edges(result.values0), _edges(result.values1), indexing="ij"))
    mesh = ax.pcolormesh(X, Y, img.T, shading="flat", edgecolors="face", linewidth=0.3, rasterized=True,
                         cmap=_faded(cmap, alpha), norm=norm)
    if curves:
        plot_curves(result, ax, kinds=kinds, orders=orders, transform=transform, legend=False)
    if proven:
        ax.add_collection(proven_collection(proven_cells(result, transform)))
    if key:
        _map_key(ax, mesh, labels, colour, ticks, state.title(colour).split(" (")[0])
    names = [str(n) for n in result.names]
    ax.set(xlabel=names[0], ylabel=names[1])
    ax.set_title(state.title(colour), fontsize=9)
    return ax


def proven_cells(result: Any, transform: Callable | None = None) -> np.ndarray:
    """Corners ``(n, 4, 2)`` of the cells proven complete (:attr:`BifurcationMap.cell_proven`).

    The cells are those :func:`plot_map` draws (edges midway between grid values, half a step
    beyond the ends), mapped by ``transform`` like the map.

    Examples
    --------
    >>> from rnnexplore.dynamics.bifurcation import sweep
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> m = sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": [0.0, 0.5], "W[0,0]": [0.1, 0.3, 0.5]}, 2, prove=2)
    >>> proven_cells(m).shape
    (6, 4, 2)
    """
    _check_map(result, 2)
    check_callable(transform, "transform")
    X, Y = _xy(transform, *np.meshgrid(_edges(result.values0), _edges(result.values1), indexing="ij"))
    i, j = np.nonzero(result.cell_proven)
    corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
    return np.stack([np.stack([X[a, b], Y[a, b]], axis=-1) for a, b in corners], axis=1).reshape(-1, 4, 2)


def proven_collection(cells: np.ndarray) -> Any:
    """The hatch layer of proven cells (one ``PolyCollection``; the live map updates its polygons)."""
    from matplotlib.collections import PolyCollection

    return PolyCollection(list(cells), facecolors="none", edgecolors="0.15", linewidths=0.0, hatch="///",
                          zorder=3, gid="rnx-proven", label="proven complete (hatched)")


def _map_key(ax: Any, mesh: Any, labels: list, colour: str, ticks: list, what: str) -> None:
    """Signature legend in words (with the curve kinds), or an integer colour bar for counts."""
    from matplotlib.patches import Patch

    curves = [ln for ln in ax.get_lines() if ln.get_gid() == "rnx-curve"]
    curves += [c for c in ax.collections if c.get_gid() == "rnx-proven" and len(c.get_paths())]
    if colour == "signature":
        patches = [Patch(facecolor=c, edgecolor="0.5", label=t)
                   for t, c in zip(labels, mesh.get_cmap()(np.arange(len(labels))))]
        ax.legend(handles=patches + curves, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0, title="stability signature / curves", title_fontsize=7)
        return
    cb = ax.figure.colorbar(mesh, ax=ax, ticks=ticks)
    cb.set_label(what, fontsize=8)
    if curves:
        ax.legend(handles=curves, fontsize=7, loc="lower left", framealpha=0.7)


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
