"""The settings a user's objects state, and whether they are the run's: what CS231n's model holds (its dtype, reg and
dropout_param), what NNFS's dense layers (their regularizers) and the book's optimizer objects hold (BOOK_OPTIMIZERS:
which flag each attribute is), and where those optimizers keep their state on a layer (BOOK_STATE, by torch's keys).
A network whose objects state other settings than the run's is refused in one line that names the flags matching
them; the checks run once, before any trial call.
"""

import math

import numpy as np

from ...config import OPTIMIZER_SETTINGS, optimizer_settings, parse_schedule
from .base import CandidateError
from .boundary import as_numpy

# the book's optimizer objects: (a word of the class's name, the tool's optimizer, {attribute: the setting it is})
BOOK_OPTIMIZERS = [
    ("adam", "adam", dict(learning_rate="lr", decay="lr_schedule", epsilon="eps", beta_1="betas", beta_2="betas")),
    ("rmsprop", "rmsprop", dict(learning_rate="lr", decay="lr_schedule", epsilon="eps", rho="alpha")),
    ("adagrad", "adagrad", dict(learning_rate="lr", decay="lr_schedule", epsilon="eps")),
    ("sgd", "sgd", dict(learning_rate="lr", decay="lr_schedule", momentum="momentum")),
]


# where the book's optimizers keep their state on a layer, by torch's state keys ({kind}: weight or bias); torch's
# step count, where it keeps one, is the optimizer's `iterations`
BOOK_STATE = {
    "adam": dict(exp_avg="{kind}_momentums", exp_avg_sq="{kind}_cache", step="iterations"),
    "rmsprop": dict(square_avg="{kind}_cache", step="iterations"),
    "adagrad": dict(sum="{kind}_cache", step="iterations"),
    "sgd": dict(velocity="{kind}_momentums"),  # with momentum: v = mu v - lr g, the velocity form's state
}


def suggest(weights):
    """': give --sizes a,b,c' for weight shapes that chain as (in, out) or as (out, in), else ''."""
    for oriented in (weights, [w[::-1] for w in weights]):
        if all(len(w) == 2 for w in oriented) and all(a[1] == b[0] for a, b in zip(oriented, oriented[1:])):
            return f": give --sizes {','.join(map(str, [oriented[0][0]] + [w[1] for w in oriented]))}"
    return ""


def regularizers(dense):
    """NNFS's four regularizer strengths of a dense object (0 where it has none)."""
    names = ("weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1", "bias_regularizer_l2")
    return {k: float(getattr(dense, k, 0) or 0) for k in names}


def stated(net, cfg):
    """The flags the objects state (their regularizers; the optimizer object's settings), as {setting: value}."""
    out = {}
    regs = [regularizers(net.objects[p]) for p in net.dense]
    if any(r != regs[0] for r in regs):
        raise CandidateError(
            "the dense layers have different regularizers; the tool applies one penalty to every layer"
        )
    r = regs[0]
    for kind, setting, scale in (("l2", "l2", 2.0), ("l1", "l1", 1.0)):
        w, b = r[f"weight_regularizer_{kind}"], r[f"bias_regularizer_{kind}"]
        if b and b != w:
            raise CandidateError(
                f"the biases' {kind} regularizer {b:g} is not the weights' {w:g}; the tool applies one"
            )
        if w or getattr(cfg, setting):
            out[setting] = scale * w
        if w:
            out["l2_norm"], out["bias_penalty"] = "none", bool(b)
    if net.optimizer is not None:
        out.update(book_optimizer(net.optimizer))
    return out


def book_optimizer(opt):
    """The tool's settings of a book optimizer object, from BOOK_OPTIMIZERS (empty for an unknown class)."""
    name = type(opt).__name__.lower()
    row = next((r for r in BOOK_OPTIMIZERS if r[0] in name), None)
    if row is None:
        return {}
    out = dict(optimizer=row[1])
    for attr, setting in row[2].items():
        value = getattr(opt, attr, None)
        if value is None:
            continue
        if setting == "lr_schedule":
            out[setting] = f"inv-iter:{value:g}" if value else None
        elif setting == "betas":
            out["betas"] = (float(getattr(opt, "beta_1", 0.9)), float(getattr(opt, "beta_2", 0.999)))
        else:
            out[setting] = float(value)
    if row[1] == "sgd":
        out["momentum_form"] = "velocity" if out.get("momentum") else "torch"
    return out


def setting(cfg, key):
    """The run's value of a setting, its optimizer's default filled in (None: the run's optimizer has no such)."""
    resolved = optimizer_settings(cfg)
    if key in resolved or key in OPTIMIZER_SETTINGS:
        return resolved.get(key)
    return getattr(cfg, key, None)


