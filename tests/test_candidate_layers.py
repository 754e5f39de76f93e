"""Batch norm, layer norm and dropout in the user's own code: the examples written as their courses write them agree
in float64 and float32, each buggy copy that forgets the dropout mask in backward is located at the mask's tensor
(layers.{i}.da) and its line, the masks are recovered whichever way the code draws them (and the convention read
from the code's own loss), and what cannot be read is one line."""

import sys
from pathlib import Path

import numpy as np
import pytest
from source_lines import covers

import lockstep
from lockstep.sides.forms import draws
from lockstep.sides.forms.base import CandidateError

from candidates import layer_forms as lf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

NET = dict(sizes=[784, 100, 50, 10], dropout=0.2, n_train=512)
MODEL = dict(NET, momentum=0, lr=0.5)
SMALL = dict(sizes=[784, 32, 16, 10], norm="layernorm", dropout=0.25, n_train=512)


def example(name):
    file, func = name.split(":")
    return f"{EXAMPLES / file}:{func}"


# (correct code, settings, the convention its masks are read by, its buggy copy, the text on the buggy line)
EXAMPLES_TABLE = [
    (
        "torch_layout_bn_net.py:loss_and_grads",
        dict(NET, norm="batchnorm"),
        "u > drop",
        "torch_layout_bn_net.py:loss_and_grads_mask_forgotten",
        "da = dout / (1 - P_DROP)",
    ),
    (
        "cs231n_dict_net.py:loss_and_grads",
        dict(NET, norm="batchnorm"),
        "u < keep",
        "cs231n_dict_net.py:loss_and_grads_mask_forgotten",
        'return dout / dropout_param["p"]  # the mask is not reapplied',
    ),
    ("cs231n_dict_net.py:loss_and_grads_layernorm", dict(NET, norm="layernorm"), "u < keep", None, None),
    (
        "cs231n_fc_norm_net.py:make_model",
        dict(MODEL, norm="batchnorm", bn_running_variance="biased"),
        "u < keep",
        "cs231n_fc_norm_net.py:make_model_mask_forgotten",
        'return dout / dropout_param["p"] if dropout_param["mode"] == "train" else dout',
    ),
    ("cs231n_fc_norm_net.py:make_layernorm_model", dict(MODEL, norm="layernorm"), "u < keep", None, None),
]
CORRECT = [(code, settings, rule) for code, settings, rule, _, _ in EXAMPLES_TABLE]
BUGGY = [(buggy, settings, line) for _, settings, _, buggy, line in EXAMPLES_TABLE if buggy]


def note(report):
    return report.result.identity.candidate["layout_note"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("code", "settings", "rule"), CORRECT, ids=[c for c, _, _ in CORRECT])
def test_an_example_with_norms_and_dropout_agrees(code, settings, rule, dtype):
    r = lockstep.check(example(code), steps=16, dtype=dtype, **settings)
    assert r.verdict == "agree", str(r)
    assert f"('{rule}')" in note(r)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("code", "settings", "rule"), CORRECT, ids=[c for c, _, _ in CORRECT])
def test_an_example_with_norms_and_dropout_agrees_over_an_epoch(code, settings, rule, dtype):
    r = lockstep.check(example(code), steps=100, dtype=dtype, **dict(settings, n_train=4000))
    assert r.verdict == "agree", str(r)


