"""A small from-scratch network (x @ W + b, a dict W1, b1, ...) written to follow each convention the tool has a
flag for, and, beside it, the mistake a student makes with that convention. test_candidates.py runs each pair
under the flag: the faithful one must agree, the mistaken one must be located."""

import numpy as np

SLOPE = 0.2  # the leaky slope the tests pass as --leaky-slope


def act(z, kind):
    return np.maximum(z, 0) if kind == "relu" else np.where(z > 0, z, SLOPE * z) if kind == "leaky" else np.tanh(z)


def act_grad(z, a, kind):
    return (z > 0) * 1.0 if kind == "relu" else np.where(z > 0, 1.0, SLOPE) if kind == "leaky" else 1 - a**2


def net(
    params,
    X,
    Y,
    hidden="relu",
    reduction="mean",
    scale=1.0,
    l2=0.0,
    divisor=None,
    bias=True,
    labels=False,
    clip=None,
    mistake=None,
):
    """softmax + cross-entropy on top of `hidden` units; every convention a keyword, `mistake` one way to get it
    wrong."""
    n = sum(k.startswith("W") for k in params)
    m = len(X)
    if labels:
        Y = np.eye(params[f"W{n}"].shape[1])[Y - 1 if mistake == "labels-from-1" else Y]
    acts, zs = [X], []
    for layer in range(1, n + 1):
        z = acts[-1] @ params[f"W{layer}"] + (params[f"b{layer}"] if bias else 0)
        zs.append(z)
        acts.append(act(z, hidden) if layer < n else z)
    z = zs[-1]
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    per = 1.0 if reduction == "sum" else 1.0 / m
    d = divisor if divisor is not None else m
    penalty = l2 / (2 * d) * sum(np.sum(params[f"W{k}"] ** 2) for k in range(1, n + 1))
    loss = -scale * per * np.sum(Y * log_p) + penalty
    if clip is not None:  # NNFS: the loss of np.clip(p, 1e-7, 1 - 1e-7); the gradient stays p - y
        loss = -scale * per * np.sum(Y * np.log(np.clip(np.exp(log_p), clip, 1 - clip))) + penalty
    delta = scale * per * (np.exp(log_p) - Y)
    if mistake == "mean-in-gradient":
        delta = delta / m  # the loss is summed, the gradient averaged
    if mistake == "scale-loss-only":
        loss = loss / scale  # the scale reaches the gradients but not the reported loss
    grads = {}
    for layer in range(n, 0, -1):
        grads[f"W{layer}"] = acts[layer - 1].T @ delta + l2 / (m if mistake == "batch-l2" else d) * params[f"W{layer}"]
        if bias:
            grads[f"b{layer}"] = delta.sum(axis=0)
        if layer > 1:
            slope_kind = "relu" if mistake == "leaky-as-relu" else hidden
            delta = (delta @ params[f"W{layer}"].T) * act_grad(zs[layer - 2], acts[layer - 1], slope_kind)
    return loss, grads
