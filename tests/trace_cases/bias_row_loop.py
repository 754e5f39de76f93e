"""The question's per-sample loop in the bias-row layout, written correctly: params[i] (n_in + 1, n_out), row 0
the biases; sigmoid units, the cost summed over outputs and averaged over samples, L2 LAM/(2m) on the weight rows.
Every gradient row is accumulated one sample at a time (the fix of examples/bias_row_net.py's
cost_and_grads_bias_rows_only).
"""

import numpy as np

LAM = 1.0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_and_grads(params, X, Y):
    m = len(X)
    grads = [np.zeros_like(T) for T in params]
    J = 0.0
    for i in range(m):
        acts = [X[i]]  # (n,) per layer
        for T in params:
            acts.append(sigmoid(T[0] + acts[-1] @ T[1:]))
        h, y = acts[-1], Y[i]
        J -= np.sum(y * np.log(h) + (1 - y) * np.log(1 - h))
        delta = h - y  # (n_out,): m * dJ/dz of this sample
        for l in reversed(range(len(params))):
            grads[l][0] += delta
            grads[l][1:] += np.outer(acts[l], delta)
            if l:
                delta = (params[l][1:] @ delta) * acts[l] * (1 - acts[l])
    for l, T in enumerate(params):
        grads[l] /= m
        grads[l][1:] += LAM / m * T[1:]
    J = J / m + LAM / (2 * m) * sum(np.sum(T[1:] ** 2) for T in params)
    return J, grads


# ruff: noqa: E741  (l for the layer, as the code this imitates writes it)
