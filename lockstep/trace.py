"""The line in the user's file: trace one step of a candidate and find where its values first depart.

record(call, user_files) runs call() under sys.settrace and writes down, in execution order, every NumPy array
(and float) that a line of the user's own files binds to a local variable, puts into a list, tuple or dict held
by a local, or sets on `self`, and every array such a line changes in place. locate(events, twin, ...) matches
those values against the torch twin's tensors of the same step and names the first variable whose value
departs. Plain data in, plain data out: neither function imports the engine.

Matching. A value matches a twin tensor when, under one of the forms below, the project's agree() says so:
    batch tensors (z, a, da, dz, (m, n))  the array itself; its transpose (samples as columns); row k of it, for
                                          any k, as (n,), (n, 1) or (1, n) (per-sample code); [1, a] or [a, 1]
                                          through the part that is not the ones column or row
    parameter-shaped (gradients, updated parameters, optimizer state)  in the layout: (out, in) for torch and the
                                          bias-column layouts, W^T for in-out and bias-row, the transpose too
                                          where the shape tells them apart; a bias row or column holds the bias
                                          and the rest the weights, each part matched on its own
    the loss                              a float or a one-element array
Trusted without being a match (so that data flow can pass through them): helpers (constant arrays such as
zeros and ones columns; the input X and [1, X] when the twin gives 'input'; f'(z) of a layer, that is masks and
sigmoid'/tanh' factors, measured as dz / da from the twin; the shifted logits, exponentials and log-probabilities
of a softmax output; a layer's gradient before its l2 term, dz^T a_prev), m times a backward tensor or gradient
(the per-sample convention delta = a - y, whose 1/m comes later), scalars, and the arguments the outermost user
function was given.

The departure rule. Take the twin's tensors in its computation order and skip those that are matched. An
unmatched tensor is not a departure when
  (a) a tensor downstream of it in the twin's data flow is matched: the code never stored it, and what it
      computed from it is right (the mean gradient that per-sample code folds into its update, dL/dz of the
      output inside delta = a - y);
  (b) it is dL/da_i or z_i and dL/dz_i or a_i (the next link of the same chain) is unmatched too:
      delta = (delta @ W.T) * a * (1 - a) never holds dL/da, so whether its value went wrong in the product or
      in the factor, the code's value stands for dL/dz and is judged as that; a wrong dL/da the code does hold
      is still found, upstream of the dL/dz it feeds (below);
  (c) no value in the user's files could have held it: none has its shape in a form, is computed (through
      unmatched values) from the tensors it is computed from in the twin, and is neither a helper nor a match
      of something else. A tensor computed inside one expression is then judged by the next one.
The first tensor left is the departure. It is pinned to the variable that should have held it: the array the
candidate returned for it (object identity), else the first value that could have held it by shape and data
flow (preferring one that is not merely m times it, because that one is usually a helper whose 1/m comes later).
From there the report walks up the data flow: while the value read by the line an input that is not trusted
(its own value before an in-place change first, then another would-be holder, then any input of a fitting
shape), it moves to that input. It stops at a value computed from trusted inputs that itself matches nothing:
that is where the values first go wrong. A value returned by a function that returned matching values at other
calls is reported at its call site (sigmoid is right; sigmoid(a) where sigmoid(z) belongs is the caller's).
For a correct candidate every tensor is matched or excused, and locate() reports nothing.

Limits. Only frames whose code lives in the user's files are seen, so a value built and consumed inside one
expression, or inside compiled code or a library, is invisible (rule (c) then moves on to the next tensor); a
fully vectorised one-liner is matched as a whole or not at all. In-place changes are looked for in the objects a
line could change (the roots of its assignment targets, the names it passes to calls, out= and mutating
methods), so a change made through an alias the line does not name is attributed to the next line that names
the array. Per-sample partial sums are not judged (they are neither matches nor helpers). Values are copied in
float64 up to MAX_BYTES, after which events keep value None and are not matched.
"""
import ast
import linecache
import os
import sys
import weakref
from dataclasses import dataclass

import numpy as np

MAX_BYTES = 1 << 30  # float64 copies kept by one record(); beyond it events carry value None
DROP_SIZE = 1024  # a value this large bound again and again at one line keeps only its first and last copies
READS_CAP = 256  # a line reading more arrays than this under one name (a batch list) records none of them
SCAN_DEPTH, SCAN_ITEMS = 3, 4096  # how deep and how wide lists, tuples and dicts held by locals are searched
MUTATORS = {"fill", "sort", "put", "itemset", "resize", "partition", "setfield", "byteswap"}  # array methods
PURE_BUILTINS = {"len", "range", "reversed", "zip", "enumerate", "isinstance", "print", "sum", "min", "max", "abs",
                 "float", "int", "list", "tuple", "dict", "sorted", "iter", "next", "any", "all", "map", "round",
                 "str", "repr", "type", "id", "bool", "set"}  # calls that change none of their arguments
MODULES = {"np", "numpy", "math"}  # np.f(x) changes x only for these, or through out=
NUMPY_MUTATORS = {"copyto", "put", "place", "putmask", "fill_diagonal", "shuffle", "at"}
SAMPLE = 5  # departing elements shown side by side
PREFILTER = 1e-3  # rows are compared with agree() only within this max error relative to the tensor's largest,
# or within 10 times the relative tolerance agree() is measured to have (_tolerance), when that is smaller


@dataclass(eq=False)
class Event:
    """One value seen in the user's code. kind: 'bind' (a line bound a new value), 'change' (a line changed an
    array in place), 'arg' (a call bound an argument; file and line are the call's), 'return' (a function
    returned a value no name held; site is the call's (file, line)), 'source' (what the outermost user function
    was given), 'alias' (a known value bound to another name: its value is events[state].value).
    When one line gives one variable value after value (a loop), the copies between the first and the last are
    dropped (value None) for in-place changes (partial sums) and for arrays of DROP_SIZE elements or more."""

    file: str
    line: int
    function: str
    variable: str
    value: np.ndarray | None  # float64 copy; 0-d for a scalar; None for an alias (see state) and a dropped copy
    ident: int  # id() of the object (reused only after the object is freed: a live object's events come last)
    kind: str = "bind"
    state: int = -1  # index of the event that created this value (its own index unless an alias)
    reads: tuple = ()  # states the line read before it ran
    prev: int = -1  # for a change: the object's state before it
    site: tuple | None = None


