"""The linear layer and the activations, each a forward/backward pair.

Shapes follow torch's nn.Linear: x is (m, in), W is (out, in), b is (out,), z = x W^T + b is (m, out).
Every backward takes the upstream gradient first and returns the gradient one step further down.
The arrays a backward needs (its cache) are named in its signature; nothing is hidden in globals.
"""

from functools import partial

import numpy as np

LEAKY_SLOPE = 0.01  # torch's F.leaky_relu default negative_slope


def linear_forward(x, W, b=None):
    """z = x W^T + b.  x (m, in), W (out, in), b (out,) or None -> z (m, out)."""
    z = x @ W.T  # (m, out)
    if b is not None:
        z += b
    return z


def linear_backward(dz, x, W, need_dx=True):
    """Given dz = dL/dz (m, out) and the cache x (m, in), W (out, in), return (dW, db, dx).

    dW = dz^T x (out, in), db = sum of dz over the batch (out,), dx = dz W (m, in).
    dx is skipped (None) for the first layer, whose input needs no gradient.
    """
    dW = (x.T @ dz).T  # (out, in), column-major like W, so the optimizer's elementwise work runs contiguously
    db = dz.sum(axis=0)  # (out,)
    dx = dz @ W if need_dx else None  # (m, in)
    return dW, db, dx


# Each activation is a pair: forward(z) -> a, and backward(da, z, a) -> dz = da * f'(z).
# The backward receives both z and a so that each can use whichever makes f' cheapest and exact.


def identity_forward(z):
    return z


def identity_backward(da, z, a):
    return da


def sigmoid_forward(z):
    """a = 1 / (1 + e^-z). e^-z may overflow to inf for very negative z; 1/inf is the correct 0."""
    with np.errstate(over="ignore"):
        a = np.exp(-z)
    a += 1
    np.reciprocal(a, out=a)
    return a


def sigmoid_backward(da, z, a):
    """sigma'(z) = sigma(z) (1 - sigma(z)) = a (1 - a): the derivative at z, written with the cached a."""
    return da * a * (1 - a)


def tanh_forward(z):
    return np.tanh(z)


def tanh_backward(da, z, a):
    """tanh'(z) = 1 - tanh(z)^2 = 1 - a^2."""
    return da * (1 - a * a)


def relu_forward(z):
    return np.maximum(z, 0)


def relu_backward(da, z, a):
    """relu'(z) = 1 where z > 0, else 0 (torch also takes 0 at z = 0)."""
    return da * (z > 0)


def leaky_relu_forward(z, slope=LEAKY_SLOPE):
    """a = z for z > 0, else slope * z (torch's negative_slope)."""
    return np.where(z > 0, z, slope * z)


def leaky_relu_backward(da, z, a, slope=LEAKY_SLOPE):
    return da * np.where(z > 0, 1.0, slope).astype(da.dtype, copy=False)


ACTIVATIONS = {
    "identity": (identity_forward, identity_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
}


def activation(name, slope=LEAKY_SLOPE):
    """The (forward, backward) pair of activation `name`; slope is leaky_relu's negative slope."""
    forward, backward = ACTIVATIONS[name]
    if name == "leaky_relu":
        return partial(forward, slope=slope), partial(backward, slope=slope)
    return forward, backward
