"""What an excess over the fixed tolerance means: rounding, the side's own rounding, or divergence.

The engine (lockstep/engine.py) calls judge() only at a step where some tensor exceeded the fixed tolerance of
lockstep/judge/tolerance.py, so an agreeing run pays nothing for it. The rule, and why:

  From one shared state, two correct implementations of the same maths differ only by rounding, and the
  rounding of every tensor is bounded by the magnitudes of the terms that produced it: lockstep/judge/bounds.py
  computes that bound E, element by element, from the twin's own tensors (a running error analysis). A
  difference |ours - ref| <= E_ours + E_ref can be rounding; a larger one cannot, unless the side under test
  computes the same maths by a less stable formula than torch's (a textbook loss that takes log(1 - a) where a
  sigmoid saturates). That case is told apart by precision: re-run in extended precision (11 more bits), the
  side's own rounding shrinks, by 2^11 when it is a smooth function of the roundings and by 25-6000x where a
  formula like log(1 - 1/(1 + e^-z)) rounds its argument to a few ulps (measured), and a maths difference stays
  as large. So a difference is divergence only when it survives there: when the extended-precision side is
  beyond the twin's own rounding and keeps more than SURVIVES = 1/8 of the float64 difference.

A float32 run is judged first with float32's bound; beyond it, both sides are re-run in float64 and judged as
above. When float64 agrees, the float32 difference is the side's float32 arithmetic: it counts as divergence
(float32_only) only where it matters at float32's own scale: at 3 steps in a row, or as a NaN or inf.
"""

import copy
from dataclasses import dataclass

import numpy as np

from ..config import SettingError, bounds_settings
from . import bounds
from .tolerance import TOLERANCES, exceeds_value, worst

LONG = np.dtype(np.longdouble)
RAISES = np.finfo(LONG).eps < np.finfo(np.float64).eps  # longdouble is wider than float64 on this platform
STREAK = 3  # float32-only excesses in a row that make divergence
OWN = 1e-6  # the bound's own float64 arithmetic: a relative error of a few hundred ulps at most, far below this
SURVIVES = 1 / 8  # a difference that keeps more than this share of its size with 11 more bits is not rounding


@dataclass
class Local:
    """One step computed by both sides from one state: its (phase, name, ours, ref) pairs, fixed-tolerance
    Checks, the output gradient's cancellation factor, the twin and the side that computed it, and the dtype."""

    pairs: list
    checks: list
    cancel: float
    twin: object
    side: object
    dtype: str
    E: dict | None = None  # the twin's rounding bound of every tensor, once within_bounds() computed it


@dataclass
class Verdict:
    """One tensor's judgement: its relative error, the relative difference it is held to (the tolerance, or
    the rounding bound where the judge ran), and whether it agrees."""

    phase: str
    name: str
    rel_err: float
    threshold: float
    ok: bool
    how: str  # 'tolerance', 'rounding bound', 'extended precision'


def unit(dtype):
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def spec(cfg, twin, n_train):
    """The settings lockstep/judge/bounds.py needs: the twin's ModelConfig (every model setting, the output
    resolved, n_train for the penalties' divisor), the optimizer, torch's resolved hyperparameters, and the training
    settings beyond them (the momentum form, the clipping)."""
    return dict(
        vars(twin.net.config), n_train=n_train, optimizer=cfg.optimizer, hyper=twin.hyper(), **bounds_settings(cfg)
    )


def exact_state(pre, twin_pre):
    """The state the step started from, by torch's names: the side's saved copy, with the twin's optimizer
    state for a side that keeps its own."""
    state = pre["state"]
    if state is None:
        state = {
            name: {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in s.items()}
            for name, s in twin_pre["state"].items()
        }
    return dict(params=pre["params"], state=state)