def mismatch(cfg, wants):
    """The settings of `wants` ({setting: value}) that the run does not have, or []. NNFS's decay is an inv-iter
    schedule, or Adagrad's own lr_decay."""
    wrong = []
    for k, v in wants.items():
        mine = setting(cfg, k)
        if k == "lr_schedule":
            decay = float(v.split(":")[1]) if v else 0.0
            same = parse_schedule(mine) == parse_schedule(v) or (
                mine is None and cfg.optimizer == "adagrad" and math.isclose(decay, setting(cfg, "lr_decay") or 0.0)
            )
        elif k == "l2_norm":
            same = mine == v or not (wants.get("l2") or wants.get("l1"))
        elif isinstance(v, float):
            same = (
                isinstance(mine, (int, float)) and not isinstance(mine, bool) and math.isclose(mine, v, rel_tol=1e-12)
            )
        elif isinstance(v, tuple):
            same = (
                mine is not None
                and len(mine) == len(v)
                and all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(mine, v))
            )
        else:
            same = mine == v
        if not same:
            wrong.append(k)
    return wrong


def flags(wants):
    """The command line's flags for {setting: value}: '--lr 0.005 --betas 0.9,0.999 --bias-penalty'."""
    out = []
    for k, v in wants.items():
        if v is None or v is False or (k == "momentum_form" and v == "torch"):
            continue
        flag = "--" + k.replace("_", "-")
        out.append(
            flag
            if v is True
            else f"{flag} {','.join(f'{x:g}' for x in v)}"
            if isinstance(v, tuple)
            else f"{flag} {v:g}"
            if isinstance(v, float)
            else f"{flag} {v}"
        )
    return " ".join(out)


def check_stated(net, settings):
    """One line when the objects state settings the run does not have, naming the flags that match them."""
    wants = stated(net, settings.cfg)
    wrong = mismatch(settings.cfg, wants)
    if wrong:
        penalty = {"l2", "l1", "l2_norm", "bias_penalty"}
        what = [f"optimizer object {type(net.optimizer).__name__}"] if set(wrong) - penalty else []
        what += ["dense layers' regularizers"] if set(wrong) & penalty else []
        raise CandidateError(
            f"{settings.spec}() made a network with {' and '.join(what)} whose settings are not the run's "
            f"({', '.join(wrong)}): run with {flags(wants)}"
        )


def check_model(model, settings):
    """One line when the model states what the run does not: parameters coarser than the run's dtype (CS231n's
    float32 default in a float64 run), or a reg (CS231n's 0.5 reg sum W^2) other than the run's penalty."""
    cfg, who = settings.cfg, f"{settings.spec}()"
    run = np.dtype(cfg.dtype)
    for key, value in model.params.items():
        dtype = np.asarray(as_numpy(value)).dtype
        if np.issubdtype(dtype, np.floating) and np.finfo(dtype).eps > np.finfo(run).eps:
            raise CandidateError(
                f"{who} built .params['{key}'] in {dtype} for a {run.name} run: run with --dtype {dtype}, or build the "
                f"model in {run.name} (CS231n's dtype=np.{run.name})"
            )
    drop = getattr(model, "dropout_param", None)
    keep = drop.get("p") if isinstance(drop, dict) else None
    keep = None if keep in (None, 1) else float(keep)
    if keep is not None and not math.isclose(1 - keep, cfg.dropout or 0.0, rel_tol=1e-12, abs_tol=1e-15):
        raise CandidateError(
            f"{who}'s model keeps each unit with dropout_param p = {keep:g} (CS231n's keep probability), torch's "
            f"dropout p = {1 - keep:g}: run with --dropout {1 - keep:g}"
            + (f", not --dropout {cfg.dropout:g}" if cfg.dropout else "")
        )
    if cfg.dropout and keep is None and isinstance(drop, dict):
        raise CandidateError(
            f"{who}'s model does not drop units (no dropout_param p below 1), and the run has --dropout "
            f"{cfg.dropout:g}: build it with dropout_keep_ratio {1 - cfg.dropout:g}, or drop --dropout"
        )
    norm = getattr(model, "normalization", None)
    if isinstance(norm, str) or norm is None and hasattr(model, "normalization"):
        if (norm or "none") != cfg.norm:
            raise CandidateError(
                f"{who}'s model has normalization = {norm!r}, and the run has --norm {cfg.norm}: run with --norm "
                f"{norm or 'none'}"
            )
    reg = getattr(model, "reg", None)
    if isinstance(reg, (int, float)) and not isinstance(reg, bool):
        wants = dict(l2=float(reg), l2_norm="none") if reg else dict(l2=0.0)
        if mismatch(cfg, wants):
            raise CandidateError(
                f"{who}'s model has reg = {reg:g}, the penalty 0.5 reg sum W^2 of CS231n's models: run with "
                f"{flags(wants)}"
            )
