# ruff: noqa
# Third-party code: PyDeepLearning 0.1 as published on PyPI (pip download --no-deps pydeeplearning==0.1, the sdist), by hugo (frugs), MIT
# (see LICENSE beside this file). This module is the package's pydl/__init__.py, unchanged.
from .network import Network

__all__ = ["network", "iterutils", "mathutils"]
