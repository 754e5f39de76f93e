"""ModelConfig: every setting of an MLP, in one small dataclass, checked in one place.

handmade.MLP and reference.MLP are both built from it, and so is the cross-check's run, which builds one from its
own settings. The defaults are torch's; docs/layers.md says which course uses which setting.
A bad setting raises ValueError with one line that names it and the fix.
"""

from dataclasses import dataclass

import numpy as np

from .init import INITS
from .layers import ACTIVATIONS, LEAKY_SLOPE
from .losses import LOSSES, PROB_CLIP_LOSSES
from .norms import NORMS

REDUCTIONS = ("mean", "sum")
L2_NORMS = ("batch", "dataset", "none")  # the divisor d of both penalties: the batch size m, n_train or 1
DTYPES = ("float32", "float64", "longdouble")
VARIANCES = ("biased", "unbiased")
DROPOUT_FORMS = ("inverted", "classic")


def l2_divisor(l2_norm, m, n_train):
    """d of the penalties l1/d sum|W| + l2/(2d) sum W^2 for a batch of m samples: m, n_train or 1 (L2_NORMS)."""
    return {"batch": m, "dataset": n_train, "none": 1}[l2_norm]


@dataclass
class ModelConfig:
    """The network and its conventions.

    sizes          [n_in, hidden..., n_out]: the affine widths (with an embedding, n_in = k * D for k tokens)
    activation     the hidden units: a name of handmade.layers.ACTIVATIONS; leaky_slope is leaky_relu's slope
    loss, output   a name of handmade.losses.LOSSES and one of the output activations it takes (None: its first)
    init           a name of handmade.init.INITS; dtype float32 or float64 (longdouble for extended precision)
    reduction      'mean' or 'sum' of the per-sample losses over the batch; loss_scale multiplies the data loss
    l1, l2         the penalties l1/d sum|W| + l2/(2d) sum W^2 over the affine weights, and over the biases too
                   with bias_penalty; d is set by l2_norm: the batch size m ('batch'), n_train ('dataset') or 1
    bias           False builds the affine layers without biases
    norm           'none', or a name of handmade.norms.NORMS, after each hidden affine, before the activation
    bn_momentum    running = (1 - momentum) running + momentum * batch statistic, torch's sense
    bn_variance    the variance batch norm normalises with: 'biased' (1/m, torch) or 'unbiased' (1/(m-1))
    bn_running_variance   the one its running estimate takes: 'unbiased' (torch) or 'biased' (CS231n)
    bn_eps, ln_eps the eps under the square root of batch norm and of layer norm
    dropout        p, the probability of dropping a hidden activation (torch's nn.Dropout(p)); keep = 1 - p
    dropout_form   'inverted' (train a * mask / keep, test a) or 'classic' (train a * mask, test a * keep)
    embedding      None, or (V, D): integer inputs (m, k) looked up in a (V, D) table and flattened to k * D
    prob_clip      None, or p: the loss value (cross_entropy, bce) on probabilities clipped to [p, 1 - p], as NNFS
                   and scikit-learn report it; the gradient stays the unclipped a - Y, as theirs does
    """

    sizes: list
    activation: str = "relu"
    loss: str = "cross_entropy"
    output: str | None = None
    init: str = "torch"
    l2: float = 0.0
    dtype: str = "float64"
    l2_norm: str = "batch"
    n_train: int | None = None
    reduction: str = "mean"
    loss_scale: float = 1.0
    bias: bool = True
    leaky_slope: float = LEAKY_SLOPE
    l1: float = 0.0
    bias_penalty: bool = False
    norm: str = "none"
    bn_momentum: float = 0.1
    bn_variance: str = "biased"
    bn_running_variance: str = "unbiased"
    bn_eps: float = 1e-5
    ln_eps: float = 1e-5
    dropout: float = 0.0
    dropout_form: str = "inverted"
    embedding: tuple | None = None
    prob_clip: float | None = None

    def __post_init__(self):
        """Check every setting, then normalise: whole-number sizes, the output resolved, the dtype's name."""
        check(self)
        self.sizes = [int(n) for n in self.sizes]
        self.output = self.output or LOSSES[self.loss].outputs[0]
        self.dtype = np.dtype(self.dtype).name
        self.norm = self.norm or "none"
        self.embedding = None if self.embedding is None else tuple(int(n) for n in self.embedding)
        self.prob_clip = None if self.prob_clip is None else float(self.prob_clip)
        for name in ("l2", "l1", "loss_scale", "leaky_slope", "bn_momentum", "bn_eps", "ln_eps", "dropout"):
            setattr(self, name, float(getattr(self, name)))
        self.bias, self.bias_penalty = bool(self.bias), bool(self.bias_penalty)

    @property
    def hidden(self):
        """The number of hidden blocks: those with a norm and a dropout."""
        return len(self.sizes) - 2

    def divisor(self, m):
        """d of the penalties for a batch of m samples."""
        return l2_divisor(self.l2_norm, m, self.n_train)


