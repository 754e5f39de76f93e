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
    A = 1 / (1 + np.exp(-Z))
    return A, Z


def relu(Z):
    A = np.maximum(0, Z)
    return A, Z


def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)  # a new array: dA stays as it was
    dZ[Z <= 0] = 0
    return dZ


def relu_backward_no_copy(dA, cache):
    Z = cache
    dZ = dA  # the same array as dA
    dZ[Z <= 0] = 0
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def linear_forward(A, W, b):
    Z = np.dot(W, A) + b  # (n_l, m)
    return Z, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = sigmoid(Z) if activation == "sigmoid" else relu(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = -1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    return np.squeeze(cost)


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation, relu_backward=relu_backward):
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    else:
        dZ = sigmoid_backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches, relu_backward=relu_backward):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    current_cache = caches[L - 1]
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
        dAL, current_cache, "sigmoid"
    )
    for l in reversed(range(L - 1)):
        current_cache = caches[l]
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu", relu_backward)
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
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
