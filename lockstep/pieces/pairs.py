"""The user's pieces: a file imported on its own, its pairs (NAME_forward with NAME_backward, or a loss NAME(x, y))
found by name, and one call of a pair on one case's inputs (or that call again under the tracer)."""

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import trace
from ..config import SettingError
from ..sides.candidate import CandidateError, where
from ..sides.forms.base import import_file
from .kinds import KINDS, STEMS

FORWARD_PHASES = {"out": "forward", "loss": "loss", "running_mean": "forward", "running_var": "forward"}
UNBOUNDED = {
    "batchnorm": "batch norm's rounding bound is not in lockstep/judge/bounds.py yet",
    "layernorm": "layer norm's rounding bound is not in lockstep/judge/bounds.py yet",
    "dropout": "dropout's rounding bound is not in lockstep/judge/bounds.py yet",
}


@dataclass
class Pair:
    """The functions of one piece, the kind they are checked as, and their file."""

    file: Path
    name: str  # the stem
    kind: object  # kinds.Kind
    forward: object = None
    backward: object = None
    loss: object = None
    forward_name: str | None = None
    backward_name: str | None = None
    settings: dict | None = None

    @property
    def label(self):
        return f"{self.file.name}:{self.name}"

    def describe(self):
        names = dict(loss=self.name) if self.loss else dict(forward=self.forward_name, backward=self.backward_name)
        return dict(file=str(self.file), name=self.name, kind=self.kind.name, op=self.kind.op, **names)


def load_module(path):
    """The user's file imported on its own (its folder on sys.path while it imports, for its own helpers)."""
    return import_file(path, "layer", "_piece_", keep_folder=False)


def functions(module):
    """{name: function} defined in the module itself, in the order of their lines."""
    found = [
        (v.__code__.co_firstlineno, k, v)
        for k, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__
    ]
    return {k: v for _, k, v in sorted(found)}


def kind_of(stem, kind):
    """The Kind for a stem (or the --kind given): None when there is none; SettingError for an unknown --kind."""
    name = kind or STEMS.get(stem, stem)
    if kind and kind not in KINDS and kind not in UNBOUNDED:
        raise SettingError(f"--kind {kind!r} is not one of {', '.join(list(KINDS) + list(UNBOUNDED))}")
    return name


def pair_of(module, file, stem, backward=None, kind=None, settings=None):
    """The Pair of `stem` in the module: stem_forward with stem_backward (or `backward`), or the loss `stem`."""
    fns = functions(module)
    kind_name = kind_of(stem, kind)
    if kind_name in UNBOUNDED and kind_name not in KINDS:
        raise SettingError(f"{file.name}:{stem}: not checked: {UNBOUNDED[kind_name]}; no other tolerance stands in")
    k = KINDS.get(kind_name)
    if k is None:
        raise SettingError(
            f"{file.name}:{stem}: no kind is known for the stem {stem!r}; give --kind, one of {', '.join(KINDS)}"
        )
    if k.loss:
        fn = fns.get(stem) or fns.get(f"{stem}_loss")
        if fn is None:
            raise CandidateError(f"{file.name} has no function {stem!r}; it defines {', '.join(fns) or 'none'}")
        return Pair(file, stem, k, loss=fn, settings=settings)
    fwd, bwd = f"{stem}_forward", backward or f"{stem}_backward"
    missing = [n for n in (fwd, bwd) if n not in fns]
    if missing:
        raise CandidateError(
            f"{file.name} has no function {missing[0]!r} for the pair {stem!r}; it defines {', '.join(fns) or 'none'}"
        )
    return Pair(file, stem, k, fns[fwd], fns[bwd], None, fwd, bwd, settings)


def pairs_in(module, file, kind=None, settings=None):
    """Every piece of the file, in the order of its lines: [(stem, backward name or None, loss)], each a forward with
    its backward (and each alternative stem_backward_* as a pair of its own), or a loss f(x, y)."""
    fns, found = functions(module), []
    for name, fn in fns.items():
        if name.endswith("_forward") and f"{name[:-8]}_backward" in fns:
            stem = name[:-8]
            found += [(stem, b) for b in fns if b == f"{stem}_backward" or b.startswith(f"{stem}_backward_")]
        elif (name.endswith("_loss") or name in KINDS and KINDS[name].loss) and len(_params(fn)) == 2:
            found.append((name, None))
    return found


