"""The catalogue of classic backprop bugs, and how to plant each in handmade.

A Bug carries a config that exposes it (so `--inject-bug NAME` needs no other flag), what any config must keep
for the bug to show (`needs`), where the locator must find it under its own config, a plant(net, cfg) -> Side
that returns handmade with the bug, and its signature (lockstep/signatures.py). Planting touches only the
instance (its activation, loss or linear-backward function, or its optimizer); handmade's source stays correct.
"""
from dataclasses import dataclass

import numpy as np

import handmade
from handmade.layers import linear_backward, sigmoid_forward
from . import signatures as sig
from .config import PRESETS, make_optimizer
from .sides import Side


@dataclass
class Bug:
    name: str
    description: str
    config: dict  # Config fields that expose the bug
    needs: object  # cfg -> None, or the reason this config cannot show the bug
    expect: tuple  # (phase, tensor) where the locator must find it, under `config`
    plant: object  # (net, cfg) -> Side
    signature: object  # Scene -> (residual, evidence) or None


def _side(net, cfg, opt=None):
    return Side(net, opt or make_optimizer(handmade, net.parameters(), cfg))


def _wrap_backward(net, after):
    """Run the correct backward, then let `after(net)` spoil the gradients it set, as the buggy code would."""
    correct = net.backward

    def backward():
        correct()
        after(net)
        return net.grads()
    net.backward = backward
    return net


def plant_sigmoid_prime_of_a(net, cfg):
    net.act_backward = lambda da, z, a: da * sigmoid_forward(a) * (1 - sigmoid_forward(a))  # sigma'(a), not at z
    return _side(net, cfg)


def plant_missing_mean(net, cfg):
    correct = net.loss_grad
    net.loss_grad = lambda z, a, Y, out_bwd: correct(z, a, Y, out_bwd) * len(z)  # the sum, not the mean
    return _side(net, cfg)


def plant_bias_one_sample(net, cfg):
    def after(net):
        for i, (W, b) in enumerate(net.layers):
            b.grad = net.deltas[f"layers.{i}.dz"][0].copy()  # db = dz[0], not dz.sum(axis=0)
    return _side(_wrap_backward(net, after), cfg)


def plant_regularised_bias(net, cfg):
    def after(net):
        for W, b in net.layers:
            b.grad = b.grad + net.l2 / len(net._X) * b.data  # the penalty's gradient reaches the biases too
    return _side(_wrap_backward(net, after), cfg)


def plant_transposed_weight(net, cfg):
    def backward(dz, x, W, need_dx=True):
        dW, db, _ = linear_backward(dz, x, W, need_dx=False)
        return dW, db, (dz @ W.T if W.shape[0] == W.shape[1] else dz @ W) if need_dx else None  # (m, in)
    net.linear_backward = backward
    return _side(net, cfg)


def plant_softmax_no_shift(net, cfg):
    def softmax(z):
        e = np.exp(z)  # no z - max(z): exp overflows once a logit passes ln(max float), and inf/inf is NaN
        return e / e.sum(axis=1, keepdims=True)

    def cross_entropy(z, a, Y):  # -log of the target's probability, taken from that softmax
        return float(-np.log((a * Y).sum(axis=1)).sum()) / len(z)
    net.out_forward, net.loss_value = softmax, cross_entropy
    return _side(net, cfg)


def plant_relu_grad_wrong_tensor(net, cfg):
    net.act_backward = lambda da, z, a: da * (da > 0)  # masks by the incoming gradient, not by z > 0
    return _side(net, cfg)


class DampenedFirstStepSGD(handmade.SGD):
    """Momentum that starts from a zero buffer, so dampening scales the very first step; torch starts with
    buf = g and applies no dampening on that step."""

    def step(self):
        for p in self.params:
            buf = self.state[p].setdefault("momentum_buffer", np.zeros_like(p.data))
            buf *= self.momentum
            buf += (1 - self.dampening) * p.grad
            p.data -= self.lr * buf


class EpsInsideSqrtAdam(handmade.Adam):
    def _update(self, m, v, t):
        (b1, b2), eps = self.betas, self.eps
        return self.lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps)  # sqrt(v_hat + eps)


class NoBiasCorrectionAdam(handmade.Adam):
    def _update(self, m, v, t):
        return self.lr * m / (np.sqrt(v) + self.eps)  # m and v used as they are


def plant_dampened_first_step(net, cfg):
    return _side(net, cfg, DampenedFirstStepSGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                                 dampening=cfg.dampening))


def _adam_plant(cls):
    def plant(net, cfg):
        decoupled = cfg.optimizer == "adamw"
        wd = cfg.weight_decay if cfg.weight_decay is not None else 0.01 if decoupled else 0.0
        return _side(net, cfg, cls(net.parameters(), lr=cfg.lr, weight_decay=wd, decoupled_weight_decay=decoupled))
    return plant


def plant_stale_weights(net, cfg):
    lr = cfg.lr

    def backward(dz, x, W, need_dx=True):
        dW, db, _ = linear_backward(dz, x, W, need_dx=False)  # MLP.backward adds the l2 term to dW itself
        stepped = W - lr * (dW + net.l2 / len(x) * W)  # W already stepped by its full gradient: the update came first
        return dW, db, (dz @ stepped) if need_dx else None
    net.linear_backward = backward
    return _side(net, cfg)


def plant_bias_rows_only(net, cfg):
    def after(net):
        for W, b in net.layers:  # the loop fills row 0 (the biases); the weight rows keep only the l2 term
            W.grad = net.l2 / len(net._X) * W.data
    return _side(_wrap_backward(net, after), cfg)


