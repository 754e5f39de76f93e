"""Every message true, and verdicts that say what the run could see: real code that made the tool crash, hide the
user's own error, blame the user for the tool's limit, call a value float64 does not have rounding, vouch for a
run that could see nothing, or print a bare ratio."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import lockstep
from lockstep import cli
from lockstep.sides.candidate import CandidateError

from candidates import dict_nets, nan_to_num_net, scipy_net

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

from adam_class_net import AdamNet  # noqa: E402
from momentum_class_net import MomentumNet, MomentumNetZeroStart  # noqa: E402
from moons_adam_net import SETTINGS as MOONS  # noqa: E402
from moons_adam_net import MoonsNet, MoonsNetEpsInsideSqrt, moons  # noqa: E402

SMALL = dict(sizes=[784, 16, 10], n_train=256)


def test_gradcheck_skips_a_class_candidate_in_one_line(capsys):
    """A class owns its update: there is no loss function to differentiate, and the report says so."""
    r = lockstep.check(AdamNet, gradcheck=True, optimizer="adam", lr=1e-3, steps=2, **SMALL)
    (found,) = [f for f in r.findings if f.code == "gradcheck"]
    assert r.verdict == "agree" and "not run" in found.message and "\n" not in found.message
    spec = f"{EXAMPLES / 'adam_class_net.py'}:AdamNet"
    argv = ["--candidate", spec, "--optimizer", "adam", "--lr", "1e-3", "--steps", "2", "--sizes", "784,16,10"]
    assert cli.main(argv + ["--n-train", "256", "--gradcheck"]) == 0
    out, err = capsys.readouterr()
    assert "finding [gradcheck] Finite differences: not run, a class candidate" in out and err == ""


@pytest.mark.parametrize(
    "candidate,settings,words",
    [
        (dict_nets.labels_only, dict(targets="onehot"), "AssertionError: y must hold integer labels (at dict_nets.py:"),
        (dict_nets.GradsNeverSet, {}, "left .grads as NoneType"),
    ],
    ids=["assertion", "grads-never-set"],
)
def test_no_layout_fits_shows_the_error_of_the_form_that_got_furthest(candidate, settings, words):
    """Code keyed by name raises at its first line when handed a list; the dict attempt reaches the real error."""
    with pytest.raises(CandidateError) as e:
        lockstep.check(candidate, steps=2, **SMALL, **settings)
    message = str(e.value)
    assert words in message and "dict" in message and "\n" not in message, message
    assert "list indices" not in message and "has no attribute 'items'" not in message, message


def test_the_fix_in_the_users_assertion_is_then_taken():
    r = lockstep.check(dict_nets.labels_only, steps=2, targets="labels", **SMALL)
    assert r.verdict == "agree", str(r)
    r = lockstep.check(dict_nets.labels_only, steps=2, **SMALL)  # --targets auto: labels, as one-hot raises
    assert r.verdict == "agree" and r.to_dict()["candidate"]["targets"] == "labels", str(r)


def test_a_rung_that_cannot_run_is_skipped_and_said():
    """scipy.special.xlogy has no np.longdouble loop: the extended-precision re-run cannot run. That is the tool's
    limit, said in the report and the JSON; the bound alone decides, as for code that cannot be raised."""
    r = lockstep.check(scipy_net.off_by_a_millionth, activation="sigmoid", loss="bce", steps=3, **SMALL)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d.step, d.phase, d.tensor) == (0, "backward", "layers.1.weight")
    assert d.note.startswith("not re-run in extended precision: ") and "xlogy" in d.note, d.note
    assert "given np.longdouble" in d.note and "check --layout" not in d.note
    assert d.note in str(r) and r.to_dict()["first_divergence"]["note"] == d.note


def saturating_run(logit, epochs=1):
    """nan_to_num_net on 100 random samples, one of them scaled so that a wrong-class output starts at `logit`, once an
    epoch in a batch of 10: float32 rounds its sigmoid to 1 for a logit above 16.6, float64 above 36.7."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((100, 4)), rng.integers(0, 2, 100)
    test = dict(X_test=rng.standard_normal((20, 4)), y_test=rng.integers(0, 2, 20))
    run = dict(sizes=[4, 8, 2], loss="bce", momentum=0, lr=1e-3, batch_size=10, dtype="float32", **test)
    nan_to_num_net.SEEN.clear()
    lockstep.check(nan_to_num_net.net, X=X, y=y, steps=1, **run)  # the initial parameters, as the net receives them
    W1, b1, W2, b2 = [p.astype(np.float64) for p in nan_to_num_net.SEEN["params"]]
    scales = np.linspace(0, 500, 50001)[:, None]  # (s, 1)
    logits = np.maximum(scales * (X[0] @ W1.T) + b1, 0) @ W2.T + b2  # (s, 2), piecewise linear in the scale
    wrong = int(np.argmax(logits[10000]))  # at a scale of 100
    y[0] = 1 - wrong
    X[0] *= scales[np.argmin(np.abs(logits[:, wrong] - logit)), 0]
    with np.errstate(divide="ignore"):  # the net's own log(0) warns while its layout is inferred; the run is quiet
        return lockstep.check(nan_to_num_net.net, X=X, y=y, epochs=epochs, **run)