def within_bounds(run, local, pre, twin_pre, X, Y):
    """Judge every tensor of `local` against the rounding bound; returns [Verdict] in plan order."""
    E = local.E = bounds.step_bounds(
        spec(run.cfg, local.twin, run.n_train),
        exact_state(pre, twin_pre),
        X,
        Y,
        local.twin.reference_tensors(),
        unit(local.dtype),
    )
    u_side = unit(local.side.computes_in)
    verdicts = []
    tol = TOLERANCES[local.dtype]
    for (phase, name, ours, ref), c in zip(local.pairs, local.checks):
        if c.ok:
            verdicts.append(Verdict(phase, name, c.max_rel, tol.for_phase(phase), True, "tolerance"))
            continue
        E_ref = E[phase, name]
        x = bounds.excess(ours, ref, E_ref * (u_side / unit(local.dtype)), E_ref)
        verdicts.append(Verdict(phase, name, c.max_rel, c.max_rel / x if x else np.inf, x <= 1 + OWN, "rounding bound"))
    return verdicts


def raised(run, pre, X, Y):
    """The side re-run in np.longdouble from the state `pre`: (side, None), or (None, why that rung cannot run). A
    rung that cannot run is the tool's limit, never the user's fault: the code may call a library function with no
    longdouble loop (a SciPy ufunc such as scipy.special.xlogy), or compute in float64 whatever it is given."""
    if not RAISES:
        return None, "np.longdouble is no wider than float64 on this platform"
    side = run.side.at(LONG)
    if side is None:
        return None, f"{run.side.label} cannot be re-run in extended precision"
    side.restore(pre)
    try:
        side.step(X.astype(LONG), Y.astype(LONG))
    except SettingError as e:  # the user's code raised (a CandidateError): that rung cannot run
        return None, f"{run.side.label} raised {e.cause or e} when given np.longdouble"
    if np.finfo(side.computes_in).eps >= np.finfo(np.float64).eps:
        return None, f"{run.side.label} computed in {np.dtype(side.computes_in).name} when given np.longdouble"
    return side, None


def extended(run, local, verdicts, pre, X, Y):
    """The precision ladder: re-run the side in np.longdouble from the same state and hold it to the twin (the
    float64 `local`) within the twin's rounding plus the side's extended-precision rounding. Returns
    ([Verdict], None) or (None, the reason the side cannot be raised)."""
    side, reason = raised(run, pre, X, Y)
    if side is None:
        return None, reason
    high, E = side.tensors(), local.E
    shrink = unit(LONG) / unit(local.dtype)
    out = []
    for v, (phase, name, ours, ref) in zip(verdicts, local.pairs):
        if v.ok:
            out.append(v)
            continue
        hi = np.asarray(high[phase, name], dtype=LONG).astype(np.float64)
        before = np.abs(np.asarray(ours, dtype=np.float64) - ref)  # the float64 difference, element by element
        allowed = np.maximum(shrink * E[phase, name], SURVIVES * before)  # the side's rounding in extended precision
        if phase == "loss":  # a loss returned as a Python float was rounded to float64 on the way out
            allowed = allowed + unit(np.float64) * abs(float(hi))
        x = bounds.excess(hi, ref, allowed, E[phase, name])
        out.append(Verdict(phase, name, v.rel_err, v.threshold, x <= 1 + OWN, "extended precision"))
    return out, None


def located(step, local, verdicts, how, float32_only=False, note=None):
    """The first_divergence record: the first tensor that fails the judge, its 5 worst elements, who agreed
    before it, which phases agree, and the per-tensor errors of the step (for the step panel)."""
    k = next(i for i, v in enumerate(verdicts) if not v.ok)
    v, c, pair = verdicts[k], local.checks[k], local.pairs[k]
    rows = worst(pair[2], pair[3])
    head = rows[0] if rows else dict(index=[], handmade=None, reference=None, abs_err=None, rel_err=None)
    phases = {}
    for x in verdicts:
        phases[x.phase] = "diverge" if not x.ok or phases.get(x.phase) == "diverge" else "agree"
    return dict(
        step=step,
        phase=v.phase,
        tensor=v.name,
        index=head["index"],
        handmade=head["handmade"],
        reference=head["reference"],
        abs_err=head["abs_err"],
        rel_err=head["rel_err"],
        max_abs_err=c.max_abs,
        max_rel_err=c.max_rel,
        worst=rows,
        agreeing_before=[x.name if x.phase == "loss" else f"{x.phase} {x.name}" for x in verdicts[:k]],
        checked=how,
        float32_only=float32_only,
        phases=phases,
        note=note,
        tensors=[
            dict(phase=x.phase, tensor=x.name, rel_err=x.rel_err, threshold=x.threshold, ok=x.ok, judged_by=x.how)
            for x in verdicts
        ],
    )