class Events(list):
    """record()'s events; error names a tracer failure (recording then stopped), truncated says MAX_BYTES hit."""

    error = None
    truncated = False


def record(call, user_files):
    """Run call() (no arguments) under a tracer and return (result, events). Only frames whose code lives in one
    of user_files (absolute paths) are recorded; see Event. The previous tracer is restored afterwards, and the
    tracer only reads: a failure inside it stops recording (events.error) and never reaches call()."""
    rec = _Recorder(user_files)
    previous = sys.gettrace()
    sys.settrace(rec.global_trace)
    try:
        result = call()
    finally:
        sys.settrace(previous)
        for watch in rec.watches:
            watch.detach()
    rec.events.truncated = rec.bytes > MAX_BYTES
    return result, rec.events


@dataclass(eq=False)
class _Frame:
    file: str
    function: str
    held: dict  # root ('grads', 'self.weights') -> {path ('grads[2]'): the array or float it holds}, as of the
    # last settled line
    line: int | None = None  # the line that is running
    reads: tuple = ()  # the states it read, and the values its calls returned to it
    info: tuple = ((), (), ())  # its (reads, rescans, roots): see _line_table


class _Recorder:
    def __init__(self, user_files):
        self.files = {os.path.realpath(f) for f in user_files}
        self.code_file = {}  # code object -> its real path, or None outside the user's files
        self.events = Events()
        self.state_of = {}  # id(object) -> its latest state
        self.keep = []  # recorded floats, alive until the end so that no id is reused
        self.frames = {}
        self.lines = {}  # file -> {line: (reads, rescans, roots)}
        self.runs = {}  # (file, line, variable) -> (first, last) event of the values it took there
        self.watches = []  # the finalizers of recorded arrays, detached when recording ends
        self.bytes = 0

    # -- the tracer ---------------------------------------------------------------------------------------
    def global_trace(self, frame, event, arg):
        code = frame.f_code
        file = self.code_file.get(code, 0)
        if file == 0:
            path = os.path.realpath(code.co_filename)
            file = self.code_file[code] = path if path in self.files else None
        if file is None or self.events.error:
            return None
        return self._guard(self.on_call, frame, file)

    def local_trace(self, frame, event, arg):
        if self.events.error:
            return None
        if event == "line":
            return self._guard(self.on_line, frame)
        if event == "return":
            return self._guard(self.on_return, frame, arg)
        return self.local_trace

    def _guard(self, handler, *args):
        try:
            handler(*args)
        except Exception as e:  # noqa: BLE001 -- never let the tracer reach the user's code
            self.events.error = f"{type(e).__name__}: {e}"
            return None
        return self.local_trace

    # -- events -------------------------------------------------------------------------------------------
    def on_call(self, frame, file):
        if frame in self.frames:  # a generator resumed
            return
        code, caller = frame.f_code, self.frames.get(frame.f_back)
        n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
        args = set(code.co_varnames[:n]) - {"self"}
        paths = _scan(frame.f_locals)  # the arguments, and the variables of enclosing functions it reads
        for path, obj in paths.items():
            if id(obj) in self.state_of:
                continue
            if caller is not None and _root(path) in args:  # computed at the call
                self.new(caller.file, caller.line, code.co_name, path, obj, "arg", caller.reads)
            else:  # what existed before: the outermost call's arguments, attributes of self, enclosing variables
                self.new(file, code.co_firstlineno, code.co_name, path, obj, "source", ())
        self.frames[frame] = _Frame(file, code.co_name, _by_root(paths))

    def on_line(self, frame):
        fs = self.frames.get(frame)
        if fs is None:
            self.on_call(frame, self.code_file[frame.f_code])
            fs = self.frames[frame]
        if fs.line is not None:
            self.settle(frame, fs)
        fs.line = frame.f_lineno
        table = self.lines.get(fs.file)
        if table is None:
            table = self.lines[fs.file] = _line_table(fs.file)
        fs.info = table.get(fs.line, ((), ("*",), ()))
        reads = {}
        for root, key in fs.info[0]:
            objs = _under(frame.f_locals, fs.held, root, key)
            if len(objs) > READS_CAP:  # a whole data set or batch list: no data flow worth following
                continue
            for obj in objs:
                s = self.state_of.get(id(obj))
                if s is not None:
                    reads[s] = None
        fs.reads = tuple(reads)

    def on_return(self, frame, value):
        fs = self.frames.pop(frame, None)
        if fs is None:
            return
        if fs.line is not None:
            self.settle(frame, fs)
        caller = self.frames.get(frame.f_back)
        site = (caller.file, caller.line) if caller is not None else None
        for path, obj in _scan({f"{fs.function}(...)": value}).items():
            if id(obj) not in self.state_of:
                self.new(fs.file, fs.line or frame.f_lineno, fs.function, path, obj, "return", fs.reads, site=site)
            if caller is not None and caller.line is not None:  # an input of the caller's line, bound or not
                caller.reads += (self.state_of[id(obj)],)

    def settle(self, frame, fs):
        """Record what the line fs.line did: arrays it changed in place, then values it bound. Only the names
        the line can rebind or change are looked at again ('*': all of them)."""
        _, rescans, roots = fs.info
        if not rescans and not roots:
            return
        local, old = frame.f_locals, fs.held
        if "*" in rescans:
            fresh = _by_root(_scan(local))
            touched = set(fresh) | set(old)
        else:
            fresh, touched = {}, set()
            for name in rescans:
                if name == "self":
                    touched |= {r for r in old if r.startswith("self.")}
                    fresh.update(_by_root(_scan({"self": local.get("self")})))
                else:
                    touched.add(name)
                    fresh.update(_by_root(_scan({name: _lookup(local, name)})))
            touched |= set(fresh)
        held = dict(old)
        for r in touched:
            if r in fresh:
                held[r] = fresh[r]
            else:
                held.pop(r, None)
        seen = set()
        for root, key in roots:
            for a in _under(local, held, root, key):
                s = self.state_of.get(id(a))
                if id(a) in seen or s is None:
                    continue
                seen.add(id(a))
                if _changed(a, self.events[s].value):
                    path = next((p for p, o in held.get(root, {}).items() if o is a), root)
                    self.new(fs.file, fs.line, fs.function, path, a, "change", fs.reads, prev=s)
        for r in touched:
            before = old.get(r, {})
            for path, obj in held.get(r, {}).items():
                if before.get(path) is obj:
                    continue
                s = self.state_of.get(id(obj))
                if s is None:
                    self.new(fs.file, fs.line, fs.function, path, obj, "bind", fs.reads)
                else:
                    self.events.append(Event(fs.file, fs.line, fs.function, path, None, id(obj), "alias", s,
                                             fs.reads))
        fs.held = held

    def new(self, file, line, function, variable, obj, kind, reads, prev=-1, site=None):
        value = None
        if self.bytes <= MAX_BYTES:
            value = np.array(obj, dtype=np.float64)
            self.bytes += value.nbytes
        index = len(self.events)
        self.events.append(Event(file, line, function, variable, value, id(obj), kind, index, reads, prev, site))
        if id(obj) not in self.state_of:
            if isinstance(obj, np.ndarray):  # forget the id when the array dies, so that a new one can take it
                self.watches.append(weakref.finalize(obj, self.state_of.pop, id(obj), None))
            else:
                self.keep.append(obj)  # floats cannot be watched: keep them alive
        self.state_of[id(obj)] = index
        key = (file, line, variable)
        run = self.runs.get(key)
        if run is not None and run[1] != run[0]:
            middle = self.events[run[1]]  # neither the first nor now the last of the run: a partial sum
            if middle.value is not None and (kind == "change" or middle.value.size >= DROP_SIZE):
                self.bytes -= middle.value.nbytes
                middle.value = None
        self.runs[key] = (run[0] if run is not None else index, index)


