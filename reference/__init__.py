"""reference: the PyTorch twin of handmade.MLP, with torch.optim's own optimizers and schedules.

    import reference as backend         # or: import handmade as backend
    net = backend.MLP([784, 128, 64, 10], activation="relu", loss="cross_entropy", seed=0)
    opt = backend.SGD(net.parameters(), lr=0.05, momentum=0.9)

The weights come from handmade's init (one numpy Generator), never from torch's RNG.
"""

from torch.optim import SGD, Adam, AdamW
from torch.optim.lr_scheduler import ExponentialLR, LambdaLR, StepLR

from .mlp import MLP

__all__ = ["MLP", "SGD", "Adam", "AdamW", "StepLR", "ExponentialLR", "LambdaLR"]
