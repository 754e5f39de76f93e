"""The layer kinds with a parameter dict and a state: batch norm, layer norm and dropout, CS231n's way.

Their param dicts are filled as CS231n's notebooks fill them, fresh at every call: bn_param with mode, eps 1e-5,
momentum 0.9 and running statistics to update (given, so that the update is checked whatever the code's own
defaults); ln_param with eps; dropout_param with mode, p (the keep probability) and a seed. CS231n's conventions map
to the tool's (docs/layers.md): its momentum 0.9 is torch's 0.1, its running variance the biased one, its p the keep
probability (torch's p is 1 - p). Dropout's mask is read off the call (the cache, else where out is 0), and torch is
given the same mask; its keep rate is checked against p. The bounds are lockstep/judge/ops.py's, as in a training
step.
"""

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

import reference

from ..judge import ops
from ..records import PieceVerdict
from .kinds import KINDS, Case, Kind, Suspect, _rand

CS231N = dict(eps=1e-5, momentum=0.9)  # bn_param as the notebooks fill it: momentum is the share kept
BN_SETTINGS = dict(bn_variance="biased", bn_running_variance="biased", bn_momentum=0.1, bn_eps=1e-5)
LN_SETTINGS = dict(ln_eps=1e-5)


# -- batch norm -------------------------------------------------------------------------------------------------------
def bn_cases(rng):
    def case(name, x, mode="train", outputs=None):
        d = x.shape[1]
        return Case(
            name,
            dict(
                x=x,
                gamma=1 + 0.5 * _rand(rng, d),
                beta=_rand(rng, d),
                dout=_rand(rng, *x.shape),
                running_mean=_rand(rng, d),
                running_var=0.5 + rng.random(d),
                mode=mode,
            ),
            outputs,
        )

    constant = _rand(rng, 8, 5)
    constant[:, 2] = 3.0  # a feature with variance 0: xhat = 0, dx through 1/sqrt(eps)
    return [
        case("random", _rand(rng, 8, 5, scale=2)),
        case("a constant feature", constant),
        case("large offset", _rand(rng, 8, 5) + 1e3),
        case("batch of 2", _rand(rng, 2, 5)),
        case("test mode", _rand(rng, 8, 5), "test", ("out", "running_mean", "running_var")),
    ]


def bn_params(i):
    return [dict(mode=i["mode"], **CS231N, running_mean=i["running_mean"].copy(), running_var=i["running_var"].copy())]


def bn_after(args, out, cache, i):
    param = args[-1]
    return dict(running_mean=param.get("running_mean"), running_var=param.get("running_var")), {}


def bn_torch(i, dtype):
    x = torch.tensor(i["x"], dtype=dtype, requires_grad=True)
    bn = nn.BatchNorm1d(x.shape[1], eps=CS231N["eps"], momentum=1 - CS231N["momentum"], dtype=dtype)
    with torch.no_grad():
        for name, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", None), ("running_var", None)):
            getattr(bn, name).copy_(torch.tensor(i[key or name], dtype=dtype))
    train = i["mode"] == "train"
    out, _ = reference.mlp.batchnorm(bn.train(train), x, SimpleNamespace(**BN_SETTINGS), train)
    r = dict(out=out.detach().numpy(), running_mean=bn.running_mean.numpy(), running_var=bn.running_var.numpy())
    if train:
        out.backward(torch.tensor(i["dout"], dtype=dtype))
        r.update(dx=x.grad.numpy(), dgamma=bn.weight.grad.numpy(), dbeta=bn.bias.grad.numpy())
    return r


def norm_known(axis):
    """The intermediates of a norm's graph over `axis`, as CS231n's step-by-step backward names them."""

    def known(i, r):
        x, gamma, n = i["x"], i["gamma"], i["x"].shape[axis]
        out = {k: v for k, v in r.items()}
        if "dout" not in i or "dx" not in r:
            return out
        mean = x.mean(axis=axis, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axis, keepdims=True)
        std = np.sqrt(var + 1e-5)
        g = i["dout"] * gamma  # dL/dxhat
        dinv = (g * xc).sum(axis=axis, keepdims=True)
        dvar = -0.5 * dinv / std**3
        dxc = g / std + 2 * xc * dvar / n
        out.update(
            {
                "mean": mean,
                "x - mean": xc,
                "(x - mean)^2": xc * xc,
                "var": var,
                "std": std,
                "1/std": 1 / std,
                "xhat": xc / std,
                "dxhat = dout gamma": g,
                "d(1/std)": dinv,
                "dstd": -dinv / std**2,
                "dvar": dvar,
                "dvar / N": dvar / n,
                "dxhat / std (dx without its mean and variance terms)": g / std,
                "2 (x - mean) dvar / N": 2 * xc * dvar / n,
                "d(x - mean)": dxc,
                "dmean": -dxc.sum(axis=axis, keepdims=True),
                "dmean / N": -dxc.sum(axis=axis, keepdims=True) / n,
                "gamma xhat": gamma * xc / std,
            }
        )
        return out

    return known


