"""A deep network as Coursera's Deep Learning Specialization writes it: samples in columns, X (n_x, m) and Y (n_y, m),
parameters W1 (n_1, n_0) and b1 (n_1, 1) in a dict, [LINEAR -> RELU] x (L - 1) -> LINEAR -> SIGMOID, the cost
-1/m sum(Y log AL + (1 - Y) log(1 - AL)), and L_model_backward returning dA, dW and db for every layer. The tool
calls the 5-line loss_and_grads at the bottom, the course's own pieces unchanged:

    python compare.py --candidate examples/dls_deep_net.py:loss_and_grads --sizes 784,20,7,10 --loss bce \
        --momentum 0 --lr 0.1
    python compare.py --candidate examples/dls_deep_net.py:loss_and_grads_no_copy --sizes 784,20,7,10 --loss bce \
        --momentum 0 --lr 0.1

The tool finds that samples come as columns and the biases as columns, reads dW{l}, db{l} as the gradients and
dA1, dA2 as the twin's dL/da of layers 0 and 1 (per sample: m times it, as the course divides by m only in dW);
dA0, the gradient of X, is listed and ignored. loss_and_grads is correct. loss_and_grads_no_copy's relu_backward
writes dZ = dA without the course's copy, so its mask changes grads["dA2"] in place: the training is right, but
the dA2 it returns is not dL/dA2, and the tool names that tensor and the line that changed it.
"""

import numpy as np


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z  # (A, the cache its backward needs)


def relu(Z):
    return np.maximum(0, Z), Z


def relu_backward(dA, cache):
    dZ = np.array(dA, copy=True)  # a new array: the caller's dA stays as it is
    dZ[cache <= 0] = 0
    return dZ


def relu_backward_no_copy(dA, cache):
    dZ = dA  # the caller's own array
    dZ[cache <= 0] = 0  # so this masks the caller's dA too
    return dZ


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def linear_forward(A, W, b):
    return W @ A + b, (A, W, b)  # Z (n_l, m)


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = (sigmoid if activation == "sigmoid" else relu)(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    L = len(parameters) // 2
    A, caches = X, []
    for l in range(1, L + 1):
        activation = "sigmoid" if l == L else "relu"
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], activation)
        caches.append(cache)
    return A, caches  # AL (n_L, m)


def compute_cost(AL, Y):
    m = Y.shape[1]
    return np.squeeze(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m)


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m  # the only place where the mean over the samples is taken
    db = np.sum(dZ, axis=1, keepdims=True) / m
    return W.T @ dZ, dW, db  # dA_prev (n_{l-1}, m), dW, db


def linear_activation_backward(dA, cache, activation, relu_backward=relu_backward):
    linear_cache, activation_cache = cache
    backward = sigmoid_backward if activation == "sigmoid" else relu_backward
    return linear_backward(backward(dA, activation_cache), linear_cache)


def L_model_backward(AL, Y, caches, relu_backward=relu_backward):
    L = len(caches)
    Y = Y.reshape(AL.shape)
    grads = {}
    dA = -(Y / AL - (1 - Y) / (1 - AL))  # dL/dAL of one sample's cost
    for l in range(L, 0, -1):  # layer l, from the output down
        activation = "sigmoid" if l == L else "relu"
        dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_activation_backward(dA, caches[l - 1], activation, relu_backward)
        grads[f"dA{l - 1}"] = dA  # the gradient of layer l's input, A^[l-1]
    return grads


def loss_and_grads(parameters, X, Y):
    AL, caches = L_model_forward(X, parameters)
    cost = compute_cost(AL, Y)
    grads = L_model_backward(AL, Y, caches)
    return cost, grads


def loss_and_grads_no_copy(parameters, X, Y):
    AL, caches = L_model_forward(X, parameters)
    cost = compute_cost(AL, Y)
    grads = L_model_backward(AL, Y, caches, relu_backward_no_copy)
    return cost, grads
