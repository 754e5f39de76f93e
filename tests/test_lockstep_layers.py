"""The lockstep run with the layers of docs/layers.md: batch norm, layer norm, dropout, the embedding, svm.

Short runs of handmade against the twin agree for every layer kind and convention; the plan names exactly the
tensors both MLPs record; the same dropout masks act on both sides and on every re-run of a step; the running
statistics and the eval-mode forward are compared; the bias before a batch norm is measured on its terms' scale;
the courses' conventions of these layers are named with their flags; token data runs through --data FILE.npz."""

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import handmade
import lockstep
from lockstep import data
from lockstep.config import Config
from lockstep.data.tokens import ALPHABET, markov, next_char
from lockstep.engine import Lockstep, compare_step
from lockstep.findings import findings
from lockstep.judge.judge import LONG
from lockstep.judge.tolerance import TOLERANCES, compare_all
from lockstep.sides import Handmade, plan
from lockstep.sides.plan import model_tensors, zero_sum

from conftest import AGREES

# a fixed word list, its letters covering the alphabet (no corpus ships)
WORDS = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth sofia ella madison "
    "scarlett victoria aria grace chloe camila penelope riley layla lillian nora zoey mila aubrey hannah lily "
    "addison eleanor natalie luna savannah brooklyn leah zoe stella hazel ellie paisley audrey skylar violet claire "
    "bella aurora lucy anna samantha caroline genesis aaliyah kennedy kinsley allison maya sarah madelyn adeline "
    "alexa ariana elena gabriella naomi alice sadie hailey eva emilia autumn quinn nevaeh piper ruby serenity willow "
    "everly cora kaylee lydia aubree arianna eliana peyton melanie gianna isabelle julia valentina nova clara vivian "
    "reagan mackenzie madeline brielle delilah isla rylee katherine sophie josephine ivy liliana jade maria taylor "
    "hadley kylie emery adalynn natalia annabelle faith alexandra ximena ashley brianna raelynn bailey mary "
    "athena andrea leilani jasmine lyla margaret alyssa adalyn arya norah khloe kayla eden eliza rose ariel melody "
    "alexis isabel sydney juliana lauren iris emerson london morgan lilly charlie aliyah valeria arabella sara "
    "finley trinity ryleigh jordyn jocelyn kimberly esther molly valerie cecilia anastasia daisy reese laila mya "
    "amy teagan amaya elise harmony paige adaline fiona alaina nicole genevieve lucia alina mckenzie callie payton "
    "eloise brooke londyn mariah julianna rachel daniela gracie catherine angelina presley josie harley adelyn "
    "vanessa makayla parker juliette amara marley lila ana rowan alana michelle malia rebecca brooklynn brynlee "
    "summer sloane leila sienna adriana sawyer kendall juliet destiny alayna elliana diana hayden ayla dakota angela "
    "noelle rosalie joanna jayla alivia lola emersyn georgia selena june tessa maggie jessica remi delaney camille "
    "vivienne hope mckenna gemma olive alexandria blakely izabella catalina raegan journee gabrielle lucille ruth "
    "amani rory jack quincy xavier kevin wyatt zachary jax felix max rex jaxon bexley oxford"
).split()

SHORT = dict(n_train=256, steps=8)
RUNS = [  # (label, settings): correct code, every layer kind and convention, both dtypes
    ("bn", dict(norm="batchnorm")),
    ("bn f32", dict(norm="batchnorm", dtype="float32")),
    ("bn makemore", dict(norm="batchnorm", bn_variance="unbiased", bn_momentum=0.001, activation="tanh")),
    ("bn cs231n", dict(norm="batchnorm", bn_running_variance="biased", bn_eps=1e-3, dtype="float32")),
    ("bn no bias", dict(norm="batchnorm", bias=False, optimizer="adam", lr=1e-3)),
    ("bn adam f32", dict(norm="batchnorm", optimizer="adam", lr=1e-3, dtype="float32")),
    ("ln", dict(norm="layernorm", activation="sigmoid")),
    ("ln f32", dict(norm="layernorm", ln_eps=1e-3, dtype="float32", optimizer="rmsprop", lr=1e-3)),
    ("dropout", dict(dropout=0.2)),
    ("dropout classic f32", dict(dropout=0.5, dropout_form="classic", dtype="float32")),
    ("bn dropout", dict(norm="batchnorm", dropout=0.2)),
    ("bn dropout f32", dict(norm="batchnorm", dropout=0.2, dtype="float32")),
    ("ln dropout svm", dict(norm="layernorm", dropout=0.3, loss="svm", lr=0.01)),
    ("svm", dict(loss="svm", lr=0.01)),
    ("svm f32", dict(loss="svm", lr=0.01, dtype="float32", reduction="sum", lr_schedule="exp:0.5")),
    ("mse softmax bn", dict(loss="mse", output="softmax", norm="batchnorm", optimizer="adagrad", lr=0.01)),
    ("pixels as tokens", dict(embedding=(256, 2), sizes=[1568, 32, 10], scale="none", norm="batchnorm")),
]