def bn_bounds(i, r, u, tiny, work):
    zero = np.zeros_like(i["x"])
    running = (i["running_mean"], i["running_var"])
    if i["mode"] != "train":
        z = (np.zeros_like(i["running_mean"]),) * 2
        got = ops.norm_eval_bounds(i["x"], zero, running, z, i["gamma"], 0.0, i["beta"], 0.0, BN_SETTINGS, u, tiny)
        return dict(out=got["out"][1], running_mean=z[0] + tiny, running_var=z[1] + tiny)
    E = ops.batchnorm_bounds(i["x"], zero, i["gamma"], i["beta"], i["dout"], zero, BN_SETTINGS, u, running)
    return dict(
        out=E["out"],
        running_mean=E["running_mean"],
        running_var=E["running_var"],
        dx=E["dz"],
        dgamma=E["weight"],
        dbeta=E["bias"],
    )


def _centred(i, axis):
    x = i["x"]
    mean = x.mean(axis=axis, keepdims=True)
    return x - mean, ((x - mean) ** 2).mean(axis=axis, keepdims=True)


def norm_suspects(axis, name):
    def without(terms):
        def predict(i, k):
            xc, var = _centred(i, axis)
            g, xhat = i["dout"] * i["gamma"], xc / np.sqrt(var + 1e-5)
            dx = g.copy()
            if "mean" in terms:
                dx -= g.mean(axis=axis, keepdims=True)
            if "var" in terms:
                dx -= xhat * (g * xhat).mean(axis=axis, keepdims=True)
            return dx / np.sqrt(var + 1e-5)

        return predict

    def eps_outside(i, k):
        xc, var = _statistics(i, axis)
        return i["gamma"] * xc / (np.sqrt(var) + 1e-5) + i["beta"]

    return (
        Suspect(
            f"{name}-backward-without-mean-and-variance-terms",
            "dx",
            "dx = dout gamma / std: the gradients through the batch's mean and variance are missing",
            without(()),
        ),
        Suspect(
            f"{name}-backward-without-the-variance-term",
            "dx",
            "dx lacks - xhat mean(dxhat xhat) / std, the gradient through the variance",
            without(("mean",)),
        ),
        Suspect(
            f"{name}-backward-without-the-mean-term",
            "dx",
            "dx lacks - mean(dxhat) / std, the gradient through the mean",
            without(("var",)),
        ),
        Suspect(
            f"{name}-eps-outside-the-square-root",
            "out",
            "xhat = (x - mean) / (sqrt(var) + eps): eps belongs inside the square root",
            eps_outside,
        ),
    )


def _statistics(i, axis):
    """(x - mean, var) as the forward normalises: the batch's in training, the running ones at test time."""
    if i.get("mode", "train") != "train":
        return i["x"] - i["running_mean"], i["running_var"]
    return _centred(i, axis)


def _test_without_affine(i, k):
    if i["mode"] == "train":
        return np.full(i["x"].shape, np.nan)  # (a test-mode mistake: no prediction in training)
    xc, var = _statistics(i, 0)
    return xc / np.sqrt(var + 1e-5)


def _running(i, keep, unbiased):
    x, n = i["x"], len(i["x"])
    var = x.var(axis=0) * (n / (n - 1) if unbiased else 1)
    return keep * i["running_mean"] + (1 - keep) * x.mean(axis=0), keep * i["running_var"] + (1 - keep) * var


