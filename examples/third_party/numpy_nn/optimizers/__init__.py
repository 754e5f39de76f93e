# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/optimizers/__init__.py; unchanged.
'''
Most Implementation are based on following article: https://medium.com/analytics-vidhya/optimization-algorithms-for-deep-learning-1f1a2bd4c46b
'''
from .SGD import SGD

from .Momentum import Momentum

from .RMSProp import RMSProp

from .Adam import Adam