"""Findings: what the measurements mean. Each is a function of the run (a Context) that returns a Finding (its code,
a message, and the measured facts behind it) or None. FINDINGS lists them in the order they are
reported; adding a finding is a function and a row there.

  local_error     the divergence persists from one shared state beyond rounding: this step makes it (a real bug)
  float32_only    float64 agrees from the same state, but float32 arithmetic differs where it matters
  loss_only       at the divergence step only the loss value differs; every gradient and update agrees
  convention      the loss (and the gradients) differ by one constant factor, or match a course's convention
                  (findings/conventions.py: clipped probabilities, a momentum form, Adam's counter): the flag
  own_rounding    a difference beyond torch's rounding that vanished in extended precision: the side's own rounding
  rounding_drift  the twins drifted apart by rounding and were re-anchored; each such step was rounding
  zero_gradient   parameters whose gradient is 0 by construction (a bias before a batch norm): what is compared there
  non_finite      where the first NaN or inf appeared, in which backend, and what fed it (a blow-up, in both)
  suspect         the catalogue bug whose prediction best explains the divergence, with the measured evidence
  unmatched       no catalogue prediction fits; what was measured instead
  prior_plateau   the model sits at the cost of predicting each class's frequency: the setup, not the backprop
  gradcheck       finite differences on the first batch, a third opinion independent of torch
  bug_not_exposed a planted bug that changed nothing measurable under the settings given
"""

from dataclasses import dataclass

import numpy as np

from ..judge.tolerance import TOLERANCES
from ..records import Finding
from ..sides.plan import zero_sum
from . import conventions
from .bugs import CATALOGUE
from .signatures import Scene, ratio_fit

SUSPECT_FIT = {"float64": 1e-6, "float32": 1e-3}  # a prediction's residual that counts as a match


@dataclass
class Context:
    outcome: object  # engine.Outcome
    cfg: object  # config.Config
    side: object  # the side under test
    y_train: np.ndarray  # the training labels
    n_classes: int
    gradcheck: dict | None = None  # lockstep/judge/gradcheck.py's result, when asked for


def what(phase, tensor):
    return "the loss" if phase == "loss" else f"{phase} {tensor}"


def _when(step):
    return "at the very first step" if step == 0 else f"at step {step}"


def local_error(ctx):
    d, out = ctx.outcome.first_divergence, ctx.outcome
    if not d or out.non_finite and not d.float32_only:
        return None
    dtype = out.scene["dtype"] if out.scene else ctx.cfg.dtype
    facts = dict(
        step=d.step, rel_err=d.max_rel_err, times_tolerance=d.max_rel_err / TOLERANCES[dtype].for_phase(d.phase)
    )
    if d.float32_only:
        off = (
            f"is {d.head.side:.3g} where the twin has {d.head.ref:.3g} {_when(d.step)}: {d.note}"
            if d.note
            else f"is off by {d.max_rel_err:.2g}, beyond what float32 rounding of the same maths allows, "
            f"{_when(d.step)} and at the next steps (or as a NaN or inf)"
        )
        return Finding(
            "float32_only",
            f"A float32 problem, not a maths error: from one shared state the side under test and "
            f"the twin agree in float64, but in float32 {what(d.phase, d.tensor)} {off}. The code loses "
            f"precision in float32 (cancellation, log of 0, a poor summation order, an epsilon too small for "
            f"float32, a lower-precision copy).",
            facts=facts,
        )
    ladder = (
        " Re-run in extended precision (np.longdouble) it still differs, so this is not the side's own rounding."
        if d.note is None
        else f" ({d.note}.)"
    )
    return Finding(
        "local_error",
        f"A real bug, not rounding: {what(d.phase, d.tensor)} {off_by(d, out.scene)} {_when(d.step)}, beyond the "
        f"rounding that this step's own terms allow, with "
        f"both sides starting the step from one state ({d.checked}).{ladder} This step makes "
        f"the error; --resync finds it at the same step.",
        facts=facts,
    )


def off_by(d, scene):
    """'is off by 0.12 relative', or, for a tensor of another shape than the reference's, what the shapes are."""
    pair = next((p for p in (scene or {}).get("pairs", []) if (p[0], p[1]) == (d.phase, d.tensor)), None)
    if pair is not None and np.shape(pair[2]) != np.shape(pair[3]):
        return f"has shape {np.shape(pair[2])} where the reference's is {np.shape(pair[3])}"
    return f"is off by {d.max_rel_err:.2g} relative"


