"""The torch twin: reference.MLP and torch.optim, holding a copy of the side under test's parameters (and buffers).
It never draws a dropout mask: each step is given the side's."""

import copy

import numpy as np
import torch

import reference

from ..config import advance, make_clip, make_optimizer, make_schedule, update
from .plan import model_tensors


class Twin:
    """reference.MLP and torch.optim: the twin, holding a copy of the side under test's parameters; `params` may hold
    the side's buffers too (the running statistics), by torch's names."""

    def __init__(self, cfg, dtype, params, n_train):
        self.cfg, self.dtype = cfg, np.dtype(dtype)
        self.net = reference.MLP(cfg.model_args(dtype, n_train), seed=0)
        self.net.copy_from(params)
        self.opt = make_optimizer(reference, self.net.parameters(), cfg)
        self.schedule = make_schedule(reference, self.opt, cfg)
        self.clip = make_clip(reference, cfg)
        self.named = list(self.net.named_parameters())
        self.evaluated = bool(model_tensors(self.net.config)["eval"])
        self.eval_acts = {}

    def step(self, X, Y, masks=None):
        """One training step on X, Y with the side's dropout masks; then, with a norm or dropout, the eval-mode
        forward of the same batch."""
        self.opt.zero_grad()
        self.loss = self.net.loss(X, Y, masks)
        self.net.backward()
        update(self.opt, [p for _, p in self.named], self.clip)
        if self.evaluated:
            self.eval_acts = self.evaluate(X)
        return self.loss

    def evaluate(self, X):
        """{name: tensor} of the eval-mode forward of X, without gradients; the training step's records are kept."""
        net, kept = self.net, self.net._acts
        net._acts = {}
        try:
            with torch.no_grad():
                net.eval().forward(X)
            return net._acts
        finally:
            net.train()
            net._acts = kept

    def end_step(self, epoch_end):
        advance(self.schedule, self.cfg, epoch_end)

    def tensors(self):
        out = {("forward", k): t.detach().numpy() for k, t in self.net._acts.items()}
        out["loss", "loss"] = np.float64(self.loss)
        out.update({("backward", k): v for k, v in self.net.deltas.items()})
        out.update({("eval", k): t.numpy() for k, t in self.eval_acts.items()})
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
        """Take the side under test's parameters (and the buffers `params` holds); the optimizer state from `state`
        ({name: {key: array}}, torch's keys) or, for a side that keeps its own, from the twin's own `saved` copy; lr
        from `saved` or `lr`."""
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
            elif saved is not None:  # in this twin's dtype: a float32 run's state re-run in float64
                self.opt.state[p] = {
                    k: (
                        v.to(p.dtype, copy=True)
                        if torch.is_tensor(v) and k != "step"
                        else v.clone()
                        if torch.is_tensor(v)
                        else v
                    )
                    for k, v in saved["state"][name].items()
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
        """Copies of every tensor the twin recorded this step, by name: activations (the norms' statistics, the
        running statistics after the update, the dropout masks), dL/dz and dL/da, gradients (as 'grad:name'),
        optimizer state, the new parameters and the eval-mode forward (as 'eval:name'). The suspect finder and the
        judge predict from these."""
        ref = {name: a.copy() for name, a in self.net.acts.items()}
        ref.update({name: a.copy() for name, a in self.net.deltas.items()})
        ref.update({f"eval:{name}": t.numpy().copy() for name, t in self.eval_acts.items()})
        ref.update({f"grad:{name}": g.copy() for name, g in self.net.grads().items() if g is not None})
        ref["loss"] = float(self.loss)
        for name, p in self.named:
            ref[name] = p.detach().numpy().copy()
            for key, v in self.opt.state.get(p, {}).items():
                if v is not None:
                    ref[f"{name}.{key}"] = v.numpy().copy() if key != "step" else float(v)
        return ref
