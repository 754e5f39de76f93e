"""The comparison rule itself: relative to the tensor's scale, never NaN, non-finite never agrees."""

import numpy as np
import pytest

from lockstep.check import TOLERANCES, compare, worst

T64, T32 = TOLERANCES["float64"], TOLERANCES["float32"]


@pytest.mark.parametrize(
    "ours,ref,ok",
    [
        (np.zeros(5), np.zeros(5), True),  # a dead relu's gradient: error 0, not 0/0
        (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), True),
        (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), False),
        (np.array([1e-30, 0.0]), np.array([0.0, 0.0]), False),  # any difference from all-zeros is 100%
        (np.array([np.nan]), np.array([1.0]), False),
        (np.array([np.inf]), np.array([np.inf]), False),  # inf agrees with nothing, not even inf
        (np.zeros((2, 3)), np.zeros((3, 2)), False),
    ],
)
def test_compare(ours, ref, ok):
    with np.errstate(all="ignore"):  # inf - inf warns; the engine runs under the same errstate
        c = compare("backward", "t", ours, ref, T64)
    assert c.ok is ok
    assert not np.isnan(c.max_rel)


def test_zero_tensors_give_zero_error():
    c = compare("backward", "dead", np.zeros((4, 4)), np.zeros((4, 4)), T64)
    assert (c.max_abs, c.max_rel, c.ok) == (0.0, 0.0, True)


def test_relative_to_scale_not_elementwise():
    """An element that cancels to nearly zero does not make a tiny error look large."""
    ref = np.array([1.0, 1e-17])
    ours = np.array([1.0, 2e-17])
    assert compare("backward", "g", ours, ref, T64).ok


def test_loss_and_tensor_tolerances_differ():
    a, b = np.float64(1.0), np.float64(1.0 + 1e-11)
    assert not compare("loss", "loss", a, b, T64).ok
    assert compare("update", "w", a, b, T64).ok


def test_float32_tolerance_scales_with_eps():
    eps = np.finfo(np.float32).eps
    assert T32.tensor == 2**12 * eps and T32.loss == 2**10 * eps
    x = np.float32(1.0)
    assert compare("update", "w", x, x + np.float32(1000 * eps), T32).ok


def test_nonfinite_sides_are_told_apart():
    c = compare("forward", "a", np.array([np.nan, 1.0]), np.array([0.5, 1.0]), T64)
    assert (c.ours_finite, c.ref_finite) == (False, True)


def test_worst_lists_largest_errors_first():
    rows = worst(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.5], [3.0, 3.0]]), k=2)
    assert [r["index"] for r in rows] == [[1, 1], [0, 1]]
    assert rows[0]["abs_err"] == 1.0 and rows[0]["rel_err"] == 0.25
