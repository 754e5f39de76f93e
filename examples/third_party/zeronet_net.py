# ruff: noqa
# An adapter (ours) that runs ddlee's zeronet, vendored unchanged in the folder zeronet/ beside this file (zeronet
# 0.1.3 as published on PyPI, MIT; see ../README.md), in the tool's class form: a net of Linear layers with ReLU or
# Sigmoid layers between them and softmax_loss, one update per step by the lines of zeronet's model._step.
#
# The bug   zeronet/core/function.py, sigmoid_backward: `dx = dout * (1.0 - dout)` multiplies the upstream
#           gradient by (1 - upstream gradient), where the sigmoid's derivative is s (1 - s) with s = sigmoid(x):
#           the sigmoid's output is never computed in the backward pass. With Sigmoid layers every gradient below
#           the output layer is wrong; with ReLU layers the same net is correct. The same line in 0.1.0 and 0.1.3,
#           the only releases; no report of it in a tracker was found.
#
# Also     the release's Sigmoid layer cannot run as published: function.py's __all__ names 'sigmoid_backward' twice
#           and not 'sigmoid_forward', so layer.py's `from zeronet.core.function import *` leaves Sigmoid.forward a
#           NameError. The adapter hands layer.py that one name (below); the vendored lines are unchanged.

import numpy as np

import zeronet.core.optimizer as optim
from zeronet.core.function import softmax_loss
from zeronet.core.layer import Linear, ReLU, Sigmoid
from zeronet.core.net import net
import zeronet.core.function
import zeronet.core.layer

zeronet.core.layer.sigmoid_forward = zeronet.core.function.sigmoid_forward  # ours: the name __all__ leaves out

HIDDEN = "sigmoid"  # the layer between the Linear layers: "sigmoid" (Sigmoid) or "relu" (ReLU)


class Net:
    """zeronet's net([Linear, Sigmoid, Linear, ...], softmax_loss, reg=0), trained by net.loss and net.backward with
    optimizer.sgd, as model._step does.

    Layout: in-out list [W0, b0, ...], W (n_in, n_out), b (n_out,): Linear's params['w'], params['b'], used as
    x @ w + b. Targets: integer labels. softmax_loss is the mean cross-entropy over the batch.
    SETTINGS = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="mean", l2=0,
                    targets="labels", layout="in-out", optimizer="sgd", momentum=0) (activation: HIDDEN).
    step() returns softmax_loss's loss of the batch before the update."""

    hidden = None  # the class's own choice of HIDDEN (NetReLU's), else the module's

    def __init__(self, params, lr=0.01):
        n, hidden = len(params) // 2, self.hidden or HIDDEN
        stack = []
        for i, W in enumerate(params[0::2]):
            stack.append(Linear(f"linear{i}", output_shape=W.shape[1]))
            if i < n - 1:
                stack.append({"sigmoid": Sigmoid, "relu": ReLU}[hidden](f"{hidden}{i}"))
        self.net = net(stack, softmax_loss, reg=0.0)
        self.net.warmup(np.zeros((1, params[0].shape[0])), {"learning_rate": lr})
        self.linears = [layer for layer in stack if isinstance(layer, Linear)]
        for layer, W, b in zip(self.linears, params[0::2], params[1::2]):
            layer.params["w"], layer.params["b"] = W.copy(), b.copy()
            self.net.params[layer.name] = layer.params

    def step(self, X, Y, lr):
        for config in self.net.optim_configs.values():
            config["learning_rate"] = lr
        loss, dout = self.net.loss(X, Y)  # model._step from here on
        self.net.backward(optim.sgd, dout)
        return loss

    params = property(lambda self: [layer.params[k] for layer in self.linears for k in ("w", "b")])


class NetReLU(Net):
    """The same net with ReLU layers, which sigmoid_backward's bug does not reach: correct.

    SETTINGS as Net's, with activation="relu"."""

    hidden = "relu"
