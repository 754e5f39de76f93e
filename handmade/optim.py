"""Optimizers with torch.optim's constructor arguments, defaults and update formulas, and the courses' momentum forms.

Each optimizer holds a list of Params (.data and .grad, like torch tensors) and a per-parameter state dict
keyed by the Param, with torch's key names: 'momentum_buffer' for SGD; 'step', 'exp_avg', 'exp_avg_sq' for Adam;
'step', 'square_avg' (and 'momentum_buffer', 'grad_avg') for RMSprop; 'step', 'sum' for Adagrad. A parameter whose
.grad is None is skipped, as in torch. The formulas follow torch's single-tensor CPU code (torch/optim/sgd.py,
adam.py, rmsprop.py, adagrad.py) line for line; where that differs from the textbook it is said below.

Two momentum forms that torch.optim has no class for, as the courses write them, keep their own state key:
SGDMovingAverage ('exp_avg', Coursera and Holberton) and SGDVelocity ('velocity', CS231n and NNFS).
The lr schedules and gradient clipping are in handmade/schedules.py.
"""

import numpy as np


class Optimizer:
    """What every optimizer here shares with torch.optim.Optimizer: the Params, lr, the state per Param."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr
        self.state = {p: {} for p in self.params}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def with_grad(self):
        """(Param, its gradient plus weight_decay * p, its state) for every Param with a gradient."""
        for p in self.params:
            if p.grad is not None:
                wd = getattr(self, "weight_decay", 0)
                yield p, (p.grad + wd * p.data if wd else p.grad), self.state[p]


def _check(name, **values):
    bad = {k: v for k, v in values.items() if not v >= 0}
    if bad:
        raise ValueError(f"Invalid {name} setting: " + ", ".join(f"{k}={v}" for k, v in bad.items()))


class SGD(Optimizer):
    """Stochastic gradient descent with torch's momentum:

        g = grad + weight_decay * p
        buf = g                                   on the first step (torch applies no dampening here)
        buf = momentum * buf + (1 - dampening) g  afterwards
        g = g + momentum * buf if nesterov else buf
        p = p - lr * g

    Full-batch gradient descent is this with one batch holding the whole training set.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        _check("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, lr)
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def step(self):
        for p, g, state in self.with_grad():
            if self.momentum:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy(order="K")  # keep the parameter's layout
                else:
                    buf *= self.momentum
                    buf += g if self.dampening == 0 else (1 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g


class SGDMovingAverage(Optimizer):
    """Momentum as a moving average of the gradients, from v = 0 (Coursera's update_parameters_with_momentum,
    Holberton's update_variables_momentum):

        g = grad + weight_decay * p
        v = momentum * v + (1 - momentum) * g     state 'exp_avg', zero before the first step
        p = p - lr * v

    torch's SGD with dampening = momentum computes this v after its first step, but starts with buf = g, so its
    steps are larger by 1 / (1 - momentum^t); without dampening its buffer is v / (1 - momentum).
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0):
        _check("SGDMovingAverage", lr=lr, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay

    def step(self):
        for p, g, state in self.with_grad():
            v = state.setdefault("exp_avg", np.zeros_like(p.data))
            v *= self.momentum
            v += (1 - self.momentum) * g
            p.data -= self.lr * v


class SGDVelocity(Optimizer):
    """Momentum as a velocity that holds the learning rate, from v = 0 (CS231n's sgd_momentum, NNFS's Optimizer_SGD):

        g = grad + weight_decay * p
        v = momentum * v - lr * g                 state 'velocity', zero before the first step
        p = p + v

    While lr is constant, v = -lr * torch's buffer and the two agree. Once a schedule changes lr, v still carries
    the old steps at the old lr, where torch's buffer is rescaled by the new one: the runs part.
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0):
        _check("SGDVelocity", lr=lr, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay

    def step(self):
        for p, g, state in self.with_grad():
            v = state.setdefault("velocity", np.zeros_like(p.data))
            v *= self.momentum
            v -= self.lr * g
            p.data += v


class Adam(Optimizer):
    """Adam, as torch computes it:

        t = t + 1                                 state 'step', 0 before the first step
        g = grad + weight_decay * p               (AdamW instead shrinks p by (1 - lr * weight_decay) first)
        m = m + (1 - beta1) (g - m)               torch's lerp, the same as beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Note that eps is added after the bias correction of sqrt(v), outside the square root. A course whose counter
    starts elsewhere (CS231n's skeleton: t = 1, then t += 1 before use, so the first correction has t = 2) is this
    Adam started from state step = t0 and zero moments: start_step(optimizer, t0).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Invalid Adam setting: lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, lr)
        self.betas, self.eps = betas, eps
        self.weight_decay, self.decoupled_weight_decay = weight_decay, decoupled_weight_decay

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


def start_step(optimizer, t0):
    """Start Adam's step counter at t0 (zero moments): the first bias correction then uses t = t0 + 1."""
    for p in optimizer.params:
        optimizer.state[p] = dict(step=float(t0), exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))


class RMSprop(Optimizer):
    """RMSprop, as torch computes it (alpha is CS231n's decay_rate, NNFS's rho, Holberton's beta2):

        g = grad + weight_decay * p
        s = alpha s + (1 - alpha) g^2             state 'square_avg', zero before the first step
        centered: a = a + (1 - alpha) (g - a)     state 'grad_avg';  d = sqrt(s - a^2) + eps
        else:                                     d = sqrt(s) + eps
        momentum > 0: buf = momentum buf + g / d, p = p - lr buf     (state 'momentum_buffer', from 0)
        else:         p = p - lr g / d

    eps is added after the square root (TensorFlow and some courses put it inside).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        _check("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered

    def step(self):
        alpha = self.alpha
        for p, g, state in self.with_grad():
            if not state:
                state.update(step=0.0, square_avg=np.zeros_like(p.data))
                if self.momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(p.data)
                if self.centered:
                    state["grad_avg"] = np.zeros_like(p.data)
            state["step"] += 1
            s = state["square_avg"]
            s *= alpha
            s += (1 - alpha) * (g * g)
            if self.centered:
                a = state["grad_avg"]
                a += (1 - alpha) * (g - a)
                d = np.sqrt(s - a * a)
            else:
                d = np.sqrt(s)
            d += self.eps  # after the square root
            if self.momentum > 0:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += g / d
                p.data -= self.lr * buf
            else:
                p.data -= self.lr * (g / d)


class Adagrad(Optimizer):
    """Adagrad, as torch computes it (its lr_decay is NNFS's decay):

        t = t + 1                                 state 'step', 0 from the start
        g = grad + weight_decay * p
        s = s + g^2                               state 'sum', initial_accumulator_value from the start
        p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)

    torch fills the state when the optimizer is built, not at its first step; so does this.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
        _check("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
        _check("Adagrad", initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, lr)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        for p in self.params:
            self.state[p] = dict(step=0.0, sum=np.full_like(p.data, initial_accumulator_value))

    def step(self):
        for p, g, state in self.with_grad():
            state["step"] += 1
            clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
            s = state["sum"]
            s += g * g
            p.data -= clr * (g / (np.sqrt(s) + self.eps))  # eps after the square root
