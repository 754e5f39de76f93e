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
from .optim import SGD, Adagrad, Adam, AdamW, RMSprop, SGDMovingAverage, SGDVelocity, start_step
from .training import ExponentialLR, LambdaLR, StepLR, clip_grad_norm_, clip_grad_value_

__all__ = [
    "MLP",
    "ModelConfig",
    "Param",
    "SGD",
    "Adam",
    "AdamW",
    "SGDMovingAverage",
    "SGDVelocity",
    "RMSprop",
    "Adagrad",
    "start_step",
    "StepLR",
    "ExponentialLR",
    "LambdaLR",
    "clip_grad_value_",
    "clip_grad_norm_",
    "ACTIVATIONS",
    "LOSSES",
    "NORMS",
    "INITS",
]
