"""What the suspect finder predicts from: the divergence step seen through the reference's own tensors.

At the divergence step the reference's tensors are right. A bug's prediction (lockstep/findings/bugs.py) takes them, and
the state the step started from, and computes the divergent tensor the way that buggy code would; the residual
of that prediction against what the side under test computed says how well the bug explains it. Each
prediction returns (residual, evidence) or None when the bug cannot apply here.
"""

import numpy as np

from handmade.config import l2_divisor
from handmade.layers import activation


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

    def __init__(self, cfg, div, scene, non_finite=None, n_train=None):
        self.cfg, self.div, self.non_finite = cfg, div, non_finite
        self.pairs = {(ph, name): (a, b) for ph, name, a, b in scene["pairs"]}
        self.checks = {(v.phase, v.name): v.ok for v in div.tensors} or {
            (c.phase, c.name): c.ok for c in scene["checks"]
        }
        self.ref, self.pre, self.X, self.hyper = scene["ref"], scene["pre"], scene["X"], scene["hyper"]
        self.Y = scene.get("Y")
        self.m, self.step = len(self.X), div.step
        self.n_layers = len(cfg.sizes) - 1
        self.phase, self.tensor = div.phase, div.tensor
        self.l2_divisor = l2_divisor(cfg.l2_norm, self.m, n_train)
        self._implied_gradients()

    def _implied_gradients(self):
        """A network that owns its update exposes no optimizer state, and maybe no gradients: it diverges first in an
        updated parameter. torch's SGD updates p - lr d, so the update implies d = (p_before - p) / lr: with
        momentum (not Nesterov) d is the new momentum buffer, and the optimizer-state predictions apply to it as to
        a buffer the side kept; without momentum d is g + weight_decay p_before, and the gradient predictions apply
        to the gradient it implies as to a returned one."""
        h = self.hyper
        if self.phase != "update" or self.cfg.optimizer != "sgd" or self.pre is None or h.get("nesterov"):
            return
        if h.get("momentum"):
            key = "momentum_buffer"  # torch's form (the courses' forms keep another key, and are not implied)
            if ("optimizer", f"{self.tensor}.{key}") in self.pairs or f"{self.tensor}.{key}" not in self.ref:
                return
        elif (
            ("backward", self.tensor) in self.pairs or self.cfg.clip_value is not None or self.cfg.clip_norm is not None
        ):
            return  # (clipped, the update's g is not the gradient)
            return
        for (phase, name), (ours, _) in list(self.pairs.items()):
            if phase != "update":
                continue
            d = (self.pre["params"][name] - np.asarray(ours, dtype=np.float64)) / h["lr"]
            ok = self.checks.get(("update", name), False)
            if h.get("momentum"):
                self.pairs["optimizer", f"{name}.{key}"] = d, self.ref[f"{name}.{key}"]
                self.checks["optimizer", f"{name}.{key}"] = ok
            else:
                d = d - h.get("weight_decay", 0) * self.pre["params"][name]
                self.pairs["backward", name] = d, self.ref[f"grad:{name}"]
                self.checks["backward", name] = ok
        if h.get("momentum"):
            self.phase, self.tensor = "optimizer", f"{self.tensor}.{key}"
        else:
            self.phase = "backward"

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

    def running(self, name, momentum, variance=None):
        """Batch norm's running statistic `name` ('layers.{i}.norm.running_mean' or '.running_var') after this
        step's update with `momentum` (torch's sense) and the running variance's convention `variance` ('biased',
        'unbiased'; the run's by default), from its value before the step and the reference's batch statistics."""
        block, key = name.rsplit(".", 1)
        old = self.pre["buffers"][name]
        if key == "running_mean":
            batch = self.ref[f"{block}.mean"]
        else:
            z, mean = self.ref[block.rsplit(".", 1)[0] + ".z"], self.ref[f"{block}.mean"]
            n = len(z) - ((variance or self.cfg.bn_running_variance) == "unbiased")
            batch = ((z - mean) ** 2).sum(axis=0) / n
        return (1 - momentum) * old + momentum * batch

    def x(self, i):
        return self.X if i == 0 else self.ref[f"layers.{i - 1}.a"]

    def l2_grad(self, name):
        """The penalty's share of a weight gradient: l2 * W / d (0 for biases)."""
        return self.cfg.l2 / self.l2_divisor * self.pre_param(name) if name.endswith(".weight") else 0.0

    def fit_hidden_dz(self, transform, text, W_used=None):
        """Predict a hidden layer's da or dz (or its weight or bias gradient, when only those were compared) as a
        buggy backward computes it: da = dz_{i+1} W (W the layer above's weight, or W_used(W, i+1) instead), then
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
        transform = transform or activation(self.cfg.activation, self.cfg.leaky_slope)[1]
        da = self.ref[f"layers.{i + 1}.dz"] @ W  # (m, out_i)
        dz = transform(da, self.ref[f"layers.{i}.z"], self.ref[f"layers.{i}.a"])  # (m, out_i)
        kind = self.tensor.rsplit(".", 1)[1]
        if kind == "da":
            predicted = da
        elif kind == "dz":
            predicted = dz
        elif kind == "weight":
            predicted = dz.T @ self.x(i) + self.l2_grad(self.tensor)  # (out_i, in_i)
        else:
            predicted = dz.sum(axis=0)  # (out_i,)
        ours, _ = self.divergent()
        return fit(ours, predicted, f"{self.tensor} {text}")
