"""Signatures: what each catalogue bug would have computed, predicted from the reference's own tensors.

At the divergence step the reference's tensors are right. A signature takes them, and the state the step started
from, and computes the divergent tensor the way one buggy code would; the residual of that prediction against
what the side under test actually computed says how well the bug explains it. The suspect finder
(lockstep/findings.py) runs them all and names the best fit. Each returns (residual, evidence) or None when the
bug cannot apply here.
"""
import numpy as np

from handmade.layers import ACTIVATIONS, sigmoid_forward


def fit(ours, predicted, text):
    """(residual, text), residual = max|ours - predicted| / max(max|ours|, max|predicted|); 0 if both are 0."""
    ours, predicted = np.asarray(ours, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if ours.shape != predicted.shape or not np.isfinite(ours).all() or not np.isfinite(predicted).all():
        return np.inf, text
    scale = max(np.abs(ours).max(initial=0), np.abs(predicted).max(initial=0))
    return (0.0 if scale == 0 else float(np.abs(ours - predicted).max() / scale)), text


def ratio_fit(ours, ref):
    """The best single factor r with ours ~ r * ref, and the residual of that fit; (None, inf) if ref is 0."""
    ours, ref = np.asarray(ours, dtype=np.float64).ravel(), np.asarray(ref, dtype=np.float64).ravel()
    if ours.shape != ref.shape or not np.isfinite(ours).all():
        return None, np.inf
    denom = float(ref @ ref)
    if denom == 0:
        return None, np.inf
    r = float(ours @ ref) / denom
    return r, fit(ours, r * ref, "")[0]


class Scene:
    """The divergence step: its checks and tensor pairs, the reference's tensors, the state before the step, and
    the optimizer's settings (torch's param_groups[0])."""

    def __init__(self, cfg, div, scene, non_finite=None):
        self.cfg, self.div, self.non_finite = cfg, div, non_finite
        self.pairs = {(ph, name): (a, b) for ph, name, a, b in scene["pairs"]}
        self.checks = {(c.phase, c.name): c.ok for c in scene["checks"]}
        self.ref, self.pre, self.X, self.hyper = scene["ref"], scene["pre"], scene["X"], scene["hyper"]
        self.m, self.step = len(self.X), div["step"]
        self.n_layers = len(cfg.sizes) - 1
        self.phase, self.tensor = div["phase"], div["tensor"]

    def divergent(self):
        return self.pairs[(self.phase, self.tensor)]

    def layer(self):
        return int(self.tensor.split(".")[1])

    def agrees(self, phase, name):
        return self.checks.get((phase, name), False)

    def pre_param(self, name):
        """A parameter as the located step started from it (KeyError when that state was not kept)."""
        if self.pre is None:
            raise KeyError(name)
        return self.pre["params"][name]

    def pre_state(self, name, key):
        if self.pre is None:
            raise KeyError(name)
        return self.pre["state"][name].get(key)

    def x(self, i):
        return self.X if i == 0 else self.ref[f"layers.{i - 1}.a"]

    def l2_grad(self, name):
        """The classic penalty's share of a weight gradient: l2 * W / m (0 for biases)."""
        return self.cfg.l2 / self.m * self.pre_param(name) if name.endswith(".weight") else 0.0

    def fit_hidden_dz(self, transform, text, W_used=None):
        """Predict a hidden layer's dz (or its weight or bias gradient, when only those were compared) as a buggy
        backward computes it: da = dz_{i+1} W (W the layer above's weight, or W_used(W, i+1) instead), then
        dz = transform(da, z, a); transform None means the activation's correct derivative."""
        if self.phase != "backward":
            return None
        i = self.layer()
        if i >= self.n_layers - 1:
            return None
        W = self.pre_param(f"layers.{i + 1}.weight")  # (out_{i+1}, out_i)
        if W_used is not None:
            W = W_used(W, i + 1)
            if W is None:
                return None
        transform = transform or ACTIVATIONS[self.cfg.activation][1]
        dz = transform(self.ref[f"layers.{i + 1}.dz"] @ W, self.ref[f"layers.{i}.z"], self.ref[f"layers.{i}.a"])  # (m, out_i)
        kind = self.tensor.rsplit(".", 1)[1]
        if kind == "dz":
            predicted = dz
        elif kind == "weight":
            predicted = dz.T @ self.x(i) + self.l2_grad(self.tensor)  # (out_i, in_i)
        else:
            predicted = dz.sum(axis=0)  # (out_i,)
        ours, _ = self.divergent()
        return fit(ours, predicted, f"{self.tensor} {text}")


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
    found = s.fit_hidden_dz(None, "matches backpropagation through W^T where W belongs (dz W^T for dz W)",
                            W_used=lambda W, i: W.T if W.shape[0] == W.shape[1] else None)
    if found:
        return found
    ours, ref = s.divergent()
    if s.phase == "backward" and ours.ndim == 2 and ours.shape == ref.shape and ours.shape[0] == ours.shape[1]:
        return fit(ours, ref.T, "equals the reference transposed: a transposed weight gradient")
    return None


def sig_stale_weights(s):
    """The layer above was stepped before dz was propagated through it: by lr * its gradient (plain SGD), or by
    lr * its new momentum buffer."""
    if s.cfg.optimizer != "sgd":
        return None
    lr, mu = s.hyper["lr"], s.hyper["momentum"]

    def stepped(W, i):
        name = f"layers.{i}.weight"
        g = s.ref[f"grad:{name}"]
        if mu:
            buf = s.pre_state(name, "momentum_buffer")
            g = g if buf is None else mu * buf + (1 - s.hyper["dampening"]) * g
        return W - lr * g
    return s.fit_hidden_dz(None, "matches backpropagation through the already-updated weights of the layer above: "
                                 "that layer was stepped before this gradient was computed", W_used=stepped)


def sig_missing_mean(s):
    """Every gradient m times too large: the data term's 1/m is missing (an l2 term, if any, kept its own 1/m)."""
    if s.phase != "backward" or s.m == 1:
        return None
    ours, ref = s.divergent()
    l2 = s.l2_grad(s.tensor) if not s.tensor.endswith(".dz") else 0.0
    res, _ = fit(ours, s.m * (ref - l2) + l2, "")
    r, _ = ratio_fit(ours - l2, ref - l2)
    if r is None:
        return None
    return res, f"gradients are {r:.1f}x the reference = the batch size m: a missing 1/m"


def sig_bias_one_sample(s):
    if not s.tensor.endswith(".bias") or s.phase != "backward":
        return None
    ours, _ = s.divergent()
    dz = s.ref[f"layers.{s.layer()}.dz"]  # (m, out)
    k = int(np.argmin(np.abs(dz - ours).max(axis=1)))
    return fit(ours, dz[k], f"equals row {k} of dL/dz (one sample) instead of the sum over the batch")


def sig_regularised_bias(s):
    if not s.cfg.l2 or not s.tensor.endswith(".bias") or s.phase != "backward":
        return None
    ours, ref = s.divergent()
    return fit(ours - ref, s.cfg.l2 / s.m * s.pre_param(s.tensor),
               f"differs from the reference by exactly l2*b/m (l2 {s.cfg.l2:g}, m {s.m}): the biases are regularised")


def sig_bias_rows_only(s):
    if not s.tensor.endswith(".weight") or s.phase != "backward":
        return None
    if not s.agrees("backward", s.tensor[:-len("weight")] + "bias"):
        return None
    ours, _ = s.divergent()
    res, _ = fit(ours, s.l2_grad(s.tensor) * np.ones_like(ours), "")
    what = "holds only the l2 term l2*W/m" if s.cfg.l2 else "is all zeros"
    return res, (f"the weight gradient {what} while the bias gradient agrees: only row 0 (the biases) of each "
                 "layer's gradient is filled")


def sig_dampened_first_step(s):
    if s.phase != "optimizer" or not s.tensor.endswith("momentum_buffer") or s.step != 0:
        return None
    ours, ref = s.divergent()
    r, res = ratio_fit(ours, ref)
    d = s.hyper["dampening"]
    if r is None or abs(r - (1 - d)) > 1e-6:
        return None
    return res, (f"only the optimizer state disagrees: momentum buffers are {r:.2f}x torch's on the first step "
                 f"= 1 - dampening: dampening applied on the first step, which torch skips")


def _adam_fit(s, direction, text):
    """Predict the updated parameter from torch's new moments and the state before the step."""
    if s.phase != "update" or s.cfg.optimizer not in ("adam", "adamw"):
        return None
    if not all(ok for (ph, _), ok in s.checks.items() if ph == "optimizer"):
        return None
    h = s.hyper
    (b1, b2), eps = h["betas"], h["eps"]
    m, v = s.ref[f"{s.tensor}.exp_avg"], s.ref[f"{s.tensor}.exp_avg_sq"]
    p = s.pre_param(s.tensor)
    if h.get("decoupled_weight_decay") or s.cfg.optimizer == "adamw":
        p = p * (1 - h["lr"] * h["weight_decay"])
    ours, _ = s.divergent()
    return fit(ours, p - h["lr"] * direction(m, v, s.ref[f"{s.tensor}.step"], b1, b2, eps), text)


def sig_adam_eps_inside_sqrt(s):
    return _adam_fit(s, lambda m, v, t, b1, b2, eps: (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps),
                     "only the update disagrees, and it matches Adam with eps inside the square root")


def sig_adam_no_bias_correction(s):
    return _adam_fit(s, lambda m, v, t, b1, b2, eps: m / (np.sqrt(v) + eps),
                     "only the update disagrees, and it matches Adam without bias correction")


def sig_softmax_no_shift(s):
    nf = s.non_finite
    if not nf or not nf.get("handmade") or nf.get("reference") or s.cfg.loss != "cross_entropy":
        return None
    z = s.ref.get(f"layers.{s.n_layers - 1}.z")
    limit = float(np.log(np.finfo(z.dtype).max))
    if z is None or z.max() <= limit:
        return None
    return 0.0, (f"the output went non-finite in the side under test only, when the largest logit reached "
                 f"{z.max():.1f} > ln(max {z.dtype}) = {limit:.1f}: exp(z) overflowed, softmax without subtracting "
                 "the row max")
