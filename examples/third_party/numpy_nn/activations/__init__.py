# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/activations/__init__.py; unchanged.
# sigmoid function
from .Sigmoid import Sigmoid, sigmoid

# ReLU
from .ReLU import ReLU, relu

# TanH
from .TanH import TanH, tanh

# ELU
from .ELU import ELU, elu

# LeakyReLU
from .LeakyReLU import LeakyReLU, leakyrelu

# Softmax
from .Softmax import Softmax, softmax

# Swish
from .Swish import Swish, swish