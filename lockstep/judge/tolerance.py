"""The one comparison rule. Tests, compare.py and the benchmark all call compare(); no other tolerance exists.

compare() and compare_all() apply it; _decide() states it. A pair of tensors agrees when
    max|ours - ref| <= rtol * scale,   scale = max|ref|
(or max|ours| where that is larger than the error itself, e.g. when the reference is all zeros).
The error is measured against the tensor's largest magnitude, not element by element, because single elements
of a gradient can be sums that cancel to nearly zero, where an elementwise relative error means nothing.
For the scalar loss the scale is max(|loss|, 1): a loss below 1 is a difference of terms of size 1 or more
(log-sum-exp minus a logit), and it carries their rounding, not its own. Likewise every backward tensor is
linear in the output gradient dL/dz = (a - Y)/m, which cancels to almost nothing once a model fits its batch,
while its rounding stays that of a and Y: so backward tensors, and the optimizer state that sums them, are
measured against their largest magnitude times c = ((max|a| + max|Y|) / m) / max|dL/dz| (at least 1), the
output gradient's cancellation factor.
A tensor of zeros in both backends has error 0 (never 0/0 = NaN). A non-finite value never agrees.

Tolerances, by dtype (eps = machine epsilon: 2.2e-16 in float64, 1.2e-7 in float32):

  float64  loss 1e-12, tensors 1e-10. torch's CPU kernels use fused multiply-add and other summation orders,
           so one step agrees to about 1e-15, and after thousands of steps to about 1e-12 (README, measured).
  float32  loss 2^10 eps = 1.2e-4, tensors 2^12 eps = 4.9e-4. One float32 step from the same state differs by
           about 150 eps at the median and 1,000 eps at the 99th percentile.

What happens after an excess (re-running the step from one state, float64 as the arbiter) is the engine's
business: lockstep/engine.py.
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    loss: float  # relative, on the scalar loss
    tensor: float  # relative to the tensor's largest magnitude

    def for_phase(self, phase):
        return self.loss if phase == "loss" else self.tensor


EPS32 = float(np.finfo(np.float32).eps)
TOLERANCES = {
    "float64": Tolerance(loss=1e-12, tensor=1e-10),
    "float32": Tolerance(loss=2**10 * EPS32, tensor=2**12 * EPS32),
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


def cancellation(a, Y, dz):
    """c for a step, from the reference's output activation a (m, k), targets Y (m, k) and dL/dz of the output."""
    a, Y, dz = np.abs(np.asarray(a)), np.abs(np.asarray(Y)), np.abs(np.asarray(dz))
    natural = (float(a.max()) + float(Y.max())) / len(Y)
    actual = float(dz.max())
    if not (np.isfinite(natural) and np.isfinite(actual)):
        return 1.0
    return max(1.0, natural / max(actual, natural * np.finfo(dz.dtype).eps))


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
    """The k elements with the largest absolute error, worst first: [{index, handmade, reference, abs_err,
    rel_err}], with rel_err = |ours - ref| / max(|ours|, |ref|) per element (0 where both are 0)."""
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
        rows.append(dict(index=list(idx), handmade=a, reference=b, abs_err=float(err[flat]), rel_err=rel))
    return rows
