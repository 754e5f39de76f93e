"""The courses' conventions that a flag makes the tool follow, recognised at the divergence step: each is a
prediction, like a catalogue bug's (lockstep/findings/bugs.py), of what code written in that convention computes
from the reference's own tensors and the state before the step. One that fits is named, with its flag, as a
convention and not a bug (the `convention` finding).

  prob_clip      the loss value on probabilities clipped to [p, 1 - p] (NNFS 1e-7, scikit-learn the dtype's eps,
                 ...): --prob-clip p; its gradient is the unclipped a - Y, so only the loss differs
  momentum_form  SGD's momentum as a moving average (Coursera, Holberton) or as a velocity that holds the lr
                 (CS231n, NNFS; it parts from torch's when the lr changes): --momentum-form ema|velocity
  adam_t0        Adam's counter started at 1 and incremented before use (CS231n's skeleton): --adam-t0 1
  bn_variance    batch norm normalising with the unbiased variance (makemore's Bessel correction) or the biased
                 one (torch's): --bn-variance
  bn_running_variance   the running variance from the biased (CS231n's np.var) or unbiased (torch's) batch
                 variance: --bn-running-variance
  bn_momentum    another momentum of the running statistics, fitted from them: CS231n's 0.9 is torch's 0.1
                 inverted: --bn-momentum
  dropout_form   dropout without the 1/keep in training (classic, which scales by keep at test time) or with it
                 (inverted): --dropout-form
  svm_scale      the multiclass SVM as torch's F.multi_margin_loss (the mean over the C classes) or as CS231n's
                 svm_loss (their sum): --loss-scale

Adding one is a function (Scene, SUSPECT_FIT's threshold) -> (residual, flag, text) or None, and a row in
CONVENTIONS. One of the update is tried at every parameter the step updated, not at the divergent one alone: it
names the optimizer's setting, which holds for all of them.
"""

import dataclasses

import numpy as np

import handmade
from handmade.losses import clipped

from ..config import MOMENTUM_FORMS, PROB_CLIP_LOSSES, lr_at, make_optimizer, optimizer_settings
from ..judge.tolerance import TOLERANCES
from .signatures import fit

# (p, who clips at it); the dtype's own eps (scikit-learn's) is tried as well
CLIPS = ((1e-7, "NNFS, Keras"), (1e-15, "ML-From-Scratch"), (1e-12, ""), (1e-11, "nimblenet"), (1e-10, ""), (1e-8, ""))


def prob_clip(s):
    """The side's loss as the clipped loss of the reference's probabilities: within the fixed loss tolerance, where
    the unclipped loss was not."""
    cfg = s.cfg
    if s.phase != "loss" or cfg.loss not in PROB_CLIP_LOSSES or s.pre is None:
        return None
    ours, ref = (float(x) for x in s.divergent())
    a, Y, m = s.ref[f"layers.{s.n_layers - 1}.a"], s.Y, len(s.X)
    dtype = s.dtype
    tol = TOLERANCES[dtype].loss
    penalty = 0.0
    if cfg.l2:
        weights = [s.pre_param(f"layers.{i}.weight") for i in range(s.n_layers)]
        penalty = cfg.l2 / (2 * s.l2_divisor) * sum(float(np.vdot(W, W)) for W in weights)
    scale = cfg.loss_scale / (m if cfg.reduction == "mean" else 1)
    eps = float(np.finfo(dtype).eps)
    for p, who in (*CLIPS, (eps, "scikit-learn: the dtype's eps")):
        if p == cfg.prob_clip:
            continue
        predicted = scale * clipped(cfg.loss, a.astype(np.float64), Y.astype(np.float64), p) + penalty
        if abs(ours - predicted) <= tol * max(abs(predicted), 1.0) < abs(ours - ref):
            return (
                abs(ours - predicted) / max(abs(predicted), 1.0),
                f"--prob-clip {p:.8g}",
                f"Your loss equals the {cfg.loss} of probabilities clipped to [{p:.3g}, 1 - {p:.3g}]"
                + (f" ({who})" if who else "")
                + f", {predicted:.10g} where the unclipped loss is {ref:.10g}",
            )
    return None


def _rerun(s, cfg, state):
    """The updated parameter as the handmade optimizer of cfg computes it from the parameter before the step,
    `state` and the reference's gradient; None where the divergent tensor is no updated parameter."""
    if s.phase != "update" or s.pre is None or cfg.clip_value is not None or cfg.clip_norm is not None:
        return None  # (the clipping couples every parameter: not predicted from one)
    p = handmade.Param(np.array(s.pre_param(s.tensor)), np.array(s.ref[f"grad:{s.tensor}"]))
    opt = make_optimizer(handmade, [p], cfg)
    opt.lr = s.hyper["lr"]  # this step's, after any schedule
    if state:
        opt.state[p] = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    opt.step()
    return p.data


