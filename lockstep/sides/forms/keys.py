"""Gradients under the user's own keys, and the intermediate tensors a candidate exposes beside them.

A gradient dict may name each parameter's gradient by the parameter's key (W1, b1, Theta1) or with a 'd' before it
(dW1, db1, dTheta1: Coursera's). Other keys are matched to the twin's tensors by name and shape:

    dZ{l}, dz{l}, dZL    dL/dz of layer l (counted from 1)                       the twin's layers.{l-1}.dz
    dA{l}, da{l}, dAL    dL/da of layer l's output A^[l]; dA0 is that of X         the twin's layers.{l-1}.da

Coursera's L_model_backward stores dA{l-1}, the gradient of layer l's input, beside dW{l}; an older version stored
it as dA{l}. Which of the two a code means is read from its keys and shapes (an A-key for A^[L] but none for X, A^[0],
is the older one). The courses keep dZ per sample and divide by m only in dW, so an intermediate is compared as the
twin's tensor or m times it, whichever the first call shows (one factor for all of a code's intermediates).
Keys that match nothing, or a tensor the twin does not form (the gradient of X; dL/da of an output whose loss is
fused with it), are listed once and ignored.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from .boundary import as_numpy, shape_of

INTERMEDIATE = re.compile(r"^d(?P<what>[AaZz])(?P<k>\d+|L)$")
PARAM = re.compile(
    r"^d?(W|b|Theta|gamma|beta)\d+$"
)  # a parameter's key (or its gradient's) of a layer the sizes may not have


@dataclass(frozen=True)
class Exposed:
    """One intermediate tensor the user's code exposes: its key (or 'dense2.dinputs'), the twin tensor it is, and
    whether the code keeps it per sample, m times the twin's (m: the batch's size, a partial batch's too)."""

    key: str
    tensor: str
    per_sample: bool = False
    label: str = ""  # how messages name it, e.g. "grads['dZ2']"

    def __str__(self):
        return f"{self.label or self.key} = {self.tensor}" + (", m times (per sample)" if self.per_sample else "")

    def factor(self, m):
        """What the code's value is divided by to be the twin's, in a batch of m."""
        return float(m) if self.per_sample else 1.0


def param_key(key, names):
    """The parameter key a gradient key stands for (W1 for W1 or dW1), or None."""
    if not isinstance(key, str):
        return None
    if key in names:
        return key
    return key[1:] if key.startswith("d") and key[1:] in names else None


def split(returned, names, who, error):
    """A returned dict -> (the gradients under the parameters' keys, {key: value} of every other key). A key of a
    parameter the sizes do not have (W3 of a two-layer network) stays with the gradients, for the contract's line."""
    grads, others = {}, {}
    for key, value in returned.items():
        p = param_key(key, names)
        if p is None and isinstance(key, str) and PARAM.match(key):
            p = key
        if p is None:
            others[key] = value
        elif p in grads:
            raise error(f"{who} holds the gradient of {p} twice (as {p} and d{p}); return one of them")
        else:
            grads[p] = value
    return grads, others


def _batch_names(key, n_layers, offset):
    """The twin tensor an intermediate key names, with the A family read with `offset` (0: dA{l} is dL/dA^[l];
    1: dA{l} is the gradient of layer l's input, dL/dA^[l-1]); 'input' for the gradient of X; None if no match."""
    match = INTERMEDIATE.match(key) if isinstance(key, str) else None
    if match is None:
        return None
    what, k = match["what"].lower(), match["k"]
    layer = n_layers if k == "L" else int(k)
    if what == "z":
        return f"layers.{layer - 1}.dz" if 1 <= layer <= n_layers else None
    i = layer - 1 - (offset if k != "L" else 0)
    if i == -1:
        return "input"
    return f"layers.{i}.da" if 0 <= i < n_layers else None


def width(tensor, sizes):
    """The number of units of a batch tensor 'layers.{i}.da' or '.dz' ('input': the features)."""
    return sizes[0] if tensor == "input" else sizes[int(tensor.split(".")[1]) + 1]


def match(others, sizes, boundary, m, has_output_da, label):
    """{key: (twin tensor, None)} for the keys that are intermediates of the right shape, and {key: why} for the rest.
    label(key) says how messages name a key."""
    L = len(sizes) - 1
    arrays = {k: v for k, v in others.items() if hasattr(as_numpy(v), "shape") and np.ndim(as_numpy(v)) == 2}

    def fits(offset):
        out = {}
        for key, value in arrays.items():
            name = _batch_names(key, L, offset)
            if name is not None and shape_of(value) == boundary.oriented((m, width(name, sizes))):
                out[key] = name
        return out

    keys = {str(k) for k in others}
    a_keys = [k for k in arrays if isinstance(k, str) and INTERMEDIATE.match(k) and k[1] in "Aa" and k[2:] != "L"]
    one, zero = fits(1), fits(0)
    older = f"dA{L}" in keys or f"da{L}" in keys
    newer = "dA0" in keys or "da0" in keys
    count = lambda found: sum(k in found for k in a_keys)  # noqa: E731
    offset = 1 if count(one) > count(zero) or (count(one) == count(zero) and older and not newer) else 0
    found = zero if offset == 0 else one
    matched, ignored = {}, {}
    for key in others:
        name = found.get(key)
        if name == "input":
            ignored[key] = "the gradient of X, which the twin does not compute"
        elif name == f"layers.{L - 1}.da" and not has_output_da:
            ignored[key] = "dL/da of the output, which the twin's loss fuses into dL/dz"
        elif name is not None:
            matched[key] = name
        elif key in arrays and _batch_names(key, L, offset) is not None:
            ignored[key] = f"of shape {shape_of(arrays[key])}, not the shape of {_batch_names(key, L, offset)}"
        else:
            ignored[key] = "no tensor of the twin by that name"
    return matched, {label(k): why for k, why in ignored.items()}


def per_sample(ours, ref, m):
    """Whether the code's intermediates {tensor: rows} are m times the reference's {tensor: rows} rather than equal:
    the factor nearer to the ratio of their norms, in log scale, summed over the tensors (one for all of them)."""
    return m > 1 and factor(ours, ref, m) == m


def factor(ours, ref, m):
    """The one factor, 1 or m, by which the code's intermediates {tensor: rows} are the reference's {tensor: rows}."""
    if m == 1:
        return 1.0
    score = {1.0: 0.0, float(m): 0.0}
    for name, value in ours.items():
        a, b = float(np.linalg.norm(value)), float(np.linalg.norm(ref[name]))
        if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
            continue
        for f in score:
            score[f] += abs(math.log(a / (f * b)))
    return min(score, key=lambda f: (score[f], f))
