"""The one vocabulary of argument checks: one rule set, refusals name the argument."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore._validation import check_array, check_bool, check_choice, check_int, check_real, check_seed


@pytest.mark.parametrize("good", [0, 3, np.int64(7), np.uint8(2)])
def test_integers_accepted(good):
    assert check_int(good, "n") == int(good) and type(check_int(good, "n")) is int


@pytest.mark.parametrize("bad", [2.0, 2.5, True, np.bool_(False), "3", None, 1 + 0j, [1]])
def test_integers_refused_with_the_name(bad):
    with pytest.raises(ValueError, match=r"^n must be an integer"):
        check_int(bad, "n")


def test_integer_bounds():
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        check_int(0, "k", minimum=1)
    with pytest.raises(ValueError, match="k must be <= 5"):
        check_int(6, "k", maximum=5)


@pytest.mark.parametrize("bad", ["0.5", True, 1j, None, float("nan"), float("inf")])
def test_reals_refused(bad):
    with pytest.raises(ValueError, match="^lr must be"):
        check_real(bad, "lr")


def test_reals():
    assert check_real(np.float32(0.5), "lr") == 0.5 and check_real(2, "lr") == 2.0
    assert check_real(float("inf"), "x", allow_inf=True) == float("inf")
    with pytest.raises(ValueError, match="> 0"):
        check_real(0.0, "lr", minimum=0.0, exclusive_minimum=True)


def test_bool_and_choice():
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(ValueError, match="flag must be True or False"):
        check_bool(1, "flag")
    with pytest.raises(ValueError, match=r"mode must be one of \['a', 'b'\]"):
        check_choice("c", "mode", ("a", "b"))
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice(np.array([1, 2]), "mode", (1, 2))
    with pytest.raises(ValueError):
        check_choice(1.0, "order", (1, 2))  # exact type: 1.0 is not the choice 1


@pytest.mark.parametrize("bad, what", [(["0.5"], "strings"), ([1 + 2j], "complex"), ([[1], [2, 3]], "array"),
                                       ("abc", "string"), ([object()], "mixed")])
def test_arrays_refuse_non_numbers(bad, what):
    with pytest.raises(ValueError, match=what):
        check_array(bad, "A")


def test_array_shape_and_finiteness():
    assert check_array([1, 2], "h", shape=(2,)).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"W must have shape \(2, any\), got \(3, 2\)"):
        check_array(np.zeros((3, 2)), "W", shape=(2, None))
    with pytest.raises(ValueError, match="finite"):
        check_array([np.inf], "h")
    assert np.isnan(check_array([np.nan], "h", allow_nonfinite=True)[0])


def test_seed():
    assert check_seed(None) is None and check_seed(5) == 5
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        check_seed(-1)
