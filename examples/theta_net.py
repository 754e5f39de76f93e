"""The classic machine-learning course's network: one Theta (out, in + 1) per layer whose column 0 holds the
biases, a = [1, x] with the ones column first, sigmoid units everywhere, the cost summed over the outputs and
averaged over the samples, and the penalty lambda/(2m) * sum of Theta's squares without column 0.

    python compare.py --candidate examples/theta_net.py:cost_function --sizes 784,25,10 --activation sigmoid \
        --loss bce --l2 1 --layout bias-first-col
    python compare.py --candidate examples/theta_net.py:cost_function_regularised_bias --sizes 784,25,10 \
        --activation sigmoid --loss bce --l2 1 --layout bias-first-col

(Its shapes match bias-last-col's, so --layout says which.) cost_function is correct;
cost_function_regularised_bias regularises column 0, the biases, too: a mistake the course warns about.
"""

import numpy as np

LAMBDA = 1.0  # compare.py must be given the same --l2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def add_ones(a):
    return np.hstack([np.ones((len(a), 1)), a])  # (m, n + 1), the bias unit first


def feed_forward(thetas, X):
    """The input of every layer with its ones column, and the output h (m, k)."""
    a, h = [add_ones(X)], X
    for l, theta in enumerate(thetas):
        h = sigmoid(a[l] @ theta.T)  # (m, out)
        if l < len(thetas) - 1:
            a.append(add_ones(h))
    return a, h


def cost(thetas, h, Y):
    m = len(Y)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + LAMBDA / (2 * m) * sum(np.sum(t[:, 1:] ** 2) for t in thetas)


def cost_function(thetas, X, Y):
    m = len(X)
    a, h = feed_forward(thetas, X)
    grads = [None] * len(thetas)
    delta = h - Y  # (m, out): m times dJ/dz of the output layer
    for l in range(len(thetas) - 1, -1, -1):
        reg = LAMBDA / m * thetas[l]
        reg[:, 0] = 0  # the bias column is not regularised
        grads[l] = delta.T @ a[l] / m + reg  # (out, in + 1)
        if l:
            s = a[l][:, 1:]
            delta = (delta @ thetas[l][:, 1:]) * s * (1 - s)
    return cost(thetas, h, Y), grads


def cost_function_regularised_bias(thetas, X, Y):
    m = len(X)
    a, h = feed_forward(thetas, X)
    grads = [None] * len(thetas)
    delta = h - Y
    for l in range(len(thetas) - 1, -1, -1):
        reg = LAMBDA / m * thetas[l]  # column 0 is regularised too
        grads[l] = delta.T @ a[l] / m + reg
        if l:
            s = a[l][:, 1:]
            delta = (delta @ thetas[l][:, 1:]) * s * (1 - s)
    return cost(thetas, h, Y), grads
