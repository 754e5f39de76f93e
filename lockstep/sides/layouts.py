"""The layouts a user's parameters come in, one row each in LAYOUTS, and the conversions to and from torch's.

torch's layout, which handmade and the twin use, is W (out, in) and b (out,) per layer, named
'layers.{i}.weight' and 'layers.{i}.bias'. A layout says how the user's code holds the same numbers:

  torch           [W0, b0, W1, b1, ...]   W (out, in), b (out,)          z = x @ W.T + b
  in-out          [W0, b0, W1, b1, ...]   W (in, out), b (out,)          z = x @ W + b       (most tutorials)
  bias-row        [T0, T1, ...]           T (in + 1, out), row 0 = b     z = [1, x] @ T
  bias-first-col  [T0, T1, ...]           T (out, in + 1), column 0 = b  z = [1, x] @ T.T   (the classic Theta)
  bias-last-col   [T0, T1, ...]           T (out, in + 1), last col = b  z = [x, 1] @ T.T

A Form says the rest: a list, or a dict keyed W1, b1, W2, b2, ... (Theta1, Theta2, ... for the bias layouts,
counted from 1), and whether biases are flat (out,), columns (out, 1) or rows (1, out). Without biases only torch
and in-out apply, as [W0, W1, ...]. Adding a layout is a row in LAYOUTS: its two conversions of one layer and
its description of an element.

A network with a batch or layer norm after each hidden affine layer (norm=True below) also hands the code each norm's
weight and bias (torch's layers.{i}.norm.weight, .bias; gamma and beta), as NORM_PARAMS says, in every layout alike:
in a list right after the hidden layer's own arrays, in torch's named_parameters order ([W0, b0, gamma0, beta0, W1,
...]); in a dict as gamma{i+1}, beta{i+1} beside W{i+1}, b{i+1} (CS231n's FullyConnectedNet); shaped as the form's
biases are (flat (out,), a column or a row), flat in the bias layouts.
"""

from dataclasses import dataclass

import numpy as np

NORM_PARAMS = (("weight", "gamma"), ("bias", "beta"))  # a norm's parameters: torch's name, the dict key's stem
BIAS_SHAPES = {"flat": lambda b: b, "column": lambda b: b[:, None], "row": lambda b: b[None, :]}


@dataclass(frozen=True)
class Form:
    container: str = "list"  # 'list' or 'dict'
    bias: str = "flat"  # 'flat' (out,), 'column' (out, 1) or 'row' (1, out), for layouts with a separate bias

    def __str__(self):
        return self.container + ("" if self.bias == "flat" else f", {self.bias} biases")

    @classmethod
    def of(cls, form):
        """A Form from a Form, or from 'list' or 'dict' (flat biases)."""
        return form if isinstance(form, Form) else cls(form)


@dataclass(frozen=True)
class Layout:
    """One layout: how one layer's (W (out, in), b (out,) or None) become the user's arrays and back."""

    name: str
    summary: str
    separate_bias: bool  # W and b are two arrays (torch, in-out) rather than one augmented matrix
    to_user: object  # (W, b) -> tuple of the user's arrays for this layer
    from_user: object  # (arrays of this layer, n_in, n_out) -> (W, b)
    shapes: object  # (n_in, n_out, bias) -> tuple of shapes
    element: object  # (kind 'weight' or 'bias', index (j, k) or (j,), n_in) -> (which array, index in it)
    whole: object  # kind -> what of the array the tensor is, e.g. 'rows 1.. (the weights, transposed)'