def test_a_finite_value_made_from_an_inf_is_float32_only():
    """log(1 - a) = -inf made finite by np.nan_to_num: a loss of 3.4e37 where torch has 8, at one step. float64
    agrees, but no float32 rounding makes a difference larger than the value itself: float32_only, not rounding."""
    r = saturating_run(logit=25)
    d = r.first_divergence
    assert r.verdict == "diverge" and d.phase == "loss" and d.float32_only, str(r)
    assert abs(d.head.side) > 1e37 and abs(d.head.ref) < 100
    assert "float32_only" in [f.code for f in r.findings] and "rounding, re-anchored" not in str(r)


def test_an_isolated_float32_loss_of_digits_is_still_tolerated():
    """The same code where the output is 1 - 1.9e-7: float32's a keeps one digit of 1 - a, the loss is off beyond
    float32's bound (float64 agrees), by less than its own size. Isolated, that stays tolerated."""
    r = saturating_run(logit=15.5, epochs=2)
    assert r.verdict == "agree", str(r)
    assert [d["kind"] for d in r.to_dict()["drift"]] == ["float32_only", "float32_only"]


MOONS_BLIND = dict(MOONS, epochs=100)  # long enough for the outputs to fit their batches closely


def test_a_float32_run_that_cannot_see_is_inconclusive(tmp_path, capsys):
    """Adam with eps inside the square root matters only where v < eps: found in float64; float32's floor at that
    point is above 1e-2, so the float32 run says it cannot vouch, shows its floor, and exits 3."""
    X, y = moons()
    r = lockstep.check(MoonsNetEpsInsideSqrt, X=X, y=y, dtype="float64", **MOONS_BLIND)
    assert r.verdict == "diverge" and r.first_divergence.phase == "update", str(r)
    np.savez(tmp_path / "moons.npz", X=X, y=y)
    spec = f"{EXAMPLES / 'moons_adam_net.py'}:MoonsNetEpsInsideSqrt"
    flags = ["--sizes", "2,5,2,1", "--activation", "tanh", "--loss", "bce", "--optimizer", "adam", "--lr", "0.05"]
    data = ["--data", str(tmp_path / "moons.npz"), "--epochs", "100", "--batch-size", "32"]
    code = cli.main(["--candidate", spec, "--dtype", "float32", "--json", str(tmp_path / "r.json")] + flags + data)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 3 and (report["verdict"], report["exit_code"]) == ("inconclusive", 3), line
    assert line.startswith("verdict: inconclusive in float32: rerun in float64") and "detection floor" in line, line
    floor = report["detection_floor"]
    assert floor["backward"] > 1e-2 and f"backward {floor['backward']:.1e}" in line
    r = lockstep.check(MoonsNet, X=X, y=y, dtype="float32", **dict(MOONS_BLIND, epochs=20))  # still sharp: agree
    assert r.verdict == "agree" and max(r.to_dict()["detection_floor"].values()) <= 1e-2, str(r)


def test_assert_agrees_fails_on_an_inconclusive_run():
    """handmade on the moons for 60 epochs: its outputs fit their batches to about 1%, dL/dz = (a - Y) / m is that
    much smaller than its terms, and the float32 floor passes 1e-2. A CI check that asserts agreement must not pass
    that; float64 sees the same run."""
    X, y = moons()
    settings = dict(MOONS, X=X, y=y, epochs=60, dtype="float32")
    r = lockstep.check(**settings)
    assert r.verdict == "inconclusive" and r.exit_code == 3 and r.to_dict()["detection_floor"]["backward"] > 1e-2
    with pytest.raises(AssertionError, match="verdict: inconclusive in float32: rerun in float64"):
        lockstep.assert_agrees(**settings)
    assert lockstep.check(**dict(settings, dtype="float64")).verdict == "agree"


SATURATED_MSE = dict(loss="mse", output="sigmoid", dtype="float32", sizes=[784, 24, 16, 10], batch_size=32, n_train=200)