def scene(local, pre, twin_pre, X, Y):
    """Copies of what the suspect finder and the tracer need at the divergence step: its tensor pairs, the twin's
    tensors, the state before it (by torch's names, and as the side saved it), the batch and the settings."""
    return dict(
        pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in local.pairs],
        checks=local.checks,
        ref=local.twin.reference_tensors(),
        pre=copy.deepcopy(exact_state(pre, twin_pre)),
        X=np.array(X),
        Y=np.array(Y),
        side_pre=copy.deepcopy(pre),
        twin_pre=twin_pre,
        dtype=local.dtype,
        hyper=local.twin.hyper(),
    )


def first_non_finite(local, side):
    """(phase, name) of the first non-finite tensor of side 2 (ours) or 3 (ref), in plan order, with the largest
    finite magnitude before it; None when all are finite."""
    attr = "ours_finite" if side == 2 else "ref_finite"
    for k, c in enumerate(local.checks):
        if not getattr(c, attr):
            before = [float(np.max(np.abs(p[side]))) for p in local.pairs[:k]]
            big = max(range(len(before)), key=before.__getitem__, default=None)
            return dict(
                phase=c.phase,
                tensor=c.name,
                largest_before=None if big is None else dict(tensor=local.pairs[big][1], value=before[big]),
            )
    return None


def judge(run, local, synced, pre, twin_pre, X, Y, streak, out):
    """Decide one step with an excess; fills `out` and returns 'stop', 're-anchor' or 'go on'."""
    step, dtype = run.step, local.dtype
    how = f"{dtype}, both sides from the same state"
    if not synced:  # the sides started apart: re-run from one state first
        local = run.replay(dtype, pre, twin_pre, X, Y)
        how = f"{dtype} re-run of this step, both sides from the state of the side under test before it"
        if all(c.ok for c in local.checks):
            streak.clear()
            out.drift.append(dict(step=step, kind="accumulated", local_rel_err=max(c.max_rel for c in local.checks)))
            return "re-anchor"
    if not all(c.ours_finite and c.ref_finite for c in local.checks):
        return non_finite(run, local, how, pre, twin_pre, X, Y, streak, out)
    verdicts = within_bounds(run, local, pre, twin_pre, X, Y)
    bound_floor(out, verdicts)
    if all(v.ok for v in verdicts):
        streak.clear()
        out.drift.append(dict(step=step, kind="rounding", local_rel_err=max(v.rel_err for v in verdicts)))
        return "re-anchor"
    if dtype == "float64":
        return float64_verdict(run, local, verdicts, how, pre, twin_pre, X, Y, streak, out)
    exact, reason = replay64(run, pre, twin_pre, X, Y)
    if exact is None:  # the float64 rung cannot run: the float32 bound alone decides
        out.first_divergence = located(step, local, verdicts, how, note=f"not re-run in float64: {reason}")
        out.scene = scene(local, pre, twin_pre, X, Y)
        return "stop"
    how64 = "float64 re-run of this step, both sides from the state of the side under test before it"
    if not all(c.ours_finite and c.ref_finite for c in exact.checks):
        return non_finite(run, exact, how64, pre, twin_pre, X, Y, streak, out)
    if arbitrate64(run, exact, how64, pre, twin_pre, X, Y, streak, out) == "stop":
        return "stop"
    # float64 agrees: the maths is right, and float32 arithmetic differs beyond float32's own rounding
    note = ANOTHER_VALUE if another_value(local, verdicts) else None
    found = located(step, local, verdicts, how + "; float64 agrees", float32_only=True, note=note)
    if note:  # not a loss of digits, a value float64 does not have: float32_only at once, as a NaN or inf is
        out.first_divergence, out.scene = found, scene(local, pre, twin_pre, X, Y)
        return "stop"
    streak.append((found, scene(local, pre, twin_pre, X, Y)))
    if len(streak) < STREAK:
        out.drift.append(dict(step=step, kind="float32_only", local_rel_err=max(v.rel_err for v in verdicts)))
        return "re-anchor"
    out.first_divergence, out.scene = streak[0]
    first = out.first_divergence["step"]  # the streak's steps were no drift
    out.drift = [d for d in out.drift if d["step"] < first]
    for s in out.steps[first:]:
        s["drift"] = False
    return "stop"


