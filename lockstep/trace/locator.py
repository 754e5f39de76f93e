"""locate(): the departure rule over the recorded values (see docs/tracing.md), and the report."""

import re

import numpy as np

from .matcher import FORWARD_LINKS, Catalog, Match, block_output, link, param_of, parse, phase
from .recorder import statement_span, values_of

SAMPLE = 5  # departing elements shown side by side
# links of a block's chain that code often computes in one expression, storing only the second: z and a
# (a = relu(x @ W + b)), dL/da and dL/dz, dropout's dout and dL/da (da = (dz @ W) * mask / keep)
FUSED = {("z", "a"), ("da", "dz"), ("dropout.dout", "da")}


def default_order(twin, n_layers):
    """The twin's computation order over the names twin holds (design notes): forward, block by block, z, the norm's
    xhat and out, a and dropout's out; the loss; for i = L-1 .. 0 dropout's dout, dL/da, the norm's dout and its
    weight and bias gradients, dz_i and its weight and bias gradients; then, parameter by parameter as torch's
    optimizers (and code that loops over its parameters) step them, its optimizer state and the parameter updated
    from it. One parameter's update reads no other's state, so where two depart (an Adam whose moments are shared by
    name across layers, wrong in layer 1's moment and in layer 0's bias), the one the code computed first is
    named."""
    L, out = n_layers, []
    out += [f"layers.{i}.{k}" for i in range(L) for k in FORWARD_LINKS] + ["loss", f"layers.{L - 1}.da"]
    for i in range(L - 1, -1, -1):
        norm = [f"layers.{i}.norm.dout", f"grad:layers.{i}.norm.weight", f"grad:layers.{i}.norm.bias"]
        out += [f"layers.{i}.dropout.dout", f"layers.{i}.da"] + norm
        out += [f"layers.{i}.dz", f"grad:layers.{i}.weight", f"grad:layers.{i}.bias"]
    for p in (f"layers.{i}.{k}" for i in range(L) for k in ("weight", "bias", "norm.weight", "norm.bias")):
        out += [k for k in twin if k.startswith(p + ".") and np.ndim(twin[k]) > 0] + [p]
    return [n for n in dict.fromkeys(out) if n in twin]


