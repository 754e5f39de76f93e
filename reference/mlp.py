"""The PyTorch twin of handmade.MLP: the same constructor, the same names, autograd for the backward.

The layers are an nn.ModuleList of nn.Linear, so torch itself names the parameters 'layers.{i}.weight' (out, in)
and 'layers.{i}.bias'. The weights never come from torch's RNG: they are drawn by handmade's init from the same
numpy Generator (MLP(...)), or copied from a handmade model (MLP.from_handmade). Forward records z and a of each
layer, and retains the gradient of each z, so dL/dz can be read after backward under handmade's names.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handmade import check_config
from handmade.init import init_params

ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,  # negative_slope 0.01, as handmade
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def _cross_entropy(z, a, Y):
    return F.cross_entropy(z, Y)  # probability targets, mean over the batch


def _bce(z, a, Y):
    return F.binary_cross_entropy_with_logits(z, Y, reduction="sum") / len(z)


def _mse(z, a, Y):
    return 0.5 * F.mse_loss(a, Y, reduction="sum") / len(z)


LOSSES = {"cross_entropy": _cross_entropy, "bce": _bce, "mse": _mse}


class MLP(nn.Module):
    """MLP(sizes, activation, loss, output, init, l2, dtype, seed): see handmade.MLP; the arguments are the same."""

    def __init__(self, sizes, activation="relu", loss="cross_entropy", output=None, init="torch", l2=0.0,
                 dtype="float64", seed=0):
        super().__init__()
        output = check_config(sizes, activation, loss, output, init, dtype, l2)
        self.config = dict(sizes=[int(n) for n in sizes], activation=activation, loss=loss, output=output,
                           init=init, l2=float(l2), dtype=np.dtype(dtype).name)
        self.dtype = getattr(torch, self.config["dtype"])
        sizes = self.config["sizes"]
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out, dtype=self.dtype) for n_in, n_out in zip(sizes, sizes[1:]))
        for layer in self.layers:  # column-major (out, in) weights, as handmade stores them: same shapes, same
            # maths, and torch keeps each gradient and momentum buffer in its parameter's layout, so the
            # lockstep comparison reads both sides contiguously
            layer.weight = nn.Parameter(torch.empty(layer.in_features, layer.out_features, dtype=self.dtype).t())
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        params = init_params(sizes, init, rng, np.dtype(dtype))
        self.copy_from({name: p for i, (W, b) in enumerate(params)
                        for name, p in ((f"layers.{i}.weight", W), (f"layers.{i}.bias", b))})
        self.l2 = float(l2)
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
                p.copy_(torch.from_numpy(np.asarray(arrays[name])))

    def forward(self, X):
        """X (m, n_in) -> output activation (m, n_out); records z and a of every layer."""
        a, last = torch.as_tensor(X, dtype=self.dtype), len(self.layers) - 1
        hidden, output = ACTIVATIONS[self.config["activation"]], ACTIVATIONS[self.config["output"]]
        for i, layer in enumerate(self.layers):
            z = layer(a)  # (m, out_i)
            if z.requires_grad:
                z.retain_grad()
            a = hidden(z) if i < last else output(z)
            self._acts[f"layers.{i}.z"], self._acts[f"layers.{i}.a"] = z, a
        return a

    def loss(self, X, Y):
        """Forward, then the loss plus l2/(2m) * sum ||W||^2, kept for backward(). Returns a float."""
        Y = torch.as_tensor(np.asarray(Y))
        if Y.ndim == 1:
            Y = F.one_hot(Y.long(), self.layers[-1].out_features)
        Y = Y.to(self.dtype)
        a = self.forward(X)
        value = LOSSES[self.config["loss"]](self._acts[f"layers.{len(self.layers) - 1}.z"], a, Y)
        if self.l2:
            value = value + self.l2 / (2 * len(Y)) * sum((layer.weight**2).sum() for layer in self.layers)
        self._loss = value
        return value.item()

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
        return {name[:-1] + "dz": t.grad.numpy() for name, t in self._acts.items()
                if name.endswith(".z") and t.grad is not None}

    def grads(self):
        return {name: None if p.grad is None else p.grad.numpy() for name, p in self.named_parameters()}

    def numpy_state(self):
        return {name: p.detach().numpy() for name, p in self.named_parameters()}

    def predict(self, X):
        with torch.no_grad():
            return self.forward(X).argmax(dim=1).numpy()
