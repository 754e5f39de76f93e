"""handmade: a multi-layer perceptron written by hand in NumPy, the trusted twin of reference/ (PyTorch).

    import handmade as backend          # or: import reference as backend
    net = backend.MLP([784, 128, 64, 10], activation="relu", loss="cross_entropy", seed=0)
    opt = backend.SGD(net.parameters(), lr=0.05, momentum=0.9)
    opt.zero_grad(); loss = net.loss(X, Y); net.backward(); opt.step()

This package imports only NumPy.
"""

from .config import ModelConfig
from .init import INITS
from .layers import ACTIVATIONS
from .losses import LOSSES
from .mlp import MLP, Param
from .norms import NORMS
from .optim import SGD, Adam, AdamW, ExponentialLR, LambdaLR, StepLR

__all__ = [
    "MLP",
    "ModelConfig",
    "Param",
    "SGD",
    "Adam",
    "AdamW",
    "StepLR",
    "ExponentialLR",
    "LambdaLR",
    "ACTIVATIONS",
    "LOSSES",
    "NORMS",
    "INITS",
]
