# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/optimizers/SGD.py; unchanged.
import numpy as np

class SGD():

    def __init__(self, lr = 5e-3):
        self.lr= lr

    def __call__(self, param, dL, param_name=None):
        return param - self.lr * dL

    def set_parameters(self, params, param_name=None):
        self.parmeters = params