def momentum_form(s):
    """The side's update as another momentum form's, from the state before the step in that form: the same at the
    first step (every form starts empty), and while the lr was constant v = -lr buf (velocity), v = (1 - mu) buf
    (moving average, without dampening) afterwards."""
    cfg, h = s.cfg, optimizer_settings(s.cfg)
    if cfg.optimizer != "sgd" or h["dampening"] or h["nesterov"] or s.phase != "update" or s.pre is None:
        return None
    before, mu = dict(s.pre["state"].get(s.tensor) or {}), h["momentum"]
    lr_prev = lr_at(cfg, s.n_train, s.step - 1) if s.step else cfg.lr
    to_torch = dict(torch=1.0, ema=1 / (1 - mu) if mu < 1 else None, velocity=-1 / lr_prev)
    key = MOMENTUM_FORMS[h["momentum_form"]].key
    fits = []
    for form in MOMENTUM_FORMS:
        if form == h["momentum_form"] or to_torch[form] is None:
            continue
        state = {}
        if key in before:  # the state converted: to torch's buffer, then to this form's
            state[MOMENTUM_FORMS[form].key] = before[key] * to_torch[h["momentum_form"]] / to_torch[form]
        predicted = _rerun(s, dataclasses.replace(cfg, momentum_form=form, dampening=None, nesterov=None), state)
        if predicted is None:
            return None
        res, _ = fit(s.divergent()[0], predicted, "")
        fits.append((res, f"--momentum-form {form}", f"Your update equals SGD with {MOMENTUM_FORMS[form].text}"))
    return min(fits, default=None)


def adam_t0(s):
    """The side's update as Adam's with the counter started at 1 (CS231n's skeleton): the moments agree, the bias
    correction uses t + 1."""
    cfg = s.cfg
    if cfg.optimizer not in ("adam", "adamw") or s.phase != "update" or s.pre is None:
        return None
    t0 = optimizer_settings(cfg)["adam_t0"]
    before = dict(s.pre["state"].get(s.tensor) or {})
    zeros = np.zeros_like(s.pre_param(s.tensor))
    state = dict(step=float(before.get("step", t0)) + 1, exp_avg=before.get("exp_avg", zeros))
    state["exp_avg_sq"] = before.get("exp_avg_sq", zeros)
    predicted = _rerun(s, dataclasses.replace(cfg, adam_t0=t0 + 1), state)
    if predicted is None:
        return None
    res, _ = fit(s.divergent()[0], predicted, "")
    return res, f"--adam-t0 {t0 + 1}", f"Your update equals Adam with its step counter started at {t0 + 1}"


def _other(value, choices):
    return next(c for c in choices if c != value)


def bn_variance(s):
    """The side's batch variance as the other convention's: the reference's times m / (m - 1) or (m - 1) / m."""
    if s.cfg.norm != "batchnorm" or s.phase != "forward" or not s.tensor.endswith(".norm.var"):
        return None
    m, other = s.m, _other(s.cfg.bn_variance, ("biased", "unbiased"))
    factor = m / (m - 1) if other == "unbiased" else (m - 1) / m
    res, _ = fit(s.divergent()[0], s.ref[s.tensor] * factor, "")
    what = "unbiased (1/(m - 1), makemore's Bessel correction)" if other == "unbiased" else "biased (1/m, torch's)"
    return res, f"--bn-variance {other}", f"Your batch norm normalises with the {what} variance of the batch"


def bn_running_variance(s):
    """The side's running variance as the update from the other convention's batch variance."""
    if s.cfg.norm != "batchnorm" or s.phase != "forward" or not s.tensor.endswith(".running_var") or s.pre is None:
        return None
    other = _other(s.cfg.bn_running_variance, ("biased", "unbiased"))
    res, _ = fit(s.divergent()[0], s.running(s.tensor, s.cfg.bn_momentum, other), "")
    what = "biased batch variance (CS231n's np.var)" if other == "biased" else "unbiased batch variance (torch's)"
    return res, f"--bn-running-variance {other}", f"Your running variance averages the {what}"


