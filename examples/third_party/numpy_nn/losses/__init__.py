# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/losses/__init__.py; unchanged.
# MAE
from .MeanAbsoluteError import MeanAbsoluteError, MAE

# MSE
from .MeanSquaredError import MeanSquaredError, MSE

# BCE
from .BinaryCrossEntropyLoss import BCE, BinaryCrossEntropyLoss

# Cross EntropyLoss
from .CrossEntropyLoss import CE, CrossEntropyLoss