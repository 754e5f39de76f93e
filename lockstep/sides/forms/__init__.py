"""The forms the user's code comes in, one row each in FORMS, and how the tool reads it (search()).

  function  f(params, X, Y) -> (loss, grads)                                   function.py
  class     Net(params, **hyper), net.step(X, Y, lr) -> loss, .params, .grads  owner.py
  model     make_model() -> model, model.params, model.loss(X, y) -> (loss, grads)   function.py (CS231n)
  layers    make_layers() -> [dense1, activation1, ..., loss] or (that, optimizer)   layers.py (NNFS)

Each form goes with every layout (lockstep/sides/layouts.py) and every Boundary (boundary.py: samples as rows or
columns, Y one-hot or labels, NumPy arrays or torch tensors). `auto` reads the form from the object (a class; a
factory, called with no arguments, by what it makes; else a function), and the layout and boundary from the first
call: the first choice whose shapes come back, in the order of the tables. Adding a form is a row in FORMS and its
adapter (a protocol.Side).
"""

import inspect
from dataclasses import dataclass

from .. import layouts
from .base import CandidateError, CandidateSettings
from .boundary import ARRAYS, SAMPLES, TARGETS, Boundary, shape_of
from .function import FunctionCandidate, ModelCandidate, make
from .layers import LayersCandidate, LayersOwnUpdate, layouts_of, looks_like, split
from .owner import ClassCandidate
from .stated import check_model, suggest


@dataclass(frozen=True)
class CodeForm:
    """One form: its name (--form), its contract in one line, whether the user names a factory (called with no
    arguments) rather than the network, whether an object it made is of this form, the Side for what it made, and
    the (layout, Form) candidates it allows (None: all of them; else from its own arrays' shapes)."""

    name: str
    summary: str
    factory: bool
    made: object  # (what the factory made) -> bool; for a non-factory form: (the object) -> bool
    side: object  # (what the factory made, or None) -> the Side class
    among: object = None  # (CandidateSettings) -> [(layout, layouts.Form)], or None


def is_model(made):
    """CS231n's contract: an object with .params (a dict) and .loss."""
    return isinstance(getattr(made, "params", None), dict) and callable(getattr(made, "loss", None))


def model_layouts(settings):
    """The dict layouts whose keys and shapes are those of the model's .params (in any order: CS231n's TwoLayerNet
    sets b1 before W1); batch or layer norm parameters without --norm are one line."""
    model = make(settings, CandidateError)
    check_model(model, settings)
    cfg, who, n_layers = settings.cfg, f"{settings.spec}()", len(settings.cfg.sizes) - 1
    held = {k: shape_of(v) for k, v in model.params.items()}
    gammas = [k for k in held if str(k).rstrip("0123456789") in ("gamma", "beta")]
    if gammas and cfg.norm == "none":
        raise CandidateError(
            f"{who} built .params with {', '.join(map(str, gammas))}: batch or layer norm parameters; run with --norm "
            "batchnorm or --norm layernorm, as the model normalizes"
        )
    if not cfg.bias and any(str(k).startswith("b") for k in held):
        biases = ", ".join(k for k in held if str(k).startswith("b"))
        raise CandidateError(f"{who} built .params with biases ({biases}), and --no-bias has none; drop it")
    fits = []
    norm = cfg.norm != "none"
    for name, form in layouts.candidates(cfg.bias):
        names = layouts.keys(name, n_layers, cfg.bias, norm)
        wants = dict(zip(names, layouts.shapes(name, cfg.sizes, cfg.bias, form, norm)))
        if form.container == "dict" and held == wants:
            fits.append((name, form))
    if not fits:
        text = ", ".join(f"{k} {s}" for k, s in held.items())
        weights = [held[f"W{i}"] for i in range(1, len(held) + 1) if f"W{i}" in held]
        raise CandidateError(
            f"{who} built .params with {text}; no layout of --sizes {','.join(map(str, cfg.sizes))} has those keys "
            f"and shapes{suggest(weights) or ': check --sizes'}"
        )
    return fits


FORMS = {
    row.name: row
    for row in [
        CodeForm(
            "function",
            "f(params, X, Y) -> (loss, grads): the tool owns the parameters and the optimizer",
            False,
            lambda obj: not inspect.isclass(obj),
            lambda made: FunctionCandidate,
        ),
        CodeForm(
            "class",
            "Net(params, **hyper) with step(X, Y, lr) -> loss, .params (and .grads): the network owns its update",
            False,
            inspect.isclass,
            lambda made: ClassCandidate,
        ),
        CodeForm(
            "model",
            "make_model() -> an object with .params (a dict) and .loss(X, y) -> (loss, grads), CS231n's Solver's",
            True,
            is_model,
            lambda made: ModelCandidate,
            model_layouts,
        ),
        CodeForm(
            "layers",
            "make_layers() -> [dense1, activation1, ..., loss] or (layers, optimizer): NNFS's layer objects",
            True,
            looks_like,
            lambda made: LayersOwnUpdate if split(made)[1] is not None else LayersCandidate,
            layouts_of,
        ),
    ]
}