def replay64(run, pre, twin_pre, X, Y):
    """A float32 step re-run in float64 from the same state: (Local, None), or (None, why that rung cannot run)."""
    try:
        return run.replay("float64", pre, twin_pre, X, Y), None
    except SettingError as e:  # the user's code raised when given float64
        return None, f"{run.side.label} raised {e.cause or e} when given float64"


ANOTHER_VALUE = (
    "float32 made a value float64 does not have: the difference is larger than the value itself, which no float32 "
    "rounding makes (an inf or NaN made finite does, e.g. by np.nan_to_num or a clip)"
)


def another_value(local, verdicts):
    """Whether a tensor beyond float32's bound differs by more than the reference's own size. Rounding loses digits:
    however unstable the formula, a value that only lost its digits is off by at most about its own size (a
    cancellation to 0 or to noise, a divisor rounded one step down). More than that takes an overflow or a
    log or division at 0, and a finite number put in place of the inf or NaN (np.nan_to_num's -3.4e38 for
    log(0) makes a loss of 3.4e37 where torch has 8)."""
    return any(
        not v.ok and exceeds_value(phase, ours, ref, local.cancel)
        for v, (phase, _, ours, ref) in zip(verdicts, local.pairs)
    )


def float64_verdict(run, local, verdicts, how, pre, twin_pre, X, Y, streak, out, quiet=False):
    """Beyond the float64 bound: the precision ladder decides between the side's own rounding and divergence.
    `quiet` (the float64 arbitration of a float32 run): an agreement returns 'go on' without a note."""
    raised, reason = extended(run, local, verdicts, pre, X, Y)
    if raised is not None and all(v.ok for v in raised):
        if not quiet:
            streak.clear()
            worst_v = max((v for v in verdicts if not v.ok), key=lambda v: v.rel_err / v.threshold)
            out.notes.append(
                dict(
                    step=run.step,
                    phase=worst_v.phase,
                    tensor=worst_v.name,
                    rel_err=worst_v.rel_err,
                    tensors=[f"{v.phase} {v.name}" for v in verdicts if not v.ok],
                )
            )
            out.drift.append(dict(step=run.step, kind="own_rounding", local_rel_err=worst_v.rel_err))
            return "re-anchor"
        return "go on"
    final = raised or verdicts
    note = None if raised is not None else f"not re-run in extended precision: {reason}"
    out.first_divergence = located(run.step, local, final, how, note=note)
    out.scene = scene(local, pre, twin_pre, X, Y)
    return "stop"


def arbitrate64(run, exact, how, pre, twin_pre, X, Y, streak, out):
    """A float32 step arbitrated in float64 (exact: the step re-run in float64 from the same state): 'go on' when
    float64 agrees, within its bound or as its own rounding; 'stop' when it does not (the divergence is located
    there)."""
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    verdicts = within_bounds(run, exact, pre, twin_pre, X64, Y64)
    if all(v.ok for v in verdicts):
        return "go on"
    return float64_verdict(run, exact, verdicts, how, pre, twin_pre, X64, Y64, streak, out, quiet=True)