# -- what a config must keep for each bug to show --------------------------------------------------------------
def _needs(**rules):
    """needs(cfg) from rules {field: (test, what it must be)}."""
    def needs(cfg):
        for field, (test, what) in rules.items():
            if not test(getattr(cfg, field)):
                return f"--{field.replace('_', '-')} must be {what}"
        return None
    return needs


def _square_hidden(cfg):
    ok = any(n_in == n_out for n_in, n_out in zip(cfg.sizes[1:-1], cfg.sizes[2:]))
    return None if ok else "--sizes needs two equal hidden widths in a row (a square weight to transpose)"


MOMENTUM_SGD = dict(optimizer=(lambda o: o == "sgd", "sgd"), momentum=(lambda m: m > 0, "above 0"))
ADAM = dict(optimizer=(lambda o: o in ("adam", "adamw"), "adam or adamw"))
BATCH = dict(batch_size=(lambda b: b is None or b > 1, "above 1"))

CATALOGUE = [
    Bug("sigmoid-prime-of-a", "sigmoid's derivative applied to the activation, sigma'(a), instead of to z",
        dict(sizes=[784, 64, 32, 10], activation="sigmoid", lr=0.5, steps=20),
        _needs(activation=(lambda a: a == "sigmoid", "sigmoid"), sizes=(lambda s: len(s) > 2, "a net with a hidden layer")),
        ("backward", "layers.1.dz"), plant_sigmoid_prime_of_a, sig.sig_sigmoid_prime_of_a),
    Bug("missing-mean", "the output gradient is summed over the batch, not averaged: a missing 1/m",
        dict(steps=20), _needs(**BATCH), ("backward", "layers.2.dz"), plant_missing_mean, sig.sig_missing_mean),
    Bug("bias-grad-one-sample", "the bias gradient is taken from one sample instead of summed over the batch",
        dict(steps=20), _needs(**BATCH), ("backward", "layers.2.bias"), plant_bias_one_sample,
        sig.sig_bias_one_sample),
    Bug("regularised-bias", "the l2 penalty's gradient is applied to the biases as well as the weights",
        dict(l2=5.0, steps=20), _needs(l2=(lambda v: v > 0, "above 0")), ("backward", "layers.2.bias"),
        plant_regularised_bias, sig.sig_regularised_bias),
    Bug("transposed-weight", "backward multiplies by W^T where W belongs (dz W^T for dz W); only a square W lets "
        "it run", dict(sizes=[784, 64, 64, 10], steps=20), _square_hidden, ("backward", "layers.0.dz"),
        plant_transposed_weight, sig.sig_transposed_weight),
    Bug("softmax-no-max-shift", "softmax computes exp(z) without subtracting the row max, so it overflows",
        dict(dtype="float32", lr=1.0, momentum=0.9, steps=200),
        _needs(loss=(lambda v: v == "cross_entropy", "cross_entropy")), ("forward", "layers.2.a"),
        plant_softmax_no_shift, sig.sig_softmax_no_shift),
    Bug("relu-grad-wrong-tensor", "relu's derivative is taken from the upstream gradient (da > 0), not from z",
        dict(steps=20), _needs(activation=(lambda a: a in ("relu", "leaky_relu"), "relu or leaky_relu"),
                               sizes=(lambda s: len(s) > 2, "a net with a hidden layer")),
        ("backward", "layers.1.dz"), plant_relu_grad_wrong_tensor, sig.sig_relu_grad_wrong_tensor),
    Bug("momentum-dampened-first-step", "SGD momentum starts from a zero buffer, so dampening scales the "
        "first step (torch starts with buf = g)", dict(momentum=0.9, dampening=0.5, steps=20),
        _needs(**MOMENTUM_SGD, dampening=(lambda d: d > 0, "above 0"), nesterov=(lambda n: not n, "off")),
        ("optimizer", "layers.0.weight.momentum_buffer"), plant_dampened_first_step, sig.sig_dampened_first_step),
    Bug("adam-eps-inside-sqrt", "Adam divides by sqrt(v_hat + eps) instead of sqrt(v_hat) + eps",
        dict(optimizer="adam", lr=1e-3, steps=20), _needs(**ADAM), ("update", "layers.0.weight"),
        _adam_plant(EpsInsideSqrtAdam), sig.sig_adam_eps_inside_sqrt),
    Bug("adam-no-bias-correction", "Adam without bias correction of its moment estimates",
        dict(optimizer="adam", lr=1e-3, steps=20), _needs(**ADAM), ("update", "layers.0.weight"),
        _adam_plant(NoBiasCorrectionAdam), sig.sig_adam_no_bias_correction),
    Bug("stale-weights", "a layer is updated before the gradient below it is computed, so backward uses the "
        "new weights", dict(momentum=0.0, lr=0.1, steps=20),
        _needs(optimizer=(lambda o: o == "sgd", "sgd"), momentum=(lambda m: m == 0, "0 (plain SGD)"),
               sizes=(lambda s: len(s) > 2, "a net with a hidden layer")),
        ("backward", "layers.1.dz"), plant_stale_weights, sig.sig_stale_weights),
    Bug("bias-rows-only", "the gradient loop fills only row 0 (the biases) of each layer: the question's code",
        dict(PRESETS["seed"]), lambda cfg: None, ("backward", "layers.2.weight"), plant_bias_rows_only,
        sig.sig_bias_rows_only),
]
BUGS = {bug.name: bug for bug in CATALOGUE}
