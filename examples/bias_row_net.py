"""A from-scratch network in the bias-row layout, as the well-known machine-learning course writes it.

params[i] has shape (n_in + 1, n_out): row 0 holds the biases, rows 1.. the weights, so z = [1, a] @ params[i].
Sigmoid units everywhere, the cost summed over the outputs and averaged over the samples, and the classic L2
penalty lam/(2m) * sum of the squared weight rows. This is the network of the question behind --preset seed:

    python compare.py --preset seed --candidate examples/bias_row_net.py:cost_and_grads --layout bias-row
    python compare.py --preset seed --candidate examples/bias_row_net.py:cost_and_grads_bias_rows_only \
        --layout bias-row

cost_and_grads is correct. cost_and_grads_bias_rows_only is the code from the question: its per-sample loop
accumulates only row 0 of each layer's gradient. cost_and_grads_sigmoid_at_a takes sigmoid's derivative at the
activation instead of the pre-activation.
"""

import numpy as np

LAM = 1.0  # the question's lambda; compare.py must be given the same --l2 (the seed preset uses 1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def with_ones(a):
    return np.hstack([np.ones((len(a), 1)), a])  # (m, n + 1)


def forward(params, X):
    acts = [X]
    for T in params:
        acts.append(sigmoid(with_ones(acts[-1]) @ T))  # (m, n_out)
    return acts


def cost(params, acts, Y):
    m, h = len(Y), acts[-1]
    data = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return data + LAM / (2 * m) * sum(np.sum(T[1:] ** 2) for T in params)


def cost_and_grads(params, X, Y):
    m, acts = len(X), forward(params, X)
    delta = acts[-1] - Y  # (m, n_out): m * dJ/dz at the output
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        grads[l] = with_ones(acts[l]).T @ delta / m  # (n_in + 1, n_out)
        grads[l][1:] += LAM / m * params[l][1:]
        if l:
            delta = (delta @ params[l][1:].T) * acts[l] * (1 - acts[l])  # (m, n_in): back through the weight rows
    return cost(params, acts, Y), grads


def cost_and_grads_bias_rows_only(params, X, Y):
    """The question's code: one sample at a time, and only row 0 of each gradient is ever filled."""
    m, acts = len(X), forward(params, X)
    grads = [np.zeros_like(T) for T in params]
    for i in range(m):
        delta = acts[-1][i] - Y[i]  # (n_out,)
        for l in reversed(range(len(params))):
            grads[l][0] += delta  # the bias row; the weight rows grads[l][1:] are never touched
            if l:
                delta = (params[l][1:] @ delta) * acts[l][i] * (1 - acts[l][i])
    for l, T in enumerate(params):
        grads[l] /= m
        grads[l][1:] += LAM / m * T[1:]
    return cost(params, acts, Y), grads


def cost_and_grads_sigmoid_at_a(params, X, Y):
    """sigmoid'(a) instead of sigmoid'(z) = a (1 - a) in the hidden layers."""
    m, acts = len(X), forward(params, X)
    delta = acts[-1] - Y
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        grads[l] = with_ones(acts[l]).T @ delta / m
        grads[l][1:] += LAM / m * params[l][1:]
        if l:
            s = sigmoid(acts[l])
            delta = (delta @ params[l][1:].T) * s * (1 - s)
    return cost(params, acts, Y), grads