LAYOUTS = {
    layout.name: layout
    for layout in [
        Layout(
            "torch",
            "[W0, b0, ...] with W (out, in)",
            True,
            lambda W, b: (W, b),
            lambda arrays, n_in, n_out: arrays,
            lambda n_in, n_out, bias: ((n_out, n_in), (n_out,)) if bias else ((n_out, n_in),),
            lambda kind, idx, n_in: (0, idx) if kind == "weight" else (1, idx),
            lambda kind: "",
        ),
        Layout(
            "in-out",
            "[W0, b0, ...] with W (in, out), used as x @ W + b",
            True,
            lambda W, b: (W.T, b),
            lambda arrays, n_in, n_out: (arrays[0].T, *arrays[1:]),
            lambda n_in, n_out, bias: ((n_in, n_out), (n_out,)) if bias else ((n_in, n_out),),
            lambda kind, idx, n_in: (0, idx[::-1]) if kind == "weight" else (1, idx),
            lambda kind: " (transposed)" if kind == "weight" else "",
        ),
        Layout(
            "bias-row",
            "one (in+1, out) matrix per layer, row 0 the biases",
            False,
            lambda W, b: (np.vstack([b[None, :], W.T]),),
            lambda arrays, n_in, n_out: (arrays[0][1:].T, arrays[0][0]),
            lambda n_in, n_out, bias: ((n_in + 1, n_out),),
            lambda kind, idx, n_in: (0, (idx[1] + 1, idx[0])) if kind == "weight" else (0, (0, idx[0])),
            lambda kind: " rows 1.. (the weights, transposed)" if kind == "weight" else " row 0 (the biases)",
        ),
        Layout(
            "bias-first-col",
            "one (out, in+1) matrix per layer, column 0 the biases",
            False,
            lambda W, b: (np.hstack([b[:, None], W]),),
            lambda arrays, n_in, n_out: (arrays[0][:, 1:], arrays[0][:, 0]),
            lambda n_in, n_out, bias: ((n_out, n_in + 1),),
            lambda kind, idx, n_in: (0, (idx[0], idx[1] + 1)) if kind == "weight" else (0, (idx[0], 0)),
            lambda kind: "[:, 1:] (the weights)" if kind == "weight" else "[:, 0] (the biases)",
        ),
        Layout(
            "bias-last-col",
            "one (out, in+1) matrix per layer, the last column the biases",
            False,
            lambda W, b: (np.hstack([W, b[:, None]]),),
            lambda arrays, n_in, n_out: (arrays[0][:, :-1], arrays[0][:, -1]),
            lambda n_in, n_out, bias: ((n_out, n_in + 1),),
            lambda kind, idx, n_in: (0, idx) if kind == "weight" else (0, (idx[0], n_in)),
            lambda kind: "[:, :-1] (the weights)" if kind == "weight" else "[:, -1] (the biases)",
        ),
    ]
}


def fits(layout, bias):
    """Whether a layout can hold a network with (or without) biases."""
    return LAYOUTS[layout].separate_bias or bias


def keys(layout, n_layers, bias, norm=False):
    """The dict keys of a layout, in the list's order: W1, b1, W2, ... or Theta1, Theta2, ...; with a norm on the
    hidden layers, gamma1, beta1 after W1, b1 (NORM_PARAMS)."""
    own = ("Theta",) if not LAYOUTS[layout].separate_bias else ("W", "b") if bias else ("W",)
    return [f"{k}{i + 1}" for i in range(n_layers) for k in own + _norm_stems(i, n_layers, norm)]


def _norm_stems(i, n_layers, norm):
    """The dict key stems of layer i's norm parameters: gamma, beta on a hidden layer with a norm, else none."""
    return tuple(stem for _, stem in NORM_PARAMS) if norm and i < n_layers - 1 else ()


def _bias_shape(b, form):
    return BIAS_SHAPES[form.bias](b)


def _norm_shape(layout, v, form):
    """A norm parameter (out,) shaped as the form's biases (flat in the bias layouts, which have none of their own)."""
    return _bias_shape(v, form) if LAYOUTS[layout].separate_bias else v


def norm_names(i, n_layers, norm):
    """Torch's names of layer i's norm parameters, in NORM_PARAMS' order (none on the output layer)."""
    return [f"layers.{i}.norm.{name}" for name, _ in NORM_PARAMS] if norm and i < n_layers - 1 else []


def shapes(layout, sizes, bias, form=Form(), norm=False):
    """The shapes of the user's arrays, in order."""
    form = Form.of(form)
    out = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = LAYOUTS[layout].shapes(n_in, n_out, bias)
        if LAYOUTS[layout].separate_bias and bias:
            layer = (layer[0], _bias_shape(np.empty(n_out), form).shape)
        out += layer
        out += [_norm_shape(layout, np.empty(n_out), form).shape for _ in norm_names(i, len(sizes) - 1, norm)]
    return out