def locate(events, twin, order, layout, sizes, agree, returned=(), updates=None, factors=None):
    """Match the events against the twin's tensors of the step and find where the user's values first depart.
    twin: {name: array} in torch's layout, batch first ('layers.{i}.z', ..., 'grad:layers.{i}.weight', the
    updated 'layers.{i}.weight', 'layers.{i}.weight.exp_avg', 'loss'; optionally 'input', the batch X, which
    lets [1, X] and the first layer's data gradient be recognised). order: the twin's computation order.
    layout: 'torch', 'in-out', 'bias-row', 'bias-first-col' or 'bias-last-col'; sizes: the layer widths.
    agree(ours, theirs) -> bool: the comparison rule. returned: [(array object, twin name), ...] for what the
    candidate returned (a bias-layout array stands for both its weight and its bias name). updates: whether
    the code updates the parameters itself (a class); None: yes if any updated parameter or optimizer state
    is matched. factors: {twin name: f} for values the code keeps as f times the twin's tensor by its own
    convention (a per-sample dZ, m times dL/dz): shown divided by f beside the twin's.
    Returns (source, None), source = {"file", "line", "end_line" (a statement over several lines), "function",
    "variable", "tensor", "ours", "theirs",
    "index", "scale", "form", "holder", "matched_before": [{"variable", "line", "tensor"}, ...]}, or
    (None, why) when nothing departs or nothing can be matched."""
    failed = getattr(events, "error", None)
    if failed and not any(e.kind != "source" for e in events):
        return None, f"tracing your code failed ({failed}), so no line can be named"
    cat = Catalog(twin, layout, sizes, agree)
    if cat.m is None:
        return None, "the twin holds no batch tensor (layers.{i}.z, a, dz) to match against"
    states = [i for i, e in enumerate(events) if e.kind != "alias"]
    if not any(events[s].value is not None for s in states):
        return None, "no array was bound to a variable in your files (compiled code, or all in one expression)"
    runs = {}  # (object, file, line) -> its changes there: a per-sample partial sum is matched at its ends only
    for s in states:
        if events[s].kind == "change":
            runs.setdefault((events[s].ident, events[s].file, events[s].line), []).append(s)
    partial = {s for run in runs.values() for s in run[1:-1]} | {s for s in states if events[s].value is None}
    cat.prepare(events[s].value for s in states if s not in partial)
    info = {s: Match({}, {}, {}, set(), False) if s in partial else cat.classify(events[s].value) for s in states}
    given = set()  # the contents of what existed before, flattened as they are and transposed
    for s in states:
        v = events[s].value
        if events[s].kind == "source" and v is not None:
            given |= {v.tobytes(), v.T.tobytes()}
    for s in states:  # an input, or an exact copy, reshape or transpose of one: trusted, and no match of anything
        v = events[s].value
        view = events[s].view
        part = events[s].kind != "change" and view in info and info[view].trusted
        part = part and not (info[s].exact or info[s].weak)
        if events[s].kind == "source" or (v is not None and v.size > 1 and v.tobytes() in given) or part:
            info[s] = Match({}, {}, {}, info[s].kinds, True)  # (a view of a trusted array is part of it)
        elif (
            v is not None
            and v.size == 1
            and not (info[s].exact or info[s].weak)
            and any(events[r].value is not None and events[r].value.size > 1 for r in events[s].reads)
        ):
            info[s].trusted = False  # a number computed from arrays (a loss before its l2 term) may be wrong
    repeat_trust(events, states, info)
    exact, weak = set(), set()
    for c in info.values():
        exact |= c.exact.keys()
        weak |= c.weak.keys()
    names = [n for n in order if n in twin and parse(n) is not None and n in cat.kind]
    if updates is None:
        updates = any(phase(n) in ("optimizer", "update") and n in exact for n in names)
    if not updates:
        names = [n for n in names if phase(n) not in ("optimizer", "update")]
    if not (exact | weak) & set(names):
        return None, (
            "none of the values in your files matches a tensor of the twin's step (fully vectorised "
            "one-liners, compiled code, or a different layout or batch)"
        )
    ident, wrong = {}, set()
    for obj, name in returned:
        ident.setdefault(name, id(obj))
        if name in cat.kind:
            c = cat.classify(values_of(obj))
            if name not in c.exact and not (name in (factors or {}) and name in c.weak):  # m times, by convention
                wrong.add(name)
    graph = Graph(names, cat.L)
    anc = {}
    for s in states:  # the twin tensors each value is computed from, through values that match nothing
        e, a = events[s], set()
        for r in e.reads + ((e.prev,) if e.prev >= 0 else ()):
            if r in info:
                c = info[r]
                helped = {cat.stands_for[h] for h in c.helper if h in cat.stands_for}
                a |= (c.exact.keys() | c.weak.keys() | helped) if c.trusted else anc[r]
        anc[s] = frozenset(a)
    loc = Locator(events, cat, info, anc, states)
    loc.factors = dict(factors or {})
    for D in names:
        if D not in wrong:
            if D in exact:
                continue
            if graph.descendants(D) & exact:  # (a) not stored, and what follows from it is right
                continue
            child = link(D, +1, cat.kind)
            if child in names and child not in exact and (parse(D)[2], parse(child)[2]) in FUSED:
                continue  # (b) the code's value stands for the next link
        upstream = graph.ancestors(D)
        holders = loc.holders(D, graph.gp_star(D, exact | weak)) or loc.holders(D, upstream)
        held = [s for s in states if events[s].ident == ident[D]] if D in ident else []
        allowed = set(graph.parents[D]) | graph.gp_star(D, exact | weak)
        if not (held or holders):
            stand_in = loc.stand_in(D)
            if stand_in is None:  # (c) nothing could have held it: computed inside one expression
                continue
            out = loc.report(D, stand_in, {stand_in}, twin, allowed, upstream)
            return dict(out, holds=link(D, -1, cat.kind)), None
        holder = held[-1] if held else _first_holder(holders, D, info, cat)
        parent = link(D, -1, cat.kind)
        if held and parent in info[holder].exact | info[holder].weak:  # returned as D, it is D's chain parent
            out = loc.report(D, holder, {holder}, twin, allowed, upstream)
            return dict(out, **loc.bound_as(holder, D), holds=parent), None
        return loc.report(D, holder, set(holders), twin, allowed, upstream), None
    return None, "every tensor of the step is matched, or consistent with your code not storing it"


