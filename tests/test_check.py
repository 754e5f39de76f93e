"""The comparison rule itself: relative to the tensor's scale, never NaN, non-finite never agrees."""

import numpy as np
import pytest

from lockstep.judge.tolerance import TOLERANCES, compare, worst

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


def test_float32_tolerance_admits_one_steps_rounding_and_no_more():
    """One float32 step of the same maths, summed in another order, differs by hundreds of eps: it must agree.
    A difference of 1e-3 relative (a bug's size in float32) must not."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 784)).astype(np.float32), rng.standard_normal((784, 128)).astype(np.float32)
    pairwise = a @ b  # BLAS's blocked sums
    sequential = np.add.reduce(a[:, :, None] * b[None, :, :], axis=1, dtype=np.float32)  # another order
    assert not np.array_equal(pairwise, sequential)
    assert compare("forward", "z", pairwise, sequential, T32).ok
    assert not compare("forward", "z", pairwise * np.float32(1 + 1e-3), sequential, T32).ok


def test_nonfinite_sides_are_told_apart():
    c = compare("forward", "a", np.array([np.nan, 1.0]), np.array([0.5, 1.0]), T64)
    assert (c.ours_finite, c.ref_finite) == (False, True)


def test_worst_lists_largest_errors_first():
    rows = worst(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.5], [3.0, 3.0]]), k=2)
    assert [r.index for r in rows] == [[1, 1], [0, 1]]
    assert rows[0].abs_err == 1.0 and rows[0].rel_err == 0.25
