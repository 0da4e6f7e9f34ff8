"""Tests of rnnexplore.dynamics.training.trainer and rnnexplore.dynamics.training.data (torch, float64)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnexplore.dynamics.training import data as rdata  # noqa: E402
from rnnexplore.dynamics.models import PLRNN, ShallowPLRNN, paper_gt16  # noqa: E402
from rnnexplore.dynamics.training import (  # noqa: E402
    AdaptiveAlpha,
    TorchPLRNN,
    TorchShallowPLRNN,
    estimate_alpha,
    forced_rollout,
    from_numpy_model,
    gtf_loss,
    loss_landscape,
    power_law_exponent,
    skew_tent_gradient,
    train,
    train_runs,
)

D = torch.float64


def _data(T=60, N=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, N))


# --------------------------------------------------------------------------- data
def test_lorenz_standardised_and_seeded():
    d1 = rdata.lorenz63_data(500, seed=3, test_fraction=0.2)
    d2 = rdata.lorenz63_data(500, seed=3, test_fraction=0.2)
    assert d1.train.shape == (400, 3) and d1.test.shape == (100, 3)
    np.testing.assert_allclose(d1.train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(d1.train.std(0), 1, atol=1e-12)
    np.testing.assert_array_equal(d1.train, d2.train)


def test_lorenz_follows_ode():
    x = rdata.lorenz63(200, dt=0.001, seed=0)
    # central differences against the vector field
    dx = (x[2:] - x[:-2]) / 0.002
    s = x[1:-1]
    f = np.stack([10 * (s[:, 1] - s[:, 0]), s[:, 0] * (28 - s[:, 2]) - s[:, 1], s[:, 0] * s[:, 1] - 8 / 3 * s[:, 2]], 1)
    np.testing.assert_allclose(dx, f, rtol=1e-3, atol=1e-2)


def test_gt16_data_is_model_orbit_and_noise_seeded():
    d = rdata.gt16_data(300, test_fraction=0.0, burn_in=10, seed=1)
    m = paper_gt16()
    np.testing.assert_allclose(m.step(d.train[:-1]), d.train[1:], atol=1e-12)
    n1 = rdata.gt16_data(300, noise=0.1, seed=1)
    n2 = rdata.gt16_data(300, noise=0.1, seed=1)
    np.testing.assert_array_equal(n1.train, n2.train)
    assert not np.allclose(n1.train, rdata.gt16_data(300, seed=1).train)


@pytest.mark.parametrize(
    "bad, msg",
    [(np.zeros((3, 2, 2)), "shape"), (np.array([[1.0, np.nan], [0, 0]]), "NaN"), (np.zeros((1, 2)), "at least"),
     ([["a", "b"]], "real numbers")],
)
def test_from_array_validates(bad, msg):
    with pytest.raises(ValueError, match=msg):
        rdata.from_array(bad)


def test_from_array_split_and_roundtrip(tmp_path):
    x = np.arange(20.0).reshape(10, 2)
    d = rdata.from_array(x, test_fraction=0.3, noise=0.5, seed=4)
    assert d.train.shape == (7, 2) and d.test.shape == (3, 2)
    d.save(tmp_path / "d.npz")
    e = rdata.TrajectoryData.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(d.train, e.train)
    np.testing.assert_array_equal(d.test, e.test)
    assert e.info == d.info
    with pytest.raises(ValueError, match="test_fraction"):
        rdata.from_array(x, test_fraction=1.0)


# --------------------------------------------------------------------------- models
def test_torch_models_match_numpy_models():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 3))
    m = TorchPLRNN(3, seed=2)
    np.testing.assert_allclose(m.step(torch.tensor(z)).detach().numpy(), m.to_numpy_model().step(z), atol=1e-14)
    assert np.all(np.diag(m.numpy_params()["W"]) == 0)
    s = TorchShallowPLRNN(3, 5, seed=2)
    np.testing.assert_allclose(s.step(torch.tensor(z)).detach().numpy(), s.to_numpy_model().step(z), atol=1e-14)
    # Jacobians against the numpy model's region Jacobians
    for tm in (m, s):
        nm = tm.to_numpy_model()
        J = tm.jacobian(torch.tensor(z)).detach().numpy()
        for b in range(len(z)):
            np.testing.assert_allclose(J[b], nm.jacobian(nm.region(z[b])), atol=1e-14)
    back = from_numpy_model(paper_gt16())
    assert back.offdiag_W and back.to_numpy_model() == paper_gt16()


def test_from_numpy_model_rejects_full_A():
    with pytest.raises(ValueError, match="diagonal"):
        from_numpy_model(PLRNN([[0.5, 0.1], [0.0, 0.5]], np.zeros((2, 2)), [0.0, 0.0]))


# --------------------------------------------------------------------------- GTF
@pytest.mark.parametrize("M", [2, 3])
def test_alpha_one_is_classical_teacher_forcing(M):
    m = TorchPLRNN(M, seed=1)
    x = torch.tensor(_data(12, 2)[None], dtype=D)
    preds = forced_rollout(m.step, x, 1.0, M).detach()
    # classical teacher forcing: observed units reset to the data, latent units carried on
    z = torch.cat([x[:, 0], torch.zeros(1, M - 2, dtype=D)], -1)
    for t in range(1, 12):
        z = m.step(z).detach()
        np.testing.assert_allclose(preds[:, t - 1], z, atol=1e-14)
        z = torch.cat([x[:, t], z[:, 2:]], -1)
    if M == 2:  # with M == N every prediction is one step from the data
        np.testing.assert_allclose(preds[0], m.step(x[0, :-1]).detach(), atol=1e-14)


def test_alpha_zero_is_free_running():
    m = TorchShallowPLRNN(3, 4, seed=5)
    x = torch.tensor(_data(15, 2)[None], dtype=D)
    preds = forced_rollout(m.step, x, 0.0, 3).detach().numpy()[0]
    traj = m.to_numpy_model().simulate(np.r_[x[0, 0].numpy(), 0.0], 14)
    np.testing.assert_allclose(preds, traj[1:], atol=1e-12)


def test_intermediate_alpha_interpolates():
    m = TorchPLRNN(2, seed=1)
    x = torch.tensor(_data(3, 2)[None], dtype=D)
    a = 0.3
    preds = forced_rollout(m.step, x, a, 2).detach()
    z1 = m.step(x[:, 0]).detach()
    z2 = m.step((1 - a) * z1 + a * x[:, 1]).detach()
    np.testing.assert_allclose(preds[:, 0], z1)
    np.testing.assert_allclose(preds[:, 1], z2)


def test_gradient_through_forced_recursion_matches_finite_differences():
    x = torch.tensor(_data(10, 2, seed=3)[None], dtype=D)
    m = TorchPLRNN(3, seed=0)

    def f(A, W, h):
        step = lambda z: A * z + torch.relu(z) @ W.mT + h  # noqa: E731
        preds = forced_rollout(step, x, 0.2, 3)
        return torch.mean((preds[..., :2] - x[:, 1:]) ** 2)

    args = tuple(p.detach().clone().requires_grad_(True) for p in (m.A, m.W, m.h))
    assert torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-7)
    # the module's own loss gives the same gradient
    loss = gtf_loss(m, x, 0.2)
    loss.backward()
    ref = torch.autograd.grad(f(*args), args)
    np.testing.assert_allclose(m.A.grad, ref[0], atol=1e-12)
    np.testing.assert_allclose(m.W_raw.grad * m.W_mask, ref[1] * m.W_mask, atol=1e-12)


def test_estimate_alpha_brute_force_and_schedule():
    m = TorchPLRNN(3, seed=4)
    states = torch.tensor(np.random.default_rng(0).standard_normal((4, 6, 3)), dtype=D)
    nm = m.to_numpy_model()
    geo = []
    for b in range(4):
        norms = [np.linalg.norm(nm.jacobian(nm.region(s)), 2) for s in states[b].numpy()]
        geo.append(np.exp(np.mean(np.log(norms))))
    expected = max(0.0, 1 - 1 / max(geo))
    assert estimate_alpha(m, states) == pytest.approx(expected, rel=1e-12)
    sched = AdaptiveAlpha(0.1)
    assert sched.update(0.5) == 0.5  # raised at once
    assert sched.update(0.0) == pytest.approx(0.999 * 0.5)  # lowered slowly


# --------------------------------------------------------------------------- training
def test_train_reduces_loss_and_records():
    x = np.stack([np.sin(0.3 * np.arange(300)), np.cos(0.3 * np.arange(300))], 1)
    m = TorchPLRNN(3, seed=0)
    seen = []
    rep = train(m, x, alpha=0.2, epochs=30, seq_len=20, batch_size=8, lr=0.02, record_every=10, progress=False,
                callback=lambda info: seen.append(info["epoch"]))
    assert rep.epochs.tolist() == [0, 10, 20, 30] == seen
    assert rep.step_loss.shape == rep.step_grad_norm.shape == (30,)
    assert rep.loss[-1] < 0.5 * rep.loss[0]
    np.testing.assert_allclose(rep.params_at(3)["A"], m.A.detach().numpy())
    assert np.all(rep.alpha == 0.2) and rep.info["seq_len"] == 20


def test_train_adaptive_trainable_subset_and_stop():
    x = rdata.lorenz63_data(400, seed=0)
    m = TorchPLRNN(3, seed=0)
    W0 = m.numpy_params()["W"]
    rep = train(m, x, alpha="adaptive", trainable=["A"], epochs=20, seq_len=20, batch_size=4, progress=False,
                callback=lambda info: info["epoch"] >= 5)
    assert rep.epochs[-1] == 5
    np.testing.assert_array_equal(rep.params["W"][-1], W0)
    assert not np.allclose(rep.params["A"][-1], rep.params["A"][0])
    assert np.all((rep.step_alpha >= 0) & (rep.step_alpha < 1)) and rep.step_alpha.max() > 0


@pytest.mark.parametrize(
    "kwargs, msg",
    [({"alpha": 1.5}, "alpha"), ({"alpha": "auto"}, "adaptive"), ({"seq_len": 1000}, "seq_len"),
     ({"trainable": ["Q"]}, "trainable"), ({"optimizer": "lbfgs"}, "optimizer"), ({"epochs": 0}, "epochs")],
)
def test_train_validates(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        train(TorchPLRNN(2, seed=0), _data(50), progress=False, **kwargs)
    with pytest.raises(ValueError, match="columns"):
        train(TorchPLRNN(1, seed=0), _data(50), progress=False)


def test_train_runs_executor_independent():
    x = _data(80, 1)
    base = TorchPLRNN(2, seed=0)
    kw = dict(seeds=[0, 1], alphas=[0.0, 0.5], init_noise=0.05, epochs=3, seq_len=10, batch_size=2)
    serial = train_runs(base, x, **kw)
    with ThreadPoolExecutor(2) as ex:
        par = train_runs(base, x, executor=ex, **kw)
    assert [(r.info["seed"], r.info["alpha"]) for r in serial] == [(0, 0.0), (0, 0.5), (1, 0.0), (1, 0.5)]
    for a, b in zip(serial, par):
        np.testing.assert_array_equal(a.loss, b.loss)
    assert not np.array_equal(serial[0].params["A"][0], serial[2].params["A"][0])


def test_landscape_matches_single_model_losses():
    x = _data(60, 2, seed=2)
    m = TorchPLRNN(2, seed=3)
    xs, ys = np.array([0.2, 0.7]), np.array([0.1, 0.5, 0.9])
    L = loss_landscape(m, x, "A[0]", "W[1,0]", xs, ys, alpha=0.1, seq_len=15, n_windows=3, seed=0, chunk=4)
    assert L.loss.shape == (3, 2)
    gen = torch.Generator().manual_seed(0)
    starts = torch.randint(0, 60 - 15 + 1, (3,), generator=gen)
    win = torch.tensor(x)[starts[:, None] + torch.arange(15)]
    for iy, yv in enumerate(ys):
        for ix, xv in enumerate(xs):
            p = m.numpy_params()
            p["A"][0], p["W"][1, 0] = xv, yv
            mm = TorchPLRNN(2, A=p["A"], W=p["W"], h=p["h"])
            loss = gtf_loss(mm, win, 0.1)
            loss.backward()
            g = np.sqrt(sum(float((q.grad * (mm.W_mask if q is mm.W_raw else 1)).pow(2).sum())
                            for q in (mm.A, mm.W_raw, mm.h)))
            assert L.loss[iy, ix] == pytest.approx(float(loss.detach()), rel=1e-12)
            assert L.grad_norm[iy, ix] == pytest.approx(g, rel=1e-10)
    LA = loss_landscape(m, x, "A[0]", "W[1,0]", xs, ys, alpha=0.1, seq_len=15, n_windows=3, seed=0, wrt=["A"])
    assert np.all(LA.grad_norm <= L.grad_norm + 1e-12) and np.all(LA.grad_norm > 0)
    with pytest.raises(ValueError, match="unknown parameter"):
        loss_landscape(m, x, "Q[0]", "A[1]", xs, ys, seq_len=10)


# --------------------------------------------------------------------------- theorem
def test_skew_tent_gradient_closed_form_and_exponent():
    for a_r in (-0.5, 0.3, 0.9):
        assert skew_tent_gradient(a_r, mu=2.0) == pytest.approx(2.0 / (1 - a_r) ** 2, rel=1e-9)
    gaps = np.logspace(-2.5, -0.5, 6)
    grads = [skew_tent_gradient(1 - g) for g in gaps]
    p = -power_law_exponent(gaps, grads)
    assert abs(p - 2) < 0.2, p
    with pytest.raises(ValueError, match="a_r"):
        skew_tent_gradient(1.0)


def test_shallow_model_trains():
    x = rdata.lorenz63_data(300, seed=1)
    m = TorchShallowPLRNN(3, 8, seed=0)
    rep = train(m, x, alpha=0.1, epochs=5, seq_len=15, batch_size=4, lr=0.01, progress=False)
    assert rep.kind == "shplrnn" and rep.params["W1"].shape == (6, 3, 8)
    assert isinstance(rep.model_at(-1), ShallowPLRNN)


def test_train_config_equals_keywords_and_names_unknown_options():
    from rnnexplore.dynamics.training.trainer import TrainConfig

    x = np.sin(0.3 * np.arange(120))[:, None]
    cfg = TrainConfig(alpha=0.1, epochs=3, seq_len=15, batch_size=4, record_every=2)
    a = train(TorchPLRNN(2, seed=0), x, cfg, progress=False)
    b = train(TorchPLRNN(2, seed=0), x, progress=False, alpha=0.1, epochs=3, seq_len=15, batch_size=4, record_every=2)
    c = train(TorchPLRNN(2, seed=0), x, cfg.replace(epochs=1), progress=False, epochs=3)
    for r in (b, c):
        np.testing.assert_array_equal(a.loss, r.loss)
        np.testing.assert_array_equal(a.params["W"], r.params["W"])
    assert a.epochs.tolist() == [0, 2, 3] and a.info == b.info
    with pytest.raises(ValueError, match="unknown training option.*'epoch'"):
        train(TorchPLRNN(2, seed=0), x, progress=False, epoch=3)
    with pytest.raises(ValueError, match="record_every"):
        TrainConfig(record_every=0).check(100)


def test_train_resets_requires_grad_after_a_subset_run():
    x = np.sin(0.3 * np.arange(120))[:, None]
    m = TorchPLRNN(2, seed=0)
    rep = train(m, x, trainable=["h"], epochs=2, seq_len=10, batch_size=2, progress=False)
    assert rep.info["trainable"] == ["h"]
    assert all(p.requires_grad for p in m.named_trainables().values())
    np.testing.assert_array_equal(rep.params["A"][0], rep.params["A"][-1])
