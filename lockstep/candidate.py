"""Checking a user's own network: a plain function func(params, X, Y) -> (loss, grads), in one of two layouts.

  torch     params = [W0, b0, W1, b1, ...], W_i of shape (out, in), b_i of shape (out,)
  bias-row  params = [T0, T1, ...], T_i of shape (in + 1, out); row 0 holds the biases, rows 1.. hold W_i^T

X is (m, n_in) scaled as --scale says; Y is (m, n_out) one-hot floats; grads has the shapes of params.
The tool owns the parameters: a handmade.MLP holds them in torch's layout; each step they are converted to the
candidate's layout (as copies, so the candidate cannot change them), the candidate's gradients are converted
back, and the configured optimizer updates them. Only code the user names is ever imported and run.
"""
import importlib.util
import sys
import traceback
from pathlib import Path

import numpy as np

LAYOUTS = ("torch", "bias-row")


class CandidateError(Exception):
    """The candidate cannot be loaded or broke the contract; str(error) is one line for the user."""


def load(spec):
    """'path/to/file.py:function' -> the function, imported from that file only."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise CandidateError(f"--candidate {spec!r}: give it as path/to/file.py:function_name")
    file = Path(path)
    if not file.is_file():
        raise CandidateError(f"--candidate: file {path} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"_candidate_{file.stem}", file)
    if module_spec is None:
        raise CandidateError(f"--candidate: {path} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(file.resolve().parent))  # so the candidate can import its own helper modules
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        raise CandidateError(f"importing {path} failed: {_where(e, file)}") from None
    finally:
        sys.path.remove(str(file.resolve().parent))
    func = getattr(module, name, None)
    if not callable(func):
        defined = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                         and getattr(v, "__module__", None) == module.__name__)
        raise CandidateError(f"{path} has no function {name!r}" + (f"; it defines {', '.join(defined)}" if defined
                                                                    else ""))
    return func


def _where(e, file):
    """'ValueError: message (at file.py:12)' from the innermost frame inside the candidate's file."""
    line = None
    for frame in traceback.extract_tb(e.__traceback__):
        if Path(frame.filename).resolve() == file.resolve():
            line = frame.lineno
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg}" + (f" (at {file.name}:{line})" if line else "")


def to_layout(state, n_layers, layout):
    """{layers.i.weight/bias: array} in torch's layout -> the candidate's params list (fresh copies)."""
    if layout == "torch":
        return [state[f"layers.{i}.{k}"].copy() for i in range(n_layers) for k in ("weight", "bias")]
    # bias-row: the bias (1, out) on top of W^T (in, out) -> (in + 1, out)
    return [np.vstack([state[f"layers.{i}.bias"][None, :], state[f"layers.{i}.weight"].T]) for i in range(n_layers)]


def expected_shapes(sizes, layout):
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if layout == "torch":
        return [s for n_in, n_out in pairs for s in ((n_out, n_in), (n_out,))]
    return [(n_in + 1, n_out) for n_in, n_out in pairs]


def from_layout(grads, sizes, layout, dtype, who, run_dtype=None):
    """The candidate's grads list -> {layers.i.weight/bias: array} in torch's layout, checking the contract.
    Arrays are cast to dtype; they must carry at least the precision of run_dtype (default: dtype)."""
    run_dtype = np.dtype(run_dtype or dtype)
    shapes = expected_shapes(sizes, layout)
    if not isinstance(grads, (list, tuple)):
        raise CandidateError(f"{who} returned grads as {type(grads).__name__}; expected a list of {len(shapes)} "
                             "NumPy arrays")
    if len(grads) != len(shapes):
        raise CandidateError(f"{who} returned {len(grads)} gradient arrays; the {layout} layout of "
                             f"{'-'.join(map(str, sizes))} needs {len(shapes)}")
    out = {}
    for k, (g, shape) in enumerate(zip(grads, shapes)):
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise CandidateError(f"{who} returned grads[{k}] as {type(g).__name__}"
                                 f"{' of ' + str(g.dtype) if isinstance(g, np.ndarray) else ''}; expected a NumPy "
                                 f"array of floats, shape {shape}")
        if np.finfo(g.dtype).eps > np.finfo(run_dtype).eps:
            fix = " or run with --dtype float32" if g.dtype == np.float32 else ""
            raise CandidateError(f"{who} returned grads[{k}] as {g.dtype} in a {run_dtype.name} run; return "
                                 f"{run_dtype.name} arrays{fix}")
        if g.shape != shape:
            hint = " (transposed?)" if g.shape == shape[::-1] else ""
            raise CandidateError(f"{who} returned grads[{k}] of shape {g.shape}; expected {shape}{hint}")
        g = g.astype(dtype, copy=False)
        if layout == "torch":  # weights kept column-major, like handmade's and the twin's
            out[f"layers.{k // 2}.{'weight' if k % 2 == 0 else 'bias'}"] = np.asfortranarray(g) if k % 2 == 0 else g
        else:  # row 0 (out,) is the bias; rows 1.. (in, out) are W^T, so W = rows 1..^T (out, in)
            out[f"layers.{k}.bias"], out[f"layers.{k}.weight"] = g[0], np.asfortranarray(g[1:].T)
    return out


