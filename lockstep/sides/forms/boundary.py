"""Where the tool's arrays meet the user's: NumPy arrays or torch tensors, samples as rows or as columns, Y as
one-hot floats or integer labels. A Boundary converts both ways, so that every form (lockstep/sides/forms/) speaks
to the engine in one language: NumPy arrays, samples as rows, torch's names.

    samples rows     X (m, n),  Y (m, k) one-hot or (m,) labels         most code
    samples columns  X (n, m),  Y (k, m) one-hot or (1, m) labels       Coursera's Deep Learning Specialization
    arrays torch     the same shapes as torch tensors of the run's dtype (makemore's manual backprop, autograd off)
"""

import sys
from dataclasses import dataclass

import numpy as np

from ... import config

ARRAYS, SAMPLES, TARGETS = (
    tuple(c for c in choices if c != "auto") for choices in (config.ARRAYS, config.SAMPLES, config.TARGETS)
)


def torch_module():
    """torch if it is imported (the twin imports it), else None: a NumPy candidate never makes the tool import it."""
    return sys.modules.get("torch")


def is_tensor(x):
    torch = torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def as_numpy(x):
    """A torch tensor as a NumPy array (a view where torch allows one); anything else as it is."""
    if is_tensor(x):
        return x.detach().cpu().numpy()
    return x


@dataclass(frozen=True)
class Boundary:
    arrays: str = "numpy"
    samples: str = "rows"
    targets: str = "onehot"

    def __str__(self):
        return ", ".join(
            [
                f"samples as {self.samples}",
                "Y as integer labels" if self.targets == "labels" else "Y one-hot",
                "torch tensors" if self.arrays == "torch" else "NumPy arrays",
            ]
        )

    @property
    def columns(self):
        return self.samples == "columns"

    def can_hold(self, dtype):
        """Whether arrays of this dtype can cross (torch has no np.longdouble)."""
        return self.arrays != "torch" or np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))

    def give(self, a):
        """A fresh copy of a NumPy array for the user's code: the array, or a torch tensor of its dtype."""
        a = np.array(a, order="C")
        if self.arrays == "torch":
            import torch

            return torch.from_numpy(a)
        return a

    def batch(self, X):
        """X (m, n) as the user's code takes it."""
        return self.give(X.T if self.columns else X)

    def labels(self, Y):
        """Y (m, k) one-hot floats as the user's code takes it: one-hot (k, m) in columns, or integer labels, (m,)
        in rows and (1, m) in columns (one output unit: Y's 0/1 column)."""
        if self.targets == "labels":
            y = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.int64)
            return self.give(y[None, :] if self.columns else y)
        return self.give(Y.T if self.columns else Y)

    def to_rows(self, a):
        """A batch tensor the user's code returned, (m, n) in rows or (n, m) in columns, as rows (m, n)."""
        a = as_numpy(a)
        return a.T if self.columns and isinstance(a, np.ndarray) and a.ndim == 2 else a

    def oriented(self, shape):
        """The shape of a batch tensor (m, n) in the user's orientation."""
        return tuple(shape[::-1]) if self.columns else tuple(shape)


def take(x):
    """What the user's code returned, with torch tensors as NumPy arrays, one level into lists, tuples and dicts."""
    if isinstance(x, dict):
        return {k: as_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(as_numpy(v) for v in x) if not hasattr(x, "_fields") else x
    return as_numpy(x)


def shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
