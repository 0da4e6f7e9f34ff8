"""Fixed points of ReLU RNNs trained on the 3-bit flip-flop task: exact batched search vs Adam.

The classic of Sussillo & Barak (2013), as in fixed-point-finder's own example: a
``torch.nn.RNN(nonlinearity="relu")`` with M units learns to hold three bits; its input-free
dynamics store 8 memories as stable fixed points with saddles between them: 27 fixed points
for a network organised as a cube (8 corners stable, 12 edges with one unstable direction,
6 faces with two, the centre with three). Under zero input the RNN is exactly a PLRNN
(:func:`rnnexplore.dynamics.models.from_torch_rnn`), so its fixed points can be found exactly.

Networks: trained by the package's :func:`rnnexplore.dynamics.training.flipflop.train_flipflop`
(seed 0, trials that start with a pulse on every bit as in fixed-point-finder's
``FlipFlopData``; settings in ``make_flipflop_nets.TRAINING``) and cached in
``benchmarks/data/flipflop_M{M}.npz`` by the one cache of the benchmark nets
(``make_flipflop_nets.network``: ``np.load(allow_pickle=False)``, atomic write); a missing file
is trained and written (``--retrain`` forces it).

Timed on the same network, from the same 1024 states sampled (seeded) from 64 task
trajectories of 100 steps plus Gaussian noise of standard deviation 0.5 (fixed-point-finder's
``sample_states(n_inits=1024, noise_scale=0.5)``):

- exact: :func:`rnnexplore.dynamics.continuation.objects_from_states` with ``relax=30``: each
  state relaxed 30 input-free steps, the region where its run is slowest solved exactly (float64,
  reduced k x k systems of the active units, batched), virtual solutions followed by SCYFI
  region updates; every object passes the exact real/virtual check;
- Adam slow-point search as fixed-point-finder's ``FixedPointFinderTorch`` does it (float32,
  one torch graph over all 1024 states, ``torch.optim.Adam(lr=1.0)`` with
  ``ReduceLROnPlateau(factor=0.95, patience=2)`` on the mean q, ``q = 1/2 |F(x) - x|^2``,
  stopping when every state has ``q < tol_q = 1e-12`` or ``dq < tol_dq * lr`` (``tol_dq = 1e-20``),
  or after ``max_iters = 10,000``), then its ``get_unique`` (2-norm within ``tol_unique = 1e-3``,
  the smallest q kept) and distance-outlier exclusion (scale 10).

BLAS threads are limited to one with threadpoolctl and torch to one thread (small matrices in
hot loops oversubscribe a shared machine; both methods run under the same limits).

Run::

    .venv/bin/python benchmarks/bench_flipflop.py                 # M = 128 (both) and 512 (exact)
    .venv/bin/python benchmarks/bench_flipflop.py --sizes 64 128 --skip-adam-above 64
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def network(M: int, retrain: bool = False):
    """The cached flip-flop network with M units (``make_flipflop_nets.network(M, "flipflop")``)."""
    from make_flipflop_nets import network as benchmark_network  # benchmarks/ is the script's folder

    rnn, readout, how = benchmark_network(M, "flipflop", retrain)
    return (rnn, readout), how


def sampled_states(rnn, seed: int = 1) -> np.ndarray:
    """1024 hidden states of 64 task trajectories (100 steps) plus noise 0.5, as fixed-point-finder samples them."""
    import torch

    from rnnexplore.dynamics.training.flipflop import flipflop_batch

    u, _ = flipflop_batch(64, 100, seed=seed, start_pulse=True)
    with torch.no_grad():
        x = rnn(torch.tensor(u, dtype=torch.float32))[0].numpy().astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    flat = x.reshape(-1, x.shape[-1])
    return flat[rng.choice(len(flat), 1024, replace=False)] + 0.5 * rng.standard_normal((1024, flat.shape[1]))


def exact_search(model, init: np.ndarray):
    from rnnexplore.dynamics.continuation import objects_from_states

    t0 = time.perf_counter()
    z = init @ model.W.T + model.h  # the pre-activation of hidden state x (from_torch_rnn's variable)
    cs = objects_from_states(model, z[None], 1, relax=30)
    return cs, time.perf_counter() - t0


def adam_search(rnn, init: np.ndarray, max_iters: int = 10_000, tol_q: float = 1e-12, tol_dq: float = 1e-20):
    """fixed-point-finder's joint optimisation (FixedPointFinderTorch._run_joint_optimization)."""
    import torch

    for p in rnn.parameters():
        p.requires_grad_(False)
    t0 = time.perf_counter()
    x = torch.tensor(init, dtype=torch.float32).unsqueeze(0).requires_grad_(True)
    u = torch.zeros(init.shape[0], 1, rnn.input_size)  # zero input, batch-first time step of one
    rnn_bf = torch.nn.RNN(rnn.input_size, rnn.hidden_size, nonlinearity="relu", batch_first=True)
    rnn_bf.load_state_dict(rnn.state_dict())
    for p in rnn_bf.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([x], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.95, patience=2, cooldown=0)
    q_prev = torch.full((init.shape[0],), float("nan"))
    it = 1
    while True:
        _, Fx = rnn_bf(u, x)
        q = 0.5 * torch.sum((x - Fx).squeeze(0) ** 2, dim=1)
        q_mean = q.mean()
        dq = torch.abs(q - q_prev)
        opt.zero_grad()
        q_mean.backward()
        opt.step()
        sched.step(q_mean.detach())
        lr = sched.get_last_lr()[0]
        qn, dqn = q.detach().numpy(), dq.detach().numpy()
        if it > 1 and np.all((dqn < tol_dq * lr) | (qn < tol_q)):
            break
        if it + 1 > max_iters:
            break
        q_prev = q.detach()
        it += 1
    xs = x.detach().squeeze(0).numpy().astype(np.float64)
    # get_unique: 2-norm within tol_unique, keep the smallest q; then drop distance outliers
    order = np.argsort(qn, kind="stable")
    unique: list[int] = []
    for i in order:
        if all(np.linalg.norm(xs[i] - xs[j]) > 1e-3 for j in unique):
            unique.append(int(i))
    centroid = init.mean(axis=0)
    scale = np.mean(np.linalg.norm(init - centroid, axis=1))
    unique = [i for i in unique if np.linalg.norm(xs[i] - centroid) / scale <= 10.0]
    return xs[unique], qn[unique], time.perf_counter() - t0, it


