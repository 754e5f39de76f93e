"""A network written as Nielsen's network.py: a class, column vectors, backprop one sample at a time.

Network(params) takes the tool's initial parameters in torch's layout [W0, b0, W1, b1, ...] and keeps them as
Nielsen does: weights[l] (out, in) and biases[l] (out, 1). Sigmoid units and the cross-entropy cost of his
chapter 3, whose output delta is a - y. step(X, Y, lr) trains on one mini-batch: backprop per sample, the sum
of the per-sample gradients, then w -= lr/m * nabla_w; it returns the batch's mean cost before the update.
Network is correct. NetworkTransposed multiplies delta by W where W^T belongs (square weights hide it).
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, params, lr=0.1):
        self.weights = [np.array(W) for W in params[0::2]]
        self.biases = [np.array(b).reshape(-1, 1) for b in params[1::2]]
        self.num_layers = len(self.weights) + 1

    @property
    def params(self):
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b.ravel())]

    def step(self, X, Y, lr):
        batch = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y)]
        cost = sum(self.cost(x, y) for x, y in batch) / len(batch)
        self.update_mini_batch(batch, lr)
        return cost

    def cost(self, x, y):
        a = self.feedforward(x)
        return float(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]  # (n, 1) each
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y  # the cross-entropy cost's delta
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = self.back(l, delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w

    def back(self, l, delta):
        return np.dot(self.weights[-l + 1].transpose(), delta)


class NetworkTransposed(Network):
    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1], delta) * sp  # the bug: W where W^T belongs
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w


# ruff: noqa: E741  (l for the layer, as the code this imitates writes it)