@pytest.mark.parametrize(("code", "settings", "line"), BUGGY, ids=[c for c, _, _ in BUGGY])
def test_a_backward_that_forgets_the_mask_is_located_at_the_masks_tensor(code, settings, line):
    r = lockstep.check(example(code), steps=5, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and d.step == 0 and d.phase == "backward", str(r)
    assert d.tensor == "layers.1.norm.weight"  # the first gradient the forgotten mask of layer 1 spoils
    assert d.source["tensor"] == "layers.1.da", d.source
    assert covers(d.source, EXAMPLES / code.split(":")[0], line), d.source


@pytest.mark.parametrize("how", list(lf.DRAWS))
def test_masks_are_recovered_however_the_code_draws_them(how):
    """Every way of drawing a mask, with the convention (u < keep or u > drop; a 0/1 draw as the mask or as the
    drops) read from the code's loss at the first call."""
    r = lockstep.check(lf.network(lf.DRAWS[how]), steps=6, **SMALL)
    assert r.verdict == "agree", str(r)
    wanted = {"above_drop": "u > drop", "binomial_keep": "draw", "binomial_drop": "1 - draw"}
    rule = next((v for k, v in wanted.items() if how.endswith(k)), "u < keep")
    assert f"('{rule}')" in note(r)


def test_masks_drawn_in_columns_are_recovered():
    r = lockstep.check(lf.columns, steps=6, **SMALL)
    assert r.verdict == "agree", str(r)
    assert r.result.identity.candidate["samples"] == "columns"


def test_the_users_random_state_is_kept_by_the_side_and_restored_outside():
    """A re-run from a saved state draws the same numbers; np.random's state and functions outside the calls are
    as they were."""
    outside = np.random.get_state()[1].copy()
    rand = np.random.rand
    streams = draws.Streams()
    saved = streams.save()
    with streams.call() as drawn:
        first = np.random.rand(3, 4)
    with streams.call() as later:
        second = np.random.rand(3, 4)
    streams.restore(saved)
    with streams.call():
        again = np.random.rand(3, 4)
    assert np.array_equal(first, again) and not np.array_equal(first, second)
    assert [n for n, _ in drawn] == ["np.random.rand"] and np.array_equal(later[0][1], second)
    assert np.random.rand is rand and np.array_equal(np.random.get_state()[1], outside)


def test_a_run_leaves_numpys_random_functions_as_they_were():
    rand, default_rng = np.random.rand, np.random.default_rng
    lockstep.check(lf.network(lf.DRAWS["default_rng_fresh"]), steps=2, **SMALL)
    assert np.random.rand is rand and np.random.default_rng is default_rng


@pytest.mark.parametrize(
    ("code", "settings", "message"),
    [
        (
            lf.network(lf.DRAWS["rand_below_keep"], masks_per_block=2),
            SMALL,
            r"drew 4 arrays of a dropout layer's shape during its call \(np.random.rand \(64, 32\), .*and --dropout "
            r"0.25 has 2 dropout layers \(\(64, 32\), \(64, 16\)\): draw one mask per hidden layer",
        ),
        (
            example("torch_layout_net.py:loss_and_grads"),
            dict(sizes=[784, 32, 10], dropout=0.2),
            r"drew no dropout mask during its call, and --dropout 0.2 has 1 dropout layer \(\(64, 32\)\)",
        ),
        (
            lf.network(lf.DRAWS["rand_below_keep"]),
            dict(SMALL, dropout=0.0),
            r"drew arrays of the hidden layers' shapes during its call \(\(64, 32\), \(64, 16\)\), dropout masks as "
            r"it seems, and the run has no dropout: rerun with --dropout P",
        ),
        (
            example("torch_layout_net.py:loss_and_grads"),
            dict(sizes=[784, 32, 10], norm="batchnorm"),
            r"^--norm batchnorm: .* fits this network without a norm \(its params without gamma and beta\)",
        ),
    ],
    ids=["two-masks-a-layer", "no-mask", "masks-without-dropout", "no-norm"],
)
def test_what_cannot_be_read_is_one_line(code, settings, message):
    with pytest.raises(CandidateError, match=message) as e:
        lockstep.check(code, steps=2, **settings)
    assert "\n" not in str(e.value)


def test_the_models_running_statistics_are_compared():
    """CS231n keeps the biased variance in its running statistics: compared every step, its convention is named."""
    r = lockstep.check(example("cs231n_fc_norm_net.py:make_model"), steps=3, norm="batchnorm", **MODEL)
    d = r.first_divergence
    assert (d.step, d.phase, d.tensor) == (0, "forward", "layers.0.norm.running_var"), str(r)
    assert any("--bn-running-variance biased" in f.message for f in r.findings), str(r)


def test_a_model_whose_running_statistics_stay_put_is_located_there():
    import cs231n_fc_norm_net as net

    def frozen():
        model = net.make_model()
        model.bn_params[1]["momentum"] = 1.0  # the running statistics of layer 1 never move
        return model

    r = lockstep.check(frozen, steps=3, norm="batchnorm", bn_running_variance="biased", **MODEL)
    d = r.first_divergence
    assert (d.step, d.phase, d.tensor) == (0, "forward", "layers.1.norm.running_mean"), str(r)


def test_a_batch_larger_than_the_traced_slice_is_traced_whole_with_its_masks():
    """The tracer re-runs the step from its random state on the whole batch, so the code draws the step's masks."""
    code = "cs231n_dict_net.py:loss_and_grads_mask_forgotten"
    r = lockstep.check(example(code), steps=2, batch_size=300, **dict(NET, norm="batchnorm", n_train=600))
    d = r.first_divergence
    assert d.source["tensor"] == "layers.1.da", d.source
    assert covers(d.source, EXAMPLES / "cs231n_dict_net.py", "# the mask is not reapplied"), d.source


def test_cs231n_s_float32_model_with_batch_norm_and_dropout_agrees():
    import cs231n_fc_norm_net as net

    def make():  # FullyConnectedNet's own float32 default
        return net.FullyConnectedNet(
            [100, 50], input_dim=784, num_classes=10, dropout_keep_ratio=0.8, normalization="batchnorm"
        )

    r = lockstep.check(make, steps=16, dtype="float32", norm="batchnorm", bn_running_variance="biased", **MODEL)
    assert r.verdict == "agree", str(r)
