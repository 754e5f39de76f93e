"""A from-scratch network in torch's layout: params = [W0, b0, W1, b1, ...], W of shape (out, in).

relu hidden units, a softmax output and the mean cross-entropy: compare.py's defaults, so

    python compare.py --candidate examples/torch_layout_net.py:loss_and_grads
    python compare.py --candidate examples/torch_layout_net.py:loss_and_grads_no_mean

loss_and_grads is correct. loss_and_grads_no_mean forgets the 1/m in the output gradient (but not in the
loss). loss_and_grads_relu_mask masks relu's gradient by the upstream gradient's sign instead of by z > 0.
"""

import numpy as np


def forward(params, X):
    a, cache = X, []
    n = len(params) // 2
    for i in range(n):
        W, b = params[2 * i], params[2 * i + 1]
        z = a @ W.T + b  # (m, out)
        cache.append((a, z))
        a = np.maximum(z, 0) if i < n - 1 else z
    return a, cache


def softmax_cross_entropy(z, Y):
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.sum(Y * logp) / len(z), np.exp(logp)


def backward(params, cache, dz, relu_grad):
    grads = [None] * len(params)
    for i in reversed(range(len(params) // 2)):
        x, _ = cache[i]
        grads[2 * i], grads[2 * i + 1] = dz.T @ x, dz.sum(axis=0)
        if i:
            da = dz @ params[2 * i]
            dz = relu_grad(da, cache[i - 1][1])
    return grads


def loss_and_grads(params, X, Y):
    z, cache = forward(params, X)
    loss, p = softmax_cross_entropy(z, Y)
    return loss, backward(params, cache, (p - Y) / len(X), lambda da, z: da * (z > 0))


def loss_and_grads_no_mean(params, X, Y):
    z, cache = forward(params, X)
    loss, p = softmax_cross_entropy(z, Y)
    return loss, backward(params, cache, p - Y, lambda da, z: da * (z > 0))


def loss_and_grads_relu_mask(params, X, Y):
    z, cache = forward(params, X)
    loss, p = softmax_cross_entropy(z, Y)
    return loss, backward(params, cache, (p - Y) / len(X), lambda da, z: da * (da > 0))
