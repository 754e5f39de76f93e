"""A multi-layer perceptron in NumPy: forward records activations by name, backward returns gradients by name.

Layer i computes z_i = a_{i-1} W_i^T + b_i and a_i = f(z_i), with a_{-1} = X. Hidden layers use the chosen
activation; the output layer uses the loss's output (softmax, sigmoid, or identity/sigmoid for mse).
Names and layouts mirror torch: parameters are 'layers.{i}.weight' (out, in) and 'layers.{i}.bias' (out,).
The recorded tensors are 'layers.{i}.z', 'layers.{i}.a' (forward), 'layers.{i}.dz' = dL/dz_i and, below the
output, 'layers.{i}.da' = dL/da_i (backward).

backward() is written as the four equations of backpropagation (Nielsen, Neural Networks and Deep Learning,
ch. 2), one method each: BP1 the output layer's dL/dz (output_delta), BP2 dL/dz of a layer from the one above
(hidden_delta), BP3 and BP4 a layer's bias and weight gradients (layer_grads).

This is a reference for checking, written to be read; it is vectorised over the batch but not tuned beyond that.
"""

from dataclasses import dataclass

import numpy as np

from . import layers, losses
from .init import INITS, init_params

REDUCTIONS = ("mean", "sum")
L2_NORMS = ("batch", "dataset", "none")  # the divisor d of the penalty l2/(2d) sum W^2: m, n_train or 1
DTYPES = ("float32", "float64", "longdouble")


def l2_divisor(l2_norm, m, n_train):
    """d of the penalty l2/(2d) sum W^2 for a batch of m samples: m, n_train or 1 (L2_NORMS)."""
    return {"batch": m, "dataset": n_train, "none": 1}[l2_norm]


@dataclass(eq=False)
class Param:
    """A parameter and its gradient, like a torch Parameter's .data and .grad. Hashed by identity."""

    data: np.ndarray
    grad: np.ndarray | None = None


