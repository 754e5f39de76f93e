"""Per-sample code in the style of a well-known book: weights (out, in), biases as column vectors (out, 1), one
sample at a time as a column vector, sigmoid units and the quadratic cost, the L2 penalty lambda/(2n) with n
the training-set size, and plain SGD inside the class: update_mini_batch averages the per-sample gradients.

    python compare.py --candidate examples/per_sample_net.py:Network --sizes 784,30,10 --activation sigmoid \
        --loss mse --output sigmoid --momentum 0 --lr 3 --batch-size 10 --l2 5 --l2-norm dataset
    python compare.py --candidate examples/per_sample_net.py:NetworkSigmoidPrimeOfA ...the same flags...

The tool passes the initial weights and biases as [W0, b0, W1, b1, ...] in torch's layout; the biases come as
(out, 1) columns because that is the shape this code returns them in. The class receives n_train (the tool's
training-set size) for its penalty. Network is correct; NetworkSigmoidPrimeOfA takes sigmoid's derivative at the
activation instead of at z in the hidden layers.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, params, lmbda=5.0, n_train=1):
        self.weights = [w.copy() for w in params[0::2]]
        self.biases = [b.reshape(-1, 1).copy() for b in params[1::2]]
        self.lmbda, self.n = lmbda, n_train

    @property
    def params(self):
        return [p for wb in zip(self.weights, self.biases) for p in wb]

    def step(self, X, Y, lr):
        """One mini-batch: a per-sample backprop for each (x, y), then the averaged step."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        penalty = self.lmbda / (2 * self.n) * sum(np.sum(w**2) for w in self.weights)
        cost = 0.0
        for x, y in zip(X, Y):
            delta_nabla_b, delta_nabla_w, c = self.backprop(x.reshape(-1, 1), y.reshape(-1, 1))
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            cost += c
        m = len(X)
        self.weights = [(1 - lr * self.lmbda / self.n) * w - (lr / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (lr / m) * nb for b, nb in zip(self.biases, nabla_b)]
        return cost / m + penalty

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b  # (out, 1)
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        cost = 0.5 * np.sum((activations[-1] - y) ** 2)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
        for layer in range(2, len(self.weights) + 1):
            sp = sigmoid_prime(zs[-layer])
            delta = np.dot(self.weights[-layer + 1].T, delta) * sp
            nabla_b[-layer], nabla_w[-layer] = delta, np.dot(delta, activations[-layer - 1].T)
        return nabla_b, nabla_w, cost


class NetworkSigmoidPrimeOfA(Network):
    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        cost = 0.5 * np.sum((activations[-1] - y) ** 2)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
        for layer in range(2, len(self.weights) + 1):
            sp = sigmoid_prime(activations[-layer])  # the derivative taken at the activation, not at z
            delta = np.dot(self.weights[-layer + 1].T, delta) * sp
            nabla_b[-layer], nabla_w[-layer] = delta, np.dot(delta, activations[-layer - 1].T)
        return nabla_b, nabla_w, cost
