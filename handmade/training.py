"""What a training loop applies around the optimizer: lr schedules (torch.optim.lr_scheduler's) and gradient
clipping (torch.nn.utils'), with torch's arguments and arithmetic.

    opt.zero_grad(); loss = net.loss(X, Y); net.backward()
    clip_grad_norm_(net.parameters(), 1.0)     # between backward and the step
    opt.step()
    schedule.step()                            # after the step: once per epoch, or once per iteration

A schedule counts its own calls (last_epoch), so the same class decays per epoch or per iteration depending on
when the loop calls it: NNFS's lr / (1 + decay * iterations) is LambdaLR stepped after every update.
"""

import numpy as np


class StepLR:
    """lr times gamma every step_size calls (torch's recursive form: the current lr times gamma)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.optimizer, self.step_size, self.gamma, self.last_epoch = optimizer, step_size, gamma, 0

    def step(self):
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            self.optimizer.lr = self.optimizer.lr * self.gamma


class ExponentialLR:
    """lr times gamma every call."""

    def __init__(self, optimizer, gamma):
        self.optimizer, self.gamma, self.last_epoch = optimizer, gamma, 0

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.optimizer.lr * self.gamma


class LambdaLR:
    """lr = initial lr * lr_lambda(t) after t calls; 1/t decay is lr_lambda = lambda t: 1 / (1 + decay * t)."""

    def __init__(self, optimizer, lr_lambda):
        self.optimizer, self.lr_lambda, self.last_epoch = optimizer, lr_lambda, 0
        self.base_lr = optimizer.lr

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.lr_lambda(self.last_epoch)


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element to [-clip_value, clip_value], in place (min-char-rnn's np.clip(d, -5, 5))."""
    for p in parameters:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients, in place, by min(1, max_norm / (N + 1e-6)), N the 2-norm of all of them as one vector
    (the norm of the per-tensor norms, as torch computes it, in the gradients' dtype). Returns N."""
    if norm_type != 2.0:
        raise ValueError(f"only the 2-norm is implemented, not norm_type={norm_type}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norms = np.array([np.linalg.norm(g.ravel()) for g in grads], dtype=grads[0].dtype)  # (tensors,)
    total = np.linalg.norm(norms)
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)  # never scaled up
    for g in grads:
        g *= coef
    return total
