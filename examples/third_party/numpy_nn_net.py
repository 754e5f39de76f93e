# ruff: noqa
# An adapter (ours) that runs Rahul D Shetty's numpy_nn, vendored unchanged in the folder numpy_nn/ beside this file
# (numpy-nn 0.2.6 as published on PyPI, MIT; see numpy_nn/LICENSE and ../README.md), in the tool's class form: a
# Model of Neuron layers with Sigmoid layers after each, BinaryCrossEntropyLoss, trained by the body of Model.train's
# loop (forward, the loss, its gradient, backward, optimize) with numpy_nn's own SGD or Adam.
#
# The bug   numpy_nn/optimizers/Adam.py: one Adam object serves every layer (Model.set_optimizer hands the same one
#           to each), its moments are kept by the parameter's name only (`v = self.v_values[param_name]`, "weights"
#           or "biases"), and `self.time_step += 1` advances t at every call. So the layers share one pair of
#           moments per kind of parameter, and each parameter of a step is corrected with another t (1, 2, 3, ... in
#           the order optimize() calls them) where Adam has one t per step. Layers of different shapes make the
#           shared moments fail to broadcast; with layers of one shape it trains on the wrong steps. Adam first
#           appears in 0.2.6, the last release; no report of it in the tracker is known to us. SGD, the same network
#           otherwise, is correct.

import numpy as np

from numpy_nn.activations import Sigmoid
from numpy_nn.layers import Neuron
from numpy_nn.losses import BinaryCrossEntropyLoss
from numpy_nn.models.Model import Model
from numpy_nn.optimizers import SGD, Adam


class Net:
    """numpy_nn's Model([Neuron, Sigmoid, Neuron, Sigmoid, ...]) with BinaryCrossEntropyLoss and its SGD.

    Layout: in-out list [W0, b0, ...], W (n_in, n_out), b (n_out,): Neuron's weights and biases, used as
    x @ W + b. BinaryCrossEntropyLoss is the binary cross-entropy summed over the outputs, averaged over the batch,
    on the sigmoid's probabilities; its gradient with the Sigmoid layer's is (p - y) / m.
    SETTINGS = dict(activation="sigmoid", loss="bce", output="sigmoid", reduction="mean", l2=0, targets="onehot",
                    layout="in-out", optimizer="sgd", momentum=0). step() returns the loss before the update."""

    def optimizer(self, lr):
        return SGD(lr=lr)

    def __init__(self, params, lr=0.1):
        layers = []
        for W, b in zip(params[0::2], params[1::2]):
            neuron = Neuron(W.shape[0], W.shape[1])
            neuron.weights, neuron.biases = np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)
            layers += [neuron, Sigmoid()]
        self.model = Model(layers)
        self.lr = lr
        self.model.setup(BinaryCrossEntropyLoss(), self.optimizer(lr))

    def step(self, X, Y, lr):
        if lr != self.lr:
            raise ValueError("numpy_nn's optimizers fix their learning rate when made: run with a constant lr")
        model = self.model
        y_pred = model.forward(X)  # the body of Model.train's loop from here on
        loss = model.loss_fn(Y, y_pred)
        model.backward(model.loss_fn.gradient())
        model.optimize()
        return loss

    params = property(lambda self: [p for n in self.model.layers[0::2] for p in (n.weights, n.biases)])


class NetAdam(Net):
    """The same with numpy_nn's Adam (betas 0.9, 0.999 and eps 1e-8, torch's, in place of its defaults 0.85, 0.9, 0.05).

    SETTINGS as Net's, with optimizer="adam"; sizes with every layer of one shape (n, n, ..., n), since the layers'
    shared moments do not broadcast otherwise."""

    def optimizer(self, lr):
        return Adam(lr=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
