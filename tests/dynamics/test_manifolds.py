"""Manifolds of saddles: invariance of the traced branches under the map, and local eigen-lines."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.manifolds import image_segments, preimage_segments, saddle_manifolds
from rnnexplore.dynamics.models import PLRNN, border_collision_normal_form, paper_gt16


def _distance_to_segments(p, segs):
    """Distance of points p (n, 2) to a set of segments (m, 2, 2), brute force."""
    a, b = segs[:, 0], segs[:, 1]
    d = b - a
    L2 = np.maximum(np.sum(d * d, axis=1), 1e-300)
    t = np.clip(np.einsum("nmk,mk->nm", p[:, None, :] - a[None], d) / L2, 0, 1)
    proj = a[None] + t[..., None] * d[None]
    return np.min(np.linalg.norm(p[:, None, :] - proj, axis=2), axis=1)


def _points_on(segs, rng, n):
    i = rng.integers(len(segs), size=n)
    t = rng.uniform(size=(n, 1))
    return segs[i, 0] + t * (segs[i, 1] - segs[i, 0])


def _saddles():
    out = []
    m = paper_gt16()
    out += [(m, c) for c in find_cycles(m, 16, seed=0) if c.stability == "saddle"]
    m = border_collision_normal_form(0.0)
    out += [(m, c) for c in find_cycles(m, 2, seed=0) if c.stability == "saddle"]
    return out


@pytest.mark.parametrize("model, saddle", _saddles(), ids=lambda x: getattr(x, "key", type(x).__name__)[:12])
def test_branches_are_invariant(model, saddle):
    box = ((-4.0, 4.0), (-4.0, 4.0))
    man = saddle_manifolds(model, saddle, bounds=box, max_segments=3000)
    rng = np.random.default_rng(0)
    scale = 1.0 + float(np.max(np.abs(saddle.points)))
    # unstable: points of every generation but the last map onto the branch
    U, gu = man.unstable, man.unstable_generation
    p = _points_on(U[gu < gu.max()], rng, 400)
    img = model.step(p)
    inside = np.all((img > -4) & (img < 4), axis=1)
    assert inside.sum() > 100
    assert np.max(_distance_to_segments(img[inside], U)) < 1e-9 * scale
    # stable: F maps the stable branch into itself (all generations)
    S = man.stable
    p = _points_on(S, rng, 400)
    img = model.step(p)
    assert np.max(_distance_to_segments(img, S)) < 1e-9 * scale
    # the stable branch converges to the saddle's orbit; the local pieces are eigen-lines
    lam_u, lam_s = man.eigenvalues
    assert abs(lam_u) > 1 > abs(lam_s)
    assert _distance_to_segments(np.asarray(saddle.points, float), np.vstack([U, S])).max() < 1e-12 * scale


def test_a_linear_saddle_has_the_axes_as_manifolds():
    m = PLRNN([2.0, 0.5], [[0.0, 0.0], [0.0, 0.0]], [-1.0, 1.0])  # saddle (1, 2), axes-parallel
    saddle = [c for c in find_cycles(m, 1, seed=0) if c.stability == "saddle"][0]
    man = saddle_manifolds(m, saddle, bounds=((-5, 5), (-5, 5)))
    assert np.allclose(man.unstable[:, :, 1], 2.0) and np.allclose(man.stable[:, :, 0], 1.0)
    # the unstable branch fills the box along y = 2 (from x = -5 to 5)
    assert man.unstable[:, :, 0].min() == pytest.approx(-5) and man.unstable[:, :, 0].max() == pytest.approx(5)


def test_images_and_preimages_split_at_the_borders():
    m = PLRNN([0.0], [[1.0]], [0.0])  # relu
    assert image_segments(m, [[[-1.0], [2.0]]]).tolist() == [[[0.0], [0.0]], [[0.0], [2.0]]]
    m = PLRNN([0.5], [[1.5]], [0.0])  # 0.5 z for z <= 0, 2 z for z > 0
    pre = preimage_segments(m, [[[-1.0], [1.0]]])
    assert sorted(map(sorted, pre[:, :, 0].tolist())) == [[-2.0, 0.0], [0.0, 0.5]]
    for seg in pre:
        img = image_segments(m, [seg])
        assert np.all((img >= -1 - 1e-12) & (img <= 1 + 1e-12))


def test_bad_arguments():
    m = paper_gt16()
    c = [c for c in find_cycles(m, 16, seed=0) if c.stability == "stable"][0]
    with pytest.raises(ValueError, match="must be a saddle"):
        saddle_manifolds(m, c, bounds=((-1, 1), (-1, 1)))
    s = [c for c in find_cycles(m, 16, seed=0) if c.stability == "saddle"][0]
    with pytest.raises(ValueError, match="bounds"):
        saddle_manifolds(m, s, bounds=((1, -1), (-1, 1)))
