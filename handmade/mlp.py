"""A multi-layer perceptron in NumPy, as a stack of layers: forward records every tensor by name, backward every
gradient.

The stack (docs/layers.md): an optional embedding, then for each block i the affine layer z_i = x_i W_i^T + b_i
and, on the hidden blocks, an optional norm, the activation and an optional dropout; the output block is the
affine layer and the output activation (softmax, sigmoid or identity). Names and layouts mirror torch's:
parameters 'embedding.weight' (V, D), 'layers.{i}.weight' (out, in), 'layers.{i}.bias' (out,),
'layers.{i}.norm.weight' and '.bias'; buffers 'layers.{i}.norm.running_mean' and '.running_var'. The recorded
tensors (.acts: 'layers.{i}.z', '.norm.xhat', '.a', '.dropout.mask', ...; .deltas: 'layers.{i}.dz', '.da',
'.norm.dout', 'embedding.dout', ...) are named as docs/layers.md lists them.

backward() is written as the four equations of backpropagation (Nielsen, Neural Networks and Deep Learning,
ch. 2), one method each: BP1 the output layer's dL/dz (output_delta), BP2 dL/dz of a layer from the one above
(hidden_delta: back through the weight above, then the block's dropout, activation and norm), BP3 and BP4 a
layer's bias and weight gradients (layer_grads).

This is a reference for checking, written to be read; it is vectorised over the batch but not tuned beyond that.
"""

from dataclasses import dataclass, replace

import numpy as np

from . import layers, losses
from .config import ModelConfig
from .init import init_parameters
from .norms import NORMS


@dataclass(eq=False)
class Param:
    """A parameter and its gradient, like a torch Parameter's .data and .grad. Hashed by identity."""

    data: np.ndarray
    grad: np.ndarray | None = None


@dataclass(eq=False)
class Block:
    """Block i's parameters: the affine layer's weight and bias; on a hidden block with a norm, the norm's weight
    and bias and its param dict (settings and running statistics, norms.py)."""

    weight: Param
    bias: Param | None
    norm_weight: Param | None = None
    norm_bias: Param | None = None
    norm_param: dict | None = None


