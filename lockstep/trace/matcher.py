"""The twin's tensors as a catalogue, and what one recorded value matches: a tensor, m times one, or a helper.

Catalog.classify(value) tries every form the value's shape allows (the layout's transposes, bias rows and
columns, per-sample rows, bias-augmented activations) against the twin's tensors with the project's agree(),
and recognises helpers (constants, the input, f'(z), the softmax's intermediate values, a gradient's data part,
one sample's outer-product gradient). Catalog.prepare() does the numerical work for all the values at once: the
error of every view to every tensor of its kind and shape in chunked vectorised passes, and for per-sample
vectors a search in a sorted index of the rows of every batch tensor (WidthIndex), so that a loop over thousands
of samples costs thousands of searches, not thousands of scans; agree() then decides for the few candidates.
"""

from dataclasses import dataclass

import numpy as np

DATA_LOSS = "the data loss, before the penalties"
PREFILTER = 1e-3  # agree() is asked only within this max error relative to the tensor's largest magnitude, or
# within 10 times the relative tolerance that agree() is probed to have (tolerance()), when that is smaller


# a block's batch tensors in the order its forward and its backward compute them (lockstep/sides/plan.py): with a
# norm and dropout, z -> norm.xhat -> norm.out -> a -> dropout.out, and dropout.dout -> da -> norm.dout -> dz
FORWARD_LINKS = ("z", "norm.xhat", "norm.out", "a", "dropout.out")
BACKWARD_LINKS = ("dropout.dout", "da", "norm.dout", "dz")
SCALABLE = ("da", "dz", "dropout.dout", "norm.dout")  # what per-sample code keeps m times the twin's


def parse(name):
    """(kind, layer, what) of a twin name: kind batch/weight/bias/scalar; what one of FORWARD_LINKS and
    BACKWARD_LINKS, grad, param or state. A norm's weight and bias are vectors of the layer's width, of kind bias as
    the layer's own bias. None for a name this module does not match (optimizer step counts, unknown names)."""
    if name == "loss":
        return "scalar", None, "loss"
    grad = name.startswith("grad:")
    parts = (name[5:] if grad else name).split(".")
    if len(parts) < 3 or parts[0] != "layers" or not parts[1].isdigit():
        return None
    i, rest = int(parts[1]), parts[2:]
    if ".".join(rest) in FORWARD_LINKS + BACKWARD_LINKS and not grad:
        return "batch", i, ".".join(rest)
    norm = rest[0] == "norm" and len(rest) > 1 and rest[1] in ("weight", "bias")
    if rest[0] in ("weight", "bias") or norm:
        what = "grad" if grad else ("param" if len(rest) == 1 + norm else "state")
        return ("bias" if norm else rest[0]), i, what
    return None


def param_of(name):
    """The parameter a gradient, parameter or optimizer state name belongs to: layers.0.norm.weight for
    grad:layers.0.norm.weight and layers.0.norm.weight.momentum_buffer."""
    _, _, what = parse(name)
    if what == "grad":
        return name[5:]
    return name if what == "param" else name.rpartition(".")[0]


def link(name, step, has):
    """The link of the block's chain `step` places (-1 before, +1 after) from a batch tensor, among the names in
    `has`, within its block and direction (FORWARD_LINKS, BACKWARD_LINKS); None at the chain's end."""
    kind, i, what = parse(name)
    chain = next((c for c in (FORWARD_LINKS, BACKWARD_LINKS) if what in c), ())
    if not chain:
        return None
    j = chain.index(what) + step
    while 0 <= j < len(chain):
        if f"layers.{i}.{chain[j]}" in has:
            return f"layers.{i}.{chain[j]}"
        j += step
    return None


def block_output(i, has):
    """The last forward link of block i among `has` (dropout.out, else a): the next layer's input."""
    return next((f"layers.{i}.{w}" for w in FORWARD_LINKS[::-1] if f"layers.{i}.{w}" in has), None)


