# ruff: noqa
# An adapter (ours) that runs Hugo Wainwright's network, vendored unchanged in the folder pydl/ beside this file
# (PyDeepLearning 0.1 as published on PyPI, MIT; see ../README.md), in the tool's class form. Per sample: weights
# (out, in), biases (out, 1), column vectors; sigmoid layers; the step is lr times the gradient of 1/2 sum (a - y)^2.

import numpy as np
from pydl import Network


class Net:
    """Network.compute_weight_and_bias_deltas then apply_weight_and_bias_deltas, for each sample of the batch.

    SETTINGS = dict(activation="sigmoid", loss="mse", output="sigmoid", batch_size=1, layout="torch", optimizer="sgd",
                    momentum=0). step() returns 1/2 sum (a - y)^2 before the update, the loss its deltas belong to
    (its compute_error reports the mean over the outputs of (a - y)^2, twice that over k)."""

    def __init__(self, params, lr=0.1):
        self.net = Network([params[0].shape[1]] + [W.shape[0] for W in params[0::2]])
        for layer, W, b in zip(self.net.layers, params[0::2], params[1::2]):
            layer.weights, layer.bias = W.copy(), b.reshape(-1, 1)

    def step(self, X, Y, lr):
        loss = np.mean([0.5 * np.sum((self.net.compute_outputs(x[:, None])[-1] - y[:, None]) ** 2) for x, y in zip(X, Y)])
        for x, y in zip(X, Y):
            self.net.apply_weight_and_bias_deltas(self.net.compute_weight_and_bias_deltas(x[:, None], y[:, None], lr))
        return loss

    params = property(lambda self: [p for layer in self.net.layers for p in (layer.weights, layer.bias.ravel())])
