"""A small network as a tutorial on Adam writes it: 2-5-2-1 tanh units and a sigmoid output for two interleaved
half-moons, x @ W + b with a dict W1, b1, ..., the mean binary cross-entropy, and its own Adam. A class that owns
its update: the tool compares the loss, the gradients it keeps (.grads) and the parameters after each step.

    python compare.py --candidate examples/moons_adam_net.py:MoonsNet --data moons.npz --sizes 2,5,2,1 \
        --activation tanh --loss bce --optimizer adam --lr 0.05 --batch-size 32 --epochs 100
    python compare.py --candidate examples/moons_adam_net.py:MoonsNetEpsInsideSqrt ... (the same flags)

(moons.npz holds moons() below: np.savez("moons.npz", X=X, y=y).) MoonsNet is correct. MoonsNetEpsInsideSqrt
divides by sqrt(v_hat + eps) instead of sqrt(v_hat) + eps, a common slip: it matters only where a gradient's second
moment is below about eps, so float64 finds it, and float32, whose tolerance is wider than the difference once the
outputs fit their batches, cannot: its verdict is "inconclusive in float32: rerun in float64".
`python examples/moons_adam_net.py` checks both in both precisions.
"""

import numpy as np


class MoonsNet:
    def __init__(self, params, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
        self.params = {k: v.copy() for k, v in params.items()}
        self.beta1, self.beta2, self.eps = betas[0], betas[1], eps
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0
        self.grads = None

    def forward(self, X):
        p = self.params
        a1 = np.tanh(X @ p["W1"] + p["b1"])  # (m, 5)
        a2 = np.tanh(a1 @ p["W2"] + p["b2"])  # (m, 2)
        out = 1 / (1 + np.exp(-(a2 @ p["W3"] + p["b3"])))  # (m, 1)
        return a1, a2, out

    def gradients(self, X, Y):
        p, m = self.params, len(X)
        a1, a2, out = self.forward(X)
        z3 = a2 @ p["W3"] + p["b3"]
        loss = np.mean(np.maximum(z3, 0) - z3 * Y + np.log1p(np.exp(-np.abs(z3)))) * Y.shape[1]  # stable bce
        d3 = (out - Y) / m  # (m, 1)
        d2 = (d3 @ p["W3"].T) * (1 - a2**2)  # (m, 2)
        d1 = (d2 @ p["W2"].T) * (1 - a1**2)  # (m, 5)
        grads = dict(W3=a2.T @ d3, b3=d3.sum(0), W2=a1.T @ d2, b2=d2.sum(0), W1=X.T @ d1, b1=d1.sum(0))
        return loss, grads

    def direction(self, m_hat, v_hat):
        return m_hat / (np.sqrt(v_hat) + self.eps)

    def step(self, X, Y, lr):
        loss, self.grads = self.gradients(X, Y)
        self.t += 1
        for k, g in self.grads.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            self.params[k] = self.params[k] - lr * self.direction(m_hat, v_hat)
        return loss


class MoonsNetEpsInsideSqrt(MoonsNet):
    def direction(self, m_hat, v_hat):
        return m_hat / np.sqrt(v_hat + self.eps)  # eps belongs outside the square root


SETTINGS = dict(sizes=[2, 5, 2, 1], activation="tanh", loss="bce", optimizer="adam", lr=0.05, batch_size=32)


def moons(n=400, seed=0):
    """Two interleaved half-moons with noise, (n, 2) and labels (n,), without scikit-learn."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + 0.2 * rng.standard_normal((n, 2)), (~upper).astype(int)


if __name__ == "__main__":
    import lockstep

    X, y = moons()
    for net in (MoonsNet, MoonsNetEpsInsideSqrt):
        for dtype in ("float64", "float32"):
            r = lockstep.check(net, X=X, y=y, dtype=dtype, epochs=100, **SETTINGS)
            print(f"{net.__name__} {dtype}: {r.text().splitlines()[-1]}")
