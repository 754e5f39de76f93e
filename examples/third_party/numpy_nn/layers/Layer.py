# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/layers/Layer.py; unchanged.
class Layer:
    '''
    Abstract class with Layer definitions
    '''

    def __init__(self):
        pass

    def forward(self, x):
        pass

    def __call__(self, x):
        return self.forward(x)

    def backward(self, dL_dy):
        pass

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer

    def optimize(self):
        pass