"""What an excess over the fixed tolerance means: rounding, the side's own rounding, or divergence.

The engine calls decide() only at a step where some tensor exceeded the fixed tolerance, with that step as a
StepContext, and applies the Decision it returns; the judge changes nothing of the run itself. The rule, in
order: drift or local; within the rounding bound of lockstep/judge/bounds.py; beyond it, the precision ladder
(np.longdouble in float64, float64 for float32). Its reasons and measurements are in docs/judging.md, section 2.
"""

import copy
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import SettingError, bounds_settings
from ..records import Divergence, Drift, NonFinite, NonFiniteAt, Note, Verdict
from ..sides.twin import Twin
from . import bounds
from .tolerance import TOLERANCES, compare, exceeds_value, worst

LONG = np.dtype(np.longdouble)
RAISES = np.finfo(LONG).eps < np.finfo(np.float64).eps  # longdouble is wider than float64 on this platform
STREAK = 3  # float32-only excesses in a row that make divergence
OWN = 1e-6  # the bound's own float64 arithmetic: a relative error of a few hundred ulps at most, far below this
SURVIVES = 1 / 8  # a difference that keeps more than this share of its size with 11 more bits is not rounding
ANOTHER_VALUE = (
    "float32 made a value float64 does not have: the difference is larger than the value itself, which no float32 "
    "rounding makes (an inf or NaN made finite does, e.g. by np.nan_to_num or a clip)"
)


@dataclass
class Local:
    """One step computed by both sides from one state: its (phase, name, ours, ref) pairs, fixed-tolerance Checks,
    the output gradient's cancellation factor, the twin and the side that computed it, the dtype and the batch in
    that dtype."""

    pairs: list
    checks: list
    cancel: float
    twin: object
    side: object
    dtype: str
    X: np.ndarray  # (m, d)
    Y: np.ndarray  # (m, k)
    E: dict | None = None  # the twin's rounding bound of every tensor, once within_bounds() computed it
    floors: dict = field(default_factory=dict)  # (phase, name): the threshold without the elements 0 by construction
    shared: dict = field(default_factory=dict)  # eval name: (the twin's value, its bound) from the side's state


@dataclass
class StepContext:
    """One step with an excess, as the judge sees it: the run's settings, the step, whether both sides started it
    from one state, the states they started from, the batch, the float32-only excesses in a row just before it,
    `rerun` (the engine's Rerun), which re-runs this step from those states in another precision, and the step's
    dropout masks, which every re-run applies again (None without dropout)."""

    cfg: object
    n_train: int
    step: int
    synced: bool
    pre: dict  # the side's saved state before the step
    twin_pre: dict | None  # the twin's saved optimizer state, for a side that keeps its own
    X: np.ndarray  # (m, d) in the run's dtype
    Y: np.ndarray  # (m, k)
    streak: tuple  # ((Divergence, scene), ...)
    label: str  # the side under test's name in messages
    rerun: object
    masks: dict | None = None  # {'layers.{i}.dropout.mask': (m, out_i)}

    def again(self, dtype):
        """This step re-run on both sides in `dtype` from the states before it, with its masks: a Local."""
        return self.rerun.both(dtype, self.pre, self.twin_pre, self.X, self.Y, self.masks)

    def exact_state(self):
        """The state the step started from, by torch's names: the side's saved copy (parameters, buffers, optimizer
        state), with the twin's optimizer state for a side that keeps its own."""
        state = self.pre["state"]
        if state is None:
            state = {
                name: {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in s.items()}
                for name, s in self.twin_pre["state"].items()
            }
        return dict(params=self.pre["params"], state=state, buffers=self.pre.get("buffers", {}))


@dataclass
class Decision:
    """What the judge decided about one step: 'go on', 're-anchor' (the twin takes the side's state before the next
    step) or 'stop'; what the engine records (a drift entry, an own-rounding note, the thresholds that raise the
    detection floor, by phase), what was found (a divergence and its scene, a non-finite value, a blow-up), an
    isolated float32-only excess for the streak, and `undrift`, the first step of a streak that made divergence
    (its re-anchored steps were no drift)."""

    action: str
    drift: Drift | None = None
    note: Note | None = None
    floor: dict = field(default_factory=dict)
    divergence: Divergence | None = None
    scene: dict | None = None
    non_finite: NonFinite | None = None
    blew_up: bool = False
    excess32: tuple | None = None  # (Divergence, scene)
    undrift: int | None = None


