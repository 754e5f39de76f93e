"""The textbook cross-entropy -y log a - (1 - y) log(1 - a), made "safe" with np.nan_to_num, on a relu network with
a sigmoid output. Its gradients are right. Where an output saturates, float32 rounds a to exactly 1, log(1 - a) is
-inf, and np.nan_to_num turns the inf into -3.4e38: a finite loss that float64 (where a stays below 1) does not
have."""

import numpy as np

SEEN = {}  # the parameters of the first call, for the tests that place a sample's logit


def net(params, X, Y):
    SEEN.setdefault("params", [p.copy() for p in params])
    W1, b1, W2, b2 = params
    h = np.maximum(X @ W1.T + b1, 0)  # (m, hidden)
    a = 1 / (1 + np.exp(-(h @ W2.T + b2)))  # (m, k)
    m = len(X)
    loss = np.sum(np.nan_to_num(-Y * np.log(a) - (1 - Y) * np.log(1 - a))) / m
    d2 = (a - Y) / m
    d1 = (d2 @ W2) * (h > 0)
    return loss, [d1.T @ X, d1.sum(0), d2.T @ h, d2.sum(0)]
