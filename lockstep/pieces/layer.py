"""mlp-crosscheck layer FILE.py:NAME: one forward/backward pair (or one loss) checked against the matching torch op.

A pair is NAME_forward(x, ...) -> (out, cache) with NAME_backward(dout, cache) -> its gradients (a tuple dx, dw,
db ... as CS231n returns them, or dx alone), or a loss NAME(x, y) -> (loss, dx) (lockstep/pieces/pairs.py). The kind
(lockstep/pieces/kinds.py, norms.py) is the stem's, or --kind. Every input case of the kind is run in float64 and
float32, each output judged as a training step's tensors are (lockstep/pieces/judging.py). Where an output departs,
the call that gave it is traced and the line named (lockstep/pieces/locate.py), with the suspect that fits.
"""

import numpy as np

from ..config import SettingError
from ..findings.findings import SUSPECT_FIT, relation
from ..findings.signatures import fit
from ..judge.tolerance import BLIND, TOLERANCES, compare, worst
from ..records import Element, Finding, PieceDeparture, PieceResult
from ..sides.candidate import CandidateError
from .judging import arbitrate32, judge_output, run_case, torch_of  # noqa: F401 - judge_output, torch_of for callers
from .kinds import KINDS
from .locate import locate
from .pairs import UNBOUNDED, _params, cast, functions, kind_of, load_module, pair_of, pairs_in, traced

DTYPES = {"both": ("float64", "float32"), "float64": ("float64",), "float32": ("float32",)}
EXIT = dict(agree=0, diverge=1, error=2, inconclusive=3, skipped=0)


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
    order = list(pair.kind.outputs()) + [n for n in first if n not in pair.kind.outputs()]
    departures = [depart(pair, *first[n]) for n in order if n in first]
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
    if v.output not in run.ours:  # a statistic of the call (dropout's keep rate), not an array to trace
        return statistic(run, v)
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


def statistic(run, v):
    """The departure of dropout's keep rate: the rate beside p, and p read as the drop probability when it fits."""
    p, rate = run.inputs["p"], float(run.inputs["keep"].mean())
    head = Element([], rate, p, abs(rate - p), abs(rate - p) / max(rate, p))
    keep = run.inputs["keep"]
    if len(keep) > 1 and (keep == keep[:1]).all() and 0 < rate < 1:
        text = (
            "Likely cause: dropout-mask-shared-across-the-batch: every sample gets the same mask, one row drawn for "
            f"the whole batch (a mask of shape (1, {keep.shape[1]})); draw one of x's shape"
        )
        found = Finding("suspect", text + ".", "dropout-mask-shared-across-the-batch")
    elif abs(rate - (1 - p)) <= v.threshold:
        text = (
            f"Likely cause: dropout-mask-keeps-1-p: the mask keeps {rate:.1%} of the units, 1 - p: p taken as the "
            "probability of dropping (torch's convention; CS231n's p is the probability of keeping: rand < p)."
        )
        found = Finding("suspect", text, "dropout-mask-keeps-1-p")
    else:
        found = Finding("unmatched", f"The mask keeps {rate:.1%} of the units where p = {p:g} keeps {p:.0%}.")
    source = {"unmatched": "a keep rate is a statistic of the mask, not one value to trace"}
    return PieceDeparture(v.output, run.case.name, run.dtype, v, [head], source=source, suspect=found)


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
