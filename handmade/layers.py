"""The linear layer, the activations, dropout and the embedding, each a forward/backward pair.

Shapes follow torch's nn.Linear: x is (m, in), W is (out, in), b is (out,), z = x W^T + b is (m, out).
Every backward takes the upstream gradient first and returns the gradient one step further down.
The arrays a backward needs (its cache) are named in its signature; nothing is hidden in globals.
(The norms, whose backward couples the batch, are in norms.py.)
"""

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import numpy as np

LEAKY_SLOPE = 0.01  # torch's F.leaky_relu default negative_slope


def column_major(W):
    """W (out, in), torch's shape, stored column-major: as the transpose of a C-ordered (in, out) array.

    This is the one layout trick for speed. x @ W.T then multiplies two C-ordered arrays, (m, in) by (in, out),
    BLAS's fastest path (torch's nn.Linear stores its weight the same way; about 20% faster on one thread), and
    linear_backward's dW = (x^T dz)^T comes out in the same layout, so the optimizer's elementwise work on W, its
    gradient and its state runs contiguously. The maths and the shapes are the textbook's."""
    return np.asfortranarray(W)


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
    dW = (x.T @ dz).T  # (out, in), column-major like W (column_major)
    db = dz.sum(axis=0)  # (out,)
    dx = dz @ W if need_dx else None  # (m, in)
    return dW, db, dx


class Activation(NamedTuple):
    """A row of ACTIVATIONS: forward(z) -> a, and backward(da, z, a) -> dz = da * f'(z). The backward receives both
    z and a so that each can use whichever makes f' cheapest and exact."""

    forward: Callable
    backward: Callable


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
    "identity": Activation(identity_forward, identity_backward),
    "sigmoid": Activation(sigmoid_forward, sigmoid_backward),
    "tanh": Activation(tanh_forward, tanh_backward),
    "relu": Activation(relu_forward, relu_backward),
    "leaky_relu": Activation(leaky_relu_forward, leaky_relu_backward),
}


def activation(name, slope=LEAKY_SLOPE):
    """The Activation (forward, backward) of `name`; slope is leaky_relu's negative slope."""
    forward, backward = ACTIVATIONS[name]
    if name == "leaky_relu":
        return Activation(partial(forward, slope=slope), partial(backward, slope=slope))
    return Activation(forward, backward)


# -- dropout: the mask is the keep pattern, 1.0 kept and 0.0 dropped, without any scaling inside it ---------------
def dropout_mask(rng, shape, p, dtype):
    """One training forward's mask (m, out) from the Generator rng: kept where rng.random() < 1 - p."""
    return (rng.random(shape) < 1 - p).astype(dtype)


def dropout_forward(a, p, mask, train=True, form="inverted"):
    """Dropout of a (m, out), p the probability of dropping, keep = 1 - p. Returns (out, cache).

    train, inverted (the default, torch's):  out = a * (mask / keep); at test time out = a
    train, classic:                          out = a * mask;          at test time out = a * keep
    Either way a kept unit's expected output is the same in training and at test time. The cache is the factor
    on a: mask / keep (torch's own noise tensor) or mask in training, 1 or keep at test time."""
    if not train:
        return (a, 1.0) if form == "inverted" else (a * (1 - p), 1 - p)
    scale = mask / (1 - p) if form == "inverted" else mask  # (m, out)
    return a * scale, scale


def dropout_backward(dout, scale):
    """dL/da = dL/dout * scale: the same mask, and the same 1/keep, reapplied. dout, scale (m, out)."""
    return dout * scale


# -- the embedding: a lookup table C (V, D) in front of the first affine layer ----------------------------------------
def embedding_forward(X, C):
    """out = C[X], each sample's k rows laid side by side: X (m, k) integers in [0, V), C (V, D) -> (m, k * D).
    The cache is X."""
    m, k = X.shape
    return C[X].reshape(m, k * C.shape[1]), X


def embedding_backward(dout, X, V):
    """dC (V, D): the rows of dout (m, k * D), cut back into m * k rows of D, added into the rows of C they came
    from (a scatter-add: a token used twice receives both gradients)."""
    D = dout.shape[1] // X.shape[1]
    dC = np.zeros((V, D), dtype=dout.dtype)
    np.add.at(dC, X.ravel(), dout.reshape(-1, D))  # (m * k, D) rows into C's rows
    return dC
