"""The PyTorch twin of handmade.MLP: the same ModelConfig, the same names, autograd for the backward.

The stack is an nn.Module per block (Block), so torch itself names the parameters 'layers.{i}.weight' (out, in),
'layers.{i}.bias', 'layers.{i}.norm.weight' and the norm's buffers 'layers.{i}.norm.running_mean'; an embedding
in front is an nn.Embedding, 'embedding.weight'. The weights never come from torch's RNG: they are drawn by
handmade's init from the same numpy Generator (MLP(...)), or copied from a handmade model (MLP.from_handmade).
The twin never draws dropout masks either: it is given the masks handmade drew. Forward records every tensor
of docs/layers.md under handmade's name and retains the gradient of each one autograd reaches, so .deltas holds
dL/dz, dL/da, dL/d norm.out, ... after backward under handmade's names.

Each kind of layer is a row of a table: ACTIVATIONS, LOSSES and NORMS below. Where the convention is torch's the
row uses torch's own op (F.batch_norm through nn.BatchNorm1d, F.layer_norm, F.multi_margin_loss, nn.Embedding);
where a setting departs from it (Bessel's correction, a biased running variance), torch primitives.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handmade.config import ModelConfig
from handmade.init import init_parameters

# name -> activation(z, leaky_slope)
ACTIVATIONS = {
    "identity": lambda z, s: z,
    "sigmoid": lambda z, s: torch.sigmoid(z),
    "tanh": lambda z, s: torch.tanh(z),
    "relu": lambda z, s: F.relu(z),
    "leaky_relu": lambda z, s: F.leaky_relu(z, s),
    "softmax": lambda z, s: torch.softmax(z, dim=1),
}

# name -> the per-sample losses summed over the batch, from the output layer's z and a
LOSSES = {
    "cross_entropy": lambda z, a, Y: F.cross_entropy(z, Y, reduction="sum"),  # probability targets
    "bce": lambda z, a, Y: F.binary_cross_entropy_with_logits(z, Y, reduction="sum"),
    "mse": lambda z, a, Y: 0.5 * F.mse_loss(a, Y, reduction="sum"),  # autograd: softmax's full Jacobian
    "svm": lambda z, a, Y: F.multi_margin_loss(z, Y.argmax(dim=1), reduction="sum") * z.shape[1],  # C times torch's
}
# the value of those two on probabilities c clipped to [p, 1 - p] (prob_clip): what NNFS and scikit-learn report
CLIPPED = {
    "cross_entropy": lambda c, Y: -(Y * torch.log(c)).sum(),
    "bce": lambda c, Y: -(Y * torch.log(c) + (1 - Y) * torch.log(1 - c)).sum(),
}


def statistics(z, dim, correction, eps):
    """The mean, variance and xhat = (z - mean) / sqrt(var + eps) of z over dim, computed apart from the fused op
    (which does not expose them), without gradients: what the twin records."""
    with torch.no_grad():
        mean = z.mean(dim=dim, keepdim=dim == 1)
        var = z.var(dim=dim, correction=correction, keepdim=dim == 1)
        return mean, var, (z - mean) * torch.rsqrt(var + eps)


def batchnorm(bn, z, c, training):
    """Batch norm of z (m, n) with nn.BatchNorm1d bn -> (out, {mean, var, xhat}). torch's convention (biased
    variance to normalise, unbiased running variance) is bn itself, F.batch_norm; CS231n's biased running variance
    is F.batch_norm without running statistics, and the running update written out; makemore's unbiased variance
    to normalise is written with torch primitives."""
    if not training:
        mean, var = bn.running_mean.clone(), bn.running_var.clone()
        return bn(z), dict(mean=mean, var=var, xhat=(z.detach() - mean) * torch.rsqrt(var + bn.eps))
    if len(z) < 2:  # as F.batch_norm refuses it, whichever the convention
        raise ValueError("batch norm in train mode needs 2 or more samples a batch (torch refuses 1); use larger ones")
    unbiased = c.bn_variance == "unbiased"
    mean, var, xhat = statistics(z, 0, int(unbiased), bn.eps)
    if not unbiased and c.bn_running_variance == "unbiased":
        return bn(z), dict(mean=mean, var=var, xhat=xhat)
    if unbiased:
        mu = z.mean(dim=0)
        out = bn.weight * ((z - mu) * torch.rsqrt(z.var(dim=0, correction=1) + bn.eps)) + bn.bias
    else:
        out = F.batch_norm(z, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
    with torch.no_grad():  # running = momentum * batch + (1 - momentum) * running, in torch's kernel's order
        running = z.var(dim=0, correction=int(c.bn_running_variance == "unbiased"))
        m = bn.momentum
        bn.running_mean.copy_(m * mean + (1 - m) * bn.running_mean)
        bn.running_var.copy_(m * running + (1 - m) * bn.running_var)
        bn.num_batches_tracked += 1
    return out, dict(mean=mean, var=var, xhat=xhat)


def layernorm(ln, z, c, training):
    """Layer norm of z (m, n) with nn.LayerNorm ln (F.layer_norm): each sample over its features, biased."""
    mean, var, xhat = statistics(z, 1, 0, ln.eps)
    return ln(z), dict(mean=mean, var=var, xhat=xhat)


class Norm(NamedTuple):
    """A row of NORMS: build(n, config, dtype) -> the module holding weight and bias (n,) (and buffers);
    forward(module, z, config, training) -> (out, {mean, var, xhat})."""

    build: Callable
    forward: Callable


NORMS = {
    "batchnorm": Norm(lambda n, c, dt: nn.BatchNorm1d(n, eps=c.bn_eps, momentum=c.bn_momentum, dtype=dt), batchnorm),
    "layernorm": Norm(lambda n, c, dt: nn.LayerNorm(n, eps=c.ln_eps, dtype=dt), layernorm),
}
GRADIENT_NAMES = {"z": "dz", "a": "da", "out": "dout"}  # a recorded tensor's last name -> its gradient's


class Block(nn.Module):
    """Block i: the affine layer's weight (out, in) and bias (out,), and on a hidden block with a norm the norm's
    module, which torch then names layers.{i}.norm. The weight is stored column-major, as handmade stores it
    (handmade.layers.column_major): the same shapes and maths, and each gradient and optimizer state in its
    parameter's layout, so the lockstep comparison reads both sides contiguously."""

    def __init__(self, n_in, n_out, bias, norm, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out, dtype=dtype).t())
        self.bias = nn.Parameter(torch.empty(n_out, dtype=dtype)) if bias else None
        if norm is not None:
            self.norm = norm


