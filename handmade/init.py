"""Weight initialisation. Every scheme draws from one numpy Generator, layer by layer, weight then bias.

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