def _params(fn):
    return list(inspect.signature(fn).parameters.values())


# -- calling the user's code -----------------------------------------------------------------------------------
def cast(inputs, dtype):
    """The inputs in `dtype`: floating arrays cast, integer labels and settings kept."""
    return {k: (v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v) for k, v in inputs.items()}


def forward_args(pair, i):
    """The forward's arguments: the kind's inputs, its param dicts filled as the course's notebooks fill them (fresh
    at every call: bn_param, ln_param, dropout_param), and leaky_relu's slope where the function takes one (as a
    number, or as a param dict {'alpha': ...} when its name says param)."""
    args = [i[a].copy() for a in pair.kind.args] + (pair.kind.params(i) if pair.kind.params else [])
    extra = _params(pair.forward)[len(args) :]
    if extra and "leaky_slope" in i:
        slope = i["leaky_slope"]
        args.append(dict(alpha=slope, slope=slope, negative_slope=slope) if "param" in extra[0].name else slope)
    return args


class Seeded:
    """np.random seeded the same before every call of the user's code (its dropout masks repeat at every re-run,
    traced or in extended precision), its state restored afterwards."""

    def __enter__(self):
        self.state = np.random.get_state()
        np.random.seed(SEED)

    def __exit__(self, *exc):
        np.random.set_state(self.state)


SEED = 231


def array_out(value, who, what):
    """A returned output as a float array; None or anything not numbers is a CandidateError (one line)."""
    try:
        a = None if value is None else np.asarray(value)
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind not in "fiub":
        raise CandidateError(f"{who} returned {type(value).__name__} for {what}; expected an array of numbers")
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def call(pair, i, outputs=None):
    """The user's outputs {name: array} for inputs i (in one dtype), the objects it returned by name, and what the
    kind reads off the call for torch (dropout's mask). `outputs` (a case's) may leave the backward out."""
    k, found = pair.kind, {}
    try:
        if k.loss:
            result = pair.loss(i["x"].copy(), i["y"].copy())
            who = pair.label
            if not isinstance(result, tuple) or len(result) != 2:
                raise CandidateError(f"{who} returned {type(result).__name__}; expected a pair (loss, dx)")
            returned = dict(loss=result[0], dx=result[1])
        else:
            who = pair.forward_name
            args = forward_args(pair, i)
            with Seeded():
                result = pair.forward(*args)
            if not isinstance(result, tuple) or len(result) != 2:
                raise CandidateError(f"{who} returned {type(result).__name__}; expected a pair (out, cache)")
            out, cache = result
            extra, found = k.after(args, out, cache, i) if k.after else ({}, {})
            if outputs is not None and not set(k.grads) & set(outputs):
                returned = dict(out=out, **extra)
                return {n: array_out(v, who, n) for n, v in returned.items()}, returned, found
            who = pair.backward_name
            grads = pair.backward(i["dout"].copy(), cache)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) != len(k.grads):
                raise CandidateError(
                    f"{who} returned {len(grads)} value(s); expected {len(k.grads)}: {', '.join(k.grads)}"
                )
            returned = dict(out=out, **extra, **dict(zip(k.grads, grads)))
    except CandidateError:
        raise
    except (Exception, SystemExit) as e:
        raise CandidateError(f"{who} raised {where(e, [pair.file])}") from None
    return {name: array_out(v, who, name) for name, v in returned.items()}, returned, found


def traced(pair, i, output):
    """(events, the object returned for `output`): the call that gives `output`, run once more under the tracer."""
    k = pair.kind
    if k.loss:
        result, events = trace.record(lambda: pair.loss(i["x"].copy(), i["y"].copy()), trace.UserFiles())
        return events, result[0 if output == "loss" else 1]
    args = forward_args(pair, i)
    if output in FORWARD_PHASES:
        with Seeded():
            result, events = trace.record(lambda: pair.forward(*args), trace.UserFiles())
        extra, _ = k.after(args, result[0], result[1], i) if k.after else ({}, {})
        return events, result[0] if output == "out" else extra[output]
    with Seeded():
        _, cache = pair.forward(*args)
    result, events = trace.record(lambda: pair.backward(i["dout"].copy(), cache), trace.UserFiles())
    result = result if isinstance(result, tuple) else (result,)
    return events, result[k.grads.index(output)]


# -- judging: the training step's rule, output by output ----------------------------------------------------------
