# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/optimizers/Momentum.py; unchanged.
import numpy as np

class Momentum():

    def __init__(self, lr = 5e-3, beta = 0.9):
        self.lr= lr
        self.beta = beta

    def set_parameters(self, params):
        self.parmeters = params
        run_values = {}
        for key in params.keys():
            run_values[key] = 0
        self.run_values = run_values

    def __call__(self, param, dL, param_name):
        value = self.run_values[param_name]
        beta = self.beta
        new_value = beta * value + (1-beta)*dL
        self.run_values[param_name] = new_value
        return param - self.lr * new_value