def to_user(layout, state, sizes, bias, form=Form(), norm=False):
    """{'layers.{i}.weight': (out, in), 'layers.{i}.bias': (out,)} (and 'layers.{i}.norm.weight', '.bias') -> the
    user's params: fresh arrays, in a list or a dict, so that the user's code may change them freely."""
    form, n_layers = Form.of(form), len(sizes) - 1
    arrays = []
    for i in range(n_layers):
        W, b = state[f"layers.{i}.weight"], state.get(f"layers.{i}.bias") if bias else None
        layer = LAYOUTS[layout].to_user(W, b)
        if LAYOUTS[layout].separate_bias and bias:
            layer = (layer[0], _bias_shape(layer[1], form))
        layer += tuple(_norm_shape(layout, state[name], form) for name in norm_names(i, n_layers, norm))
        arrays += [np.array(a, order="C") for a in layer if a is not None]
    if form.container == "dict":
        return dict(zip(keys(layout, n_layers, bias, norm), arrays))
    return arrays


def arrays_of(params, names=None):
    """The arrays of a params list or dict, in order (anything else: an empty list). A dict is taken in the order
    of `names` (its keys, see keys()) when given, else in its own order."""
    if isinstance(params, dict):
        return [params[k] for k in names if k in params] if names else list(params.values())
    return list(params) if isinstance(params, (list, tuple)) else []


def from_user(layout, arrays, sizes, bias, dtype, who, form, error, run_dtype=None, norm=False):
    """The user's arrays (a list or dict in the layout and form) -> the state in torch's layout: fresh arrays cast to
    dtype (never views of the user's, which the user's code may change in place later), weights column-major.

    Checks the contract: `error` (an exception class) is raised with one line naming the problem and the fix. The
    exception carries `returned`, the shapes of what came back in order (None when it was not a list or dict), and
    `who`, so that infer() can say what came back when no layout fits. Torch tensors and other arrays are refused
    here: a Boundary (lockstep/sides/forms/boundary.py) converts what the user's code returns before."""
    form, run_dtype = Form.of(form), np.dtype(run_dtype or dtype)
    n_layers = len(sizes) - 1
    expected = shapes(layout, sizes, bias, form, norm)
    names = keys(layout, n_layers, bias, norm)

    def fail(message, returned=None):
        e = error(message)
        e.returned, e.who = returned, who
        return e

    if form.container == "dict":
        if not isinstance(arrays, dict):
            raise fail(f"{who} as {type(arrays).__name__}; expected a dict with keys {', '.join(names)}")
        got = [np.shape(a) for a in arrays.values()]
        missing, extra = [k for k in names if k not in arrays], [k for k in arrays if k not in names]
        if missing or extra:
            raise fail(
                f"{who} with keys {', '.join(map(str, arrays))}; expected {', '.join(names)} (the {layout} "
                f"layout of {'-'.join(map(str, sizes))})",
                got,
            )
        arrays = [arrays[k] for k in names]
    elif not isinstance(arrays, (list, tuple)):
        raise fail(f"{who} as {type(arrays).__name__}; expected a list of {len(expected)} NumPy arrays")
    got = [np.shape(a) for a in arrays]
    if len(arrays) != len(expected):
        raise fail(
            f"{who} {len(arrays)} arrays; the {layout} layout of {'-'.join(map(str, sizes))} needs {len(expected)}", got
        )
    for k, (a, shape) in enumerate(zip(arrays, expected)):
        label = f"{who}['{names[k]}']" if form.container == "dict" else f"{who}[{k}]"
        if not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.floating):
            raise fail(
                f"{label} as {type(a).__name__}{' of ' + str(a.dtype) if isinstance(a, np.ndarray) else ''}"
                f"; expected a NumPy array of floats, shape {shape}",
                got,
            )
        if np.finfo(a.dtype).eps > np.finfo(run_dtype).eps:
            fix = " or run with --dtype float32" if a.dtype == np.float32 else ""
            raise fail(f"{label} as {a.dtype} in a {run_dtype.name} run; return {run_dtype.name} arrays{fix}", got)
        if a.shape != shape:
            hint = " (transposed?)" if a.shape == shape[::-1] else ""
            raise fail(f"{label} of shape {a.shape}; expected {shape}{hint}", got)
    state, k = {}, 0
    per_layer = 2 if LAYOUTS[layout].separate_bias and bias else 1
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W, *rest = LAYOUTS[layout].from_user(arrays[k : k + per_layer], n_in, n_out)
        k += per_layer
        state[f"layers.{i}.weight"] = np.array(W, dtype=dtype, order="F")  # a copy, column-major as handmade keeps
        if bias:
            state[f"layers.{i}.bias"] = np.array(rest[0], dtype=dtype).reshape(n_out)
        for name in norm_names(i, n_layers, norm):
            state[name] = np.array(arrays[k], dtype=dtype).reshape(n_out)
            k += 1
    return state


