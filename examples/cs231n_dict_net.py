"""A network written the way CS231n's assignment 2 writes FullyConnectedNet, as one function of a parameter dict:
{affine - batchnorm (or layernorm) - relu - dropout} x (L - 1) - affine - softmax, with params W1, b1, gamma1, beta1,
..., WL, bL (W (in, out)), integer labels y, and the layer functions of cs231n/layers.py. Dropout keeps each unit with
probability KEEP (CS231n's dropout_param p, the keep probability) and draws its mask with np.random.rand; the
running statistics of batch norm live in this module's bn_params, as the model keeps them.

    python compare.py --candidate examples/cs231n_dict_net.py:loss_and_grads --norm batchnorm --dropout 0.2
    python compare.py --candidate examples/cs231n_dict_net.py:loss_and_grads_layernorm --norm layernorm --dropout 0.2

loss_and_grads and loss_and_grads_layernorm are correct; loss_and_grads_mask_forgotten passes the gradient back
through dropout without its mask (dout / p instead of dout * mask).
"""

import numpy as np

KEEP = 0.8  # dropout_param["p"]: the keep probability, --dropout 0.2 in torch's terms
bn_params = {}  # the running statistics of each batch norm, by layer, kept between calls


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b  # (N, M)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)  # (N, D)
    dw = x.reshape(len(x), -1).T @ dout  # (D, M)
    db = np.sum(dout, axis=0)  # (M,)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Training-mode batch norm of x (N, D); the running statistics keep a share `momentum` of their old value."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))
    mu = x.mean(axis=0)  # (D,)
    xc = x - mu  # (N, D)
    var = (xc**2).mean(axis=0)  # (D,) the biased batch variance
    std = np.sqrt(var + eps)  # (D,)
    xhat = xc / std  # (N, D)
    out = gamma * xhat + beta
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out, (xhat, std, gamma)


def batchnorm_backward(dout, cache):
    """dx = (g - mean(g) - xhat mean(g xhat)) / std, with g = dL/dxhat = dout gamma."""
    xhat, std, gamma = cache
    dgamma = np.sum(dout * xhat, axis=0)  # (D,)
    dbeta = np.sum(dout, axis=0)  # (D,)
    g = dout * gamma  # (N, D)
    dx = (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Each sample of x (N, D) normalised over its own D features."""
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)  # (N, 1)
    xc = x - mu
    std = np.sqrt((xc**2).mean(axis=1, keepdims=True) + eps)  # (N, 1)
    xhat = xc / std  # (N, D)
    return gamma * xhat + beta, (xhat, std, gamma)


def layernorm_backward(dout, cache):
    xhat, std, gamma = cache
    g = dout * gamma  # (N, D)
    dx = (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) / std
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


def dropout_forward(x, dropout_param):
    """Inverted dropout: each unit kept with probability p, the kept ones scaled by 1/p."""
    p = dropout_param["p"]
    mask = (np.random.rand(*x.shape) < p) / p  # (N, D) 0 or 1/p
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask


def dropout_backward_mask_forgotten(dout, cache):
    dropout_param, mask = cache
    return dout / dropout_param["p"]  # the mask is not reapplied


def softmax_loss(x, y):
    n = len(y)
    shifted = x - x.max(axis=1, keepdims=True)  # (N, C)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    dx /= n
    return loss, dx


NORMS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward),
    "layernorm": (layernorm_forward, layernorm_backward),
}


def fc_net_loss(params, X, y, normalization="batchnorm", drop_back=dropout_backward):
    """FullyConnectedNet.loss in training mode: (loss, grads) with grads under params' keys."""
    num_layers = len([k for k in params if k.startswith("W")])
    norm_forward, norm_backward = NORMS[normalization]
    dropout_param = {"mode": "train", "p": KEEP}
    caches, out = [], X
    for i in range(1, num_layers):
        bn_param = bn_params.setdefault(i, {"mode": "train"})
        out, fc_cache = affine_forward(out, params[f"W{i}"], params[f"b{i}"])
        out, norm_cache = norm_forward(out, params[f"gamma{i}"], params[f"beta{i}"], bn_param)
        out, relu_cache = relu_forward(out)
        out, drop_cache = dropout_forward(out, dropout_param)
        caches.append((fc_cache, norm_cache, relu_cache, drop_cache))
    scores, last_cache = affine_forward(out, params[f"W{num_layers}"], params[f"b{num_layers}"])
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dout, grads[f"W{num_layers}"], grads[f"b{num_layers}"] = affine_backward(dscores, last_cache)
    for i in range(num_layers - 1, 0, -1):
        fc_cache, norm_cache, relu_cache, drop_cache = caches[i - 1]
        dout = drop_back(dout, drop_cache)
        dout = relu_backward(dout, relu_cache)
        dout, grads[f"gamma{i}"], grads[f"beta{i}"] = norm_backward(dout, norm_cache)
        dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
    return loss, grads


def loss_and_grads(params, X, y):
    return fc_net_loss(params, X, y)


def loss_and_grads_layernorm(params, X, y):
    return fc_net_loss(params, X, y, "layernorm")


def loss_and_grads_mask_forgotten(params, X, y):
    return fc_net_loss(params, X, y, drop_back=dropout_backward_mask_forgotten)
