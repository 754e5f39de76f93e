# ruff: noqa
# An adapter (ours) that runs Ankit Kohli's ak-pynn MLP, vendored unchanged in the folder ak_pynn/ beside this file
# (ak-pynn 0.1.8 as published on PyPI, MIT; see ak_pynn/LICENSE and ../README.md), in the tool's class form, trained
# by its own back_propagate and Adam.
#
# The bug   ak_pynn/mlp.py, Optimizers.Adam: `m_dw = self.Mdw[i]/(1-self.beta1)` and `v_dw = self.Vdw[i]/(1-self.beta2)`
#           correct the moments by 1 - beta, not by 1 - beta^t (there is no step count t), and the step
#           `self.weights[i] -= (learningRate*(m_dw/np.sqrt(v_dw+self.epsilon)))` divides by sqrt(v_hat + eps), eps
#           (1e-7) inside the square root, where Adam as published (and torch.optim.Adam) has sqrt(v_hat) + eps.
#           At the first step only the eps differs (1 - beta^1 = 1 - beta); from the second on the correction does
#           too: m_hat is 1.9 times Adam's and v_hat 2.0 times at t = 2, growing towards 10 and 1000 times. The same
#           lines for the biases. 0.1.7 has the same code; no report of it in a tracker is known to us.
#
# ak_pynn/utils.py imports opt_einsum's contract, which is not installed here; it only serves the softmax output's
# Jacobian product (softmaxTimesVector), so the adapter stands numpy.einsum in for it (below).

import sys
import types

import numpy as np

if "opt_einsum" not in sys.modules:  # ours: numpy's einsum in place of opt_einsum.contract (same subscripts)
    try:
        import opt_einsum  # noqa: F401
    except ImportError:
        sys.modules["opt_einsum"] = types.SimpleNamespace(contract=np.einsum)

from ak_pynn.mlp import MLP

HIDDEN = "sigmoid"  # add_layer's activation_function for the hidden layers: "sigmoid", "tanh", "relu", ...
OUTPUT = "linear"  # the output layer's activation_function: "linear" (identity) or "sigmoid"


class NetAdam:
    """ak-pynn's MLP with loss_function='mse' and optimizer='Adam', one update a step by the body of MLP.fit's batch
    loop (forward_propagate, back_propagate, Adam).

    Layout: torch list [W0, b0, ...], W (n_out, n_in), b (n_out,): its weights[i], bias[i], used as a @ W.T + b.
    Its mse is the mean over the m samples and k outputs of (y - p)^2 and back_propagate's gradient is
    -2 (y - p) / m per output, that mean's gradient only for one output (k = 1; for k > 1 it is k times it).
    SETTINGS = dict(sizes=[..., 1], activation="sigmoid", loss="mse", output="identity", loss_scale=2,
                    reduction="mean", layout="torch", optimizer="adam", eps=1e-7) (activation: HIDDEN; output:
                    OUTPUT, "linear" is the tool's identity; eps: its Optimizers.epsilon). step() returns its mse of the batch before the update."""

    optimizer = "Adam"

    def __init__(self, params, lr=1e-3):
        self.mlp = mlp = MLP()
        Ws = params[0::2]
        mlp.add_layer(Ws[0].shape[1], input_layer=True)
        for W in Ws[:-1]:
            mlp.add_layer(W.shape[0], activation_function=HIDDEN)
        mlp.add_layer(Ws[-1].shape[0], activation_function=OUTPUT, output_layer=True)
        mlp.compile_model(loss_function="mse", optimizer=self.optimizer, show_summary=False)
        mlp.weights = [np.array(W, dtype=np.float64) for W in Ws]
        mlp.bias = [np.array(b, dtype=np.float64) for b in params[1::2]]

    def step(self, X, Y, lr):
        mlp = self.mlp
        mlp.batch_size = len(X)  # fit's batch_size, by which back_propagate divides
        activations, node_values, B_cache = mlp.forward_propagate(X)  # fit's batch loop from here on
        loss = mlp.loss_functions[mlp.loss_func](Y, activations[len(mlp.layers) - 1])
        mlp.back_propagate(Y, activations, node_values, B_cache)
        mlp.optimizer_function[mlp.optimizer](lr)
        return loss

    params = property(lambda self: [p for W, b in zip(self.mlp.weights, self.mlp.bias) for p in (W, b)])


class NetSGD(NetAdam):
    """The same MLP with optimizer='gradient_descent' (w -= learningRate * dw): its gradients are the mse's, and
    plain SGD agrees. SETTINGS as NetAdam's, with optimizer="sgd", momentum=0."""

    optimizer = "gradient_descent"
