# ruff: noqa
# An adapter (ours) that runs Felix Zhou's L-layer network, vendored unchanged in the folder nnlib/ beside this file
# (nnlib 0.2 as published on PyPI, Apache-2.0; see ../README.md), in the tool's function form. Samples in columns:
# the adapter hands it X.T and Y.T; weights W[l] (out, in) and biases b[l] (out, 1), ReLU hidden layers, a sigmoid
# output, the binary cross-entropy averaged over the batch, optionally its l2 term alpha/(2m) sum W^2.

from nnlib.l_layer.backward import model_backward
from nnlib.l_layer.forward import model_forward
from nnlib.utils.cost import cross_entropy

ALPHA = 0.0  # nnlib's l2 term alpha (the tool's --l2 with l2_norm batch)


def loss_and_grads(params, X, Y):
    """model_forward, cross_entropy and model_backward of nnlib on the tool's torch-layout list [W0, b0, ...].

    SETTINGS = dict(activation="relu", loss="bce", output="sigmoid", sizes=[..., 1], layout="torch", l2=ALPHA)."""
    parameters = dict(W={l + 1: W for l, W in enumerate(params[0::2])}, b={l + 1: b[:, None] for l, b in enumerate(params[1::2])})
    AL, caches = model_forward(X.T, parameters, keep_prob=1)
    grads = model_backward(AL, Y.T, parameters, caches, ALPHA, 1)
    cost = cross_entropy(AL, Y.T, parameters, ALPHA)
    return cost, [g for l in range(1, len(params) // 2 + 1) for g in (grads["dW"][l], grads["db"][l].ravel())]
