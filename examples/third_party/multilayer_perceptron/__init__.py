# ruff: noqa
# Third-party code: multilayer-perceptron-from-scratch 0.1.4 as published on PyPI (pip download --no-deps multilayer-perceptron-from-scratch==0.1.4, the wheel), by Nehorai Yosef, MIT
# (see LICENSE beside this file). This module is the package's multilayer_perceptron/__init__.py, unchanged.
from .network import Network