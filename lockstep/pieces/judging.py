"""One case of a piece in one dtype, judged output by output as a training step's tensors are: the fixed tolerance,
the op's rounding bound, then the precision ladder (np.longdouble for float64; float64 for float32)."""

from dataclasses import dataclass

import numpy as np
import torch

from ..judge import bounds, judge
from ..judge.tolerance import TOLERANCES, compare, exceeds_value
from ..records import PieceVerdict
from ..sides.candidate import CandidateError
from .pairs import FORWARD_PHASES, call, cast


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
    ours, _, found = call(pair, i, case.outputs)
    i.update(found)
    ref = pair.kind.torch(i, torch_of(dtype))
    i64, r64 = cast(i, np.float64), {k: np.asarray(v, np.float64) for k, v in ref.items()}
    u = judge.unit(dtype)
    E = pair.kind.bounds(i64, r64, u, bounds.tiny_for(u), np.float64)
    memo = {}

    def raised():
        if "high" not in memo:
            memo["high"] = _raised(pair, i, case.outputs)
        return memo["high"]

    names = [n for n in pair.kind.outputs() if case.outputs is None or n in case.outputs]
    verdicts = [judge_output(n, case.name, dtype, ours[n], ref[n], E[n], raised) for n in names]
    if pair.kind.checks:  # what no torch op gives: the dropout mask's keep rate
        verdicts += pair.kind.checks(case.name, dtype, i)
    return Run(case, dtype, i, ours, ref, verdicts)


def _raised(pair, i, outputs=None):
    """(the user's outputs in np.longdouble, None), or (None, why that rung cannot run)."""
    if not judge.RAISES:
        return None, "np.longdouble is no wider than float64 on this platform"
    try:
        high, _, _ = call(pair, cast(i, judge.LONG), outputs)
    except CandidateError as e:
        return None, f"your code raised {e} when given np.longdouble"
    low = [n for n, v in high.items() if np.finfo(v.dtype).eps >= np.finfo(np.float64).eps and v.size > 1]
    if low:
        return None, f"it computed {low[0]} in {high[low[0]].dtype} when given np.longdouble"
    return high, None


def arbitrate32(pair, run, v):
    """A float32 output beyond float32's bound: the same inputs in float64 decide. Returns (the verdict, the float64
    Run, when it is there that the output departs)."""
    exact = run_case(pair, _Case(run.case.name, cast(run.inputs, np.float64), run.case.outputs), "float64")
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
    outputs: tuple | None = None