BN_SUSPECTS = norm_suspects(0, "batchnorm") + (
    Suspect(
        "batchnorm-test-mode-without-gamma-and-beta",
        "out",
        "at test time out = (x - running_mean) / sqrt(running_var + eps): gamma and beta are not applied",
        _test_without_affine,
    ),
    Suspect(
        "running-var-unbiased",
        "running_var",
        "running_var takes the unbiased batch variance (torch's convention); CS231n's takes the biased one it "
        "normalises with",
        lambda i, k: _running(i, 0.9, True)[1],
    ),
    Suspect(
        "bn-momentum-inverted",
        "running_var",
        "the running statistics keep 0.1 of the old and take 0.9 of the batch's: CS231n's momentum 0.9 is the share "
        "kept (torch's momentum 0.1 the share taken)",
        lambda i, k: _running(i, 0.1, False)[1],
    ),
    Suspect(
        "bn-momentum-inverted",
        "running_mean",
        "the running mean keeps 0.1 of the old and takes 0.9 of the batch's: CS231n's momentum 0.9 is the share kept",
        lambda i, k: _running(i, 0.1, False)[0],
    ),
    Suspect(
        "running-stats-never-updated",
        "running_mean",
        "the running mean is not updated in training (bn_param['running_mean'] is never written back)",
        lambda i, k: i["running_mean"],
    ),
)


# -- layer norm -------------------------------------------------------------------------------------------------------
def ln_cases(rng):
    def case(name, x):
        d = x.shape[1]
        return Case(name, dict(x=x, gamma=1 + 0.5 * _rand(rng, d), beta=_rand(rng, d), dout=_rand(rng, *x.shape)))

    constant = _rand(rng, 6, 8)
    constant[1] = -2.0  # a sample with variance 0
    return [
        case("random", _rand(rng, 6, 8, scale=2)),
        case("a constant sample", constant),
        case("large offset", _rand(rng, 6, 8) + 1e3),
        case("batch of 1", _rand(rng, 1, 8)),
    ]


def ln_torch(i, dtype):
    x = torch.tensor(i["x"], dtype=dtype, requires_grad=True)
    ln = nn.LayerNorm(x.shape[1], eps=LN_SETTINGS["ln_eps"], dtype=dtype)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(i["gamma"], dtype=dtype))
        ln.bias.copy_(torch.tensor(i["beta"], dtype=dtype))
    out, _ = reference.mlp.layernorm(ln, x, SimpleNamespace(**LN_SETTINGS), True)
    out.backward(torch.tensor(i["dout"], dtype=dtype))
    return dict(out=out.detach().numpy(), dx=x.grad.numpy(), dgamma=ln.weight.grad.numpy(), dbeta=ln.bias.grad.numpy())


def ln_bounds(i, r, u, tiny, work):
    zero = np.zeros_like(i["x"])
    E = ops.layernorm_bounds(i["x"], zero, i["gamma"], i["beta"], i["dout"], zero, LN_SETTINGS, u)
    return dict(out=E["out"], dx=E["dz"], dgamma=E["weight"], dbeta=E["bias"])


LN_SUSPECTS = norm_suspects(1, "layernorm") + (
    Suspect(
        "layernorm-over-the-batch",
        "out",
        "each feature is normalised over the batch (axis 0), as batch norm does; layer norm normalises each sample "
        "over its features (axis 1)",
        lambda i, k: i["gamma"] * (i["x"] - i["x"].mean(0)) / np.sqrt(i["x"].var(0) + 1e-5) + i["beta"],
    ),
)


# -- dropout ----------------------------------------------------------------------------------------------------------
def dropout_cases(rng):
    def case(name, x, mode="train", p=0.7):
        return Case(name, dict(x=x, dout=_rand(rng, *x.shape), p=p, mode=mode))

    return [
        case("random, p = 0.7", _rand(rng, 50, 40)),
        case("p = 0.25", _rand(rng, 50, 40), p=0.25),
        case("batch of 1", _rand(rng, 1, 40)),
        case("test mode", _rand(rng, 8, 5), mode="test"),
    ]


def dropout_params(i):
    return [dict(mode=i["mode"], p=i["p"], seed=123)]


def mask_of(cache, x, out):
    """The keep pattern (1 kept, 0 dropped) the code applied: an array of x's shape in its cache whose non-zero
    values are one number (mask, or mask / p), else where out is 0 (x has no zeros)."""
    found = []

    def look(v, depth=0):
        if isinstance(v, np.ndarray) and v.shape == x.shape and v.dtype.kind in "biuf":
            nz = v[v != 0]
            if nz.size and np.allclose(nz, nz.flat[0], rtol=1e-6, atol=0):
                found.append(v != 0)
        elif isinstance(v, (tuple, list)) and depth < 3:
            for w in v:
                look(w, depth + 1)
        elif isinstance(v, dict) and depth < 3:
            for w in v.values():
                look(w, depth + 1)

    look(cache)
    if found:
        return found[0].astype(np.float64)
    return (np.asarray(out) != 0).astype(np.float64)


