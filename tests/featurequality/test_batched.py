"""Batched training (stacked weights) against separately trained models, written out in the test."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnexplore.featurequality import classic_staircase
from rnnexplore.featurequality.mlp import ReLUMLP, TrainingCancelled, train_batched, train_mlp


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one torch thread is fastest and leaves the other core alone."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _train_alone(model, X, y, *, steps, lr, batch_size, seed):
    """The textbook loop: nn.Module forward, torch's (unfused) Adam, cosine lr, one randint draw."""
    dtype = next(model.parameters()).dtype
    Xt, yt = torch.as_tensor(X, dtype=dtype), torch.as_tensor(y, dtype=dtype)
    idx = torch.randint(0, len(X), (steps, batch_size), generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)
    losses = []
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = torch.mean((model(Xt[idx[step]]) - yt[idx[step]]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("depth, gamma", [(1, 1.0), (3, 0.5)])
def test_batched_training_equals_separate_training(depth, gamma):
    task = classic_staircase(3, 8)
    sizes, seeds = [20, 35, 50], [3, 4, 5]
    data = [task.sample(n, seed=10 + j) for j, n in enumerate(sizes)]
    data[2] = (data[2][0], np.random.default_rng(0).permutation(data[2][1]))  # a shuffled control
    cfg = dict(steps=1100, lr=3e-3, batch_size=8)  # > one index block (1024 steps)
    make = lambda s: ReLUMLP(8, depth, 24, gamma=gamma, seed=s, dtype=torch.float64)  # noqa: E731
    batched = [make(s) for s in seeds]
    losses = train_batched(batched, [X for X, _ in data], [y for _, y in data], seeds=seeds, record_every=1, **cfg)
    for j, s in enumerate(seeds):
        alone = make(s)
        ref_losses = _train_alone(alone, *data[j], seed=s, **cfg)
        np.testing.assert_allclose(losses[j], ref_losses, rtol=1e-9, atol=1e-12)
        for W_b, W_a in zip(batched[j].weights(), alone.weights()):
            np.testing.assert_allclose(W_b, W_a, rtol=1e-9, atol=1e-11)
        for lb, la in zip(batched[j].layers, alone.layers):
            np.testing.assert_allclose(lb.bias.detach().numpy(), la.bias.detach().numpy(), rtol=1e-9, atol=1e-11)
        # the weights moved (the test is not vacuous)
        assert np.linalg.norm(batched[j].weights()[0] - make(s).weights()[0]) > 0.1


def test_train_mlp_is_a_batch_of_one():
    X, y = classic_staircase(2, 5).sample(30, seed=0)
    a, b = ReLUMLP(5, 2, 16, seed=1), ReLUMLP(5, 2, 16, seed=1)
    train_mlp(a, X, y, steps=200, batch_size=8, seed=7)
    other = ReLUMLP(5, 2, 16, seed=2)
    train_batched([other, b], [X[:10], X], [y[:10], y], seeds=[0, 7], steps=200, batch_size=8)
    for wa, wb in zip(a.weights(), b.weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)  # float32: summation order only


def test_should_stop_cancels_and_progress_reports():
    X, y = classic_staircase(2, 5).sample(30, seed=0)
    seen = []
    m = ReLUMLP(5, 1, 8)
    with pytest.raises(TrainingCancelled, match="step 300 of 1000"):
        train_mlp(m, X, y, steps=1000, progress=lambda s, t: seen.append((s, t)), should_stop=lambda: len(seen) >= 3)
    assert seen == [(100, 1000), (200, 1000), (300, 1000)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(seeds=[0]), "same length"),
        (dict(seeds=[0, 1], steps=0), "steps"),
        (dict(seeds=[0, 1], lr=-1.0), "lr"),
        (dict(seeds=[0, 1], record_every=-1), "record_every"),
    ],
)
def test_train_batched_bad_inputs(kwargs, match):
    X, y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(ValueError, match=match):
        train_batched([ReLUMLP(3, 1, 4), ReLUMLP(3, 1, 4)], [X, X], [y, y], **kwargs)


