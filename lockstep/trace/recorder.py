"""record(): run one step of the user's code under sys.settrace and write down the values its lines hold.

A frame is traced only if its code lives in one of the user's files. Its values are NumPy arrays, torch tensors (a
torch candidate's; copied as NumPy float64) and numbers. At each line the tracer first settles the
line before it: the names that line could rebind or change (its assignment targets, the roots of subscripted
targets, the names it passed to calls, method receivers; all of them when the line is not known) are looked at
again, arrays it could have changed in place are compared with their last copy, and every new value is copied
(float64) into an Event. Then it notes the values the new line reads, for locate()'s data flow. What a line
reads and may change comes from the file's AST (_line_table), parsed once per file.
"""

import ast
import linecache
import os
import site
import sys
import sysconfig
import warnings
import weakref
from dataclasses import dataclass

import numpy as np

MAX_BYTES = 1 << 30  # float64 copies kept by one record(); beyond it events carry value None
KEEP_RUN, DROP_SIZE = 16, 1024  # when one line gives one variable value after value, the copies after the first
# KEEP_RUN and before the last are dropped: of in-place changes (partial sums), and of arrays of DROP_SIZE or more
READS_CAP = 256  # a line reading more arrays than this under one name (a batch list) records none of them
SCAN_DEPTH, SCAN_ITEMS = 3, 4096  # how deep and how wide lists, tuples and dicts held by locals are searched
MUTATORS = {"fill", "sort", "put", "itemset", "resize", "partition", "setfield", "byteswap"}  # array methods
PURE_BUILTINS = {
    "len",
    "range",
    "reversed",
    "zip",
    "enumerate",
    "isinstance",
    "print",
    "sum",
    "min",
    "max",
    "abs",
    "float",
    "int",
    "list",
    "tuple",
    "dict",
    "sorted",
    "iter",
    "next",
    "any",
    "all",
    "map",
    "round",
    "str",
    "repr",
    "type",
    "id",
    "bool",
    "set",
}  # calls that change none of their arguments
MODULES = {"np", "numpy", "math", "torch", "F"}  # np.f(x) changes x only for these, or through out=
NUMPY_MUTATORS = {"copyto", "put", "place", "putmask", "fill_diagonal", "shuffle", "at"}


class UserFiles:
    """The files that are the user's: every real Python file outside the standard library, the installed packages
    (site-packages, dist-packages) and this tool's own packages, so that helpers in a sibling folder (src/,
    utils/) are traced with the candidate. `path in UserFiles()` answers for any path."""

    def __init__(self):
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        dirs = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        dirs |= set(getattr(site, "getsitepackages", lambda: [])()) | {site.getusersitepackages()}
        dirs |= {os.path.join(here, pkg) for pkg in ("lockstep", "handmade", "reference")}
        self.outside = tuple(os.path.realpath(d) + os.sep for d in dirs if d)

    def __contains__(self, path):
        path = os.path.realpath(path)
        parts = path.split(os.sep)
        return (
            path.endswith(".py")
            and os.path.isfile(path)
            and not path.startswith(self.outside)
            and "site-packages" not in parts
            and "dist-packages" not in parts
        )


@dataclass(eq=False)
class Event:
    """One value seen in the user's code, at the line that bound or changed it. kind: 'bind' (a line bound a new
    value), 'change' (a line changed an array in place), 'arg' (an argument computed at the call; file and line
    are the call's), 'return' (a function returned a new value; variable 'f(...)', site the call's (file, line)),
    'source' (what existed before: the outermost call's arguments, attributes of self, variables of enclosing
    functions), 'alias' (a known value bound to another name: its value is events[state].value).
    When one line gives one variable value after value (a loop), the copies after the first KEEP_RUN and before
    the last are dropped (value None): of in-place changes (partial sums) and of arrays of DROP_SIZE or more."""

    file: str
    line: int
    function: str
    variable: str
    value: np.ndarray | None  # float64 copy; 0-d for a scalar; None for an alias (see state) and a dropped copy
    ident: int  # id() of the object (reused only after the object is freed: a live object's events come last)
    kind: str = "bind"
    state: int = -1  # index of the event that created this value (its own index unless an alias)
    reads: tuple = ()  # states the line read before it ran, and those its calls returned to it
    prev: int = -1  # for a change: the object's state before it
    site: tuple | None = None  # (file, line) of the user's line that called the function, when one did
    view: int = -1  # for a view of a recorded array (a row of a weight matrix): that array's state


class Events(list):
    """record()'s events; error names a tracer failure (recording then stopped), truncated says MAX_BYTES hit."""

    error = None
    truncated = False


