"""The twin's optimizers where torch.optim has no class: the courses' momentum forms, and Adam's counter start.

torch.optim.SGD's momentum is buf = mu buf + (1 - dampening) g from buf = g. Two forms that the courses teach are
not expressible with it, so their reference is torch's arithmetic of the course's formula, in a small
torch.optim.Optimizer subclass, not a torch.optim class (handmade/optim.py has the same formulas in NumPy):

  SGDMovingAverage  v = mu v + (1 - mu) g from v = 0, p -= lr v         Coursera, Holberton   state 'exp_avg'
  SGDVelocity       v = mu v - lr g from v = 0, p += v                  CS231n, NNFS          state 'velocity'

Both apply torch's weight decay (g = grad + weight_decay p) first, as torch.optim.SGD does.
"""

import torch
from torch.optim import Optimizer


class _Momentum(Optimizer):
    """lr, momentum, weight_decay: what both forms take."""

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0):
        if not (lr >= 0 and momentum >= 0 and weight_decay >= 0):
            raise ValueError(f"Invalid setting: lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _grads(self):
        """(parameter, gradient plus weight decay, state, group) for every parameter with a gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    wd = group["weight_decay"]
                    yield p, (p.grad.add(p, alpha=wd) if wd else p.grad), self.state[p], group


class SGDMovingAverage(_Momentum):
    """v = momentum v + (1 - momentum) g from v = 0 (state 'exp_avg'); p = p - lr v."""

    @torch.no_grad()
    def step(self, closure=None):
        for p, g, state, group in self._grads():
            if "exp_avg" not in state:
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            v = state["exp_avg"]
            v.mul_(group["momentum"]).add_(g, alpha=1 - group["momentum"])
            p.add_(v, alpha=-group["lr"])


class SGDVelocity(_Momentum):
    """v = momentum v - lr g from v = 0 (state 'velocity'); p = p + v."""

    @torch.no_grad()
    def step(self, closure=None):
        for p, g, state, group in self._grads():
            if "velocity" not in state:
                state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            v = state["velocity"]
            v.mul_(group["momentum"]).add_(g, alpha=-group["lr"])
            p.add_(v)


def start_step(optimizer, t0):
    """Start torch.optim.Adam's step counter at t0 (zero moments), so its first bias correction uses t0 + 1: Adam
    has no argument for it, and takes a state it finds instead of making one."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            optimizer.state[p] = dict(
                step=torch.tensor(float(t0), dtype=torch.float32),
                exp_avg=torch.zeros_like(p, memory_format=torch.preserve_format),
                exp_avg_sq=torch.zeros_like(p, memory_format=torch.preserve_format),
            )
