"""Checking a user's own code: the example candidates in both layouts, correct and buggy."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lockstep import data, findings
from lockstep import gradcheck
from lockstep.candidate import Candidate, CandidateError, describe, from_layout, load, to_layout
from lockstep.config import PRESETS, Config
from lockstep.engine import Lockstep

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED = dict(PRESETS["seed"], steps=3)
DEFAULT = dict(steps=10)
CASES = [  # function, layout, config, expected (phase, tensor) or None, expected suspect
    ("bias_row_net.py:cost_and_grads", "bias-row", SEED, None, None),
    ("bias_row_net.py:cost_and_grads_bias_rows_only", "bias-row", SEED, ("backward", "layers.2.weight"),
     "bias-rows-only"),
    ("bias_row_net.py:cost_and_grads_sigmoid_at_a", "bias-row", SEED, ("backward", "layers.1.weight"),
     "sigmoid-prime-of-a"),
    ("torch_layout_net.py:loss_and_grads", "torch", DEFAULT, None, None),
    ("torch_layout_net.py:loss_and_grads_no_mean", "torch", DEFAULT, ("backward", "layers.2.weight"),
     "missing-mean"),
    ("torch_layout_net.py:loss_and_grads_relu_mask", "torch", DEFAULT, ("backward", "layers.1.weight"),
     "relu-grad-wrong-tensor"),
]


def candidate_run(digits, func, layout, **config):
    cfg = dataclasses.replace(Config(), **config)
    X, Y = data.prepare(digits, 1000, cfg.scale, cfg.dtype)[:2]
    file, name = func.split(":")
    spec = f"{file if file.startswith('/') else EXAMPLES / file}:{name}"
    return cfg, X, Y, Lockstep(cfg, X, Y, candidate=Candidate(load(spec), layout, spec))


@pytest.mark.parametrize("func,layout,config,where,suspect", CASES, ids=[c[0] for c in CASES])
def test_candidate(digits, func, layout, config, where, suspect):
    cfg, X, Y, run = candidate_run(digits, func, layout, **config)
    out = run.run()
    if where is None:
        assert out.verdict == "agree" and not out.drift, out.first_divergence
        n = len(cfg.sizes) - 1  # the loss, each gradient, each momentum buffer (seed: none) and each parameter
        assert all(s["tensors"] == 1 + 2 * n + (2 * n if cfg.momentum else 0) + 2 * n for s in out.steps)
        return
    d = out.first_divergence
    assert (d["step"], d["phase"], d["tensor"]) == (0,) + where
    found = findings.suspects(out, cfg, from_candidate=True)
    assert found["bug"] == suspect and "not as a certainty" in found["message"]


@pytest.mark.parametrize("func,layout,config,passes", [
    ("bias_row_net.py:cost_and_grads", "bias-row", SEED, True),
    ("bias_row_net.py:cost_and_grads_bias_rows_only", "bias-row", SEED, False),
    ("torch_layout_net.py:loss_and_grads", "torch", DEFAULT, True),
    ("torch_layout_net.py:loss_and_grads_relu_mask", "torch", DEFAULT, False),
])
def test_gradcheck_of_candidates(digits, func, layout, config, passes):
    cfg, X, Y, run = candidate_run(digits, func, layout, **config)
    assert gradcheck.for_run(run)["passed"] is passes


def test_missing_mean_with_l2_in_bias_row_layout(digits, tmp_path):
    """The l2 term keeps its own 1/m, so the gradients are not simply m times the reference's."""
    src = (EXAMPLES / "bias_row_net.py").read_text().replace("grads[l] = with_ones(acts[l]).T @ delta / m",
                                                              "grads[l] = with_ones(acts[l]).T @ delta")
    (tmp_path / "no_mean.py").write_text(src)
    cfg, X, Y, run = candidate_run(digits, f"{tmp_path / 'no_mean.py'}:cost_and_grads", "bias-row", **SEED)
    out = run.run()
    assert findings.suspects(out, cfg, from_candidate=True)["bug"] == "missing-mean"


