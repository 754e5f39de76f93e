# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/activations/LeakyReLU.py; unchanged.
import numpy as np
from ..layers import Layer

class LeakyReLU(Layer):
    '''
    '''
    def forward(self, x, alpha=0.01):
        self.alpha = alpha
        self.last_x = x
        self.result = np.where( x > 0, x, alpha*(x) )
        return self.result

    def __call__(self, x, alpha=0.01):
        return self.forward(x, alpha)

    def backward(self, dL_dy):
        x = self.last_x
        self.dy_dx = np.where(x > 0, 1, self.alpha)
        return self.dy_dx * dL_dy

class leakyrelu(LeakyReLU):
    def __init__(self):
        pass
