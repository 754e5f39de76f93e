"""A network whose layer matrices T (out, in + 1) keep the bias in the last column, used as [x, 1] @ T.T: tanh
hidden units, an identity output and the mean squared error 1/2 sum (a - y)^2 averaged over the samples.

    python compare.py --candidate examples/bias_last_col_net.py:loss_and_grads --sizes 784,32,10 \
        --activation tanh --loss mse --layout bias-last-col
    python compare.py --candidate examples/bias_last_col_net.py:loss_and_grads_tanh_of_z --sizes 784,32,10 \
        --activation tanh --loss mse --layout bias-last-col

(Its shapes match bias-first-col's, so --layout says which.) loss_and_grads is correct;
loss_and_grads_tanh_of_z writes tanh's derivative as 1 - z^2 instead of 1 - a^2.
"""

import numpy as np


def with_ones(a):
    return np.hstack([a, np.ones((len(a), 1))])  # (m, n + 1), the bias unit last


def forward(params, X):
    inputs, zs, a = [], [], X
    for l, T in enumerate(params):
        inputs.append(with_ones(a))
        z = inputs[-1] @ T.T  # (m, out)
        zs.append(z)
        a = np.tanh(z) if l < len(params) - 1 else z
    return inputs, zs, a


def loss_and_grads(params, X, Y):
    inputs, zs, out = forward(params, X)
    m = len(X)
    delta = (out - Y) / m
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = delta.T @ inputs[l]  # (out, in + 1)
        if l:
            a = inputs[l][:, :-1]
            delta = (delta @ params[l][:, :-1]) * (1 - a**2)
    return 0.5 * np.sum((out - Y) ** 2) / m, grads


def loss_and_grads_tanh_of_z(params, X, Y):
    inputs, zs, out = forward(params, X)
    m = len(X)
    delta = (out - Y) / m
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = delta.T @ inputs[l]
        if l:
            z = zs[l - 1]
            delta = (delta @ params[l][:, :-1]) * (1 - z**2)  # the derivative taken from z, not from a = tanh(z)
    return 0.5 * np.sum((out - Y) ** 2) / m, grads
