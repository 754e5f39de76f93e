"""Batch norm and layer norm, each a forward/backward pair, and the NORMS table.

Both normalise z (m, n) to xhat = (z - mean) / sqrt(var + eps) and return out = gamma * xhat + beta, with gamma
and beta (n,) learned (torch's weight and bias, init 1 and 0). Batch norm takes its statistics over the batch,
one per feature (n,); layer norm over the features, one per sample (m, 1). Every output then depends on every
input of its statistic, so the backward couples them. With g = dL/dxhat = dout * gamma and N the divisor of the
variance (the number of values, torch's biased variance, or one less, Bessel's correction):

    dz = (g - mean(g) - xhat * sum(g * xhat) / N) / sqrt(var + eps)

the mean and the sum over the statistic's axis. The mean term comes from the shared mean, the xhat term from the
shared variance. (An all-ones dout hides both terms in a check: g - mean(g) is then 0 for batch norm.)
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class NormCache(NamedTuple):
    """What a norm's backward needs: the statistics it normalised with and what it computed from them."""

    mean: np.ndarray  # (n,) batch norm, (m, 1) layer norm
    var: np.ndarray  # the variance used to normalise, same shape
    xhat: np.ndarray  # (m, n)
    rstd: np.ndarray  # 1 / sqrt(var + eps), the shape of var
    gamma: np.ndarray  # (n,)
    axis: int | None  # the statistics' axis (0 over the batch, 1 over the features); None: fixed (eval mode)
    divisor: int  # N of the variance


def normalize(z, mean, ss, divisor, eps, gamma, beta, axis):
    """xhat = (z - mean) * rstd with var = ss / divisor and rstd = 1/sqrt(var + eps), then gamma xhat + beta.
    (Multiplying by the reciprocal square root, as torch's kernels do.) Returns (out, cache)."""
    var = ss / divisor
    rstd = 1 / np.sqrt(var + eps)
    xhat = (z - mean) * rstd  # (m, n)
    return gamma * xhat + beta, NormCache(mean, var, xhat, rstd, gamma, axis, divisor)


# -- batch norm -----------------------------------------------------------------------------------------------------
def batchnorm_forward(z, gamma, beta, bn_param):
    """Batch norm of z (m, n), CS231n's signature. bn_param holds the settings and the running statistics:

    mode              'train': normalise with the batch's mean and variance, and update the running ones;
                      'test': normalise with the running ones (torch's eval())
    eps, momentum     running = (1 - momentum) running + momentum * batch (torch's momentum, CS231n's 1 - 0.9)
    variance          'biased' (divide by m, torch) or 'unbiased' (by m - 1, makemore) to normalise
    running_variance  'unbiased' (torch) or 'biased' (CS231n) for running_var
    running_mean, running_var   (n,), updated in place
    Returns (out (m, n), NormCache)."""
    eps, momentum = bn_param["eps"], bn_param["momentum"]
    if bn_param["mode"] != "train":
        mean, var = bn_param["running_mean"], bn_param["running_var"]  # (n,)
        return normalize(z, mean, var, 1, eps, gamma, beta, None)
    m = len(z)
    if m < 2:
        raise ValueError("batch norm in train mode needs 2 or more samples a batch (torch refuses 1); use larger ones")
    mean = z.mean(axis=0)  # (n,)
    d = z - mean  # (m, n)
    ss = (d * d).sum(axis=0)  # (n,) the sum of squares about the mean
    n_norm = m - 1 if bn_param["variance"] == "unbiased" else m
    n_running = m - 1 if bn_param["running_variance"] == "unbiased" else m
    out, cache = normalize(z, mean, ss, n_norm, eps, gamma, beta, 0)
    running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
    running_mean[...] = momentum * mean + (1 - momentum) * running_mean  # torch's order of the terms
    running_var[...] = momentum * (ss / n_running) + (1 - momentum) * running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """(dz, dgamma, dbeta) from dout = dL/dout (m, n): the closed form of the module docstring over the batch,
    dgamma = sum over the batch of dout * xhat, dbeta = sum of dout (n,). In test mode the statistics are
    constants and dz = dout * gamma * rstd."""
    dgamma = (dout * cache.xhat).sum(axis=0)  # (n,)
    dbeta = dout.sum(axis=0)  # (n,)
    g = dout * cache.gamma  # (m, n) dL/dxhat
    if cache.axis is None:
        return g * cache.rstd, dgamma, dbeta
    dz = (g - g.mean(axis=0) - cache.xhat * ((g * cache.xhat).sum(axis=0) / cache.divisor)) * cache.rstd
    return dz, dgamma, dbeta


# -- layer norm -----------------------------------------------------------------------------------------------------
def layernorm_forward(z, gamma, beta, ln_param):
    """Layer norm of z (m, n): each sample normalised over its n features with the biased variance (torch's
    F.layer_norm), the same in training and at test time. ln_param holds eps. Returns (out (m, n), NormCache)."""
    mean = z.mean(axis=1, keepdims=True)  # (m, 1)
    d = z - mean  # (m, n)
    ss = (d * d).sum(axis=1, keepdims=True)  # (m, 1)
    return normalize(z, mean, ss, z.shape[1], ln_param["eps"], gamma, beta, 1)


def layernorm_backward(dout, cache):
    """(dz, dgamma, dbeta): the closed form of the module docstring within each sample (over axis 1), and the
    parameters' gradients summed over the batch (n,)."""
    dgamma = (dout * cache.xhat).sum(axis=0)  # (n,)
    dbeta = dout.sum(axis=0)  # (n,)
    g = dout * cache.gamma  # (m, n)
    mean_g = g.mean(axis=1, keepdims=True)  # (m, 1)
    dz = (g - mean_g - cache.xhat * ((g * cache.xhat).sum(axis=1, keepdims=True) / cache.divisor)) * cache.rstd
    return dz, dgamma, dbeta


class Norm(NamedTuple):
    """A row of NORMS: a layer kind that sits after a hidden affine layer, with weight and bias (n,).

    forward(z, gamma, beta, param) -> (out, NormCache); backward(dout, cache) -> (dz, dgamma, dbeta);
    param(config, n, dtype) -> the layer's param dict: its settings from the ModelConfig and, as arrays, its
    running statistics (the buffers layers.{i}.norm.<key>). The MLP sets param['mode'] to 'train' or 'test'."""

    forward: Callable
    backward: Callable
    param: Callable


def bn_param(config, n, dtype):
    return dict(
        mode="train",
        eps=config.bn_eps,
        momentum=config.bn_momentum,
        variance=config.bn_variance,
        running_variance=config.bn_running_variance,
        running_mean=np.zeros(n, dtype),
        running_var=np.ones(n, dtype),
    )


def ln_param(config, n, dtype):
    return dict(mode="train", eps=config.ln_eps)


NORMS = {
    "batchnorm": Norm(batchnorm_forward, batchnorm_backward, bn_param),
    "layernorm": Norm(layernorm_forward, layernorm_backward, ln_param),
}