def loss_only(ctx):
    d = ctx.outcome.first_divergence
    if not d or d.float32_only or d.phase != "loss":
        return None
    others = {p: v for p, v in d.phases.items() if p != "loss"}
    if not others or any(v != "agree" for v in others.values()):
        return None
    grads = "every gradient agrees" if "backward" in others else "every updated parameter agrees"
    return Finding(
        "loss_only",
        f"Only the loss value differs; {grads} ({', '.join(others)} all agree at step {d.step}). "
        f"The backprop is right: the loss you return is computed differently from the one your "
        f"gradients belong to.",
        facts=dict(step=d.step),
    )


def convention(ctx):
    """One constant factor between the side's loss and the reference's (and maybe its gradients): a convention
    (sum or mean, a scale, an l2 divisor) rather than a backprop bug; name the flag that matches it."""
    out, d = ctx.outcome, ctx.outcome.first_divergence
    if not d or not out.scene or d.float32_only:
        return None
    course = conventions.named(ctx, SUSPECT_FIT)  # a course's convention that a flag follows
    if course:
        return Finding(
            "convention",
            f"{course['text']}, at step {d.step} ({d.phase} {d.tensor}): a convention, not a bug. Rerun with "
            f"{course['flag']}.",
            facts=dict(factor=None, fix=course["flag"]),
        )
    pairs = {(ph, name): (a, b) for ph, name, a, b in out.scene["pairs"]}
    ours, ref = pairs.get(("loss", "loss"), (None, None))
    if ours is None or not ref or not np.isfinite(ours):
        return None
    r_loss = float(ours) / float(ref)
    if r_loss == 0:  # a loss of exactly 0 is no convention's factor
        return None
    grads = [(a, b) for (ph, _), (a, b) in pairs.items() if ph == "backward"]
    r_grads = [ratio_fit(a, b) for a, b in grads]
    same = grads and all(r is not None and res < 1e-6 and abs(r / r_loss - 1) < 1e-6 for r, res in r_grads)
    agree = d.phases.get("backward") == "agree"
    if abs(r_loss - 1) < 1e-9 or not (same or agree):
        return None
    m = len(out.scene["X"])
    if abs(r_loss - m) < 1e-6 * m:
        fix = "--reduction sum" if ctx.cfg.reduction == "mean" else None
    elif abs(r_loss * m - 1) < 1e-6:
        fix = "--reduction mean" if ctx.cfg.reduction == "sum" else None
    else:
        fix = f"--loss-scale {r_loss * ctx.cfg.loss_scale:.6g}"
    tail = (
        f"with the gradients {r_loss:.4g}x too: rerun with {fix}"
        if same and fix
        else f"with the gradients {r_loss:.4g}x too"
        if same
        else "while every gradient agrees: the value you return uses another convention than your gradients"
    )
    return Finding(
        "convention",
        f"Your loss is {r_loss:.4g}x the reference's at step {d.step}, {tail}. A convention, not a backprop bug.",
        facts=dict(factor=r_loss, fix=fix if same else None),
    )


def own_rounding(ctx):
    notes = ctx.outcome.notes
    if not notes:
        return None
    worst = max(notes, key=lambda n: n.rel_err)
    return Finding(
        "own_rounding",
        f"At {len(notes)} step(s) the side under test differed from torch beyond float64 rounding "
        f"of torch's formulas (largest: {what(worst.phase, worst.tensor)}, {worst.rel_err:.2g} "
        f"relative, step {worst.step}), but re-run in extended precision it agrees with torch "
        f"within torch's own rounding: the side's float64 arithmetic rounds more than torch's (for "
        f"example a textbook loss formula that loses digits where a sigmoid saturates). Not a bug.",
        facts=dict(steps=[n.step for n in notes], rel_err=worst.rel_err),
    )


def rounding_drift(ctx):
    drift = [d for d in ctx.outcome.drift if d.kind != "own_rounding"]
    if not drift:
        return None
    kinds = {k: sum(d.kind == k for d in drift) for k in ("accumulated", "rounding", "float32_only")}
    why = [
        f"{kinds['accumulated']}x accumulated rounding that vanished when the step was re-run from one state"
        if kinds["accumulated"]
        else "",
        f"{kinds['rounding']}x a difference within the rounding that the step's own terms allow (saturated "
        "units, relu inputs next to 0, tiny derivatives)"
        if kinds["rounding"]
        else "",
        f"{kinds['float32_only']}x an isolated float32 difference" if kinds["float32_only"] else "",
    ]
    return Finding(
        "rounding_drift",
        f"Rounding drift, not divergence: the twins' difference crossed the {ctx.cfg.dtype} tolerance "
        f"at {len(drift)} step(s): "
        + "; ".join(w for w in why if w)
        + ". The twin was re-anchored to the state of the side under test there.",
        facts=dict(
            count=len(drift),
            kinds=kinds,
            steps=[d.step for d in drift],
            max_local_rel_err=max(d.local_rel_err for d in drift),
        ),
    )


