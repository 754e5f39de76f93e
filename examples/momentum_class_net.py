"""A network that owns its update: SGD with momentum written by hand, in torch's layout [W0, b0, W1, b1, ...].

Momentum comes in two textbook forms: the heavy ball v = mu v + g (torch's, with dampening 0) and the moving
average v = mu v + (1 - mu) g (torch's with dampening = mu). torch starts its buffer from the first gradient,
v = g, with no dampening on that step:

    python compare.py --candidate examples/momentum_class_net.py:MomentumNet --momentum 0.9 --dampening 0.9
    python compare.py --candidate examples/momentum_class_net.py:MomentumNetZeroStart --momentum 0.9 --dampening 0.9

MomentumNet follows torch. MomentumNetZeroStart starts its moving average from a zero buffer, so its first step is
(1 - mu) times torch's; the class exposes no optimizer state, and the suspect finder names the cause from the
update itself (momentum-dampened-first-step).
"""

import numpy as np


class MomentumNet:
    """tanh hidden units, softmax output, mean cross-entropy; v = mu v + (1 - dampening) g, v = g at first."""

    def __init__(self, params, lr=0.05, momentum=0.9, dampening=0.0):
        self.params = [p.copy() for p in params]
        self.momentum, self.dampening = momentum, dampening
        self.velocity = [None] * len(params)

    def loss_and_grads(self, X, Y):
        n = len(self.params) // 2
        acts = [X]
        for i in range(n):
            z = acts[-1] @ self.params[2 * i].T + self.params[2 * i + 1]  # (m, out)
            acts.append(np.tanh(z) if i < n - 1 else z)
        shifted = acts[-1] - acts[-1].max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        delta = (np.exp(log_p) - Y) / len(X)  # dL/dz of the output, (m, k)
        grads = [None] * len(self.params)
        for i in range(n - 1, -1, -1):
            grads[2 * i], grads[2 * i + 1] = delta.T @ acts[i], delta.sum(axis=0)
            if i:
                delta = (delta @ self.params[2 * i]) * (1 - acts[i] ** 2)
        return -np.sum(Y * log_p) / len(X), grads

    def start(self, g):
        return g.copy()  # torch: the first step's buffer is the gradient itself

    def step(self, X, Y, lr):
        loss, grads = self.loss_and_grads(X, Y)
        for k, g in enumerate(grads):
            if self.velocity[k] is None:
                self.velocity[k] = self.start(g)
            else:
                self.velocity[k] = self.momentum * self.velocity[k] + (1 - self.dampening) * g
            self.params[k] = self.params[k] - lr * self.velocity[k]
        return loss


class MomentumNetZeroStart(MomentumNet):
    def start(self, g):
        return (1 - self.dampening) * g  # mu * 0 + (1 - dampening) g: a zero buffer, dampened from the first step
