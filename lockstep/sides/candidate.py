"""The user's own network as the side under test, in either of two forms:

  function  f(params, X, Y) -> (loss, grads). The tool owns the parameters and the optimizer: each step it hands
            f a fresh copy of the parameters in the user's layout, converts the gradients back, and applies the
            configured optimizer (and lr schedule), exactly as for the twin.
  class     Net(params, **hyper), built once from the tool's initial parameters in the user's layout; hyper holds
            whichever of lr, n_train, the optimizer's settings by torch's names (momentum, dampening, nesterov,
            weight_decay for sgd; betas, eps for adam; alpha, eps, centered for rmsprop; lr_decay, eps,
            initial_accumulator_value for adagrad), its conventions (momentum_form, adam_t0) and clip_value,
            clip_norm its __init__ accepts. net.step(X, Y, lr) trains on one batch and returns the loss;
            net.params exposes the current parameters after each step, and net.grads, if present, the last
            gradients. The network owns its update, and the tool compares the updated parameters with torch's
            optimizer's.

X is (m, n_in) as the settings scale it; Y is (m, k) one-hot floats, or integer labels (m,) with targets='labels'.
The layout (lockstep/sides/layouts.py) says how the parameters are shaped; 'auto' infers it from the first call.
Only code the user names is ever imported and run. Anything the user's code does wrong (raising, even through
sys.exit; returning the wrong number, shapes or types of arrays) is a CandidateError: one line for the user.
"""

import importlib.util
import inspect
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import handmade

from .. import trace
from ..config import OPTIMIZER_SETTINGS, SettingError, advance, make_schedule, optimizer_settings
from ..judge.tolerance import TOLERANCES, compare
from ..records import Identity
from . import layouts
from .handmade import Handmade
from .protocol import Side
from .snapshot import snapshot
from .twin import Twin

HYPER = ("lr", *OPTIMIZER_SETTINGS, "n_train", "clip_value", "clip_norm")
TRACE_BATCH = 256  # samples of the divergence step that are traced (per-sample code slows down 10-30x traced)


class CandidateError(SettingError):
    """The candidate cannot be loaded or broke the contract; str(error) is one line for the user. `progress` says how
    far the user's code got (layouts.infer shows the failure of the form that got furthest): (2,) it returned, and
    what it returned broke the contract; (1, lines) it raised in a call, (0, lines) in a class's __init__, with the
    lines of its own frames, outermost first. `cause` is the user's exception in one line, where it raised."""

    progress, cause = (2,), None


def load(spec):
    """'path/to/file.py:name' -> (the function or class, the file), imported from that file only."""
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
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)  # so the candidate can import its own helper modules
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        raise CandidateError(f"importing {path} failed: {where(e, [file])}") from None
    finally:
        sys.path.remove(folder)
    obj = getattr(module, name, None)
    if not callable(obj):
        defined = sorted(
            k
            for k, v in vars(module).items()
            if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == module.__name__
        )
        raise CandidateError(
            f"{path} has no function or class {name!r}" + (f"; it defines {', '.join(defined)}" if defined else "")
        )
    return obj, file.resolve()


def _user_frames(e, files):
    """The traceback's frames inside the user's files (a trace.UserFiles, or a list of paths), outermost first."""
    names = files if isinstance(files, trace.UserFiles) else {str(Path(f).resolve()) for f in files}
    return [f for f in traceback.extract_tb(e.__traceback__) if str(Path(f.filename).resolve()) in names]


def where(e, files):
    """'ValueError: message (at file.py:12)' from the innermost frame inside the user's files."""
    frames = _user_frames(e, files)
    line = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg}" + (f" (at {line})" if line else "")


def lines_reached(e, files):
    """The line numbers of the frames inside the user's files, outermost first: how far the code got."""
    return tuple(f.lineno for f in _user_frames(e, files))


