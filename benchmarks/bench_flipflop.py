"""Fixed points of ReLU RNNs trained on the 3-bit flip-flop task: exact batched search vs Adam.

The classic of Sussillo & Barak (2013), as in fixed-point-finder's own example: a
``torch.nn.RNN(nonlinearity="relu")`` with M units learns to hold three bits; its input-free
dynamics store 8 memories as stable fixed points with saddles between them (27 fixed points
for a network organised as a cube). Under zero input the RNN is exactly a PLRNN
(:func:`rnnexplore.dynamics.models.from_torch_rnn`), so its fixed points can be found exactly.

Per network size M (trained here, seeded):

- exact: :func:`rnnexplore.dynamics.continuation.objects_from_states` on the regions the
  network visits - 1024 states of 64 task trajectories and the states 30 input-free steps
  later - with batched solves and SCYFI region updates;
- Adam slow-point search written the way fixed-point-finder does it: Adam (eps 0.01) on
  ``q(x) = 1/2 |F(x) - x|^2`` from 1024 states sampled on the trajectories plus Gaussian noise
  of standard deviation 0.5, until every ``q < 1e-12`` or 10,000 steps; points with
  ``q < 1e-10`` are de-duplicated at tolerance 1e-3 (fixed-point-finder's ``tol_unique``).

Both are timed on the same network in the same run; BLAS threads are limited to one with
threadpoolctl when it is installed (small matrices in hot loops oversubscribe a shared
machine).

Run::

    .venv/bin/python benchmarks/bench_flipflop.py                 # M = 128 and 512
    .venv/bin/python benchmarks/bench_flipflop.py --sizes 16 64 --skip-adam-above 128
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np


def flipflop_batch(rng: np.random.Generator, n_batch: int, n_steps: int, n_bits: int = 3, p: float = 0.05):
    pulse = rng.uniform(size=(n_steps, n_batch, n_bits)) < p
    sign = np.where(rng.uniform(size=pulse.shape) < 0.5, -1.0, 1.0)
    u = np.where(pulse, sign, 0.0)
    y = np.zeros_like(u)
    state = np.zeros((n_batch, n_bits))
    for t in range(n_steps):
        state = np.where(pulse[t], sign[t], state)
        y[t] = state
    return u, y


def train(M: int, steps: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnn = torch.nn.RNN(3, M, nonlinearity="relu")
    out = torch.nn.Linear(M, 3)
    with torch.no_grad():  # slow dynamics at the start: memories need them
        rnn.weight_hh_l0.copy_(0.9 * torch.eye(M) + 0.1 / np.sqrt(M) * torch.randn(M, M))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.fill_(0.05)
    opt = torch.optim.Adam([*rnn.parameters(), *out.parameters()], lr=2e-3)
    for _ in range(steps):
        u, y = flipflop_batch(rng, 32, 60)
        pred = out(rnn(torch.tensor(u, dtype=torch.float32))[0])
        loss = torch.mean((pred - torch.tensor(y, dtype=torch.float32)) ** 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*rnn.parameters(), *out.parameters()], 1.0)
        opt.step()
    return rnn, float(loss.detach())


def trajectories(rnn, seed: int = 1):
    """Hidden states of 64 task trajectories of 100 steps, shape (100, 64, M)."""
    import torch

    u, _ = flipflop_batch(np.random.default_rng(seed), 64, 100)
    with torch.no_grad():
        x = rnn(torch.tensor(u, dtype=torch.float32))[0].numpy().astype(np.float64)
    return x


def exact_search(rnn, x: np.ndarray, seed: int = 2):
    from rnnexplore.dynamics.continuation import objects_from_states
    from rnnexplore.dynamics.models import from_torch_rnn

    model = from_torch_rnn(rnn)  # z = W x + h: the next pre-activation of hidden state x
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1, x.shape[-1])
    starts = flat[rng.choice(len(flat), 1024, replace=False)]
    z = starts @ model.W.T + model.h
    relaxed = model.simulate(z, 30)[-1]  # 30 input-free steps: near the attractors and slow points
    cs = objects_from_states(model, np.stack([z, relaxed]), 1)
    return cs, time.perf_counter() - t0, model


def adam_search(rnn, x: np.ndarray, seed: int = 3, max_steps: int = 10_000):
    """Slow points as fixed-point-finder finds them (float32, Adam eps 0.01, q < 1e-12 or 10k steps)."""
    import torch

    W = rnn.weight_hh_l0.detach()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1, x.shape[-1])
    init = flat[rng.choice(len(flat), 1024, replace=False)] + 0.5 * rng.standard_normal((1024, flat.shape[1]))
    t0 = time.perf_counter()
    xs = torch.tensor(init, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([xs], lr=0.05, eps=0.01)
    steps = 0
    for steps in range(1, max_steps + 1):
        q = 0.5 * torch.sum((torch.relu(xs @ W.T + b) - xs) ** 2, dim=1)
        if float(q.max()) < 1e-12:
            break
        opt.zero_grad()
        q.mean().backward()
        opt.step()
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        q = 0.5 * torch.sum((torch.relu(xs @ W.T + b) - xs) ** 2, dim=1).numpy()
        pts = xs.numpy().astype(np.float64)
    return pts, q, elapsed, steps


def distinct(pts: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """fixed-point-finder's de-duplication (``tol_unique``)."""
    unique: list[np.ndarray] = []
    for p in pts:
        if all(np.linalg.norm(p - u) > tol for u in unique):
            unique.append(p)
    return np.array(unique).reshape(-1, pts.shape[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--train-steps", type=int, default=600)
    ap.add_argument("--skip-adam-above", type=int, default=128, help="Adam baseline only up to this M")
    args = ap.parse_args()
    import torch

    from rnnexplore.dynamics.models import hidden_from_preactivation

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1)
    except ImportError:  # pragma: no cover - optional
        limit = contextlib.nullcontext()
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared); one BLAS and torch thread")
    with limit:
        for M in args.sizes:
            t0 = time.perf_counter()
            rnn, loss = train(M, args.train_steps)
            print(f"M = {M}: trained {args.train_steps} steps in {time.perf_counter() - t0:.0f} s (loss {loss:.3g})")
            x = trajectories(rnn)
            cs, t_exact, model = exact_search(rnn, x)
            stab = [c.stability for c in cs]
            print(f"  exact (trajectory regions, batched): {len(cs)} fixed points "
                  f"({stab.count('stable')} stable, {stab.count('saddle')} saddle, {stab.count('unstable')} unstable) "
                  f"in {t_exact:.2f} s")
            if M > args.skip_adam_above:
                continue
            pts, q, t_adam, steps = adam_search(rnn, x)
            exact_x = np.array([hidden_from_preactivation(c.points[0]) for c in cs]).reshape(-1, M)
            print(f"  Adam slow-point search: {steps} steps in {t_adam:.1f} s; min q {q.min():.2e}, median q "
                  f"{np.median(q):.2e}")
            for thr in (1e-10, 1e-6, 1e-4):
                d = distinct(pts[q < thr])
                near = [float(np.min(np.linalg.norm(exact_x - p, axis=1))) < 1e-2 for p in d] if len(exact_x) else []
                print(f"    q < {thr:g}: {len(d)} distinct points, {sum(near)} of them at an exact fixed point "
                      f"(exact: {len(cs)})")
            print(f"  time ratio Adam / exact: {t_adam / t_exact:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
