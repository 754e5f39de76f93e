"""The one comparison rule: tests, compare.py and the benchmark all call compare(); no other tolerance exists.

A pair of tensors agrees when max|ours - ref| <= rtol * scale, the scale being the reference's largest magnitude
(max(|loss|, 1) for the loss; times the output gradient's cancellation factor c for backward and optimizer
tensors); NaN or inf never agrees. rtol by dtype, and why: docs/judging.md, section 1. _decide() states the rule;
what an excess means is the judge's business (lockstep/judge/judge.py).
"""

import math
from dataclasses import dataclass

import numpy as np

from handmade.losses import OUTPUTS

from ..records import Element


@dataclass(frozen=True)
class Tolerance:
    loss: float  # relative, on the scalar loss
    tensor: float  # relative to the tensor's largest magnitude

    def for_phase(self, phase):
        return self.loss if phase == "loss" else self.tensor


EPS32 = float(np.finfo(np.float32).eps)
TOLERANCES = {
    "float64": Tolerance(loss=1e-12, tensor=1e-10),  # FMA, summation order: 1e-15 a step, 1e-12 after thousands
    "float32": Tolerance(loss=2**10 * EPS32, tensor=2**12 * EPS32),  # a step: 150 eps at the median, 1,000 at 99%
}
BLIND = 1e-2  # a run whose detection floor in some phase is above this cannot vouch for agreement: 'inconclusive'


@dataclass
class Check:
    """The outcome of comparing one named tensor in one phase of one step."""

    phase: str  # forward, loss, backward, optimizer or update
    name: str  # state_dict-style name, e.g. layers.0.weight or layers.1.dz
    max_abs: float
    max_rel: float
    ok: bool
    ours_finite: bool
    ref_finite: bool


def compare(phase, name, ours, ref, tol, scratch=None, cancel=1.0):
    """Compare ours with the reference under the dtype's Tolerance tol; returns a Check.
    scratch, a dict, lends reusable buffers for the difference (the engine keeps one across steps).
    NaN and inf may raise numpy's floating-point warnings; the engine runs under np.errstate(all="ignore").

    Five passes at most: ours - ref, its max and min, the reference's max and min. Any NaN or inf in either
    array makes the difference non-finite, so the finite case needs no separate isfinite pass."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        return Check(phase, name, np.inf, np.inf, False, True, True)
    if ours.size == 0:
        return Check(phase, name, 0.0, 0.0, True, True, True)
    out = None
    if scratch is not None and ours.size >= 4096:
        key = (ours.shape, np.result_type(ours, ref), ours.flags.f_contiguous)
        out = scratch.get(key)
        if out is None:
            out = scratch[key] = np.empty(ours.shape, key[1], order="F" if key[2] else "C")
    d = np.subtract(ours, ref, out=out)  # inf - inf is NaN: that is how a non-finite value is detected
    hi, lo = float(d.max()), float(d.min())
    if not (math.isfinite(hi) and math.isfinite(lo)):
        ours_finite, ref_finite = bool(np.isfinite(ours).all()), bool(np.isfinite(ref).all())
        if not (ours_finite and ref_finite):
            return Check(phase, name, np.inf, np.inf, False, ours_finite, ref_finite)
        d = ours.astype(np.float64) - ref  # finite float32 values whose difference overflowed
        hi, lo = float(d.max()), float(d.min())
    ref_max = max(float(ref.max()), -float(ref.min()))
    ours_max = float(np.abs(ours).max()) if ref_max <= max(hi, -lo) else 0.0
    return _decide(phase, name, max(hi, -lo), ref_max, ours_max, tol, cancel)


def _decide(phase, name, max_abs, ref_max, ours_max, tol, cancel=1.0):
    """The rule itself, from the three maxima: the error relative to the scale, and the verdict."""
    scale = ref_max
    if scale <= max_abs:  # only then can |ours| be the larger magnitude by more than the error itself
        scale = max(scale, ours_max)
    if phase == "loss":
        scale = max(scale, 1.0)
    elif phase in ("backward", "optimizer"):
        scale *= cancel
    max_rel = max_abs / scale if scale > 0 else 0.0
    return Check(phase, name, float(max_abs), float(max_rel), max_rel <= tol.for_phase(phase), True, True)


def exceeds_value(phase, ours, ref, cancel=1.0):
    """Whether max|ours - ref| is larger than the reference tensor's own scale, as _decide measures it but from the
    reference alone (max|ref|; max(|loss|, 1) for the loss; times c for backward and optimizer tensors): a
    difference larger than the value it is a difference of."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape or ours.size == 0:
        return False
    scale = float(np.abs(ref).max())
    if phase == "loss":
        scale = max(scale, 1.0)
    elif phase in ("backward", "optimizer"):
        scale *= cancel
    return float(np.abs(ours - ref).max()) > scale


SMALL = 4096  # elements; below this a tensor's cost is numpy's per-call overhead, not arithmetic


