# ruff: noqa
# Third-party code: nnlib 0.2 as published on PyPI (pip download --no-deps nnlib==0.2, the wheel), by Felix Zhou,
# Apache License 2.0 (the wheel's "License: Apache2" and classifier "License :: OSI Approved :: Apache Software License";
# the wheel ships no licence file: https://www.apache.org/licenses/LICENSE-2.0). This module is nnlib/utils/activation.py, unchanged.
import numpy as np


def sigmoid(Z):
    """
    sigmoid activation function

    Arguments:

    Z -- numpy array

    Returns:

    A -- output of sigmoid(Z)

    cache -- Z, useful for back propagation
    """

    A = 1/(1+np.exp(-Z))

    return A


def relu(Z):
    """
    RELU activation function

    Arguments:

    Z -- numpy array

    Returns:

    A -- output of rulu(Z)

    cache -- Z, useful for back propagation
    """

    A = np.maximum(0, Z)

    return A
