# ruff: noqa
# Third-party code: numpy-nn 0.2.6 as published on PyPI (pip download --no-deps numpy-nn==0.2.6, the wheel), by Rahul
# D Shetty, MIT (see LICENSE beside this file). This module is the wheel's numpy_nn/losses/CrossEntropyLoss.py; unchanged.
import numpy as np

class CrossEntropyLoss():
    '''
    Cross Entropy Loss class that takes in real output and predictions which are probabilities and returns the loss.
    '''
    def __call__(self, y, y_pred):
        self.last_y_pred = y_pred
        self.last_y = y
        assert y_pred.shape == y.shape

        n = y.shape[0]
        loss = - np.nansum( y * np.log(y_pred)) / n
        self.last_loss = loss
        return self.last_loss

    def gradient(self):
        y = self.last_y
        y_pred = self.last_y_pred
        n = y.shape[0]
        self.dL_dy = (y_pred - y)/n
        return self.dL_dy

class CE(CrossEntropyLoss):

    def __init__(self):
        pass