def unit(dtype):
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def spec(cfg, twin, n_train):
    """The settings lockstep/judge/bounds.py needs: the twin's ModelConfig (every model setting, the output
    resolved, n_train for the penalties' divisor), the optimizer, torch's resolved hyperparameters, and the training
    settings beyond them (the momentum form, the clipping)."""
    return dict(
        vars(twin.net.config),
        n_train=n_train,
        optimizer=cfg.optimizer,
        hyper=twin.hyper(),
        moments_from_zero=True,  # the run's optimizers build their state from zero (--adam-t0 only moves the counter)
        **bounds_settings(cfg),
    )


def finite(local):
    return all(c.ours_finite and c.ref_finite for c in local.checks)


def decide(ctx, local):
    """The Decision for one step with an excess (`local`: the step as both sides computed it)."""
    how = f"{local.dtype}, both sides from the same state"
    if not ctx.synced:  # the sides started apart: re-run from one state first
        local = ctx.again(local.dtype)
        how = f"{local.dtype} re-run of this step, both sides from the state of the side under test before it"
        if all(c.ok for c in local.checks):
            return Decision("re-anchor", Drift(ctx.step, "accumulated", max(c.max_rel for c in local.checks)))
    if not finite(local):
        return non_finite(ctx, local, how)
    verdicts = within_bounds(ctx, local)
    floor = bound_floor(verdicts, getattr(ctx.rerun, "zeros", {}), local.floors)
    if all(v.ok for v in verdicts):
        return Decision("re-anchor", Drift(ctx.step, "rounding", max(v.rel_err for v in verdicts)), floor=floor)
    if local.dtype == "float64":
        return replace(float64_verdict(ctx, local, verdicts, how), floor=floor)
    return replace(float32_verdict(ctx, local, verdicts, how), floor=floor)


def float32_verdict(ctx, local, verdicts, how):
    """Beyond float32's bound: float64, re-run from the same state, decides whether the maths is right; if it is,
    the float32 difference is tolerated when isolated and a loss of digits, divergence (float32_only) otherwise."""
    exact, reason = replay64(ctx)
    if exact is None:  # the float64 rung cannot run: the float32 bound alone decides
        note = f"not re-run in float64: {reason}"
        return Decision("stop", divergence=located(ctx.step, local, verdicts, how, note=note), scene=scene(ctx, local))
    how64 = "float64 re-run of this step, both sides from the state of the side under test before it"
    if not finite(exact):
        return non_finite(ctx, exact, how64)
    arbiter = arbitrate64(ctx, exact, how64)
    if arbiter.action == "stop":
        return arbiter
    # float64 agrees: the maths is right, and float32 arithmetic differs beyond float32's own rounding
    note = ANOTHER_VALUE if another_value(local, verdicts) else None
    found = (
        located(ctx.step, local, verdicts, how + "; float64 agrees", float32_only=True, note=note),
        scene(ctx, local),
    )
    if note:  # not a loss of digits, a value float64 does not have: float32_only at once, as a NaN or inf is
        return Decision("stop", divergence=found[0], scene=found[1])
    if len(ctx.streak) + 1 < STREAK:
        drift = Drift(ctx.step, "float32_only", max(v.rel_err for v in verdicts))
        return Decision("re-anchor", drift, excess32=found)
    first, first_scene = ctx.streak[0]  # the streak's first step is the divergence; its steps were no drift
    return Decision("stop", divergence=first, scene=first_scene, undrift=first.step)


