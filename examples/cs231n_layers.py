"""Layer functions written the way CS231n's assignment 2 asks for them (cs231n/layers.py), correct.

Each layer is a pair: NAME_forward(x, ...) returns (out, cache), NAME_backward(dout, cache) returns the gradients
(dx, or dx, dw, db). Weights are (D, M), inputs (N, d1, ..., dk) flattened to (N, D). Check them one at a time:

    mlp-crosscheck layer examples/cs231n_layers.py:affine
    mlp-crosscheck layer examples/cs231n_layers.py            # every pair in the file
"""

import numpy as np


def affine_forward(x, w, b):
    """out = x w + b, each of the N inputs flattened to D = d1 * ... * dk values. x (N, d1, ..., dk), w (D, M),
    b (M,) -> out (N, M); the cache keeps the three inputs."""
    flat = x.reshape(len(x), -1)  # (N, D)
    out = flat @ w + b  # (N, M)
    return out, (x, w, b)


def affine_backward(dout, cache):
    """dx = dout w^T (back in x's shape), dw = x^T dout, db = the column sums of dout."""
    x, w, _ = cache
    flat = x.reshape(len(x), -1)  # (N, D)
    dx = (dout @ w.T).reshape(x.shape)  # (N, d1, ..., dk)
    dw = flat.T @ dout  # (D, M)
    db = np.sum(dout, axis=0)  # (M,)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """relu'(x) is 1 where x > 0 and 0 elsewhere, 0 at x = 0 included."""
    x = cache
    return dout * (x > 0)


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    """sigma'(x) = sigma(x) (1 - sigma(x)), from the output the forward cached."""
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    t = cache
    return dout * (1 - t * t)


def leaky_relu_forward(x, alpha=0.01):
    out = np.where(x > 0, x, alpha * x)
    return out, (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha)


def svm_loss(x, y):
    """The multiclass SVM loss over scores x (N, C) with labels y (N,): the mean over samples of the sum over the
    wrong classes of max(0, x_j - x_y + 1); returns (loss, dx)."""
    n = len(y)
    rows = np.arange(n)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)  # (N, C)
    margins[rows, y] = 0.0  # the correct class is no margin
    loss = margins.sum() / n
    hits = (margins > 0).astype(x.dtype)  # (N, C) each positive margin pulls its class up
    hits[rows, y] = -hits.sum(axis=1)  # and the correct class down, once for each of them
    dx = hits / n
    return loss, dx


def softmax_loss(x, y):
    """The softmax cross-entropy over scores x (N, C), the mean over samples; returns (loss, dx)."""
    n = len(y)
    shifted = x - x.max(axis=1, keepdims=True)  # (N, C), every exp <= 1
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = np.exp(log_probs)  # the probabilities
    dx[np.arange(n), y] -= 1
    dx /= n
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm of x (N, D) with bn_param's mode ('train' or 'test'), eps and momentum (the share of the old
    running statistics kept, 0.9). In training the biased batch variance normalises and joins running_var."""
    eps, keep = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mean = x.mean(axis=0)  # (D,)
        centred = x - mean  # (N, D)
        var = (centred**2).mean(axis=0)  # (D,)
        inv_std = 1 / np.sqrt(var + eps)  # (D,)
        xhat = centred * inv_std  # (N, D)
        out = gamma * xhat + beta
        cache = (xhat, inv_std, gamma)
        bn_param["running_mean"] = keep * running_mean + (1 - keep) * mean
        bn_param["running_var"] = keep * running_var + (1 - keep) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    return out, cache


def batchnorm_backward(dout, cache):
    """The closed form: dx = (g - mean(g) - xhat mean(g xhat)) / std, with g = dL/dxhat = dout gamma."""
    xhat, inv_std, gamma = cache
    dgamma = (dout * xhat).sum(axis=0)  # (D,)
    dbeta = dout.sum(axis=0)  # (D,)
    g = dout * gamma  # (N, D)
    dx = (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0)) * inv_std
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer norm: each sample of x (N, D) normalised over its own D features."""
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)  # (N, 1)
    centred = x - mean
    inv_std = 1 / np.sqrt((centred**2).mean(axis=1, keepdims=True) + eps)  # (N, 1)
    xhat = centred * inv_std  # (N, D)
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    g = dout * gamma  # (N, D)
    dx = (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) * inv_std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, dropout_param):
    """Inverted dropout: in training each unit is kept with probability p (dropout_param['p'], the keep
    probability) and the kept ones are scaled by 1/p; at test time x passes unchanged. A seed makes the mask
    repeatable."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    out = x
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p  # (N, D) 0 or 1/p
        out = x * mask
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout


def affine_relu_forward(x, w, b):
    """CS231n's sandwich helper (layer_utils.py): an affine layer and a relu, the caches of both."""
    z, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(z)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
