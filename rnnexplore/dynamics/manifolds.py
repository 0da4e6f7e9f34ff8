"""Stable and unstable manifolds of saddle fixed points and cycles of 2-D piecewise-linear maps.

A piecewise-linear map is affine on every region of its rectifiers, so the image of a line
segment is a polyline that breaks only where the segment crosses a switching border: split
the segment at the borders, map each piece's end points with its region's affine map - no
approximation. The local manifolds of a saddle are exactly segments of its eigen-lines (the
map is affine around the saddle), so the global branches follow exactly:

- unstable: ``W^u = U_g F^g(L_u)`` with ``L_u`` the eigen-segment of the expanding direction
  through the saddle point (images of a segment: split at the borders, map forward);
- stable: ``W^s = U_g F^{-g}(L_s)`` (preimages: for every region with an invertible Jacobian,
  map the segment with that region's inverse and keep the parts lying in that region - a
  non-invertible map can have several preimages, and every one is traced).

For a saddle k-cycle the segments sit at the cycle's first point and are eigen-segments of
the cycle's Jacobian product; iterating ``F`` (not ``F^k``) visits all points of the cycle.
Pieces leaving ``bounds`` are cut off (the traced branches are those inside the box).

This follows the piecewise-linear manifold construction for PLRNNs of the DurstewitzLab
(ICLR 2026); the same split-at-borders idea underlies :func:`rnnexplore.dynamics.cycles`.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import PLRNN
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> m = PLRNN([2.0, 0.5], [[0.0, 0.0], [0.0, 0.0]], [-1.0, 1.0])   # saddle at (1, 2)
>>> saddle = [c for c in find_cycles(m, 1, seed=0) if c.stability == "saddle"][0]
>>> man = saddle_manifolds(m, saddle, bounds=((-5, 5), (-5, 5)))
>>> np.allclose(man.unstable[:, :, 1], 2.0), np.allclose(man.stable[:, :, 0], 1.0)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnexplore._validation import check_callable, check_int

__all__ = ["Manifolds", "saddle_manifolds", "image_segments", "preimage_segments"]


@dataclass
class Manifolds:
    """Traced branches of one saddle object.

    Attributes
    ----------
    unstable, stable : ndarray (n, 2, 2)
        Segments ``[[x0, y0], [x1, y1]]`` of the unstable and stable manifold inside the box.
    unstable_generation, stable_generation : ndarray (n,) of int
        Number of map applications (forward resp. backward) from the local eigen-segment.
    eigenvalues : (lambda_unstable, lambda_stable) of the cycle's Jacobian product
    truncated : bool
        True when the segment limit stopped the tracing before ``n_iter`` applications.
    """

    unstable: np.ndarray
    stable: np.ndarray
    unstable_generation: np.ndarray
    stable_generation: np.ndarray
    eigenvalues: tuple[float, float]
    truncated: bool = False


def _affine_switching(model) -> tuple[np.ndarray, np.ndarray]:
    """``switching(z) = s0 + z @ S`` (exact: the switching functions are affine)."""
    M = model.M
    base = np.vstack([np.zeros(M), np.eye(M)])
    s = np.asarray(model.switching(base), float)
    return s[0], s[1:] - s[0]


def _split(segs: np.ndarray, s0: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split segments (n, 2, M) at the switching borders; returns pieces and their regions."""
    if len(segs) == 0:
        return segs, np.zeros((0, len(s0)), dtype=bool)
    a, b = segs[:, 0], segs[:, 1]
    sa, sb = s0 + a @ S, s0 + b @ S  # (n, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = sa / (sa - sb)
    t = np.where((t > 0) & (t < 1) & np.isfinite(t), t, np.nan)
    t = np.sort(np.concatenate([np.zeros((len(segs), 1)), t, np.ones((len(segs), 1))], axis=1), axis=1)
    lo, hi = t[:, :-1], t[:, 1:]  # NaNs sort to the end
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    seg_i, piece = np.nonzero(ok)
    tl, th = lo[seg_i, piece], hi[seg_i, piece]
    d = (b - a)[seg_i]
    pa = a[seg_i] + tl[:, None] * d
    pb = a[seg_i] + th[:, None] * d
    mid = (pa + pb) / 2
    regions = (s0 + mid @ S) > 0
    return np.stack([pa, pb], axis=1), regions


