"""The speed benchmark's contenders train what they claim to (benchmarks/bench.py, section 6): plain torch eager from
handmade's initial weights, on the same batches, lands where handmade and the twin land; the ratios are medians of
per-round ratios; a goal passes at or below its number."""

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from lockstep.config import Config, optimizer_settings

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plain_torch_trains_handmade_network_on_same_batches(dtype):
    """Three steps (batches of 64, 64 and a partial 22) of plain torch and of handmade from the same weights end at
    the same parameters, to the dtype's rounding: the same network, loss, optimizer and batches."""
    rng = np.random.default_rng(3)
    X = rng.random((150, 784)).astype(dtype)
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, 150)]
    cfg = dataclasses.replace(Config(), dtype=dtype, batch_size=64)
    ours, theirs = bench.sides(cfg, len(X))
    plain = bench.plain_torch(ours.params(), X, Y, cfg.lr, optimizer_settings(cfg)["momentum"], 64)
    bench.epoch_runner(ours, X, Y, 64)()
    bench.epoch_runner(theirs, X, Y, 64)()
    plain()
    tol = 1e-5 if dtype == "float32" else 1e-12
    trained = dict(plain.net.named_parameters())
    for i in range(3):
        for kind in ("weight", "bias"):
            mine = ours.params()[f"layers.{i}.{kind}"]
            torch_side = trained[f"{2 * i}.{kind}"].detach().numpy()
            assert torch_side.dtype == mine.dtype
            np.testing.assert_allclose(torch_side, mine, rtol=0, atol=tol * np.abs(mine).max())
            twin = theirs.net.numpy_state()[f"layers.{i}.{kind}"]
            np.testing.assert_allclose(twin, mine, rtol=0, atol=tol * np.abs(mine).max())
    assert not np.allclose(ours.params()["layers.0.weight"], bench.sides(cfg, len(X))[0].params()["layers.0.weight"])


def test_ratio_is_the_median_of_per_round_ratios():
    table = [[1.0, 2.0], [3.0, 1.0], [2.0, 2.0]]  # per-round ratios 0.5, 3, 1
    assert bench.ratio(table, 0, 1) == 1.0
    assert bench.best(table, 0) == 1.0


def test_goals_are_the_issue_numbers():
    assert {key: goal for key, _, goal in bench.GOALS} == dict(a=0.5, b=0.5, c=1.3)
