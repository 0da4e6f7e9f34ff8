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


def test_optional_values_and_huge_integers():
    from rnnexplore._validation import check_int, check_real

    assert check_int(None, "chunksize", allow_none=True) is None
    assert check_real(None, "ridge", allow_none=True) is None
    with pytest.raises(ValueError, match="chunksize must be an integer, got None"):
        check_int(None, "chunksize")
    with pytest.raises(ValueError, match="lr must be finite"):
        check_real(10**400, "lr")  # an int beyond the float range is not a usable real


def test_strings_mappings_executors():
    from concurrent.futures import ThreadPoolExecutor

    from rnnexplore._validation import check_executor, check_mapping, check_str

    assert check_str(np.str_("a"), "key") == "a"
    with pytest.raises(ValueError, match="key must be a string"):
        check_str(b"a", "key")
    with pytest.raises(ValueError, match="budget must be a dict"):
        check_mapping([1], "budget")
    with pytest.raises(ValueError, match=r"model is missing key\(s\) \['h'\]"):
        check_mapping({"A": 1}, "model", required=("A", "h"))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['x'\]"):
        check_mapping({"x": 1}, "budget", optional=("restarts",))
    with pytest.raises(ValueError, match="keys must be strings"):
        check_mapping({1: 1}, "stats")
    with ThreadPoolExecutor(1) as ex:
        assert check_executor(ex) is ex
    assert check_executor(None) is None
    with pytest.raises(ValueError, match="executor must be None or an executor"):
        check_executor("x")


def test_memory_estimates():
    from rnnexplore._validation import MAX_ARRAY_BYTES, check_memory

    check_memory((MAX_ARRAY_BYTES // 8,), "n")  # exactly at the limit
    with pytest.raises(ValueError, match=r"n_steps: the result would need about 8 TB"):
        check_memory((10**12, 1), "n_steps")


def test_the_old_integer_rules_agree_now():
    """The five integer checks that disagreed (one took 2.5, one took 2.0) are one rule now."""
    import rnnexplore as rx

    m = rx.skew_tent(0.2, -1.5, 1.0)
    calls = [lambda v: rx.find_cycles(m, v), lambda v: rx.sweep(m, {"A[0]": [0.1]}, v),
             lambda v: rx.ExplorerState(m, max_order=v), lambda v: rx.staircase(v, [[0]]),
             lambda v: m.simulate([0.1], v), lambda v: rx.brute_force_cycles(m, v)]
    for call in calls:
        for v in (2.0, 2.5, True):
            with pytest.raises(ValueError, match="must be an integer"):
                call(v)
