"""An x @ W network with a dict of parameters (the in-out layout): W1 (in, out), b1 (out,), W2, b2, ...

tanh hidden units, a softmax output and the mean cross-entropy, vectorised over the batch. loss_and_grads is
correct. loss_and_grads_bias_mean takes the hidden layers' bias gradients as the batch mean of dz, which
already carries the 1/m: a wrong bias gradient, m times too small.
"""

import numpy as np


def forward(params, X):
    n = len(params) // 2
    hs = [X]
    for k in range(1, n + 1):
        z = hs[-1] @ params[f"W{k}"] + params[f"b{k}"]  # (m, out)
        hs.append(np.tanh(z) if k < n else z)
    return hs


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grads(params, X, Y):
    m, n = len(X), len(params) // 2
    hs = forward(params, X)
    p = softmax(hs[-1])
    loss = -np.sum(Y * np.log(p)) / m
    grads = {}
    dz = (p - Y) / m  # (m, out)
    for k in range(n, 0, -1):
        grads[f"W{k}"] = hs[k - 1].T @ dz  # (in, out)
        grads[f"b{k}"] = dz.sum(axis=0)
        if k > 1:
            da = dz @ params[f"W{k}"].T
            dz = da * (1 - hs[k - 1] ** 2)
    return loss, grads


def loss_and_grads_bias_mean(params, X, Y):
    m, n = len(X), len(params) // 2
    hs = forward(params, X)
    p = softmax(hs[-1])
    loss = -np.sum(Y * np.log(p)) / m
    grads = {}
    dz = (p - Y) / m
    for k in range(n, 0, -1):
        grads[f"W{k}"] = hs[k - 1].T @ dz
        if k == n:
            grads[f"b{k}"] = dz.sum(axis=0)
        else:
            grads[f"b{k}"] = dz.mean(axis=0)  # the bug: dz already holds the 1/m
        if k > 1:
            da = dz @ params[f"W{k}"].T
            dz = da * (1 - hs[k - 1] ** 2)
    return loss, grads
