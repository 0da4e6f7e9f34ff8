"""PyTorch converters agree with simulating the torch modules themselves."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnexplore.dynamics.cycles import find_cycles  # noqa: E402
from rnnexplore.dynamics.models import (  # noqa: E402
    ALRNN,
    PLRNN,
    ClippedShallowPLRNN,
    ShallowPLRNN,
    from_torch_module,
    from_torch_rnn,
    hidden_from_preactivation,
)


def _torch_hidden_states(rnn, u, x0, n):
    inp = torch.tensor(np.tile(u, (n, 1))[:, None, :], dtype=torch.float64)
    with torch.no_grad():
        out, _ = rnn(inp, torch.tensor(x0, dtype=torch.float64)[None, None, :])
    return out[:, 0, :].numpy()


@pytest.mark.parametrize("bias", [True, False])
def test_from_torch_rnn_matches_torch_simulation(bias):
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, 4, nonlinearity="relu", bias=bias).double()
    u = np.array([0.3, -0.7])
    model = from_torch_rnn(rnn, u=u)
    assert isinstance(model, PLRNN) and np.all(model.A == 0)
    x0 = np.array([0.5, 0.0, 1.0, 0.2])
    xs = _torch_hidden_states(rnn, u, x0, 30)
    z1 = model.W @ x0 + model.h  # first pre-activation
    zs = model.simulate(z1, 29)
    np.testing.assert_allclose(hidden_from_preactivation(zs), xs, atol=1e-10)


def test_cycles_of_a_torch_rnn_are_periodic_orbits_of_the_torch_module():
    torch.manual_seed(3)
    rnn = torch.nn.RNN(1, 3, nonlinearity="relu").double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.tensor([[0.0, -1.2, 0.4], [1.1, 0.0, -0.3], [0.2, 0.9, 0.5]]))
    model = from_torch_rnn(rnn, u=[1.0])
    cs = find_cycles(model, 4, seed=0)
    assert len(cs) >= 1
    for c in cs:
        x = hidden_from_preactivation(c.points)
        xs = _torch_hidden_states(rnn, [1.0], x[-1], c.order)  # one full period from x_{k-1}
        np.testing.assert_allclose(xs, x, atol=1e-8)


def test_from_torch_rnn_validation():
    with pytest.raises(ValueError, match="relu"):
        from_torch_rnn(torch.nn.RNN(1, 2))
    with pytest.raises(ValueError, match="single-layer"):
        from_torch_rnn(torch.nn.RNN(1, 2, num_layers=2, nonlinearity="relu"))
    with pytest.raises(ValueError, match="u"):
        from_torch_rnn(torch.nn.RNN(2, 2, nonlinearity="relu"), u=[1.0])
    with pytest.raises(ValueError, match="torch.nn.RNN"):
        from_torch_rnn(torch.nn.Linear(2, 2))


class _PLRNNModule(torch.nn.Module):
    def __init__(self, M=3, n_relu=None):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.A = torch.nn.Parameter(torch.rand(M, generator=g, dtype=torch.float64))
        self.W = torch.nn.Parameter(torch.randn(M, M, generator=g, dtype=torch.float64))
        self.h = torch.nn.Parameter(torch.randn(M, generator=g, dtype=torch.float64))
        if n_relu is not None:
            self.n_relu = n_relu

    def forward(self, z):
        phi = torch.relu(z)
        if hasattr(self, "n_relu"):
            phi = torch.cat([z[..., : z.shape[-1] - self.n_relu], phi[..., z.shape[-1] - self.n_relu :]], -1)
        return self.A * z + phi @ self.W.T + self.h


class _ShallowModule(torch.nn.Module):
    def __init__(self, clipped=False, M=2, H=5):
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.clipped = clipped
        self.a = torch.rand(M, generator=g, dtype=torch.float64)
        self.W1 = torch.randn(M, H, generator=g, dtype=torch.float64)
        self.W2 = torch.randn(H, M, generator=g, dtype=torch.float64)
        self.h1 = torch.randn(M, generator=g, dtype=torch.float64)
        self.h2 = torch.randn(H, generator=g, dtype=torch.float64)

    def forward(self, z):
        pre = z @ self.W2.T
        act = torch.relu(pre + self.h2) - (torch.relu(pre) if self.clipped else 0)
        return self.a * z + act @ self.W1.T + self.h1


@pytest.mark.parametrize(
    "module, kind, cls",
    [
        (_PLRNNModule(), None, PLRNN),
        (_PLRNNModule(n_relu=2), None, ALRNN),
        (_ShallowModule(), None, ShallowPLRNN),
        (_ShallowModule(clipped=True), "ClippedShallowPLRNN", ClippedShallowPLRNN),
    ],
)
def test_from_torch_module_matches_forward(module, kind, cls):
    model = from_torch_module(module, kind=kind)
    assert type(model) is cls
    z = torch.randn(20, model.M, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    for _ in range(10):
        with torch.no_grad():
            want = module(z).numpy()
        np.testing.assert_allclose(model.step(z.numpy()), want, atol=1e-12)
        z = torch.tensor(want)


def test_from_torch_module_validation():
    with pytest.raises(ValueError, match="attributes"):
        from_torch_module(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="kind"):
        from_torch_module(_PLRNNModule(), kind="LSTM")
