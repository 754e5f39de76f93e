"""The tensors a step compares, by phase and in the order the step computes them, and timed().

The side under test (lockstep/sides/protocol.py writes down what it does) names its tensors as torch does. Every
step computes, in this order, the tensors that plan() names (a side compares those it has):

    forward    layers.{i}.z, layers.{i}.a               for i = 0 .. L-1
    loss       loss
    backward   layers.{i}.da (dL/da: below the output, or of it with mse), layers.{i}.dz, layers.{i}.weight,
               layers.{i}.bias (their gradients)                                     for i = L-1 .. 0
    optimizer  layers.{i}.weight.momentum_buffer, .exp_avg, .exp_avg_sq              in parameter order
    update     layers.{i}.weight, layers.{i}.bias (the new values)
"""

import time

from ..config import state_keys

PHASES = ("forward", "loss", "backward", "optimizer", "update")


def plan(cfg):
    """[(phase, name)] of every tensor a step can compare, in the order the step computes them."""
    n, biases = len(cfg.sizes) - 1, ("weight", "bias") if cfg.bias else ("weight",)
    out = [("forward", f"layers.{i}.{k}") for i in range(n) for k in ("z", "a")]
    out.append(("loss", "loss"))
    for i in range(n - 1, -1, -1):  # the twin has dL/da of the output only where no loss fuses it into dL/dz
        out += [("backward", f"layers.{i}.da")] if i < n - 1 or cfg.loss == "mse" else []
        out += [("backward", f"layers.{i}.dz")] + [("backward", f"layers.{i}.{k}") for k in biases]
    params = [f"layers.{i}.{k}" for i in range(n) for k in biases]
    out += [("optimizer", f"{name}.{key}") for name in params for key in state_keys(cfg)]
    out += [("update", name) for name in params]
    return tuple(out)


def timed(step, *args):
    """(result, seconds) of step(*args), in CPU seconds of the calling thread: the backend's own work, without the
    time its thread waits for the GIL while the other backend runs beside it."""
    t = time.thread_time()
    result = step(*args)
    return result, time.thread_time() - t
