# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/__init__.py; unchanged.
"""Top-level package for numpy_nn."""

__author__ = """Rahul D Shetty"""
__email__ = '35rahuldshetty@gmail.com'
__version__ = '0.1.0'

# Layers
from .layers import Neuron

# Losses
from .losses import MeanAbsoluteError