def _clip_box(segs: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Liang-Barsky: the parts of the segments inside the box ``[[x0, x1], [y0, y1]]``."""
    if len(segs) == 0:
        return segs
    a, d = segs[:, 0], segs[:, 1] - segs[:, 0]
    t0, t1 = np.zeros(len(segs)), np.ones(len(segs))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(2):
            for p, q in ((-d[:, k], a[:, k] - box[k, 0]), (d[:, k], box[k, 1] - a[:, k])):
                r = q / p
                par = p == 0
                t0 = np.where(~par & (p < 0), np.maximum(t0, r), t0)
                t1 = np.where(~par & (p > 0), np.minimum(t1, r), t1)
                t1 = np.where(par & (q < 0), -1.0, t1)
    keep = t1 > t0
    a, d, t0, t1 = a[keep], d[keep], t0[keep], t1[keep]
    return np.stack([a + t0[:, None] * d, a + t1[:, None] * d], axis=1)


def _tidy(segs: np.ndarray, box: np.ndarray, scale: float) -> np.ndarray:
    segs = _clip_box(segs, box)
    length = np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1) if len(segs) else np.zeros(0)
    return segs[length > 1e-12 * scale]


def image_segments(model, segs: Any) -> np.ndarray:
    """Exact image under the map of a set of segments (n, 2, M): split at borders, map ends.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PLRNN
    >>> m = PLRNN([0.0], [[1.0]], [0.0])                     # z' = relu(z)
    >>> image_segments(m, [[[-1.0], [2.0]]]).tolist()        # [-1, 0] -> 0, [0, 2] -> [0, 2]
    [[[0.0], [0.0]], [[0.0], [2.0]]]
    """
    segs = np.asarray(segs, float)
    s0, S = _affine_switching(model)
    pieces, regions = _split(segs, s0, S)
    J = model.jacobians(regions)
    c = model.offsets(regions)
    return np.einsum("nij,nkj->nki", J, pieces) + c[:, None, :]


def preimage_segments(model, segs: Any) -> np.ndarray:
    """Every preimage of a set of segments (n, 2, M) under the map, exactly.

    For each region with an invertible Jacobian the segments are mapped by that region's
    inverse affine map and the parts lying in that region kept.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PLRNN
    >>> m = PLRNN([0.0], [[2.0]], [0.0])                     # z' = 2 relu(z)
    >>> preimage_segments(m, [[[1.0], [2.0]]]).tolist()
    [[[0.5], [1.0]]]
    """
    segs = np.asarray(segs, float)
    s0, S = _affine_switching(model)
    nb = len(s0)
    allr = ((np.arange(2 ** nb)[:, None] >> np.arange(nb)) & 1).astype(bool)
    J = model.jacobians(allr)
    c = model.offsets(allr)
    out = []
    for r in range(len(allr)):
        if abs(np.linalg.det(J[r])) < 1e-12:
            continue
        Ji = np.linalg.inv(J[r])
        pre = np.einsum("ij,nkj->nki", Ji, segs - c[r])
        pieces, regions = _split(pre, s0, S)
        keep = np.all(regions == allr[r], axis=1)
        out.append(pieces[keep])
    return np.concatenate(out) if out else np.zeros((0, 2, segs.shape[-1]))


def _local_length(model, cycle, v: np.ndarray, lam: float, s0, S) -> float:
    """Half-length of the eigen-segment at the first point that stays affine for 2 periods."""
    pts = np.asarray(cycle.points, float)
    k = len(pts)
    regions = model.region(pts)
    J = model.jacobians(regions)
    norms = np.linalg.norm(S, axis=0)  # |grad s_i|
    w = v.copy()
    best = np.inf
    for j in range(2 * k + 1):
        p = pts[j % k]
        dist = np.abs(s0 + p @ S) / np.where(norms > 0, norms, np.inf)
        disp = np.abs(w @ S) / np.where(norms > 0, norms, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(disp > 0, dist / disp, np.inf)
        best = min(best, float(np.min(ratio)))
        w = J[j % k] @ w
    return 0.5 * best / max(1.0, abs(lam)) if np.isfinite(best) else 1e-3


def _check_saddle(model: Any, cycle: Any, bounds: Any) -> np.ndarray:
    """The checked box ``(2, 2)`` of :func:`saddle_manifolds` (a 2-D model, a saddle object)."""
    if int(model.M) != 2:
        raise ValueError(f"model must be 2-D for manifolds, got M = {model.M}")
    if getattr(cycle, "stability", None) != "saddle":
        raise ValueError(f"cycle must be a saddle, got {getattr(cycle, 'stability', None)!r}")
    box = np.asarray(bounds, float)
    if box.shape != (2, 2) or not np.all(np.isfinite(box)) or np.any(box[:, 1] <= box[:, 0]):
        raise ValueError(f"bounds must be ((x0, x1), (y0, y1)) with x0 < x1, y0 < y1, got {bounds!r}")
    return box


def _saddle_directions(model: Any, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Eigenvalues and eigenvectors (real) of the saddle's period map and the indices of its
    unstable and stable direction."""
    J = model.jacobians(model.region(pts))
    P = np.eye(2)
    for j in range(len(pts)):
        P = J[j] @ P
    lam, vec = np.linalg.eig(P)
    lam, vec = np.real(lam), np.real(vec)
    iu, is_ = (0, 1) if abs(lam[0]) > abs(lam[1]) else (1, 0)
    return lam, vec, iu, is_


def _trace_branch(model: Any, name: str, step: Any, p0: np.ndarray, v: np.ndarray, lam: float, delta: float,
                  k: int, n_iter: int, max_segments: int, box: np.ndarray, scale: float,
                  progress: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Segments, their generations and whether the branch was cut at ``max_segments``.

    The local segment L (traced for two periods, enough to make the union invariant) and the
    two fundamental domains D+-, between delta and lambda^2 delta (traced to the end), mapped
    forward (``step = image_segments``, unstable) or backward (``preimage_segments``, stable).
    """
    far, near = (lam ** 2, 1.0) if name == "unstable" else (1.0, lam ** 2)
    local = np.array([[p0 - delta * v, p0 + delta * v]])
    dom = np.array([[p0 + sgn * near * delta * v, p0 + sgn * far * delta * v] for sgn in (1.0, -1.0)])
    segs, gens = [local, dom], [np.zeros(1, dtype=int), np.zeros(2, dtype=int)]
    total = 3
    truncated = False
    for g in range(1, n_iter + 1):
        if progress is not None:
            progress(g / n_iter, f"{name} manifold")
        if g <= 2 * k:
            local = _tidy(step(model, local), box, scale)
        dom = _tidy(step(model, dom), box, scale)
        new = np.concatenate([local, dom]) if g <= 2 * k else dom
        if len(new) == 0:
            break
        if total + len(new) > max_segments:
            new = new[: max_segments - total]
            truncated = True
        segs.append(new)
        gens.append(np.full(len(new), g))
        total += len(new)
        if total >= max_segments:
            truncated = truncated or g < n_iter
            break
    return np.concatenate(segs), np.concatenate(gens), truncated


def saddle_manifolds(model: Any, cycle: Any, *, bounds: Any, n_iter: int | None = None,
                     max_segments: int = 4000, progress: Any = None) -> Manifolds:
    """Trace the stable and unstable manifold of a saddle fixed point or cycle of a 2-D model.

    Parameters
    ----------
    model : piecewise-linear model with ``M == 2``
    cycle : saddle object (``.points`` (k, 2), ``.stability == "saddle"``)
    bounds : ((x0, x1), (y0, y1))
        Box in state space; the branches are traced inside it.
    n_iter : int, optional
        Map applications in each direction (default ``max(40, 12 k)``).
    max_segments : int
        Stop once this many segments were traced per branch (``truncated`` is then True).
    progress : callable, optional
        ``progress(fraction, message)`` after every map application (a background job's
        ``report``: its cancellation point).

    Returns
    -------
    Manifolds

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> m = paper_gt16()
    >>> saddle = [c for c in find_cycles(m, 16, seed=0) if c.stability == "saddle"][0]
    >>> man = saddle_manifolds(m, saddle, bounds=((-3, 3), (-3, 3)))
    >>> len(man.unstable) > 16 and len(man.stable) > 16
    True
    """
    box = _check_saddle(model, cycle, bounds)
    pts = np.asarray(cycle.points, float)
    k = len(pts)
    n_iter = max(40, 12 * k) if n_iter is None else check_int(n_iter, "n_iter", minimum=0)
    max_segments = check_int(max_segments, "max_segments", minimum=1)
    progress = check_callable(progress, "progress")
    s0, S = _affine_switching(model)
    lam, vec, iu, is_ = _saddle_directions(model, pts)
    scale = float(np.max(box[:, 1] - box[:, 0]))
    truncated = False
    out = {}
    for name, i, step in (("unstable", iu, image_segments), ("stable", is_, preimage_segments)):
        v = vec[:, i] / np.linalg.norm(vec[:, i])
        delta = _local_length(model, cycle, v, lam[i], s0, S)
        segs, gens, cut = _trace_branch(model, name, step, pts[0], v, lam[i], delta, k, n_iter, max_segments,
                                        box, scale, progress)
        truncated = truncated or cut
        out[name] = (segs, gens)
    return Manifolds(unstable=out["unstable"][0], stable=out["stable"][0],
                     unstable_generation=out["unstable"][1], stable_generation=out["stable"][1],
                     eigenvalues=(float(lam[iu]), float(lam[is_])), truncated=truncated)
