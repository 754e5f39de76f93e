"""CS231n's momentum, as assignment 2 writes it: an update rule sgd_momentum(w, dw, config) -> (next_w, config)
with the velocity v = mu * v - learning_rate * dw, w += v, and one config dict per parameter, as cs231n/solver.py
keeps them. The network is a dict W1, b1, W2, b2, ... with W (in, out), relu hidden units and softmax_loss on
integer labels. It owns its update; the tool hands it each step's lr (the Solver writes config['learning_rate']):

    python compare.py --candidate examples/velocity_momentum_net.py:VelocityNet --targets labels \
        --momentum-form velocity --lr-schedule inv-iter:0.01
    python compare.py --candidate examples/velocity_momentum_net.py:VelocityNetSignFlipped --targets labels \
        --momentum-form velocity

VelocityNet is correct. Its velocity carries the learning rate, so once the lr changes it is not torch's momentum:
without --momentum-form velocity, a schedule makes it part from torch.optim.SGD, and a finding names the flag.
VelocityNetSignFlipped adds the lr times the gradient to the velocity instead of subtracting it, which the suspect
finder names (velocity-sign-flipped).
"""

import numpy as np


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum (CS231n's cs231n/optim.py):
    config: learning_rate, momentum (0.9), velocity (a numpy array of w's shape, zero at first)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def sgd_momentum_sign_flipped(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw  # the sign of the gradient's term flipped
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def softmax_loss(x, y):
    """(loss, dx) of the mean softmax cross-entropy of scores x (N, C) for labels y (N,)."""
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    n = x.shape[0]
    loss = -np.sum(log_probs[np.arange(n), y]) / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


class VelocityNet:
    update_rule = staticmethod(sgd_momentum)

    def __init__(self, params, lr=1e-2, momentum=0.9):
        self.params = {k: v.copy() for k, v in params.items()}
        self.configs = {k: {"learning_rate": lr, "momentum": momentum} for k in self.params}
        self.grads = None

    def loss(self, X, y):
        n = sum(k.startswith("W") for k in self.params)
        acts = [X]
        for layer in range(1, n + 1):
            z = acts[-1] @ self.params[f"W{layer}"] + self.params[f"b{layer}"]
            acts.append(np.maximum(z, 0) if layer < n else z)
        loss, dout = softmax_loss(acts[-1], y)
        grads = {}
        for layer in range(n, 0, -1):
            grads[f"W{layer}"] = acts[layer - 1].T @ dout
            grads[f"b{layer}"] = dout.sum(axis=0)
            dout = (dout @ self.params[f"W{layer}"].T) * (acts[layer - 1] > 0)
        return loss, grads

    def step(self, X, y, lr):
        loss, self.grads = self.loss(X, y)
        for k in self.params:
            self.configs[k]["learning_rate"] = lr
            self.params[k], self.configs[k] = self.update_rule(self.params[k], self.grads[k], self.configs[k])
        return loss


class VelocityNetSignFlipped(VelocityNet):
    update_rule = staticmethod(sgd_momentum_sign_flipped)
