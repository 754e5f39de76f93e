"""The line of one piece (a layer function, an update rule) where its values first depart from torch's.

The call that gave a departing output is re-run under the tracer (lockstep/trace/recorder.py), and every value its
lines hold is matched against what the torch op computes on the way: the outputs, and the intermediate values a
textbook derivation names (x - mean, dL/dxhat, the margins, the bias-corrected moments, ...). A value is trusted
when it is an input, matches one of those, is an exact copy or view of a trusted value, a constant, or a number
computed from numbers (N, eps, np.arange(N)). From the value the code returned for the departing output the walk
goes up its data flow through untrusted values (the array before an in-place change first, then an input of the
output's shape, then the latest) and stops at the first value computed from trusted inputs alone: that line is
where the values go wrong. A returned value that is itself trusted holds the wrong thing, and is named at its line.
"""

import numpy as np

from ..trace.recorder import statement_span

SAMPLE = 5  # departing elements shown side by side, and matched values named before the departure


def forms(v, T):
    """The ways value v can stand for the array T: as it is, reshaped (the same elements, squeezed shapes equal),
    transposed, or T broadcast over more rows (the course's 1/N * np.ones((N, D)) * dvar)."""
    if v.shape == T.shape:
        yield v, T
        return
    if v.size == T.size and tuple(n for n in v.shape if n > 1) == tuple(n for n in T.shape if n > 1):
        yield v.reshape(T.shape), T
    elif v.ndim == 2 and v.shape == T.T.shape:
        yield v.T, T
    elif v.size > T.size > 0:
        try:
            yield v, np.broadcast_to(T, v.shape)
        except ValueError:
            return


def matches(v, known, agree):
    """The names of the known arrays that value v equals in some form (agree() is the project's rule)."""
    if v is None or v.size == 0:
        return []
    return [name for name, T in known.items() if any(agree(a, b) for a, b in forms(v, np.asarray(T, np.float64)))]


def locate(events, target, ref, known, returned, agree):
    """events: trace.record()'s. target: the departing output's name, ref its torch value as the user's code holds
    it; known: {name: torch's value} of the op's intermediates and outputs; returned: the object the code gave for
    the output (None: unknown); agree(ours, theirs) -> bool. Returns (source, None) or (None, why), source = {file,
    line, end_line, function, variable, tensor, holds, ours, theirs, index, matched_before}."""
    if getattr(events, "error", None) and not any(e.kind != "source" for e in events):
        return None, f"tracing your code failed ({events.error}), so no line can be named"
    states = [i for i, e in enumerate(events) if e.kind != "alias"]
    known = {k: np.asarray(v, dtype=np.float64) for k, v in known.items()}
    matched = {s: matches(events[s].value, known, agree) for s in states}
    sources = [events[s].value for s in states if events[s].kind == "source" and events[s].value is not None]
    copies = {v.tobytes() for v in sources} | {np.ascontiguousarray(v.T).tobytes() for v in sources}
    trusted = set()
    for s in states:
        e, v = events[s], events[s].value
        scalars = all(events[r].value is not None and events[r].value.size <= 1 for r in e.reads)
        if (
            e.kind == "source"
            or matched[s]
            or v is not None
            and (v.size > 1 and v.tobytes() in copies or v.size > 1 and np.all(v == v.flat[0]))
            or e.kind != "change"
            and e.view in trusted
            or e.kind in ("bind", "return", "arg")
            and scalars
        ):
            trusted.add(s)
    holder = _holder(events, states, returned, ref)
    if holder is None:
        return None, "no value of your code held it (computed inside one expression, or in compiled code)"
    final = holder
    if holder not in trusted:
        final = _walk(events, holder, trusted, set(states), ref.shape)
    e = events[final]
    out = dict(file=e.file, line=e.line, function=e.function, variable=e.variable, tensor=target)
    first, last = statement_span(e.file, e.line)
    if last > e.line and first == e.line:
        out["end_line"] = last
    if holder in trusted:
        names = [n for n in matched[holder] if n != target]
        out["holds"] = (
            names[0] if names else "one of its inputs, unchanged" if events[holder].kind == "source" else None
        )
    out.update(side_by_side(events[holder].value, ref))
    before = []
    for s in reversed([s for s in states if s < final and matched[s] and events[s].kind != "source"]):
        if (events[s].variable, events[s].line) not in {(b["variable"], b["line"]) for b in before}:
            before.append(dict(variable=events[s].variable, line=events[s].line, tensor=matched[s][0]))
        if len(before) == SAMPLE:
            break
    out["matched_before"] = before[::-1]
    return out, None


def _holder(events, states, returned, ref):
    """The state that holds what the code returned (its last event by object identity), else the last value of the
    output's shape."""
    if returned is not None:
        held = [s for s in states if events[s].ident == id(returned)]
        if held:
            return held[-1]
    shaped = [s for s in states if events[s].value is not None and events[s].value.shape == ref.shape]
    return shaped[-1] if shaped else None


def _walk(events, cur, trusted, states, shape):
    """Up the data flow through untrusted values to one computed from trusted inputs alone."""
    seen = {cur}
    while True:
        e = events[cur]
        ins = [r for r in dict.fromkeys(((e.prev,) if e.prev >= 0 else ()) + e.reads) if r not in trusted]
        ins = [r for r in ins if r not in seen and r in states]
        if not ins:
            return cur
        if e.prev in ins:
            cur = e.prev
        else:
            shaped = [r for r in ins if events[r].value is not None and events[r].value.shape == shape]
            cur = min(shaped or ins)  # the first to go wrong, in the order the code ran
        seen.add(cur)


def side_by_side(v, ref):
    """The holder's value beside torch's at the SAMPLE largest differences (in ref's shape where a form fits)."""
    ref = np.asarray(ref, dtype=np.float64)
    fit = next(iter(forms(v, ref)), None) if v is not None else None
    if fit is None:
        return dict(ours=[], theirs=[], index=[], shape=None if v is None else list(v.shape))
    a, b = fit
    diff = np.abs(a - b).ravel()
    top = np.argsort(-np.where(np.isnan(diff), np.inf, diff), kind="stable")[:SAMPLE]
    return dict(
        ours=[float(a.ravel()[j]) for j in top],
        theirs=[float(b.ravel()[j]) for j in top],
        index=[[int(i) for i in np.unravel_index(j, a.shape)] for j in top],
    )
