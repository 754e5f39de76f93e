"""What every form of the user's code shares: loading it, its one-line errors, its settings (CandidateSettings), and
Candidate, the Side that speaks the user's layout, orientation and arrays.

Only code the user names is ever imported and run. Anything the user's code does wrong (raising, even through
sys.exit; returning the wrong number, shapes or types of arrays) is a CandidateError: one line for the user.
"""

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import handmade

from ... import trace
from ...config import SettingError, make_schedule
from ...judge.tolerance import TOLERANCES, compare
from ...records import Identity
from .. import layouts
from ..protocol import Side
from ..twin import Twin
from . import keys
from .boundary import Boundary, as_numpy, shape_of, take

TRACE_BATCH = 256  # samples of the divergence step that are traced (per-sample code slows down 10-30x traced)


class CandidateError(SettingError):
    """The candidate cannot be loaded or broke the contract; str(error) is one line for the user. `progress` says how
    far the user's code got (the search shows the failure of the trial that got furthest): (2,) it returned, and
    what it returned broke the contract; (1, lines) it raised in a call, (0, lines) while it was being built, with
    the lines of its own frames, outermost first. `cause` is the user's exception in one line, where it raised."""

    progress, cause = (2,), None


def import_file(path, who, prefix, keep_folder=True):
    """The user's file imported on its own, as (module, its resolved path): its folder is on sys.path while it
    imports, so it finds its own helper modules, and, with keep_folder, after it too (code that imports its helpers
    inside its functions, as Coursera's does). `who` starts the one-line errors ('--candidate', 'layer')."""
    file = Path(path)
    if not file.is_file():
        raise CandidateError(f"{who}: file {path} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"{prefix}{file.stem}", file)
    if module_spec is None:
        raise CandidateError(f"{who}: {path} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        raise CandidateError(f"importing {path} failed: {where(e, [file])}") from None
    finally:
        sys.path.remove(folder)
    if keep_folder and folder not in sys.path:
        sys.path.append(folder)
    return module, file.resolve()


def load(spec):
    """'path/to/file.py:name' -> (the function or class, the file), imported from that file only."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise CandidateError(f"--candidate {spec!r}: give it as path/to/file.py:function_name")
    module, file = import_file(path, "--candidate", "_candidate_")
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
    return obj, file


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


def user_files(obj=None, file=None):
    """The files whose frames are the user's own: every file outside the standard library, the installed packages
    and this tool (trace.UserFiles), so that helpers beside the candidate or in a sibling folder are traced."""
    return trace.UserFiles()


def loss_value(loss, who):
    """The candidate's loss as a number (a torch scalar too); longdouble is kept (a float would round it)."""
    loss = as_numpy(loss)
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


class Schedule:
    """The lr a network that owns its update is given at each step: handmade's schedule on a holder of lr."""

    def __init__(self, cfg):
        self.lr = cfg.lr
        self.schedule = make_schedule(handmade, self, cfg)


@dataclass(frozen=True)
class CandidateSettings:
    """Who the candidate is and how it speaks, the same at every precision: the user's function, class or factory,
    the run's Config and training-set size, the FORMS row it is read as, the layout and layouts.Form of its
    parameters, the Boundary its arrays cross, its name in messages, its files, and the intermediate tensors its
    first call exposed (keys.Exposed) and the keys it returned that match nothing (key: why)."""

    obj: object
    cfg: object
    n_train: int
    layout: str
    form: layouts.Form
    spec: str  # 'file.py:name', or the object's qualified name
    files: object  # the user's files (user_files(): a trace.UserFiles), whose frames are the user's own
    code: str = "function"  # its row of FORMS
    boundary: Boundary = Boundary()
    exposed: tuple | None = None  # (keys.Exposed, ...), None until a first call found them
    ignored: tuple = ()  # ((key, why), ...)
    names: dict = field(default_factory=dict)  # what the user's factory called its objects: {position: name}
    why: str = ""  # why the form was chosen, for messages
    streams: dict | None = None  # the random state the code's first call is given (draws.py), with dropout
    masks_rule: tuple | None = None  # (draws.CONVENTIONS name, why) of its dropout masks, once a first call chose it


class Candidate(Side):
    """What every form shares: the side under test is the user's code, speaking the user's layout, orientation and
    arrays. Subclasses say how one step runs (step, tensors, save/restore, at)."""

    kind, label = "candidate", "candidate"
    records = False  # only what the user's code returns or keeps: the loss, gradients, parameters, intermediates
    owns_update = False
    keyed = True  # its intermediates come under their keys, beside the gradients (layer objects hold their own)

    def __init__(self, settings, dtype):
        self.settings, self.dtype = settings, np.dtype(dtype)
        self.who = settings.spec
        self.returned = self.dtype  # the coarsest dtype of what the candidate last returned
        self.inter = {}  # {twin tensor: (m, n) array} of the last step's intermediates
        self.found = None  # (exposed, ignored) as the first call found them, when settings had none

    obj = property(lambda self: self.settings.obj)
    cfg = property(lambda self: self.settings.cfg)
    n_train = property(lambda self: self.settings.n_train)
    layout = property(lambda self: self.settings.layout)
    form = property(lambda self: self.settings.form)
    spec = property(lambda self: self.settings.spec)
    files = property(lambda self: self.settings.files)
    boundary = property(lambda self: self.settings.boundary)
    norm = property(lambda self: self.settings.cfg.norm != "none")  # gamma, beta among the parameters (layouts.py)

    @property
    def exposed(self):
        return self.settings.exposed if self.settings.exposed is not None else (self.found or ((), ()))[0]

    @property
    def computes_in(self):
        return self.returned

    def compares(self, phase, name):
        if any(e.tensor == name for e in self.exposed):
            return phase in self.phases and phase in ("forward", "backward")
        return super().compares(phase, name)

    def usable_at(self, dtype):
        """Whether a copy of this side can compute in `dtype` (torch tensors have no np.longdouble)."""
        return self.boundary.can_hold(dtype)

    def cannot_compute_in(self, dtype):
        if not self.usable_at(dtype):
            kind = "np.longdouble" if np.dtype(dtype) == np.longdouble else np.dtype(dtype).name
            return f"your code computes with torch tensors, and torch has no {kind}"
        return None

    # -- naming ---------------------------------------------------------------------------------------------
    def describe(self, name, index=None, phase=None):
        for e in self.exposed:
            if e.tensor == name:
                label = e.label or e.key
                if index is None:
                    return label + (f" (per sample: m times {name})" if e.per_sample else "")
                return f"{label}[{', '.join(map(str, self.boundary.oriented(tuple(index))))}]"
        return layouts.describe(self.layout, name, index, self.cfg.sizes, self.form, self.cfg.bias, self.norm)

    def identity(self):
        s = self.settings
        return Identity(
            self.kind,
            f"candidate {self.spec} ({self.layout} layout, {s.code})",
            self.label,
            candidate=dict(
                spec=self.spec,
                form=s.code,
                layout=self.layout,
                params=str(self.form),
                samples=s.boundary.samples,
                arrays=s.boundary.arrays,
                targets=s.boundary.targets,
                exposed=[str(e) for e in self.exposed],
                ignored=[f"{k}: {why}" for k, why in s.ignored],
                layout_note=self.note(),
            ),
        )

    def note(self):
        """The header's lines about how the code was read: the auto layout's choice, the intermediates compared,
        the keys ignored."""
        lines = [getattr(self, "chosen", None)] if getattr(self, "chosen", None) else []
        if self.exposed:
            lines.append("compared besides the gradients: " + "; ".join(map(str, self.exposed)))
        if self.settings.ignored:
            lines.append("ignored: " + "; ".join(f"{k} ({why})" for k, why in self.settings.ignored))
        return "\n".join(lines) or None

    def given(self, params, X=None, Y=None):
        """'X (64, 784), Y (64,) and params of shapes ...' as the user's code was given them, for messages."""
        shapes = ", ".join(str(shape_of(p)) for p in layouts.arrays_of(params))
        head = ""
        if X is not None:
            head = f"X {shape_of(X)}" + (f", Y {shape_of(Y)}" if Y is not None else "") + " and "
        return f"{head}params of shapes {shapes}"

    # -- crossing the boundary ------------------------------------------------------------------------------------
    def _user_params(self, state):
        """The tool's parameters {torch name: array} in the user's layout, form and arrays: fresh copies."""
        user = layouts.to_user(self.layout, state, self.cfg.sizes, self.cfg.bias, self.form, self.norm)
        give = self.boundary.give
        return {k: give(v) for k, v in user.items()} if isinstance(user, dict) else [give(v) for v in user]

    def _from_user(self, arrays, what, label="grads", X=None, Y=None, before=None):
        """What the user's code returned or left (a list, or a dict with the parameters' keys and maybe
        intermediates) -> the state in torch's layout; intermediates go to self.inter. X, Y: the batch (rows, as the
        tool holds it) and `before`, the parameters the step started from, for the first call's reading of them."""
        arrays, others = take(arrays), {}
        if isinstance(arrays, dict) and self.form.container == "dict":
            names = layouts.keys(self.layout, len(self.cfg.sizes) - 1, self.cfg.bias, self.norm)
            arrays, others = keys.split(arrays, names, f"{self.who} {what}", CandidateError)
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
            self.norm,
        )
        self._coarsest(layouts.arrays_of(arrays))
        if self.keyed and (others or self.exposed):
            self._intermediates(others, label, X, Y, before)
        return state

    def _coarsest(self, arrays):
        self.returned = max(
            [self.returned] + [np.asarray(a).dtype for a in arrays if hasattr(a, "dtype")],
            key=lambda d: np.finfo(d).eps if np.issubdtype(d, np.floating) else 0,
        )

    def _intermediates(self, others, label, X, Y, before):
        """Find (at the first call) or take (at every other) the intermediate tensors among the other keys."""
        m = len(X) if X is not None else None
        if self.settings.exposed is None and self.found is None and before is not None:
            has_output_da = self.cfg.loss == "mse"
            matched, ignored = keys.match(
                others, self.cfg.sizes, self.boundary, m, has_output_da, lambda k: f"{label}[{k!r}]"
            )
            rows = {name: self.boundary.to_rows(others[key]) for key, name in matched.items()}
            each = keys.per_sample(rows, self.reference(X, Y, before), m) if rows else False
            exposed = tuple(keys.Exposed(k, n, each, f"{label}[{k!r}]") for k, n in matched.items())
            self.found = (exposed, tuple(ignored.items()))
        self.inter = {}
        for e in self.exposed:
            if e.key not in others:
                raise CandidateError(
                    f"{self.who} returned no {e.label or e.key} at this step, though its first call did"
                )
            value = np.array(self.boundary.to_rows(others[e.key]), dtype=self.dtype, order="C")  # as the twin's
            self.inter[e.tensor] = value / self.dtype.type(len(X)) if e.per_sample else value

    def reference(self, X, Y, state):
        """handmade's z, a, dL/dz and dL/da of this batch at the parameters `state` (rows), to read the factor of the
        code's intermediates by; the comparison itself is always with the twin."""
        net = handmade.MLP(self.cfg.model_args(self.dtype, self.n_train))
        net.load_state_dict(state)
        net.loss(X, Y)
        net.backward()
        return {**net.acts, **net.deltas}

    def _fail(self, e, given, stage=1, X=None, Y=None):
        """Raise the CandidateError for the user's own exception e; stage 0 while it is built, 1 in a call."""
        error = CandidateError(
            f"{self.who} raised {where(e, self.files)}; it was given {self.given(given, X, Y)} "
            f"({self.layout} layout of {'-'.join(map(str, self.cfg.sizes))}, {self.boundary}): check --layout and "
            f"--sizes"
        )
        error.progress, error.cause = (stage, *lines_reached(e, self.files)), where(e, self.files)
        raise error from None

    # -- the line of the user's file --------------------------------------------------------------------------
    def locate(self, run, outcome):
        """The line of the user's file where the values first depart (lockstep/trace/): the divergence step is
        re-run once from the state before it, traced, and what the user's code bound is matched against the
        twin's tensors of that step. A batch larger than TRACE_BATCH is traced on its first TRACE_BATCH samples,
        with the twin re-run on the same slice (without dropout: code that draws its masks is traced on the whole
        batch, from the random state the step began with, so that it draws the step's masks again). Returns the
        source record, or {'unmatched': why}."""
        sc = outcome.scene
        if sc is None or outcome.first_divergence is None:
            return None
        X, Y, ref = sc["X"], sc["Y"], dict(sc["ref"])
        side = self.at(sc["dtype"])
        side.restore(sc["side_pre"])
        if len(X) > TRACE_BATCH and not self.cfg.dropout:  # with dropout, the code draws the step's masks again
            X, Y = X[:TRACE_BATCH], Y[:TRACE_BATCH]
            twin = Twin(self.cfg, sc["dtype"], side.params(), self.n_train)
            twin.load(side.params(), side.optimizer_state(), sc["twin_pre"], sc["side_pre"].get("lr"))
            twin.step(X, Y)
            ref = twin.reference_tensors()
        ref["input"] = X
        penalty = self.penalty(side.params(), len(X))
        if penalty:
            ref["data loss"] = ref["loss"] - penalty
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
            updates=self.owns_update,
            factors={e.tensor: e.factor(len(X)) for e in self.exposed if e.per_sample},
        )
        return dict(source, kind="candidate") if source else {"unmatched": why}

    def penalty(self, state, m):
        """The penalties' value at the parameters `state` for a batch of m (0 without penalties)."""
        cfg = self.cfg
        if not (cfg.l1 or cfg.l2):
            return 0.0
        net = handmade.MLP(cfg.model_args("float64", self.n_train))
        net.load_state_dict({k: np.asarray(v, dtype=np.float64) for k, v in state.items()})
        return float(net.penalty(m))

    def returned_intermediates(self, others):
        """[(the array the code returned, twin name)] of the exposed intermediates among `others`, for the tracer."""
        return [(others[e.key], e.tensor) for e in self.exposed if isinstance(others, dict) and e.key in others]


def grad_names(layout, sizes, bias, norm=False):
    """For each array of the user's params, in order, the twin's gradient names it holds."""
    out, n_layers = [], len(sizes) - 1
    for i in range(n_layers):
        if layouts.LAYOUTS[layout].separate_bias:
            out += [[f"grad:layers.{i}.weight"]] + ([[f"grad:layers.{i}.bias"]] if bias else [])
        else:
            out += [[f"grad:layers.{i}.weight", f"grad:layers.{i}.bias"]]
        out += [[f"grad:{name}"] for name in layouts.norm_names(i, n_layers, norm)]
    return out


def returned_grads(grads, layout, sizes, bias, norm=False):
    """[(returned array, twin gradient name)] of a list or dict of gradients in the layout (keys W1 or dW1)."""
    n_layers = len(sizes) - 1
    names = layouts.keys(layout, n_layers, bias, norm)
    if isinstance(grads, dict):
        grads = {keys.param_key(k, names) or k: v for k, v in grads.items()}
    arrays = layouts.arrays_of(grads, names)
    return [(a, name) for a, group in zip(arrays, grad_names(layout, sizes, bias, norm)) for name in group]