def test_train_batched_rejects_mixed_architectures_and_bad_data():
    X, y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(ValueError, match="different architecture"):
        train_batched([ReLUMLP(3, 1, 4), ReLUMLP(3, 1, 5)], [X, X], [y, y], seeds=[0, 1])
    with pytest.raises(ValueError, match="Xs\\[1\\]"):
        train_batched([ReLUMLP(3, 1, 4), ReLUMLP(3, 1, 4)], [X, X[:, :2]], [y, y], seeds=[0, 1])
    with pytest.raises(ValueError, match="NaN"):
        train_batched([ReLUMLP(3, 1, 4)], [X], [y * np.nan], seeds=[0])


@pytest.mark.parametrize("depth, gamma", [(1, 2.0), (3, 0.5)])
def test_hand_written_backprop_equals_autograd(depth, gamma):
    """The fast path's gradients (no autograd graph) against autograd through each nn.Module."""
    from rnnexplore.featurequality.mlp import _backprop, _stack_parameters

    rng = np.random.default_rng(1)
    models = [ReLUMLP(6, depth, 12, gamma=gamma, seed=s, dtype=torch.float64) for s in range(3)]
    x = torch.as_tensor(rng.standard_normal((3, 9, 6)))
    y = torch.as_tensor(rng.standard_normal((3, 9)))
    Ws, bs = _stack_parameters(models)
    for p in Ws + bs:
        p.grad = torch.full_like(p, np.nan)  # every entry must be overwritten
    losses = _backprop(Ws, bs, x.transpose(1, 2), y, 1.0 / gamma, loss=True)
    for j, m in enumerate(models):
        loss = torch.mean((m(x[j]) - y[j]) ** 2)
        m.zero_grad()
        loss.backward()
        np.testing.assert_allclose(float(losses[j]), float(loss.detach()), rtol=1e-12)
        for k, lin in enumerate(m.layers):
            np.testing.assert_allclose(Ws[k].grad[j].numpy(), lin.weight.grad.numpy(), rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(bs[k].grad[j, :, 0].numpy(), lin.bias.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert _backprop(Ws, bs, x.transpose(1, 2), y, 1.0 / gamma) is None


def test_denormal_flushing_is_confined_to_training():
    X, y = classic_staircase(2, 5).sample(30, seed=0)
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a float32 denormal
    assert float(tiny * 1.0) > 0
    train_mlp(ReLUMLP(5, 1, 8, seed=0), X, y, steps=5, batch_size=4)
    assert float(tiny * 1.0) > 0  # flags cleared after training
    with pytest.raises(TrainingCancelled):
        train_mlp(ReLUMLP(5, 1, 8, seed=0), X, y, steps=300, batch_size=4, should_stop=lambda: True)
    assert float(tiny * 1.0) > 0  # also after an exception


def test_fused_adam_kernel_is_bitwise_torch_adam():
    """The training loop's direct ``_fused_adam_`` call against ``torch.optim.Adam(fused=True)``."""
    from rnnexplore.featurequality.mlp import _FusedAdam

    rng = np.random.default_rng(2)
    shapes = [(3, 7, 5), (3, 7, 1), (3, 1, 7)]
    ref = [torch.as_tensor(rng.standard_normal(s), dtype=torch.float32) for s in shapes]
    ours = [p.clone() for p in ref]
    for p in ours:
        p.grad = torch.zeros_like(p)
    opt, adam = torch.optim.Adam(ref, lr=1.0, fused=True), _FusedAdam(ours)
    for step in range(25):
        grads = [torch.as_tensor(rng.standard_normal(s) * 10.0 ** -(step % 4), dtype=torch.float32) for s in shapes]
        lr = 1e-2 * (1 + math.cos(step))
        for p, q, g in zip(ref, ours, grads):
            p.grad = g.clone()
            q.grad.copy_(g)  # in place, as _backprop writes it
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        adam.step(lr)
        for p, q in zip(ref, ours):
            assert torch.equal(p, q)
    assert all(float(s) == 25 for s in adam.steps)
    assert not torch.equal(ref[0], torch.as_tensor(rng.standard_normal(shapes[0]), dtype=torch.float32))
