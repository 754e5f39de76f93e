"""A network written as a well-known course writes it: samples in columns, parameters W1, b1, ... (out, in) and
(out, 1) in a dict, [LINEAR -> SIGMOID] layers and a sigmoid output with the binary cross-entropy, its helpers in
the sibling folder utils/. loss_and_grads adapts it to the tool's form (rows in, gradients under W1, b1, ...).
model_backward is correct; model_backward_dAL hands every hidden layer the output's dL/dA (dAL) where that
layer's own dA belongs, the caller's mistake in a call the helper serves right for the output layer."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "utils"))
from activations import sigmoid, sigmoid_backward  # noqa: E402


def model_forward(X, parameters):
    caches, A = [], X
    L = len(parameters) // 2
    for l in range(1, L + 1):
        Z = parameters["W" + str(l)] @ A + parameters["b" + str(l)]  # (n_l, m)
        caches.append((A, Z))
        A = sigmoid(Z)
    return A, caches


def model_backward(AL, Y, caches, parameters):
    grads, L, m = {}, len(caches), AL.shape[1]
    dAL = -(Y / AL - (1 - Y) / (1 - AL))  # (1, m)
    dA = dAL
    for l in reversed(range(1, L + 1)):
        A_prev, Z = caches[l - 1]
        dZ = sigmoid_backward(dA, Z)
        grads["dW" + str(l)] = dZ @ A_prev.T / m
        grads["db" + str(l)] = dZ.sum(axis=1, keepdims=True) / m
        dA = parameters["W" + str(l)].T @ dZ
    return grads


def model_backward_dAL(AL, Y, caches, parameters):
    grads, L, m = {}, len(caches), AL.shape[1]
    dAL = -(Y / AL - (1 - Y) / (1 - AL))  # (1, m)
    dA = dAL
    for l in reversed(range(1, L + 1)):
        A_prev, Z = caches[l - 1]
        dZ = sigmoid_backward(dAL, Z)
        grads["dW" + str(l)] = dZ @ A_prev.T / m
        grads["db" + str(l)] = dZ.sum(axis=1, keepdims=True) / m
        dA = parameters["W" + str(l)].T @ dZ  # noqa: F841 -- computed, never handed on: the bug
    return grads


def adapt(backward):
    def loss_and_grads(params, X, Y):
        parameters = {k: v.reshape(len(v), -1) for k, v in params.items()}  # biases as columns
        AL, caches = model_forward(X.T, parameters)
        cost = -np.mean(Y.T * np.log(AL) + (1 - Y.T) * np.log(1 - AL))
        grads = backward(AL, Y.T, caches, parameters)
        return cost, {k[1:]: v.reshape(params[k[1:]].shape) for k, v in grads.items()}

    return loss_and_grads


loss_and_grads = adapt(model_backward)
loss_and_grads_dAL = adapt(model_backward_dAL)
