"""The catalogue of classic backprop bugs: how to plant each in handmade, and the signature each leaves.

A Bug carries a config that exposes it (so `--inject-bug NAME` needs no other flag), where the locator must
find it, a plant(net, cfg) -> Side that returns handmade with the bug, and a signature(scene) that predicts
what the buggy code would have computed for the divergent tensor, from the reference's own tensors. The
suspect finder (lockstep/findings.py) runs every signature and names the one whose prediction fits.
Planting touches only the instance (its activation, loss or linear-backward function, or its optimizer);
handmade's source stays correct.
"""
from dataclasses import dataclass, field

import numpy as np

import handmade
from handmade.layers import sigmoid_forward
from .config import make_optimizer
from .scene import fit, ratio_fit


@dataclass
class Bug:
    name: str
    description: str
    config: dict  # Config fields that expose the bug
    expect: tuple  # (phase, tensor) where the locator must find it, under that config
    plant: object  # (net, cfg) -> Side
    signature: object  # scene -> (residual, evidence) or None
    tags: list = field(default_factory=list)


def _side(net, cfg, opt=None):
    from .engine import Side
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


# -- the plants ----------------------------------------------------------------------------------------------
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
        m = len(net._X)
        for W, b in net.layers:
            b.grad = b.grad + net.l2 / m * b.data  # the penalty's gradient reaches the biases too
    return _side(_wrap_backward(net, after), cfg)


def plant_transposed_weight(net, cfg):
    def linear_backward(dz, x, W, need_dx=True):
        dW, db, _ = handmade.layers.linear_backward(dz, x, W, need_dx=False)
        square = W.shape[0] == W.shape[1]  # only a square weight lets the mistake run
        return dW, db, (dz @ (W.T if square else W)) if need_dx else None
    net.linear_backward = linear_backward
    return _side(net, cfg)


def plant_softmax_no_shift(net, cfg):
    def softmax(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z)  # no z - max(z): exp overflows once a logit passes ln(max float), and inf/inf = NaN
            return e / e.sum(axis=1, keepdims=True)

    def cross_entropy(z, a, Y):  # -log of the target's probability, taken from that softmax
        with np.errstate(divide="ignore", invalid="ignore"):
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


def plant_dampened_first_step(net, cfg):
    return _side(net, cfg, DampenedFirstStepSGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                                 dampening=cfg.dampening))


class EpsInsideSqrtAdam(handmade.Adam):
    """Adam with eps under the square root: sqrt(v_hat + eps) instead of sqrt(v_hat) + eps."""

    def step(self):
        _buggy_adam(self, lambda m, v, t, b1, b2: (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + self.eps))


class NoBiasCorrectionAdam(handmade.Adam):
    """Adam without bias correction: m / (sqrt(v) + eps), so the first steps are too large."""

    def step(self):
        _buggy_adam(self, lambda m, v, t, b1, b2: m / (np.sqrt(v) + self.eps))


