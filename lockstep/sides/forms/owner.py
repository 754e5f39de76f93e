"""The form whose network owns its update: a class Net(params, **hyper), built once from the tool's initial
parameters in the user's layout; net.step(X, Y, lr) trains on one batch and returns the loss; net.params holds the
parameters after each step and net.grads, if present, the last gradients (with intermediates beside them, as a
function's). The tool compares the updated parameters with torch.optim's update under the flags given.

hyper holds whichever of lr, n_train (the training-set size, for a penalty lambda/(2n)), the optimizer's settings by
torch's names (momentum, dampening, nesterov, weight_decay for sgd; betas, eps for adam; alpha, eps, centered for
rmsprop; lr_decay, eps, initial_accumulator_value for adagrad), its conventions (momentum_form, adam_t0) and
clip_value, clip_norm its __init__ accepts (all of them if it takes **kwargs).
"""

import inspect
import types

import numpy as np

import handmade

from ...config import OPTIMIZER_SETTINGS, advance, optimizer_settings
from ..snapshot import snapshot
from .base import Candidate, Schedule, loss_value, returned_grads
from .boundary import is_tensor

HYPER = ("lr", *OPTIMIZER_SETTINGS, "n_train", "clip_value", "clip_norm")


class ClassCandidate(Candidate):
    """Net(params, **hyper) with step(X, Y, lr) -> loss and .params (and .grads): the network owns its update."""

    differentiable = False  # step() updates inside: there is no loss function to differentiate
    owns_update = True

    def __init__(self, settings, dtype, seed=0, phases=None):
        """Built from the tool's initial parameters (drawn from `seed`, the run's Generator); with `phases`, a copy
        for a re-run at another precision, whose network restore() brings."""
        super().__init__(settings, dtype)
        cfg = settings.cfg
        self.lr = Schedule(cfg)
        self.phases, self.net, self.state, self.grads = phases, None, None, None
        if phases is not None:
            return
        init = handmade.MLP(cfg.model_args(dtype, settings.n_train), seed=seed).state_dict()
        self.state = init
        self.net = self.build(init)
        # with clipping configured, whether its .grads are kept before or after its own clipping is the network's
        # business: its update is compared, not its gradients
        clips = cfg.clip_value is not None or cfg.clip_norm is not None
        self.phases = ("loss", "backward", "update") if self.has_grads() and not clips else ("loss", "update")

    def build(self, init):
        """The user's network from the initial parameters {torch name: array}."""
        params = self._user_params(init)
        try:
            return self.obj(params, **hyper(self.obj, self.cfg, self.n_train))
        except (Exception, SystemExit) as e:
            self._fail(e, params, stage=0)

    def has_grads(self):
        return hasattr(self.net, "grads")

    def step(self, X, Y, masks=None):
        lr = self.dtype.type(self.lr.lr)
        before = self.state
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)
        try:
            loss = self.net.step(Xu, Yu, lr)
        except (Exception, SystemExit) as e:
            self._fail(e, getattr(self.net, "params", []), X=Xu, Y=Yu)
        self.returned = self.dtype
        self.loss = loss_value(loss, f"{self.who}.step")
        self.state = self._from_user(getattr(self.net, "params", None), "left .params")
        if "backward" in self.phases:
            self.grads = self._from_user(self.net.grads, "left .grads", ".grads", X, Y, before)
        return self.loss

    def end_step(self, epoch_end):
        advance(self.lr.schedule, self.cfg, epoch_end)

    def traced_call(self, X, Y):
        net, lr = self.net, self.dtype.type(self.lr.lr)
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)

        def returned(result):
            grads = getattr(net, "grads", None) if "backward" in self.phases else None
            out = returned_grads(grads, self.layout, self.cfg.sizes, self.cfg.bias) if grads is not None else []
            return out + self.returned_intermediates(grads)

        return (lambda: net.step(Xu, Yu, lr)), returned

    def tensors(self):
        out = {("loss", "loss"): np.asarray(self.loss)}
        out.update({("update", k): v for k, v in self.state.items()})
        if self.grads is not None:
            out.update({("backward", k): v for k, v in self.grads.items()})
        out.update({("backward" if k.endswith((".dz", ".da")) else "forward", k): v for k, v in self.inter.items()})
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
        return type(self)(self.settings, dtype, phases=self.phases) if self.usable_at(dtype) else None

    def predict(self, X):
        net = handmade.MLP(self.cfg.model_args(self.dtype, self.n_train))
        net.load_state_dict(self.state)
        return net.predict(X)


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
    """Every floating-point array (NumPy's or torch's) reachable from obj's attributes, lists, tuples and dicts, cast
    to dtype (for a re-run of a network at another precision). Returns obj, changed in place where it can be."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return obj
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.astype(dtype) if np.issubdtype(obj.dtype, np.floating) else obj
    if is_tensor(obj):
        import torch

        return obj.to(getattr(torch, np.dtype(dtype).name)) if obj.is_floating_point() else obj
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