def user_files(obj, file=None):
    """The files whose frames are the user's own: every file outside the standard library, the installed packages
    and this tool (trace.UserFiles), so that helpers beside the candidate or in a sibling folder are traced."""
    return trace.UserFiles()


def targets(Y, cfg):
    """What the candidate receives as Y: a copy of the one-hot floats, or integer labels (m,)."""
    if cfg.targets == "labels":
        return Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.int64)
    return Y.copy()


def _loss_value(loss, who):
    """The candidate's loss as a number; longdouble is kept (a float would round it to float64)."""
    try:
        if isinstance(loss, (str, bytes)) or not np.issubdtype(np.asarray(loss).dtype, np.number):
            raise TypeError
        value = np.asarray(loss).reshape(())
    except (TypeError, ValueError):
        raise CandidateError(
            f"{who} returned a loss of type {type(loss).__name__}"
            f"{' and shape ' + str(np.shape(loss)) if hasattr(loss, 'shape') else ''}; "
            "expected one real number"
        ) from None
    return value[()] if value.dtype == np.longdouble else float(value)


class _Schedule:
    """The lr a class candidate is given at each step: handmade's schedule on a holder of lr."""

    def __init__(self, cfg):
        self.lr = cfg.lr
        self.schedule = make_schedule(handmade, self, cfg)


@dataclass(frozen=True)
class CandidateSettings:
    """Who the candidate is and how it speaks, the same at every precision: the user's function or class, the run's
    Config and training-set size, the layout and Form of its parameters, its name in messages and its files."""

    obj: object
    cfg: object
    n_train: int
    layout: str
    form: layouts.Form
    spec: str  # 'file.py:name', or the object's qualified name
    files: object  # the user's files (user_files(): a trace.UserFiles), whose frames are the user's own


class Candidate(Side):
    """What both forms share: the side under test is the user's code, speaking the user's layout."""

    kind, label = "candidate", "candidate"
    records = False  # only what the user's code returns or keeps: the loss, gradients and parameters

    def __init__(self, settings, dtype):
        self.settings, self.dtype = settings, np.dtype(dtype)
        self.who = settings.spec
        self.returned = self.dtype  # the coarsest dtype of what the candidate last returned

    obj = property(lambda self: self.settings.obj)
    cfg = property(lambda self: self.settings.cfg)
    n_train = property(lambda self: self.settings.n_train)
    layout = property(lambda self: self.settings.layout)
    form = property(lambda self: self.settings.form)
    spec = property(lambda self: self.settings.spec)
    files = property(lambda self: self.settings.files)

    @property
    def computes_in(self):
        return self.returned

    def describe(self, name, index=None):
        return layouts.describe(self.layout, name, index, self.cfg.sizes, self.form, self.cfg.bias)

    def identity(self):
        kind = "class" if inspect.isclass(self.obj) else "function"
        return Identity(
            self.kind,
            f"candidate {self.spec} ({self.layout} layout, {kind})",
            self.label,
            candidate=dict(
                spec=self.spec,
                form=kind,
                layout=self.layout,
                params=str(self.form),
                layout_note=getattr(self, "chosen", None),
            ),
        )

    def _user_params(self, state):
        return layouts.to_user(self.layout, state, self.cfg.sizes, self.cfg.bias, self.form)

    def _from_user(self, arrays, what):
        state = layouts.from_user(
            self.layout,
            arrays,
            self.cfg.sizes,
            self.cfg.bias,
            self.dtype,
            f"{self.who} {what}",
            self.form,
            CandidateError,
            self.cfg.dtype,
        )
        self.returned = max(
            [self.returned] + [np.asarray(a).dtype for a in layouts.arrays_of(arrays)],
            key=lambda d: np.finfo(d).eps if np.issubdtype(d, np.floating) else 0,
        )
        return state

    def _fail(self, e, given, stage=1):
        """Raise the CandidateError for the user's own exception e; stage 0 in a class's __init__, 1 in a call."""
        shapes = ", ".join(str(np.shape(p)) for p in layouts.arrays_of(given))
        error = CandidateError(
            f"{self.who} raised {where(e, self.files)}; it was given params of shapes {shapes} "
            f"({self.layout} layout of {'-'.join(map(str, self.cfg.sizes))}): check --layout and "
            f"--sizes"
        )
        error.progress, error.cause = (stage, *lines_reached(e, self.files)), where(e, self.files)
        raise error from None

    def locate(self, run, outcome):
        """The line of the user's file where the values first depart (lockstep/trace/): the divergence step is
        re-run once from the state before it, traced, and what the user's code bound is matched against the
        twin's tensors of that step. A batch larger than TRACE_BATCH is traced on its first TRACE_BATCH samples,
        with the twin re-run on the same slice. Returns the source record, or {'unmatched': why}."""
        sc = outcome.scene
        if sc is None or outcome.first_divergence is None:
            return None
        X, Y, ref = sc["X"], sc["Y"], dict(sc["ref"])
        side = self.at(sc["dtype"])
        side.restore(sc["side_pre"])
        if len(X) > TRACE_BATCH:
            X, Y = X[:TRACE_BATCH], Y[:TRACE_BATCH]
            twin = Twin(self.cfg, sc["dtype"], side.params(), self.n_train)
            twin.load(side.params(), side.optimizer_state(), sc["twin_pre"], sc["side_pre"].get("lr"))
            twin.step(X, Y)
            ref = twin.reference_tensors()
        ref["input"] = X
        call, returned = side.traced_call(X, Y)
        result, events = trace.record(call, self.files)
        tol = TOLERANCES[sc["dtype"]]
        agree = lambda ours, theirs: compare("update", "", ours, theirs, tol).ok  # noqa: E731
        source, why = trace.locate(
            events,
            ref,
            trace.default_order(ref, len(self.cfg.sizes) - 1),
            self.layout,
            self.cfg.sizes,
            agree,
            returned(result),
            updates=isinstance(self, ClassCandidate),
        )
        return dict(source, kind="candidate") if source else {"unmatched": why}