def zero_gradient(ctx):
    """The parameters whose exact gradient is 0 (lockstep/sides/plan.zero_sum), when the run had to judge or could
    not vouch: what is measured there, and why it costs the judge's time or the float32 floor."""
    zeros = [name for (phase, name), v in zero_sum(ctx.cfg).items() if phase == "update"]
    out = ctx.outcome
    if not zeros or not (out.drift or out.verdict == "inconclusive"):
        return None
    adaptive = ctx.cfg.optimizer != "sgd"
    step = (
        f"{ctx.cfg.optimizer} divides that rounding by its own square root, into a step of up to about lr in a "
        "direction rounding chose"
        if adaptive
        else "sgd moves them by lr times that rounding"
    )
    return Finding(
        "zero_gradient",
        f"The gradient of {', '.join(zeros)} is exactly 0: a batch norm subtracts its batch mean (and an identity "
        f"activation passes a beta through unchanged into the next one). Each side's value there is rounding, "
        f"compared on the scale of the terms it sums; {step}, so their updates differ between correct "
        "implementations and are judged against that bound at each step, and in eval mode, where the running "
        "statistics do not cancel them, the outputs carry the difference. torch writes nn.Linear(bias=False) "
        "before BatchNorm1d: --no-bias removes the biases.",
        facts=dict(parameters=zeros),
    )


def non_finite(ctx):
    nf = ctx.outcome.non_finite
    if not nf:
        return None
    who = (
        "both backends, at the same place"
        if nf.same_place
        else "one backend, where rounding may take any correct implementation out of the formula's domain (the "
        "square root of a difference that is 0 within rounding)"
        if nf.domain
        else "one backend, at the edge of float32's range (the exact values reach its largest, 3.4e38)"
        if nf.range
        else "the side under test only"
        if not nf.ref
        else "the reference only"
        if not nf.side
        else f"both backends, but at different places (reference: {nf.ref.phase} {nf.ref.tensor})"
    )
    big = (nf.side or nf.ref).largest_before
    fed = "from finite inputs" if nf.inputs_finite else "from non-finite inputs (the batch itself)"
    big_text = f"; the largest value before it in that step was |{big[0]}| = {big[1]:.3g}" if big else ""
    extended = nf.extended or {}
    if nf.domain:
        advice = (
            "Both sides compute the same formula from a state where they agreed; its argument is 0 within "
            "rounding, so which of them rounds below 0 is luck (torch's centered RMSprop does it where a gradient "
            "stays constant, as clipping by value makes it): the verdict is blew_up. Use the uncentered form, or "
            "keep the gradients from sitting at the clip."
        )
    elif nf.range:
        advice = (
            "From a state where both agreed, the step's exact values (float64 agrees) come within a batch's sum "
            "of float32's largest number, so whether a formula overflows there depends on its order of "
            "operations, not on its maths: training blew up, and the verdict is blew_up. Lower --lr, or check the "
            "data's scale."
        )
    elif nf.same_place:
        advice = (
            "Training itself blew up, in the reference too, from a state where both agreed: the verdict is "
            "blew_up, because the two implementations do not differ. Lower --lr, or check the data's scale."
        )
    elif nf.side and not nf.ref and extended.get("finite"):
        advice = (
            f"In extended precision the same code stays finite there ({extended['value']:.6g}), so the "
            "maths is finite and float64 rounding takes it to log(0), an overflow or 0/0: a less stable "
            "formula than torch's, such as log(1 - a) where a sigmoid saturates. It matters (your values "
            "are NaN or inf), but it is not a backprop error: use a stable form."
        )
    elif nf.side and not nf.ref:
        advice = (
            "The reference stays finite on the same numbers, so the side under test computes this "
            "differently: look for exp without the max shift, log of 0, or a division by 0."
        )
        if extended.get("skipped"):
            advice += f" (Not re-run in extended precision: {extended['skipped']}.)"
    else:
        advice = "The two backends went non-finite differently: a real difference."
    return Finding(
        "non_finite",
        f"The first non-finite value appeared at step {nf.step} in {nf.phase} {nf.tensor}, in {who}, "
        f"{fed}{big_text}. The run stops there. {advice}",
        facts=nf.to_dict(),
    )


