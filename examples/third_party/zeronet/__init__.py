# ruff: noqa
# Third-party code: zeronet 0.1.3 as published on PyPI (pip download --no-deps zeronet==0.1.3, the wheel), by ddlee,
# MIT (declared in the wheel's metadata and in each module's header). This module is the wheel's zeronet/__init__.py; unchanged.
__version__ = '0.1.0'