class FunctionCandidate(Candidate):
    """f(params, X, Y) -> (loss, grads); the tool's optimizer updates the parameters, which a Handmade holds (its
    handmade.MLP, optimizer and schedule: the side the function's gradients are applied to)."""

    phases = ("loss", "backward", "optimizer", "update")
    differentiable = True

    def __init__(self, settings, dtype, seed=0):
        super().__init__(settings, dtype)
        self.held = Handmade(settings.cfg, dtype, seed, settings.n_train)

    net = property(lambda self: self.held.net)  # the parameters

    def loss_and_grads(self, X, Y):
        """Call the user's function once: (loss, {name: grad}) in torch's layout."""
        params = self._user_params(self.net.state_dict())
        try:
            result = self.obj(params, X.copy(), targets(Y, self.cfg))
        except (Exception, SystemExit) as e:  # the candidate's own failure, even sys.exit(), is one line here
            self._fail(e, params)
        if not isinstance(result, tuple) or len(result) != 2:
            raise CandidateError(f"{self.who} returned {type(result).__name__}; expected a pair (loss, grads)")
        loss, grads = result
        self.returned = self.dtype
        return _loss_value(loss, self.who), self._from_user(grads, "returned grads")

    def traced_call(self, X, Y):
        """The user's call for one traced step, and a function from its result to [(returned array, twin name)]."""
        params = self._user_params(self.net.state_dict())
        names = grad_names(self.layout, self.cfg.sizes, self.cfg.bias)

        def returned(result):
            grads = result[1] if isinstance(result, tuple) and len(result) == 2 else None
            n_layers = len(self.cfg.sizes) - 1
            arrays = layouts.arrays_of(grads, layouts.keys(self.layout, n_layers, self.cfg.bias))
            return [(a, name) for a, group in zip(arrays, names) for name in group]

        return (lambda: self.obj(params, X.copy(), targets(Y, self.cfg))), returned

    def step(self, X, Y, masks=None):
        held = self.held
        held.opt.zero_grad()
        held.loss, grads = self.loss_and_grads(X, Y)
        for name, p in held.named:
            p.grad = grads[name]
        held.update(held.opt, [p for _, p in held.named], held.clip)
        return held.loss

    def tensors(self):
        out = self.held.tensors()
        return {k: v for k, v in out.items() if k[0] != "forward" and not k[1].endswith((".dz", ".da"))}

    def params(self):
        return self.held.params()

    def optimizer_state(self):
        return self.held.optimizer_state()

    def save(self, into=None):
        return self.held.save(into)

    def restore(self, snap):
        self.held.restore(snap)

    def end_step(self, epoch_end):
        self.held.end_step(epoch_end)

    def at(self, dtype):
        return FunctionCandidate(self.settings, dtype)

    def predict(self, X):
        """Predictions of the candidate-trained parameters, through handmade's forward."""
        return self.net.predict(X)


