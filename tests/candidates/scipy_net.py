"""A sigmoid network whose loss calls scipy.special.xlogy, a ufunc with no np.longdouble loop: the tool's
extended-precision re-run of it cannot run, which is the tool's limit, never the user's fault."""

import numpy as np
from scipy.special import expit, xlogy


def net(params, X, Y, off=0.0):
    """Per-output cross-entropy -sum [y log a + (1 - y) log(1 - a)] / m; `off` scales the last weight gradient by
    1 + off, a maths difference the float64 bound sees and only extended precision can confirm."""
    W1, b1, W2, b2 = params
    a1 = expit(X @ W1.T + b1)  # (m, hidden)
    a2 = expit(a1 @ W2.T + b2)  # (m, k)
    m = len(X)
    loss = -np.sum(xlogy(Y, a2) + xlogy(1 - Y, 1 - a2)) / m
    d2 = (a2 - Y) / m
    d1 = (d2 @ W2) * a1 * (1 - a1)
    return loss, [d1.T @ X, d1.sum(0), d2.T @ a1 * (1 + off), d2.sum(0)]


def off_by_a_millionth(params, X, Y):
    return net(params, X, Y, off=1e-6)
