"""The two sides of a lockstep run: the side under test and the torch twin, and the tensors a step compares.

The side under test is one object, built once: handmade (Handmade), handmade with a planted bug (Handmade with a
bug's subclasses, lockstep/bugs.py), or the user's own code (lockstep/candidate.py). Each knows how to take a
step, to save and restore its state, to be rebuilt at another precision (at()), to name its tensors in the
user's terms (describe()) and to run one step traced (trace()). The engine, the gradient check, the suspect
finder and the report take it, never loose flags.

Every step computes, in this order, the tensors that plan() names (a side compares those it has):

    forward    layers.{i}.z, layers.{i}.a               for i = 0 .. L-1
    loss       loss
    backward   layers.{i}.dz, layers.{i}.weight, layers.{i}.bias (their gradients)   for i = L-1 .. 0
    optimizer  layers.{i}.weight.momentum_buffer, .exp_avg, .exp_avg_sq              in parameter order
    update     layers.{i}.weight, layers.{i}.bias (the new values)
"""

import copy
import time

import numpy as np
import torch

import handmade
import reference

from .config import make_optimizer, make_schedule, state_keys

PHASES = ("forward", "loss", "backward", "optimizer", "update")


def plan(cfg):
    """[(phase, name)] of every tensor a step can compare, in the order the step computes them."""
    n, biases = len(cfg.sizes) - 1, ("weight", "bias") if cfg.bias else ("weight",)
    out = [("forward", f"layers.{i}.{k}") for i in range(n) for k in ("z", "a")]
    out.append(("loss", "loss"))
    for i in range(n - 1, -1, -1):
        out += [("backward", f"layers.{i}.dz")] + [("backward", f"layers.{i}.{k}") for k in biases]
    params = [f"layers.{i}.{k}" for i in range(n) for k in biases]
    out += [("optimizer", f"{name}.{key}") for name in params for key in state_keys(cfg)]
    out += [("update", name) for name in params]
    return tuple(out)


def timed(step, *args):
    """(result, seconds) of step(*args), in CPU seconds of the calling thread: the backend's own work, without the
    time its thread waits for the GIL while the other backend runs beside it."""
    t = time.thread_time()
    result = step(*args)
    return result, time.thread_time() - t


class Handmade:
    """handmade.MLP and its optimizer as the side under test; `bug` (lockstep/bugs.py) swaps in its subclasses."""

    kind, label = "handmade", "handmade"
    phases = PHASES
    records = True  # z, a and dL/dz of every layer, besides the gradients

    def __init__(self, cfg, dtype, seed, n_train, bug=None):
        self.cfg, self.dtype, self.n_train, self.bug = cfg, np.dtype(dtype), n_train, bug
        if bug is not None:
            self.kind, self.label = "handmade+bug", "handmade"
        net_class = bug.net(cfg) if bug is not None and bug.net else handmade.MLP
        self.net = net_class(**cfg.model_args(dtype, n_train), seed=seed)
        if bug is not None and bug.optimizer:
            self.opt = bug.optimizer(self.net.parameters(), cfg)
        else:
            self.opt = make_optimizer(handmade, self.net.parameters(), cfg)
        self.schedule = make_schedule(handmade, self.opt, cfg)
        self.named = list(self.net.named_parameters())

    def step(self, X, Y):
        self.opt.zero_grad()
        self.loss = self.net.loss(X, Y)
        self.net.backward()
        self.opt.step()
        return self.loss

    def loss_and_grads(self, X, Y):
        """The loss and {name: gradient} at the current parameters, without a step (for the gradient check)."""
        for p in self.net.parameters():
            p.grad = None
        loss = self.net.loss(X, Y)
        return loss, self.net.backward()

    def loss_value(self, X, Y):
        return self.net.loss(X, Y)

    def end_epoch(self):
        if self.schedule:
            self.schedule.step()

    def tensors(self):
        """{(phase, name): array} of the last step, in torch's terms."""
        out = {("forward", k): v for k, v in self.net.acts.items() if k != "input"}
        out["loss", "loss"] = np.float64(self.loss)
        out.update({("backward", k): v for k, v in self.net.deltas.items()})
        for name, p in self.named:
            out["backward", name] = p.grad
            out["update", name] = p.data
            for key, v in self.opt.state[p].items():
                if key != "step":
                    out["optimizer", f"{name}.{key}"] = v
        return out

    def params(self):
        return {name: p.data for name, p in self.named}

    def optimizer_state(self):
        return {name: self.opt.state[p] for name, p in self.named}

    def save(self, into=None):
        """A copy of the parameters, optimizer state and lr; `into`, an earlier copy, is reused."""
        snap = into or dict(params={}, state={})
        for name, p in self.named:
            snap["params"][name] = _copy_into(snap["params"].get(name), p.data)
            old = snap["state"].get(name, {})
            snap["state"][name] = {
                k: (_copy_into(old.get(k), v) if isinstance(v, np.ndarray) else v) for k, v in self.opt.state[p].items()
            }
        snap["lr"] = self.opt.lr
        snap["schedule"] = self.schedule and dict(vars(self.schedule), optimizer=None)
        return snap

    def restore(self, snap):
        for name, p in self.named:
            p.data[...] = snap["params"][name]
            self.opt.state[p] = {
                k: (v.astype(self.dtype) if isinstance(v, np.ndarray) else v) for k, v in snap["state"][name].items()
            }
        self.opt.lr = snap["lr"]
        if self.schedule:
            vars(self.schedule).update({k: v for k, v in snap["schedule"].items() if k != "optimizer"})

    def at(self, dtype):
        """A fresh side of the same kind computing in dtype; restore() then loads a saved state into it."""
        return Handmade(self.cfg, dtype, 0, self.n_train, self.bug)

    def describe(self, name, index=None):
        return None  # handmade speaks torch's names already

    def identity(self):
        """How the report names this side: side ('handmade', 'handmade+bug' or 'candidate'), side_name, side_label
        (its column in the text report), bug and candidate."""
        bug = self.bug and self.bug.name
        return dict(
            side=self.kind,
            side_name=f"handmade with bug {bug}" if bug else "handmade (NumPy)",
            side_label=self.label,
            bug=bug,
            candidate=None,
        )

    def predict(self, X):
        return self.net.predict(X)

    def locate(self, run, outcome):
        """For a planted bug: the handmade line its change replaces (handmade itself has no other line to blame)."""
        if self.bug is None:
            return None
        file, line, text = self.bug.source()
        return dict(
            kind="bug",
            file=file,
            line=line,
            variable=text,
            tensor=outcome.first_divergence["tensor"],
            matched_before=[],
        )

    @property
    def computes_in(self):
        return self.dtype