class ClassCandidate(Candidate):
    """Net(params, **hyper) with step(X, Y, lr) -> loss and .params (and .grads): the network owns its update."""

    differentiable = False  # step() updates inside: there is no loss function to differentiate

    def __init__(self, settings, dtype, seed=0, phases=None):
        """Built from the tool's initial parameters (drawn from `seed`, the run's Generator); with `phases`, a copy
        for a re-run at another precision, whose network restore() brings."""
        super().__init__(settings, dtype)
        cfg, obj = settings.cfg, settings.obj
        self.lr = _Schedule(cfg)
        self.phases, self.net, self.state, self.grads = phases, None, None, None
        if phases is not None:
            return
        init = handmade.MLP(cfg.model_args(dtype, settings.n_train), seed=seed).state_dict()
        params = self._user_params(init)
        try:
            self.net = obj(params, **hyper(obj, cfg, settings.n_train))
        except (Exception, SystemExit) as e:
            self._fail(e, params, stage=0)
        self.state = init
        # with clipping configured, whether its .grads are kept before or after its own clipping is the network's
        # business: its update is compared, not its gradients
        clips = cfg.clip_value is not None or cfg.clip_norm is not None
        self.phases = ("loss", "backward", "update") if hasattr(self.net, "grads") and not clips else ("loss", "update")

    def step(self, X, Y, masks=None):
        lr = self.dtype.type(self.lr.lr)
        try:
            loss = self.net.step(X.copy(), targets(Y, self.cfg), lr)
        except (Exception, SystemExit) as e:
            self._fail(e, getattr(self.net, "params", []))
        self.returned = self.dtype
        self.loss = _loss_value(loss, f"{self.who}.step")
        self.state = self._from_user(getattr(self.net, "params", None), "left .params")
        if "backward" in self.phases:
            self.grads = self._from_user(self.net.grads, "left .grads")
        return self.loss

    def end_step(self, epoch_end):
        advance(self.lr.schedule, self.cfg, epoch_end)

    def traced_call(self, X, Y):
        net, lr = self.net, self.dtype.type(self.lr.lr)
        return (lambda: net.step(X.copy(), targets(Y, self.cfg), lr)), (lambda result: [])

    def tensors(self):
        out = {("loss", "loss"): np.asarray(self.loss)}
        out.update({("update", k): v for k, v in self.state.items()})
        if self.grads is not None:
            out.update({("backward", k): v for k, v in self.grads.items()})
        return out

    def params(self):
        return self.state

    def optimizer_state(self):
        return None  # the network keeps its own; the twin keeps torch's

    def save(self, into=None):
        return dict(
            params={k: v.copy() for k, v in self.state.items()},
            state=None,
            net=snapshot(self.net),
            lr=self.lr.lr,
            schedule=self.lr.schedule and dict(vars(self.lr.schedule), optimizer=None),
        )

    def restore(self, snap):
        self.net = cast(snapshot(snap["net"]), self.dtype)
        self.state = {k: v.astype(self.dtype) for k, v in snap["params"].items()}
        self.lr.lr = snap["lr"]

    def at(self, dtype):
        return ClassCandidate(self.settings, dtype, phases=self.phases)

    def predict(self, X):
        net = handmade.MLP(self.cfg.model_args(self.dtype, self.n_train))
        net.load_state_dict(self.state)
        return net.predict(X)


