"""The pairs of cs231n_layers.py, each with one mistake that students make (the line says which), for
`mlp-crosscheck layer` to find and locate:

    mlp-crosscheck layer examples/cs231n_layers_bugs.py:affine
    mlp-crosscheck layer examples/cs231n_layers_bugs.py
"""

import numpy as np


def affine_forward(x, w, b):
    flat = x.reshape(len(x), -1)  # (N, D)
    return flat @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    flat = x.reshape(len(x), -1)  # (N, D)
    dx = (dout @ w.T).reshape(x.shape)
    dw = flat.T @ dout
    db = np.mean(dout, axis=0)  # MISTAKE: the bias gradient is the sum over the batch, not its mean
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x < 0] = 0  # MISTAKE: at x == 0 the gradient passes, where relu'(0) is 0
    return dx


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    out = cache
    s = 1 / (1 + np.exp(-out))  # MISTAKE: sigma of the output again, not the output itself
    return dout * s * (1 - s)


def svm_loss(x, y):
    n = len(y)
    rows = np.arange(n)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)  # (N, C)
    margins[rows, y] = 0.0
    loss = margins.sum() / n
    hits = (margins > 0).astype(x.dtype)
    dx = hits / n  # MISTAKE: the correct class's column never gets minus the number of positive margins
    return loss, dx


def softmax_loss(x, y):
    n = len(y)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = np.exp(log_probs) / n  # MISTAKE: the 1 at each sample's label is never subtracted
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    eps, keep = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if bn_param["mode"] != "train":
        return gamma * (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps) + beta, None
    mean, var = x.mean(axis=0), x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    bn_param["running_mean"] = keep * bn_param["running_mean"] + (1 - keep) * mean
    bn_param["running_var"] = keep * bn_param["running_var"] + (1 - keep) * var
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    dx = dout * gamma * inv_std  # MISTAKE: the gradients through the batch's mean and variance are left out
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if dropout_param["mode"] != "train":
        return x, (dropout_param, None)
    mask = (np.random.rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] != "train":
        return dout
    return dout / dropout_param["p"]  # MISTAKE: the mask is not reapplied, only its 1/p