def _root(path):
    """'grads' for grads[2], 'self.weights' for self.weights[0]."""
    return path.split("[", 1)[0]


def _lookup(local, name):
    if name.startswith("self."):
        d = getattr(local.get("self"), "__dict__", None)
        return d.get(name[5:]) if isinstance(d, dict) else None
    return local.get(name)


def _by_root(paths):
    """{root: {path: value}} of a _scan's {path: value}."""
    out = {}
    for path, obj in paths.items():
        out.setdefault(_root(path), {})[path] = obj
    return out


def _under(local, held, root, key):
    """The arrays a line may have changed under root: root[key] alone when key is a plain name or constant that
    indexes a list, tuple or dict (builtin indexing runs no user code), else every array under root."""
    if key is not None:
        container = _lookup(local, root)
        k = local.get(key[1]) if key[0] == "name" else key[1]
        if type(container) in (list, tuple, dict) and isinstance(k, (int, np.integer, str)):
            try:
                element = container[k] if type(container) is dict else container[int(k)]
            except (IndexError, KeyError, TypeError):
                element = None
            if isinstance(element, (np.ndarray, float, list, tuple, dict)):
                return list(_scan({"": element}).values())
    if root == "self":
        return [o for r, objs in held.items() if r.startswith("self.") for o in objs.values()]
    return list(held.get(root, {}).values())


def _scan(named):
    """{path: array or float} for every array and float held by the named values, looking into lists, tuples
    and dicts (SCAN_DEPTH deep, SCAN_ITEMS wide) and into the attributes of `self`."""
    out = {}

    def leaf(path, v, depth):
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "biuf":
                out[path] = v
        elif isinstance(v, (float, np.floating)):
            out[path] = v
        elif depth < SCAN_DEPTH and type(v) in (list, tuple):
            for i, x in enumerate(v[:SCAN_ITEMS]):
                leaf(f"{path}[{i}]", x, depth + 1)
        elif depth < SCAN_DEPTH and type(v) is dict:
            for i, (k, x) in enumerate(v.items()):
                if i >= SCAN_ITEMS:
                    break
                if isinstance(k, (str, int)):
                    leaf(f"{path}[{k!r}]", x, depth + 1)

    for name, v in named.items():
        if name == "self":
            d = getattr(v, "__dict__", None)
            for k, x in (d.items() if isinstance(d, dict) else ()):
                leaf(f"self.{k}", x, 1)
        else:
            leaf(name, v, 0)
    return out


def _changed(obj, snapshot):
    if not isinstance(obj, np.ndarray) or snapshot is None:
        return False
    if obj.shape != snapshot.shape:
        return True
    differ = obj != snapshot
    j = int(differ.argmax())
    if not differ.flat[j]:
        return False
    if not (obj.dtype.kind == "f" and np.isnan(obj.flat[j]) and np.isnan(snapshot.flat[j])):
        return True
    return not np.array_equal(obj, snapshot, equal_nan=True)  # NaN where NaN was: look at all of it


def _line_table(file):
    """{line: (reads, rescans, roots)} for every line of a file, from its simple statement (or its compound
    statement's header): the names it reads; the names whose values it can rebind or whose containers it can
    change (assignment targets and the roots of subscripted or attribute targets, names passed to calls, method
    receivers); and (root, key) of the arrays it can change in place (augmented and subscripted targets, names
    passed to calls, out=, mutating methods), key the plain name or constant of a first subscript."""
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):
        return {}
    table = {}

    def add(first, last, parts):
        reads, rescans, roots = set(), set(), set()
        for part in parts:
            _names(part, reads, rescans, roots)
        for n in range(first, last + 1):
            old = table.get(n, ((), (), ()))
            table[n] = tuple(tuple(sorted(set(o) | new, key=str)) for o, new in zip(old, (reads, rescans, roots)))

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            add(node.lineno, node.iter.end_lineno, [node.target, node.iter])
        elif isinstance(node, (ast.While, ast.If)):
            add(node.lineno, node.test.end_lineno, [node.test])
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            add(node.lineno, node.items[-1].context_expr.end_lineno, list(node.items))
        elif isinstance(node, ast.stmt) and not hasattr(node, "body"):
            add(node.lineno, node.end_lineno, [node])
    return table