def non_finite(run, local, how, pre, twin_pre, X, Y, streak, out):
    """A NaN or inf from one shared state: a blow-up of training when both sides produce it at the same tensor;
    divergence when only one does (in float32, float32_only when float64 stays finite and agrees)."""
    ours, ref = first_non_finite(local, 2), first_non_finite(local, 3)
    same = ours is not None and ref is not None and (ours["phase"], ours["tensor"]) == (ref["phase"], ref["tensor"])
    where = ours or ref
    out.non_finite = dict(
        step=run.step,
        phase=where["phase"],
        tensor=where["tensor"],
        handmade=ours,
        reference=ref,
        inputs_finite=bool(np.isfinite(X).all()),
        same_place=same,
    )
    verdicts = [
        Verdict(c.phase, c.name, c.max_rel, TOLERANCES[local.dtype].for_phase(c.phase), c.ok, "tolerance")
        for c in local.checks
    ]
    if not same and leaves_domain(run, local, pre, twin_pre, X, Y):
        out.non_finite["domain"] = True  # the formula itself blew up, in one backend by rounding's luck
        same = True
    if same:
        out.blew_up = True
        out.first_divergence = None
        out.non_finite["first_divergence"] = located(run.step, local, verdicts, how)
        return "stop"
    float32_only = False
    if local.dtype == "float32":
        exact, _ = replay64(run, pre, twin_pre, X, Y)
        if exact is not None and all(c.ours_finite and c.ref_finite for c in exact.checks):
            float32_only = arbitrate64(run, exact, how, pre, twin_pre, X, Y, streak, out) == "go on"
            if not float32_only:
                out.non_finite = None  # float64 disagrees too: a real bug, located there
                return "stop"
    elif ours is not None and ref is None:
        out.non_finite["extended"] = finite_when_raised(run, where, pre, X, Y)
    out.first_divergence = located(
        run.step, local, verdicts, how + ("; float64 agrees" if float32_only else ""), float32_only=float32_only
    )
    out.scene = scene(local, pre, twin_pre, X, Y)
    return "stop"


def leaves_domain(run, local, pre, twin_pre, X, Y):
    """True when every value that is non-finite in one side only lies where rounding may take any correct
    implementation out of a formula's domain (bounds.step_bounds' domain: centered RMSprop's sqrt(s - a^2) of a
    difference that is 0 within rounding). Then it is a blow-up of the formula, as in both backends, not a
    difference between them."""
    domain = {}
    with np.errstate(all="ignore"):
        bounds.step_bounds(
            spec(run.cfg, local.twin, run.n_train),
            exact_state(pre, twin_pre),
            X,
            Y,
            local.twin.reference_tensors(),
            unit(local.dtype),
            domain,
        )
    found = False
    for phase, name, ours, ref in local.pairs:
        one_sided = np.isfinite(ours) != np.isfinite(ref)
        if one_sided.any():
            mask = domain.get((phase, name))
            if mask is None or not mask[one_sided].all():
                return False
            found = True
    return found


def finite_when_raised(run, where, pre, X, Y):
    """A NaN or inf in the float64 side only: re-run in extended precision, is that tensor finite there? (Then the
    maths is finite and the side's formula overflows or takes log(0) in float64: it matters, but it is rounding.)
    Returns {finite, value: the extended-precision value's largest magnitude}, or {skipped: why} when the side
    cannot be raised."""
    side, reason = raised(run, pre, X, Y)
    if side is None:
        return dict(skipped=reason)
    value = np.asarray(side.tensors()[where["phase"], where["tensor"]], dtype=LONG)
    return dict(finite=bool(np.isfinite(value).all()), value=float(np.abs(value).max()))


def bound_floor(out, verdicts):
    """Raise the run's detection floor where the judge's rounding bound was wider than the tolerance."""
    for v in verdicts:
        if v.how != "tolerance" and np.isfinite(v.threshold):
            out.floor[v.phase] = max(out.floor.get(v.phase, 0.0), v.threshold)
