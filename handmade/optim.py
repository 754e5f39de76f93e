"""SGD, Adam and AdamW with torch.optim's constructor arguments, defaults and update formulas.

Each optimizer holds a list of Params (.data and .grad, like torch tensors) and a per-parameter state dict
keyed by the Param, with torch's key names: 'momentum_buffer' for SGD; 'step', 'exp_avg', 'exp_avg_sq' for Adam.
A parameter whose .grad is None is skipped, as in torch. The formulas follow torch's single-tensor CPU code
(torch/optim/sgd.py and adam.py) line for line; where that differs from the textbook it is said below.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with torch's momentum:

        g = grad + weight_decay * p
        buf = g                                   on the first step (torch applies no dampening here)
        buf = momentum * buf + (1 - dampening) g  afterwards
        g = g + momentum * buf if nesterov else buf
        p = p - lr * g

    Full-batch gradient descent is this with one batch holding the whole training set.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"Invalid SGD setting: lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.params = list(params)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.state = {p: {} for p in self.params}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.state[p].get("momentum_buffer")
                if buf is None:
                    buf = self.state[p]["momentum_buffer"] = g.copy(order="K")  # keep the parameter's layout
                else:
                    buf *= self.momentum
                    buf += g if self.dampening == 0 else (1 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g


class Adam:
    """Adam, as torch computes it:

        g = grad + weight_decay * p               (AdamW instead shrinks p by (1 - lr * weight_decay) first)
        m = m + (1 - beta1) (g - m)               torch's lerp, the same as beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Note that eps is added after the bias correction of sqrt(v), outside the square root.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Invalid Adam setting: lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled_weight_decay = weight_decay, decoupled_weight_decay
        self.state = {p: {} for p in self.params}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        beta1, beta2 = self.betas
        for p in self.params:
            if p.grad is None:
                continue
            g, state = p.grad, self.state[p]
            if not state:
                state.update(step=0.0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
            state["step"] += 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            if self.weight_decay:
                if self.decoupled_weight_decay:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            m += (1 - beta1) * (g - m)
            v *= beta2
            v += (1 - beta2) * (g * g)
            t = state["step"]
            step_size = self.lr / (1 - beta1**t)
            denom = np.sqrt(v) / (1 - beta2**t) ** 0.5 + self.eps  # eps after the bias correction of sqrt(v)
            p.data -= step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (p shrinks by lr * weight_decay each step), torch's default 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)


# -- learning-rate schedules, stepped once per epoch as torch.optim.lr_scheduler's are ---------------------------
class StepLR:
    """lr times gamma every step_size epochs (torch's recursive form: the current lr times gamma)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.optimizer, self.step_size, self.gamma, self.last_epoch = optimizer, step_size, gamma, 0

    def step(self):
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            self.optimizer.lr = self.optimizer.lr * self.gamma


class ExponentialLR:
    """lr times gamma every epoch."""

    def __init__(self, optimizer, gamma):
        self.optimizer, self.gamma, self.last_epoch = optimizer, gamma, 0

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.optimizer.lr * self.gamma


class LambdaLR:
    """lr = initial lr * lr_lambda(epoch); 1/t decay is lr_lambda = lambda t: 1 / (1 + decay * t)."""

    def __init__(self, optimizer, lr_lambda):
        self.optimizer, self.lr_lambda, self.last_epoch = optimizer, lr_lambda, 0
        self.base_lr = optimizer.lr

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.lr_lambda(self.last_epoch)