def _chain(node):
    """(root, key) of x[k]..., x.attr, x (root 'self.w' for self.w...); key the first subscript's plain name or
    constant, or None. (None, None) when the chain does not start at a name."""
    key = None
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return f"self.{node.attr}", key
        if isinstance(node, ast.Subscript):
            sl = node.slice
            if isinstance(sl, ast.Name):
                key = ("name", sl.id)
            elif isinstance(sl, ast.Constant) and isinstance(sl.value, (int, str)):
                key = ("const", sl.value)
            elif isinstance(sl, ast.UnaryOp) and isinstance(sl.op, ast.USub) and isinstance(sl.operand, ast.Constant):
                key = ("const", -sl.operand.value)
            else:
                key = None
        node = node.value
    return (node.id, key) if isinstance(node, ast.Name) else (None, None)


def _names(tree, reads, rescans, roots):
    keyed = set()  # x of x[i] (and self.x of self.x[i]) read through a plain index, or written: not all of x
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            root, key = _chain(node)
            inner = node.value
            if root and (isinstance(inner, ast.Name) or (isinstance(inner, ast.Attribute) and isinstance(
                    inner.value, ast.Name) and inner.value.id == "self")):
                if not isinstance(node.ctx, ast.Load):  # x[i] = ...: x is written, not read (x[i] += reads x[i])
                    keyed.add(id(inner))
                elif key is not None:
                    reads.add((root, key))
                    keyed.add(id(inner))
    for node in ast.walk(tree):
        if id(node) in keyed:
            continue
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                reads.add((node.id, None))
            else:
                rescans.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            if isinstance(node.ctx, ast.Load):
                reads.add((f"self.{node.attr}", None))
            else:
                rescans.add(f"self.{node.attr}")
        elif isinstance(node, ast.NamedExpr):
            rescans.add(node.target.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            root, key = _chain(node)
            if root:
                rescans.add(root)
                roots.add((root, key))
        elif isinstance(node, ast.AugAssign):
            root, key = _chain(node.target)
            if root:
                reads.add((root, key))
                rescans.add(root)
                roots.add((root, key))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in PURE_BUILTINS:
                continue
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in MODULES
                    and func.attr not in NUMPY_MUTATORS):
                args = [k.value for k in node.keywords if k.arg == "out"]  # np.dot(x, y) changes neither
            else:
                args = list(node.args) + [k.value for k in node.keywords]
            for a in args:
                for b in (a.elts if isinstance(a, ast.Tuple) else [a]):
                    root, _ = _chain(b) if isinstance(b, (ast.Name, ast.Attribute, ast.Starred)) else (None, None)
                    if root:
                        rescans.add(root)
                        roots.add((root, None))
            if isinstance(node.func, ast.Attribute):
                root, _ = _chain(node.func.value)
                if root:
                    rescans.add(root)
                    if node.func.attr in MUTATORS:
                        roots.add((root, None))


# -- matching -----------------------------------------------------------------------------------------------
def default_order(twin, n_layers):
    """The twin's computation order over the names twin holds (design notes): forward z, a per layer; the
    loss; for i = L-1 .. 0 dz_i, its weight and bias gradients, then dL/da of the layer below; optimizer state
    per parameter; the updated parameters."""
    L, out = n_layers, []
    out += [f"layers.{i}.{k}" for i in range(L) for k in ("z", "a")] + ["loss", f"layers.{L - 1}.da"]
    for i in range(L - 1, -1, -1):
        out += [f"layers.{i}.dz", f"grad:layers.{i}.weight", f"grad:layers.{i}.bias", f"layers.{i - 1}.da"]
    params = [f"layers.{i}.{k}" for i in range(L) for k in ("weight", "bias")]
    out += [k for p in params for k in twin if k.startswith(p + ".") and np.ndim(twin[k]) > 0]
    return [n for n in dict.fromkeys(out + params) if n in twin]


def _parse(name):
    """(kind, layer, what) of a twin name: kind batch/weight/bias/scalar; what z, a, da, dz, grad, param or
    state. None for a name this module does not match (optimizer step counts, unknown names)."""
    if name == "loss":
        return "scalar", None, "loss"
    grad = name.startswith("grad:")
    parts = (name[5:] if grad else name).split(".")
    if len(parts) < 3 or parts[0] != "layers" or not parts[1].isdigit():
        return None
    i, what = int(parts[1]), parts[2]
    if what in ("z", "a", "da", "dz") and len(parts) == 3 and not grad:
        return "batch", i, what
    if what in ("weight", "bias"):
        return what, i, "grad" if grad else ("param" if len(parts) == 3 else "state")
    return None


def _phase(name):
    kind, _, what = _parse(name)
    return {"z": "forward", "a": "forward", "loss": "loss", "param": "update", "state": "optimizer"}.get(
        what, "backward")


@dataclass(eq=False)
class _Match:
    """What one recorded value matched: {twin name: form} exactly, as m times the tensor (weak), or as a
    helper; the (kind, key) pairs its shape can stand for; whether data flow may pass through it."""

    exact: dict
    weak: dict
    helper: dict
    kinds: set
    trusted: bool
    full: set = frozenset()  # the names that explain all of the value (not one part of a bias-layout array)


