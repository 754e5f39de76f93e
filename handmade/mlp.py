"""A multi-layer perceptron in NumPy: forward records activations by name, backward returns gradients by name.

Layer i computes z_i = a_{i-1} W_i^T + b_i and a_i = f(z_i), with a_{-1} = X. Hidden layers use the chosen
activation; the output layer uses the loss's output (softmax, sigmoid, or identity/sigmoid for mse).
Names and layouts mirror torch: parameters are 'layers.{i}.weight' (out, in) and 'layers.{i}.bias' (out,).
The recorded tensors are 'layers.{i}.z', 'layers.{i}.a' (forward) and 'layers.{i}.dz' = dL/dz_i (backward).

This is a reference for checking, written to be read; it is vectorised over the batch but not tuned beyond that.
"""
from dataclasses import dataclass

import numpy as np

from . import layers, losses
from .init import INITS, init_params


@dataclass(eq=False)
class Param:
    """A parameter and its gradient, like a torch Parameter's .data and .grad. Hashed by identity."""

    data: np.ndarray
    grad: np.ndarray | None = None


def check_config(sizes, activation, loss, output, init, dtype, l2):
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
    if dtype_name not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    return output or allowed[0]


class MLP:
    """MLP(sizes, activation, loss, output, init, l2, dtype, seed): the same arguments build reference.MLP.

    sizes       [n_in, hidden..., n_out]
    activation  hidden units: sigmoid, tanh, relu, leaky_relu or identity
    loss        cross_entropy (softmax output), bce (sigmoid outputs) or mse (identity or sigmoid output)
    l2          the classic penalty l2/(2m) * sum of squared weights (biases excluded), m = batch size
    seed        an int or a numpy Generator; init draws from it
    """

    # The one piece of backward a planted bug may swap on an instance (lockstep/bugs.py); activations and the
    # loss are looked up on the instance too, for the same reason.
    linear_backward = staticmethod(layers.linear_backward)

    def __init__(self, sizes, activation="relu", loss="cross_entropy", output=None, init="torch", l2=0.0,
                 dtype="float64", seed=0):
        output = check_config(sizes, activation, loss, output, init, dtype, l2)
        self.config = dict(sizes=[int(n) for n in sizes], activation=activation, loss=loss, output=output,
                           init=init, l2=float(l2), dtype=np.dtype(dtype).name)
        self.dtype = np.dtype(dtype)
        self.act_forward, self.act_backward = layers.ACTIVATIONS[activation]
        self.out_forward = losses.OUTPUTS[output]
        self.out_backward = layers.ACTIVATIONS[output][1] if output != "softmax" else None
        self.loss_value, self.loss_grad, _ = losses.LOSSES[loss]
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # W keeps torch's shape (out, in) but is stored column-major, as the transpose of a C-ordered (in, out)
        # array: x @ W.T then runs BLAS's fastest path, as torch's nn.Linear does (about 20% faster on one thread).
        self.layers = [(Param(np.asfortranarray(W)), Param(b))
                       for W, b in init_params(self.config["sizes"], init, rng, self.dtype)]
        self.l2 = float(l2)
        self.acts = {}  # 'layers.{i}.z' and 'layers.{i}.a', (m, out_i), from the last forward
        self.deltas = {}  # 'layers.{i}.dz', (m, out_i), from the last backward

    # -- parameters, named as torch names them ------------------------------------------------------------
    def named_parameters(self):
        for i, (W, b) in enumerate(self.layers):
            yield f"layers.{i}.weight", W
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
        a, last = X, len(self.layers) - 1
        for i, (W, b) in enumerate(self.layers):
            z = layers.linear_forward(a, W.data, b.data)  # (m, out_i)
            a = self.act_forward(z) if i < last else self.out_forward(z)
            self.acts[f"layers.{i}.z"], self.acts[f"layers.{i}.a"] = z, a
        self._X = X
        return a

    def loss(self, X, Y):
        """Forward X (m, n_in), then the loss against Y (m, n_out) plus l2/(2m) * sum ||W||^2. Returns a float."""
        X, Y = self._as_batch(X, Y)
        a = self.forward(X)
        self._Y = Y
        value = self.loss_value(self.acts[f"layers.{len(self.layers) - 1}.z"], a, Y)
        if self.l2:
            value += self.l2 / (2 * len(X)) * sum(float(np.vdot(W.data, W.data)) for W, _ in self.layers)
        return value

    def _as_batch(self, X, Y):
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y)
        if Y.ndim == 1:  # class labels -> one-hot
            Y = np.eye(self.layers[-1][0].data.shape[0], dtype=self.dtype)[Y]
        return X, Y.astype(self.dtype, copy=False)

    # -- backward: the output layer first, then down ---------------------------------------------------------
    def backward(self):
        """Backpropagate the last loss(). Sets each Param's .grad (adding to it unless it is None, as torch
        accumulates) and returns {name: grad}. Records dL/dz of every layer in self.deltas."""
        last, m = len(self.layers) - 1, len(self._X)
        z, a = self.acts[f"layers.{last}.z"], self.acts[f"layers.{last}.a"]
        dz = self.loss_grad(z, a, self._Y, self.out_backward)  # (m, n_out)
        for i in range(last, -1, -1):
            W, b = self.layers[i]
            x = self.acts[f"layers.{i - 1}.a"] if i else self._X  # this layer's input (m, in_i)
            self.deltas[f"layers.{i}.dz"] = dz
            dW, db, dx = self.linear_backward(dz, x, W.data, need_dx=i > 0)
            if self.l2:
                dW += (self.l2 / m) * W.data
            for p, g in ((W, dW), (b, db)):
                p.grad = g if p.grad is None else p.grad + g
            if i:
                dz = self.act_backward(dx, self.acts[f"layers.{i - 1}.z"], self.acts[f"layers.{i - 1}.a"])
        return self.grads()

    def predict(self, X):
        """Class indices (m,) for X (m, n_in)."""
        return np.argmax(self.forward(np.asarray(X, dtype=self.dtype)), axis=1)
