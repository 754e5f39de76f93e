"""The user's own network as the side under test: build() loads it, reads its form, layout and boundary
(lockstep/sides/forms/: the FORMS table and search()) and builds the side from the one Generator.

The forms (a function, a class that owns its update, CS231n's model object, NNFS's layer objects), how each is
called and compared, and the Boundary its arrays cross (samples as rows or columns, Y one-hot or labels, NumPy
arrays or torch tensors) are in lockstep/sides/forms/. Only code the user names is ever imported and run; anything
it does wrong is a CandidateError, one line for the user.
"""

import warnings
from dataclasses import replace

from .forms import FORMS, detect, search
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


def build(candidate, cfg, rng, n_train, first_batch):
    """The candidate side: load a 'file.py:name', read its form (FORMS), and its layout and boundary from the first
    batch (forms.search: the first whose shapes come back), and build it from the one Generator."""
    if isinstance(candidate, str):
        obj, _ = load(candidate)
        spec = candidate
    else:
        obj, spec = candidate, getattr(candidate, "__qualname__", repr(candidate))
        if not callable(obj):
            raise CandidateError(f"the candidate {spec} is neither a function nor a class")
    files = user_files()
    row, made, why = detect(obj, cfg.form, spec, files)
    side_class = row.side(made)
    base = CandidateSettings(obj, cfg, n_train, "torch", Form(), spec, files, row.name, why=why)
    try:
        among = row.among(base) if row.among else None
        state = rng.bit_generator.state  # the initial weights are drawn once, for the layout that is chosen

        def try_call(boundary, layout, form):
            rng.bit_generator.state = state
            with warnings.catch_warnings():  # what code says when handed a form it was not written for is not news
                warnings.simplefilter("ignore")
                side = side_class(replace(base, layout=layout, form=form, boundary=boundary), cfg.dtype, rng)
                side.step(*first_batch)
            return side

        boundary, layout, form, chosen, trial = search(cfg, try_call, among, len(first_batch[0]))
    except CandidateError as e:
        if getattr(e, "final", False):
            raise
        raise CandidateError(f"{e}; read as the {row.name} form ({why}; --form chooses another)") from None
    rng.bit_generator.state = state
    exposed, ignored = trial.found or ((), ())
    settings = replace(base, layout=layout, form=form, boundary=boundary, exposed=exposed, ignored=ignored)
    side = side_class(settings, cfg.dtype, rng)
    notes = [f"form {row.name}: {why}"] if cfg.form == "auto" and row.name != "function" else []
    notes += [chosen] if cfg.layout == "auto" else []
    auto = [k for k in ("samples", "targets", "arrays") if getattr(cfg, k) == "auto"]
    if auto and boundary != type(boundary)():
        notes.append(f"read with {boundary} (inferred from the first call)")
    side.chosen = "\n".join(notes) or None
    return side
