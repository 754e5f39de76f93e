"""The PyTorch twin of handmade.MLP: the same constructor, the same names, autograd for the backward.

The layers are an nn.ModuleList of nn.Linear, so torch itself names the parameters 'layers.{i}.weight' (out, in)
and 'layers.{i}.bias'. The weights never come from torch's RNG: they are drawn by handmade's init from the same
numpy Generator (MLP(...)), or copied from a handmade model (MLP.from_handmade). Forward records z and a of each
layer, and retains their gradients, so dL/dz and dL/da can be read after backward under handmade's names.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handmade.init import init_params
from handmade.layers import LEAKY_SLOPE
from handmade.losses import check_prob_clip
from handmade.mlp import model_config

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
    "mse": lambda z, a, Y: 0.5 * F.mse_loss(a, Y, reduction="sum"),
}
# the value of those two on probabilities c clipped to [p, 1 - p] (prob_clip): what NNFS and scikit-learn report
CLIPPED = {
    "cross_entropy": lambda c, Y: -(Y * torch.log(c)).sum(),
    "bce": lambda c, Y: -(Y * torch.log(c) + (1 - Y) * torch.log(1 - c)).sum(),
}


class MLP(nn.Module):
    """MLP(sizes, activation, loss, output, init, l2, dtype, seed, ...): see handmade.MLP; the arguments are the
    same."""

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
        leaky_slope=LEAKY_SLOPE,
        prob_clip=None,
    ):
        super().__init__()
        self.config = model_config(
            sizes, activation, loss, output, init, l2, dtype, l2_norm, n_train, reduction, loss_scale, bias, leaky_slope
        )
        self.config["prob_clip"] = check_prob_clip(loss, prob_clip)
        self.dtype = getattr(torch, self.config["dtype"])
        sizes = self.config["sizes"]
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out, bias=bias, dtype=self.dtype) for n_in, n_out in zip(sizes, sizes[1:])
        )
        for layer in self.layers:  # column-major (out, in) weights, as handmade stores them: same shapes, same
            # maths, and torch keeps each gradient and momentum buffer in its parameter's layout, so the
            # lockstep comparison reads both sides contiguously
            layer.weight = nn.Parameter(torch.empty(layer.in_features, layer.out_features, dtype=self.dtype).t())
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        params = init_params(sizes, init, rng, np.dtype(dtype))
        self.copy_from(
            {
                name: p
                for i, (W, b) in enumerate(params)
                for name, p in ((f"layers.{i}.weight", W), (f"layers.{i}.bias", b))
            }
        )
        self._acts = {}

    @classmethod
    def from_handmade(cls, net):
        """A twin with the same config and a copy of the handmade model's current weights."""
        twin = cls(**net.config, seed=0)
        twin.copy_from(net.state_dict())
        return twin

    def copy_from(self, arrays):
        """Overwrite the parameters with {name: numpy array}, as handmade.MLP.load_state_dict does."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if tuple(arrays[name].shape) != tuple(p.shape):
                    raise ValueError(f"{name}: shape {arrays[name].shape}, expected {tuple(p.shape)}")
                p.copy_(torch.from_numpy(np.asarray(arrays[name], dtype=self.config["dtype"])))

    def forward(self, X):
        """X (m, n_in) -> output activation (m, n_out); records z and a of every layer, retaining their grads."""
        a, last = torch.as_tensor(X, dtype=self.dtype), len(self.layers) - 1
        hidden, output = ACTIVATIONS[self.config["activation"]], ACTIVATIONS[self.config["output"]]
        slope = self.config["leaky_slope"]
        for i, layer in enumerate(self.layers):
            z = layer(a)  # (m, out_i)
            a = hidden(z, slope) if i < last else output(z, slope)
            if z.requires_grad:
                z.retain_grad()
                if a is not z:
                    a.retain_grad()
            self._acts[f"layers.{i}.z"], self._acts[f"layers.{i}.a"] = z, a
        return a

    def loss(self, X, Y):
        """Forward, then the loss plus the l2 penalty, kept for backward(). Returns a float."""
        Y = torch.as_tensor(np.asarray(Y))
        k = self.layers[-1].out_features
        if Y.ndim == 1:
            Y = Y[:, None] if k == 1 else F.one_hot(Y.long(), k)
        Y = Y.to(self.dtype)
        a = self.forward(X)
        value = LOSSES[self.config["loss"]](self._acts[f"layers.{len(self.layers) - 1}.z"], a, Y)
        self._loss = self._finish(value, Y)
        p = self.config["prob_clip"]
        if p:  # the value on clipped probabilities; the gradient stays the unclipped loss's
            return self._finish(CLIPPED[self.config["loss"]](torch.clamp(a.detach(), p, 1 - p), Y), Y).item()
        return self._loss.item()

    def _finish(self, value, Y):
        """The loss scale, the reduction and the l2 penalty, on a sum of per-sample losses."""
        if self.config["loss_scale"] != 1:
            value = value * self.config["loss_scale"]
        if self.config["reduction"] == "mean":
            value = value / len(Y)
        if self.config["l2"]:
            d = {"batch": len(Y), "dataset": self.config["n_train"], "none": 1}[self.config["l2_norm"]]
            value = value + self.config["l2"] / (2 * d) * sum((layer.weight**2).sum() for layer in self.layers)
        return value

    def backward(self):
        """Autograd through the last loss(); returns {name: grad} as numpy arrays."""
        self._loss.backward()
        return self.grads()

    # -- numpy views under handmade's names, for the lockstep comparison -----------------------------------
    @property
    def acts(self):
        return {name: t.detach().numpy() for name, t in self._acts.items()}

    @property
    def deltas(self):
        """dL/dz of every layer and dL/da below the output (and of the output for mse), under handmade's names."""
        last = f"layers.{len(self.layers) - 1}.a"
        out = {}
        for name, t in self._acts.items():
            if t.grad is None or (name == last and self.config["loss"] != "mse"):
                continue
            out[name[:-1] + ("dz" if name.endswith(".z") else "da")] = t.grad.numpy()
        return out

    def grads(self):
        return {name: None if p.grad is None else p.grad.numpy() for name, p in self.named_parameters()}

    def numpy_state(self):
        return {name: p.detach().numpy() for name, p in self.named_parameters()}

    def predict(self, X):
        with torch.no_grad():
            a = self.forward(X)
            return ((a[:, 0] > 0.5).long() if a.shape[1] == 1 else a.argmax(dim=1)).numpy()