def _number(value, low=-np.inf, high=np.inf):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and low <= value <= high


def check(c):
    """Raise ValueError with a one-line reason if the settings cannot build an MLP."""
    if len(c.sizes) < 2 or any(not _number(n) or int(n) != n or n < 1 for n in c.sizes):
        raise ValueError(f"sizes must list at least two positive whole numbers (inputs ... outputs), got {c.sizes}")
    for name, table in (("activation", ACTIVATIONS), ("loss", LOSSES), ("init", INITS)):
        if getattr(c, name) not in table:
            raise ValueError(f"unknown {name} {getattr(c, name)!r}; choose from {', '.join(table)}")
    allowed = LOSSES[c.loss].outputs
    if c.output is not None and c.output not in allowed:
        raise ValueError(f"output {c.output!r} does not go with loss {c.loss!r}, which takes {' or '.join(allowed)}")
    try:
        dtype_name = np.dtype(c.dtype).name
    except TypeError:
        dtype_name = None
    if dtype_name == "float128":
        dtype_name = "longdouble"
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {c.dtype!r}")
    for name in ("l2", "l1"):
        if not _number(getattr(c, name), 0) or not np.isfinite(getattr(c, name)):
            raise ValueError(f"{name} must be a number >= 0, got {getattr(c, name)}")
    for name, choices in (
        ("l2_norm", L2_NORMS),
        ("reduction", REDUCTIONS),
        ("bn_variance", VARIANCES),
        ("bn_running_variance", VARIANCES),
        ("dropout_form", DROPOUT_FORMS),
    ):
        if getattr(c, name) not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(c, name)!r}")
    if c.l2_norm == "dataset" and not (c.n_train and c.n_train > 0):
        raise ValueError("l2_norm 'dataset' divides by the training-set size: give n_train")
    if not (_number(c.loss_scale) and np.isfinite(c.loss_scale) and c.loss_scale > 0):
        raise ValueError(f"loss_scale must be a positive number, got {c.loss_scale}")
    if not (_number(c.leaky_slope) and np.isfinite(c.leaky_slope)):
        raise ValueError(f"leaky_slope must be a finite number, got {c.leaky_slope}")
    if c.prob_clip is not None and (
        c.loss not in PROB_CLIP_LOSSES or not (_number(c.prob_clip) and 0 < c.prob_clip < 0.5)
    ):
        raise ValueError(f"prob_clip clips {' or '.join(PROB_CLIP_LOSSES)} probabilities to [p, 1 - p], 0 < p < 0.5")
    if c.bias_penalty and not c.bias:
        raise ValueError("bias_penalty penalises the biases, but bias is off: turn one of them off")
    if (c.norm or "none") != "none" and c.norm not in NORMS:
        raise ValueError(f"unknown norm {c.norm!r}; choose from none, {', '.join(NORMS)}")
    if not _number(c.bn_momentum, 0, 1):
        raise ValueError(f"bn_momentum must be in [0, 1] (torch's sense: 0.1 is CS231n's 0.9), got {c.bn_momentum}")
    for name in ("bn_eps", "ln_eps"):
        if not (_number(getattr(c, name)) and 0 < getattr(c, name) < np.inf):
            raise ValueError(f"{name} must be a positive number (torch's default 1e-5), got {getattr(c, name)}")
    if not _number(c.dropout, 0) or not c.dropout < 1:
        raise ValueError(f"dropout is the probability of dropping a unit, in [0, 1), got {c.dropout}")
    if ((c.norm or "none") != "none" or c.dropout) and len(c.sizes) < 3:
        raise ValueError("norm and dropout act on hidden blocks, and sizes has none: add a hidden width or drop them")
    if c.embedding is not None:
        if len(c.embedding) != 2 or not all(_number(n, 1) and int(n) == n for n in c.embedding):
            raise ValueError(f"embedding must be (V, D), two positive whole numbers, got {c.embedding}")
        if c.sizes[0] % int(c.embedding[1]):
            raise ValueError(
                f"with embedding (V, D) = {tuple(c.embedding)}, sizes[0] is k * D for k tokens a sample: "
                f"{c.sizes[0]} is not a multiple of {c.embedding[1]}"
            )
