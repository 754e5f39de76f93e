"""Findings: what the measurements mean. Each is a dict {code, message, ...} for the JSON and the human report.

  local_error     the divergence persists from one shared state: this step makes it (a real bug)
  float32_only    float64 agrees from the same state, but the float32 computation disagrees at 3 steps in a row
  rounding_drift  the twins drifted apart by rounding and were re-anchored; each such step agreed when re-run
  non_finite      where the first NaN or inf appeared, in which backend, and what fed it
  suspect         the catalogue bug whose signature best explains the divergence, with the measured evidence
  unmatched       no catalogue signature fits; what was measured instead
  prior_plateau   the model sits at the cost of predicting each class's frequency: the setup, not the backprop
"""
import numpy as np

from .bugs import CATALOGUE
from .check import TOLERANCES
from .report import what
from .signatures import Scene, ratio_fit

SUSPECT_FIT = {"float64": 1e-6, "float32": 1e-3}  # a signature's residual that counts as a match


def local_error(outcome, cfg):
    d = outcome.first_divergence
    if not d or outcome.non_finite:
        return None
    dtype = outcome.scene["dtype"]
    times = d["max_rel_err"] / TOLERANCES[dtype].for_phase(d["phase"])
    when = "at the very first step" if d["step"] == 0 else f"at step {d['step']}"
    if d["float32_only"]:
        return dict(code="float32_only", step=d["step"], rel_err=d["max_rel_err"], times_tolerance=times,
                    message=f"A float32 problem, not a maths error: from one shared state the side under test and "
                            f"the twin agree in float64, but in float32 {what(d['phase'], d['tensor'])} is off by "
                            f"{d['max_rel_err']:.2g} ({times:.2g}x the tolerance) {when} and at the next steps. The "
                            f"code loses precision in float32 (cancellation, a poor summation order, an epsilon "
                            f"too small for float32, a lower-precision copy).")
    return dict(code="local_error", step=d["step"], rel_err=d["max_rel_err"], times_tolerance=times,
                message=f"A real bug, not rounding: {what(d['phase'], d['tensor'])} is off by {d['max_rel_err']:.2g} "
                        f"relative ({times:.2g}x the {dtype} tolerance) {when}, with both sides starting the step "
                        f"from one state ({d['checked']}). This step makes the error; --resync finds it at the "
                        f"same step.")


def rounding_drift(outcome, cfg):
    if not outcome.drift:
        return None
    kinds = {k: sum(d["kind"] == k for d in outcome.drift) for k in ("accumulated", "relu_flip", "float32_only")}
    acc = max(d["accumulated_rel_err"] for d in outcome.drift)
    loc = max(d["local_rel_err"] for d in outcome.drift)
    why = [f"{kinds['accumulated']}x accumulated rounding that vanished when the step was re-run from one state"
           if kinds["accumulated"] else "",
           f"{kinds['relu_flip']}x a relu whose input the two backends rounded to opposite sides of 0"
           if kinds["relu_flip"] else "",
           f"{kinds['float32_only']}x an isolated float32 difference" if kinds["float32_only"] else ""]
    return dict(code="rounding_drift", count=len(outcome.drift), kinds=kinds,
                steps=[d["step"] for d in outcome.drift], max_accumulated_rel_err=acc, max_local_rel_err=loc,
                message=f"Rounding drift, not divergence: the twins' difference crossed the {cfg.dtype} tolerance "
                        f"at {len(outcome.drift)} step(s) (largest {acc:.2g}): " + "; ".join(w for w in why if w)
                        + f". Re-run from one state, every such step agreed (to {loc:.2g}; in float64 where float32 "
                          "differed); the twin was re-anchored to the state of the side under test there.")


def non_finite(outcome, cfg):
    nf = outcome.non_finite
    if not nf:
        return None
    who = ("both backends, at the same place" if nf["same_place"] else
           "the side under test only" if not nf["reference"] else "the reference only" if not nf["handmade"] else
           f"both backends, but at different places (reference: {nf['reference']['phase']} "
           f"{nf['reference']['tensor']})")
    first = nf["handmade"] or nf["reference"]
    big = first.get("largest_before")
    fed = "from finite inputs" if nf["inputs_finite"] else "from non-finite inputs (the batch itself)"
    big_text = f"; the largest value before it in that step was |{big['tensor']}| = {big['value']:.3g}" if big else ""
    if nf["handmade"] and not nf["reference"]:
        advice = ("The reference stays finite on the same numbers, so the side under test computes this "
                  "differently: look for exp without the max shift, log of 0, or a division by 0.")
    else:
        advice = "Training itself blew up in the reference too: lower --lr, or check the data's scale."
    return dict(nf, code="non_finite",
                message=f"The first non-finite value appeared at step {nf['step']} in {nf['phase']} "
                        f"{nf['tensor']}, in {who}, {fed}{big_text}. The run stops there. {advice}")