def test_a_saturated_output_is_no_cancellation_and_float32_still_sees():
    """mse on a sigmoid output: dL/dz = (a - Y) a (1 - a) / m is small where the units saturate, but a (1 - a)
    scales the rounding of a - Y as much as its value; only a cancelled a - Y blinds the tolerance. The cancellation
    factor once read the whole a (1 - a) as cancellation, and this run's floor passed 1e-2 within 14 steps."""
    r = lockstep.check(epochs=2, lr=0.1, **SATURATED_MSE)
    assert r.verdict == "agree" and r.to_dict()["detection_floor"]["backward"] < 1e-2, str(r)


MOMENTUM = dict(sizes=[784, 32, 10], activation="tanh", momentum=0.9, dampening=0.9, steps=30, n_train=512)


def test_a_class_candidates_optimizer_bug_is_named_from_its_update():
    """A class exposes no optimizer state; its update implies the buffer, (p_before - p_after) / lr, and that is what
    the optimizer-state bugs are tried on."""
    assert lockstep.check(MomentumNet, **MOMENTUM).verdict == "agree"
    r = lockstep.check(MomentumNetZeroStart, **MOMENTUM)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d.step, d.phase) == (0, "update"), str(r)
    assert [f.bug for f in r.findings if f.code == "suspect"] == ["momentum-dampened-first-step"], str(r)


@pytest.mark.parametrize(
    "candidate,settings,words",
    [
        (f"{EXAMPLES / 'in_out_net.py'}:loss_and_grads_sign_error", dict(targets="labels"), "-1 times the reference's"),
        (
            f"{EXAMPLES / 'bias_last_col_net.py'}:loss_and_grads_tanh_of_z",
            dict(sizes=[784, 32, 10], activation="tanh", loss="mse", layout="bias-last-col", lr=0.01),
            "not by one factor",
        ),
    ],
    ids=["a-factor", "no-factor"],
)
def test_an_unmatched_finding_says_what_its_numbers_mean(candidate, settings, words):
    r = lockstep.check(candidate, steps=2, **dict(dict(n_train=512), **settings))
    (found,) = [f for f in r.findings if f.code == "unmatched"]
    assert words in found.message and "side under test / reference =" not in found.message, found.message


RANGE_EDGE = dict(  # a configuration of the false-alarm sweep (row 204) whose training runs off to 1e18
    sizes=[784, 33, 366, 1, 10],
    activation="tanh",
    loss="mse",
    init="uniform",
    scale="standard",
    dtype="float32",
    n_train=66,
    batch_size=51,
    lr=0.085,
    loss_scale=27.7,
    momentum=0.5,
    steps=60,
    seed=748554540,
)


def test_an_overflow_at_the_edge_of_float32s_range_is_a_blow_up():
    """At step 44 the outputs are 1.5e18 and the exact loss 7.5e37: handmade's float32 formula stays below 3.4e38,
    torch's scales the summed loss before dividing by m and overflows. float64 agrees; neither side's code is at
    fault, the training blew up: blew_up, not float32_only. (A log of 0 at moderate values stays float32_only:
    tests/test_judge.py.)"""
    r = lockstep.check(**RANGE_EDGE)
    nf = r.to_dict()["blow_up"] and next(f.facts for f in r.findings if f.code == "non_finite")
    assert r.verdict == "blew_up" and r.exit_code == 0 and nf["range"] and nf["step"] == 44, str(r)
    assert "edge of float32's range" in str(r).splitlines()[-1]


LAYERNORM_EDGE = dict(  # the training sweep's row 42: a per-sample SGD on mse whose loss goes 14, 7e3, 2e11, 2e35
    sizes=[784, 324, 10],
    activation="leaky_relu",
    leaky_slope=0.002056631597681602,
    loss="mse",
    output="identity",
    init="kaiming",
    scale="standard",
    dtype="float32",
    seed=1799477404,
    n_train=1086,
    steps=4,
    batch_size=1,
    lr=0.32955241364175447,
    l2=0.01697095776384124,
    lr_schedule="step:2:0.450022",
    momentum=0.0,
    norm="layernorm",
)


def test_a_step_whose_exact_values_pass_float32s_range_is_a_blow_up_wherever_each_side_overflows():
    """At step 3 z is 3e27, so the layer norm's exact variance is 1e54: float32 cannot hold the step. handmade
    overflows first in the eval pass's variance, torch in its backward (it multiplies dout by z before it
    normalises), and dz's exact value, 1e25, is nowhere near the edge itself: blew_up, not float32_only."""
    r = lockstep.check(**LAYERNORM_EDGE)
    nf = next(f.facts for f in r.findings if f.code == "non_finite")
    assert r.verdict == "blew_up" and r.exit_code == 0 and nf["range"] and nf["step"] == 3, str(r)
