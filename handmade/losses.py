"""Losses: the value, and the gradient with respect to the output layer's pre-activation z.

z (m, k) is the output layer's pre-activation, a (m, k) its activation, Y (m, k) one-hot (or any) targets.
Each function works on the sum over the m samples; the MLP then applies the reduction (mean: divide by m, as
torch's reduction='mean'; sum: keep it) and any constant loss scale.

  cross_entropy  a = softmax(z)  per sample: -sum_k Y log a           (F.cross_entropy)
  bce            a = sigmoid(z)  per sample: -sum_k [Y log a + (1-Y) log(1-a)]   summed over outputs: the
                                 classic course cost
  mse            a = output(z)   per sample: 1/2 sum_k (a - Y)^2      the textbook quadratic cost

For the two matched pairs (softmax + cross-entropy, sigmoid + bce) the gradient collapses to a - Y, and the value
is computed from z, not from a, so a saturated unit gives a finite cost where log(a) would give log(0).
"""

import numpy as np

from .layers import sigmoid_forward


def softmax(z):
    """softmax(z) row by row, shifted by the row max so that exp never overflows.  (m, k) -> (m, k)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


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
    """dL/da = a - Y, then back through the output activation."""
    return output_backward(a - Y, z, a)


def check_prob_clip(loss, p):
    """p as a float, or None; ValueError unless 0 < p < 0.5 with cross_entropy or bce."""
    if p is None:
        return None
    if loss not in ("cross_entropy", "bce") or not 0 < p < 0.5:
        raise ValueError(f"prob_clip clips cross_entropy or bce probabilities to [p, 1 - p], 0 < p < 0.5, not {p}")
    return float(p)


def clipped(loss, a, Y, p):
    """The value of cross_entropy or bce on probabilities clipped to [p, 1 - p], as NNFS (p = 1e-7) and scikit-learn
    (p = the dtype's eps) compute it before the log; their gradient stays a - Y, the unclipped one."""
    c = np.clip(a, p, 1 - p)  # (m, k)
    if loss == "cross_entropy":
        return -float(np.vdot(Y, np.log(c)))
    return -float(np.sum(Y * np.log(c) + (1 - Y) * np.log(1 - c)))


OUTPUTS = {"softmax": softmax, "sigmoid": sigmoid_forward, "identity": lambda z: z}

# loss name -> (value, gradient, the output activations it allows; the first is the default)
LOSSES = {
    "cross_entropy": (cross_entropy, cross_entropy_grad, ("softmax",)),
    "bce": (bce, bce_grad, ("sigmoid",)),
    "mse": (mse, mse_grad, ("identity", "sigmoid")),
}
