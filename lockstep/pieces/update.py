"""mlp-crosscheck update FILE.py:NAME: one update rule, driven over the gradients of a lockstep run and checked
against torch.optim (or the twin's reference optimizers for the courses' momentum forms) at every step.

The rule is the side under test (lockstep/sides/protocol.py): handmade's MLP computes each step's gradients on the
data, as in a normal run (the twin's to rounding), and the user's rule turns them into the new parameters and its
own state; the engine compares them with the twin's torch.optim step, and judges an excess as it judges any step.
The rule's state is compared too, by role (m with exp_avg, v or s with exp_avg_sq, cache with square_avg, a
velocity with the velocity form's), where it keeps the same quantity as the twin's optimizer. Three forms:

  cs231n        update(w, dw, config=None) -> (next_w, config), one config per parameter (copied from the settings
                given, as CS231n's Solver copies its optim_config), the rule's own setdefaults filling the rest;
                W as CS231n holds it, (in, out); keys learning_rate, momentum, decay_rate, epsilon, beta1, beta2,
                and the state velocity, cache, m, v, t
  dict          update_parameters_with_adam(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon) and
                update_parameters_with_momentum(parameters, grads, v, beta, learning_rate) (Coursera): W1 (n_l,
                n_{l-1}), b1 (n_l, 1), grads and v, s keyed dW1, db1 (zeros at first), t from 1, incremented before
                each call as the course's model() does
  per-variable  f(alpha, beta1, beta2, epsilon, var, grad, v, s, t) matched by parameter names (Holberton's
                update_variables_momentum, _RMSProp, _Adam), called per parameter, returning (var, v, s, ...)
"""

import copy
import inspect
from dataclasses import dataclass

import numpy as np

import handmade

from .. import trace
from ..config import OPTIMIZERS, SettingError, advance, make_clip, make_optimizer, make_schedule, state_keys
from ..judge.tolerance import TOLERANCES, compare
from ..records import Finding, Identity
from ..sides.candidate import CandidateError, load, where
from ..sides.handmade import Handmade
from ..sides.protocol import Side
from .locate import locate

NOT_HERE = ("candidate", "inject_bug", "layout", "targets", "gradcheck")  # settings the update command has no use for
LR_NAMES, EPS_NAMES = ("learning_rate", "alpha", "lr"), ("epsilon", "eps")
# the twin's state key -> the user's key that plays its role, by form
ROLES = {
    "cs231n": dict(exp_avg="m", exp_avg_sq="v", square_avg="cache", sum="cache", velocity="velocity"),
    "dict": dict(exp_avg="v", exp_avg_sq="s", square_avg="s", sum="s"),
    "per-variable": dict(exp_avg="v", exp_avg_sq="s", square_avg="s", sum="s"),
}


@dataclass(frozen=True)
class Rule:
    """The user's update rule: the function, its form, the optimizer it is checked as, its name and file."""

    obj: object
    form: str
    spec: str
    file: object
    names: tuple  # the function's parameter names
    keeps: tuple = ()  # the state it keeps, by its own keys (a CS231n config's after one call; v, s)