def dropout_after(args, out, cache, i):
    keep = mask_of(cache, i["x"], out) if i["mode"] == "train" else np.ones(i["x"].shape)
    return {}, dict(keep=keep)


def dropout_torch(i, dtype):
    x = torch.tensor(i["x"], dtype=dtype, requires_grad=True)
    train = i["mode"] == "train"
    out = x * (torch.tensor(i["keep"], dtype=dtype) / i["p"]) if train else x * 1
    out.backward(torch.tensor(i["dout"], dtype=dtype))
    return dict(out=out.detach().numpy(), dx=x.grad.numpy())


def dropout_bounds(i, r, u, tiny, work):
    train, zero, drop = i["mode"] == "train", np.zeros_like(i["x"]), 1 - i["p"]
    return dict(
        out=ops.dropout_bounds(i["x"], zero, i["keep"], drop, "inverted", train, u, tiny),
        dx=ops.dropout_backward_bound(i["dout"], zero, i["keep"], drop, "inverted", u, tiny) if train else zero + tiny,
    )


def dropout_known(i, r):
    return dict(r, keep=i["keep"], scale=i["keep"] / i["p"], x=i["x"], dout=i["dout"])


def keep_rate(case, dtype, i):
    """The share of units the mask kept, against p: 6 binomial standard deviations allowed (a false alarm once in
    10^9), so a p read as the drop probability (a keep rate of 1 - p) is seen on these inputs whenever p is not 0.5."""
    if i["mode"] != "train":
        return []
    p, n, rate = i["p"], i["keep"].size, float(i["keep"].mean())
    allowed = 6 * np.sqrt(p * (1 - p) / n) + 1 / n
    note = None if abs(rate - p) <= allowed else f"the mask keeps {rate:.1%} of the units where p = {p:g} keeps {p:.0%}"
    return [PieceVerdict(case, dtype, "mask", abs(rate - p), allowed, note is None, "keep rate", note=note)]


DROPOUT_SUSPECTS = (
    Suspect(
        "dropout-without-the-1/p",
        "out",
        "out = x * mask: the kept units are not scaled by 1/p",
        lambda i, k: i["x"] * i["keep"],
    ),
    Suspect(
        "dropout-forward-without-the-mask",
        "out",
        "out = x / p: the mask is drawn but not applied",
        lambda i, k: i["x"] / i["p"],
    ),
    Suspect(
        "dropout-p-as-drop-probability",
        "out",
        "the kept units are scaled by 1/(1 - p): p taken as the "
        "probability of dropping (torch's convention); CS231n's p is the probability of keeping",
        lambda i, k: i["x"] * i["keep"] / (1 - i["p"]),
    ),
    Suspect(
        "dropout-backward-without-the-mask",
        "dx",
        "dx = dout / p: the mask is not reapplied in backward",
        lambda i, k: i["dout"] / i["p"],
    ),
    Suspect(
        "dropout-backward-without-the-1/p",
        "dx",
        "dx = dout * mask: the 1/p of the forward is not reapplied",
        lambda i, k: i["dout"] * i["keep"],
    ),
    Suspect(
        "dropout-backward-is-dout", "dx", "dx = dout: neither the mask nor 1/p is reapplied", lambda i, k: i["dout"]
    ),
)


KINDS.update(
    batchnorm=Kind(
        "batchnorm",
        "torch.nn.BatchNorm1d (F.batch_norm, CS231n's running statistics)",
        bn_cases,
        ("x", "gamma", "beta"),
        ("dx", "dgamma", "dbeta"),
        bn_torch,
        norm_known(0),
        bn_bounds,
        BN_SUSPECTS,
        params=bn_params,
        after=bn_after,
        forward_outputs=("running_mean", "running_var"),
    ),
    layernorm=Kind(
        "layernorm",
        "torch.nn.functional.layer_norm",
        ln_cases,
        ("x", "gamma", "beta"),
        ("dx", "dgamma", "dbeta"),
        ln_torch,
        norm_known(1),
        ln_bounds,
        LN_SUSPECTS,
        params=lambda i: [dict(eps=1e-5)],
    ),
    dropout=Kind(
        "dropout",
        "x * mask / p, the mask your code drew",
        dropout_cases,
        ("x",),
        ("dx",),
        dropout_torch,
        dropout_known,
        dropout_bounds,
        DROPOUT_SUSPECTS,
        params=dropout_params,
        after=dropout_after,
        checks=keep_rate,
    ),
)
