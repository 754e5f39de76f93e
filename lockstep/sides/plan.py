"""The tensors a step compares, by phase and in the order the step computes them, and timed().

The side under test (lockstep/sides/protocol.py writes down what it does) names its tensors as torch does. Every
step computes, in this order, the tensors that plan() names (docs/layers.md; a side compares those it has):

    forward    embedding.out, then for each block i: layers.{i}.z, .norm.mean, .norm.var, .norm.xhat, .norm.out,
               the norm's running statistics after this step's update, .a, .dropout.mask, .dropout.out
    loss       loss
    backward   for i = L-1 .. 0: layers.{i}.dropout.dout, .da, .norm.dout, the norm's weight and bias gradients,
               .dz, the weight and bias gradients; then embedding.dout and the embedding's gradient
    optimizer  each parameter's state (momentum_buffer, exp_avg, ...), in parameter order
    update     each parameter's new value, in parameter order
    eval       with a norm or dropout: the forward again in eval mode (running statistics, no dropout) on the same
               batch after the update, as predict() and the test accuracy compute it

Each name comes from the ModelConfig alone (model_tensors()), so a new layer kind adds its names here, in one place.
"""

import time

import numpy as np

from handmade import NORMS

from ..config import state_keys

PHASES = ("forward", "loss", "backward", "optimizer", "update", "eval")
NORM_TENSORS = ("mean", "var", "xhat", "out")  # what every norm records, before its buffers


def parameters(model):
    """The parameters' names in torch's named_parameters order (the optimizer's order)."""
    out = ["embedding.weight"] if model.embedding else []
    for i in range(len(model.sizes) - 1):
        out += [f"layers.{i}.weight"] + [f"layers.{i}.bias"] * model.bias
        if model.norm != "none" and i < model.hidden:
            out += [f"layers.{i}.norm.weight", f"layers.{i}.norm.bias"]
    return out


def buffers(model, i):
    """The buffers of block i's norm (batch norm's running statistics), as its NORMS row builds them."""
    if model.norm == "none" or i >= model.hidden:
        return []
    param = NORMS[model.norm].param(model, 1, np.float64)
    return [f"layers.{i}.norm.{k}" for k, v in param.items() if isinstance(v, np.ndarray)]


def model_tensors(model):
    """{phase: [name]} of the forward, backward and eval tensors of a ModelConfig, in computation order."""
    L, norm, dropout = len(model.sizes) - 1, model.norm != "none", bool(model.dropout)
    forward = ["embedding.out"] if model.embedding else []
    for i in range(L):
        hidden = i < L - 1
        forward.append(f"layers.{i}.z")
        if norm and hidden:
            forward += [f"layers.{i}.norm.{k}" for k in NORM_TENSORS] + buffers(model, i)
        forward.append(f"layers.{i}.a")
        if dropout and hidden:
            forward += [f"layers.{i}.dropout.mask", f"layers.{i}.dropout.out"]
    backward = []
    for i in range(L - 1, -1, -1):
        if i < L - 1:
            backward += [f"layers.{i}.dropout.dout"] * dropout + [f"layers.{i}.da"]
            if norm:
                backward += [f"layers.{i}.norm.dout", f"layers.{i}.norm.weight", f"layers.{i}.norm.bias"]
        elif model.loss == "mse":
            backward.append(f"layers.{i}.da")
        backward += [f"layers.{i}.dz", f"layers.{i}.weight"] + [f"layers.{i}.bias"] * model.bias
    if model.embedding:
        backward += ["embedding.dout", "embedding.weight"]
    kept = set(sum((buffers(model, i) for i in range(L)), []))
    evaluated = [n for n in forward if n not in kept and not n.endswith(".mask")] if norm or dropout else []
    return dict(forward=forward, backward=backward, eval=evaluated)


def model_of(cfg):
    """The run's ModelConfig, for its names (which do not depend on the training-set size)."""
    return cfg.model_args(n_train=1)


def plan(cfg):
    """[(phase, name)] of every tensor a step can compare, in the order the step computes them."""
    model = model_of(cfg)
    names, params = model_tensors(model), parameters(model)
    out = [("forward", n) for n in names["forward"]] + [("loss", "loss")]
    out += [("backward", n) for n in names["backward"]]
    out += [("optimizer", f"{name}.{key}") for name in params for key in state_keys(cfg)]
    out += [("update", name) for name in params] + [("eval", n) for n in names["eval"]]
    return tuple(out)


def zero_sum(cfg):
    """{(phase, name): (the gradient of terms, power)} for the tensors whose exact value is 0 by construction, and
    their optimizer state; None for the parameter's update, whose exact change is 0 and which has no such scale.
    A batch norm subtracts the batch mean of its input, so dL/dz of its affine layer sums to 0 over the batch: the
    bias gradient there is 0. With an identity activation and no dropout between two batch norms, the first one's
    beta only shifts every sample alike into the second: its gradient, the sum over the batch of dL/d norm.out, is
    0 too. What each side computes there is the rounding of a sum of terms; its scale is the terms', max over units
    of sum |gradient| over the batch (to the power 2 in a state of squared gradients), not its own largest value
    (docs/judging.md)."""
    model = model_of(cfg)
    if model.norm != "batchnorm":
        return {}
    linear = model.activation == "identity" or (model.activation == "leaky_relu" and model.leaky_slope == 1)
    sums = {}
    penalised = model.bias_penalty and (model.l1 or model.l2)  # then the bias gradient holds its penalty's
    for i in range(model.hidden):
        if model.bias and not penalised:
            sums[f"layers.{i}.bias"] = f"layers.{i}.dz"
        if linear and not model.dropout and i + 1 < model.hidden:
            sums[f"layers.{i}.norm.bias"] = f"layers.{i}.norm.dout"
    out = {}
    for name, terms in sums.items():
        out["backward", name] = (terms, 1)
        out.update({("optimizer", f"{name}.{key}"): (terms, SQUARED.get(key, 1)) for key in state_keys(cfg)})
        out["update", name] = None  # its exact change is 0: no scale (judge.bound_floor leaves it out)
    return out


SQUARED = {"exp_avg_sq": 2, "square_avg": 2, "sum": 2}  # optimizer states of squared gradients


def timed(step, *args):
    """(result, seconds) of step(*args), in CPU seconds of the calling thread: the backend's own work, without the
    time its thread waits for the GIL while the other backend runs beside it."""
    t = time.thread_time()
    result = step(*args)
    return result, time.thread_time() - t
