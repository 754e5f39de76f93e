# ruff: noqa
# An adapter (ours) that runs NumpyDL's own network, vendored unchanged in the folder npdl/ beside this file (npdl
# 0.4.0.1 as published on PyPI, by Chao-Ming Wang, MIT; see npdl/LICENSE and ../README.md), in the tool's class form.
#
# The bug   npdl/layers/core.py, Dense.backward: `self.dW = np.dot(self.last_input.T, act_grad)` sums the weight
#           gradient over the batch, while `self.db = np.mean(act_grad, axis=0)` averages the bias gradient. The
#           objective's backward (SoftmaxCategoricalCrossEntropy: outputs - targets) carries no 1/m, so every dW is
#           the gradient of the loss summed over the batch and every db is 1/m of the gradient of that same sum:
#           SGD moves the biases m times more slowly than the weights. Present in 0.1.0, 0.3.0 and 0.4.0.1 (the
#           last release) and in the repository's Dense to this day; not reported in its tracker as far as the issue
#           search shows.

from npdl import Model
from npdl.layers import Dense, Softmax
from npdl.objectives import SCCE
from npdl.optimizers import SGD

HIDDEN = "sigmoid"  # Dense's activation for the hidden layers: "sigmoid", "tanh" or "relu"


class Net:
    """npdl's Model of Dense layers with a Softmax output, trained by the body of Model.fit's batch loop with its SGD.

    Layout: in-out list [W0, b0, ...], W (n_in, n_out), b (n_out,), used as X @ W + b. Targets one-hot.
    SETTINGS = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="sum", layout="in-out",
                    optimizer="sgd", momentum=0). step() returns m times the objective's mean, the sum its weight
    gradients belong to."""

    def __init__(self, params, lr=0.01):
        hidden = [Dense(W.shape[1], W.shape[0], activation=HIDDEN) for W in params[0:-2:2]]
        self.model = Model(hidden + [Softmax(params[-2].shape[1], params[-2].shape[0])])
        self.model.compile(loss=SCCE(), optimizer=SGD(lr=lr))
        for layer, W, b in zip(self.model.layers, params[0::2], params[1::2]):
            layer.W, layer.b = W.copy(), b.copy()

    def step(self, X, Y, lr):
        m, self.model.optimizer.lr = self.model, lr
        y_pred = m.predict(X)  # the lines of Model.fit's batch loop from here on
        next_grad = m.loss.backward(y_pred, Y)
        for layer in m.layers[::-1]:
            next_grad = layer.backward(next_grad)
        m.optimizer.update([p for layer in m.layers for p in layer.params], [g for layer in m.layers for g in layer.grads])
        return len(X) * m.loss.forward(y_pred, Y)

    params = property(lambda self: [p for layer in self.model.layers for p in layer.params])