def _signature(event, info):
    """The roles of what a value was computed from, with their layers counted from the lowest among them: z and
    a of one layer, whichever it is, or the output's dL/da beside a hidden layer's a (a call handed the wrong
    layer's tensor)."""
    roles = set()
    for r in event.reads:
        c = info.get(r)
        for n in list(c.exact) + list(c.weak) + list(c.helper) if c is not None else ():
            layer = re.search(r"layers\.(\d+)\.", n)
            if n != "constant" and not n.startswith("what line"):
                roles.add((re.sub(r"layers\.\d+\.", "layers.#.", n), int(layer.group(1)) if layer else None))
    low = min((i for _, i in roles if i is not None), default=0)
    return frozenset((n, None if i is None else i - low) for n, i in roles)


def repeat_trust(events, states, info):
    """A line that gave the twin's values (or helpers) at other executions computes what it computes: where it
    now gives a value that matches nothing, from inputs in the same roles (f'(z) of the output layer, which the
    twin never forms, by the same sigmoid_prime that gave f'(z) of a hidden one), that value is trusted. Whatever
    departs is then charged to the line that used it, not to the helper."""
    good = {}
    for s in states:
        e, c = events[s], info[s]
        if e.kind in ("bind", "return", "change") and (c.exact or c.weak or set(c.helper) - {"constant"}):
            good.setdefault((e.file, e.line, e.variable), set()).add(_signature(e, info))
    for s in states:
        e, c = events[s], info[s]
        if c.trusted or e.value is None or e.kind not in ("bind", "return"):
            continue
        sig = _signature(e, info)
        if sig and sig in good.get((e.file, e.line, e.variable), ()):
            name = f"what line {e.line} gives at its other executions"
            c.trusted, c.helper[name], c.full = True, "", set(c.full) | {name}  # a helper: it holds no tensor


def _first_holder(holders, D, info, cat):
    """The value that should have held D: the last candidate for a number (the loss, once complete) and for a
    parameter after the update (the value the step leaves, not the step dW added to it); else the first, preferring
    one that is not simply m times D."""
    if cat.kind[D][0] == "scalar" or phase(D) == "update":
        return holders[-1]
    plain = [s for s in holders if D not in info[s].weak]
    return (plain or holders)[0]