def within_bounds(ctx, local):
    """Judge every tensor of `local` against the rounding bound; returns [Verdict] in plan order."""
    zeros = {}
    E = local.E = bounds.step_bounds(
        spec(ctx.cfg, local.twin, ctx.n_train),
        ctx.exact_state(),
        local.X,
        local.Y,
        local.twin.reference_tensors(),
        unit(local.dtype),
        zeros=zeros,
    )
    u_side = unit(local.side.computes_in)
    verdicts = []
    tol = TOLERANCES[local.dtype]
    shared = None
    for (phase, name, ours, ref), c in zip(local.pairs, local.checks):
        if c.ok:
            verdicts.append(Verdict(phase, name, c.max_rel, tol.for_phase(phase), True, "tolerance"))
            continue
        E_ref = E[phase, name]
        x = bounds.excess(ours, ref, E_ref * (u_side / unit(local.dtype)), E_ref)
        verdict = Verdict(phase, name, c.max_rel, c.max_rel / x if x else np.inf, x <= 1 + OWN, "rounding bound")
        if phase == "eval":  # from one shared state, the side's after the step: the eval pass's own rounding
            shared = local.shared = shared if shared is not None else eval_from_the_sides_state(ctx, local)
            verdict = eval_within_its_own_rounding(verdict, ours, *shared[name], u_side / unit(local.dtype), tol)
        verdicts.append(verdict)
        if (phase, name) in zeros:  # the floor of the elements whose gradient is not 0 by construction
            local.floors[phase, name] = kept_threshold(
                ours, ref, E_ref * (u_side / unit(local.dtype)), E_ref, c, ~zeros[phase, name]
            )
    return verdicts


def eval_from_the_sides_state(ctx, local):
    """{name: (the twin's eval-mode value, its bound)} of the eval pass from one shared state: the side's parameters
    and running statistics after the step, in a twin of the run's dtype, bounded by the eval pass's own rounding
    alone (those inputs exact). The update phase has judged how the side's parameters came about; charging the eval
    pass with every update's bound again (under Adam, about lr for each weight whose gradient is rounding) counts the
    parameters' rounding as the eval pass's."""
    side = local.side
    buffers = side.buffers()
    state = {**side.params(), **buffers} if buffers else side.params()
    twin = Twin(ctx.cfg, local.dtype, state, ctx.n_train)
    ref = dict(local.twin.reference_tensors())
    ref.update({name: np.asarray(v, np.float64) for name, v in state.items()})
    ref.update({f"eval:{name}": t.numpy().copy() for name, t in twin.evaluate(local.X).items()})
    exact = {k: np.zeros_like(v) for k, v in local.E.items() if k[0] == "update" or ".running_" in k[1]}
    u = unit(local.dtype)
    tiny, work = bounds.tiny_for(u), np.float64 if u >= bounds.U64 else LONG
    E = bounds.eval_bounds(spec(ctx.cfg, local.twin, ctx.n_train), local.X, ref, exact, u, tiny, work)
    return {name: (ref[f"eval:{name}"], E["eval", name]) for _, name in E}


def eval_within_its_own_rounding(verdict, ours, ref, E, scale_side, tol):
    """The eval tensor's Verdict from one shared state (eval_from_the_sides_state): whether the side's eval pass is
    within the eval pass's own rounding of the twin's from the same parameters and running statistics, with the
    threshold of that comparison. As at every step, the fixed tolerance first, and the bound only where it is
    exceeded: the excess that called the judge came from the parameters, not from the eval pass."""
    check = compare(verdict.phase, verdict.name, ours, ref, tol)
    if check.ok:
        return Verdict(verdict.phase, verdict.name, check.max_rel, tol.for_phase(verdict.phase), True, "tolerance")
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    x = bounds.excess(ours, ref, E * scale_side, E)
    scale = float(np.abs(ref).max(initial=0.0))
    rel = float(np.abs(ours - ref).max(initial=0.0)) / scale if scale > 0 else 0.0
    threshold = rel / x if x else (np.inf if rel else 0.0)
    return Verdict(verdict.phase, verdict.name, verdict.rel_err, threshold, x <= 1 + OWN, "rounding bound")


def kept_threshold(ours, ref, E_ours, E_ref, check, kept):
    """The threshold of a tensor's `kept` elements alone, as within_bounds measures a whole tensor's: their largest
    difference relative to the tensor's scale (check's), over their largest excess."""
    ours, ref = np.asarray(ours, np.float64)[kept], np.asarray(ref, np.float64)[kept]
    if not ours.size:
        return 0.0
    E_ours, E_ref = np.broadcast_to(E_ours, kept.shape)[kept], np.broadcast_to(E_ref, kept.shape)[kept]
    x = bounds.excess(ours, ref, E_ours, E_ref)
    scale = check.max_abs / check.max_rel if check.max_rel else np.inf
    return float(np.abs(ours - ref).max()) / scale / x if x else 0.0


