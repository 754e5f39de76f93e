"""Your own code as the side under test: every layout, every candidate form and every convention flag, each with
a correct candidate (agrees in float64 and float32 over 300 steps) and a buggy one (located, and named where the
catalogue knows the bug)."""

from pathlib import Path

import numpy as np
import pytest
from source_lines import covers

import lockstep
from lockstep.sides.candidate import CandidateError

from candidates.conventions_net import net
from conftest import AGREES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL = dict(n_train=512)
PER_SAMPLE = dict(
    sizes=[784, 30, 10],
    activation="sigmoid",
    loss="mse",
    output="sigmoid",
    momentum=0,
    lr=3,
    batch_size=10,
    l2=5,
    l2_norm="dataset",
    n_train=512,
)
THETA = dict(sizes=[784, 25, 10], activation="sigmoid", loss="bce", l2=1, layout="bias-first-col", n_train=512)
LAST_COL = dict(sizes=[784, 32, 10], activation="tanh", loss="mse", layout="bias-last-col", lr=0.01, n_train=512)
ADAM = dict(optimizer="adam", lr=1e-3, n_train=512)

# (correct candidate, buggy candidate, settings, the layout that must be chosen, where the bug shows, its suspect)
EXAMPLE_CASES = [
    (
        "torch_layout_net.py:loss_and_grads",
        "torch_layout_net.py:loss_and_grads_no_mean",
        SMALL,
        "torch",
        ("backward", "layers.2.weight"),
        "missing-mean",
    ),
    (
        "in_out_net.py:loss_and_grads",
        "in_out_net.py:loss_and_grads_sign_error",
        dict(SMALL, targets="labels"),
        "in-out",
        ("backward", "layers.2.bias"),
        None,
    ),
    (
        "bias_row_net.py:cost_and_grads",
        "bias_row_net.py:cost_and_grads_bias_rows_only",
        dict(sizes=[784, 16, 10], activation="sigmoid", loss="bce", l2=1, lr=0.5, momentum=0, n_train=512),
        "bias-row",
        ("backward", "layers.1.weight"),
        "bias-rows-only",
    ),
    (
        "theta_net.py:cost_function",
        "theta_net.py:cost_function_regularised_bias",
        THETA,
        "bias-first-col",
        ("backward", "layers.1.bias"),
        "regularised-bias",
    ),
    (
        "bias_last_col_net.py:loss_and_grads",
        "bias_last_col_net.py:loss_and_grads_tanh_of_z",
        LAST_COL,
        "bias-last-col",
        ("backward", "layers.0.weight"),
        None,
    ),
    (
        "adam_class_net.py:AdamNet",
        "adam_class_net.py:AdamNetNoBiasCorrection",
        ADAM,
        "torch",
        ("update", "layers.0.weight"),
        "adam-no-bias-correction",
    ),
    (
        "per_sample_net.py:Network",
        "per_sample_net.py:NetworkSigmoidPrimeOfA",
        PER_SAMPLE,
        "torch",
        ("update", "layers.0.weight"),
        "sigmoid-prime-of-a",
    ),
]

# the text on the line that holds each buggy example's bug, where the report must point
BUG_LINES = {
    "torch_layout_net.py:loss_and_grads_no_mean": "backward(params, cache, p - Y,",
    "in_out_net.py:loss_and_grads_sign_error": "-delta.sum(axis=0)",
    "bias_row_net.py:cost_and_grads_bias_rows_only": "grads[l][0] += delta",
    "theta_net.py:cost_function_regularised_bias": "# column 0 is regularised too",
    "bias_last_col_net.py:loss_and_grads_tanh_of_z": "(1 - z**2)",
    "adam_class_net.py:AdamNetNoBiasCorrection": "# m, v uncorrected",
    "per_sample_net.py:NetworkSigmoidPrimeOfA": "sp = sigmoid_prime(activations[-layer])",
}


def spec(name):
    file, func = name.split(":")
    return f"{EXAMPLES / file}:{func}"


