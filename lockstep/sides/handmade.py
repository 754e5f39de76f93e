"""handmade.MLP and its optimizer as the side under test, with or without a planted bug (lockstep/findings/bugs.py)."""

import numpy as np

import handmade

from ..config import advance, make_clip, make_optimizer, make_schedule, update
from ..records import Identity
from .plan import PHASES, model_tensors
from .protocol import Side


class Handmade(Side):
    """handmade.MLP and its optimizer as the side under test; `bug` (findings/bugs.py) swaps in its subclasses."""

    kind, label = "handmade", "handmade"
    phases = PHASES
    records = True  # z, a and dL/dz of every layer, besides the gradients
    differentiable = True

    def __init__(self, cfg, dtype, seed, n_train, bug=None):
        self.cfg, self.dtype, self.n_train, self.bug = cfg, np.dtype(dtype), n_train, bug
        if bug is not None:
            self.kind, self.label = "handmade+bug", "handmade"
        net_class = bug.net(cfg) if bug is not None and bug.net else handmade.MLP
        self.net = net_class(cfg.model_args(dtype, n_train), seed=seed)
        if bug is not None and bug.optimizer:
            self.opt = bug.optimizer(self.net.parameters(), cfg)
        else:
            self.opt = make_optimizer(handmade, self.net.parameters(), cfg)
        self.schedule = make_schedule(handmade, self.opt, cfg)
        self.clip = make_clip(handmade, cfg)
        self.update = bug.update if bug is not None and bug.update else update
        self.named = list(self.net.named_parameters())
        self.evaluated = bool(model_tensors(self.net.config)["eval"])  # the plan's eval phase: norms or dropout
        self.eval_acts = {}

    def step(self, X, Y, masks=None):
        self.opt.zero_grad()
        self.loss = self.net.loss(X, Y, masks)
        self.net.backward()
        self.update(self.opt, self.net.parameters(), self.clip)
        if self.evaluated:
            self.eval_acts = self.evaluate(X)
        return self.loss

    def evaluate(self, X):
        """{name: array} of the eval-mode forward of X (running statistics, no dropout), as predict() computes it;
        the training step's records are kept."""
        net, kept = self.net, (self.net.acts, self.net.caches)
        try:
            net.eval().forward(net._inputs(X))
            return net.acts
        finally:
            net.train()
            net.acts, net.caches = kept

    def draw_masks(self, m):
        """The next step's masks, from the one Generator, as handmade.MLP draws them in its forward."""
        return self.net.draw_masks(m) if self.net.config.dropout else None

    def masks(self):
        return self.net.dropout_masks()

    def buffers(self):
        return dict(self.net.named_buffers())

    def loss_and_grads(self, X, Y, masks=None):
        """The loss and {name: gradient} at the current parameters, without a step (for the gradient check)."""
        for p in self.net.parameters():
            p.grad = None
        loss = self.net.loss(X, Y, masks)
        return loss, self.net.backward()

    def loss_value(self, X, Y, masks=None):
        return self.net.loss(X, Y, masks)

    def end_step(self, epoch_end):
        advance(self.schedule, self.cfg, epoch_end)

    def tensors(self):
        """{(phase, name): array} of the last step, in torch's terms."""
        out = {("forward", k): v for k, v in self.net.acts.items() if k != "input"}
        out["loss", "loss"] = np.float64(self.loss)
        out.update({("backward", k): v for k, v in self.net.deltas.items()})
        out.update({("eval", k): v for k, v in self.eval_acts.items()})
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
        snap = into or dict(params={}, state={}, buffers={})
        for name, b in self.net.named_buffers():
            snap["buffers"][name] = _copy_into(snap["buffers"].get(name), b)
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
        for name, b in self.net.named_buffers():
            b[...] = snap["buffers"][name]
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

    def identity(self):
        """How the report names this side: side ('handmade', 'handmade+bug' or 'candidate'), side_name, side_label
        (its column in the text report), bug and candidate."""
        bug = self.bug and self.bug.name
        return Identity(self.kind, f"handmade with bug {bug}" if bug else "handmade (NumPy)", self.label, bug)

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
            tensor=outcome.first_divergence.tensor,
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