class Locator:
    def __init__(self, events, cat, info, anc, states):
        self.events, self.cat, self.info, self.anc, self.states = events, cat, info, anc, states
        self.factors = {}  # twin name -> the factor by which the code's convention keeps it
        self.alias = {}
        self.good_returns = {
            (e.file, e.line)
            for s in states
            if (e := events[s]).kind == "return" and (info[s].exact or set(info[s].helper) - {"constant"})
        }
        self.aliases = {}  # state -> every alias of it
        for i, e in enumerate(events):
            if e.kind == "alias":
                self.alias.setdefault(e.state, i)
                self.aliases.setdefault(e.state, []).append(i)
        self.carried = set()  # changes in place of what existed before the step with a value (the parameters)
        for s in states:
            e, origin = events[s], s
            while events[origin].kind == "change" and events[origin].prev >= 0:
                origin = events[origin].prev
            v = events[origin].value
            if e.kind == "change" and events[origin].kind == "source" and v is not None and v.any():
                self.carried.add(s)
        self.good_lines = {
            (e.file, e.line, e.variable)
            for s in states
            if (e := events[s]).kind == "bind" and (info[s].exact or info[s].weak or set(info[s].helper) - {"constant"})
        }

    def compatible(self, s, D):
        kind, key = self.cat.kind[D]
        kinds = self.info[s].kinds
        return (kind, key) in kinds or (kind == "batch" and ("rows", key) in kinds)

    def holders(self, D, gp):
        """Values that could have held D: its shape in a form, computed from D's gradient parents, not explained in
        full by another tensor or a helper, and not matching another tensor of D's kind in part. A constant may
        hold it (a gradient masked to zeros); zero-initialised accumulators are kept out by the data flow."""
        cls, out = _class(self.cat.kind[D][0]), []
        for s in self.states:
            e, c = self.events[s], self.info[s]
            if e.kind == "source" or not self.compatible(s, D) or (gp and not self.anc[s] & gp):
                continue
            if s in self.carried and phase(D) not in ("update", "optimizer"):
                continue  # a parameter changed in place holds the parameter, not the step's other tensors
            others = [n for n in list(c.exact) + list(c.helper) + list(c.weak) if n not in (D, "constant")]
            if c.full - {D, "constant"} or any(_class(self.cat.kind.get(n, ("?",))[0]) == cls for n in others):
                continue  # explained in full by something else, or in part by another tensor of D's kind
            out.append(s)
        kind_key = self.cat.kind[D]
        native = [s for s in out if kind_key in self.info[s].native or ("rows", kind_key[1]) in self.info[s].native]
        return native or out  # W1 (5, 2) holds layer 0's weight, not W2 (2, 5) read transposed

    def stand_in(self, D):
        """The value that stands where D belongs when nothing holds D: the one matching D's chain parent (dL/da
        for dL/dz), which the code goes on to use as if it were D (delta = a - y kept without f'(z))."""
        P = link(D, -1, self.cat.kind)
        found = [s for s in self.states if P in self.info[s].exact and self.events[s].kind != "source"] if P else []
        return found[-1] if found else None

    def foreign(self, s, D, upstream):
        """An input of s that matches, in full, only tensors D is not computed from (the weights after the update,
        where the gradient of the bias should read those before it), or None."""
        for r in self.events[s].reads:  # (not its own value before an in-place change)
            c = self.info.get(r)
            names = (
                {n for n in c.full & (c.exact.keys() | c.weak.keys()) if self.cat.kind[n][0] != "scalar"} if c else ()
            )
            if names and not names & (upstream | {D}):
                return r
        return None

    def walk(self, holder, D, holders, upstream, allowed):
        """Up the data flow from the holder to a value computed from trusted inputs that matches nothing, to one
        that reads a value D is not computed from, or to a function's return that its caller is to blame for
        (see blames_caller; what the function did inside with the wrong argument is not where the fault is).
        Returns (that value, the foreign input or None)."""
        cur, seen = holder, {holder}
        self.path = [holder]
        while True:
            e = self.events[cur]
            odd = self.foreign(cur, D, upstream)
            if odd is not None:
                return cur, odd
            if (cur != holder or e.kind != "return") and self.blames_caller(cur, allowed):
                return cur, None
            ins = [
                r
                for r in dict.fromkeys(((e.prev,) if e.prev >= 0 else ()) + e.reads)
                if r in self.info and r not in seen and not self.info[r].trusted
            ]
            if e.prev in ins:
                cur = e.prev
            else:
                pool = [r for r in ins if r in holders] or [r for r in ins if self.compatible(r, D)] or ins
                if not pool:
                    return cur, None
                cur = max(pool)
            seen.add(cur)
            self.path.append(cur)

    def blames_caller(self, s, allowed):
        """Whether a function's wrong return value is its caller's doing: the same return line gave matching
        values (or helpers, such as f'(z) of another layer) at other calls, and this time it was given a value
        that matches a tensor outside `allowed` (what the departing tensor is computed from), e.g. sigmoid(a)
        where sigmoid(z) belongs."""
        e = self.events[s]
        if e.kind == "return":
            if (e.file, e.line) not in self.good_returns:
                return False
        elif e.kind != "bind" or e.site is None or (e.file, e.line, e.variable) not in self.good_lines:
            return False  # a line inside a function called from the user's code, that gave matches before
        given = set()
        for r in self.events[s].reads:
            if r in self.info:
                given |= self.info[r].exact.keys() | self.info[r].weak.keys()
        return bool(given - allowed)

    def display(self, s, call_site=False, path=()):
        """(file, line, function, variable) of a value as the user wrote it. With call_site, a value made inside a
        function is shown at the caller's line, under the name that line binds it to: the value on the path from
        the holder at that line (delta2 = ... * sig(a2)), else the name bound to the value itself or to what the
        function returned, else the call ('sig(...)')."""
        e = self.events[s]
        if not (e.site and call_site and e.kind in ("return", "bind")):
            return e.file, e.line, e.function, e.variable
        at_site = lambda i: (self.events[i].file, self.events[i].line) == e.site  # noqa: E731
        ret = next(
            (r for r in self.states if r > s and self.events[r].kind == "return" and self.events[r].site == e.site),
            None,
        )
        names = [p for p in path if at_site(p)][-1:]
        names += [i for x in (s, ret) if x is not None for i in self.aliases.get(x, ()) if at_site(i)]
        if names:
            b = self.events[names[0]]
            return b.file, b.line, b.function, b.variable
        return e.site[0], e.site[1], e.function, f"{e.function}(...)" if e.kind == "bind" else e.variable

    def report(self, D, holder, holders, twin, allowed, upstream):
        final, odd = self.walk(holder, D, holders, upstream, allowed)
        file, line, function, variable = self.display(final, self.blames_caller(final, allowed), self.path)
        out = dict(file=file, line=line, function=function, variable=variable, tensor=D)
        first, last = statement_span(file, line)
        if last > line and first == line:  # a statement over several lines: the fault may be on any of them
            out["end_line"] = last
        if odd is not None:  # it read a value of the step that D does not come from
            f, ln, _, v = self.display(odd, call_site=True)
            c = self.info[odd]
            out["reads"] = dict(file=f, line=ln, variable=v, tensor=next(iter(c.exact or c.weak)))
        if self.events[holder].value is not None:
            value = self.events[holder].value / self.factors.get(D, 1.0)
            out.update(self.side_by_side(value, D, np.asarray(twin[D], dtype=np.float64)))
        if final != holder:
            f, ln, _, v = self.display(holder)
            out["holder"] = dict(file=f, line=ln, variable=v)
        before, seen = [], set()
        for s in reversed([s for s in self.states if s < final and self.info[s].exact]):
            f, ln, _, v = self.display(s, call_site=True)
            if (v, ln) not in seen:
                seen.add((v, ln))
                name, form = next(iter(self.info[s].exact.items()))
                before.append(dict(variable=v, line=ln, file=f, tensor=name, form=form))
            if len(before) == SAMPLE:
                break
        out["matched_before"] = before[::-1]
        return out

    def bound_as(self, s, D):
        """The file, line and name of the last line that bound the value of state s to another name (dZ2 = dA2): where
        the code's value for D stands in for D's chain parent. {} when no line did."""
        named = [i for i in self.aliases.get(s, ()) if self.events[i].variable != self.events[s].variable]
        if not named:
            return {}
        e = self.events[named[-1]]
        return dict(file=e.file, line=e.line, function=e.function, variable=e.variable)

    def side_by_side(self, u, D, T):
        """The holder's value in D's layout beside the twin's, at the SAMPLE largest differences."""
        kind, key = self.cat.kind[D]
        fits = [
            (arr, form)
            for vk, vkey, arr, form, _ in self.cat.views(u)
            if (vk, vkey) == (kind, key) or (kind == "batch" and (vk, vkey) == ("rows", key))
        ]
        if not fits:
            return {"ours": [], "theirs": [], "index": [], "scale": None, "form": None}
        arr, form = fits[0]
        rows = arr.ndim == 1 and T.ndim == 2
        k = int(np.abs(T - arr).max(axis=1).argmin()) if rows else None
        ref = T[k] if rows else T
        diff = np.abs(arr - ref).ravel()
        top = np.argsort(-np.where(np.isnan(diff), np.inf, diff), kind="stable")[:SAMPLE]
        index = [[k] * rows + [int(i) for i in np.unravel_index(j, ref.shape)] for j in top]
        scale, denom = None, float((ref * ref).sum())
        if denom > 0:
            c = float((arr * ref).sum()) / denom
            if self.cat.agree(arr, c * ref):
                scale = c
        return dict(
            ours=[float(arr.ravel()[j]) for j in top],
            theirs=[float(ref.ravel()[j]) for j in top],
            index=index,
            scale=scale,
            form=(form + (f" {k}" if rows else "")).strip() or None,
        )


