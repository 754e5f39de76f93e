"""The comparison rule itself: relative to the tensor's scale, never NaN, non-finite never agrees."""

from dataclasses import replace

import numpy as np
import pytest

from handmade import ModelConfig, losses
from lockstep.judge.tolerance import TOLERANCES, cancellation, compare, worst

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


# -- the output gradient's cancellation factor c (tolerance.cancellation) --------------------------------------------
def _output(loss, output, m=32, k=5, scale=4.0, seed=0):
    """A fitted batch: logits z (m, k) that put a = output(z) within about 1e-3 of one-hot targets Y."""
    rng = np.random.default_rng(seed)
    Y = np.eye(k)[rng.integers(0, k, m)]
    z = scale * (2 * Y - 1) + 1e-3 * rng.standard_normal((m, k))
    a = losses.OUTPUTS[output].forward(z)
    config = ModelConfig([3, k], loss=loss, output=output)
    return config, z, a, Y


def _dz(config, z, a, Y):
    """The twin's dL/dz of the output: the loss's gradient, reduced and scaled as the MLP reduces it."""
    grad = losses.LOSSES[config.loss].grad(z, a, Y, losses.OUTPUTS[config.output].backward)
    return config.loss_scale * grad / (len(Y) if config.reduction == "mean" else 1)


@pytest.mark.parametrize(
    "loss,output", [("cross_entropy", "softmax"), ("bce", "sigmoid"), ("mse", "sigmoid"), ("mse", "softmax")]
)
def test_cancellation_is_the_rounding_scale_over_dz_whatever_the_reduction_and_scale(loss, output):
    """c measures how far a - Y has cancelled, not how the loss is reduced or scaled: the same batch under reduction
    'sum' or a loss scale of 0.01 gives the same c (each scales dz and its rounding alike)."""
    config, z, a, Y = _output(loss, output)
    c = cancellation(a, Y, _dz(config, z, a, Y), config, z)
    assert c > 10  # a fitted batch: its output gradient is mostly cancellation
    for change in (dict(reduction="sum"), dict(loss_scale=0.01), dict(reduction="sum", loss_scale=250.0)):
        other = replace(config, **change)
        assert cancellation(a, Y, _dz(other, z, a, Y), other, z) == pytest.approx(c, rel=1e-12), change


def test_a_saturated_output_derivative_is_no_cancellation():
    """mse on a saturated sigmoid: dz = r (a - Y) a (1 - a) is small because a (1 - a) is, and a (1 - a) multiplies
    the rounding of a - Y as much as its value. Only the cancellation in a - Y counts: with a 0.5 away from Y, c is
    about 2 / 0.5 however saturated the units (the old factor (|a| + |Y|) r / max|dz| was 1 / a(1 - a) larger)."""
    rng = np.random.default_rng(1)
    Y = (rng.random((16, 3)) < 0.5).astype(float)
    z = np.where(Y > 0, -12.0, 12.0) + rng.standard_normal((16, 3))  # saturated, and on the wrong side of every target
    config = ModelConfig([3, 3], loss="mse", output="sigmoid")
    a = losses.OUTPUTS["sigmoid"].forward(z)
    c = cancellation(a, Y, _dz(config, z, a, Y), config, z)
    assert c < 3


def test_svm_gradients_do_not_cancel():
    """svm's dL/dz is r times counts of active margins: no difference of a and Y, so no cancellation, c = 1, however
    large the scores."""
    config, z, a, Y = _output("svm", "identity", scale=50.0)
    assert cancellation(a, Y, _dz(config, z, a, Y) + 1e-3, config, z) == 1.0


def test_a_fully_saturated_output_gives_c_1_not_a_division_by_zero():
    """mse on sigmoid outputs that all rounded to exactly 1 or 0 in float32: f'(z) = a (1 - a) is 0 everywhere, the
    natural scale of dz's rounding is 0 and so is dz: c = 1."""
    config = ModelConfig([3, 2], loss="mse", output="sigmoid", dtype="float32")
    z = np.array([[40.0, -40.0], [-40.0, 40.0]], dtype=np.float32)
    a = losses.OUTPUTS["sigmoid"].forward(z)
    Y = np.array([[0.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    assert cancellation(a, Y, _dz(config, z, a, Y), config, z) == 1.0