def check_config(
    sizes,
    activation="relu",
    loss="cross_entropy",
    output=None,
    init="torch",
    dtype="float64",
    l2=0.0,
    l2_norm="batch",
    n_train=None,
    reduction="mean",
    loss_scale=1.0,
    leaky_slope=None,
    **_,
):
    """Raise ValueError with a one-line reason if the arguments cannot build an MLP; return the output name."""
    if len(sizes) < 2 or any(int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"sizes must list at least two positive whole numbers (inputs ... outputs), got {sizes}")
    if activation not in layers.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(layers.ACTIVATIONS)}")
    if loss not in losses.LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose from {', '.join(losses.LOSSES)}")
    allowed = losses.LOSSES[loss][2]
    if output is not None and output not in allowed:
        raise ValueError(f"output {output!r} does not go with loss {loss!r}, which takes {' or '.join(allowed)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
    try:
        dtype_name = np.dtype(dtype).name
    except TypeError:
        dtype_name = None
    if dtype_name == "float128":
        dtype_name = "longdouble"
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    if l2_norm not in L2_NORMS:
        raise ValueError(f"l2_norm must be one of {', '.join(L2_NORMS)}, got {l2_norm!r}")
    if l2_norm == "dataset" and not (n_train and n_train > 0):
        raise ValueError("l2_norm 'dataset' divides by the training-set size: give n_train")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be mean or sum, got {reduction!r}")
    if not (np.isfinite(loss_scale) and loss_scale > 0):
        raise ValueError(f"loss_scale must be a positive number, got {loss_scale}")
    if leaky_slope is not None and not np.isfinite(leaky_slope):
        raise ValueError(f"leaky_slope must be a finite number, got {leaky_slope}")
    return output or allowed[0]


def model_config(
    sizes, activation, loss, output, init, l2, dtype, l2_norm, n_train, reduction, loss_scale, bias, leaky_slope
):
    """The checked, normalised settings of an MLP (its .config), shared with reference.MLP."""
    output = check_config(
        sizes, activation, loss, output, init, dtype, l2, l2_norm, n_train, reduction, loss_scale, leaky_slope
    )
    return dict(
        sizes=[int(n) for n in sizes],
        activation=activation,
        loss=loss,
        output=output,
        init=init,
        l2=float(l2),
        dtype=np.dtype(dtype).name,
        l2_norm=l2_norm,
        n_train=n_train,
        reduction=reduction,
        loss_scale=float(loss_scale),
        bias=bool(bias),
        leaky_slope=float(leaky_slope),
    )


class MLP:
    """MLP(sizes, activation, loss, output, init, l2, dtype, seed, ...): the same arguments build reference.MLP.

    sizes        [n_in, hidden..., n_out]
    activation   hidden units: sigmoid, tanh, relu, leaky_relu (negative slope leaky_slope) or identity
    loss         cross_entropy (softmax output), bce (sigmoid outputs) or mse (identity or sigmoid output)
    reduction    'mean' or 'sum' of the per-sample losses over the batch; loss_scale multiplies the result
    l2, l2_norm  the penalty l2/(2d) * sum of squared weights (biases excluded), with d the batch size m
                 ('batch', the classic course), the training-set size n_train ('dataset', Nielsen's book) or 1
                 ('none')
    bias         False builds layers without biases
    prob_clip    the loss value on probabilities clipped to [prob_clip, 1 - prob_clip] (NNFS, scikit-learn); the
                 gradient stays a - Y, as theirs does
    seed         an int or a numpy Generator; init draws from it
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        loss="cross_entropy",
        output=None,
        init="torch",
        l2=0.0,
        dtype="float64",
        seed=0,
        *,
        l2_norm="batch",
        n_train=None,
        reduction="mean",
        loss_scale=1.0,
        bias=True,
        leaky_slope=layers.LEAKY_SLOPE,
        prob_clip=None,
    ):
        self.config = model_config(
            sizes, activation, loss, output, init, l2, dtype, l2_norm, n_train, reduction, loss_scale, bias, leaky_slope
        )
        self.config["prob_clip"] = losses.check_prob_clip(loss, prob_clip)
        self.dtype = np.dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # W keeps torch's shape (out, in) but is stored column-major, as the transpose of a C-ordered (in, out)
        # array: x @ W.T then runs BLAS's fastest path, as torch's nn.Linear does (about 20% faster on one thread).
        self.layers = [
            (Param(np.asfortranarray(W)), Param(b) if bias else None)
            for W, b in init_params(self.config["sizes"], init, rng, self.dtype)
        ]
        self.acts = {}  # 'layers.{i}.z' and 'layers.{i}.a', (m, out_i), from the last forward
        self.deltas = {}  # 'layers.{i}.dz' and 'layers.{i}.da', (m, out_i), from the last backward

    # -- parameters, named as torch names them ------------------------------------------------------------
    def named_parameters(self):
        for i, (W, b) in enumerate(self.layers):
            yield f"layers.{i}.weight", W
            if b is not None:
                yield f"layers.{i}.bias", b

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def state_dict(self):
        """{name: array}. The arrays are the live parameters, as torch's state_dict gives live tensors."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        for name, p in self.named_parameters():
            if state[name].shape != p.data.shape:
                raise ValueError(f"{name}: shape {state[name].shape}, expected {p.data.shape}")
            p.data[...] = state[name]

    def grads(self):
        return {name: p.grad for name, p in self.named_parameters()}

    # -- forward and loss ---------------------------------------------------------------------------------
    def forward(self, X):
        """X (m, n_in) -> the output activation (m, n_out). Records z and a of every layer in self.acts."""
        hidden = layers.activation(self.config["activation"], self.config["leaky_slope"])[0]
        output = losses.OUTPUTS[self.config["output"]]
        a, last = X, len(self.layers) - 1
        self.acts["input"] = X
        for i, (W, b) in enumerate(self.layers):
            z = layers.linear_forward(a, W.data, None if b is None else b.data)  # (m, out_i)
            a = hidden(z) if i < last else output(z)
            self.acts[f"layers.{i}.z"], self.acts[f"layers.{i}.a"] = z, a
        return a

    def loss(self, X, Y):
        """Forward X (m, n_in), then the loss against Y (m, n_out) plus the l2 penalty. Returns a float."""
        X, Y = self._as_batch(X, Y)
        a = self.forward(X)
        self.targets = Y
        value = losses.LOSSES[self.config["loss"]][0](self.acts[f"layers.{len(self.layers) - 1}.z"], a, Y)
        if self.config["prob_clip"]:
            value = losses.clipped(self.config["loss"], a, Y, self.config["prob_clip"])
        value = self._reduce(value, len(X))
        if self.config["l2"]:
            value += (
                self.config["l2"]
                / (2 * self._l2_divisor(len(X)))
                * sum(float(np.vdot(W.data, W.data)) for W, _ in self.layers)
            )
        return value

    def _as_batch(self, X, Y):
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y)
        if Y.ndim == 1:  # class labels -> one-hot, or a column of 0/1 for a single output unit
            k = self.layers[-1][0].data.shape[0]
            Y = Y[:, None] if k == 1 else np.eye(k, dtype=self.dtype)[Y]
        return X, Y.astype(self.dtype, copy=False)

    def _reduce(self, total, m):
        """A sum over the batch -> the configured reduction, times the loss scale."""
        if self.config["loss_scale"] != 1:
            total = total * self.config["loss_scale"]
        return total / m if self.config["reduction"] == "mean" else total

    def _l2_divisor(self, m):
        return l2_divisor(self.config["l2_norm"], m, self.config["n_train"])

    # -- backward: the output layer first, then down ---------------------------------------------------------
    def backward(self):
        """Backpropagate the last loss(). Sets each Param's .grad (adding to it unless it is None, as torch
        accumulates) and returns {name: grad}. Records dL/dz and dL/da of every layer in self.deltas."""
        dz = self.output_delta()  # (m, n_out)
        for i in range(len(self.layers) - 1, -1, -1):
            self.deltas[f"layers.{i}.dz"] = dz
            for p, g in zip(self.layers[i], self.layer_grads(i, dz)):
                if p is not None:
                    p.grad = g if p.grad is None else p.grad + g
            if i:
                dz = self.hidden_delta(i - 1, dz)
        return self.grads()

    def output_delta(self):
        """BP1: dL/dz of the output layer (m, n_out): a - Y for the matched pairs, (a - Y) * output'(z) for mse,
        divided by m for the mean and times the loss scale."""
        last = len(self.layers) - 1
        z, a = self.acts[f"layers.{last}.z"], self.acts[f"layers.{last}.a"]
        output_backward = layers.ACTIVATIONS[self.config["output"]][1] if self.config["output"] != "softmax" else None
        return self._reduce(losses.LOSSES[self.config["loss"]][1](z, a, self.targets, output_backward), len(z))

    def hidden_delta(self, i, dz_above):
        """BP2: dL/dz of hidden layer i (m, out_i) from dL/dz of the layer above: da = dz_above W_{i+1}, then
        dz = da * f'(z_i). Records da."""
        da = dz_above @ self.layers[i + 1][0].data  # (m, out_i)
        self.deltas[f"layers.{i}.da"] = da
        backward = layers.activation(self.config["activation"], self.config["leaky_slope"])[1]
        return backward(da, self.acts[f"layers.{i}.z"], self.acts[f"layers.{i}.a"])

    def layer_grads(self, i, dz):
        """BP3 and BP4: layer i's gradients from its dL/dz (m, out_i) and its input x (m, in_i):
        dW = dz^T x + (l2/d) W (out_i, in_i), db = sum of dz over the batch (out_i,), or None without biases."""
        W, b = self.layers[i]
        x = self.acts[f"layers.{i - 1}.a"] if i else self.acts["input"]  # (m, in_i)
        dW, db, _ = layers.linear_backward(dz, x, W.data, need_dx=False)
        if self.config["l2"]:
            dW += (self.config["l2"] / self._l2_divisor(len(x))) * W.data
        return dW, db if b is not None else None

    def predict(self, X):
        """Class indices (m,) for X (m, n_in); with one output unit, 1 where it exceeds one half."""
        a = self.forward(np.asarray(X, dtype=self.dtype))
        return (a[:, 0] > 0.5).astype(int) if a.shape[1] == 1 else np.argmax(a, axis=1)