def phase(name):
    kind, _, what = parse(name)
    forward = dict.fromkeys(FORWARD_LINKS, "forward")
    return {**forward, "loss": "loss", "param": "update", "state": "optimizer"}.get(what, "backward")


@dataclass(eq=False)
class Match:
    """What one recorded value matched: {twin name: form} exactly, as m times the tensor (weak), or as a
    helper; the (kind, key) pairs its shape can stand for; whether data flow may pass through it."""

    exact: dict
    weak: dict
    helper: dict
    kinds: set
    trusted: bool
    full: set = frozenset()  # the names that explain all of the value (not one part of a bias-layout array)
    native: set = frozenset()  # the (kind, key) its shape stands for in the layout's own orientation


class Catalog:
    """The twin's tensors indexed by kind, with the helpers derived from them, and classify(value)."""

    def __init__(self, twin, layout, sizes, agree):
        self.agree, self.layout, self.sizes, self.L = agree, layout, [int(n) for n in sizes], len(sizes) - 1
        self.entries = {}  # (kind, key) -> [(name, tensor, role, scalable)]; kind batch/weight/bias/scalar
        self.kind = {}  # name -> (kind, key), helpers included
        self.stands_for = {}  # helper -> the twin tensor it is computed from, for the data flow
        self.m = None
        for name, v in twin.items():
            if name == "data loss":  # the loss before its penalties: what a line adds them to
                self.add(DATA_LOSS, "scalar", None, np.asarray(v, dtype=np.float64).reshape(()), "helper", False)
                continue
            p = parse(name) if name != "input" else ("batch", -1, "input")
            if p is None or v is None:
                continue
            v = np.asarray(v, dtype=np.float64)
            kind, i, what = p
            if kind == "batch":
                if v.ndim != 2:
                    continue
                self.m = self.m or v.shape[0]
                self.add(name, "batch", v.shape[1], v, "helper" if what == "input" else "match", what in SCALABLE)
            elif kind == "scalar":
                self.add(name, "scalar", None, v.reshape(()), "match", False)
            elif v.ndim == (2 if kind == "weight" else 1):
                self.add(name, kind, i, v, "match", what == "grad")
        self.output = twin.get(f"layers.{self.L - 1}.a")
        if DATA_LOSS in self.kind:
            self.stands_for[DATA_LOSS] = f"layers.{self.L - 1}.a"
        self.dz, self.prev = {}, {}  # for one sample's weight gradient: dz_i and a_{i-1} (the input for i = 0)
        for i in range(self.L):  # f'(z_i) = dz_i / da_i: masks and derivative factors are helpers
            z, a, da, dz = (twin.get(f"layers.{i}.{k}") for k in ("z", "a", "da", "dz"))
            if f"layers.{i}.norm.out" in twin:  # the activation's input is the norm's output, its gradient norm.dout
                z, dz = twin[f"layers.{i}.norm.out"], twin.get(f"layers.{i}.norm.dout")
            self.mask_helpers(twin, i)
            if z is not None and da is not None and dz is not None:
                fp = derivative(
                    np.asarray(z, float), np.asarray(a, float), np.asarray(da, float), np.asarray(dz, float), agree
                )
                if fp is not None:
                    self.add(f"f'(layers.{i}.z)", "batch", fp.shape[1], fp, "helper", False)
                    pre = f"layers.{i}.norm.out" if f"layers.{i}.norm.out" in twin else f"layers.{i}.z"
                    self.stands_for[f"f'(layers.{i}.z)"] = pre
            prev = twin.get(block_output(i - 1, twin)) if i else twin.get("input")
            if dz is not None and prev is not None:  # the weight gradient's data part, before any l2 term
                self.dz[i], self.prev[i] = np.asarray(dz, float), np.asarray(prev, float)
                g = self.dz[i].T @ self.prev[i]
                self.add(f"data part of grad:layers.{i}.weight", "weight", i, g, "helper", True)
        self.output_da(twin)
        self.prefilter = tolerance(agree)
        self.widths = {k for (kind, k) in self.entries if kind == "batch"}
        self.index, self.widths_index = {}, {}  # WidthIndex of one tensor by name, of all by width
        self.row_cache, self.output_cache = {}, {}  # prepare()'s findings
        self.groups, self.check_cache = {}, {}  # group(); prepare()'s findings for _check
        self.view_cache = {}  # id(value) -> views(value), from prepare() to classify()
        self.prev_norm = {i: np.linalg.norm(p, axis=1) for i, p in self.prev.items()}

    def mask_helpers(self, twin, i):
        """Block i's dropout mask, as the twin holds it (1.0 kept, 0.0 dropped) and scaled by 1/keep as inverted
        dropout applies it (CS231n's (rand < p) / p): helpers, which hold no tensor of their own."""
        mask, a, out = (twin.get(f"layers.{i}.{k}") for k in ("dropout.mask", "a", "dropout.out"))
        if mask is None or a is None or out is None:
            return
        mask, a, out = (np.asarray(v, dtype=np.float64) for v in (mask, a, out))
        kept = (mask != 0) & (a != 0)
        scale = float(np.median(out[kept] / a[kept])) if kept.any() else 1.0
        for name, value in ((f"layers.{i}.dropout.mask", mask), (f"layers.{i}.dropout.mask / keep", mask * scale)):
            self.add(name, "batch", mask.shape[1], value, "helper", False)

    def output_da(self, twin):
        """dL/da of the output where the twin fuses it into dL/dz (cross-entropy, binary cross-entropy): a helper
        the textbook dAL = -(Y/AL - (1-Y)/(1-AL)) matches, derived from dz = a - y (over m) and a."""
        L, m = self.L, self.m
        a, dz = twin.get(f"layers.{L - 1}.a"), twin.get(f"layers.{L - 1}.dz")
        if f"layers.{L - 1}.da" in twin or a is None or dz is None or m is None:
            return
        a, dz = np.asarray(a, dtype=np.float64), np.asarray(dz, dtype=np.float64)
        with np.errstate(all="ignore"):
            if a.shape[1] > 1 and self.agree(a.sum(axis=1), np.ones(len(a))):  # softmax: dL/da = -y / (m a)
                da = -(a - m * dz) / (m * a)
            else:  # sigmoid: dL/da = dz / (a (1 - a))
                da = dz / (a * (1 - a))
        if np.isfinite(da).all():
            self.add(f"dL/da of layers.{L - 1}.a", "batch", a.shape[1], da, "helper", True)
            self.stands_for[f"dL/da of layers.{L - 1}.a"] = f"layers.{L - 1}.a"

    def add(self, name, kind, key, tensor, role, scalable):
        self.entries.setdefault((kind, key), []).append((name, tensor, role, scalable))
        self.kind[name] = (kind, key)

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
                out += [
                    ("weight", i, u[1:].T, "rows 1.. (the weights, transposed)", "W"),
                    ("bias", i, u[0], "row 0 (the biases)", "b"),
                ]
            if layout in ("bias-first-col", "bias-last-col") and u.shape == (n_out, n_in + 1):
                first = layout == "bias-first-col"
                out += [
                    ("weight", i, u[:, 1:] if first else u[:, :-1], "the weight columns", "W"),
                    ("bias", i, u[:, 0] if first else u[:, -1], "the bias column", "b"),
                ]
            if u.size == n_out and (u.ndim == 1 or (u.ndim == 2 and 1 in u.shape)):
                out.append(("bias", i, u.ravel(), "", "all"))
        return out

    def native(self, kind, form):
        """Whether a view is the layout's own orientation: W (out, in) for torch and the bias-column layouts, W^T for
        in-out and bias-row; samples as rows for batch tensors."""
        if kind == "weight" and form in ("", "transposed"):
            return (form == "") == (self.layout in ("torch", "bias-first-col", "bias-last-col"))
        return not form.startswith("transposed")

    def classify(self, u):
        exact, weak, helper, kinds, ok, full, native = {}, {}, {}, set(), set(), set(), set()
        if u.size > 1 and (u == u.flat[0]).all():
            helper["constant"] = ""
            full.add("constant")
        for kind, key, arr, form, part in self.view_cache.pop(id(u), None) or self.views(u):
            kinds.add((kind, key))
            if self.native(kind, form):
                native.add((kind, key))
            before = set(exact) | set(weak) | set(helper)
            if kind == "rows":
                self._rows(arr, key, form, exact, weak, helper)
            else:
                self._check(arr, kind, key, form, exact, weak, helper)
                self._scaled_state(arr, kind, key, form, weak)
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
        return Match(exact, weak, helper, kinds, trusted, full, native)

    def _scaled_state(self, arr, kind, key, form, weak):
        """Optimizer state held as a constant multiple of torch's: a velocity that carries the learning rate
        (v = mu v + lr g, whose lr v is torch's lr buf) or an average kept without its (1 - beta) factor."""
        if kind not in ("weight", "bias") or not arr.any():
            return
        for name, T, role, _ in self.entries.get((kind, key), ()):
            if role != "match" or parse(name)[2] != "state" or name in weak or arr.shape != T.shape:
                continue
            denom = float((T * T).sum())
            c = float((arr * T).sum()) / denom if denom > 0 else 0.0
            if c != 0 and np.isfinite(c) and abs(c - 1) > 1e-6 and self.agree(arr / c, T):
                weak[name] = (form + ", " if form else "") + f"{c:.3g} times"

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

    def group(self, kind, key):
        """(entries, their tensors stacked, the largest magnitude of each) of (kind, key), or None."""
        if (kind, key) not in self.groups:
            entries = self.entries.get((kind, key), ())
            S = np.stack([T for _, T, _, _ in entries]) if entries else None
            self.groups[kind, key] = (
                None if S is None else (entries, S, np.abs(S).reshape(len(S), -1).max(axis=1, initial=0.0) + 1e-300)
            )
        return self.groups[kind, key]

    def near(self, kind, key, A):
        """For each array of A (arrays, *shape): ([tensors of (kind, key) within the prefilter of it], [those
        within it once it is divided by m]), in chunked vectorised passes."""
        entries, S, scale = self.group(kind, key)
        E, size = len(S), S[0].size
        flat, out = S.reshape(E, -1), []
        step = max(1, int(4e6 // (E * size)))
        for start in range(0, len(A), step):
            chunk = A[start : start + step].reshape(-1, 1, size)
            plain = np.abs(chunk - flat).max(axis=2, initial=0.0) <= self.prefilter * scale
            scaled = np.abs(chunk / self.m - flat).max(axis=2, initial=0.0) <= self.prefilter * scale
            out += [(np.flatnonzero(a).tolist(), np.flatnonzero(b).tolist()) for a, b in zip(plain, scaled)]
        return out

    def _check(self, arr, kind, key, form, exact, weak, helper):
        """arr against every tensor of (kind, key): agree() for those within the prefilter of it, as it is and
        (for backward tensors and gradients) divided by m. prepare() has found them, or they are found now."""
        group = self.group(kind, key)
        if group is None or arr.shape != group[1].shape[1:]:
            return
        entries = group[0]
        found = self.check_cache.get((kind, key, arr.tobytes()))
        if found is None:
            found = self.near(kind, key, arr[None])[0]
        for factor, ts in zip((1, self.m), found):
            w = arr / factor
            for t in ts:
                name, T, role, scalable = entries[t]
                if (
                    (factor == 1 or scalable)
                    and name not in exact
                    and name not in weak
                    and name not in helper
                    and self.agree(w, T)
                ):
                    f = form if factor == 1 else (form + ", " if form else "") + "m times"
                    (helper if role == "helper" else exact if factor == 1 else weak)[name] = f

    def width_index(self, n):
        index = self.widths_index.get(n)
        if index is None:
            index = self.widths_index[n] = WidthIndex([T for _, T, _, _ in self.entries[("batch", n)]], self.prefilter)
        return index

    def prepare(self, values):
        """Find, in vectorised passes, the tensors every view of every value may match (per kind and shape) and
        the rows every per-sample vector may be (per width), for _check, _rows and the softmax helpers to look up
        (caches keyed by the view's bytes)."""
        todo, checks = {}, {}
        for u in values:
            self.view_cache[id(u)] = views = self.views(u)
            for kind, key, arr, _, _ in views:
                if kind == "rows":
                    todo.setdefault(key, {})[arr.tobytes()] = arr
                elif self.group(kind, key) is not None and arr.shape == self.group(kind, key)[1].shape[1:]:
                    checks.setdefault((kind, key), {})[arr.tobytes()] = arr
        for (kind, key), arrays in checks.items():
            for b, found in zip(arrays, self.near(kind, key, np.array(list(arrays.values())))):
                self.check_cache[kind, key, b] = found
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
                for what, T in output_transforms(W).items():
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
            index = self.index[name] = WidthIndex([T], self.prefilter)
        return index

    def _output_helper(self, arr, kind, helper):
        """The softmax's shifted logits, exponentials and log-probabilities, log a and log(1 - a) of the output."""
        A, name = np.asarray(self.output, dtype=np.float64), f"layers.{self.L - 1}.a"
        if kind == "batch":
            tries = [(what, t, A) for what, t in output_transforms(arr).items()]
        else:
            found = self.output_cache.get(arr.tobytes())
            if found is None:
                found = [
                    (what, f[0][1])
                    for what, t in output_transforms(arr[None]).items()
                    if np.isfinite(t).all() and (f := self.row_index(name, A).nearest(t))[0]
                ]
            transforms = output_transforms(arr[None]) if found else {}
            tries = [(what, transforms[what][0], A[k]) for what, k in found]
        for what, t, ref in tries:
            if np.isfinite(t).all() and t.shape == ref.shape and self.agree(t, ref):
                helper_name = f"{what} = {name}"
                helper[helper_name], self.kind[helper_name] = "", ("batch", self.sizes[-1])
                return True
        return False


def output_transforms(V):
    """{what: transform of each row of V (queries, k)} whose equality with a row of the output activation makes
    the row a helper: shifted logits (softmax of it), exponentials (it normalised), log-probabilities (exp)."""
    with np.errstate(all="ignore"):
        e = np.exp(V - V.max(axis=-1, keepdims=True))
        out = {
            "softmax of it": e / e.sum(axis=-1, keepdims=True),
            "exp of it": np.exp(V),
            "1 - exp of it": 1 - np.exp(V),
        }
        out["it normalised"] = np.where((V >= 0).all(axis=-1, keepdims=True), V / V.sum(axis=-1, keepdims=True), np.nan)
    return out


class WidthIndex:
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


def tolerance(agree):
    """10 times the largest relative error agree() accepts on a vector of ones (probed at powers of ten),
    within [1e-12, PREFILTER]; PREFILTER when agree() does not behave like a relative rule."""
    ones = np.ones(4)
    accepted = [e for e in 10.0 ** -np.arange(14.0, 1.0, -1.0) if agree(ones * (1 + e), ones)]
    if not accepted or not agree(ones, ones) or agree(ones * 1.5, ones):
        return PREFILTER
    return float(min(max(10 * max(accepted), 1e-12), PREFILTER))


def derivative(z, a, da, dz, agree):
    """f'(z) of a layer from the twin's own tensors: the candidate whose product with dL/da gives dL/dz."""
    with np.errstate(all="ignore"):
        ratio = np.where(da != 0, dz / np.where(da != 0, da, 1), np.nan)
        neg = ratio[(z < 0) & np.isfinite(ratio)]
        slope = float(np.median(neg)) if neg.size else 0.0
    for fp in (a * (1 - a), 1 - a * a, (z > 0).astype(float), np.where(z > 0, 1.0, slope), np.ones_like(z)):
        if agree(fp * da, dz):
            return fp
    return None
