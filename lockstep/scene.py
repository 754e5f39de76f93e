"""What the suspect finder sees at the divergence step, and the two fits every signature uses.

A signature predicts the divergent tensor as a given buggy code would have computed it, starting from the
reference's own tensors of that step (which are right) and the state before the step. The residual of that
prediction says how well the bug explains what the handmade side or the candidate actually computed.
"""
import numpy as np

from handmade.layers import ACTIVATIONS


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
    """The divergence step: its checks and tensor pairs, the reference's tensors, the state before the step."""

    def __init__(self, cfg, div, scene, non_finite=None):
        self.cfg, self.div, self.non_finite = cfg, div, non_finite
        self.pairs = {(ph, name): (a, b) for ph, name, a, b in scene["pairs"]}
        self.checks = {(c.phase, c.name): c.ok for c in scene["checks"]}
        self.ref, self.pre, self.X = scene["ref"], scene["pre"], scene["X"]
        self.m, self.step = len(self.X), div["step"]
        self.n_layers = len(cfg.sizes) - 1

    def divergent(self):
        return self.pairs[(self.div["phase"], self.div["tensor"])]

    def layer(self):
        return int(self.div["tensor"].split(".")[1])

    def agrees(self, phase, name):
        return self.checks.get((phase, name), False)

    def phase_agrees(self, phase):
        return [ok for (ph, _), ok in self.checks.items() if ph == phase]

    def ref_tensor(self, name):
        return self.ref.get(name)

    def ref_dz(self, i):
        return self.ref[f"layers.{i}.dz"]

    def ref_state(self, name, key):
        return self.ref[f"{name}.{key}"]

    def ref_step(self, name):
        return float(self.ref[f"{name}.step"])

    def pre_param(self, name):
        """A parameter as the located step started from it (KeyError when that state was not kept)."""
        if self.pre is None:
            raise KeyError(name)
        return self.pre["params"][name]

    def x(self, i):
        return self.X if i == 0 else self.ref[f"layers.{i - 1}.a"]

    def fit_hidden_dz(self, transform, text, transpose=False, stale_lr=None):
        """Predict a hidden layer's dz (or its weight or bias gradient, when only those were compared) as a
        buggy backward computes it: da = dz_{i+1} W_{i+1} (maybe through W^T, or through the already-updated
        W - lr dW), then dz = transform(da, z, a); transform None means the activation's correct derivative."""
        if self.div["phase"] != "backward":
            return None
        i = self.layer()
        if i >= self.n_layers - 1:
            return None
        W = self.pre_param(f"layers.{i + 1}.weight")
        if transpose:
            if W.shape[0] != W.shape[1]:
                return None
            W = W.T
        if stale_lr is not None:
            W = W - stale_lr * self.ref[f"grad:layers.{i + 1}.weight"]
        transform = transform or ACTIVATIONS[self.cfg.activation][1]
        dz = transform(self.ref_dz(i + 1) @ W, self.ref[f"layers.{i}.z"], self.ref[f"layers.{i}.a"])  # (m, out_i)
        kind = self.div["tensor"].rsplit(".", 1)[1]
        if kind == "dz":
            predicted = dz
        elif kind == "weight":
            predicted = dz.T @ self.x(i) + self.cfg.l2 / self.m * self.pre_param(f"layers.{i}.weight")
        else:
            predicted = dz.sum(axis=0)
        ours, _ = self.divergent()
        return fit(ours, predicted, f"{self.div['tensor']} {text}")
