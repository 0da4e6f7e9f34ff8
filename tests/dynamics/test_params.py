"""One parameter-name grammar for models, replays and landscapes (numpy indexing)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnexplore.dynamics.models import PiecewiseLinearModel, ShallowPLRNN, paper_gt16
from rnnexplore.dynamics.params import format_param_name, index_names, locate_param, parse_param_name
from rnnexplore.dynamics.training.replay import Replay


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 1, 2)])
def test_names_round_trip_against_numpy_indexing(shape):
    arr = np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
    names = index_names("X", shape)
    # oracle: the nested loops written out, in C order
    want = [(i,) + rest for i in range(shape[0]) for rest in itertools.product(*map(range, shape[1:]))]
    assert [parse_param_name(n) for n in names] == [("X", idx) for idx in want]
    for n, idx in zip(names, want):
        field, got = locate_param(n, {"X": shape})
        assert arr[got] == arr[idx] and format_param_name(field, got) == n


@pytest.mark.parametrize("name, want", [("A[0]", ("A", (0,))), (" W[ 1, 0 ] ", ("W", (1, 0))),
                                        ("h1[12]", ("h1", (12,))), ("u[0]", ("u", (0,))),
                                        ("C_in[2,1]", ("C_in", (2, 1)))])
def test_grammar_accepts(name, want):
    assert parse_param_name(name) == want


@pytest.mark.parametrize("bad", ["h", "W[]", "W[1,]", "W[-1]", "W[1.0]", "1W[0]", "W[0]x", "", None, 3, ("W", 0)])
def test_grammar_rejects(bad):
    with pytest.raises(ValueError, match="parameter name"):
        parse_param_name(bad)


@pytest.mark.parametrize("bad, reason", [("Q[0]", "no array"), ("W[0]", "needs 2"), ("W[0,2]", "out of range"),
                                         ("W", "form")])
def test_locate_names_the_reason(bad, reason):
    with pytest.raises(ValueError, match=f"unknown parameter name.*valid names: 'W\\[i,j\\]' \\(2 x 2\\).*{reason}"):
        locate_param(bad, {"W": (2, 2)})


def test_models_and_replays_share_names():
    m = paper_gt16()
    assert isinstance(m, PiecewiseLinearModel)
    C = 3
    params = {"A": np.stack([np.diag(m.A)] * C), "W": np.stack([m.W] * C), "h": np.stack([m.h] * C)}
    rep = Replay("plrnn", np.arange(C), params, np.ones(C), np.ones(C), np.ones(C), np.zeros(C))
    assert rep.scalar_param_names() == m.param_names()
    for name in m.param_names():
        assert np.all(rep.param_series(name) == m.get_param(name))
    s = ShallowPLRNN(a=[0.5, 0.2], W1=np.ones((2, 3)), W2=np.ones((3, 2)), h1=[0, 1], h2=[1, 2, 3])
    for name in s.param_names():
        field, idx = s.param_index(name)
        assert getattr(s, field)[idx] == s.get_param(name)