class Graph:
    """The twin's data flow over the names it holds: parents (everything a tensor is computed from) and
    gradient parents (the tensors its value comes from along the chain that a bug in it would follow)."""

    def __init__(self, names, L):
        has = set(names)
        self.parents, self.gp = {}, {}
        for n in names:
            kind, i, what = parse(n)
            P = lambda *xs: [x for x in xs if x in has]  # noqa: E731
            before = link(n, -1, has) if kind == "batch" else None  # the link before it in its block's chain
            if what in FORWARD_LINKS:
                full = gp = P(before or (block_output(i - 1, has) if i else None))
            elif what == "loss":
                full = gp = P(f"layers.{L - 1}.a", f"layers.{L - 1}.z")
            elif what == "dz" and i == L - 1:
                full = gp = P(f"layers.{i}.a", f"layers.{i}.z", f"layers.{i}.da")
            elif kind == "batch" and before is None:  # the first link of a block's backward
                full = gp = P(f"layers.{L - 1}.a") if i == L - 1 else P(f"layers.{i + 1}.dz")
            elif what == "dz":
                full, gp = P(before, f"layers.{i}.z", f"layers.{i}.norm.xhat"), P(before)
            elif what == "norm.dout":
                full, gp = P(before, f"layers.{i}.norm.out"), P(before)
            elif kind == "batch":
                full = gp = P(before)
            elif what == "grad":
                param = param_of(n)
                gp = P(f"layers.{i}.norm.dout" if ".norm." in param else f"layers.{i}.dz")
                if param.endswith("norm.weight"):
                    full = gp + P(f"layers.{i}.norm.xhat")
                else:
                    full = gp + (P(block_output(i - 1, has)) if kind == "weight" and i else [])
            else:
                param = param_of(n)
                full = gp = P(f"grad:{param}") + (
                    [k for k in names if k.startswith(param + ".")] if what == "param" else []
                )
            self.parents[n], self.gp[n] = full, gp
        self.children = {n: [] for n in names}
        for n, ps in self.parents.items():
            for p in ps:
                self.children[p].append(n)

    def ancestors(self, name):
        out, todo = set(), list(self.parents.get(name, ()))
        while todo:
            n = todo.pop()
            if n not in out:
                out.add(n)
                todo += self.parents.get(n, ())
        return out

    def descendants(self, name):
        out, todo = set(), list(self.children.get(name, ()))
        while todo:
            n = todo.pop()
            if n not in out:
                out.add(n)
                todo += self.children[n]
        return out

    def gp_star(self, name, matched):
        """The gradient parents of name, and theirs in turn through the ones no value matched."""
        out, todo = set(), list(self.gp.get(name, ()))
        while todo:
            n = todo.pop()
            if n not in out:
                out.add(n)
                if n not in matched:
                    todo += self.gp.get(n, ())
        return out


def _class(kind):
    return "batch" if kind == "rows" else kind
