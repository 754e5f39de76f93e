"""Weight initialisation. Every scheme draws from one numpy Generator, layer by layer, weight then bias;
an embedding table is drawn first, N(0, 1) as torch's nn.Embedding, and the norms start at weight 1, bias 0.

Values are drawn in float64 and then cast, so a float32 and a float64 model from one seed start from the
same numbers up to rounding.

  torch    W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))   nn.Linear's default (kaiming_uniform with a=sqrt(5))
  xavier   W ~ U(-sqrt(6/(fan_in+fan_out)), +...), b = 0   Glorot uniform
  kaiming  W ~ N(0, 2/fan_in), b = 0                        He normal, the gain for relu
  uniform  W, b ~ U[0, 0.01)                                the classic rand/100
"""

import numpy as np


def _torch(rng, fan_in, fan_out):
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, fan_out)


def _xavier(rng, fan_in, fan_out):
    bound = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_out, fan_in)), np.zeros(fan_out)


def _kaiming(rng, fan_in, fan_out):
    return rng.normal(0, np.sqrt(2 / fan_in), (fan_out, fan_in)), np.zeros(fan_out)


def _uniform(rng, fan_in, fan_out):
    return rng.uniform(0, 0.01, (fan_out, fan_in)), rng.uniform(0, 0.01, fan_out)


INITS = {"torch": _torch, "xavier": _xavier, "kaiming": _kaiming, "uniform": _uniform}


def init_params(sizes, scheme, rng, dtype):
    """Return [(W0, b0), (W1, b1), ...] with W_i of shape (sizes[i+1], sizes[i]), in dtype."""
    draw = INITS[scheme]
    return [tuple(p.astype(dtype) for p in draw(rng, n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def init_parameters(config, rng):
    """{name: array} of every parameter of a ModelConfig's network, in torch's named_parameters order: the
    embedding (V, D) drawn first, then each layer's weight and bias as init_params draws them, with the
    norm's weight (ones) and bias (zeros) after its layer's. Without an embedding these are init_params's
    draws exactly."""
    dtype = np.dtype(config.dtype)
    out = {}
    if config.embedding is not None:
        out["embedding.weight"] = rng.standard_normal(config.embedding).astype(dtype)
    for i, (W, b) in enumerate(init_params(config.sizes, config.init, rng, dtype)):
        out[f"layers.{i}.weight"] = W
        if config.bias:
            out[f"layers.{i}.bias"] = b
        if config.norm != "none" and i < config.hidden:
            out[f"layers.{i}.norm.weight"] = np.ones(len(W), dtype)
            out[f"layers.{i}.norm.bias"] = np.zeros(len(W), dtype)
    return out