def describe(name, index, sizes, layout):
    """A torch-layout tensor name (and element) in the candidate's own terms, e.g. 'params[2] row 0 (the
    biases)' for layers.2.bias in the bias-row layout."""
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "layers" or parts[2] not in ("weight", "bias"):
        return "the loss" if name == "loss" else name
    i, kind, extra = int(parts[1]), parts[2], ".".join(parts[3:])
    suffix = f" ({extra})" if extra else ""
    if layout == "torch":
        k = 2 * i + (kind == "bias")
        return f"params[{k}]" + (f"[{', '.join(map(str, index))}]" if index else "") + suffix
    if kind == "bias":
        return f"params[{i}]" + (f"[0, {index[0]}]" if index else " row 0 (the biases)") + suffix
    return (f"params[{i}][{index[1] + 1}, {index[0]}]" if index else
            f"params[{i}] rows 1..{sizes[i]} (the weights, transposed)") + suffix


class Candidate:
    """The user's function and layout; wrap(net) gives the side under test, holding its parameters in net."""

    def __init__(self, func, layout, spec):
        if layout not in LAYOUTS:
            raise CandidateError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
        self.func, self.layout, self.spec = func, layout, spec

    def wrap(self, net, run_dtype):
        return CandidateNet(self, net, run_dtype)


class CandidateNet:
    """Looks like handmade.MLP to the engine: loss(X, Y), backward(), named_parameters(); no activations."""

    acts, deltas = {}, {}

    def __init__(self, candidate, net, run_dtype):
        self.candidate, self.net, self.run_dtype = candidate, net, run_dtype
        self.dtype, self.config, self.layers = net.dtype, net.config, net.layers
        self._grads = None
        self.returned = net.dtype  # the coarsest dtype of the last gradients returned

    def named_parameters(self):
        return self.net.named_parameters()

    def parameters(self):
        return self.net.parameters()

    def loss(self, X, Y):
        c, sizes = self.candidate, self.config["sizes"]
        who = f"{c.spec}"
        params = to_layout(self.net.state_dict(), len(self.layers), c.layout)
        try:
            result = c.func(params, X.copy(), Y.copy())
        except (Exception, SystemExit) as e:  # the candidate's own failure, even sys.exit(), is one line here
            file = Path(c.spec.rpartition(":")[0])
            shapes = ", ".join(str(p.shape) for p in params)
            raise CandidateError(f"{who} raised {_where(e, file)}; it was given params of shapes {shapes} "
                                 f"({c.layout} layout of {'-'.join(map(str, sizes))}): check --layout and "
                                 f"--sizes") from None
        if not isinstance(result, tuple) or len(result) != 2:
            raise CandidateError(f"{who} returned {type(result).__name__}; expected a pair (loss, grads)")
        loss, grads = result
        try:
            if isinstance(loss, (str, bytes)) or not np.issubdtype(np.asarray(loss).dtype, np.number):
                raise TypeError
            loss = float(np.asarray(loss).reshape(()))
        except (TypeError, ValueError):
            raise CandidateError(f"{who} returned a loss of type {type(loss).__name__}"
                                 f"{' and shape ' + str(np.shape(loss)) if hasattr(loss, 'shape') else ''}; "
                                 "expected one real number") from None
        self._grads = from_layout(grads, sizes, c.layout, self.dtype, who, self.run_dtype)
        self.returned = max((g.dtype for g in grads), key=lambda d: np.finfo(d).eps)
        return loss

    def backward(self):
        for name, p in self.named_parameters():
            g = self._grads[name]
            p.grad = g if p.grad is None else p.grad + g
        return self.grads()

    def grads(self):
        return {name: p.grad for name, p in self.named_parameters()}

    def predict(self, X):
        """Predictions of the candidate-trained parameters, through handmade's forward."""
        return self.net.predict(X)

