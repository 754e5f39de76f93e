# ruff: noqa
# Third-party code: PyDeepLearning 0.1 as published on PyPI (pip download --no-deps pydeeplearning==0.1, the sdist), by hugo (frugs), MIT
# (see LICENSE beside this file). This module is the package's pydl/iterutils.py, unchanged.
import itertools


def window(seq, n=2):
    it = iter(seq)
    result = tuple(itertools.islice(it, n))
    if len(result) == n:
        yield result    
    for elem in it:
        result = result[1:] + (elem,)
        yield result