def _copy_into(keep, a):
    if keep is None or keep.shape != a.shape or keep.dtype != a.dtype or keep.strides != a.strides:
        return a.copy(order="K")
    np.copyto(keep, a)
    return keep


class Twin:
    """reference.MLP and torch.optim: the twin, holding a copy of the side under test's parameters."""

    def __init__(self, cfg, dtype, params, n_train):
        self.cfg, self.dtype = cfg, np.dtype(dtype)
        self.net = reference.MLP(**cfg.model_args(dtype, n_train), seed=0)
        self.net.copy_from(params)
        self.opt = make_optimizer(reference, self.net.parameters(), cfg)
        self.schedule = make_schedule(reference, self.opt, cfg)
        self.named = list(self.net.named_parameters())

    def step(self, X, Y):
        self.opt.zero_grad()
        self.loss = self.net.loss(X, Y)
        self.net.backward()
        self.opt.step()
        return self.loss

    def end_epoch(self):
        if self.schedule:
            self.schedule.step()

    def tensors(self):
        out = {("forward", k): t.detach().numpy() for k, t in self.net._acts.items()}
        out["loss", "loss"] = np.float64(self.loss)
        out.update({("backward", k): v for k, v in self.net.deltas.items()})
        for name, p in self.named:
            out["backward", name] = None if p.grad is None else p.grad.numpy()
            out["update", name] = p.detach().numpy()
            for key, v in self.opt.state.get(p, {}).items():
                if key != "step" and v is not None:
                    out["optimizer", f"{name}.{key}"] = v.numpy()
        return out

    def save(self):
        """The optimizer state and lr (the parameters come from the side under test when the twin is loaded)."""
        return dict(
            state={
                name: {k: (v.clone() if torch.is_tensor(v) else v) for k, v in self.opt.state[p].items()}
                for name, p in self.named
            },
            lr=self.opt.param_groups[0]["lr"],
            schedule=self.schedule and copy.deepcopy(self.schedule.state_dict()),
        )

    def load(self, params, state=None, saved=None, lr=None):
        """Take the side under test's parameters; the optimizer state from `state` ({name: {key: array}}, torch's
        keys) or, for a side that keeps its own, from the twin's own `saved` copy; lr from `saved` or `lr`."""
        self.net.copy_from(params)
        for name, p in self.named:
            if state is not None:
                self.opt.state[p] = {
                    k: (
                        torch.tensor(float(v), dtype=torch.float32)
                        if k == "step"
                        else torch.from_numpy(np.array(v, dtype=self.dtype))
                    )
                    for k, v in state[name].items()
                }
            elif saved is not None:
                self.opt.state[p] = {
                    k: (v.clone() if torch.is_tensor(v) else v) for k, v in saved["state"][name].items()
                }
        if saved is not None:
            lr = saved["lr"]
            if self.schedule:
                self.schedule.load_state_dict(saved["schedule"])
        if lr is not None:
            for group in self.opt.param_groups:
                group["lr"] = lr

    def hyper(self):
        return {k: v for k, v in self.opt.param_groups[0].items() if k != "params"}

    def reference_tensors(self):
        """Copies of every tensor the twin recorded this step, by name: activations, dL/dz and dL/da, gradients (as
        'grad:name'), optimizer state and the new parameters. The suspect finder and the judge predict from these."""
        ref = {name: a.copy() for name, a in self.net.acts.items()}
        ref.update({name: a.copy() for name, a in self.net.deltas.items()})
        ref.update({f"grad:{name}": g.copy() for name, g in self.net.grads().items() if g is not None})
        ref["loss"] = float(self.net._loss.detach())
        for name, p in self.named:
            ref[name] = p.detach().numpy().copy()
            for key, v in self.opt.state.get(p, {}).items():
                if v is not None:
                    ref[f"{name}.{key}"] = v.numpy().copy() if key != "step" else float(v)
        return ref