def raised(ctx, X, Y):
    """The side re-run in np.longdouble from the state before the step: (side, None), or (None, why that rung cannot
    run). A rung that cannot run is the tool's limit, never the user's fault: the code may call a library function
    with no longdouble loop (a SciPy ufunc such as scipy.special.xlogy), or compute in float64 whatever it is given."""
    if not RAISES:
        return None, "np.longdouble is no wider than float64 on this platform"
    try:
        side = ctx.rerun.side(LONG, ctx.pre, X, Y, ctx.masks)
    except SettingError as e:  # the user's code raised (a CandidateError): that rung cannot run
        return None, f"{ctx.label} raised {e.cause or e} when given np.longdouble"
    if side is None:
        why = ctx.rerun.base.cannot_compute_in(LONG)
        return None, why or f"{ctx.label} cannot be re-run in extended precision"
    if np.finfo(side.computes_in).eps >= np.finfo(np.float64).eps:
        return None, f"{ctx.label} computed in {np.dtype(side.computes_in).name} when given np.longdouble"
    return side, None


def replay64(ctx):
    """A float32 step re-run in float64 from the same state: (Local, None), or (None, why that rung cannot run)."""
    try:
        return ctx.again("float64"), None
    except SettingError as e:  # the user's code raised when given float64
        return None, f"{ctx.label} raised {e.cause or e} when given float64"


def extended(ctx, local, verdicts):
    """The precision ladder: re-run the side in np.longdouble from the same state and hold it to the twin (the
    float64 `local`) within the twin's rounding plus the side's extended-precision rounding. Returns
    ([Verdict], None) or (None, the reason the side cannot be raised)."""
    side, reason = raised(ctx, local.X, local.Y)
    if side is None:
        return None, reason
    high, E = side.tensors(), local.E
    out = []
    for v, (phase, name, ours, ref) in zip(verdicts, local.pairs):
        if v.ok:
            out.append(v)
            continue
        ref, E_ref = local.shared.get(name, (ref, E[phase, name])) if phase == "eval" else (ref, E[phase, name])
        x = raised_excess(phase, high[phase, name], ours, ref, E_ref, local.dtype)
        out.append(Verdict(phase, name, v.rel_err, v.threshold, x <= 1 + OWN, "extended precision"))
    return out, None


def raised_excess(phase, high, ours, ref, E, dtype):
    """The ladder's rule for one tensor: the excess of the side's extended-precision value `high` over the twin's
    `ref`, allowed the twin's rounding E plus the side's own in extended precision (E shrunk by 2^11) or, if larger,
    1/8 of its float64 difference `ours - ref` (a maths difference keeps its size). 1 + OWN or less: rounding."""
    hi = np.asarray(high, dtype=LONG).astype(np.float64)
    before = np.abs(np.asarray(ours, dtype=np.float64) - ref)  # the float64 difference, element by element
    allowed = np.maximum(unit(LONG) / unit(dtype) * E, SURVIVES * before)  # the side's rounding, raised
    if phase == "loss":  # a loss returned as a Python float was rounded to float64 on the way out
        allowed = allowed + unit(np.float64) * abs(float(hi))
    return bounds.excess(hi, ref, allowed, E)


def float64_verdict(ctx, local, verdicts, how, quiet=False):
    """Beyond the float64 bound: the precision ladder decides between the side's own rounding and divergence.
    `quiet` (the float64 arbitration of a float32 run): an agreement is 'go on', without a note."""
    raised_verdicts, reason = extended(ctx, local, verdicts)
    if raised_verdicts is not None and all(v.ok for v in raised_verdicts):
        if quiet:
            return Decision("go on")
        worst_v = max((v for v in verdicts if not v.ok), key=lambda v: v.rel_err / v.threshold)
        note = Note(
            ctx.step,
            worst_v.phase,
            worst_v.name,
            worst_v.rel_err,
            [f"{v.phase} {v.name}" for v in verdicts if not v.ok],
        )
        return Decision("re-anchor", Drift(ctx.step, "own_rounding", worst_v.rel_err), note)
    final = raised_verdicts or verdicts
    note = None if raised_verdicts is not None else f"not re-run in extended precision: {reason}"
    return Decision("stop", divergence=located(ctx.step, local, final, how, note=note), scene=scene(ctx, local))


def arbitrate64(ctx, exact, how):
    """A float32 step arbitrated in float64 (exact: the step re-run in float64 from the same state): 'go on' when
    float64 agrees, within its bound or as its own rounding; 'stop' when it does not (the divergence is located
    there)."""
    verdicts = within_bounds(ctx, exact)
    if all(v.ok for v in verdicts):
        return Decision("go on")
    return float64_verdict(ctx, exact, verdicts, how, quiet=True)


