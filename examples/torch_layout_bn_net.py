"""A from-scratch network in torch's layout with batch norm and dropout: params = [W0, b0, gamma0, beta0, W1, b1,
gamma1, beta1, ..., WL, bL] in named_parameters order, W of shape (out, in). Each hidden block is
affine - batch norm - relu - dropout; the output is softmax with the mean cross-entropy on one-hot Y. Dropout drops a
unit where np.random.rand draws below P_DROP (torch's p) and scales the kept ones by 1 / (1 - P_DROP); the running
statistics live in this module's `running`, torch's way (momentum 0.1, the unbiased batch variance).

    python compare.py --candidate examples/torch_layout_bn_net.py:loss_and_grads --norm batchnorm --dropout 0.2

loss_and_grads is correct; loss_and_grads_mask_forgotten scales the gradient by 1 / (1 - P_DROP) in backward but
does not reapply the mask.
"""

import numpy as np

P_DROP, EPS, MOMENTUM = 0.2, 1e-5, 0.1
running = {}  # {block: (running_mean, running_var)}


def batchnorm(i, z, gamma, beta):
    """Training-mode batch norm of z (m, n) with the biased batch variance; the running statistics take torch's."""
    m = len(z)
    mean = z.mean(axis=0)  # (n,)
    var = z.var(axis=0)  # (n,) biased
    inv_std = 1.0 / np.sqrt(var + EPS)  # (n,)
    xhat = (z - mean) * inv_std  # (m, n)
    mu, sigma2 = running.get(i, (np.zeros_like(mean), np.ones_like(var)))
    running[i] = ((1 - MOMENTUM) * mu + MOMENTUM * mean, (1 - MOMENTUM) * sigma2 + MOMENTUM * var * m / (m - 1))
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    dxhat = dout * gamma  # (m, n)
    dz = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dz, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def forward(params, X):
    n_blocks = (len(params) - 2) // 4
    a, caches = X, []
    for i in range(n_blocks):
        W, b, gamma, beta = params[4 * i : 4 * i + 4]
        z = a @ W.T + b  # (m, out)
        h, bn_cache = batchnorm(i, z, gamma, beta)
        r = np.maximum(h, 0)
        keep = np.random.rand(*r.shape) >= P_DROP  # (m, out) True where the unit is kept
        caches.append((a, h, keep, bn_cache))
        a = r * keep / (1 - P_DROP)
    W, b = params[-2:]
    return a @ W.T + b, a, caches


def softmax_cross_entropy(z, Y):
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.sum(Y * logp) / len(z), np.exp(logp)


def loss_and_grads(params, X, Y, forget_mask=False):
    scores, a_last, caches = forward(params, X)
    loss, p = softmax_cross_entropy(scores, Y)
    grads = [None] * len(params)
    dz = (p - Y) / len(X)  # (m, classes)
    grads[-2], grads[-1] = dz.T @ a_last, dz.sum(axis=0)
    W_above = params[-2]
    for i in reversed(range(len(caches))):
        a_in, h, keep, bn_cache = caches[i]
        dout = dz @ W_above  # (m, out): dL/d(dropout's output)
        if forget_mask:
            da = dout / (1 - P_DROP)
        else:
            da = dout * keep / (1 - P_DROP)
        dh = da * (h > 0)
        dz, dgamma, dbeta = batchnorm_backward(dh, bn_cache)
        grads[4 * i : 4 * i + 4] = [dz.T @ a_in, dz.sum(axis=0), dgamma, dbeta]
        W_above = params[4 * i]
    return loss, grads


def loss_and_grads_mask_forgotten(params, X, Y):
    return loss_and_grads(params, X, Y, forget_mask=True)
