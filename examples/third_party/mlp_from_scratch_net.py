# ruff: noqa
# An adapter (ours) that runs Nehorai Yosef's network, vendored unchanged in the folder multilayer_perceptron/ beside
# this file (multilayer-perceptron-from-scratch 0.1.4 as published on PyPI, MIT; see ../README.md), in the tool's
# class form. Per sample: weights (out, in), biases (out, 1), column vectors; the squared error without its 1/2.

import numpy as np
from multilayer_perceptron import Network


class Net:
    """Network.update_network(x, y, lr) for each sample of the batch (the body of its SGD's loop).

    SETTINGS = dict(activation="sigmoid", loss="mse", output="sigmoid", loss_scale=2, batch_size=1, layout="torch",
                    optimizer="sgd", momentum=0). step() returns sum (a - y)^2 before the update, its SGD's loss."""

    def __init__(self, params, lr=0.1):
        self.net = Network([params[0].shape[1]] + [W.shape[0] for W in params[0::2]])
        self.net.weights, self.net.biases = [W.copy() for W in params[0::2]], [b.reshape(-1, 1) for b in params[1::2]]

    def step(self, X, Y, lr):
        loss = np.mean([np.sum((self.net.feedforward(x[:, None])[0] - y[:, None]) ** 2) for x, y in zip(X, Y)])
        for x, y in zip(X, Y):
            self.net.update_network(x[:, None], y[:, None], lr)
        return loss

    params = property(lambda self: [p for W, b in zip(self.net.weights, self.net.biases) for p in (W, b.ravel())])