def describe(layout, name, index, sizes, form=Form(), bias=True, norm=False):
    """A torch tensor name (and element) in the user's terms, e.g. 'params[2] row 0 (the biases)' for
    layers.2.bias in the bias-row layout, "params['W2'][3, 1]" for an element of layers.1.weight in in-out, or
    "params['gamma1'][4]" for one of layers.0.norm.weight."""
    form, parts, n_layers = Form.of(form), name.split("."), len(sizes) - 1
    if len(parts) < 3 or parts[0] != "layers" or parts[2] not in ("weight", "bias", "norm"):
        return None
    i, kind, extra = int(parts[1]), parts[2], ".".join(parts[3:])
    row = LAYOUTS[layout]
    per_layer = 2 if row.separate_bias and bias else 1
    k = sum(per_layer + len(norm_names(j, n_layers, norm)) for j in range(i))  # the arrays of the layers before
    names = keys(layout, n_layers, bias, norm)
    label = lambda k: f"params['{names[k]}']" if form.container == "dict" else f"params[{k}]"  # noqa: E731
    if kind == "norm":
        own = norm_names(i, n_layers, norm)
        if f"layers.{i}.norm.{parts[3] if len(parts) > 3 else ''}" not in own:
            return None
        k += per_layer + own.index(".".join(parts[:4]))
        if index is None:
            return label(k)
        where = tuple(index)
        if row.separate_bias and form.bias != "flat":
            where = (where[0], 0) if form.bias == "column" else (0, where[0])
        return f"{label(k)}[{', '.join(map(str, where))}]"
    which, where = row.element(kind, tuple(index) if index is not None else (0, 0)[: 1 + (kind == "weight")], sizes[i])
    k += which
    label = label(k)
    suffix = f" ({extra})" if extra else ""
    if index is None:
        return f"{label}{row.whole(kind)}{suffix}"
    if row.separate_bias and kind == "bias" and form.bias != "flat":
        where = (where[0], 0) if form.bias == "column" else (0, where[0])
    return f"{label}[{', '.join(map(str, where))}]{suffix}"


def candidates(bias, only=None):
    """Every (layout, Form) the auto layout tries (or only those of layout `only`), most common first: 18 with biases
    (torch and in-out 6 each: list or dict, flat, column or row biases; the three bias layouts 2 each), 4 without."""
    out = []
    for name, row in LAYOUTS.items():
        if not fits(name, bias) or only not in (None, name):
            continue
        for container in ("list", "dict"):
            for b in BIAS_SHAPES if row.separate_bias and bias else ["flat"]:
                out.append((name, Form(container, b)))
    return out


def _shapes_text(shape_list):
    return ", ".join(str(tuple(s)) for s in shape_list)


