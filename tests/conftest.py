"""Shared fixtures: the embedded digits (parsed once per session) and a one-call lockstep runner."""

import dataclasses

import numpy as np
import pytest

from lockstep import data
from lockstep.config import Config
from lockstep.engine import Lockstep
from lockstep.findings.bugs import BUGS
from lockstep.sides import Handmade


@pytest.fixture(scope="session")
def digits():
    return data.embedded()


@pytest.fixture(scope="session")
def prepared(digits):
    """{dtype: (X_train, Y_train)} for the first 200 embedded training digits, scaled to [0, 1]."""
    return {dt: data.prepare(digits, 200, "unit", dt)[:2] for dt in ("float32", "float64")}


AGREES = {"float64": ("agree",), "float32": ("agree", "inconclusive")}  # a float32 run may say it cannot see


def settings(**overrides):
    cfg = dataclasses.replace(Config(), **overrides)
    cfg.validate()
    return cfg


def lockstep(X, Y, bug=None, **overrides):
    """Run handmade (or handmade with a planted bug) against the twin under Config(**overrides): the Outcome."""
    cfg = settings(**overrides)
    rng = np.random.default_rng(cfg.seed)
    side = Handmade(cfg, cfg.dtype, rng, len(X), BUGS[bug] if isinstance(bug, str) else bug)
    return Lockstep(cfg, X, Y, side, rng).run()


def synthetic(n, n_in, n_out, dtype, seed=1):
    """n random inputs and one-hot targets, for shapes the digits cannot give."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in)).astype(dtype)
    Y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n)]
    return X, Y
