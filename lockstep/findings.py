"""Findings: what the measurements mean. Each is a dict {code, message, ...} for the JSON and the human report.

  local_error     the divergence persists from one shared state: this step makes it (a real bug)
  rounding_drift  accumulated rounding crossed the tolerance, but every such step agreed when re-run
  non_finite      where the first NaN or inf appeared, in which backend, and what fed it
  suspect         the catalogue bug whose signature best explains the divergence, with the measured evidence
  unmatched       no catalogue signature fits; what was measured instead
  prior_plateau   the model sits at the cost of predicting each class's frequency: the setup, not the backprop
"""
import numpy as np

from .bugs import CATALOGUE
from .check import TOLERANCES
from .scene import Scene, ratio_fit


def local_error(outcome, cfg):
    d = outcome.first_divergence
    if not d or outcome.non_finite:
        return None
    times = d["max_rel_err"] / TOLERANCES["float64"].for_phase(d["phase"])
    when = "at the very first step" if d["step"] == 0 else f"at step {d['step']}"
    return dict(code="local_error", step=d["step"], rel_err=d["max_rel_err"], times_tolerance=times,
                message=f"A real bug, not rounding: {d['phase']} {d['tensor']} is off by {d['max_rel_err']:.2g} "
                        f"(relative; {times:.2g}x the float64 tolerance) {when}, computed from identical states "
                        f"({d['checked']}), so this step makes the error; --resync charges it to the same step.")


def rounding_drift(outcome, cfg):
    if not outcome.drift:
        return None
    acc = max(d["accumulated_rel_err"] for d in outcome.drift)
    loc = max(d["local_rel_err"] for d in outcome.drift)
    return dict(code="rounding_drift", count=len(outcome.drift), steps=[d["step"] for d in outcome.drift],
                max_accumulated_rel_err=acc, max_local_rel_err=loc,
                message=f"Rounding drift, not divergence: the twins' accumulated difference crossed the {cfg.dtype} "
                        f"tolerance {len(outcome.drift)}x (worst {acc:.2g}), but each of those steps agreed to "
                        f"{loc:.2g} when re-run in float64 from one state, so the twin was re-anchored there.")


def non_finite(outcome, cfg):
    nf = outcome.non_finite
    if not nf:
        return None
    first = nf["handmade"] or nf["reference"]
    who = ("both backends, at the same place" if nf["same_place"] else
           "handmade only" if not nf["reference"] else "the reference only" if not nf["handmade"] else
           f"both backends, but at different places (reference: {nf['reference']['phase']} "
           f"{nf['reference']['tensor']})")
    big = first.get("largest_before")
    fed = ("from finite inputs" if nf["inputs_finite"] else "from non-finite inputs (the data or the parameters)")
    big_text = f"; the largest value before it in that step was |{big['tensor']}| = {big['value']:.3g}" if big else ""
    return dict(nf, code="non_finite",
                message=f"The first non-finite value appeared at step {nf['step']} in {first['phase']} "
                        f"{first['tensor']}, in {who}, {fed}{big_text}. The run stops there. Lower --lr, or check "
                        f"the operation that produced it for an overflow (exp, division, log of 0).")


def suspects(outcome, cfg, from_candidate):
    """Rank the catalogue's signatures against the divergence; the best fit below the threshold is named."""
    d = outcome.first_divergence
    if not d or outcome.scene is None:
        return None
    scene = Scene(cfg, d, outcome.scene, outcome.non_finite)
    threshold = 1e-6 if outcome.scene["dtype"] == "float64" else 1e-3
    fits = []
    for bug in CATALOGUE:
        try:
            got = bug.signature(scene)
        except (KeyError, ValueError, IndexError, TypeError):  # a signature that cannot apply here
            got = None
        if got is not None and got[0] <= threshold:
            fits.append((got[0], bug.name, got[1]))
    if fits:
        residual, name, evidence = min(fits)
        tail = (" This is offered from the measured signature, not as a certainty." if from_candidate else "")
        return dict(code="suspect", bug=name, evidence=evidence, fit=residual,
                    message=f"Likely cause: {name}: {evidence} (the prediction fits to "
                            f"{residual:.1e}).{tail}")
    if outcome.non_finite:
        return None  # the non_finite finding already says where and how
    ours, ref = scene.divergent()
    r, res = ratio_fit(ours, ref)
    seen = f"handmade/reference ratio {r:.4g} (fit {res:.1e})" if r is not None else "the reference is all zeros"
    return dict(code="unmatched", message=f"No catalogue bug explains {d['phase']} {d['tensor']}: {seen}. "
                                          "Compare that tensor's formula with the reference's.")


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
    """Only for a run that trained to the end: a run stopped by divergence has not settled anywhere."""
    if len(outcome.steps) < 2 or outcome.first_divergence:
        return None
    prior = prior_cost(cfg.loss, y_train, n_classes)
    last = outcome.steps[-1]["loss"]
    near = [abs(last[k] - prior) <= 0.01 * prior for k in ("handmade", "reference")]
    if not all(near):
        return None
    formula = {"bce": "-sum_k [p_k ln p_k + (1-p_k) ln(1-p_k)]", "cross_entropy": "-sum_k p_k ln p_k",
               "mse": "1/2 sum_k p_k (1-p_k)"}[cfg.loss]
    agree = ("The twins agree, so the backprop is right and the setup is at fault."
             if outcome.verdict == "agree" else "")
    return dict(code="prior_plateau", prior_cost=prior, achieved=last, formula=formula, culprits=culprits(cfg),
                message=f"Both backends sit at {last['handmade']:.4f}, within 1% of {prior:.4f} = {formula} over "
                        f"the training labels' frequencies p_k: the cost of ignoring the input and predicting each "
                        f"class's frequency. {agree} Likely culprits: " + "; ".join(culprits(cfg)) + ".")


def culprits(cfg):
    """The setup choices that keep a network at the prior, most likely first."""
    found = []
    hidden = cfg.sizes[1:-1]
    if cfg.init == "uniform":
        found.append("init uniform: every weight starts in [0, 0.01), all positive and tiny, so the hidden units "
                     "start nearly identical and barely pass a gradient down (use --init xavier)")
    if hidden and min(hidden) < 16:
        found.append(f"hidden layers of {min(hidden)} units are too narrow for {cfg.sizes[-1]} classes (use 100 or more)")
    steps = cfg.steps if cfg.steps is not None else None
    if cfg.batch_size is None:
        found.append("full-batch gradient descent makes one update per pass over the data (use mini-batches)")
    if steps is not None and steps < 100:
        found.append(f"only {steps} updates: far too few to leave the plateau (train for epochs)")
    if cfg.lr >= 1:
        found.append(f"lr {cfg.lr:g} is large for sigmoid units: the first steps push the output biases straight "
                     "to the class frequencies and saturate (use about 0.1 with mini-batches)")
    if cfg.l2 >= 1:
        found.append(f"l2 {cfg.l2:g} pulls the already tiny weights toward zero (use 1e-4 or so)")
    if cfg.activation == "sigmoid":
        found.append("sigmoid hidden units shrink the gradient at every layer (relu or tanh train faster)")
    return found or ["the model is too small or trained too briefly for this data"]
