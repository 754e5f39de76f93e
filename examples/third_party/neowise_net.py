# ruff: noqa
# An adapter (ours) that runs Pranav Sastry's neowise network, its modules vendored unchanged in the folder neowise/
# beside this file (neowise 0.1.0 as published on PyPI, MIT; see neowise/LICENSE and ../README.md), in the tool's
# function form. Samples in columns: the adapter hands it X.T and Y.T; weights (out, in), biases (out, 1).
#
# The bug   neowise/activations.py, Softmax.backward: `return (Softmax.forward(self) * (1 - Softmax.forward(self)))`,
#           the diagonal s (1 - s) of the softmax's Jacobian taken for the whole of it. Dense.back_prop multiplies
#           the cost's gradient by it element by element (`self.dZ = dA_prev * ...`), so with CrossEntropy's
#           grad -y / (m A) the output's dZ is -y (1 - A) / m: right for each sample's true class, 0 for every
#           other class where it should be A / m. The same lines in the repository's last commit; no report of it
#           in the project's tracker is known to us. With the Binary problem type (a sigmoid output and
#           BinaryCrossEntropy) the same network is correct.

from neowise.cost_function import CrossEntropy
from neowise.layers import Dense

HIDDEN = "relu"  # Dense's activation_fn for the hidden layers: "relu", "tanh" or "sigmoid"


def loss_and_grads(params, X, Y):
    """Model.forward_prop, CrossEntropy and Model.backward_prop's loop of neowise on the torch-layout list [W0, b0, ...].

    The output layer is Dense(..., "softmax") with the problem type "Multi" (CrossEntropy, the mean over the batch),
    no regularisation, dropout 1 (neowise's default: every unit kept).
    SETTINGS = dict(activation="relu", loss="cross_entropy", output="softmax", reduction="mean", l2=0,
                    targets="onehot", layout="torch") (activation: HIDDEN)."""
    n = len(params) // 2
    layers = []
    for i, (W, b) in enumerate(zip(params[0::2], params[1::2])):
        layer = Dense(W.shape[1], W.shape[0], HIDDEN if i < n - 1 else "softmax")
        layer.weights, layer.bias = W, b[:, None]
        layers.append(layer)
    activations_cache = {"A0": X.T}  # the lines of Model.forward_prop from here on
    temp_A = X.T
    for p, layer in enumerate(layers, start=1):
        _, temp_A = Dense.forw_prop(layer, temp_A, True)
        activations_cache["A" + str(p)] = temp_A
    cost, temp_dA = CrossEntropy(Y.T, activations_cache["A" + str(n)], layers, None, None)()
    for l, layer in enumerate(reversed(layers), start=1):  # the lines of Model.backward_prop
        _, layer.dW, layer.db, temp_dA = Dense.back_prop(layer, temp_dA, activations_cache["A" + str(n - l)])
    return cost, [g for layer in layers for g in (layer.dW, layer.db.ravel())]
