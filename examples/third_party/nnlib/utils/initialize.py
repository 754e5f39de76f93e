# ruff: noqa
# Third-party code: nnlib 0.2 as published on PyPI (pip download --no-deps nnlib==0.2, the wheel), by Felix Zhou,
# Apache License 2.0 (the wheel's "License: Apache2" and classifier "License :: OSI Approved :: Apache Software License";
# the wheel ships no licence file: https://www.apache.org/licenses/LICENSE-2.0). This module is nnlib/utils/initialize.py, unchanged.
import numpy as np


def he_initialization(layers_dims, layer):
    """
    Arguments:

    layer_dims -- python list containing tuples of dimensions of each layer in the network

    layer -- layer number of current layer

    Returns:

    constant -- numerical constant used to scale the initialized weights
    """
    return np.sqrt(np.divide(2, layers_dims[layer-1]))


def initialize_parameters(layers_dims, initialization_func=he_initialization):
    """
    Arguments:

    layer_dims -- python list containing tuples of dimensions of each layer in the network

    Returns:

    parameters -- python dictionary containing dictionary of Weights "W[]" and dictionary of bias vectors "b[]"
    """

    parameters = dict(W={}, b={})
    L = len(layers_dims)

    for l in range(1, L):
        parameters["W"][l] = np.random.randn(layers_dims[l], layers_dims[l-1])*initialization_func(layers_dims, l)
        parameters["b"][l] = np.zeros((layers_dims[l], 1))

    return parameters