def suspects(outcome, cfg, from_candidate):
    """Rank the catalogue's signatures against the divergence; the best fit below the threshold is named."""
    d, nf = outcome.first_divergence, outcome.non_finite
    if not d or outcome.scene is None or (nf and nf["same_place"]) or d["float32_only"]:
        return None  # a blow-up in both, or float32 arithmetic: no catalogue bug (the maths agrees)
    scene = Scene(cfg, d, outcome.scene, nf)
    fits = []
    for bug in CATALOGUE:
        try:
            got = bug.signature(scene)
        except (KeyError, ValueError, IndexError, TypeError):  # a signature that cannot apply here
            got = None
        if got is not None and got[0] <= SUSPECT_FIT[outcome.scene["dtype"]]:
            fits.append((got[0], bug.name, got[1]))
    if fits:
        residual, name, evidence = min(fits)
        tail = " This is offered from the measured signature, not as a certainty." if from_candidate else ""
        return dict(code="suspect", bug=name, evidence=evidence, fit=residual,
                    message=f"Likely cause: {name}: {evidence} (the prediction fits to {residual:.1e}).{tail}")
    if nf:
        return None  # the non_finite finding already says where and how
    ours, ref = scene.divergent()
    r, res = ratio_fit(ours, ref)
    seen = f"side under test / reference = {r:.4g} (fit {res:.1e})" if r is not None else "the reference is all zeros"
    hint = ("The loss already differs before any gradient: check that --sizes, --activation, --loss, --output, "
            "--l2 and --scale describe your network." if not scene.agrees("loss", "loss") else
            "Compare that tensor's formula with the reference's.")
    return dict(code="unmatched", message=f"No catalogue bug explains {d['phase']} {d['tensor']}: {seen}. {hint}")


def gradcheck(result, describe=None):
    """The finding for a finite-difference check (lockstep/gradcheck.py)."""
    w = result["worst"]
    if result.get("non_finite"):
        return dict(result, code="gradcheck", message="Finite differences on the first batch: FAIL, the loss or a "
                                                      "gradient is not finite there, so nothing can be checked.")
    where = f"{w['tensor']}{tuple(w['index'])}"
    if describe:
        where += f" [{describe(w['tensor'], w['index'])}]"
    verdict = "pass" if result["passed"] else "FAIL"
    return dict(result, code="gradcheck",
                message=f"Finite differences on the first batch ({result['checked']} sampled elements, float64): "
                        f"{verdict}. Worst: {where}, analytic {w['analytic']:.6g}, numeric {w['numeric']:.6g}, "
                        f"|difference| {w['abs_err']:.1e} = {w['excess']:.2g}x what rounding allows.")


def bug_not_exposed(outcome, cfg, bug):
    """A planted bug that changed nothing measurable under the flags given (its own setup shows it)."""
    if bug is None or outcome.verdict != "agree":
        return None
    return dict(code="bug_not_exposed", bug=bug.name,
                message=f"The planted bug {bug.name} changed no tensor beyond tolerance under these flags, so the twins "
                        f"agree. Its own setup exposes it: python compare.py --inject-bug {bug.name}")


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


def prior_plateau(outcome, cfg, y_train, n_classes):
    """A finished run whose loss ends within 1% of the prior cost, having either come there from elsewhere
    (the first loss was more than 5% away) or stayed there for 200 steps or more."""
    if len(outcome.steps) < 2 or outcome.first_divergence:
        return None
    prior = prior_cost(cfg.loss, y_train, n_classes)
    if prior < 1e-3:
        return None  # one class only: nothing to predict, no plateau to sit on
    first, last = outcome.steps[0]["loss"], outcome.steps[-1]["loss"]
    if not all(abs(last[k] - prior) <= 0.01 * prior for k in ("handmade", "reference")):
        return None
    if abs(first["reference"] - prior) <= 0.05 * prior and len(outcome.steps) < 200:
        return None  # it started at the prior and has not trained long enough to call it stuck
    formula = {"bce": "-sum_k [p_k ln p_k + (1-p_k) ln(1-p_k)]", "cross_entropy": "-sum_k p_k ln p_k",
               "mse": "1/2 sum_k p_k (1-p_k)"}[cfg.loss]
    found = culprits(cfg)
    return dict(code="prior_plateau", prior_cost=prior, achieved=last, formula=formula, culprits=found,
                message=f"Both backends sit at {last['handmade']:.4f}, within 1% of {prior:.4f} = {formula} over "
                        f"the training labels' frequencies p_k: the cost of ignoring the input and predicting each "
                        f"class's frequency. The twins agree, so the backprop is right and the setup is at fault. "
                        f"Likely culprits: " + "; ".join(found) + ".")


def culprits(cfg):
    """The setup choices that keep a network at the prior, most likely first."""
    found = []
    hidden = cfg.sizes[1:-1]
    if cfg.init == "uniform":
        found.append("init uniform: every weight starts in [0, 0.01), all positive and tiny, so the hidden units "
                     "start nearly identical and barely pass a gradient down (use --init xavier)")
    if hidden and min(hidden) < 16:
        found.append(f"hidden layers of {min(hidden)} units are too narrow for {cfg.sizes[-1]} classes (use 100 or more)")
    if cfg.batch_size is None:
        found.append("full-batch gradient descent makes one update per pass over the data (use mini-batches)")
    if cfg.steps is not None and cfg.steps < 100:
        found.append(f"only {cfg.steps} updates: far too few to leave the plateau (train for epochs)")
    if cfg.lr >= 1 and cfg.activation == "sigmoid":
        found.append(f"lr {cfg.lr:g} is large for sigmoid units: the first steps push the output biases straight "
                     "to the class frequencies and saturate (use about 0.1 with mini-batches)")
    if cfg.l2 >= 1:
        found.append(f"l2 {cfg.l2:g} pulls the already small weights toward zero (use 1e-4 or so)")
    if cfg.activation == "sigmoid":
        found.append("sigmoid hidden units shrink the gradient at every layer (relu or tanh train faster)")
    return found or ["the model is too small or trained too briefly for this data"]
