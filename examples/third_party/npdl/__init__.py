# ruff: noqa
# Third-party code: NumpyDL (npdl) 0.4.0.1 as published on PyPI (pip download --no-deps npdl==0.4.0.1, the sdist),
# by Chao-Ming Wang (oujago), MIT (see LICENSE beside this file). This module is the sdist's npdl/__init__.py;
# unchanged.
# -*- coding: utf-8 -*-

from . import activations
from . import initializations
from . import layers
from . import objectives
from . import optimizers
from . import utils
from .model import Model


__version__ = "0.4.0.1"