def infer(sizes, bias, try_call, error, only=None, prefer=None, among=None, norm=False):
    """The 'auto' layout: which layout and form the user's code speaks.

    try_call(layout, form) runs the user's code once on the first batch with parameters in that layout and form and
    returns anything (passed to `prefer`); it raises `error` if the code raises or returns other shapes or types
    (from_user's errors, which carry `returned`). Each layout's forms are tried in candidates() order until one fits,
    so the calls are at most 18 with biases and 4 without: every form of a layout that does not fit, and those up to
    the first that does (code in the torch layout with flat biases: 13 calls). `only` (a given --layout) tries that
    layout's forms alone; `among`, a list of (layout, Form), tries those alone (a model object's own shapes tell
    which can fit).

    Exactly one layout must fit. When several do (the shapes cannot tell: square layers, or bias-first-col and
    bias-last-col, which always share their shapes), prefer([(layout, form, result), ...]) may choose: it returns
    (layout, form, why) or None; without a choice `error` asks for --layout in one line. When none fits, `error`
    says what came back and what each layout expected; that error carries `progress`, how far the code got in the
    trial it reports (CandidateError's), and an error no other trial can change (a setting; the --layout to ask
    for) carries `final`. Returns (layout, form, explanation)."""
    fit, failures = [], []
    if only is not None and not fits(only, bias):
        e = error(f"--layout {only} holds a bias in every layer; with --no-bias use torch or in-out")
        e.final = True
        raise e
    for layout, form in among if among is not None else candidates(bias, only):
        if any(name == layout for name, _, _ in fit):
            continue  # one form of this layout fits already: its other forms would only repeat the call
        try:
            result = try_call(layout, form)
        except error as e:
            if getattr(e, "final", False):  # the layout fits, and what else the code did is the line to show
                raise
            failures.append((layout, form, e))
            continue
        fit.append((layout, form, result))
    if len(fit) == 1:
        layout, form, _ = fit[0]
        return (
            layout,
            form,
            (
                f"layout auto: {layout} ({form}), the only layout whose shapes the first call returned: "
                f"{_shapes_text(shapes(layout, sizes, bias, form, norm))}"
            ),
        )
    if fit:
        choice = prefer(fit) if prefer is not None else None
        if choice is not None:
            layout, form, why = choice
            return layout, form, f"layout auto: {layout} ({form}), {why}"
        names = sorted(layout for layout, _, _ in fit)
        e = error(
            f"--layout {only or 'auto'} cannot tell {' from '.join(names)}: the shapes fit each of them; give --layout"
        )
        e.final = True
        raise e
    text, progress = _none_fits(sizes, bias, failures, only, norm)
    e = error(text)
    e.progress = progress
    raise e


def _none_fits(sizes, bias, failures, only, norm=False):
    """One line for a run in which no layout fits. A form whose shapes came back right but something else did not
    (the dtype or type, keys) says it best; else the form that got furthest into the user's code (its error's
    `progress`: code that returned beats code that raised, and raising later beats raising earlier, e.g. at its
    own assertion rather than at params['W1'] of a list); when that one returned arrays of other shapes, the
    shapes that came back and what each layout expects."""
    contract = [(layout, form, e) for layout, form, e in failures if getattr(e, "returned", None) is not None]
    for layout, form, e in contract:  # right shapes, wrong something else: that message says it best
        if [tuple(s) for s in e.returned] == shapes(layout, sizes, bias, form, norm):
            return (str(e) if only else f"--layout auto: no layout fits; with {layout} ({form}): {e}"), (3,)
    progress = lambda failure: getattr(failure[2], "progress", (2,))  # noqa: E731
    layout, form, e = max(failures, key=progress)  # the first of the furthest
    if getattr(e, "returned", None) is None:
        furthest = " (the form that got furthest)" if progress(failures[0]) < progress((layout, form, e)) else ""
        text = str(e) if only else f"--layout auto: no layout fits; with {layout} ({form}){furthest}: {e}"
        return text, progress((layout, form, e))
    expected = {}  # shapes -> the layouts (in their list form with flat biases) that expect them
    for name in LAYOUTS:
        if fits(name, bias) and only in (None, name):
            expected.setdefault(_shapes_text(shapes(name, sizes, bias, Form(), norm)), []).append(name)
    wants = "; ".join(
        f"{' and '.join(names)} {'expects' if len(names) == 1 else 'expect'} {text}" for text, names in expected.items()
    )
    head = f"--layout {only}:" if only else "--layout auto: no layout fits:"
    return f"{head} given {layout} ({form}) params, {e.who} of shapes {_shapes_text(e.returned)}; {wants}", (2,)