def _through_output(h, z, a, output):
    """|J|^T h for the output activation's Jacobian J (mse): h f'(z) for an elementwise output (identity, sigmoid:
    f' >= 0), a (h + sum_k h_k a_k) for softmax (|a_j (delta_jk - a_k)| summed against h)."""
    if output == "softmax":
        return a * (h + (h * a).sum(axis=1, keepdims=True))
    return OUTPUTS[output].backward(h, z, a)


# loss -> the natural scale of its output gradient's rounding, from h = |a| + |Y| (m, k), z and a, before the
# reduction's 1/m and the loss scale; None: the gradient is no difference of a and Y (svm's indicators), so nothing
# cancels. A loss not listed is a matched pair whose gradient is a - Y itself (cross_entropy, bce).
CANCELLING = {
    "mse": lambda h, z, a, output: _through_output(h, z, a, output),
    "svm": None,
}


def cancellation(a, Y, dz, config, z=None):
    """c for a step: how much smaller the output layer's dL/dz (m, k) is than the rounding it carries. Every backward
    tensor is linear in dL/dz = r (a - Y) (through the output's Jacobian for mse), r = loss_scale / m for the mean, and
    its rounding (and drift) is that of a and Y, r (|a| + |Y|) |J| per element, which stays as large when a - Y
    cancels to almost nothing once the model fits its batch. c = that natural scale's largest element over max|dz|,
    at least 1. a, Y, z: the reference's output activation, the targets, the output pre-activation; config: the
    twin's ModelConfig (loss, output, reduction, loss_scale)."""
    if config.loss in CANCELLING and CANCELLING[config.loss] is None:
        return 1.0
    a, Y = np.asarray(a), np.asarray(Y)
    h = np.abs(a) + np.abs(Y)  # (m, k)
    through = CANCELLING.get(config.loss)
    if through is not None:
        h = through(h, z, a, config.output)
    r = config.loss_scale / (len(Y) if config.reduction == "mean" else 1)
    natural, actual = r * float(h.max()), float(np.abs(np.asarray(dz)).max())
    if not (np.isfinite(natural) and np.isfinite(actual)) or natural == 0:  # 0: every f'(z) underflowed, nothing rounds
        return 1.0
    return max(1.0, natural / max(actual, natural * np.finfo(np.asarray(dz).dtype).eps))


def compare_all(pairs, tol, scratch=None, cancel=1.0):
    """compare() for every (phase, name, ours, ref) of a step, in order. The small tensors go through one
    vectorised pass (concatenated in float64, so their differences are exact); same rule, a fifth of the calls."""
    checks = [None] * len(pairs)
    small = [k for k, (_, _, a, b) in enumerate(pairs) if 0 < np.size(a) < SMALL and np.shape(a) == np.shape(b)]
    if small:
        ours = np.concatenate([np.asarray(pairs[k][2], dtype=np.float64).ravel(order="K") for k in small])
        ref = np.concatenate([np.asarray(pairs[k][3], dtype=np.float64).ravel(order="K") for k in small])
        starts = np.cumsum([0] + [np.size(pairs[k][2]) for k in small[:-1]])
        diff = np.abs(ours - ref)
        if np.isfinite(diff).all():  # else each is compared alone, which tells NaN from inf and side from side
            max_abs = np.maximum.reduceat(diff, starts)
            ref_max = np.maximum.reduceat(np.abs(ref), starts)
            ours_max = np.maximum.reduceat(np.abs(ours), starts)
            for j, k in enumerate(small):
                checks[k] = _decide(pairs[k][0], pairs[k][1], max_abs[j], ref_max[j], ours_max[j], tol, cancel)
    return [c or compare(*pairs[k], tol, scratch, cancel) for k, c in enumerate(checks)]


def worst(ours, ref, k=5):
    """The k elements with the largest absolute error, worst first: [Element], with rel_err = |ours - ref| /
    max(|ours|, |ref|) per element (0 where both are 0)."""
    ours, ref = np.atleast_1d(np.asarray(ours, dtype=np.float64)), np.atleast_1d(np.asarray(ref, dtype=np.float64))
    if ours.shape != ref.shape:
        return []
    with np.errstate(invalid="ignore"):
        err = np.abs(ours - ref).ravel()
    err = np.where(np.isnan(err), np.inf, err)  # NaN or inf-minus-inf ranks as the worst
    order = np.argsort(-err, kind="stable")[:k]
    rows = []
    for flat in order:
        idx = tuple(int(i) for i in np.unravel_index(flat, ours.shape))
        a, b = float(ours.ravel()[flat]), float(ref.ravel()[flat])
        denom = max(abs(a), abs(b))
        rel = 0.0 if denom == 0 else float(err[flat]) / denom if np.isfinite(denom) else np.inf
        rows.append(Element(list(idx), a, b, float(err[flat]), rel))
    return rows