def another_value(local, verdicts):
    """Whether a tensor beyond float32's bound differs by more than the reference's own size: not a loss of digits,
    a value float64 does not have (docs/judging.md, section 2)."""
    return any(
        not v.ok and exceeds_value(phase, ours, ref, local.cancel)
        for v, (phase, _, ours, ref) in zip(verdicts, local.pairs)
    )


def non_finite(ctx, local, how):
    """A NaN or inf from one shared state: a blow-up of training when both sides produce it at the same tensor;
    divergence when only one does (in float32, float32_only when float64 stays finite and agrees)."""
    ours, ref = first_non_finite(local, 2), first_non_finite(local, 3)
    same = ours is not None and ref is not None and (ours.phase, ours.tensor) == (ref.phase, ref.tensor)
    where = ours or ref
    nf = NonFinite(ctx.step, where.phase, where.tensor, ours, ref, bool(np.isfinite(local.X).all()), same)
    verdicts = [
        Verdict(c.phase, c.name, c.max_rel, TOLERANCES[local.dtype].for_phase(c.phase), c.ok, "tolerance")
        for c in local.checks
    ]
    if not same and leaves_domain(ctx, local):
        nf.domain = True  # the formula itself blew up, in one backend by rounding's luck
        same = True
    if same:
        nf.blow_up = located(ctx.step, local, verdicts, how)
        return Decision("stop", non_finite=nf, blew_up=True)
    float32_only = False
    if local.dtype == "float32":
        exact, _ = replay64(ctx)
        if exact is not None and finite(exact):
            arbiter = arbitrate64(ctx, exact, how)
            if arbiter.action == "stop":  # float64 disagrees too: a real bug, located there
                return arbiter
            if at_range_edge(ctx, local, exact):  # training reached float32's largest values: a blow-up
                nf.range = True
                nf.blow_up = located(ctx.step, local, verdicts, how + "; float64 agrees")
                return Decision("stop", non_finite=nf, blew_up=True)
            float32_only = True
    elif ours is not None and ref is None:
        nf.extended = finite_when_raised(ctx, where)
    found = located(
        ctx.step, local, verdicts, how + ("; float64 agrees" if float32_only else ""), float32_only=float32_only
    )
    return Decision("stop", divergence=found, scene=scene(ctx, local), non_finite=nf)


def at_range_edge(ctx, local, exact):
    """True when every value that is non-finite in one float32 side only has an exact value (the float64 re-run's
    reference) near float32's largest: |value| n max(1, loss_scale) >= 3.4e38, n the step's longest sum (the batch
    m, or a layer's width: a matmul's inner dimension, a layer norm's mean and variance over the features). A sum of
    n terms reaches n times its mean on its way to it (a variance's sum of squares is n var), and the loss scale's
    product reaches its factor, so whether a correct float32 formula overflows there depends on its order of
    operations (torch scales a summed loss before it divides by m; a layer norm's squares overflow before their
    mean is taken): training has blown up to the edge of float32's range, in both sides' maths; neither side's
    code is at fault. So does any step whose exact values anywhere reach that edge (a layer norm's variance of z ~
    1e27 is 1e54 exactly): float32 cannot hold the step, and where each side first overflows on its way is again
    its order of operations (torch's layer-norm backward multiplies dout by z before it normalises)."""
    top = float(np.finfo(np.float32).max)
    factor = max(len(local.X), *ctx.cfg.sizes) * max(1.0, float(ctx.cfg.loss_scale))
    found, near = False, True
    with np.errstate(all="ignore"):
        for (_, _, ours, ref), (_, _, _, ref64) in zip(local.pairs, exact.pairs):
            one_sided = np.isfinite(ours) != np.isfinite(ref)
            if np.any(one_sided):
                value = float(np.max(np.abs(np.asarray(ref64, dtype=np.float64)[np.asarray(one_sided)])))
                near = near and value * factor >= top
                found = True
        reached = any(
            float(np.max(np.abs(np.asarray(r, np.float64)), initial=0.0)) * factor >= top for *_, r in exact.pairs
        )
    return found and (near or reached)