def record(call, user_files):
    """Run call() (no arguments) under a tracer and return (result, events). Only frames whose code lives in one
    of user_files are recorded: a collection of paths, or anything that answers `path in user_files` for a real
    path (UserFiles: every file outside the standard library, the installed packages and this tool); see Event.
    The previous tracer is restored afterwards, and the tracer only reads: a failure inside it stops recording
    (events.error) and never reaches call()."""
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
    site: tuple | None = None  # (file, line) of the user's line that called this frame, if any
    line: int | None = None  # the line that is running
    reads: tuple = ()  # the states it read, and the values its calls returned to it
    info: tuple = ((), (), ())  # its (reads, rescans, roots): see _line_table


class _Recorder:
    def __init__(self, user_files):
        self.files = user_files if isinstance(user_files, UserFiles) else {os.path.realpath(f) for f in user_files}
        self.code_file = {}  # code object -> its real path, or None outside the user's files
        self.events = Events()
        self.state_of = {}  # id(object) -> its latest state
        self.keep = []  # recorded floats, alive until the end so that no id is reused
        self.frames = {}
        self.lines = {}  # file -> {line: (reads, rescans, roots)}
        self.runs = {}  # (file, line, variable) -> (the last event of the values it took there, how many)
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
        site = (caller.file, caller.line) if caller is not None and caller.line is not None else None
        self.frames[frame] = _Frame(file, code.co_name, _by_root(paths), site)

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
        for root in fs.info[1]:  # an object's attribute this line may change, not seen yet: what existed before
            if "." in root and root not in fs.held:
                for path, obj in _scan({root: _lookup(frame.f_locals, root)}).items():
                    if id(obj) not in self.state_of:
                        self.new(fs.file, fs.line, fs.function, path, obj, "source", ())
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
                    self.new(fs.file, fs.line, fs.function, path, a, "change", fs.reads, prev=s, site=fs.site)
                    self.through_view(fs, a, seen)
        for r in touched:
            before = old.get(r, {})
            for path, obj in held.get(r, {}).items():
                if before.get(path) is obj:
                    continue
                s = self.state_of.get(id(obj))
                if s is None:
                    self.new(fs.file, fs.line, fs.function, path, obj, "bind", fs.reads, site=fs.site)
                else:
                    alias = Event(fs.file, fs.line, fs.function, path, None, id(obj), "alias", s, fs.reads)
                    alias.site = fs.site
                    self.events.append(alias)
        fs.held = held

    def through_view(self, fs, a, seen):
        """A line that changed a view (a row of a weight matrix, w_arr -= ...) changed the array it views: that
        array's change is recorded at this line too, under the name it was last seen by."""
        base = _base(a)
        while _is_array(base) and id(base) not in seen:
            seen.add(id(base))
            s = self.state_of.get(id(base))
            if s is not None and _changed(base, self.events[s].value):
                name = self.events[s].variable
                self.new(fs.file, fs.line, fs.function, name, base, "change", fs.reads, prev=s, site=fs.site)
            base = _base(base)

    def new(self, file, line, function, variable, obj, kind, reads, prev=-1, site=None):
        value = None
        if self.bytes <= MAX_BYTES:
            value = values_of(obj)
            self.bytes += value.nbytes
        index = len(self.events)
        base = _base(obj)
        view = self.state_of.get(id(base), -1) if base is not None else -1
        self.events.append(Event(file, line, function, variable, value, id(obj), kind, index, reads, prev, site, view))
        if id(obj) not in self.state_of:
            if _is_array(obj):  # forget the id when the array dies, so that a new one can take it
                self.watches.append(weakref.finalize(obj, self.state_of.pop, id(obj), None))
            else:
                self.keep.append(obj)  # floats cannot be watched: keep them alive
        self.state_of[id(obj)] = index
        key = (file, line, variable)
        last, count = self.runs.get(key, (None, 0))
        if count > KEEP_RUN:  # a loop: the value before this one is neither among the first nor the last
            middle = self.events[last]
            if middle.value is not None and (kind == "change" or middle.value.size >= DROP_SIZE):
                self.bytes -= middle.value.nbytes
                middle.value = None
        self.runs[key] = (index, count + 1)


def _root(path):
    """'grads' for grads[2], 'self.weights' for self.weights[0]."""
    return path.split("[", 1)[0]


def _lookup(local, name):
    """The value of a local, or of an instance attribute of one ('self.w', 'network.weights')."""
    if "." in name:
        head, attr = name.split(".", 1)
        d = getattr(local.get(head), "__dict__", None)
        return d.get(attr) if isinstance(d, dict) else None
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
            if _is_array(element) or isinstance(element, (float, list, tuple, dict)):
                return list(_scan({"": element}).values())
    if root == "self":
        return [o for r, objs in held.items() if r.startswith("self.") for o in objs.values()]
    if root not in held and "." in root and not root.startswith("self."):  # another object's attribute
        return list(_scan({"": _lookup(local, root)}).values())
    return list(held.get(root, {}).values())