def grad_names(layout, sizes, bias):
    """For each array of the user's params, in order, the twin's gradient names it holds."""
    out = []
    for i in range(len(sizes) - 1):
        if layouts.LAYOUTS[layout].separate_bias:
            out += [[f"grad:layers.{i}.weight"]] + ([[f"grad:layers.{i}.bias"]] if bias else [])
        else:
            out += [[f"grad:layers.{i}.weight", f"grad:layers.{i}.bias"]]
    return out


def hyper(cls, cfg, n_train):
    """The settings a class's __init__ accepts, by name (all of them if it takes **kwargs): lr, n_train, the
    optimizer's settings (momentum, betas, eps, alpha, ..., its momentum_form and adam_t0) and the clipping."""
    values = dict(lr=cfg.lr, **optimizer_settings(cfg), n_train=n_train, clip_value=cfg.clip_value)
    values["clip_norm"] = cfg.clip_norm
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    params = inspect.signature(cls).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return values
    return {k: v for k, v in values.items() if k in params}


def cast(obj, dtype, seen=None):
    """Every floating-point array reachable from obj's attributes, lists, tuples and dicts, cast to dtype (for a
    re-run of a class candidate at another precision). Returns obj, changed in place where it can be."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return obj
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.astype(dtype) if np.issubdtype(obj.dtype, np.floating) else obj
    if isinstance(obj, list):
        obj[:] = [cast(v, dtype, seen) for v in obj]
    elif isinstance(obj, tuple):
        return type(obj)(cast(v, dtype, seen) for v in obj) if not hasattr(obj, "_fields") else obj
    elif isinstance(obj, dict):
        for k in list(obj):
            obj[k] = cast(obj[k], dtype, seen)
    elif hasattr(obj, "__dict__") and not isinstance(
        obj, (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)
    ):
        for k, v in list(vars(obj).items()):
            setattr(obj, k, cast(v, dtype, seen))
    return obj


def build(candidate, cfg, rng, n_train, first_batch):
    """The candidate side: load a 'file.py:name', pick the form (function or class) and the layout ('auto': the
    one whose shapes the first call returns), and build it from the one Generator."""
    if isinstance(candidate, str):
        obj, file = load(candidate)
        spec = candidate
    else:
        obj, file = candidate, None
        spec = getattr(candidate, "__qualname__", repr(candidate))
        if not callable(obj):
            raise CandidateError(f"the candidate {spec} is neither a function nor a class")
    files = user_files(obj, file)
    side_class = ClassCandidate if inspect.isclass(obj) else FunctionCandidate
    state = rng.bit_generator.state  # the initial weights are drawn once, for the layout that is chosen

    def try_call(name, trial_form):
        rng.bit_generator.state = state
        side = side_class(CandidateSettings(obj, cfg, n_train, name, trial_form, spec, files), cfg.dtype, rng)
        side.step(*first_batch)
        return side

    layout, form, chosen = layouts.infer(
        cfg.sizes, cfg.bias, try_call, CandidateError, None if cfg.layout == "auto" else cfg.layout
    )
    rng.bit_generator.state = state
    side = side_class(CandidateSettings(obj, cfg, n_train, layout, form, spec, files), cfg.dtype, rng)
    side.chosen = chosen if cfg.layout == "auto" else None
    return side
