"""Small networks written the way real from-scratch code is written, each with the mistake that misled the
tracer on real networks (the tests name the line by its text). Correct twins of each are in the same file.

theta_net: bias-row Theta, samples as rows; theta_net_sig_of_a's hidden delta2 takes sig(a2) * (1 - sig(a2)),
           the sigmoid of an activation where its input z2 belongs: the value departs where delta2 is bound.
RowNet:    weights (out, in), no biases, one sample at a time; the update runs over the rows of each weight
           matrix (for w_row in W: w_row -= lr * g) with g = np.dot(delta, acts[k + 1]), a number made from the
           layer's own output where the outer product with its input belongs: no variable holds the new weights,
           the rows change them in place.
AdamNet:   parameters W1, b1, W2, b2, ... (out, in), (out, 1) in a dict, updated by a hand-written Adam whose
           second moment is used uncorrected (s where s_corrected belongs). In a 2-5-2-1 network W2 has the shape
           of W1 transposed: the update of layer 0 is parameters['W1'].
ScriptNet: per-sample sigmoid network with the squared error whose output delta is kept as o - y (its dL/da),
           without the sigmoid's derivative; the update lines that use it come first.
"""

import numpy as np


def sig(z):
    return 1 / (1 + np.exp(-z))


def theta_cost(params, X, Y, wrong=False):
    T1, T2 = params  # (in + 1, h), (h + 1, out), row 0 the biases
    m = len(X)
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ T1
    a2 = sig(z2)
    a2b = np.hstack([np.ones((m, 1)), a2])
    a3 = sig(a2b @ T2)
    J = -np.sum(Y * np.log(a3) + (1 - Y) * np.log(1 - a3)) / m
    delta3 = a3 - Y
    if wrong:
        delta2 = (delta3 @ T2[1:].T) * sig(a2) * (1 - sig(a2))
    else:
        delta2 = (delta3 @ T2[1:].T) * sig(z2) * (1 - sig(z2))
    return J, [a1.T @ delta2 / m, a2b.T @ delta3 / m]


def theta_net(params, X, Y):
    return theta_cost(params, X, Y)


def theta_net_sig_of_a(params, X, Y):
    return theta_cost(params, X, Y, wrong=True)


class RowNet:
    def __init__(self, params, lr):
        self.W = [np.array(W) for W in params]

    @property
    def params(self):
        return self.W

    def step(self, X, Y, lr):
        loss = 0.0
        for x, y in zip(X, Y):
            acts = [x]
            for W in self.W:
                acts.append(sig(W @ acts[-1]))
            loss += 0.5 * np.sum((acts[-1] - y) ** 2) / len(X)
            delta = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
            changes = []
            for k in reversed(range(len(self.W))):
                changes.append(np.dot(delta, acts[k + 1]))
                delta = (self.W[k].T @ delta) * acts[k] * (1 - acts[k])
            for W, g in zip(reversed(self.W), changes):
                for w_row in W:
                    w_row -= lr * g
        return loss


class AdamNet:
    def __init__(self, params, lr, betas, eps, corrected=True):
        self.parameters = {k: np.array(v).reshape(len(v), -1) for k, v in params.items()}
        self.v = {"d" + k: np.zeros_like(p) for k, p in self.parameters.items()}
        self.s = {"d" + k: np.zeros_like(p) for k, p in self.parameters.items()}
        self.t, self.betas, self.eps, self.corrected = 0, betas, eps, corrected

    @property
    def params(self):
        return self.parameters

    def step(self, X, Y, lr):
        L = len(self.parameters) // 2
        A, cache = X.T, []
        for l in range(1, L + 1):
            Z = self.parameters["W" + str(l)] @ A + self.parameters["b" + str(l)]
            cache.append((A, Z))
            A = sig(Z) if l == L else np.maximum(Z, 0)
        m = X.shape[0]
        cost = -np.mean(Y.T * np.log(A) + (1 - Y.T) * np.log(1 - A))
        grads, dZ = {}, (A - Y.T) / m
        for l in reversed(range(1, L + 1)):
            A_prev, Z = cache[l - 1]
            grads["dW" + str(l)] = dZ @ A_prev.T
            grads["db" + str(l)] = dZ.sum(axis=1, keepdims=True)
            if l > 1:
                dZ = (self.parameters["W" + str(l)].T @ dZ) * (cache[l - 2][1] > 0)
        self.t = self.t + 1
        self.update(grads, lr)
        return cost

    def update(self, grads, lr):
        beta1, beta2 = self.betas
        for l in range(len(self.parameters) // 2):
            for p in ("W", "b"):
                key = "d" + p + str(l + 1)
                self.v[key] = beta1 * self.v[key] + (1 - beta1) * grads[key]
                self.s[key] = beta2 * self.s[key] + (1 - beta2) * grads[key] ** 2
                v_corrected = self.v[key] / (1 - beta1**self.t)
                s_corrected = self.s[key] / (1 - beta2**self.t)
                self.parameters[p + str(l + 1)] = self.parameters[p + str(l + 1)] - lr * v_corrected / (
                    np.sqrt(s_corrected if self.corrected else self.s[key]) + self.eps
                )


class AdamNetUncorrected(AdamNet):
    def __init__(self, params, lr, betas, eps):
        super().__init__(params, lr, betas, eps, corrected=False)


class ScriptNet:
    def __init__(self, params, lr):
        self.params = [np.array(p).reshape(len(p), -1) for p in params]  # torch layout, column biases

    def step(self, X, Y, lr, fixed=False):
        w_i_h, b_i_h, w_h_o, b_h_o = self.params
        loss = 0.0
        for img, l in zip(X, Y):
            img, l = img.reshape(-1, 1), l.reshape(-1, 1)
            h = sig(b_i_h + w_i_h @ img)
            o = sig(b_h_o + w_h_o @ h)
            loss += 0.5 * np.sum((o - l) ** 2) / len(X)
            delta_o = (o - l) * o * (1 - o) if fixed else o - l
            delta_h = np.transpose(w_h_o) @ delta_o * (h * (1 - h))
            w_h_o += -lr * delta_o @ np.transpose(h)
            b_h_o += -lr * delta_o
            w_i_h += -lr * delta_h @ np.transpose(img)
            b_i_h += -lr * delta_h
        return loss


class ScriptNetFixed(ScriptNet):
    def step(self, X, Y, lr):
        return super().step(X, Y, lr, fixed=True)