class _Catalog:
    """The twin's tensors indexed by kind, with the helpers derived from them, and classify(value)."""

    def __init__(self, twin, layout, sizes, agree):
        self.agree, self.layout, self.sizes, self.L = agree, layout, [int(n) for n in sizes], len(sizes) - 1
        self.entries = {}  # (kind, key) -> [(name, tensor, role, scalable)]; kind batch/weight/bias/scalar
        self.kind = {}  # name -> (kind, key), helpers included
        self.m = None
        for name, v in twin.items():
            p = _parse(name) if name != "input" else ("batch", -1, "input")
            if p is None or v is None:
                continue
            v = np.asarray(v, dtype=np.float64)
            kind, i, what = p
            if kind == "batch":
                if v.ndim != 2:
                    continue
                self.m = self.m or v.shape[0]
                self.add(name, "batch", v.shape[1], v, "helper" if what == "input" else "match",
                         what in ("da", "dz"))
            elif kind == "scalar":
                self.add(name, "scalar", None, v.reshape(()), "match", False)
            elif v.ndim == (2 if kind == "weight" else 1):
                self.add(name, kind, i, v, "match", what == "grad")
        self.output = twin.get(f"layers.{self.L - 1}.a")
        self.dz, self.prev = {}, {}  # for one sample's weight gradient: dz_i and a_{i-1} (the input for i = 0)
        for i in range(self.L):  # f'(z_i) = dz_i / da_i: masks and derivative factors are helpers
            z, a, da, dz = (twin.get(f"layers.{i}.{k}") for k in ("z", "a", "da", "dz"))
            if z is not None and da is not None and dz is not None:
                fp = _derivative(np.asarray(z, float), np.asarray(a, float), np.asarray(da, float),
                                 np.asarray(dz, float), agree)
                if fp is not None:
                    self.add(f"f'(layers.{i}.z)", "batch", fp.shape[1], fp, "helper", False)
            prev = twin.get(f"layers.{i - 1}.a") if i else twin.get("input")
            if dz is not None and prev is not None:  # the weight gradient's data part, before any l2 term
                self.dz[i], self.prev[i] = np.asarray(dz, float), np.asarray(prev, float)
                g = self.dz[i].T @ self.prev[i]
                self.add(f"data part of grad:layers.{i}.weight", "weight", i, g, "helper", True)
        self.prefilter = _tolerance(agree)
        self.widths = {k for (kind, k) in self.entries if kind == "batch"}
        self.index, self.widths_index = {}, {}  # _WidthIndex of one tensor by name, of all by width
        self.row_cache, self.output_cache = {}, {}  # prepare()'s findings
        self.prev_norm = {i: np.linalg.norm(p, axis=1) for i, p in self.prev.items()}

    def add(self, name, kind, key, tensor, role, scalable):
        self.entries.setdefault((kind, key), []).append((name, tensor, role, scalable))
        self.kind[name] = (kind, key)

    def kind_of(self, name):
        return self.kind.get(name)

    def views(self, u):
        """(kind, key, array in the twin's layout, form, part) for every way u's shape can stand for a tensor."""
        out, m, L, sizes, layout = [], self.m, self.L, self.sizes, self.layout
        widths = self.widths
        if u.size == 1:
            out.append(("scalar", None, u.reshape(()), "", "all"))
        if u.ndim == 2:
            r, c = u.shape
            if r == m and c in widths:
                out.append(("batch", c, u, "", "all"))
            if c == m and r in widths:
                out.append(("batch", r, u.T, "transposed", "all"))
            if r == m and c - 1 in widths and c > 1:
                for j, part in ((0, u[:, 1:]), (-1, u[:, :-1])):
                    if (u[:, j] == 1).all():
                        out.append(("batch", c - 1, part, "bias-augmented", "rest"))
            if c == m and r - 1 in widths and r > 1:
                for j, part in ((0, u[1:]), (-1, u[:-1])):
                    if (u[j] == 1).all():
                        out.append(("batch", r - 1, part.T, "transposed, bias-augmented", "rest"))
        if u.ndim == 1 or (u.ndim == 2 and 1 in u.shape):
            v = u.ravel()
            if v.size in widths:
                out.append(("rows", v.size, v, "row", "all"))
            if v.size - 1 in widths and v.size > 1:
                for j, part in ((0, v[1:]), (-1, v[:-1])):
                    if v[j] == 1:
                        out.append(("rows", v.size - 1, part, "row, bias-augmented", "rest"))
        torchlike = layout in ("torch", "bias-first-col", "bias-last-col")
        for i in range(L):
            n_out, n_in = sizes[i + 1], sizes[i]
            if u.shape == (n_out, n_in) and (torchlike or n_out != n_in):
                out.append(("weight", i, u, "", "all"))
            if u.shape == (n_in, n_out) and (not torchlike or n_out != n_in):
                out.append(("weight", i, u.T, "transposed", "all"))
            if layout == "bias-row" and u.shape == (n_in + 1, n_out):
                out += [("weight", i, u[1:].T, "rows 1.. (the weights, transposed)", "W"),
                        ("bias", i, u[0], "row 0 (the biases)", "b")]
            if layout in ("bias-first-col", "bias-last-col") and u.shape == (n_out, n_in + 1):
                first = layout == "bias-first-col"
                out += [("weight", i, u[:, 1:] if first else u[:, :-1], "the weight columns", "W"),
                        ("bias", i, u[:, 0] if first else u[:, -1], "the bias column", "b")]
            if u.size == n_out and (u.ndim == 1 or (u.ndim == 2 and 1 in u.shape)):
                out.append(("bias", i, u.ravel(), "", "all"))
        return out

    def classify(self, u):
        exact, weak, helper, kinds, ok, full = {}, {}, {}, set(), set(), set()
        if u.size > 1 and (u == u.flat[0]).all():
            helper["constant"] = ""
            full.add("constant")
        for kind, key, arr, form, part in self.views(u):
            kinds.add((kind, key))
            before = set(exact) | set(weak) | set(helper)
            if kind == "rows":
                self._rows(arr, key, form, exact, weak, helper)
            else:
                for name, T, role, scalable in self.entries.get((kind, key), ()):
                    self._check(arr, T, name, form, role, scalable, exact, weak, helper)
                if kind == "weight":
                    self._per_sample(arr, key, helper)
            if kind in ("batch", "rows") and key == self.sizes[-1] and self.output is not None:
                self._output_helper(arr, kind, helper)
            new = (set(exact) | set(weak) | set(helper)) - before
            if new:
                ok.add(part)
                if part in ("all", "rest"):
                    full |= new
        trusted = bool("all" in ok or "rest" in ok or {"W", "b"} <= ok or "constant" in full or u.size == 1)
        return _Match(exact, weak, helper, kinds, trusted, full)

    def _per_sample(self, arr, i, helper):
        """One sample's weight gradient, outer(dz_i[k], a_{i-1}[k]) (or m times it), for the k it fits."""
        dz, prev = self.dz.get(i), self.prev.get(i)
        if dz is None or prev is None or not arr.any():
            return
        a, b = np.unravel_index(np.abs(arr).argmax(), arr.shape)
        if not self.agree(np.outer(arr[:, b], arr[a]) / arr[a, b], arr):  # not of rank one
            return
        row = arr[a]  # proportional to a_{i-1}[k]
        k = int(np.abs(prev @ row / (self.prev_norm[i] * np.linalg.norm(row) + 1e-300)).argmax())
        g = np.outer(dz[k], prev[k])
        for factor, what in ((1, ""), (self.m, ", m times")):
            if self.agree(arr / factor, g):
                helper[f"one sample's grad:layers.{i}.weight"] = f"sample {k}{what}"
                self.kind[f"one sample's grad:layers.{i}.weight"] = ("weight", i)
                return

    def _check(self, arr, T, name, form, role, scalable, exact, weak, helper):
        if arr.shape != T.shape:
            return False
        if self.agree(arr, T):
            (helper if role == "helper" else exact)[name] = form
            return True
        if scalable and self.agree(arr / self.m, T):
            (helper if role == "helper" else weak)[name] = (form + ", " if form else "") + "m times"
            return True
        return False

    def width_index(self, n):
        index = self.widths_index.get(n)
        if index is None:
            index = self.widths_index[n] = _WidthIndex([T for _, T, _, _ in self.entries[("batch", n)]],
                                                       self.prefilter)
        return index

    def prepare(self, values):
        """Find, in one pass per width, the rows that every per-sample vector among values may be, for _rows
        and the softmax helpers to look up (a cache keyed by the vector's bytes)."""
        todo = {}
        for u in values:
            for kind, key, arr, _, _ in self.views(u):
                if kind == "rows":
                    todo.setdefault(key, {})[arr.tobytes()] = arr
        for n, vectors in todo.items():
            keys, W = list(vectors), np.array(list(vectors.values()))
            entries = self.entries[("batch", n)]
            scalable = [t for t, entry in enumerate(entries) if entry[3]]
            index = self.width_index(n)
            plain = index.nearest(W)
            scaled = index.nearest(W / self.m, scalable) if scalable else [[]] * len(W)
            for key, a, b in zip(keys, plain, scaled):
                self.row_cache[n, key] = (a, b)
            if n == self.sizes[-1] and self.output is not None:
                index = self.row_index(f"layers.{self.L - 1}.a", self.output)
                for key in keys:
                    self.output_cache[key] = []
                for what, T in _output_transforms(W).items():
                    ok = np.flatnonzero(np.isfinite(T).all(axis=1))
                    for j, f in zip(ok, index.nearest(T[ok]) if ok.size else ()):
                        if f:
                            self.output_cache[keys[j]].append((what, f[0][1]))

    def _rows(self, v, n, form, exact, weak, helper):
        """v against row k of every batch tensor of width n, for the k that fits it best."""
        entries = self.entries[("batch", n)]
        cached = self.row_cache.get((n, v.tobytes()))
        if cached is None:
            scalable = [t for t, entry in enumerate(entries) if entry[3]]
            index = self.width_index(n)
            cached = (index.nearest(v)[0], index.nearest(v / self.m, scalable)[0] if scalable else [])
        for factor, found in zip((1, self.m), cached):
            for t, k in found:
                name, T, role, _ = entries[t]
                if name not in exact and name not in weak and name not in helper and self.agree(v / factor, T[k]):
                    f = f"{form} {k}" + (", m times" if factor != 1 else "")
                    (helper if role == "helper" else exact if factor == 1 else weak)[name] = f

    def row_index(self, name, T):
        index = self.index.get(name)
        if index is None:
            index = self.index[name] = _WidthIndex([T], self.prefilter)
        return index

    def _output_helper(self, arr, kind, helper):
        """The softmax's shifted logits, exponentials and log-probabilities, log a and log(1 - a) of the output."""
        A, name = np.asarray(self.output, dtype=np.float64), f"layers.{self.L - 1}.a"
        if kind == "batch":
            tries = [(what, t, A) for what, t in _output_transforms(arr).items()]
        else:
            found = self.output_cache.get(arr.tobytes())
            if found is None:
                found = [(what, f[0][1]) for what, t in _output_transforms(arr[None]).items()
                         if np.isfinite(t).all() and (f := self.row_index(name, A).nearest(t))[0]]
            transforms = _output_transforms(arr[None]) if found else {}
            tries = [(what, transforms[what][0], A[k]) for what, k in found]
        for what, t, ref in tries:
            if np.isfinite(t).all() and t.shape == ref.shape and self.agree(t, ref):
                helper_name = f"{what} = {name}"
                helper[helper_name], self.kind[helper_name] = "", ("batch", self.sizes[-1])
                return True
        return False