def test_float32_only_error_is_divergence(digits, tmp_path):
    """Right in float64, 2% off in float32: not rounding, whatever float64 says."""
    src = (EXAMPLES / "torch_layout_net.py").read_text() + (
        "\n\ndef loss_and_grads_f32(params, X, Y):\n    loss, grads = loss_and_grads(params, X, Y)\n"
        "    return loss, [g * 1.02 if g.dtype == np.float32 else g for g in grads]\n")
    (tmp_path / "f32.py").write_text(src)
    cfg, X, Y, run = candidate_run(digits, f"{tmp_path / 'f32.py'}:loss_and_grads_f32", "torch", steps=20,
                                   dtype="float32")
    out = run.run()
    assert out.verdict == "diverge" and out.first_divergence["step"] == 0
    assert findings.local_error(out, cfg)["code"] == "float32_only"


def test_layouts_round_trip():
    rng = np.random.default_rng(0)
    sizes = [4, 3, 2]
    state = {f"layers.{i}.{k}": rng.standard_normal((o, n) if k == "weight" else (o,))
             for i, (n, o) in enumerate(zip(sizes, sizes[1:])) for k in ("weight", "bias")}
    for layout in ("torch", "bias-row"):
        back = from_layout(to_layout(state, 2, layout), sizes, layout, np.float64, "f")
        assert all(np.array_equal(back[k], state[k]) for k in state)
    rows = to_layout(state, 2, "bias-row")
    assert rows[0].shape == (5, 3) and np.array_equal(rows[0][0], state["layers.0.bias"])
    assert describe("layers.1.bias", None, sizes, "bias-row") == "params[1] row 0 (the biases)"
    assert describe("layers.1.weight", [1, 2], sizes, "bias-row") == "params[1][3, 1]"
    assert describe("layers.1.bias", [1], sizes, "torch") == "params[3][1]"


@pytest.mark.parametrize("grads,message", [
    ("not a list", "expected a list"),
    ([np.zeros((3, 4))], "returned 1 gradient arrays"),
    ([np.zeros((4, 3)), np.zeros(3), np.zeros((2, 3)), np.zeros(2)], "(transposed?)"),
    ([np.zeros((3, 4)), "x", np.zeros((2, 3)), np.zeros(2)], "grads[1] as str"),
    ([np.zeros((3, 4), int), np.zeros(3), np.zeros((2, 3)), np.zeros(2)], "grads[0] as ndarray of int64"),
    ([np.zeros((3, 4), np.float32), np.zeros(3), np.zeros((2, 3)), np.zeros(2)], "as float32 in a float64 run"),
])
def test_contract_violations_are_one_line(grads, message):
    with pytest.raises(CandidateError) as e:
        from_layout(grads, [4, 3, 2], "torch", np.float64, "f")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_missing_function_lists_what_exists():
    with pytest.raises(CandidateError, match="has no function 'nope'; it defines .*loss_and_grads"):
        load(f"{EXAMPLES / 'torch_layout_net.py'}:nope")


@pytest.mark.parametrize("bug,verdict", [(1.0, "agree"), (1.02, "diverge")])
def test_candidate_computing_in_float32_inside(digits, tmp_path, bug, verdict):
    """A float32 run of a candidate that casts to float32 itself: judged at float32's precision throughout."""
    src = (EXAMPLES / "torch_layout_net.py").read_text() + (
        "\n\ndef f32(params, X, Y):\n"
        "    loss, grads = loss_and_grads([p.astype(np.float32) for p in params], X.astype(np.float32),\n"
        f"                                 Y.astype(np.float32))\n    return loss, [g * np.float32({bug}) for g in grads]\n")
    (tmp_path / "inside.py").write_text(src)
    cfg, X, Y, run = candidate_run(digits, f"{tmp_path / 'inside.py'}:f32", "torch", steps=20, dtype="float32")
    out = run.run()
    assert out.verdict == verdict, out.first_divergence
    if verdict == "diverge":
        assert findings.local_error(out, cfg)["code"] == "local_error"  # float64 disagrees too: a real bug
    else:
        assert gradcheck.for_run(run)["passed"]
