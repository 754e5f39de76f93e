"""mlp-crosscheck layer FILE.py:NAME: one forward/backward pair (or one loss) checked against the matching torch op.

A pair is NAME_forward(x, ...) -> (out, cache) with NAME_backward(dout, cache) -> its gradients (a tuple dx, dw,
db ... as CS231n returns them, or dx alone), or a loss NAME(x, y) -> (loss, dx). The kind (lockstep/pieces/kinds.py)
is the stem's, or --kind. Every input case of the kind is run in float64 and float32; each output is compared under
the fixed tolerance, and an excess is judged as a training step's is: against the op's rounding bound, then in
extended precision (float64) or in float64 (float32). Where an output departs, the call that gave it is traced and
the line named (lockstep/pieces/locate.py), with the suspect that fits.
"""

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import trace
from ..config import SettingError
from ..findings.findings import SUSPECT_FIT, relation
from ..findings.signatures import fit
from ..judge import bounds, judge
from ..judge.tolerance import BLIND, TOLERANCES, compare, exceeds_value, worst
from ..records import Finding, PieceDeparture, PieceResult, PieceVerdict
from ..sides.candidate import CandidateError, where
from .kinds import KINDS, STEMS
from .locate import locate

DTYPES = {"both": ("float64", "float32"), "float64": ("float64",), "float32": ("float32",)}
FORWARD_PHASES = {"out": "forward", "loss": "loss", "running_mean": "forward", "running_var": "forward"}
EXIT = dict(agree=0, diverge=1, error=2, inconclusive=3, skipped=0)
# kinds whose rounding bounds are not written yet: refused, never judged by a tolerance made up for them
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
    file = Path(path)
    if not file.is_file():
        raise CandidateError(f"layer: file {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"_piece_{file.stem}", file)
    if spec is None:
        raise CandidateError(f"layer: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        raise CandidateError(f"importing {path} failed: {where(e, [file])}") from None
    finally:
        sys.path.pop(0)
    return module, file.resolve()


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
    if kind_name in UNBOUNDED:
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
    """The forward's arguments: the kind's inputs, and leaky_relu's slope where the function takes one (as a
    number, or as a param dict {'alpha': ...} when its name says param)."""
    args = [i[a].copy() for a in pair.kind.args]
    extra = _params(pair.forward)[len(args) :]
    if extra and "leaky_slope" in i:
        slope = i["leaky_slope"]
        args.append(dict(alpha=slope, slope=slope, negative_slope=slope) if "param" in extra[0].name else slope)
    return args


def array_out(value, who, what):
    """A returned output as a float array; None or anything not numbers is a CandidateError (one line)."""
    try:
        a = None if value is None else np.asarray(value)
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind not in "fiub":
        raise CandidateError(f"{who} returned {type(value).__name__} for {what}; expected an array of numbers")
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def call(pair, i):
    """The user's outputs {name: array} for inputs i (in one dtype), and the objects it returned by name."""
    k = pair.kind
    try:
        if k.loss:
            result = pair.loss(i["x"].copy(), i["y"].copy())
            who = pair.label
            if not isinstance(result, tuple) or len(result) != 2:
                raise CandidateError(f"{who} returned {type(result).__name__}; expected a pair (loss, dx)")
            returned = dict(loss=result[0], dx=result[1])
        else:
            who = pair.forward_name
            result = pair.forward(*forward_args(pair, i))
            if not isinstance(result, tuple) or len(result) != 2:
                raise CandidateError(f"{who} returned {type(result).__name__}; expected a pair (out, cache)")
            out, cache = result
            who = pair.backward_name
            grads = pair.backward(i["dout"].copy(), cache)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) != len(k.grads):
                raise CandidateError(
                    f"{who} returned {len(grads)} value(s); expected {len(k.grads)}: {', '.join(k.grads)}"
                )
            returned = dict(out=out, **dict(zip(k.grads, grads)))
    except CandidateError:
        raise
    except (Exception, SystemExit) as e:
        raise CandidateError(f"{who} raised {where(e, [pair.file])}") from None
    return {name: array_out(v, who, name) for name, v in returned.items()}, returned


def traced(pair, i, output):
    """(events, the object returned for `output`): the call that gives `output`, run once more under the tracer."""
    k = pair.kind
    if k.loss:
        result, events = trace.record(lambda: pair.loss(i["x"].copy(), i["y"].copy()), trace.UserFiles())
        return events, result[0 if output == "loss" else 1]
    args = forward_args(pair, i)
    if output in FORWARD_PHASES:
        result, events = trace.record(lambda: pair.forward(*args), trace.UserFiles())
        return events, result[0]
    _, cache = pair.forward(*args)
    result, events = trace.record(lambda: pair.backward(i["dout"].copy(), cache), trace.UserFiles())
    result = result if isinstance(result, tuple) else (result,)
    return events, result[k.grads.index(output)]


# -- judging: the training step's rule, output by output ----------------------------------------------------------
def torch_of(dtype):
    return getattr(torch, np.dtype(dtype).name)


def judge_output(name, case, dtype, ours, ref, E, raised):
    """A PieceVerdict: the fixed tolerance, then the rounding bound E (the same for either side: both compute in
    `dtype` from the same inputs), then for float64 the precision ladder (raised(): the user's outputs in
    np.longdouble, or a reason it cannot run)."""
    phase = FORWARD_PHASES.get(name, "backward")
    tol = TOLERANCES[dtype]
    if ours.shape != ref.shape:
        return PieceVerdict(case, dtype, name, np.inf, tol.for_phase(phase), False, "shape")
    c = compare(phase, name, ours, ref, tol)
    if c.ok:
        return PieceVerdict(case, dtype, name, c.max_rel, tol.for_phase(phase), True, "tolerance")
    if not (c.ours_finite and c.ref_finite):
        note = None
        if dtype == "float64" and c.ref_finite:  # does the maths stay finite? (it matters, but it is no gradient error)
            high, why = raised()
            if high is None:
                note = f"not re-run in extended precision: {why}"
            elif np.isfinite(high[name]).all():
                note = (
                    "in extended precision your code stays finite here: the maths is right, and float64 rounding "
                    "takes your formula to an overflow, log(0) or 0/0 where torch's stable one stays finite (a "
                    "softmax without the max shift, the log of a probability that underflows)"
                )
        return PieceVerdict(case, dtype, name, np.inf, tol.for_phase(phase), False, "non-finite", note=note)
    x = bounds.excess(ours, ref, E, E)
    threshold = c.max_rel / x if x else np.inf
    if x <= 1 + judge.OWN:
        return PieceVerdict(case, dtype, name, c.max_rel, threshold, True, "rounding bound")
    if dtype != "float64":
        return PieceVerdict(case, dtype, name, c.max_rel, threshold, False, "rounding bound")
    high, why = raised()
    if high is None:
        note = f"not re-run in extended precision: {why}"
        return PieceVerdict(case, dtype, name, c.max_rel, threshold, False, "rounding bound", note=note)
    ok = judge.raised_excess(phase, high[name], ours, ref, E, dtype) <= 1 + judge.OWN
    note = "beyond torch's rounding, but in extended precision your code agrees: its own rounding" if ok else None
    return PieceVerdict(case, dtype, name, c.max_rel, threshold, ok, "extended precision", note=note)


@dataclass
class Run:
    """One case in one dtype: the inputs, the user's outputs, torch's, the bounds and the judgements."""

    case: object
    dtype: str
    inputs: dict
    ours: dict
    ref: dict
    verdicts: list


def run_case(pair, case, dtype):
    i = cast(dict(case.inputs, **(pair.settings or {})), np.dtype(dtype))
    ours, _ = call(pair, i)
    ref = pair.kind.torch(i, torch_of(dtype))
    i64, r64 = cast(i, np.float64), {k: np.asarray(v, np.float64) for k, v in ref.items()}
    u = judge.unit(dtype)
    E = pair.kind.bounds(i64, r64, u, bounds.tiny_for(u), np.float64)
    memo = {}

    def raised():
        if "high" not in memo:
            memo["high"] = _raised(pair, i)
        return memo["high"]

    verdicts = [judge_output(n, case.name, dtype, ours[n], ref[n], E[n], raised) for n in pair.kind.outputs()]
    return Run(case, dtype, i, ours, ref, verdicts)


def _raised(pair, i):
    """(the user's outputs in np.longdouble, None), or (None, why that rung cannot run)."""
    if not judge.RAISES:
        return None, "np.longdouble is no wider than float64 on this platform"
    try:
        high, _ = call(pair, cast(i, judge.LONG))
    except CandidateError as e:
        return None, f"your code raised {e} when given np.longdouble"
    low = [n for n, v in high.items() if np.finfo(v.dtype).eps >= np.finfo(np.float64).eps and v.size > 1]
    if low:
        return None, f"it computed {low[0]} in {high[low[0]].dtype} when given np.longdouble"
    return high, None


def arbitrate32(pair, run, v):
    """A float32 output beyond float32's bound: the same inputs in float64 decide. Returns (the verdict, the float64
    Run, when it is there that the output departs)."""
    exact = run_case(pair, _Case(run.case.name, cast(run.inputs, np.float64)), "float64")
    v64 = next(x for x in exact.verdicts if x.output == v.output)
    if not v64.ok:
        return v, exact
    note = "float32 arithmetic here rounds beyond float32's rounding of torch's formula; float64 agrees"
    ours, ref = run.ours[v.output], run.ref[v.output]
    if v.how == "non-finite" or exceeds_value(FORWARD_PHASES.get(v.output, "backward"), ours, ref):
        return PieceVerdict(**dict(vars(v), float32_only=True, note=judge.ANOTHER_VALUE)), None
    return PieceVerdict(**dict(vars(v), ok=True, float32_only=True, note=note)), None


@dataclass(frozen=True)
class _Case:
    name: str
    inputs: dict


def check_pair(pair, dtypes=DTYPES["both"], seed=0):
    """Check one piece on every case of its kind in each dtype: a PieceResult."""
    cases = pair.kind.cases(np.random.default_rng(seed))
    runs, verdicts, first = [], [], {}
    for case in cases:
        for dtype in dtypes:
            run = run_case(pair, case, dtype)
            for k, v in enumerate(run.verdicts):
                where_run = run
                if not v.ok and dtype == "float32":
                    v, exact = arbitrate32(pair, run, v)
                    run.verdicts[k] = v
                    if exact is not None:  # float64 departs too: the maths is wrong, located there
                        where_run = exact
                if not v.ok and v.output not in first:
                    first[v.output] = (where_run, v)
            verdicts += run.verdicts
            runs.append(run)
    departures = [depart(pair, *first[n]) for n in pair.kind.outputs() if n in first]
    # the finest threshold each output was held to over the cases, by dtype: a wrong formula shows in every case,
    # so that is the smallest difference the check could see (a case may be blind to one output: db = 0 exactly)
    floor = {dtype: {} for dtype in dtypes}
    for v in verdicts:
        f = floor[v.dtype]
        f[v.output] = min(f.get(v.output, np.inf), v.threshold)
    findings = [d.suspect for d in departures if d.suspect is not None]
    tolerated = [v for v in verdicts if v.ok and v.float32_only]
    if tolerated:
        findings.append(
            Finding(
                "float32_only",
                f"In float32, {tolerated[0].output} ({tolerated[0].case}) differs from torch beyond float32's rounding "
                f"of its formula while float64 agrees: your float32 arithmetic loses digits there ({len(tolerated)} "
                "output(s) and case(s)). Not a maths error.",
            )
        )
    verdict = "diverge" if departures else "agree"
    if verdict == "agree" and "float64" not in dtypes and any(f > BLIND for f in floor["float32"].values()):
        verdict = "inconclusive"
    return PieceResult(
        piece=pair.describe(),
        verdict=verdict,
        exit_code=EXIT[verdict],
        cases=[c.name for c in cases],
        dtypes=list(dtypes),
        verdicts=verdicts,
        departures=departures,
        findings=findings,
        detection_floor=floor,
    )


def depart(pair, run, v):
    """The PieceDeparture of output v in `run`: its worst elements, the line (traced), the suspect."""
    name, ours, ref = v.output, run.ours[v.output], run.ref[v.output]
    dep = PieceDeparture(name, run.case.name, run.dtype, v, worst(ours, ref))
    if ours.shape != ref.shape:
        dep.shapes = (ours.shape, ref.shape)
    i64 = cast(run.inputs, np.float64)
    known = pair.kind.known(i64, {k: np.asarray(x, np.float64) for k, x in run.ref.items()})
    dep.suspect = suspect(pair, name, np.asarray(ours, np.float64), i64, known, run.dtype)
    tol = TOLERANCES[run.dtype]
    agree = lambda a, b: compare("update", "", a, b, tol).ok  # noqa: E731
    try:
        with np.errstate(all="ignore"):
            events, returned = traced(pair, run.inputs, name)
            source, why = locate(events, name, np.asarray(ref, np.float64), known, returned, agree)
    except Exception as e:  # noqa: BLE001 - the verdict stands without a line
        source, why = None, f"the source line could not be traced ({type(e).__name__}: {str(e)[:200]})"
    dep.source = source or {"unmatched": why}
    return dep


def suspect(pair, name, ours, i64, known, dtype):
    """The suspect Finding whose prediction fits the departing output, or an 'unmatched' one saying what relates it
    to torch's (one constant factor, a reshape, a transpose, or none)."""
    ref = known[name] if name in known else None
    if not np.isfinite(ours).all():
        return Finding(
            "non_finite",
            f"{name} is NaN or inf where torch's is finite: look for exp without the max shift, a log of 0, or a "
            "division by 0.",
        )
    fits = []
    for s in pair.kind.suspects:
        if s.output == name:
            with np.errstate(all="ignore"):
                res, _ = fit(ours, np.asarray(s.predict(i64, known), np.float64), "")
            if res <= SUSPECT_FIT[dtype]:
                fits.append((res, s))
    if fits:
        res, s = min(fits, key=lambda f: f[0])
        return Finding("suspect", f"Likely cause: {s.name}: {s.text} (the prediction fits to {res:.1e}).", s.name)
    if ref is None:
        return None
    if ours.shape != ref.shape:
        if ours.size == ref.size and fit(ours, ref.reshape(ours.shape), "")[0] <= SUSPECT_FIT[dtype]:
            text = f"{name} has torch's values in shape {ours.shape}: reshape it to {ref.shape}"
        elif ref.ndim == 2 and ours.shape == ref.T.shape and fit(ours, ref.T, "")[0] <= SUSPECT_FIT[dtype]:
            text = f"{name} is torch's transposed: shape {ours.shape} where it should be {ref.shape}"
        else:
            text = f"{name} has shape {ours.shape} where torch's is {ref.shape}"
        return Finding("unmatched", text + ".")
    return Finding("unmatched", f"No known mistake explains {name}: {relation(ours, ref, SUSPECT_FIT[dtype])}.")


# -- the entry point --------------------------------------------------------------------------------------------
def check(spec, kind=None, backward=None, dtype="both", seed=0, leaky_slope=None):
    """[PieceResult] for 'file.py:NAME' (one piece) or 'file.py' (every piece it holds, the worst first)."""
    if dtype not in DTYPES:
        raise SettingError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    path, name = (str(spec).rsplit(":", 1) + [""])[:2] if ".py:" in str(spec) else (str(spec), "")
    if not path.endswith(".py"):
        raise SettingError(f"layer {spec!r}: give it as path/to/layers.py:NAME (a pair's stem) or path/to/layers.py")
    module, file = load_module(path)
    settings = {} if leaky_slope is None else dict(leaky_slope=float(leaky_slope))
    if name:
        pair = pair_of(module, file, name, backward, kind, _settings(module, name, kind, settings))
        return [check_pair(pair, DTYPES[dtype], seed)]
    if backward:
        raise SettingError("--backward picks one pair's backward; give the pair too, as layers.py:NAME")
    found = pairs_in(module, file, kind)
    if not found:
        raise CandidateError(f"{file.name} holds no pair NAME_forward/NAME_backward and no loss NAME(x, y)")
    results = []
    for stem, bwd in found:
        kind_name = kind_of(stem, kind)
        label = f"{file.name}:{stem}" + (f" --backward {bwd}" if bwd and bwd != f"{stem}_backward" else "")
        if kind_name not in KINDS:
            why = UNBOUNDED.get(kind_name, f"no kind is known for the stem {stem!r} (give --kind)")
            results.append(_not_checked(file, stem, bwd, "skipped", why, label))
            continue
        try:
            pair = pair_of(module, file, stem, bwd, kind, _settings(module, stem, kind, settings))
            results.append(check_pair(pair, DTYPES[dtype], seed))
        except SettingError as e:
            results.append(_not_checked(file, stem, bwd, "error", str(e), label))
    if all(r.verdict == "skipped" for r in results):
        raise SettingError(f"{file.name}: no piece could be checked: " + "; ".join(r.error for r in results))
    order = dict(diverge=0, error=1, inconclusive=2, agree=3, skipped=4)
    return sorted(results, key=lambda r: order[r.verdict])


def _settings(module, stem, kind, given):
    """The kind's settings: as given, else the forward's own default for them (leaky_relu_forward(x, alpha=0.1)),
    else the kind's (torch's)."""
    k = KINDS.get(kind_of(stem, kind))
    forward = functions(module).get(f"{stem}_forward")
    extra = _params(forward)[len(k.args) :] if forward and k else []
    own = extra[0].default if extra and isinstance(extra[0].default, (int, float)) else None
    return {key: given.get(key, default if own is None else own) for key, default in (k.settings if k else {}).items()}


def _not_checked(file, stem, backward, verdict, why, label):
    piece = dict(file=str(file), name=stem, kind=None, op=None, forward=f"{stem}_forward", backward=backward)
    return PieceResult(piece=dict(piece, label=label), verdict=verdict, exit_code=EXIT[verdict], error=why)