def bn_momentum(s):
    """The side's running mean as the update with another momentum, fitted: (ours - old) = m (batch - old)."""
    if s.cfg.norm != "batchnorm" or s.phase != "forward" or not s.tensor.endswith(".running_mean") or s.pre is None:
        return None
    ours = np.asarray(s.divergent()[0], dtype=np.float64)
    old, batch = s.pre["buffers"][s.tensor], s.ref[s.tensor.rsplit(".", 1)[0] + ".mean"]
    step = batch - old
    if not np.vdot(step, step):
        return None
    m = float(np.vdot(ours - old, step) / np.vdot(step, step))
    if not 0 <= m <= 1 or abs(m - s.cfg.bn_momentum) < 1e-12:
        return None
    res, _ = fit(ours, s.running(s.tensor, m), "")
    inverted = abs(m - (1 - s.cfg.bn_momentum)) < 1e-9
    note = f" (1 - {s.cfg.bn_momentum:g}: the momentum inverted, as CS231n's 0.9 is torch's 0.1)" if inverted else ""
    return res, f"--bn-momentum {m:.6g}", f"Your running statistics move with momentum {m:.6g} in torch's sense{note}"


def dropout_form(s):
    """The side's dropout output as the other form's training output: a * mask (classic) or a * mask / keep."""
    if not s.cfg.dropout or s.phase != "forward" or not s.tensor.endswith(".dropout.out"):
        return None
    i, keep = s.layer(), 1 - s.cfg.dropout
    other = _other(s.cfg.dropout_form, ("inverted", "classic"))
    a, mask = s.ref[f"layers.{i}.a"], s.ref[f"layers.{i}.dropout.mask"]
    res, _ = fit(s.divergent()[0], a * mask / keep if other == "inverted" else a * mask, "")
    what = (
        "classic dropout's a * mask, without the 1/keep in training (and a * keep at test time, if your code scales "
        "there)"
        if other == "classic"
        else "inverted dropout's a * mask / keep"
    )
    return res, f"--dropout-form {other}", f"Your dropout equals {what}"


def svm_scale(s):
    """The side's svm loss as torch's F.multi_margin_loss (1/C of CS231n's) or CS231n's (C times torch's)."""
    if s.cfg.loss != "svm" or s.phase != "loss":
        return None
    ours, ref = (float(x) for x in s.divergent())
    C = s.ref[f"layers.{s.n_layers - 1}.z"].shape[1]
    for factor, scale, what in (
        (1 / C, s.cfg.loss_scale / C, f"torch's F.multi_margin_loss, the mean over the C = {C} classes"),
        (C, s.cfg.loss_scale * C, f"CS231n's svm_loss, the sum over the classes (C = {C} times torch's)"),
    ):
        res = abs(ours - factor * ref) / max(abs(factor * ref), 1.0)
        if res < abs(ours - ref) / max(abs(ref), 1.0):
            return res, f"--loss-scale {scale:.6g}", f"Your loss is {what}"
    return None


CONVENTIONS = [
    prob_clip,
    momentum_form,
    adam_t0,
    bn_variance,
    bn_running_variance,
    bn_momentum,
    dropout_form,
    svm_scale,
]


def named(ctx, threshold):
    """{flag, text, residual} of the convention that explains the divergence, or None."""
    from .signatures import Scene

    out, d = ctx.outcome, ctx.outcome.first_divergence
    if not d or out.scene is None or d.float32_only or out.non_finite:
        return None
    s = Scene(ctx.cfg, d, out.scene, None, n_train=len(ctx.y_train))
    s.phase, s.tensor = d.phase, d.tensor  # the divergence as measured, not the gradient or buffer it implies
    s.Y, s.dtype, s.n_train = out.scene["Y"], out.scene["dtype"], len(ctx.y_train)
    for convention in CONVENTIONS:
        try:
            got = _over_the_step(convention, s)
        except (KeyError, ValueError, IndexError, TypeError):
            got = None
        if got is not None and got[0] <= threshold[s.dtype]:
            return dict(residual=got[0], flag=got[1], text=got[2])
    return None


def _over_the_step(convention, s):
    """The convention's fit at the divergent tensor and, for an update, at every other parameter the step updated:
    a convention of the update is a setting of the whole optimizer, so it must predict each of them, those that
    agree with torch's included (an Adam whose one counter advances at every parameter matches the counter
    started at 1 in its second parameter only). The worst residual, with the divergent tensor's flag and text."""
    got = convention(s)
    if got is None or s.phase != "update":
        return got
    tensor, worst = s.tensor, got[0]
    try:
        for phase, name in list(s.pairs):
            if phase != "update" or name == tensor:
                continue
            s.tensor = name
            other = convention(s)
            if other is None:
                return None
            worst = max(worst, other[0])
    finally:
        s.tensor = tensor
    return worst, got[1], got[2]