def suspects(ctx):
    """Rank the catalogue's predictions against the divergence; the best fit below the threshold is named."""
    out = ctx.outcome
    d, nf = out.first_divergence, out.non_finite
    if not d or out.scene is None or (nf and (nf.same_place or nf.domain or nf.range)) or d.float32_only and not nf:
        return None  # a blow-up in both, or float32 rounding: no catalogue bug (an overflow in float32 may be one)
    scene = Scene(ctx.cfg, d, out.scene, nf, n_train=len(ctx.y_train))
    fits = []
    for bug in CATALOGUE:
        try:
            got = bug.predict(scene)
        except (KeyError, ValueError, IndexError, TypeError):  # a prediction that cannot apply here
            got = None
        if got is not None and got[0] <= SUSPECT_FIT[out.scene["dtype"]]:
            fits.append((got[0], bug.name, got[1]))
    if fits:
        residual, name, evidence = min(fits)
        tail = (
            " This is offered from the measured prediction, not as a certainty." if ctx.side.kind == "candidate" else ""
        )
        return Finding(
            "suspect",
            f"Likely cause: {name}: {evidence} (the prediction fits to {residual:.1e}).{tail}",
            bug=name,
            facts=dict(evidence=evidence, fit=residual),
        )
    if nf or d.phase == "loss" or conventions.named(ctx, SUSPECT_FIT):
        return None  # the non_finite, loss_only or convention finding says what is known
    seen = relation(*scene.divergent(), SUSPECT_FIT[out.scene["dtype"]])
    hint = (
        "The loss already differs before any gradient: check that the settings (--sizes, --activation, --loss, "
        "--output, --l2, --scale, --reduction, --loss-scale) describe your network."
        if not scene.agrees("loss", "loss")
        else "Compare that tensor's formula with the reference's."
    )
    return Finding("unmatched", f"No catalogue bug explains {d.phase} {d.tensor}: {seen}. {hint}")


def relation(ours, ref, close):
    """What relates the side's tensor to the reference's, in words: one constant factor (fitted to within `close` of
    its largest value), or a difference that no single factor explains."""
    r, res = ratio_fit(ours, ref)
    if r is None:
        return "the reference's values are all zeros there, and yours are not"
    if res <= close:
        return (
            f"yours is {r:.4g} times the reference's, element for element (to {res:.1e} of its largest value): one "
            "constant factor, as a wrong sign or a missing or extra scale (1/m, the lr, a divisor) makes"
        )
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    off = float(np.abs(ours - ref).max() / max(np.abs(ref).max(), np.abs(ours).max()))
    return (
        f"yours differs from the reference's by {off:.2g} of its largest value, and not by one factor (the closest, "
        f"{r:.4g}, leaves {res:.1e}): some of its elements are computed differently"
    )


