"""reference: the PyTorch twin of handmade.MLP, with torch.optim's own optimizers and schedules.

    import reference as backend         # or: import handmade as backend
    net = backend.MLP([784, 128, 64, 10], activation="relu", loss="cross_entropy", seed=0)
    opt = backend.SGD(net.parameters(), lr=0.05, momentum=0.9)

The weights come from handmade's init (one numpy Generator), never from torch's RNG. The momentum forms torch.optim
has no class for are torch arithmetic of the courses' formulas (reference/optim.py).
"""

from torch.nn.utils import clip_grad_norm_, clip_grad_value_
from torch.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from torch.optim.lr_scheduler import ExponentialLR, LambdaLR, StepLR

from .mlp import MLP
from .optim import SGDMovingAverage, SGDVelocity, start_step

__all__ = [
    "MLP",
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
]