def _scan(named):
    """{path: array or float} for every array and float held by the named values, looking into lists, tuples
    and dicts (SCAN_DEPTH deep, SCAN_ITEMS wide) and into the attributes of `self`."""
    out = {}

    def leaf(path, v, depth):
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "biuf":
                out[path] = v
        elif _is_tensor(v):
            if not v.is_complex():
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
            for k, x in d.items() if isinstance(d, dict) else ():
                leaf(f"self.{k}", x, 1)
        else:
            leaf(name, v, 0)
    return out


def _tensor_class():
    """torch.Tensor when torch is imported (a torch candidate's values are tensors), else None."""
    torch = sys.modules.get("torch")
    return getattr(torch, "Tensor", None)


def _is_tensor(v):
    T = _tensor_class()
    return T is not None and isinstance(v, T)


def _is_array(v):
    return isinstance(v, np.ndarray) or _is_tensor(v)


def _numpy(v):
    """A torch tensor as a NumPy view of its values (autograd's graph left alone); anything else as it is."""
    return v.detach().cpu().numpy() if _is_tensor(v) else v


def _base(v):
    """The array a NumPy array or torch tensor is a view of, or None."""
    if isinstance(v, np.ndarray):
        return v.base
    return v._base if _is_tensor(v) else None


def values_of(obj):
    """A float64 copy of what a value holds: a NumPy array, a torch tensor or a number."""
    return np.array(_numpy(obj), dtype=np.float64)


def _changed(obj, snapshot):
    obj = _numpy(obj)
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


def _parse(file):
    """The AST of a user's file, its own compile warnings (an invalid escape in a docstring) kept quiet: Python
    already said them when it imported the file, and the tracer's parse is no reason to say them again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse("".join(linecache.getlines(file)))


def statement_span(file, line):
    """(first, last) line of the simple statement of `file` that covers `line` (a multi-line return or call), or
    (line, line)."""
    try:
        tree = _parse(file)
    except (SyntaxError, ValueError):
        return line, line
    spans = [
        (n.lineno, n.end_lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.stmt) and not hasattr(n, "body") and n.lineno <= line <= n.end_lineno
    ]
    return min(spans, key=lambda s: s[1] - s[0], default=(line, line))


def _line_table(file):
    """{line: (reads, rescans, roots)} for every line of a file, from its simple statement (or its compound
    statement's header): the names it reads; the names whose values it can rebind or whose containers it can
    change (assignment targets and the roots of subscripted or attribute targets, names passed to calls, method
    receivers); and (root, key) of the arrays it can change in place (augmented and subscripted targets, names
    passed to calls, out=, mutating methods), key the plain name or constant of a first subscript."""
    try:
        tree = _parse(file)
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


def _in_place(method):
    """torch's in-place methods end in an underscore (add_, zero_, index_add_)."""
    return method.endswith("_") and not method.startswith("_")


def _chain(node):
    """(root, key) of x[k]..., x.attr, x (root 'self.w' for self.w...); key the first subscript's plain name or
    constant, or None. (None, None) when the chain does not start at a name."""
    key = None
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):  # self.w, or network.weights
            return f"{node.value.id}.{node.attr}", key
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
            if root and (
                isinstance(inner, ast.Name) or (isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name))
            ):
                if not isinstance(node.ctx, ast.Load):  # x[i] = ...: x is written, not read (x[i] += reads x[i])
                    keyed.add(id(inner))
                elif key is not None:
                    reads.add((root, key))
                    keyed.add(id(inner))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            keyed.add(id(node.value))  # obj.attr reads obj.attr (below), not everything obj holds
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
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.value.id not in MODULES
        ):  # another object's attribute (layer.gradients): read as what it holds
            reads.add((f"{node.value.id}.{node.attr}", None))
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
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in MODULES
                and func.attr not in NUMPY_MUTATORS
            ):
                args = [k.value for k in node.keywords if k.arg == "out"]  # np.dot(x, y) changes neither
            else:
                args = list(node.args) + [k.value for k in node.keywords]
            for a in args:
                for b in a.elts if isinstance(a, ast.Tuple) else [a]:
                    root, _ = _chain(b) if isinstance(b, (ast.Name, ast.Attribute, ast.Starred)) else (None, None)
                    if root:
                        rescans.add(root)
                        roots.add((root, None))
            if isinstance(node.func, ast.Attribute):
                root, _ = _chain(node.func.value)
                if root:
                    rescans.add(root)
                    if node.func.attr in MUTATORS or _in_place(node.func.attr):
                        roots.add((root, None))
