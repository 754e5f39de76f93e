# ruff: noqa
# Third-party code: PyDeepLearning 0.1 as published on PyPI (pip download --no-deps pydeeplearning==0.1, the sdist), by hugo (frugs), MIT
# (see LICENSE beside this file). This module is the package's pydl/mathutils.py, unchanged.
import numpy


def sigmoid(x):
    return 1.0 / (1.0 + numpy.exp(-x))


def sigmoid_prime(y):
    return y * (1 - y)