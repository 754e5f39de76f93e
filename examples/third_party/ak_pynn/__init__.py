# ruff: noqa
# Third-party code: ak-pynn 0.1.8 as published on PyPI (pip download --no-deps ak-pynn==0.1.8, the wheel), by Ankit
# Kohli, MIT (see LICENSE beside this file). This module is the wheel's ak_pynn/__init__.py; unchanged.
"""
ak_pynn.

A pure python neural network library with visualization

"""

__version__ = "0.1.8"
__author__ = 'Ankit kohli'
__credits__ = 'Ankit (ankitkohli181@gmail.com)'