def prior_cost(loss, y, n_classes):
    """The cost of ignoring the input and predicting each class's frequency p_k (computed from labels y)."""
    p = np.bincount(y, minlength=n_classes) / len(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
        qlogq = np.where(p < 1, (1 - p) * np.log(1 - p), 0.0)
    if loss == "bce":
        return float(-(plogp + qlogq).sum())
    if loss == "cross_entropy":
        return float(-plogp.sum())
    return float(0.5 * (p * (1 - p)).sum())


def prior_plateau(ctx):
    """A finished run whose loss ends within 1% of the prior cost, having either come there from elsewhere
    (the first loss was more than 5% away) or stayed there for 200 steps or more."""
    out, cfg = ctx.outcome, ctx.cfg
    if len(out.steps) < 2 or out.verdict != "agree" or cfg.reduction != "mean" or cfg.loss_scale != 1:
        return None
    prior = prior_cost(cfg.loss, ctx.y_train, ctx.n_classes)
    if prior < 1e-3:
        return None  # one class only: nothing to predict, no plateau to sit on
    first, last = out.steps[0], out.steps[-1]
    if not all(abs(loss - prior) <= 0.01 * prior for loss in (last.loss_side, last.loss_ref)):
        return None
    if abs(first.loss_ref - prior) <= 0.05 * prior and len(out.steps) < 200:
        return None  # it started at the prior and has not trained long enough to call it stuck
    formula = {
        "bce": "-sum_k [p_k ln p_k + (1-p_k) ln(1-p_k)]",
        "cross_entropy": "-sum_k p_k ln p_k",
        "mse": "1/2 sum_k p_k (1-p_k)",
    }[cfg.loss]
    found = culprits(cfg)
    return Finding(
        "prior_plateau",
        f"Both backends sit at {last.loss_side:.4f}, within 1% of {prior:.4f} = {formula} over "
        f"the training labels' frequencies p_k: the cost of ignoring the input and predicting each "
        f"class's frequency. The twins agree, so the backprop is right and the setup is at fault. "
        f"Likely culprits: " + "; ".join(found) + ".",
        facts=dict(
            prior_cost=prior,
            achieved=dict(handmade=last.loss_side, reference=last.loss_ref),
            formula=formula,
            culprits=found,
        ),
    )


def culprits(cfg):
    """The setup choices that keep a network at the prior, most likely first."""
    found = []
    hidden = cfg.sizes[1:-1]
    if cfg.init == "uniform":
        found.append(
            "init uniform: every weight starts in [0, 0.01), all positive and tiny, so the hidden units "
            "start nearly identical and barely pass a gradient down (use --init xavier)"
        )
    if hidden and min(hidden) < 16:
        found.append(
            f"hidden layers of {min(hidden)} units are too narrow for {cfg.sizes[-1]} classes (use 100 or more)"
        )
    if cfg.batch_size is None:
        found.append("full-batch gradient descent makes one update per pass over the data (use mini-batches)")
    if cfg.steps is not None and cfg.steps < 100:
        found.append(f"only {cfg.steps} updates: far too few to leave the plateau (train for epochs)")
    if cfg.lr >= 1 and cfg.activation == "sigmoid":
        found.append(
            f"lr {cfg.lr:g} is large for sigmoid units: the first steps push the output biases straight "
            "to the class frequencies and saturate (use about 0.1 with mini-batches)"
        )
    if cfg.l2 >= 1:
        found.append(f"l2 {cfg.l2:g} pulls the already small weights toward zero (use 1e-4 or so)")
    if cfg.activation == "sigmoid":
        found.append("sigmoid hidden units shrink the gradient at every layer (relu or tanh train faster)")
    return found or ["the model is too small or trained too briefly for this data"]


def gradcheck(ctx):
    """The finding for a finite-difference check (lockstep/judge/gradcheck.py)."""
    result = ctx.gradcheck
    if result is None:
        return None
    if result.get("skipped"):
        return Finding("gradcheck", f"Finite differences: not run, {result['skipped']}.", facts=result)
    w = result["worst"]
    if result.get("non_finite"):
        return Finding(
            "gradcheck",
            "Finite differences on the first batch: FAIL, the loss or a gradient is not finite there, so nothing "
            "can be checked.",
            facts=result,
        )
    where = f"{w['tensor']}{tuple(w['index'])}"
    described = ctx.side.describe(w["tensor"], w["index"], "backward")
    if described:
        where += f" [{described}]"
    verdict = "pass" if result["passed"] else "FAIL"
    return Finding(
        "gradcheck",
        f"Finite differences on the first batch ({result['checked']} sampled elements, float64): "
        f"{verdict}. Worst: {where}, analytic {w['analytic']:.6g}, numeric {w['numeric']:.6g}, "
        f"|difference| {w['abs_err']:.1e} = {w['excess']:.2g}x what rounding allows.",
        facts=result,
    )


def bug_not_exposed(ctx):
    """A planted bug that changed nothing measurable under the settings given (its own setup shows it)."""
    bug = getattr(ctx.side, "bug", None)
    if bug is None or ctx.outcome.verdict == "diverge":
        return None
    return Finding(
        "bug_not_exposed",
        f"The planted bug {bug.name} changed no tensor beyond rounding under these settings, so the "
        f"twins agree. Its own setup exposes it: python compare.py --inject-bug {bug.name}",
        bug=bug.name,
    )


FINDINGS = [
    gradcheck,
    local_error,
    loss_only,
    convention,
    own_rounding,
    rounding_drift,
    zero_gradient,
    non_finite,
    suspects,
    prior_plateau,
    bug_not_exposed,
]


def collect(ctx):
    return [f for f in (make(ctx) for make in FINDINGS) if f]
