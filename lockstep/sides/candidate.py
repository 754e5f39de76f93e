"""The user's own network as the side under test: build() loads it, reads its form, layout and boundary
(lockstep/sides/forms/: the FORMS table and search()) and builds the side from the one Generator.

The forms (a function, a class that owns its update, CS231n's model object, NNFS's layer objects), how each is
called and compared, and the Boundary its arrays cross (samples as rows or columns, Y one-hot or labels, NumPy
arrays or torch tensors) are in lockstep/sides/forms/. Only code the user names is ever imported and run; anything
it does wrong is a CandidateError, one line for the user.
"""

import warnings
from dataclasses import replace

from .forms import FORMS, detect, draws, search
from .forms.base import (
    TRACE_BATCH,
    Candidate,
    CandidateError,
    CandidateSettings,
    grad_names,
    lines_reached,
    load,
    user_files,
    where,
)
from .forms.function import FunctionCandidate, ModelCandidate
from .forms.layers import LayersCandidate, LayersOwnUpdate
from .forms.owner import HYPER, ClassCandidate, cast, hyper
from .layouts import Form

__all__ = [
    "FORMS",
    "HYPER",
    "TRACE_BATCH",
    "Candidate",
    "CandidateError",
    "CandidateSettings",
    "ClassCandidate",
    "FunctionCandidate",
    "LayersCandidate",
    "LayersOwnUpdate",
    "ModelCandidate",
    "build",
    "cast",
    "grad_names",
    "hyper",
    "lines_reached",
    "load",
    "user_files",
    "where",
]


LAYERED = ("function", "model")  # the forms whose code may hold a batch or layer norm and dropout


def refuse_layers(row, cfg):
    """One line for a norm or dropout in a form that does not read them yet (a class's own update, layer objects)."""
    given = [f for f, on in (("--norm", cfg.norm != "none"), ("--dropout", cfg.dropout)) if on]
    if given and row.name not in LAYERED:
        raise CandidateError(
            f"{given[0]}: your code in the {row.name} form is checked with dense layers only; the "
            f"{' and '.join(LAYERED)} forms read a norm and dropout in your code: write it as f(params, X, Y) -> "
            f"(loss, grads), or drop {given[0]}"
        )


def fits_without_norm(trials, base):
    """Whether the code fits the run's network without a norm (its parameters without gamma and beta)."""
    try:
        trials(replace(base, cfg=replace(base.cfg, norm="none")))
    except CandidateError:
        return False
    return True


def build(candidate, cfg, rng, n_train, first_batch):
    """The candidate side: load a 'file.py:name', read its form (FORMS), and its layout and boundary from the first
    batch (forms.search: the first whose shapes come back), and build it from the one Generator."""
    if isinstance(candidate, str):
        with draws.seeded(cfg.seed) as start:  # what code that never seeds draws is the same run after run
            obj, _ = load(candidate)
        spec = candidate
    else:
        obj, spec = candidate, getattr(candidate, "__qualname__", repr(candidate))
        if not callable(obj):
            raise CandidateError(f"the candidate {spec} is neither a function nor a class")
    files = user_files()
    row, made, why = detect(obj, cfg.form, spec, files)
    side_class = row.side(made)
    refuse_layers(row, cfg)
    # what the code's first call draws from, in every trial: the state its module left (a file) or that it has now
    streams = (start.state if isinstance(candidate, str) else draws.current()) if cfg.dropout else None
    base = CandidateSettings(obj, cfg, n_train, "torch", Form(), spec, files, row.name, why=why, streams=streams)
    among = None
    state = rng.bit_generator.state  # the initial weights are drawn once, for the layout that is chosen

    def trials(settings):
        def try_call(boundary, layout, form):
            rng.bit_generator.state = state
            with warnings.catch_warnings():  # what code says when handed a form it was not written for is not news
                warnings.simplefilter("ignore")
                side = side_class(replace(settings, layout=layout, form=form, boundary=boundary), cfg.dtype, rng)
                side.step(*first_batch)
            return side

        return search(settings.cfg, try_call, among, len(first_batch[0]))

    try:
        among = row.among(base) if row.among else None
        boundary, layout, form, chosen, trial = trials(base)
    except CandidateError as e:
        if getattr(e, "final", False):
            raise
        if cfg.norm != "none" and row.name == "function" and fits_without_norm(trials, base):
            raise CandidateError(
                f"--norm {cfg.norm}: {spec} fits this network without a norm (its params without gamma and beta); "
                "drop --norm, or take each hidden layer's norm weight and bias after its W and b ([W0, b0, gamma0, "
                "beta0, W1, ...], or gamma1, beta1 in a dict)"
            ) from None
        raise CandidateError(f"{e}; read as the {row.name} form ({why}; --form chooses another)") from None
    rng.bit_generator.state = state
    exposed, ignored = trial.found or ((), ())
    rule = getattr(trial, "rule", None)
    settings = replace(base, layout=layout, form=form, boundary=boundary, exposed=exposed, ignored=ignored)
    settings = replace(settings, masks_rule=rule)
    side = side_class(settings, cfg.dtype, rng)
    notes = [f"form {row.name}: {why}"] if cfg.form == "auto" and row.name != "function" else []
    notes += [chosen] if cfg.layout == "auto" else []
    auto = [k for k in ("samples", "targets", "arrays") if getattr(cfg, k) == "auto"]
    if auto and boundary != type(boundary)():
        notes.append(f"read with {boundary} (inferred from the first call)")
    notes += [rule[1]] if rule else []
    side.chosen = "\n".join(notes) or None
    return side
