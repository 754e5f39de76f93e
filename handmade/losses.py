"""The output activations, the losses and the penalties: each value with its gradient.

z (m, k) is the output layer's pre-activation, a (m, k) its activation, Y (m, k) one-hot (or any) targets.
Each loss works on the sum over the m samples; the MLP then applies the reduction (mean: divide by m, as
torch's reduction='mean'; sum: keep it) and any constant loss scale.

  cross_entropy  a = softmax(z)  per sample: -sum_k Y log a           (F.cross_entropy)
  bce            a = sigmoid(z)  per sample: -sum_k [Y log a + (1-Y) log(1-a)]   summed over outputs: the
                                 classic course cost
  mse            a = output(z)   per sample: 1/2 sum_k (a - Y)^2      the textbook quadratic cost; on a softmax
                                 output its gradient goes through softmax's full Jacobian
  svm            a = z           per sample: sum_{j != y} max(0, z_j - z_y + 1), CS231n's multiclass SVM
                                 (k times torch's F.multi_margin_loss)

For the two matched pairs (softmax + cross-entropy, sigmoid + bce) the gradient collapses to a - Y, and the value
is computed from z, not from a, so a saturated unit gives a finite cost where log(a) would give log(0).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .layers import ACTIVATIONS, Activation


def softmax(z):
    """softmax(z) row by row, shifted by the row max so that exp never overflows.  (m, k) -> (m, k)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def softmax_backward(da, z, a):
    """dz = J^T da with softmax's full Jacobian J_jk = a_j (delta_jk - a_k): dz_j = a_j (da_j - sum_k da_k a_k).
    Every output of a row depends on every logit of it, so the diagonal a_j (1 - a_j) alone is not the gradient."""
    return a * (da - (da * a).sum(axis=1, keepdims=True))  # (m, k)


# output activation -> Activation(forward, backward); the backward is what mse's gradient goes through
OUTPUTS = {"softmax": Activation(softmax, softmax_backward), **{k: ACTIVATIONS[k] for k in ("sigmoid", "identity")}}


def cross_entropy(z, a, Y):
    """-sum Y log softmax(z), with log softmax(z) = (z - max) - log sum exp(z - max), as torch does it."""
    shifted = z - z.max(axis=1, keepdims=True)  # (m, k)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -float(np.vdot(Y, logp))


def cross_entropy_grad(z, a, Y, output_backward):
    return a - Y  # (m, k)


def bce(z, a, Y):
    """sum [max(z,0) - z Y + log(1 + e^-|z|)]: the same value as -[Y log a + (1-Y) log(1-a)]."""
    per = np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z)))  # (m, k)
    return float(per.sum())


def bce_grad(z, a, Y, output_backward):
    return a - Y  # (m, k)


def mse(z, a, Y):
    d = a - Y  # (m, k)
    return 0.5 * float(np.vdot(d, d))


def mse_grad(z, a, Y, output_backward):
    """dL/da = a - Y, then back through the output activation (softmax's full Jacobian, sigmoid's a (1 - a))."""
    return output_backward(a - Y, z, a)


def svm_margins(z, Y):
    """(margins (m, k), target (m, k) bool): 1 - z_y + z_j for the wrong classes j != y (0 in the target's own
    column), with y = argmax Y, in the order torch's multi_margin_loss computes them."""
    y = Y.argmax(axis=1)[:, None]  # (m, 1)
    target = np.arange(z.shape[1]) == y  # (m, k)
    zy = np.take_along_axis(z, y, axis=1)  # (m, 1) the target's score
    return np.where(target, 0, (1 - zy) + z), target


def svm(z, a, Y):
    """sum over samples and wrong classes of max(0, z_j - z_y + 1)."""
    return float(np.maximum(svm_margins(z, Y)[0], 0).sum())


def svm_grad(z, a, Y, output_backward):
    """1 for each wrong class whose margin is positive (strictly: 0 at exactly 0, torch's subgradient), and minus
    their count at the target's column."""
    margins, target = svm_margins(z, Y)
    active = (margins > 0).astype(z.dtype)  # (m, k)
    return active - target * active.sum(axis=1, keepdims=True)


def clipped(loss, a, Y, p):
    """The value of cross_entropy or bce on probabilities clipped to [p, 1 - p], as NNFS (p = 1e-7) and scikit-learn
    (p = the dtype's eps) compute it before the log; their gradient stays a - Y, the unclipped one."""
    c = np.clip(a, p, 1 - p)  # (m, k)
    if loss == "cross_entropy":
        return -float(np.vdot(Y, np.log(c)))
    return -float(np.sum(Y * np.log(c) + (1 - Y) * np.log(1 - c)))


PROB_CLIP_LOSSES = ("cross_entropy", "bce")  # the losses whose probabilities prob_clip clips


class Loss(NamedTuple):
    """A row of LOSSES: value(z, a, Y) -> the sum over the batch; grad(z, a, Y, output_backward) -> its gradient
    dL/dz (m, k), output_backward being the output activation's backward; outputs: the output activations it
    goes with, the first the default."""

    value: Callable
    grad: Callable
    outputs: tuple


LOSSES = {
    "cross_entropy": Loss(cross_entropy, cross_entropy_grad, ("softmax",)),
    "bce": Loss(bce, bce_grad, ("sigmoid",)),
    "mse": Loss(mse, mse_grad, ("identity", "sigmoid", "softmax")),
    "svm": Loss(svm, svm_grad, ("identity",)),
}


# -- the penalties, added to the reduced data loss ----------------------------------------------------------------
def penalty(params, l1, l2, d):
    """l1/d sum |p| + l2/(2d) sum p^2 over the arrays params (the affine weights, and the biases when penalised)."""
    value = 0.0
    if l2:
        value += l2 / (2 * d) * sum(float(np.vdot(p, p)) for p in params)
    if l1:
        value += l1 / d * sum(float(np.abs(p).sum()) for p in params)
    return value


def penalty_grad(p, l1, l2, d):
    """(l2/d) p + (l1/d) sign(p), the penalties' gradient for one array p. sign(0) = 0: at exactly 0 the subgradient
    of |p| is taken as 0, as torch's autograd of abs does."""
    grad = (l2 / d) * p if l2 else 0
    if l1:
        grad = grad + (l1 / d) * np.sign(p)
    return grad