def leaves_domain(ctx, local):
    """True when every value that is non-finite in one side only lies where rounding may take any correct
    implementation out of a formula's domain (bounds.step_bounds' domain: centered RMSprop's sqrt(s - a^2) of a
    difference that is 0 within rounding). Then it is a blow-up of the formula, as in both backends, not a
    difference between them."""
    domain = {}
    with np.errstate(all="ignore"):
        bounds.step_bounds(
            spec(ctx.cfg, local.twin, ctx.n_train),
            ctx.exact_state(),
            local.X,
            local.Y,
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


def finite_when_raised(ctx, where):
    """A NaN or inf in the float64 side only: re-run in extended precision, is that tensor finite there? (Then the
    maths is finite and the side's formula overflows or takes log(0) in float64: it matters, but it is rounding.)
    Returns {finite, value: the extended-precision value's largest magnitude}, or {skipped: why} when the side
    cannot be raised."""
    side, reason = raised(ctx, ctx.X, ctx.Y)
    if side is None:
        return dict(skipped=reason)
    value = np.asarray(side.tensors()[where.phase, where.tensor], dtype=LONG)
    return dict(finite=bool(np.isfinite(value).all()), value=float(np.abs(value).max()))


def located(step, local, verdicts, how, float32_only=False, note=None):
    """The Divergence: the first tensor that fails the judge, its 5 worst elements, who agreed before it, which
    phases agree, and every tensor's judgement of the step (for the step panel)."""
    k = next(i for i, v in enumerate(verdicts) if not v.ok)
    v, c, pair = verdicts[k], local.checks[k], local.pairs[k]
    phases = {}
    for x in verdicts:
        phases[x.phase] = "diverge" if not x.ok or phases.get(x.phase) == "diverge" else "agree"
    return Divergence(
        step=step,
        phase=v.phase,
        tensor=v.name,
        max_abs_err=c.max_abs,
        max_rel_err=c.max_rel,
        worst=worst(pair[2], pair[3]),
        agreeing_before=[x.name if x.phase == "loss" else f"{x.phase} {x.name}" for x in verdicts[:k]],
        checked=how,
        phases=phases,
        tensors=list(verdicts),
        float32_only=float32_only,
        note=note,
    )


def scene(ctx, local):
    """Copies of what the suspect finder and the tracer need at the divergence step: its tensor pairs, the twin's
    tensors, the state before it (by torch's names, and as the side saved it), the batch and the settings."""
    return dict(
        pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in local.pairs],
        checks=local.checks,
        ref=local.twin.reference_tensors(),
        pre=copy.deepcopy(ctx.exact_state()),
        X=np.array(local.X),
        Y=np.array(local.Y),
        masks=ctx.masks,
        side_pre=copy.deepcopy(ctx.pre),
        twin_pre=ctx.twin_pre,
        dtype=local.dtype,
        hyper=local.twin.hyper(),
    )


def first_non_finite(local, side):
    """The NonFiniteAt of the first non-finite tensor of side 2 (ours) or 3 (ref), in plan order, with the largest
    finite magnitude before it; None when all are finite."""
    attr = "ours_finite" if side == 2 else "ref_finite"
    for k, c in enumerate(local.checks):
        if not getattr(c, attr):
            before = [float(np.max(np.abs(p[side]))) for p in local.pairs[:k]]
            big = max(range(len(before)), key=before.__getitem__, default=None)
            return NonFiniteAt(c.phase, c.name, None if big is None else (local.pairs[big][1], before[big]))
    return None


def bound_floor(verdicts, zeros=None, kept=None):
    """{phase: the widest threshold} where the judge's rounding bound was wider than the tolerance: the run's
    detection floor is at least that. The update of a parameter whose gradient is 0 by construction (zeros,
    lockstep/sides/plan.zero_sum) is left out: its exact change is 0, and any step a side takes there is rounding's
    (under Adam, of about lr), which holds nothing to detect. So are the weights of a constant input feature before a
    batch norm (kept: {(phase, name): the threshold of the other elements}, bounds.step_bounds' zeros)."""
    floor = {}
    for v in verdicts:
        if (zeros or {}).get((v.phase, v.name), ()) is None:
            continue
        threshold = (kept or {}).get((v.phase, v.name), v.threshold)
        if v.how != "tolerance" and np.isfinite(threshold):
            floor[v.phase] = max(floor.get(v.phase, 0.0), threshold)
    return floor
