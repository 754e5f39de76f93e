"""The two sides of a lockstep run, their state by parameter name, and the stream of named tensor pairs.

A side is a model and its optimizer: handmade (maybe with a planted bug), a user's candidate, or the torch twin.
Every step computes, in this order, the tensors that tensor_plan() names:

    forward    layers.{i}.z, layers.{i}.a               for i = 0 .. L-1
    loss       loss
    backward   layers.{i}.dz, layers.{i}.weight, layers.{i}.bias (their gradients)   for i = L-1 .. 0
    optimizer  layers.{i}.weight.momentum_buffer, .exp_avg, .exp_avg_sq              in parameter order
    update     layers.{i}.weight, layers.{i}.bias (the new values)
"""
import functools
import time
from dataclasses import dataclass

import numpy as np
import torch

import handmade
import reference
from .config import make_optimizer

STATE_KEYS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"), "adamw": ("exp_avg", "exp_avg_sq")}


@dataclass
class Side:
    net: object
    opt: object
    _named: list = None

    @property
    def named(self):
        """[(name, parameter)], in torch's order; the parameter objects live as long as the model."""
        if self._named is None:
            self._named = list(self.net.named_parameters())
        return self._named


def train_step(side, X, Y):
    """One step, written once for both backends: they share this API."""
    side.opt.zero_grad()
    loss = side.net.loss(X, Y)
    side.net.backward()
    side.opt.step()
    return loss


def timed_step(side, X, Y):
    """(loss, seconds) of one train_step, in CPU seconds of the calling thread: the backend's own work, without
    the time its thread waits for the GIL while the other backend runs beside it."""
    t = time.thread_time()
    loss = train_step(side, X, Y)
    return loss, time.thread_time() - t


def build_ours(cfg, dtype, seed, bug=None, candidate=None):
    """The side under test: handmade.MLP, with `bug` planted, or wrapped as the user's `candidate`."""
    net = handmade.MLP(**cfg.model_args(dtype), seed=seed)
    if bug is not None:
        return bug.plant(net, cfg)
    if candidate is not None:
        net = candidate.wrap(net, cfg.dtype)
    return Side(net, make_optimizer(handmade, net.parameters(), cfg))


def build_theirs(cfg, ours, dtype):
    """The torch twin, holding a copy of the side under test's current parameters."""
    twin = reference.MLP(**cfg.model_args(dtype), seed=0)
    twin.copy_from({name: p.data for name, p in ours.net.named_parameters()})
    return Side(twin, make_optimizer(reference, twin.parameters(), cfg))


# -- state: parameters and optimizer state, as plain numpy, by parameter name ---------------------------------
def snapshot(side, into=None):
    """The handmade side's parameters and optimizer state, copied: {'params': {name: a}, 'state': {name: {}}}.
    Given a previous snapshot `into`, its arrays are reused (copied into), as the engine does every step."""
    snap = into or dict(params={}, state={})
    for name, p in side.named:
        snap["params"][name] = _copy_into(snap["params"].get(name), p.data)
        old = snap["state"].get(name, {})
        snap["state"][name] = {k: (_copy_into(old.get(k), v) if isinstance(v, np.ndarray) else v)
                               for k, v in side.opt.state[p].items()}
    return snap


def _copy_into(keep, a):
    if keep is None or keep.shape != a.shape or keep.dtype != a.dtype or keep.strides != a.strides:
        return a.copy(order="K")
    np.copyto(keep, a)
    return keep


def load_ours(side, snap):
    dtype = side.net.dtype
    for name, p in side.named:
        p.data[...] = snap["params"][name]
        side.opt.state[p] = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v)
                             for k, v in snap["state"][name].items()}


def load_theirs(side, snap):
    side.net.copy_from(snap["params"])
    for name, p in side.named:
        state = {}
        for k, v in snap["state"][name].items():
            if k == "step":
                state[k] = torch.tensor(float(v), dtype=torch.float32)  # torch keeps Adam's step as a tensor
            else:
                state[k] = torch.from_numpy(np.array(v, dtype=side.net.config["dtype"]))
        side.opt.state[p] = state


# -- the stream of named tensor pairs -----------------------------------------------------------------------
@functools.lru_cache
def tensor_plan(n_layers, optimizer, momentum, recorded=True):
    """[(phase, name)] of every tensor a step compares, in the order the step computes them. Without recorded
    activations (a candidate), forward and dL/dz are left out; SGD without momentum keeps no optimizer state."""
    plan = []
    if recorded:
        plan += [("forward", f"layers.{i}.{k}") for i in range(n_layers) for k in ("z", "a")]
    plan.append(("loss", "loss"))
    for i in range(n_layers - 1, -1, -1):
        plan += [("backward", f"layers.{i}.dz")] if recorded else []
        plan += [("backward", f"layers.{i}.weight"), ("backward", f"layers.{i}.bias")]
    keys = STATE_KEYS[optimizer] if optimizer != "sgd" or momentum else ()
    params = [f"layers.{i}.{k}" for i in range(n_layers) for k in ("weight", "bias")]
    plan += [("optimizer", f"{name}.{key}") for name in params for key in keys]
    plan += [("update", name) for name in params]
    return tuple(plan)


def plan_for(cfg, candidate=None):
    return tensor_plan(len(cfg.sizes) - 1, cfg.optimizer, bool(cfg.momentum), recorded=candidate is None)


def tensor_pairs(plan, ours, theirs, loss_ours, loss_theirs):
    """Yield (phase, name, ours_array, reference_array) for each (phase, name) of the plan."""
    acts_o, acts_t = ours.net.acts, theirs.net._acts
    grads_o = {name: p.grad for name, p in ours.named}
    grads_t = {name: p.grad for name, p in theirs.named}
    params_o, params_t = dict(ours.named), dict(theirs.named)
    for phase, name in plan:
        if phase == "forward":
            yield phase, name, acts_o[name], acts_t[name].detach().numpy()
        elif phase == "loss":
            yield phase, name, np.float64(loss_ours), np.float64(loss_theirs)
        elif phase == "backward" and name.endswith(".dz"):
            yield phase, name, ours.net.deltas[name], acts_t[name[:-2] + "z"].grad.numpy()
        elif phase == "backward":
            yield phase, name, grads_o[name], grads_t[name].numpy()
        elif phase == "optimizer":
            param, key = name.rsplit(".", 1)
            ref = theirs.opt.state[params_t[param]][key].numpy()
            yield phase, name, ours.opt.state[params_o[param]].get(key, np.zeros_like(ref)), ref
        else:
            yield phase, name, params_o[name].data, params_t[name].detach().numpy()


def reference_tensors(theirs):
    """Copies of every tensor the twin recorded this step, by name: activations, dL/dz, gradients (as
    'grad:name'), optimizer state and the new parameters. The suspect finder predicts from these."""
    ref = {name: a.copy() for name, a in theirs.net.acts.items()}
    ref.update({name: a.copy() for name, a in theirs.net.deltas.items()})
    ref.update({f"grad:{name}": g.copy() for name, g in theirs.net.grads().items() if g is not None})
    for name, p in theirs.named:
        ref[name] = p.detach().numpy().copy()
        for key, v in theirs.opt.state.get(p, {}).items():
            if v is not None:
                ref[f"{name}.{key}"] = v.numpy().copy() if key != "step" else float(v)
    return ref
