"""Your own code as the side under test: every layout, every candidate form and every convention flag, each with
a correct candidate (agrees in float64 and float32 over 30 steps, and one long canary per form over 300) and a buggy
one (located, and named where the catalogue knows the bug)."""

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
VELOCITY = dict(targets="labels", momentum_form="velocity", lr_schedule="inv-iter:0.01", n_train=512)

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
        "velocity_momentum_net.py:VelocityNet",
        "velocity_momentum_net.py:VelocityNetSignFlipped",
        VELOCITY,
        "in-out",
        ("update", "layers.0.weight"),
        "velocity-sign-flipped",
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
    # the tracer names a value made inside a helper at the caller's line: here the call of the update rule
    "velocity_momentum_net.py:VelocityNetSignFlipped": "self.params[k], self.configs[k] = self.update_rule(",
}


def spec(name):
    file, func = name.split(":")
    return f"{EXAMPLES / file}:{func}"


@pytest.mark.parametrize(
    "correct,buggy,settings,layout,where,suspect", EXAMPLE_CASES, ids=[c[0].split(":")[0] for c in EXAMPLE_CASES]
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_example_agrees(correct, buggy, settings, layout, where, suspect, dtype):
    r = lockstep.check(spec(correct), steps=30, dtype=dtype, **settings)
    assert r.verdict == "agree", str(r)
    assert r.to_dict()["candidate"]["layout"] == layout
    assert not [f for f in r.findings if f.code in ("suspect", "local_error", "float32_only")]


CANARIES = [c for c in EXAMPLE_CASES if c[0].split(":")[0] in ("torch_layout_net.py", "adam_class_net.py")]
CANARIES += [c for c in EXAMPLE_CASES if c[0].startswith("per_sample_net.py")]  # function, class, per-sample class


@pytest.mark.slow
@pytest.mark.parametrize("correct,settings", [(c[0], c[2]) for c in CANARIES], ids=[c[0] for c in CANARIES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_form_agrees_over_300_steps(correct, settings, dtype):
    """A long canary per form: rounding that grows over training is still rounding (float32 may say it cannot see)."""
    r = lockstep.check(spec(correct), steps=300, dtype=dtype, **settings)
    assert r.verdict in AGREES[dtype], str(r)
    assert not [f for f in r.findings if f.code in ("suspect", "local_error", "float32_only")]


@pytest.mark.parametrize(
    "correct,buggy,settings,layout,where,suspect", EXAMPLE_CASES, ids=[c[1].split(":")[0] for c in EXAMPLE_CASES]
)
def test_buggy_example_is_located(correct, buggy, settings, layout, where, suspect):
    r = lockstep.check(spec(buggy), steps=5, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d.step, d.phase, d.tensor) == (0, *where), str(r)
    found = [f for f in r.findings if f.code == "suspect"]
    assert [f.bug for f in found] == ([suspect] if suspect else [])
    assert all("not as a certainty" in f.message for f in found)
    assert d.in_your_terms  # the divergent tensor named in the user's layout
    assert covers(d.source, EXAMPLES / buggy.split(":")[0], BUG_LINES[buggy]), d.source
    assert f"{buggy.split(':')[0]}:{d.source['line']}" in str(r)


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
    r = lockstep.check(correct, steps=30, dtype=dtype, **settings)
    assert r.verdict == "agree", str(r)
    wrong = lambda params, X, Y: net(params, X, Y, **kw, mistake=mistake)  # noqa: E731
    r = lockstep.check(wrong, steps=5, dtype=dtype, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d.phase, d.tensor) == where, str(r)


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
    assert r.verdict == "diverge" and r.first_divergence.phase == "update"
    assert r.first_divergence.step == 8  # the first step of the second epoch, 8 batches of 64 an epoch


def test_loss_scale_convention_is_named_with_its_flag():
    """A candidate whose loss and gradients are 0.1x the reference's: the finding names --loss-scale 0.1."""
    r = lockstep.check(lambda p, X, Y: net(p, X, Y, scale=0.1), sizes=[784, 24, 10], steps=3, **SMALL)
    found = [f for f in r.findings if f.code == "convention"]
    assert found and found[0].facts["fix"] == "--loss-scale 0.1", r.findings
    assert "0.1x the reference's" in found[0].message


def course(name):
    import candidates.course_optimizers as courses

    return getattr(courses, name)


COURSE_CONVENTIONS = [  # (candidate, settings, the flag's setting, the fix named, the step it shows at)
    (
        "example VelocityNet",
        dict(VELOCITY, momentum_form=None),
        dict(momentum_form="velocity"),
        "--momentum-form velocity",
        1,
    ),
    ("CourseraMomentum", dict(lr=0.1, n_train=512), dict(momentum_form="ema"), "--momentum-form ema", 0),
    ("CS231nAdam", dict(ADAM), dict(adam_t0=1), "--adam-t0 1", 0),
    (
        "nnfs clipped loss",
        dict(lr=0.5, n_train=64, sizes=[784, 64, 10]),
        dict(prob_clip=1e-7),
        "--prob-clip 1e-07",
        None,
    ),
]


@pytest.mark.parametrize("name,settings,flag,fix,step", COURSE_CONVENTIONS, ids=[c[0] for c in COURSE_CONVENTIONS])
def test_a_courses_convention_is_named_with_its_flag(name, settings, flag, fix, step):
    """Code written in a course's convention departs from torch's and is named a convention, with the flag that
    makes the tool follow it; under that flag it agrees, in float64 and (the optimizers') float32."""
    if name.startswith("example"):
        candidate = spec("velocity_momentum_net.py:VelocityNet")
    elif name.startswith("nnfs"):
        candidate = lambda p, X, Y: net(p, X, Y, clip=1e-7)  # noqa: E731
    else:
        candidate = course(name)
    settings = dict(dict(sizes=[784, 24, 10]), **settings)
    r = lockstep.check(candidate, steps=300, **settings)
    d = r.first_divergence
    found = [f for f in r.findings if f.code == "convention"]
    assert r.verdict == "diverge" and found and found[0].facts["fix"] == fix, str(r)
    assert step is None or d.step == step
    assert "a convention, not a bug" in found[0].message and "suspect" not in [f.code for f in r.findings]
    assert "unmatched" not in [f.code for f in r.findings]
    # clipping matters once the batch is fit, where float32 sees too little to vouch for agreement (inconclusive)
    for dtype, steps in (("float64", 300),) + ((("float32", 100),) if "prob_clip" not in flag else ()):
        r = lockstep.check(candidate, steps=steps, dtype=dtype, **{**settings, **flag})
        assert r.verdict == "agree", str(r)


def test_a_convention_is_named_only_where_it_explains_every_parameter_of_the_step():
    """Adam with one counter for every parameter, advanced at each parameter's update (numpy-nn 0.2.6's): the
    first parameter's first update is torch's and the second's equals Adam's with its counter started at 1. A
    convention is a setting of the whole optimizer, so --adam-t0 1 is not named: it fits one parameter, not the
    step."""
    r = lockstep.check(course("SharedCounterAdam"), steps=3, sizes=[784, 24, 10], **ADAM)
    assert r.verdict == "diverge" and r.first_divergence.step == 0, str(r)
    assert "convention" not in [f.code for f in r.findings], str(r)


def test_of_two_departing_parameters_the_one_the_code_updated_first_is_named():
    """numpy-nn's Adam on a net of one layer shape: b1's update departs (corrected with t = 2) before layer 2's
    moments do (started from layer 1's). Parameter by parameter, as the code steps them, b1 is named, not the
    moment that the order "all optimizer state, then all parameters" would put first."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 10))
    settings = dict(X=X, y=rng.integers(0, 10, 160), sizes=[10, 10, 10], n_train=128, steps=1, layout="in-out")
    r = lockstep.check(course("KindSharedAdam"), **dict(ADAM, **settings))
    d = r.first_divergence
    assert (d.step, d.phase, d.tensor) == (0, "update", "layers.0.bias"), str(r)
    assert d.source["tensor"] == "layers.0.bias", d.source


def test_a_class_that_clips_its_own_gradients_agrees_under_the_flag():
    """A network that clips in place before its update (min-char-rnn's np.clip) matches --clip-value: its update is
    compared, its .grads (clipped or not, its own business) are not."""
    settings = dict(sizes=[784, 24, 10], lr=0.1, momentum=0.0, n_train=512, steps=50)
    r = lockstep.check(course("ClippedSGD"), clip_value=0.01, **settings)
    assert r.verdict == "agree" and r.to_dict()["check"]["phases"] == ["loss", "update"], str(r)
    r = lockstep.check(course("ClippedSGD"), clip_value=0.02, **settings)  # its own 0.01 is not the tool's 0.02
    assert r.verdict == "diverge" and r.first_divergence.phase == "update"


@pytest.mark.parametrize(
    "extra",
    [
        dict(optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7),
        dict(optimizer="adagrad", lr=1e-2, lr_decay=1e-3),
        dict(momentum_form="ema"),
        dict(momentum_form="velocity", lr_schedule="inv-iter:0.05"),
        dict(optimizer="adam", lr=1e-3, adam_t0=1, clip_norm=0.5),
        dict(clip_value=0.01, lr_schedule="stair:0.5:1", n_train=128),  # 2 batches an epoch
    ],
    ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()),
)
def test_a_function_gets_the_tools_optimizer_whatever_it_is(extra):
    r = lockstep.check(lambda p, X, Y: net(p, X, Y), **{**dict(sizes=[784, 24, 10], n_train=256, steps=30), **extra})
    assert r.verdict == "agree", str(r)


def test_a_class_receives_the_new_settings_by_name():
    from lockstep.config import Config
    from lockstep.sides.candidate import hyper

    class Takes:
        def __init__(self, params, lr, alpha, eps, centered, momentum, clip_norm): ...

    got = hyper(Takes, Config(optimizer="rmsprop", alpha=0.9, eps=1e-7, clip_norm=2.0), 100)
    assert got == dict(lr=0.05, alpha=0.9, eps=1e-7, centered=False, momentum=0.0, clip_norm=2.0)
    assert hyper(lambda params, **kw: None, Config(momentum_form="velocity"), 100)["momentum_form"] == "velocity"
    assert hyper(lambda params, **kw: None, Config(optimizer="adam", adam_t0=1), 100)["adam_t0"] == 1


def test_only_the_loss_differs_is_said_so():
    r = lockstep.check(
        lambda p, X, Y: net(p, X, Y, scale=0.5, mistake="scale-loss-only"),
        loss_scale=0.5,
        sizes=[784, 24, 10],
        steps=3,
        **SMALL,
    )
    codes = [f.code for f in r.findings]
    assert r.first_divergence.phase == "loss" and "loss_only" in codes and "suspect" not in codes
    assert r.first_divergence.phases["backward"] == "agree"


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


def test_a_snapshot_shares_cells_as_the_network_does_and_changes_nothing_global():
    """Two closures over one cell keep sharing it in the copy; a cell that holds the network holds the copy; and
    deepcopy's own dispatch is never swapped while the copy is made (another thread copying meanwhile sees none of
    it)."""
    import copy as copy_module
    import types

    from lockstep.sides.snapshot import snapshot

    seen = []

    class Probe:
        def __deepcopy__(self, memo):
            seen.append(copy_module._deepcopy_dispatch.get(types.FunctionType))
            return Probe()

    class Net:
        def __init__(self):
            count = [0]

            def bump():
                count[0] += 1
                return count[0]

            def read():
                return count[0], me

            me = self
            self.bump, self.read, self.probe = bump, read, Probe()

    live = Net()
    live.bump()
    twin = snapshot(live)
    assert twin.bump() == 2 and twin.read() == (2, twin) and live.read() == (1, live)
    assert seen == [copy_module._deepcopy_dispatch.get(types.FunctionType)]
