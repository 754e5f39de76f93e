# ruff: noqa
# Third-party code: NumpyDL (npdl) 0.4.0.1 as published on PyPI (pip download --no-deps npdl==0.4.0.1, the sdist),
# by Chao-Ming Wang (oujago), MIT (see LICENSE beside this file). This module is the sdist's npdl/utils/__init__.py;
# the lines that import utils/data.py (one_hot,
# unhot: label encoding, not training) are left out, and that module with them.
# -*- coding: utf-8 -*-


# import file
from . import random


# random.py
from .random import get_rng
from .random import set_rng
from .random import set_seed
from .random import get_dtype
from .random import set_dtype