def form_of(obj, spec):
    """'cs231n', 'dict' or 'per-variable', from the rule's parameter names; CandidateError when none fits."""
    try:
        names = tuple(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        raise CandidateError(f"{spec} is not a function with named parameters") from None
    if {"parameters", "grads"} <= set(names):
        return "dict", names
    if {"var", "grad"} <= set(names):
        return "per-variable", names
    if len(names) >= 3 and not {"parameters", "var"} & set(names):
        return "cs231n", names
    raise CandidateError(
        f"{spec}({', '.join(names)}) is none of the update forms: update(w, dw, config) (CS231n), "
        "update_parameters_with_adam(parameters, grads, v, s, t, ...) (Coursera) or f(alpha, ..., var, grad, "
        "state...) (Holberton)"
    )


def optimizer_of(form, names, config_keys=()):
    """The optimizer a rule is, from its state's names: (optimizer, momentum form or None)."""
    keys = set(config_keys) if form == "cs231n" else set(names)
    if {"m", "v"} <= keys or {"v", "s", "t"} <= keys:
        return "adam", None
    if form == "cs231n" and "cache" in keys:
        return ("rmsprop", None) if "decay_rate" in keys else ("adagrad", None)
    if "s" in keys:
        return "rmsprop", None
    if "velocity" in keys:
        return "sgd", "velocity"
    if "v" in keys:
        return "sgd", "ema"
    return "sgd", None


def infer(rule, given):
    """The settings the rule implies where none were given: its optimizer (from its state), and its own defaults
    (a CS231n config after one call from empty; the function's keyword defaults) for lr, momentum, betas, eps and
    alpha. Returns (the settings to add, the state keys the rule keeps)."""
    if rule.form == "cs231n":
        w, dw = np.linspace(-1, 1, 6).reshape(3, 2), np.linspace(0.5, -0.7, 6).reshape(3, 2)
        config = cs231n_config(given)
        try:
            result = rule.obj(w, dw, config)
        except (Exception, SystemExit) as e:
            raise CandidateError(f"{rule.spec} raised {where(e, [rule.file])} on its first call") from None
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            raise CandidateError(f"{rule.spec} returned {type(result).__name__}; expected (next_w, config)")
        values = result[1]
        keeps = tuple(k for k, v in values.items() if isinstance(v, np.ndarray) or k == "t")
        optimizer, _ = optimizer_of("cs231n", (), values)
        found = dict(lr=values.get("learning_rate"), eps=values.get("epsilon"), alpha=values.get("decay_rate"))
        found["momentum"] = values.get("momentum", 0.0 if optimizer == "sgd" else None)
        if "beta1" in values or "beta2" in values:
            found["betas"] = (values.get("beta1", 0.9), values.get("beta2", 0.999))
    else:
        optimizer, _ = optimizer_of(rule.form, rule.names)
        keeps = tuple(k for k in rule.names if k in ("v", "s"))
        params = inspect.signature(rule.obj).parameters
        own = {k: p.default for k, p in params.items() if isinstance(p.default, (int, float))}
        first = lambda names: next((own[n] for n in names if n in own), None)  # noqa: E731
        b1, b2 = first(("beta1",)), first(("beta2",))
        found = dict(lr=first(LR_NAMES), eps=first(EPS_NAMES))
        if optimizer == "adam" and (b1 is not None or b2 is not None):
            found["betas"] = (0.9 if b1 is None else b1, 0.999 if b2 is None else b2)
        if optimizer == "sgd":
            found["momentum"] = first(("beta", "beta1")) if "v" in rule.names else 0.0
        if optimizer == "rmsprop":
            found["alpha"] = first(("beta2", "beta", "decay_rate"))
    out = {} if "optimizer" in given else dict(optimizer=optimizer)
    opt = given.get("optimizer", optimizer)
    for k, v in found.items():
        if v is not None and k not in given and (k == "lr" or k in OPTIMIZERS[opt].settings):
            out[k] = tuple(float(b) for b in v) if k == "betas" else float(v)
    return out, keeps


def cs231n_config(given):
    """A fresh config for one parameter: the settings given, under CS231n's keys (the rule fills the rest)."""
    config = {}
    for setting, key in (("lr", "learning_rate"), ("momentum", "momentum"), ("alpha", "decay_rate")):
        if setting in given:
            config[key] = float(given[setting])
    if "eps" in given:
        config["epsilon"] = float(given["eps"])
    if "betas" in given:
        config["beta1"], config["beta2"] = (float(b) for b in given["betas"])
    return config


# -- the side: handmade's gradients, the user's rule ------------------------------------------------------------
class UpdateRule(Side):
    """handmade's MLP for the gradients, the user's update rule for the parameters and its own state."""

    kind, label = "candidate", "your rule"
    records = False

    def __init__(self, rule, cfg, dtype, n_train, given, seed=0):
        self.rule, self.cfg, self.dtype, self.n_train, self.given = rule, cfg, np.dtype(dtype), n_train, given
        self.net = handmade.MLP(cfg.model_args(dtype, n_train), seed=seed)
        self.named = list(self.net.named_parameters())
        self.clip = make_clip(handmade, cfg)
        self.holder = _Lr(cfg.lr)
        self.schedule = make_schedule(handmade, self.holder, cfg)
        self.start = {
            n: dict(s)
            for n, s in zip(dict(self.named), make_optimizer(handmade, self.net.parameters(), cfg).state.values())
        }
        self.state = {name: self.fresh(p.data) for name, p in self.named}  # the user's terms
        self.t, self.returned, self.grads = 0, self.dtype, None
        self.suspected = None  # a mistake of the rule's own (steps.UPDATE_SUSPECTS) that fits, once located
        self.roles = self.role_map()  # {twin key: user key}, or None: the rule keeps other quantities
        self.phases = (
            ("loss", "backward", "update") if self.roles is None else ("loss", "backward", "optimizer", "update")
        )

    # -- the user's terms ----------------------------------------------------------------------------------
    def key(self, name, grad=False):
        """'layers.1.weight' -> W2 (dW2 for a gradient or the dict form's state)."""
        i, kind = int(name.split(".")[1]), name.split(".")[2]
        return f"{'d' if grad else ''}{'W' if kind == 'weight' else 'b'}{i + 1}"

    def to_user(self, name, a):
        if self.rule.form == "cs231n" and a.ndim == 2:
            return a.T.copy()
        if self.rule.form == "dict" and a.ndim == 1:
            return a[:, None].copy()
        return a.copy()

    def from_user(self, name, a, like, what):
        try:
            a = np.asarray(a)
        except (TypeError, ValueError):
            a = None
        want = self.to_user(name, like).shape
        if a is None or a.dtype.kind not in "fiu" or a.shape != want:
            got = "None" if a is None else f"shape {a.shape}" if a.dtype.kind in "fiu" else type(a).__name__
            raise CandidateError(f"{self.rule.spec} gave {what} as {got}; expected an array of shape {want}")
        self.returned = max(self.returned, a.dtype, key=lambda d: np.finfo(d).eps if d.kind == "f" else 0)
        out = np.empty_like(like, dtype=self.dtype)  # the parameter's own layout (column-major weights)
        out[...] = a.T if self.rule.form == "cs231n" and a.ndim == 2 else a.reshape(like.shape)
        return out

    def fresh(self, p):
        """The state one parameter starts with, as its course starts it: an empty config; zero v and s."""
        if self.rule.form == "cs231n":
            return cs231n_config(self.given)
        user = self.to_user("", p)
        return {k: np.zeros_like(user) for k in ("v", "s") if k in self.rule.names}

    def hyper(self):
        """The keyword arguments of a dict or per-variable rule, by its parameter names, from the settings."""
        c, out = self.cfg, {}
        opt = OPTIMIZERS[c.optimizer].settings
        for n in self.rule.names:
            if n in LR_NAMES:
                out[n] = self.holder.lr
            elif n in EPS_NAMES and "eps" in opt:
                out[n] = c.eps if c.eps is not None else opt["eps"]
            elif n in ("beta1", "beta2") and c.optimizer in ("adam", "adamw"):
                out[n] = (c.betas or opt["betas"])[n == "beta2"]
            elif n in ("beta", "beta1") and c.optimizer == "sgd":
                out[n] = opt["momentum"] if c.momentum is None else c.momentum
            elif n in ("beta2", "beta", "decay_rate") and c.optimizer == "rmsprop":
                out[n] = opt["alpha"] if c.alpha is None else c.alpha
        return out

    # -- one step ------------------------------------------------------------------------------------------
    def gradients(self, X, Y, masks=None):
        for p in self.net.parameters():
            p.grad = None
        self.loss = self.net.loss(X, Y, masks)
        self.net.backward()
        raw = {name: p.grad for name, p in self.named}
        if self.clip is None:
            return raw
        clipped = [handmade.Param(p.data, g.copy()) for (_, p), g in zip(self.named, raw.values())]
        self.clip(clipped)
        return {name: q.grad for (name, _), q in zip(self.named, clipped)}

    def calls(self, grads):
        """[(parameter names, a function that calls the rule and takes its results in)] for one step."""
        t = self.t + 1 + int(self.given.get("adam_t0") or 0)
        params = dict(self.named)
        if self.rule.form == "dict":
            return [(list(params), lambda: self._dict_call(params, grads, t))]
        return [([name], lambda name=name: self._one_call(name, params[name], grads[name], t)) for name in params]

    def _one_call(self, name, p, g, t):
        state, w, dw = self.state[name], self.to_user(name, p.data), self.to_user(name, g)
        if self.rule.form == "cs231n":
            state["learning_rate"] = self.holder.lr
            result = self.rule.obj(w, dw, state)
            if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
                raise CandidateError(f"{self.rule.spec} returned {type(result).__name__}; expected (next_w, config)")
            self.state[name] = result[1]
            return {name: result[0]}
        kwargs = dict(self.hyper(), var=w, grad=dw, t=t, **{k: state[k] for k in ("v", "s") if k in state})
        result = self.rule.obj(**{k: v for k, v in kwargs.items() if k in self.rule.names})
        result = result if isinstance(result, tuple) else (result,)
        for k, v in zip([k for k in self.rule.names if k in ("v", "s")], result[1:]):
            state[k] = v
        return {name: result[0]}

    def _dict_call(self, params, grads, t):
        parameters = {self.key(n): self.to_user(n, p.data) for n, p in params.items()}
        gs = {self.key(n, True): self.to_user(n, grads[n]) for n in params}
        state = {k: {self.key(n, True): self.state[n][k] for n in params} for k in ("v", "s") if k in self.rule.names}
        kwargs = dict(self.hyper(), parameters=parameters, grads=gs, t=t, **state)
        result = self.rule.obj(**{k: v for k, v in kwargs.items() if k in self.rule.names})
        result = result if isinstance(result, tuple) else (result,)
        if not isinstance(result[0], dict):
            raise CandidateError(f"{self.rule.spec} returned {type(result[0]).__name__}; expected the parameters dict")
        for k, held in zip([k for k in self.rule.names if k in ("v", "s")], result[1:]):
            state[k] = held if isinstance(held, dict) else state[k]
        for n in params:
            for k in state:
                self.state[n][k] = state[k].get(self.key(n, True))
        return {n: result[0].get(self.key(n)) for n in params}

    def step(self, X, Y, masks=None):
        grads = self.gradients(X, Y, masks)
        self.grads = {name: p.grad for name, p in self.named}
        for names, run in self.calls(grads):
            try:
                new = run()
            except CandidateError:
                raise
            except (Exception, SystemExit) as e:
                raise CandidateError(f"{self.rule.spec} raised {where(e, [self.rule.file])}") from None
            for name in names:
                p = dict(self.named)[name]
                p.data[...] = self.from_user(name, new[name], p.data, f"the new {self.key(name)}")
        self.t += 1
        return self.loss

    def role_map(self):
        """{twin state key: the user's key} when the rule keeps every quantity the twin's optimizer keeps, else None
        (then only the update is compared, and the twin keeps torch's state)."""
        keys, roles = state_keys(self.cfg), ROLES[self.rule.form]
        found = {k: roles.get(k) for k in keys}
        if any(u is None or u not in self.rule.keeps for u in found.values()):
            return None
        return found

    def end_step(self, epoch_end):
        advance(self.schedule, self.cfg, epoch_end)

    # the masks and the running statistics are those of the handmade.MLP whose gradients the rule is fed
    draw_masks, masks, buffers = Handmade.draw_masks, Handmade.masks, Handmade.buffers

    # -- the protocol --------------------------------------------------------------------------------------
    def tensors(self):
        out = {("loss", "loss"): np.float64(self.loss)}
        for name, p in self.named:
            out["backward", name] = self.grads[name]
            out["update", name] = p.data
        for name, keys in (self.optimizer_state() or {}).items():
            for k, v in keys.items():
                if k != "step":
                    out["optimizer", f"{name}.{k}"] = v
        return out

    def params(self):
        return {name: p.data for name, p in self.named}

    def optimizer_state(self):
        """The rule's state by the twin's keys (and torch's 'step': the rule's t, else its count of steps), or None
        when it keeps other quantities than the twin's optimizer."""
        if self.roles is None:
            return None
        if self.t == 0:  # before the first call: the twin's optimizer as torch builds it
            return {name: dict(s) for name, s in self.start.items()}
        out = {}
        for name, p in self.named:
            held = self.state[name]
            out[name] = {
                k: self.from_user(name, held[u], p.data, f"{u} of {self.key(name)}") for k, u in self.roles.items()
            }
            if self.cfg.optimizer in ("adam", "adamw", "rmsprop", "adagrad"):
                t = held.get("t") if self.rule.form == "cs231n" else None
                out[name]["step"] = float(
                    t if isinstance(t, (int, float)) else self.t + int(self.given.get("adam_t0") or 0)
                )
        return out

    def save(self, into=None):
        return dict(
            params={k: v.copy() for k, v in self.params().items()},
            buffers={k: v.copy() for k, v in self.buffers().items()},
            state=self.optimizer_state(),
            user=copy.deepcopy(self.state),
            t=self.t,
            lr=self.holder.lr,
            schedule=self.schedule and dict(vars(self.schedule), optimizer=None),
        )

    def restore(self, snap):
        for name, p in self.named:
            p.data[...] = snap["params"][name]
        for name, b in self.buffers().items():
            b[...] = snap["buffers"][name]
        self.state = _cast(copy.deepcopy(snap["user"]), self.dtype)
        self.t, self.holder.lr = snap["t"], snap["lr"]
        if self.schedule:
            vars(self.schedule).update({k: v for k, v in snap["schedule"].items() if k != "optimizer"})

    def at(self, dtype):
        return UpdateRule(self.rule, self.cfg, dtype, self.n_train, self.given)

    @property
    def computes_in(self):
        return self.returned

    def identity(self):
        forms = dict(
            cs231n="update(w, dw, config)", dict="parameters and grads dicts", **{"per-variable": "per variable"}
        )
        return Identity(
            self.kind,
            f"update rule {self.rule.spec} ({forms[self.rule.form]})",
            self.label,
            candidate=dict(spec=self.rule.spec, form=f"update rule, {self.rule.form}", layout=None, params=None),
        )

    def describe(self, name, index=None, phase=None):
        """A parameter or state tensor in the rule's terms: W1[3, 1] (transposed for CS231n), v['dW1'], ..."""
        parts = name.split(".")
        pname, key = ".".join(parts[:3]), parts[3] if len(parts) > 3 else None
        user = self.roles.get(key) if key and self.roles else key
        idx = "" if index is None else list(index)
        if idx and self.rule.form == "cs231n" and parts[2] == "weight":
            idx = idx[::-1]
        if idx and self.rule.form == "dict" and parts[2] == "bias":
            idx = idx + [0]
        at = f"[{', '.join(map(str, idx))}]" if idx else ""
        if self.rule.form == "cs231n":
            return f"config['{user}']{at} of {self.key(pname)}" if key else f"{self.key(pname)}{at} (next_w)"
        if self.rule.form == "dict":
            return f"{user}['{self.key(pname, True)}']{at}" if key else f"parameters['{self.key(pname)}']{at}"
        return f"{user}{at} of {self.key(pname)}" if key else f"var{at} of {self.key(pname)}"

    def predict(self, X):
        return self.net.predict(X)

    def locate(self, run, outcome):
        """The divergence step re-run from the state before it, the departing parameter's call traced, its values
        matched against what torch's optimizer computes on the way (lockstep/pieces/locate.py)."""
        from .steps import known

        sc, d = outcome.scene, outcome.first_divergence
        if sc is None or d is None or d.phase not in ("update", "optimizer"):
            return None
        side = self.at(sc["dtype"])
        side.restore(sc["side_pre"])
        grads = side.gradients(sc["X"], sc["Y"])
        pname = ".".join(d.tensor.split(".")[:3])
        call = next(run for names, run in side.calls(grads) if pname in names)
        result, events = trace.record(call, trace.UserFiles())
        ref = sc["ref"]
        user = lambda a: side.to_user(pname, np.asarray(a, np.float64))  # noqa: E731
        twin_key = d.tensor.split(".")[3] if d.phase == "optimizer" else None
        target = user(ref[d.tensor])
        facts = known(self.cfg, sc["hyper"], pname, sc["pre"], ref, grads[pname])
        returned = result[pname] if twin_key is None else side.state[pname].get(self.roles.get(twin_key))
        tol = TOLERANCES[sc["dtype"]]
        agree = lambda a, b: compare("update", "", a, b, tol).ok  # noqa: E731
        source, why = locate(events, d.tensor, target, {k: user(v) for k, v in facts.items()}, returned, agree)
        if d.phase == "update":
            self.suspected = suspect_of(self.cfg, sc, d, grads[pname])
        return dict(source, kind="candidate") if source else {"unmatched": why}


def suspect_of(cfg, sc, d, grad):
    """The Finding of the rule's own mistakes (steps.UPDATE_SUSPECTS) whose prediction fits the departing update,
    for the catalogue's suspect finder to be completed with; None when none fits."""
    from ..findings.findings import SUSPECT_FIT
    from ..findings.signatures import fit
    from .steps import UPDATE_SUSPECTS

    h, name = sc["hyper"], d.tensor
    p0 = np.asarray(sc["pre"]["params"][name], np.float64)
    state = {k[len(name) + 1 :]: np.asarray(v, np.float64) for k, v in sc["ref"].items() if k.startswith(name + ".")}
    ours = next(np.asarray(a, np.float64) for ph, n, a, _ in sc["pairs"] if (ph, n) == ("update", name))
    fits = []
    for bug, text, predict in UPDATE_SUSPECTS:
        try:
            predicted = predict(cfg, h, p0, np.asarray(grad, np.float64), state)
        except (KeyError, ValueError, TypeError):
            predicted = None
        if predicted is not None:
            res, _ = fit(ours, predicted, "")
            if res <= SUSPECT_FIT[sc["dtype"]]:
                fits.append((res, bug, text))
    if not fits:
        return None
    res, bug, text = min(fits)
    return Finding(
        "suspect", f"Likely cause: {bug}: {text} (the prediction fits to {res:.1e}).", bug, dict(evidence=text, fit=res)
    )


@dataclass
class _Lr:
    lr: float  # what a schedule sets


def _cast(obj, dtype):
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f":
        return obj.astype(dtype)
    if isinstance(obj, dict):
        return {k: _cast(v, dtype) for k, v in obj.items()}
    return obj


def prepare(spec, settings):
    """(Rule, the settings with the rule's own implied), for lockstep.check_update()."""
    wrong = [k for k in NOT_HERE if k in settings]
    if wrong:
        raise SettingError(f"--{wrong[0].replace('_', '-')} does not go with update: the rule is the side under test")
    obj, file = load(spec) if isinstance(spec, str) else (spec, None)
    name = spec if isinstance(spec, str) else getattr(spec, "__qualname__", repr(spec))
    form, names = form_of(obj, name)
    rule = Rule(obj, form, name, file, names)
    implied, keeps = infer(rule, settings)
    return Rule(obj, form, name, file, names, keeps), dict(settings, **implied)


def builder(rule, given, built):
    """build_side for api._check: the UpdateRule side, from the run's one Generator (appended to `built`)."""

    def build(cfg, candidate, rng, n_train, first_batch):
        built.append(UpdateRule(rule, cfg, cfg.dtype, n_train, given, seed=rng))
        return built[-1]

    return build
