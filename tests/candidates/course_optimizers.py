"""Networks that own their update, written as the courses write their optimizers (conventions_net's network for
the loss and gradients): Coursera's momentum as a moving average and CS231n's Adam skeleton, whose counter starts
at 1. Each agrees with the tool under its flag, and is named by the convention finding without it."""

import numpy as np

from .conventions_net import net


class Owner:
    def __init__(self, params, lr=0.01):
        self.params = {k: v.copy() for k, v in params.items()}
        self.grads = None

    def step(self, X, Y, lr):
        loss, self.grads = net(self.params, X, Y)
        for k in self.params:
            self.params[k] = self.update(k, self.params[k], self.grads[k], lr)
        return loss


class CourseraMomentum(Owner):
    """update_parameters_with_momentum: v = beta v + (1 - beta) dW, W = W - learning_rate v, v from zeros."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, lr)
        self.beta = momentum
        self.v = {k: np.zeros_like(p) for k, p in self.params.items()}

    def update(self, k, w, dw, learning_rate):
        self.v[k] = self.beta * self.v[k] + (1 - self.beta) * dw
        return w - learning_rate * self.v[k]


class CS231nAdam(Owner):
    """cs231n/optim.py's adam: config.setdefault('t', 1), then t += 1 before the bias correction."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.configs = {k: dict(beta1=betas[0], beta2=betas[1], epsilon=eps) for k in self.params}

    def update(self, k, w, dw, learning_rate):
        config = self.configs[k]
        config.setdefault("m", np.zeros_like(w))
        config.setdefault("v", np.zeros_like(w))
        config.setdefault("t", 1)
        config["t"] += 1
        config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
        config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
        m_hat = config["m"] / (1 - config["beta1"] ** config["t"])
        v_hat = config["v"] / (1 - config["beta2"] ** config["t"])
        return w - learning_rate * m_hat / (np.sqrt(v_hat) + config["epsilon"])


class ClippedSGD(Owner):
    """Plain SGD on gradients clipped in place first, as min-char-rnn's np.clip(dparam, -5, 5, out=dparam), at its
    own fixed limit."""

    limit = 0.01

    def update(self, k, w, dw, learning_rate):
        np.clip(dw, -self.limit, self.limit, out=dw)
        return w - learning_rate * dw


class SharedCounterAdam(CS231nAdam):
    """Adam with one step counter for every parameter, advanced at each parameter's update (numpy-nn 0.2.6's
    `self.time_step += 1` in Adam.__call__): within one step each parameter is corrected with another t, so the
    first parameter's first update is torch's and the second's is Adam's with its counter started at 1."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr, betas, eps)
        self.t = 0

    def update(self, k, w, dw, learning_rate):
        config = self.configs[k]
        config.setdefault("m", np.zeros_like(w))
        config.setdefault("v", np.zeros_like(w))
        self.t += 1
        config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
        config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
        m_hat = config["m"] / (1 - config["beta1"] ** self.t)
        v_hat = config["v"] / (1 - config["beta2"] ** self.t)
        return w - learning_rate * m_hat / (np.sqrt(v_hat) + config["epsilon"])


class KindSharedAdam(SharedCounterAdam):
    """numpy-nn 0.2.6's Adam whole: one counter advanced at every parameter's update, and moments kept by the kind
    of parameter only, "W" or "b" (its v_values[param_name], one optimizer for every layer). In a net whose layers
    are of one shape, at the first step b1 departs first (corrected with t = 2, its moments right), then layer 2's
    moments (started from layer 1's)."""

    def update(self, k, w, dw, learning_rate):
        shared = self.configs.setdefault(k[0], dict(self.configs[k]))
        shared.setdefault("m", np.zeros_like(w))
        shared.setdefault("v", np.zeros_like(w))
        self.t += 1
        shared["m"] = shared["beta1"] * shared["m"] + (1 - shared["beta1"]) * dw
        shared["v"] = shared["beta2"] * shared["v"] + (1 - shared["beta2"]) * dw**2
        m_hat = shared["m"] / (1 - shared["beta1"] ** self.t)
        v_hat = shared["v"] / (1 - shared["beta2"] ** self.t)
        return w - learning_rate * m_hat / (np.sqrt(v_hat) + shared["epsilon"])
