"""A network that owns its update: a class with a hand-written Adam, in torch's layout [W0, b0, W1, b1, ...].

The tool builds it once from its own initial parameters, calls step(X, Y, lr) on every batch, and compares the
loss, the gradients it exposes (.grads), and the parameters after each update (.params) with torch.optim.Adam:

    python compare.py --candidate examples/adam_class_net.py:AdamNet --optimizer adam --lr 1e-3
    python compare.py --candidate examples/adam_class_net.py:AdamNetNoBiasCorrection --optimizer adam --lr 1e-3

AdamNet is correct; AdamNetNoBiasCorrection forgets the bias correction of the moment estimates, which the
suspect finder names (adam-no-bias-correction).
"""

import numpy as np


class AdamNet:
    """relu hidden units, softmax output, mean cross-entropy; Adam as in Kingma and Ba's paper."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = [p.copy() for p in params]
        self.beta1, self.beta2, self.eps = betas[0], betas[1], eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.grads = None

    def loss_and_grads(self, X, Y):
        n = len(self.params) // 2
        acts, zs = [X], []
        for i in range(n):
            z = acts[-1] @ self.params[2 * i].T + self.params[2 * i + 1]  # (m, out)
            zs.append(z)
            acts.append(np.maximum(z, 0) if i < n - 1 else z)
        z = zs[-1]
        log_p = z - z.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        loss = -np.sum(Y * log_p) / len(X)
        delta = (np.exp(log_p) - Y) / len(X)
        grads = [None] * len(self.params)
        for i in range(n - 1, -1, -1):
            grads[2 * i], grads[2 * i + 1] = delta.T @ acts[i], delta.sum(axis=0)
            if i:
                delta = (delta @ self.params[2 * i]) * (zs[i - 1] > 0)
        return loss, grads

    def step(self, X, Y, lr):
        loss, self.grads = self.loss_and_grads(X, Y)
        self.t += 1
        for k, g in enumerate(self.grads):
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            self.params[k] = self.params[k] - lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return loss


class AdamNetNoBiasCorrection(AdamNet):
    def step(self, X, Y, lr):
        loss, self.grads = self.loss_and_grads(X, Y)
        self.t += 1
        for k, g in enumerate(self.grads):
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            self.params[k] = self.params[k] - lr * self.m[k] / (np.sqrt(self.v[k]) + self.eps)  # m, v uncorrected
        return loss
