"""Networks with a layer norm and dropout whose masks are drawn each of the ways the courses draw them: a torch-layout
function f(params, X, Y) with params [W0, b0, gamma0, beta0, ..., WL, bL], every mask drawn by one of DRAWS (the
keep test included), and Coursera's samples in columns (D1 = np.random.rand(A1.shape[0], A1.shape[1]) < keep_prob).
P_DROP is torch's p; the tests run them with --dropout 0.25 --norm layernorm."""

import numpy as np
import torch

P_DROP = 0.25
KEEP = 1 - P_DROP

DRAWS = {  # how a network draws the mask of an activation of shape s: True where the unit is kept
    "rand_below_keep": lambda s: np.random.rand(*s) < KEEP,  # CS231n
    "random_above_drop": lambda s: np.random.random(s) > P_DROP,
    "random_sample_below_keep": lambda s: np.random.random_sample(s) < KEEP,
    "uniform_below_keep": lambda s: np.random.uniform(0, 1, s) < KEEP,
    "binomial_keep": lambda s: np.random.binomial(1, KEEP, size=s),  # NNFS
    "binomial_drop": lambda s: 1 - np.random.binomial(1, P_DROP, size=s),
    "default_rng_seeded": lambda s: np.random.default_rng(7).random(s) < KEEP,  # the same masks every call
    "default_rng_fresh": lambda s: np.random.default_rng().random(s) < KEEP,
    "torch_rand": lambda s: torch.rand(s).numpy() < KEEP,  # makemore's generator
}


def layernorm(z, gamma, beta, eps=1e-5):
    mean = z.mean(axis=1, keepdims=True)  # (m, 1)
    inv_std = 1 / np.sqrt(z.var(axis=1, keepdims=True) + eps)  # (m, 1)
    xhat = (z - mean) * inv_std  # (m, n)
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    g = dout * gamma  # (m, n)
    dz = inv_std * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
    return dz, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def network(draw, masks_per_block=1):
    """f(params, X, Y) with every mask drawn by draw(shape); masks_per_block > 1 draws that many (a slip)."""

    def loss_and_grads(params, X, Y):
        n_blocks = (len(params) - 2) // 4
        a, caches = X, []
        for i in range(n_blocks):
            W, b, gamma, beta = params[4 * i : 4 * i + 4]
            h, cache = layernorm(a @ W.T + b, gamma, beta)  # (m, out)
            for _ in range(masks_per_block):
                keep = draw(h.shape)
            caches.append((a, h, keep, cache))
            a = np.maximum(h, 0) * keep / KEEP
        scores = a @ params[-2].T + params[-1]
        shifted = scores - scores.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -np.sum(Y * logp) / len(X)
        dz = (np.exp(logp) - Y) / len(X)
        grads = [None] * len(params)
        grads[-2], grads[-1] = dz.T @ a, dz.sum(axis=0)
        W_above = params[-2]
        for i in reversed(range(n_blocks)):
            a_in, h, keep, cache = caches[i]
            da = (dz @ W_above) * keep / KEEP
            dz, dgamma, dbeta = layernorm_backward(da * (h > 0), cache)
            grads[4 * i : 4 * i + 4] = [dz.T @ a_in, dz.sum(axis=0), dgamma, dbeta]
            W_above = params[4 * i]
        return loss, grads

    return loss_and_grads


def columns(params, X, Y):
    """Coursera's dropout in columns: X (n, m), Y (k, m), parameters W1 (n1, n0), b1 (n1, 1), gamma1 (n1, 1), ...,
    the masks D1, D2 drawn with np.random.rand(A.shape[0], A.shape[1]) < keep_prob; layer norm over each column."""
    L = len([k for k in params if k.startswith("W")])
    A, caches = X, []
    for i in range(1, L):
        Z = params[f"W{i}"] @ A + params[f"b{i}"]  # (n_i, m)
        mean = Z.mean(axis=0, keepdims=True)
        inv_std = 1 / np.sqrt(Z.var(axis=0, keepdims=True) + 1e-5)
        Zhat = (Z - mean) * inv_std
        H = params[f"gamma{i}"] * Zhat + params[f"beta{i}"]
        D = np.random.rand(H.shape[0], H.shape[1]) < KEEP
        caches.append((A, H, Zhat, inv_std, D))
        A = np.maximum(H, 0) * D / KEEP
    ZL = params[f"W{L}"] @ A + params[f"b{L}"]
    shifted = ZL - ZL.max(axis=0, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    m = X.shape[1]
    loss = -np.sum(Y * logp) / m
    dZ = (np.exp(logp) - Y) / m
    grads = {f"dW{L}": dZ @ A.T, f"db{L}": dZ.sum(axis=1, keepdims=True)}
    for i in range(L - 1, 0, -1):
        A_prev, H, Zhat, inv_std, D = caches[i - 1]
        dA = params[f"W{i + 1}"].T @ dZ * D / KEEP
        dH = dA * (H > 0)
        g = dH * params[f"gamma{i}"]
        grads[f"dgamma{i}"] = (dH * Zhat).sum(axis=1, keepdims=True)
        grads[f"dbeta{i}"] = dH.sum(axis=1, keepdims=True)
        dZ = inv_std * (g - g.mean(axis=0, keepdims=True) - Zhat * (g * Zhat).mean(axis=0, keepdims=True))
        grads[f"dW{i}"], grads[f"db{i}"] = dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)
    return loss, grads