def detect(obj, given, spec, files):
    """(the FORMS row, what a factory made or None, why, in words) of the user's object; `given` is --form."""
    if given not in ("auto", *FORMS):
        raise CandidateError(f"--form {given!r} is not one of auto, {', '.join(FORMS)}")
    factories = [row for row in FORMS.values() if row.factory]
    if given != "auto":
        row = FORMS[given]
        made = (
            made_by(obj, spec, files, f"; --form {given} reads it as a factory: {row.summary}") if row.factory else None
        )
        if row.factory and not row.made(made):
            raise CandidateError(
                f"--form {given}: {spec}() made a {type(made).__name__}; the {given} form is {row.summary}"
            )
        return row, made, f"given as --form {given}"
    if inspect.isclass(obj):
        return FORMS["class"], None, "a class"
    if factory_takes_nothing(obj):
        made = made_by(obj, spec, files)
        for row in factories:
            if row.made(made):
                return row, made, f"{spec}() takes no arguments and made a {type(made).__name__}"
        raise CandidateError(
            f"{spec}() takes no arguments, so it is read as a factory, but it made a {type(made).__name__}: "
            + "; ".join(f"the {row.name} form: {row.summary}" for row in factories)
            + "; give --form to choose another"
        )
    return FORMS["function"], None, "a function of (params, X, Y)"


def factory_takes_nothing(obj):
    """Whether obj is a function (not a class) that can be called without arguments: a factory."""
    if inspect.isclass(obj) or not callable(obj):
        return False
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def made_by(obj, spec, files, why=""):
    """What the user's factory makes, called once with no arguments; its failure is one line (ending in `why`)."""
    from .base import where

    try:
        return obj()
    except (Exception, SystemExit) as e:
        raise CandidateError(f"{spec}() raised {where(e, files)}{why}") from None


def boundaries(cfg):
    """Every Boundary the search tries, in order: the given ones, or each choice of ARRAYS, SAMPLES, TARGETS."""
    pick = lambda given, choices: [given] if given != "auto" else list(choices)  # noqa: E731
    return [
        Boundary(a, s, t)
        for a in pick(cfg.arrays, ARRAYS)
        for s in pick(cfg.samples, SAMPLES)
        for t in pick(cfg.targets, TARGETS)
    ]


def search(cfg, try_call, among, m):
    """The Boundary, layout and Form the user's code speaks: (boundary, layout, form, why, the side of that trial).
    try_call(boundary, layout, form) builds a side and runs it once on the first batch (m samples). Each Boundary
    is tried in order until one fits a layout (layouts.infer); samples as rows, when the first batch is square (m
    equal to the inputs), must also leave columns unfit, else --samples is asked for. When nothing fits, the line is
    that of the trial that got furthest, and says what was tried."""
    failures, n_in = [], cfg.sizes[0]
    for b in boundaries(cfg):
        try:
            layout, form, why, side = fit(cfg, try_call, among, b)
        except CandidateError as e:
            if getattr(e, "final", False):
                raise
            failures.append((b, e))
            continue
        if cfg.samples == "auto" and b.samples == "rows" and m == n_in:
            try:
                fit(cfg, try_call, among, Boundary(b.arrays, "columns", b.targets))
            except CandidateError:
                pass
            else:
                e = CandidateError(
                    f"--samples auto cannot tell rows from columns: the first batch X ({m}, {n_in}) is square and both "
                    "fit; give --samples"
                )
                e.final = True
                raise e
        return b, layout, form, why, side
    best = max(failures, key=lambda f: getattr(f[1], "progress", (2,)))  # the first of the furthest
    error = CandidateError(f"{best[1]}{tried(cfg)}")
    error.progress = getattr(best[1], "progress", (2,))
    raise error


def fit(cfg, try_call, among, boundary):
    """(layout, form, why, the side of that trial) for one Boundary: layouts.infer over the candidates."""
    sides = {}

    def attempt(layout, form):
        sides[layout, form] = try_call(boundary, layout, form)
        return sides[layout, form]

    only = None if cfg.layout == "auto" else cfg.layout
    norm = cfg.norm != "none"
    layout, form, why = layouts.infer(cfg.sizes, cfg.bias, attempt, CandidateError, only, among=among, norm=norm)
    return layout, form, why, sides[layout, form]


def tried(cfg):
    """'; tried samples as rows and columns (--samples), ...' for the dimensions the search tried."""
    parts = []
    for setting, what in (("samples", "samples as rows and as columns"), ("targets", "Y one-hot and as labels")):
        if getattr(cfg, setting) == "auto":
            parts.append(f"{what} (--{setting})")
    if cfg.arrays == "auto":
        parts.append("NumPy arrays and torch tensors (--arrays)")
    return f"; tried {', '.join(parts)}" if parts else ""


__all__ = ["FORMS", "CandidateError", "CandidateSettings", "CodeForm", "detect", "search"]