@pytest.mark.parametrize(
    "correct,buggy,settings,layout,where,suspect", EXAMPLE_CASES, ids=[c[0].split(":")[0] for c in EXAMPLE_CASES]
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_example_agrees_over_300_steps(correct, buggy, settings, layout, where, suspect, dtype):
    r = lockstep.check(spec(correct), steps=300, dtype=dtype, **settings)
    assert r.verdict in AGREES[dtype], str(r)
    assert r.to_dict()["candidate"]["layout"] == layout
    assert not [f for f in r.findings if f["code"] in ("suspect", "local_error", "float32_only")]


@pytest.mark.parametrize(
    "correct,buggy,settings,layout,where,suspect", EXAMPLE_CASES, ids=[c[1].split(":")[0] for c in EXAMPLE_CASES]
)
def test_buggy_example_is_located(correct, buggy, settings, layout, where, suspect):
    r = lockstep.check(spec(buggy), steps=5, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d["step"], d["phase"], d["tensor"]) == (0, *where), str(r)
    found = [f for f in r.findings if f["code"] == "suspect"]
    assert [f["bug"] for f in found] == ([suspect] if suspect else [])
    assert all("not as a certainty" in f["message"] for f in found)
    assert d["in_your_terms"]  # the divergent tensor named in the user's layout
    assert covers(d["source"], EXAMPLES / buggy.split(":")[0], BUG_LINES[buggy]), d["source"]
    assert f"{buggy.split(':')[0]}:{d['source']['line']}" in str(r)


@pytest.mark.parametrize("correct", [c[0] for c in EXAMPLE_CASES])
def test_a_correct_example_has_no_source_line(correct):
    """Correct code is never traced: a run that agrees names no line."""
    r = lockstep.check(spec(correct), steps=5, **next(c[2] for c in EXAMPLE_CASES if c[0] == correct))
    assert r.verdict == "agree" and r.first_divergence is None and "departs at" not in str(r)


CONVENTIONS = [  # the flag's settings, the candidate's keywords, its mistake, where that mistake shows
    (dict(reduction="sum", lr=0.001), dict(reduction="sum"), "mean-in-gradient", ("backward", "layers.1.weight")),
    (dict(loss_scale=0.1), dict(scale=0.1), "scale-loss-only", ("loss", "loss")),
    (dict(l2=0.5, l2_norm="dataset"), dict(l2=0.5, divisor=512), "batch-l2", ("backward", "layers.1.weight")),
    (dict(l2=0.01, l2_norm="none"), dict(l2=0.01, divisor=1), "batch-l2", ("backward", "layers.1.weight")),
    (dict(targets="labels"), dict(labels=True), "labels-from-1", ("loss", "loss")),
    (dict(bias=False), dict(bias=False), "mean-in-gradient", ("backward", "layers.1.weight")),
    (
        dict(activation="leaky_relu", leaky_slope=0.2),
        dict(hidden="leaky"),
        "leaky-as-relu",
        ("backward", "layers.0.weight"),
    ),
]


@pytest.mark.parametrize(
    "flags,kw,mistake,where", CONVENTIONS, ids=[" ".join(map(str, c[0].values())) for c in CONVENTIONS]
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_convention_flag(flags, kw, mistake, where, dtype):
    settings = dict(sizes=[784, 24, 10], n_train=512, **flags)
    correct = lambda params, X, Y: net(params, X, Y, **kw)  # noqa: E731
    r = lockstep.check(correct, steps=300, dtype=dtype, **settings)
    assert r.verdict in AGREES[dtype], str(r)
    wrong = lambda params, X, Y: net(params, X, Y, **kw, mistake=mistake)  # noqa: E731
    r = lockstep.check(wrong, steps=5, dtype=dtype, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d["phase"], d["tensor"]) == where, str(r)


def test_schedule_reaches_a_class_that_owns_its_update():
    """The lr a class receives follows --lr-schedule; a class that ignores it is located in the update."""
    import sys

    sys.path.insert(0, str(EXAMPLES))
    from adam_class_net import AdamNet

    r = lockstep.check(AdamNet, optimizer="adam", lr=1e-2, lr_schedule="step:1:0.5", epochs=3, **SMALL)
    assert r.verdict == "agree", str(r)

    class ConstantLr(AdamNet):
        def step(self, X, Y, lr):
            return super().step(X, Y, 1e-2)

    r = lockstep.check(ConstantLr, optimizer="adam", lr=1e-2, lr_schedule="step:1:0.5", epochs=3, **SMALL)
    assert r.verdict == "diverge" and r.first_divergence["phase"] == "update"
    assert r.first_divergence["step"] == 8  # the first step of the second epoch, 8 batches of 64 an epoch


def test_loss_scale_convention_is_named_with_its_flag():
    """A candidate whose loss and gradients are 0.1x the reference's: the finding names --loss-scale 0.1."""
    r = lockstep.check(lambda p, X, Y: net(p, X, Y, scale=0.1), sizes=[784, 24, 10], steps=3, **SMALL)
    found = [f for f in r.findings if f["code"] == "convention"]
    assert found and found[0]["fix"] == "--loss-scale 0.1", r.findings
    assert "0.1x the reference's" in found[0]["message"]


def test_only_the_loss_differs_is_said_so():
    r = lockstep.check(
        lambda p, X, Y: net(p, X, Y, scale=0.5, mistake="scale-loss-only"),
        loss_scale=0.5,
        sizes=[784, 24, 10],
        steps=3,
        **SMALL,
    )
    codes = [f["code"] for f in r.findings]
    assert r.first_divergence["phase"] == "loss" and "loss_only" in codes and "suspect" not in codes
    assert r.first_divergence["phases"]["backward"] == "agree"


def test_auto_layout_asks_when_shapes_cannot_tell():
    """bias-first-col and bias-last-col share their shapes: auto asks for --layout in one line."""
    with pytest.raises(CandidateError, match="cannot tell bias-first-col .*from bias-last-col.*give --layout"):
        lockstep.check(spec("theta_net.py:cost_function"), **{**THETA, "layout": "auto", "steps": 1})


def test_square_layers_are_ambiguous():
    with pytest.raises(CandidateError, match="cannot tell in-out from torch"):
        lockstep.check(
            spec("torch_layout_net.py:loss_and_grads"),
            X=np.random.default_rng(0).random((40, 4)),
            y=np.arange(40) % 4,
            sizes=[4, 4, 4],
            steps=1,
        )


def test_a_saved_network_keeps_its_closures_own():
    """State a network keeps in a closure (an optimizer built once by a training function) is copied with it: a
    re-run from a saved state, at another precision or traced, must not advance the live network's optimizer."""
    from lockstep.sides.snapshot import snapshot

    class Net:
        def __init__(self):
            moments = [np.zeros(3)]

            def update(g):
                moments[0] = 0.9 * moments[0] + g
                return moments[0]

            self.update, self.weights = update, np.ones(3)

    live = Net()
    live.update(np.ones(3))
    copy = snapshot(live)
    assert np.allclose(copy.update(np.ones(3)), 1.9) and np.allclose(copy.update(np.ones(3)), 2.71)
    assert np.allclose(live.update(np.ones(3)), 1.9)  # the copy's steps left the live closure alone
    assert copy.weights is not live.weights