def _buggy_adam(opt, direction):
    beta1, beta2 = opt.betas
    for p in opt.params:
        state = opt.state[p]
        if not state:
            state.update(step=0.0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        state["step"] += 1
        m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        p.data -= opt.lr * direction(m, v, state["step"], beta1, beta2)


def plant_adam_eps_inside_sqrt(net, cfg):
    return _side(net, cfg, EpsInsideSqrtAdam(net.parameters(), lr=cfg.lr))


def plant_adam_no_bias_correction(net, cfg):
    return _side(net, cfg, NoBiasCorrectionAdam(net.parameters(), lr=cfg.lr))


def plant_stale_weights(net, cfg):
    lr = cfg.lr

    def linear_backward(dz, x, W, need_dx=True):
        dW, db, _ = handmade.layers.linear_backward(dz, x, W, need_dx=False)
        if net.l2:
            dW = dW + net.l2 / len(x) * W
        return dW, db, (dz @ (W - lr * dW)) if need_dx else None  # W already stepped: the update came first
    net.linear_backward = linear_backward
    return _side(net, cfg)


def plant_bias_rows_only(net, cfg):
    def after(net):
        m = len(net._X)
        for W, b in net.layers:  # the loop fills row 0 (the biases); the weight rows keep only the l2 term
            W.grad = net.l2 / m * W.data
    return _side(_wrap_backward(net, after), cfg)


# -- the signatures: predict the buggy tensor from the reference's, and measure the fit ------------------------
def sig_sigmoid_prime_of_a(s):
    if s.cfg.activation != "sigmoid":
        return None
    return s.fit_hidden_dz(lambda da, z, a: da * sigmoid_forward(a) * (1 - sigmoid_forward(a)),
                           "matches dL/da * sigma'(a): sigmoid's derivative taken at the activation a, not at z")


def sig_relu_grad_wrong_tensor(s):
    if s.cfg.activation not in ("relu", "leaky_relu"):
        return None
    return s.fit_hidden_dz(lambda da, z, a: da * (da > 0),
                           "matches dL/da masked by (dL/da > 0): relu's derivative taken from the upstream "
                           "gradient instead of from z")


def sig_transposed_weight(s):
    found = s.fit_hidden_dz(None, "matches backpropagation through W^T instead of W", transpose=True)
    if found:
        return found
    ours, ref = s.divergent()
    if ours.ndim == 2 and ours.shape == ref.shape and ours.shape[0] == ours.shape[1]:
        return fit(ours, ref.T, "equals the reference transposed: a transposed weight gradient")
    return None


def sig_stale_weights(s):
    if s.cfg.optimizer != "sgd" or s.cfg.momentum:
        return None
    return s.fit_hidden_dz(None, "matches backpropagation through W - lr*dW: the layer above was updated "
                                 "before this gradient was computed", stale_lr=s.cfg.lr)


def sig_missing_mean(s):
    if s.div["phase"] not in ("backward", "loss") or s.div["phase"] == "loss":
        return None
    ours, ref = s.divergent()
    r, res = ratio_fit(ours, ref)
    if r is None or abs(r - s.m) > 1e-6 * s.m:
        return None
    return res, f"gradients are {r:.1f}x the reference = the batch size m: a missing 1/m"


def sig_bias_one_sample(s):
    if not s.div["tensor"].endswith(".bias") or s.div["phase"] != "backward":
        return None
    ours, _ = s.divergent()
    dz = s.ref_dz(s.layer())
    rows = np.abs(dz - ours).max(axis=1)
    k = int(np.argmin(rows))
    res, text = fit(ours, dz[k], f"equals row {k} of dL/dz (one sample) instead of the sum over the batch")
    return res, text


def sig_regularised_bias(s):
    if not s.cfg.l2 or not s.div["tensor"].endswith(".bias") or s.div["phase"] != "backward":
        return None
    ours, ref = s.divergent()
    b = s.pre_param(s.div["tensor"])
    return fit(ours - ref, s.cfg.l2 / s.m * b,
               f"differs from the reference by exactly l2*b/m (l2 {s.cfg.l2:g}, m {s.m}): the biases are regularised")


def sig_bias_rows_only(s):
    if not s.div["tensor"].endswith(".weight") or s.div["phase"] != "backward":
        return None
    ours, _ = s.divergent()
    i = s.layer()
    bias_ok = s.agrees("backward", f"layers.{i}.bias")
    W = s.pre_param(s.div["tensor"])
    res, _ = fit(ours, s.cfg.l2 / s.m * W, "")
    if not bias_ok:
        return None
    what = "holds only the l2 term l2*W/m" if s.cfg.l2 else "is all zeros"
    return res, (f"the weight gradient {what} while the bias gradient agrees: only row 0 (the biases) of each "
                 "layer's gradient is filled")


def sig_dampened_first_step(s):
    if s.div["phase"] != "optimizer" or not s.div["tensor"].endswith("momentum_buffer"):
        return None
    ours, ref = s.divergent()
    r, res = ratio_fit(ours, ref)
    if r is None or s.step != 0 or abs(r - (1 - s.cfg.dampening)) > 1e-6:
        return None
    return res, (f"only the optimizer state disagrees: momentum buffers are {r:.2f}x torch's on the first step "
                 f"= 1 - dampening: dampening applied on the first step, which torch skips")


def _adam_fit(s, direction, text):
    if s.div["phase"] != "update" or s.cfg.optimizer not in ("adam", "adamw"):
        return None
    if not all(c for c in s.phase_agrees("optimizer")):
        return None
    name = s.div["tensor"]
    ours, _ = s.divergent()
    m, v = s.ref_state(name, "exp_avg"), s.ref_state(name, "exp_avg_sq")
    t = s.ref_step(name)
    p = s.pre_param(name)
    if s.cfg.optimizer == "adamw":
        p = p * (1 - s.cfg.lr * (0.01 if s.cfg.weight_decay is None else s.cfg.weight_decay))
    return fit(ours, p - s.cfg.lr * direction(m, v, t, 0.9, 0.999), text)


def sig_adam_eps_inside_sqrt(s):
    return _adam_fit(s, lambda m, v, t, b1, b2: (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + 1e-8),
                     "only the update disagrees, and it matches Adam with eps inside the square root")


def sig_adam_no_bias_correction(s):
    return _adam_fit(s, lambda m, v, t, b1, b2: m / (np.sqrt(v) + 1e-8),
                     "only the update disagrees, and it matches Adam without bias correction")


def sig_softmax_no_shift(s):
    nf = s.non_finite
    if not nf or not nf.get("handmade") or nf.get("reference"):
        return None
    last = len(s.cfg.sizes) - 2
    z = s.ref_tensor(f"layers.{last}.z")
    limit = float(np.log(np.finfo(z.dtype).max))
    if z is None or z.max() <= limit:
        return None
    return 0.0, (f"the output went non-finite in handmade only, when the largest logit reached {z.max():.1f} > "
                 f"ln(max {z.dtype}) = {limit:.1f}: exp(z) overflowed, softmax without subtracting the row max")


SEED_SETUP = dict(sizes=[784, 5, 5, 10], activation="sigmoid", loss="bce", l2=1.0, init="uniform",
                  scale="symmetric", optimizer="sgd", lr=2.0, momentum=0.0, batch_size=None, steps=5,
                  train_cap=30000)

CATALOGUE = [
    Bug("sigmoid-prime-of-a", "sigmoid's derivative applied to the activation, sigma'(a), instead of to z",
        dict(sizes=[784, 64, 32, 10], activation="sigmoid", lr=0.5, steps=20),
        ("backward", "layers.1.dz"), plant_sigmoid_prime_of_a, sig_sigmoid_prime_of_a),
    Bug("missing-mean", "the output gradient is summed over the batch, not averaged: a missing 1/m",
        dict(steps=20), ("backward", "layers.2.dz"), plant_missing_mean, sig_missing_mean),
    Bug("bias-grad-one-sample", "the bias gradient is taken from one sample instead of summed over the batch",
        dict(steps=20), ("backward", "layers.2.bias"), plant_bias_one_sample, sig_bias_one_sample),
    Bug("regularised-bias", "the l2 penalty's gradient is applied to the biases as well as the weights",
        dict(l2=5.0, steps=20), ("backward", "layers.2.bias"), plant_regularised_bias, sig_regularised_bias),
    Bug("transposed-weight", "backward propagates through W^T instead of W (it runs only where W is square)",
        dict(sizes=[784, 64, 64, 10], steps=20), ("backward", "layers.0.dz"), plant_transposed_weight,
        sig_transposed_weight),
    Bug("softmax-no-max-shift", "softmax computes exp(z) without subtracting the row max, so it overflows",
        dict(dtype="float32", lr=1.0, momentum=0.9, steps=200), ("forward", "layers.2.a"),
        plant_softmax_no_shift, sig_softmax_no_shift),
    Bug("relu-grad-wrong-tensor", "relu's derivative is taken from the upstream gradient (da > 0), not from z",
        dict(steps=20), ("backward", "layers.1.dz"), plant_relu_grad_wrong_tensor, sig_relu_grad_wrong_tensor),
    Bug("momentum-dampened-first-step", "SGD momentum starts from a zero buffer, so dampening scales the "
        "first step (torch starts with buf = g)", dict(momentum=0.9, dampening=0.5, steps=20),
        ("optimizer", "layers.0.weight.momentum_buffer"), plant_dampened_first_step, sig_dampened_first_step),
    Bug("adam-eps-inside-sqrt", "Adam divides by sqrt(v_hat + eps) instead of sqrt(v_hat) + eps",
        dict(optimizer="adam", lr=1e-3, steps=20), ("update", "layers.0.weight"), plant_adam_eps_inside_sqrt,
        sig_adam_eps_inside_sqrt),
    Bug("adam-no-bias-correction", "Adam without bias correction of its moment estimates",
        dict(optimizer="adam", lr=1e-3, steps=20), ("update", "layers.0.weight"), plant_adam_no_bias_correction,
        sig_adam_no_bias_correction),
    Bug("stale-weights", "a layer is updated before the gradient below it is computed, so backward uses the "
        "new weights", dict(momentum=0.0, lr=0.1, steps=20), ("backward", "layers.1.dz"), plant_stale_weights,
        sig_stale_weights),
    Bug("bias-rows-only", "the gradient loop fills only row 0 (the biases) of each layer: the question's code",
        dict(SEED_SETUP), ("backward", "layers.2.weight"), plant_bias_rows_only, sig_bias_rows_only),
]
BUGS = {bug.name: bug for bug in CATALOGUE}