@pytest.mark.parametrize("label,settings", RUNS, ids=[r[0] for r in RUNS])
def test_correct_layers_agree(label, settings):
    r = lockstep.check(**SHORT, **settings)
    assert r.verdict in AGREES[settings.get("dtype", "float64")], r
    assert r.result.accuracy["handmade"] == r.result.accuracy["reference"] or "float32" in label


def small_config(**settings):
    return dataclasses.replace(Config(sizes=[12, 9, 7, 5], batch_size=16, steps=4), **settings)


def synthetic_batch(cfg, m=16, seed=1):
    rng = np.random.default_rng(seed)
    if cfg.embedding:
        X = rng.integers(0, cfg.embedding[0], (m, cfg.sizes[0] // cfg.embedding[1]))
    else:
        X = rng.standard_normal((m, cfg.sizes[0])).astype(cfg.dtype)
    return X, np.eye(cfg.sizes[-1], dtype=cfg.dtype)[rng.integers(0, cfg.sizes[-1], m)]


PLAN_ROWS = [
    dict(),
    dict(norm="batchnorm"),
    dict(norm="layernorm", dropout=0.3),
    dict(norm="batchnorm", dropout=0.1, dropout_form="classic", embedding=(11, 3)),
    dict(embedding=(11, 4), loss="mse", output="softmax"),
    dict(norm="batchnorm", bias=False, loss="svm"),
]


@pytest.mark.parametrize("settings", PLAN_ROWS, ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()) or "dense")
def test_the_plan_names_what_both_mlps_record(settings):
    """The plan's forward, backward and eval names are exactly the tensors handmade and the twin record, in
    handmade's order of computation; and every plan tensor gets a bound."""
    cfg = small_config(**settings)
    X, Y = synthetic_batch(cfg)
    rng = np.random.default_rng(0)
    side = Handmade(cfg, cfg.dtype, rng, 100)
    run = Lockstep(cfg, X, Y, side, rng)
    run.run()
    names = model_tensors(cfg.model_args(n_train=1))
    ours, theirs = side.tensors(), run.twin.tensors()
    assert names["forward"] == list(side.net.acts)
    assert sorted(names["backward"]) == sorted(
        [k for k in side.net.deltas] + [k for k, _ in side.net.named_parameters()]
    )
    assert names["eval"] == list(side.eval_acts) and (not names["eval"]) == (cfg.norm == "none" and not cfg.dropout)
    for key in plan(cfg):
        assert key in ours and key in theirs, key
    assert [n for p, n in plan(cfg) if p == "update"] == [k for k, _ in side.net.named_parameters()]


def dropout_run(cfg, side_class=Handmade):
    X, Y = synthetic_batch(cfg, m=48)
    rng = np.random.default_rng(0)
    side = side_class(cfg, cfg.dtype, rng, len(X))
    return Lockstep(cfg, X, Y, side, rng), X[:16], Y[:16]


def test_the_twin_and_every_rerun_apply_the_sides_masks():
    cfg = small_config(dropout=0.4, norm="batchnorm")
    run, X, Y = dropout_run(cfg)
    with ThreadPoolExecutor(1) as run._pool:  # one step by hand, as the run takes it
        pre = run.side.save()
        _, _, masks = run._both_step(X, Y)
    assert set(masks) == {"layers.0.dropout.mask", "layers.1.dropout.mask"}
    for name, mask in masks.items():
        assert np.array_equal(run.twin.net.acts[name], mask) and np.array_equal(run.side.net.acts[name], mask)
    local = run.rerun.both("float64", pre, None, X, Y, masks)
    assert all(c.ok for c in local.checks)
    raised = run.rerun.side(LONG, pre, X, Y, masks)
    assert all(np.array_equal(raised.net.acts[k], masks[k]) for k in masks)
    assert np.allclose(
        np.asarray(raised.tensors()["forward", "layers.0.dropout.out"], float),
        run.side.net.acts["layers.0.dropout.out"],
    )
    other = {k: 1 - v for k, v in masks.items()}  # other masks: the re-run's output changes (the test can fail)
    again = run.rerun.side("float64", pre, X, Y, other)
    assert not np.allclose(
        again.tensors()["forward", "layers.0.dropout.out"], run.side.net.acts["layers.0.dropout.out"]
    )


class DrawsInItsStep(Handmade):
    """A side that draws its dropout masks only inside its step, as a user's code does: the twin waits for them."""

    def draw_masks(self, m):
        return None


def test_a_side_that_draws_inside_its_step_hands_its_masks_to_the_twin():
    cfg = small_config(dropout=0.3, steps=6)
    run, _, _ = dropout_run(cfg, DrawsInItsStep)
    out = run.run()
    assert out.verdict == "agree" and not out.drift
    assert np.array_equal(run.twin.net.acts["layers.0.dropout.mask"], run.side.masks()["layers.0.dropout.mask"])


def test_masks_drawn_ahead_are_those_the_forward_draws():
    config = handmade.ModelConfig([6, 5, 4, 3], dropout=0.4)
    X = np.random.default_rng(3).standard_normal((10, 6))
    ahead, inside = handmade.MLP(config, seed=2), handmade.MLP(config, seed=2)
    masks = ahead.draw_masks(10)
    inside.forward(X)
    assert all(np.array_equal(masks[k], v) for k, v in inside.dropout_masks().items())


def test_running_statistics_and_eval_mode_are_compared_every_step():
    cfg = small_config(norm="batchnorm", dropout=0.2, steps=5)
    names = plan(cfg)
    for i in range(2):
        assert ("forward", f"layers.{i}.norm.running_mean") in names and ("eval", f"layers.{i}.norm.out") in names
    run, _, _ = dropout_run(cfg)
    out = run.run()
    assert all(s.tensors == len(names) for s in out.steps)
    X = synthetic_batch(cfg, 30, seed=9)[0]
    assert np.array_equal(run.side.predict(X), run.twin.net.predict(X))
    eval_out = run.side.evaluate(X)["layers.2.a"]  # eval mode: the running statistics, no dropout
    net = run.side.net
    z = X @ net.layers[0].weight.data.T + net.layers[0].bias.data
    rm, rv = net.layers[0].norm_param["running_mean"], net.layers[0].norm_param["running_var"]
    assert np.allclose(run.side.evaluate(X)["layers.0.norm.xhat"], (z - rm) / np.sqrt(rv + cfg.bn_eps))
    assert np.argmax(eval_out, axis=1).tolist() == run.side.predict(X).tolist()


def test_the_bias_before_a_batch_norm_is_measured_on_its_terms():
    """Its exact gradient is 0, so both sides' values are rounding: against its own largest value they differ by
    about 100%, against the terms it sums by about eps. A float64 run needs no judge there."""
    cfg = dataclasses.replace(Config(), norm="batchnorm", steps=10)
    assert ("backward", "layers.0.bias") in zero_sum(cfg) and ("update", "layers.0.bias") in zero_sum(cfg)
    X, Y = data.prepare(data.embedded(), 640, "unit", "float64")[:2]
    rng = np.random.default_rng(0)
    run = Lockstep(cfg, X, Y, Handmade(cfg, "float64", rng, len(X)), rng)
    out = run.run()
    assert out.verdict == "agree" and not out.drift  # no excess at any step
    pairs = [(p, n, run.side.tensors()[p, n], run.twin.tensors()[p, n]) for p, n in run.plan]
    plain = {(c.phase, c.name): c.ok for c in compare_all(pairs, TOLERANCES["float64"])}
    terms = {
        (c.phase, c.name): c.ok for c in compare_step(pairs, run.twin, "float64", Y[:64], run.last, None, run.zeros)[0]
    }
    assert not plain["backward", "layers.0.bias"] and terms["backward", "layers.0.bias"]
    assert not zero_sum(dataclasses.replace(cfg, bias=False)) and not zero_sum(Config())


CONVENTION_ROWS = [  # (the run's settings, the side's, the flag the finding names)
    (dict(norm="batchnorm"), dict(bn_variance="unbiased"), "--bn-variance unbiased"),
    (dict(norm="batchnorm", bn_variance="unbiased"), dict(bn_variance="biased"), "--bn-variance biased"),
    (dict(norm="batchnorm"), dict(bn_running_variance="biased"), "--bn-running-variance biased"),
    (
        dict(norm="batchnorm", bn_running_variance="biased"),
        dict(bn_running_variance="unbiased"),
        "--bn-running-variance unbiased",
    ),
    (dict(norm="batchnorm"), dict(bn_momentum=0.9), "--bn-momentum 0.9"),
    (dict(norm="batchnorm", bn_momentum=0.9), dict(bn_momentum=0.001), "--bn-momentum 0.001"),
    (dict(dropout=0.3), dict(dropout_form="classic"), "--dropout-form classic"),
    (dict(dropout=0.3, dropout_form="classic"), dict(dropout_form="inverted"), "--dropout-form inverted"),
    (dict(loss="svm"), dict(loss_scale=0.1), "--loss-scale 0.1"),
    (dict(loss="svm", loss_scale=0.1), dict(loss_scale=1.0), "--loss-scale 1"),
]


@pytest.fixture(scope="module")
def digits512():
    return data.prepare(data.embedded(), 512, "unit", "float64")[:3]


@pytest.mark.parametrize("run_settings,side_settings,flag", CONVENTION_ROWS, ids=[r[2] for r in CONVENTION_ROWS])
def test_a_courses_convention_is_named_with_its_flag(digits512, run_settings, side_settings, flag):
    """A side that follows another convention than the run's diverges at that tensor, and the convention finding
    names the flag that makes the run follow it (and no flag for a side that follows the run's)."""
    X, Y, y = digits512
    cfg = dataclasses.replace(Config(steps=3), **run_settings)
    rng = np.random.default_rng(0)
    side = Handmade(dataclasses.replace(cfg, **side_settings), "float64", rng, len(X))
    out = Lockstep(cfg, X, Y, side, rng).run()
    found = findings.convention(findings.Context(out, cfg, side, y, 10))
    assert out.verdict == "diverge" and found is not None and found.facts["fix"] == flag, found


@pytest.mark.parametrize("bias", [True, False])
def test_the_zero_gradient_finding_names_the_biases_before_a_batch_norm(bias):
    r = lockstep.check(norm="batchnorm", optimizer="adam", lr=1e-3, init="kaiming", n_train=256, steps=6, bias=bias)
    found = next((f for f in r.findings if f.code == "zero_gradient"), None)
    assert r.verdict == "agree"
    assert (found is not None) == bias and (not bias or found.facts["parameters"] == ["layers.0.bias", "layers.1.bias"])


def test_token_data():
    X, y = next_char(["emma", "ava"], k=3)
    assert X.tolist()[:3] == [[0, 0, 0], [0, 0, 5], [0, 5, 13]] and "".join(ALPHABET[i] for i in y) == "emma.ava."
    X, y = next_char(WORDS, k=3)
    assert X.shape == (len(y), 3) and set(y.tolist()) == set(range(27))
    X, y = markov(500, k=4, vocabulary=9, seed=1)
    assert X.shape == (500, 4) and set(y.tolist()) == set(range(9)) and np.array_equal(X[1:, -1], y[:-1])
    assert np.array_equal(markov(500, 4, 9, seed=1)[0], X) and not np.array_equal(markov(500, 4, 9, seed=2)[0], X)
    with pytest.raises(ValueError, match="a-z"):
        next_char(["anne-marie"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_embedding_on_a_token_file_agrees(tmp_path, dtype):
    X, y = next_char(WORDS, k=3)
    np.savez(tmp_path / "names.npz", X=X, y=y)
    r = lockstep.check(data=str(tmp_path / "names.npz"), embedding=(27, 10), sizes=[30, 64, 27], steps=20, dtype=dtype)
    assert r.verdict in AGREES[dtype] and r.result.config["scale"] == "none"
    assert r.result.check["tensors"] == len(plan(dataclasses.replace(Config(), embedding=(27, 10), sizes=[30, 64, 27])))


def test_gradcheck_holds_the_masks_and_the_batch_statistics():
    r = lockstep.check(norm="batchnorm", dropout=0.3, gradcheck=True, steps=1, sizes=[784, 32, 16, 10])
    line = next(f.message for f in r.findings if f.code == "gradcheck")
    assert ": pass." in line, line


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [
        dict(norm="batchnorm", dropout=0.2),
        dict(norm="batchnorm", dropout=0.2, dtype="float32"),
        dict(norm="layernorm"),
        dict(norm="layernorm", dtype="float32"),
        dict(loss="svm"),
        dict(loss="svm", dtype="float32"),
    ],
    ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()),
)
def test_the_issues_runs_agree_over_an_epoch(settings):
    """python compare.py --norm batchnorm --dropout 0.2, --norm layernorm and --loss svm, in both dtypes."""
    r = lockstep.check(**settings)
    assert r.verdict == "agree" and len(r.steps) == 63, r
    assert r.result.accuracy["handmade"] == r.result.accuracy["reference"]
