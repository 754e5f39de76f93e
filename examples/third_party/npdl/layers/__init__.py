# ruff: noqa
# Third-party code: NumpyDL (npdl) 0.4.0.1 as published on PyPI (pip download --no-deps npdl==0.4.0.1, the sdist),
# by Chao-Ming Wang (oujago), MIT (see LICENSE beside this file). This module is the sdist's npdl/layers/__init__.py;
# only the lines that import the modules kept here
# (base, core) remain; those of convolution, embedding, normalization, pooling, recurrent and shape are left out.
# -*- coding: utf-8 -*-


# import file
from . import base
from . import core


# base
from .base import Layer


# common layers
from .core import Linear
from .core import Dense
from .core import Softmax
from .core import Dropout