def cube_counts(cs) -> list[int]:
    """Objects with 0, 1, 2, 3 (and more) unstable directions: a cube is 8, 12, 6, 1."""
    n = [int(np.sum(np.abs(c.eigenvalues) > 1.0)) for c in cs]
    return [n.count(i) for i in range(3)] + [sum(1 for v in n if v >= 3)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--skip-adam-above", type=int, default=128, help="Adam baseline only up to this M")
    ap.add_argument("--retrain", action="store_true", help="train the networks again (seeded) and rewrite the cache")
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    from rnnexplore.dynamics.models import from_torch_rnn, hidden_from_preactivation
    from rnnexplore.dynamics.training.flipflop import flipflop_accuracy

    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared); one BLAS and torch thread")
    with threadpool_limits(1):
        for M in args.sizes:
            (rnn, readout), how = network(M, args.retrain)
            print(f"M = {M}: {how}; task accuracy {flipflop_accuracy(rnn, readout):.3f}")
            model = from_torch_rnn(rnn)  # z = W x + h: the next pre-activation of hidden state x
            init = sampled_states(rnn)
            cs, t_exact = exact_search(model, init)
            counts = cube_counts(cs)
            x_exact = np.array([hidden_from_preactivation(c.points[0]) for c in cs]).reshape(-1, M)
            res = max((float(np.max(np.abs(model.step(c.points[0]) - c.points[0]))) for c in cs), default=0.0)
            print(f"  exact: {len(cs)} fixed points, unstable directions 0/1/2/3+: {counts} "
                  f"(cube: [8, 12, 6, 1]) in {t_exact:.2f} s; max |F(z) - z| {res:.1e}; "
                  f"{cs.stats['solves']} region solves")
            if M > args.skip_adam_above:
                print(f"  M = {M} exact search {t_exact:.2f} s (target < 10 s)")
                continue
            pts, q, t_adam, steps = adam_search(rnn, init)
            print(f"  Adam (fixed-point-finder): {steps} iterations in {t_adam:.1f} s; {len(pts)} unique points, "
                  f"q min {q.min():.1e} / median {np.median(q):.1e} / max {q.max():.1e}")
            for thr in (1e-12, 1e-8, 1e-4, np.inf):
                sel = pts[q < thr]
                near = (np.min(np.linalg.norm(x_exact[None] - sel[:, None], axis=2), axis=1) < 1e-2
                        if len(sel) and len(x_exact) else np.zeros(0, bool))
                hit = (len({int(np.argmin(np.linalg.norm(x_exact - p, axis=1))) for p in sel[near]})
                       if len(x_exact) else 0)
                print(f"    unique points with q < {thr:g}: {len(sel)}, {int(near.sum())} within 1e-2 of an exact "
                      f"fixed point ({hit} of the {len(cs)} exact ones)")
            print(f"  M = {M} time ratio Adam / exact: {t_adam / t_exact:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