def _output_transforms(V):
    """{what: transform of each row of V (queries, k)} whose equality with a row of the output activation makes
    the row a helper: shifted logits (softmax of it), exponentials (it normalised), log-probabilities (exp)."""
    with np.errstate(all="ignore"):
        e = np.exp(V - V.max(axis=-1, keepdims=True))
        out = {"softmax of it": e / e.sum(axis=-1, keepdims=True), "exp of it": np.exp(V),
               "1 - exp of it": 1 - np.exp(V)}
        out["it normalised"] = np.where((V >= 0).all(axis=-1, keepdims=True), V / V.sum(axis=-1, keepdims=True),
                                        np.nan)
    return out


class _WidthIndex:
    """The distinct rows of several batch tensors of one width n, each divided by its largest magnitude and
    sorted by their projection on one direction r, every tensor in its own block of keys. A row within a max
    error p * max|T| of w projects within p * sum|r| of w's projection (in the tensor's own scale), so one search
    per tensor finds the few rows worth comparing (p: the prefilter)."""

    def __init__(self, tensors, prefilter):
        self.S = np.stack(tensors)  # (tensors, m, n)
        self.m, self.prefilter = self.S.shape[1], prefilter
        r = np.random.default_rng(self.S.shape[2]).standard_normal(self.S.shape[2])
        self.r = r / np.linalg.norm(r)
        self.scale = np.abs(self.S).max(axis=(1, 2)) + 1e-300
        span = float(np.abs(self.r).sum())
        self.window, self.block = prefilter * span, 2 * span + 1
        keys, rows = [], []
        for t, T in enumerate(self.S):  # a row that repeats an earlier one exactly (saturated units) is left out
            _, first = np.unique(T, axis=0, return_index=True)
            first.sort()
            keys.append((T[first] @ self.r) / self.scale[t] + self.block * t)
            rows.append(t * self.m + first)
        keys, rows = np.concatenate(keys), np.concatenate(rows)
        order = np.argsort(keys, kind="stable")
        self.keys, self.order = keys[order], rows[order]

    def nearest(self, W, which=None):
        """For each row w of W (queries, n): [(tensor, row)], for each tensor (of `which`, default all) with a
        row within the prefilter of w, its closest row. One vectorised pass for all the queries."""
        which = np.arange(len(self.scale)) if which is None else np.asarray(which)
        W = np.atleast_2d(W)
        centre = (W @ self.r)[:, None] / self.scale[which] + self.block * which  # (queries, tensors)
        lo = np.searchsorted(self.keys, (centre - self.window).ravel())
        hi = np.searchsorted(self.keys, (centre + self.window).ravel(), side="right")
        count = hi - lo
        out = [[] for _ in range(len(W))]
        if not count.any():
            return out
        q = np.repeat(np.arange(len(lo)) // len(which), count)  # the query of each candidate
        pos = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        e, k = np.divmod(self.order[pos], self.m)
        err = np.abs(self.S[e, k] - W[q]).max(axis=1)
        ok = err <= self.prefilter * self.scale[e]
        q, e, k, err = q[ok], e[ok], k[ok], err[ok]
        by = np.lexsort((err, e, q))  # by query, then tensor, the closest row first
        first = by[np.unique(q[by] * len(self.scale) + e[by], return_index=True)[1]]
        for j in first:
            out[q[j]].append((int(e[j]), int(k[j])))
        return out


def _tolerance(agree):
    """10 times the largest relative error agree() accepts on a vector of ones (probed at powers of ten),
    within [1e-12, PREFILTER]; PREFILTER when agree() does not behave like a relative rule."""
    ones = np.ones(4)
    accepted = [e for e in 10.0 ** -np.arange(14.0, 1.0, -1.0) if agree(ones * (1 + e), ones)]
    if not accepted or not agree(ones, ones) or agree(ones * 1.5, ones):
        return PREFILTER
    return float(min(max(10 * max(accepted), 1e-12), PREFILTER))


def _derivative(z, a, da, dz, agree):
    """f'(z) of a layer from the twin's own tensors: the candidate whose product with dL/da gives dL/dz."""
    with np.errstate(all="ignore"):
        ratio = np.where(da != 0, dz / np.where(da != 0, da, 1), np.nan)
        neg = ratio[(z < 0) & np.isfinite(ratio)]
        slope = float(np.median(neg)) if neg.size else 0.0
    for fp in (a * (1 - a), 1 - a * a, (z > 0).astype(float), np.where(z > 0, 1.0, slope), np.ones_like(z)):
        if agree(fp * da, dz):
            return fp
    return None


class _Graph:
    """The twin's data flow over the names it holds: parents (everything a tensor is computed from) and
    gradient parents (the tensors its value comes from along the chain that a bug in it would follow)."""

    def __init__(self, names, L):
        has = set(names)
        self.parents, self.gp = {}, {}
        for n in names:
            kind, i, what = _parse(n)
            P = lambda *xs: [x for x in xs if x in has]  # noqa: E731
            if what == "z":
                full = gp = P(f"layers.{i - 1}.a")
            elif what == "a":
                full = gp = P(f"layers.{i}.z")
            elif what == "loss":
                full = gp = P(f"layers.{L - 1}.a", f"layers.{L - 1}.z")
            elif what == "da":
                full = gp = P(f"layers.{L - 1}.a") if i == L - 1 else P(f"layers.{i + 1}.dz")
            elif what == "dz":
                if i == L - 1:
                    full = gp = P(f"layers.{i}.a", f"layers.{i}.z", f"layers.{i}.da")
                else:
                    full, gp = P(f"layers.{i}.da", f"layers.{i}.z"), P(f"layers.{i}.da")
            elif what == "grad":
                gp = P(f"layers.{i}.dz")
                full = gp + (P(f"layers.{i - 1}.a") if kind == "weight" else [])
            else:
                param = f"layers.{i}.{kind}"
                full = gp = P(f"grad:{param}") + ([k for k in names if k.startswith(param + ".")]
                                                  if what == "param" else [])
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


def _chain_child(name):
    kind, i, what = _parse(name)
    return {"da": f"layers.{i}.dz", "z": f"layers.{i}.a"}.get(what)


def _class(kind):
    return "batch" if kind == "rows" else kind


# -- locating -----------------------------------------------------------------------------------------------
def locate(events, twin, order, layout, sizes, agree, returned=(), updates=None):
    """Match the events against the twin's tensors of the step and find where the user's values first depart.
    twin: {name: array} in torch's layout, batch first ('layers.{i}.z', ..., 'grad:layers.{i}.weight', the
    updated 'layers.{i}.weight', 'layers.{i}.weight.exp_avg', 'loss'; optionally 'input', the batch X, which
    lets [1, X] and the first layer's data gradient be recognised). order: the twin's computation order.
    layout: 'torch', 'in-out', 'bias-row', 'bias-first-col' or 'bias-last-col'; sizes: the layer widths.
    agree(ours, theirs) -> bool: the comparison rule. returned: [(array object, twin name), ...] for what the
    candidate returned (a bias-layout array stands for both its weight and its bias name). updates: whether
    the code updates the parameters itself (a class); None: yes if any updated parameter or optimizer state
    is matched.
    Returns (source, None), source = {"file", "line", "function", "variable", "tensor", "ours", "theirs",
    "index", "scale", "form", "holder", "matched_before": [{"variable", "line", "tensor"}, ...]}, or
    (None, why) when nothing departs or nothing can be matched."""
    cat = _Catalog(twin, layout, sizes, agree)
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
    info = {s: _Match({}, {}, {}, set(), False) if s in partial else cat.classify(events[s].value) for s in states}
    for s in states:  # what the outermost function was given is an input: trusted, and no match of anything
        if events[s].kind == "source":
            info[s] = _Match({}, {}, {}, info[s].kinds, True)
    exact, weak = set(), set()
    for c in info.values():
        exact |= c.exact.keys()
        weak |= c.weak.keys()
    names = [n for n in order if n in twin and _parse(n) is not None and n in cat.kind]
    if updates is None:
        updates = any(_phase(n) in ("optimizer", "update") and n in exact for n in names)
    if not updates:
        names = [n for n in names if _phase(n) not in ("optimizer", "update")]
    if not (exact | weak) & set(names):
        return None, ("none of the values in your files matches a tensor of the twin's step (fully vectorised "
                      "one-liners, compiled code, or a different layout or batch)")
    ident, wrong = {}, set()
    for obj, name in returned:
        ident.setdefault(name, id(obj))
        if name in cat.kind and name not in cat.classify(np.array(obj, dtype=np.float64)).exact:
            wrong.add(name)
    graph = _Graph(names, cat.L)
    anc = {}
    for s in states:  # the twin tensors each value is computed from, through values that match nothing
        e, a = events[s], set()
        for r in e.reads + ((e.prev,) if e.prev >= 0 else ()):
            if r in info:
                a |= (info[r].exact.keys() | info[r].weak.keys()) if info[r].trusted else anc[r]
        anc[s] = frozenset(a)
    loc = _Locator(events, cat, info, anc, states)
    for D in names:
        if D not in wrong:
            if D in exact:
                continue
            if graph.descendants(D) & exact:  # (a) not stored, and what follows from it is right
                continue
            link = _chain_child(D)
            if link in names and link not in exact:  # (b) the code's value stands for the next link
                continue
        upstream = graph.ancestors(D)
        holders = loc.holders(D, graph.gp_star(D, exact | weak)) or loc.holders(D, upstream)
        held = [s for s in states if events[s].ident == ident[D]] if D in ident else []
        if not (held or holders):  # (c) nothing could have held it: computed inside one expression
            continue
        holder = held[-1] if held else _first_holder(holders, D, info, cat)
        allowed = set(graph.parents[D]) | graph.gp_star(D, exact | weak)
        return loc.report(D, holder, set(holders), twin, allowed, upstream), None
    return None, "every tensor of the step is matched, or consistent with your code not storing it"


def _first_holder(holders, D, info, cat):
    if cat.kind[D][0] == "scalar":
        return holders[-1]
    plain = [s for s in holders if D not in info[s].weak]
    return (plain or holders)[0]


class _Locator:
    def __init__(self, events, cat, info, anc, states):
        self.events, self.cat, self.info, self.anc, self.states = events, cat, info, anc, states
        self.alias = {}
        self.good_returns = {(e.file, e.line) for s in states if (e := events[s]).kind == "return"
                             and info[s].exact}
        for i, e in enumerate(events):
            if e.kind == "alias":
                self.alias.setdefault(e.state, i)

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
            others = [n for n in list(c.exact) + list(c.helper) + list(c.weak) if n not in (D, "constant")]
            if c.full - {D, "constant"} or any(_class(self.cat.kind.get(n, ("?",))[0]) == cls for n in others):
                continue  # explained in full by something else, or in part by another tensor of D's kind
            out.append(s)
        return out

    def foreign(self, s, D, upstream):
        """An input of s that matches, in full, only tensors D is not computed from (the weights after the update,
        where the gradient of the bias should read those before it), or None."""
        for r in self.events[s].reads:  # (not its own value before an in-place change)
            c = self.info.get(r)
            names = {n for n in c.full & (c.exact.keys() | c.weak.keys()) if self.cat.kind[n][0] != "scalar"} \
                if c else ()
            if names and not names & (upstream | {D}):
                return r
        return None

    def walk(self, holder, D, holders, upstream):
        """Up the data flow from the holder to a value computed from trusted inputs that matches nothing, or to
        one that reads a value D is not computed from. Returns (that value, the foreign input or None)."""
        cur, seen = holder, {holder}
        while True:
            e = self.events[cur]
            odd = self.foreign(cur, D, upstream)
            if odd is not None:
                return cur, odd
            ins = [r for r in dict.fromkeys(((e.prev,) if e.prev >= 0 else ()) + e.reads)
                   if r in self.info and r not in seen and not self.info[r].trusted]
            if e.prev in ins:
                cur = e.prev
            else:
                pool = [r for r in ins if r in holders] or [r for r in ins if self.compatible(r, D)] or ins
                if not pool:
                    return cur, None
                cur = max(pool)
            seen.add(cur)

    def blames_caller(self, s, allowed):
        """Whether a function's wrong return value is its caller's doing: the same return line gave matching
        values at other calls, and this time it was given a value that matches a tensor outside `allowed` (what
        the departing tensor is computed from), e.g. sigmoid(a) where sigmoid(z) belongs."""
        e = self.events[s]
        if e.kind != "return" or (e.file, e.line) not in self.good_returns:
            return False
        given = set()
        for r in self.events[s].reads:
            if r in self.info:
                given |= self.info[r].exact.keys() | self.info[r].weak.keys()
        return bool(given - allowed)

    def display(self, s, call_site=False):
        """(file, line, function, variable) of a value as the user wrote it; a value a function returned is shown
        where the caller bound it (or at the call) when call_site."""
        e = self.events[s]
        if e.kind == "return" and call_site:
            a = self.alias.get(s)
            if a is not None and e.site == (self.events[a].file, self.events[a].line):
                e = self.events[a]
            elif e.site:
                return e.site[0], e.site[1], e.function, e.variable
        return e.file, e.line, e.function, e.variable

    def report(self, D, holder, holders, twin, allowed, upstream):
        final, odd = self.walk(holder, D, holders, upstream)
        file, line, function, variable = self.display(final, self.blames_caller(final, allowed))
        out = dict(file=file, line=line, function=function, variable=variable, tensor=D)
        if odd is not None:  # it read a value of the step that D does not come from
            f, ln, _, v = self.display(odd, call_site=True)
            c = self.info[odd]
            out["reads"] = dict(file=f, line=ln, variable=v, tensor=next(iter(c.exact or c.weak)))
        if self.events[holder].value is not None:
            out.update(self.side_by_side(self.events[holder].value, D, np.asarray(twin[D], dtype=np.float64)))
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

    def side_by_side(self, u, D, T):
        """The holder's value in D's layout beside the twin's, at the SAMPLE largest differences."""
        kind, key = self.cat.kind[D]
        for vk, vkey, arr, form, _ in self.cat.views(u):
            if (vk, vkey) == (kind, key) or (kind == "batch" and (vk, vkey) == ("rows", key)):
                break
        else:
            return dict(ours=[], theirs=[], index=[], scale=None, form=None)
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
        return dict(ours=[float(arr.ravel()[j]) for j in top], theirs=[float(ref.ravel()[j]) for j in top],
                    index=index, scale=scale, form=(form + (f" {k}" if rows else "")).strip() or None)