class MLP(nn.Module):
    """MLP(ModelConfig(...)) or MLP(sizes, activation=..., ...): see handmade.MLP; the arguments are the same."""

    def __init__(self, sizes, *, seed=0, **settings):
        super().__init__()
        if isinstance(sizes, ModelConfig):
            self.config = replace(sizes, **settings) if settings else sizes
        else:
            self.config = ModelConfig(sizes, **settings)
        c = self.config
        self.dtype = getattr(torch, c.dtype)
        if c.embedding is not None:
            self.embedding = nn.Embedding(*c.embedding, dtype=self.dtype)
        norm = NORMS.get(c.norm)
        self.layers = nn.ModuleList(
            Block(n_in, n_out, c.bias, norm.build(n_out, c, self.dtype) if norm and i < c.hidden else None, self.dtype)
            for i, (n_in, n_out) in enumerate(zip(c.sizes, c.sizes[1:]))
        )
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.copy_from(init_parameters(c, rng))
        self._norms = [getattr(block, "norm", None) for block in self.layers]  # a plain list: nothing registered
        self._acts = {}

    @classmethod
    def from_handmade(cls, net):
        """A twin with the same config and a copy of the handmade model's current weights and buffers."""
        twin = cls(net.config, seed=0)
        twin.copy_from(net.state_dict())
        return twin

    def copy_from(self, arrays):
        """Overwrite the parameters, and the buffers that `arrays` holds, with {name: numpy array}, as
        handmade.MLP.load_state_dict does."""
        buffers = [(k, b) for k, b in self.named_buffers() if k in arrays]
        with torch.no_grad():
            for name, p in [*self.named_parameters(), *buffers]:
                if tuple(arrays[name].shape) != tuple(p.shape):
                    raise ValueError(f"{name}: shape {arrays[name].shape}, expected {tuple(p.shape)}")
                p.copy_(torch.from_numpy(np.asarray(arrays[name], dtype=self.config.dtype)))

    def _record(self, name, t):
        """Keep t under its handmade name; retain its gradient where autograd will reach it."""
        self._acts[name] = t
        if t.requires_grad:
            t.retain_grad()
        return t

    def forward(self, X, masks=None):
        """X (m, n_in), or integer tokens (m, k) -> the output activation (m, n_out). In training, the dropout masks
        {'layers.{i}.dropout.mask': (m, out_i)} must be given (handmade's net.dropout_masks()). Records every tensor
        of docs/layers.md, retaining the gradients of those on the path to the loss."""
        c, last = self.config, len(self.layers) - 1
        self._acts.clear()
        if c.embedding is not None:
            tokens = torch.as_tensor(np.asarray(X)).long()  # (m, k)
            x = self._record("embedding.out", self.embedding(tokens).reshape(len(tokens), -1))  # (m, k * D)
        else:
            x = torch.as_tensor(X, dtype=self.dtype)
        for i, (block, norm) in enumerate(zip(self.layers, self._norms)):
            h = z = self._record(f"layers.{i}.z", F.linear(x, block.weight, block.bias))  # (m, out_i)
            if norm is not None:
                h, stats = NORMS[c.norm].forward(norm, z, c, self.training)
                self._acts.update({f"layers.{i}.norm.{k}": v for k, v in stats.items()})
                self._record(f"layers.{i}.norm.out", h)
                if self.training:
                    self._acts.update({f"layers.{i}.norm.{k}": b.clone() for k, b in norm.named_buffers()})
                    self._acts.pop(f"layers.{i}.norm.num_batches_tracked", None)
            name = c.activation if i < last else c.output
            x = a = self._record(f"layers.{i}.a", ACTIVATIONS[name](h, c.leaky_slope))
            if c.dropout and i < last:
                x = self._dropout(i, a, masks)
        return a

    def _dropout(self, i, a, masks):
        """Block i's dropout of a with handmade's mask: a * (mask / keep) (torch's own noise tensor, inverted) or
        a * mask (classic); at test time a, or a * keep (classic)."""
        name, c = f"layers.{i}.dropout", self.config
        if not self.training:
            out = a if c.dropout_form == "inverted" else a * (1 - c.dropout)
        else:
            if masks is None or f"{name}.mask" not in masks:
                raise ValueError(f"reference.MLP draws no dropout masks: give masks= with {name}.mask (handmade's)")
            mask = self._acts[f"{name}.mask"] = torch.as_tensor(np.asarray(masks[f"{name}.mask"]), dtype=self.dtype)
            out = a * (mask / (1 - c.dropout)) if c.dropout_form == "inverted" else a * mask
        return self._record(f"{name}.out", out)

    def dropout_masks(self):
        """The masks of the last training forward, as handmade's dropout_masks() gives them."""
        return {k: v for k, v in self.acts.items() if k.endswith(".dropout.mask")}

    def loss(self, X, Y, masks=None):
        """Forward, then the loss plus the penalties, kept for backward(). Returns a float."""
        c = self.config
        Y = torch.as_tensor(np.asarray(Y))
        k = self.layers[-1].weight.shape[0]
        if Y.ndim == 1:
            Y = Y[:, None] if k == 1 else F.one_hot(Y.long(), k)
        Y = Y.to(self.dtype)
        a = self.forward(X, masks)
        self._loss = self._finish(LOSSES[c.loss](self._acts[f"layers.{len(self.layers) - 1}.z"], a, Y), Y)
        if c.prob_clip is not None:  # the value on clipped probabilities; the gradient stays the unclipped loss's
            p = c.prob_clip
            return self._finish(CLIPPED[c.loss](torch.clamp(a.detach(), p, 1 - p), Y), Y).item()
        return self._loss.item()

    def _finish(self, value, Y):
        """The loss scale, the reduction and the penalties, on a sum of per-sample losses."""
        c = self.config
        if c.loss_scale != 1:
            value = value * c.loss_scale
        if c.reduction == "mean":
            value = value / len(Y)
        if c.l1 or c.l2:  # the weights, and the biases with bias_penalty
            penalized = [p for block in self.layers for p in (block.weight, block.bias)[: 1 + c.bias_penalty]]
            d = c.divisor(len(Y))
            if c.l2:
                value = value + c.l2 / (2 * d) * sum((p**2).sum() for p in penalized)
            if c.l1:
                value = value + c.l1 / d * sum(p.abs().sum() for p in penalized)
        return value

    def backward(self, Y=None):
        """Autograd through the last loss() (its targets: Y is accepted for handmade's signature); returns {name: grad}
        as numpy arrays."""
        self._loss.backward()
        return self.grads()

    # -- numpy views under handmade's names, for the lockstep comparison -----------------------------------
    @property
    def acts(self):
        return {name: t.detach().numpy() for name, t in self._acts.items()}

    @property
    def deltas(self):
        """The gradient of every recorded tensor autograd reached, under handmade's names: dL/dz, dL/da below the
        output (and of the output with mse), dL/d norm.out, dL/d dropout.out, dL/d embedding.out."""
        last = f"layers.{len(self.layers) - 1}.a"
        out = {}
        for name, t in self._acts.items():
            head, _, leaf = name.rpartition(".")
            if leaf in GRADIENT_NAMES and t.grad is not None and (name != last or self.config.loss == "mse"):
                out[f"{head}.{GRADIENT_NAMES[leaf]}"] = t.grad.numpy()
        return out

    def grads(self):
        return {name: None if p.grad is None else p.grad.numpy() for name, p in self.named_parameters()}

    def numpy_state(self):
        return {name: p.detach().numpy() for name, p in self.named_parameters()}

    def predict(self, X):
        """Class indices, in eval mode (running statistics, no dropout), as handmade.MLP.predict."""
        was = self.training
        try:
            with torch.no_grad():
                a = self.eval().forward(X)
        finally:
            self.train(was)
        return ((a[:, 0] > 0.5).long() if a.shape[1] == 1 else a.argmax(dim=1)).numpy()