class MLP:
    """MLP(ModelConfig(...)) or MLP(sizes, activation=..., loss=..., ...): the keywords are ModelConfig's fields
    (handmade/config.py), and the same arguments build reference.MLP. seed is an int or a numpy Generator: the
    parameters are drawn from it, and in training the dropout masks that are not given."""

    def __init__(self, sizes, *, seed=0, **settings):
        if isinstance(sizes, ModelConfig):
            self.config = replace(sizes, **settings) if settings else sizes
        else:
            self.config = ModelConfig(sizes, **settings)
        c, self.dtype = self.config, np.dtype(self.config.dtype)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        arrays = init_parameters(c, self.rng)
        self.embedding = Param(arrays["embedding.weight"]) if c.embedding else None
        self.norm = NORMS.get(c.norm)  # the norm kind's Norm row, or None
        self.layers = []
        for i, n_out in enumerate(c.sizes[1:]):
            name = f"layers.{i}"
            block = Block(Param(layers.column_major(arrays[f"{name}.weight"])), None)
            if c.bias:
                block.bias = Param(arrays[f"{name}.bias"])
            if self.norm and i < c.hidden:
                block.norm_weight = Param(arrays[f"{name}.norm.weight"])
                block.norm_bias = Param(arrays[f"{name}.norm.bias"])
                block.norm_param = self.norm.param(c, n_out, self.dtype)
            self.layers.append(block)
        self.hidden = layers.activation(c.activation, c.leaky_slope)  # Activation(forward, backward)
        self.output = losses.OUTPUTS[c.output]
        self.training = True
        self.acts, self.deltas, self.caches = {}, {}, {}  # of the last forward and backward
        self._targets = None  # the last loss()'s Y, for backward() without one

    # -- parameters and buffers, named as torch names them ----------------------------------------------------------
    def named_parameters(self):
        if self.embedding is not None:
            yield "embedding.weight", self.embedding
        for i, block in enumerate(self.layers):
            yield f"layers.{i}.weight", block.weight
            if block.bias is not None:
                yield f"layers.{i}.bias", block.bias
            if block.norm_param is not None:
                yield f"layers.{i}.norm.weight", block.norm_weight
                yield f"layers.{i}.norm.bias", block.norm_bias

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        """The running statistics of each batch norm, the live arrays: 'layers.{i}.norm.running_mean', ..."""
        for i, block in enumerate(self.layers):
            for key, value in (block.norm_param or {}).items():
                if isinstance(value, np.ndarray):
                    yield f"layers.{i}.norm.{key}", value

    def state_dict(self):
        """{name: array}: the live parameters and buffers, as torch's state_dict gives live tensors, in its order
        (each norm's buffers after its parameters; torch also counts batches in num_batches_tracked, which a
        momentum-based running average never reads and handmade does not keep)."""
        buffers, out = dict(self.named_buffers()), {}
        for name, p in self.named_parameters():
            out[name] = p.data
            if name.endswith(".norm.bias"):
                out.update({k: v for k, v in buffers.items() if k.startswith(name[: -len("bias")])})
        return out

    def load_state_dict(self, state):
        for name, array in self.state_dict().items():
            if name not in state and name.endswith(("running_mean", "running_var")):
                continue  # a state without buffers (parameters only) keeps the running statistics
            if state[name].shape != array.shape:
                raise ValueError(f"{name}: shape {state[name].shape}, expected {array.shape}")
            array[...] = state[name]

    def grads(self):
        return {name: p.grad for name, p in self.named_parameters()}

    def train(self, mode=True):
        """Training mode (batch statistics, dropout on) or, with mode False, eval mode; returns the MLP, as torch."""
        self.training = bool(mode)
        for block in self.layers:
            if block.norm_param is not None:
                block.norm_param["mode"] = "train" if mode else "test"
        return self

    def eval(self):
        return self.train(False)

    # -- forward and loss -------------------------------------------------------------------------------------------
    def forward(self, X, masks=None):
        """X (m, n_in), or integer tokens (m, k) with an embedding -> the output activation (m, n_out). In training,
        masks {'layers.{i}.dropout.mask': (m, out_i)} are the dropout masks to apply; where none are given they are
        drawn from the Generator, block by block. Records every tensor in .acts and every cache in .caches."""
        self.acts, self.caches = acts, caches = {}, {}
        x, last = X, len(self.layers) - 1
        if masks is None and self.training and self.config.dropout:
            masks = self.draw_masks(len(X))
        if self.embedding is not None:
            x, caches["embedding"] = layers.embedding_forward(X, self.embedding.data)  # (m, k * D)
            acts["embedding.out"] = x
        for i, block in enumerate(self.layers):
            caches[f"layers.{i}"] = x  # the affine layer's cache: its input (m, in_i)
            z = layers.linear_forward(x, block.weight.data, None if block.bias is None else block.bias.data)
            acts[f"layers.{i}.z"] = h = z  # (m, out_i)
            if block.norm_param is not None:
                h = self.norm_forward(i, z)
            x = a = (self.hidden if i < last else self.output).forward(h)
            acts[f"layers.{i}.a"] = a
            if self.config.dropout and i < last:
                x = self.dropout_forward(i, a, masks)
        return a

    def norm_forward(self, i, z):
        """Block i's norm of z (m, out_i) -> its out; records mean, var, xhat and out and, in training, the running
        statistics after this step's update."""
        block, name = self.layers[i], f"layers.{i}.norm"
        out, cache = self.norm.forward(z, block.norm_weight.data, block.norm_bias.data, block.norm_param)
        self.caches[name] = cache
        self.acts.update({f"{name}.mean": cache.mean, f"{name}.var": cache.var, f"{name}.xhat": cache.xhat})
        self.acts[f"{name}.out"] = out
        if self.training:
            prefix = f"layers.{i}."
            self.acts.update({k: v.copy() for k, v in self.named_buffers() if k.startswith(prefix)})
        return out

    def draw_masks(self, m):
        """{'layers.{i}.dropout.mask': (m, out_i)} for a training forward of m samples, drawn from the Generator block
        by block: what forward() draws when it is given none."""
        p, sizes = self.config.dropout, self.config.sizes
        return {
            f"layers.{i}.dropout.mask": layers.dropout_mask(self.rng, (m, n), p, self.dtype)
            for i, n in enumerate(sizes[1:-1])
        }

    def dropout_forward(self, i, a, masks):
        """Block i's dropout of a (m, out_i): in training with its mask of `masks`."""
        name, c, mask = f"layers.{i}.dropout", self.config, None
        if self.training:
            if f"{name}.mask" not in masks:
                raise ValueError(f"masks has no {name}.mask: give one for every hidden block")
            mask = np.asarray(masks[f"{name}.mask"], dtype=self.dtype)
            if mask.shape != a.shape:
                raise ValueError(f"{name}.mask has shape {mask.shape}, the activation {a.shape}: give one per unit")
            if not ((mask == 0) | (mask == 1)).all():
                raise ValueError(f"{name}.mask must hold 1.0 (kept) and 0.0 (dropped), without the 1/keep scaling")
            self.acts[f"{name}.mask"] = mask
        out, self.caches[name] = layers.dropout_forward(a, c.dropout, mask, self.training, c.dropout_form)
        self.acts[f"{name}.out"] = out
        return out

    def dropout_masks(self):
        """{'layers.{i}.dropout.mask': array} of the last training forward: to hand to reference.MLP."""
        return {name: v for name, v in self.acts.items() if name.endswith(".dropout.mask")}

    def loss(self, X, Y, masks=None):
        """Forward X, then the loss against Y (m, n_out), or class labels (m,), plus the penalties. Returns a float."""
        X, Y = self._inputs(X), self._targets_of(Y)
        a = self.forward(X, masks)
        self._targets = Y
        if self.config.prob_clip is None:
            value = losses.LOSSES[self.config.loss].value(self.acts[f"layers.{len(self.layers) - 1}.z"], a, Y)
        else:  # the value on clipped probabilities; the gradient stays the unclipped loss's
            value = losses.clipped(self.config.loss, a, Y, self.config.prob_clip)
        return self._reduce(value, len(Y)) + self.penalty(len(Y))

    def penalized(self):
        """The arrays the penalties act on: every affine weight, and the biases with bias_penalty."""
        for block in self.layers:
            yield block.weight
            if self.config.bias_penalty:
                yield block.bias

    def penalty(self, m):
        """l1/d sum|p| + l2/(2d) sum p^2 over penalized() for a batch of m samples (0 without penalties)."""
        c = self.config
        return losses.penalty([p.data for p in self.penalized()], c.l1, c.l2, c.divisor(m)) if c.l1 or c.l2 else 0.0

    def penalty_grad(self, p, m):
        """The penalties' gradient of one penalised array p: (l2/d) p + (l1/d) sign(p)."""
        return losses.penalty_grad(p, self.config.l1, self.config.l2, self.config.divisor(m))

    def _inputs(self, X):
        if self.embedding is None:
            return np.asarray(X, dtype=self.dtype)
        X, (V, D) = np.asarray(X), self.config.embedding
        if X.ndim != 2 or X.shape[1] * D != self.config.sizes[0]:
            raise ValueError(f"the embedding takes (m, {self.config.sizes[0] // D}) token indices, got shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) and np.all(X == np.round(X)) and 0 <= X.min() and X.max() < V):
            raise ValueError(f"the embedding's inputs must be whole numbers in [0, {V}), the rows of its table")
        return X.astype(np.intp)

    def _targets_of(self, Y):
        Y = np.asarray(Y)
        if Y.ndim == 1:  # class labels -> one-hot, or a column of 0/1 for a single output unit
            k = self.layers[-1].weight.data.shape[0]
            Y = Y[:, None] if k == 1 else np.eye(k, dtype=self.dtype)[Y]
        return Y.astype(self.dtype, copy=False)

    def _reduce(self, total, m):
        """A sum over the batch -> the configured reduction, times the loss scale."""
        if self.config.loss_scale != 1:
            total = total * self.config.loss_scale
        return total / m if self.config.reduction == "mean" else total

    # -- backward: the output layer first, then down ---------------------------------------------------------------
    def backward(self, Y=None):
        """Backpropagate the last loss() against Y (by default the targets that loss() was given). Sets each Param's
        .grad (adding to it unless it is None, as torch accumulates) and returns {name: grad}. Records every
        gradient tensor in .deltas, in the order it is computed."""
        Y = self._targets if Y is None else self._targets_of(Y)
        self.deltas = {}
        dz = self.output_delta(Y)  # (m, n_out)
        for i in range(len(self.layers) - 1, -1, -1):
            self.deltas[f"layers.{i}.dz"] = dz
            block = self.layers[i]
            self._accumulate((block.weight, block.bias), self.layer_grads(i, dz))
            if i:
                dz = self.hidden_delta(i - 1, dz)
        if self.embedding is not None:
            dout = dz @ self.layers[0].weight.data  # (m, k * D)
            self.deltas["embedding.dout"] = dout
            dC = layers.embedding_backward(dout, self.caches["embedding"], self.config.embedding[0])
            self._accumulate((self.embedding,), (dC,))
        return self.grads()

    @staticmethod
    def _accumulate(params, grads):
        for p, g in zip(params, grads):
            if p is not None:
                p.grad = g if p.grad is None else p.grad + g

    def output_delta(self, Y):
        """BP1: dL/dz of the output layer (m, n_out) against targets Y: a - Y for the matched pairs, (a - Y) back
        through the output activation for mse (recorded as dL/da), the margins' indicators for svm; divided by m
        for the mean and times the loss scale."""
        last = f"layers.{len(self.layers) - 1}"
        z, a = self.acts[f"{last}.z"], self.acts[f"{last}.a"]
        if self.config.loss == "mse":
            self.deltas[f"{last}.da"] = self._reduce(a - Y, len(z))
        return self._reduce(losses.LOSSES[self.config.loss].grad(z, a, Y, self.output.backward), len(z))

    def hidden_delta(self, i, dz_above):
        """BP2: dL/dz of hidden layer i (m, out_i) from dL/dz of the layer above: da = dz_above W_{i+1}; back
        through block i's dropout (the mask and 1/keep reapplied), then its activation, dh = da * f'(h) with h
        the activation's input, then its norm (the batch-coupled backward of norms.py, which also gives the norm's
        weight and bias gradients). Records each gradient on the way."""
        block, name = self.layers[i], f"layers.{i}"
        da = dz_above @ self.layers[i + 1].weight.data  # (m, out_i)
        if self.config.dropout:
            self.deltas[f"{name}.dropout.dout"] = da
            da = layers.dropout_backward(da, self.caches[f"{name}.dropout"])
        self.deltas[f"{name}.da"] = da
        if block.norm_param is None:
            return self.hidden.backward(da, self.acts[f"{name}.z"], self.acts[f"{name}.a"])
        dh = self.hidden.backward(da, self.acts[f"{name}.norm.out"], self.acts[f"{name}.a"])  # (m, out_i)
        self.deltas[f"{name}.norm.dout"] = dh
        dz, dgamma, dbeta = self.norm.backward(dh, self.caches[f"{name}.norm"])
        self._accumulate((block.norm_weight, block.norm_bias), (dgamma, dbeta))
        return dz

    def layer_grads(self, i, dz):
        """BP3 and BP4: layer i's gradients from its dL/dz (m, out_i) and its input x (m, in_i), the affine layer's
        cache: dW = dz^T x (out_i, in_i) and db = the sum of dz over the batch (out_i,), or None without biases;
        each plus the penalties' gradient where they act (penalized())."""
        block, m = self.layers[i], len(dz)
        dW, db, _ = layers.linear_backward(dz, self.caches[f"layers.{i}"], block.weight.data, need_dx=False)
        if self.config.l1 or self.config.l2:
            dW += self.penalty_grad(block.weight.data, m)
            if self.config.bias_penalty:
                db += self.penalty_grad(block.bias.data, m)
        return dW, db if block.bias is not None else None

    def predict(self, X):
        """Class indices (m,) for X, in eval mode (running statistics, no dropout); with one output unit, 1 where
        it exceeds one half."""
        was = self.training
        try:
            a = self.eval().forward(self._inputs(X))
        finally:
            self.train(was)
        return (a[:, 0] > 0.5).astype(int) if a.shape[1] == 1 else np.argmax(a, axis=1)
