"""A network as most tutorials write it: x @ W + b with W of shape (in, out), parameters in a dict W1, b1, W2, b2,
and integer labels as targets. relu hidden units, softmax output, mean cross-entropy.

    python compare.py --candidate examples/in_out_net.py:loss_and_grads --targets labels
    python compare.py --candidate examples/in_out_net.py:loss_and_grads_sign_error --targets labels

The layout (in-out, a dict) is inferred from the shapes the first call returns. loss_and_grads is correct;
loss_and_grads_sign_error flips the sign of the bias gradients. `python examples/in_out_net.py` checks both on a
toy problem (two interleaved half-moons) from Python.
"""

import numpy as np


def forward(params, X):
    """The activations of every layer: [X, a1, ..., p], and the pre-activations [z1, ..., zL]."""
    n = len(params) // 2
    acts, zs = [X], []
    for layer in range(1, n + 1):
        z = acts[-1] @ params[f"W{layer}"] + params[f"b{layer}"]  # (m, out)
        zs.append(z)
        if layer < n:
            acts.append(np.maximum(z, 0))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            acts.append(e / e.sum(axis=1, keepdims=True))
    return acts, zs


def loss_and_grads(params, X, y):
    acts, zs = forward(params, X)
    m, n = len(X), len(params) // 2
    z = zs[-1]
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(m), y].mean()
    delta = acts[-1].copy()
    delta[np.arange(m), y] -= 1
    delta /= m  # dL/dz of the output layer
    grads = {}
    for layer in range(n, 0, -1):
        grads[f"W{layer}"] = acts[layer - 1].T @ delta
        grads[f"b{layer}"] = delta.sum(axis=0)
        if layer > 1:
            delta = (delta @ params[f"W{layer}"].T) * (zs[layer - 2] > 0)
    return loss, grads


def loss_and_grads_sign_error(params, X, y):
    acts, zs = forward(params, X)
    m, n = len(X), len(params) // 2
    z = zs[-1]
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(m), y].mean()
    delta = acts[-1].copy()
    delta[np.arange(m), y] -= 1
    delta /= m
    grads = {}
    for layer in range(n, 0, -1):
        grads[f"W{layer}"] = acts[layer - 1].T @ delta
        grads[f"b{layer}"] = -delta.sum(axis=0)  # the sign is wrong
        if layer > 1:
            delta = (delta @ params[f"W{layer}"].T) * (zs[layer - 2] > 0)
    return loss, grads


if __name__ == "__main__":
    from sklearn.datasets import make_moons

    import lockstep

    X, y = make_moons(400, noise=0.2, random_state=0)
    for f in (loss_and_grads, loss_and_grads_sign_error):
        report = lockstep.check(f, X=X, y=y, sizes=[2, 16, 2], targets="labels", lr=0.1, epochs=20, batch_size=32)
        print(f"{f.__name__}: {report.verdict}", report.first_divergence.tensor if report.first_divergence else "")
