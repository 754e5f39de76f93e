"""A fast slice of the false-alarm sweep (benchmarks/sweep.py), through the sweep's own functions: 11 short runs
of correct code that must not diverge (saturated tanh and sigmoid, and every convention), one blow-up in both
backends (not an alarm), 4 planted bugs (one per phase) that must be found where the catalogue says, and checks
that the sweep's alarm and miss detection can fire and that its draws are valid and cover the tables."""

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

import handmade
from lockstep.config import OPTIMIZERS
from lockstep.findings.bugs import BUGS

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("sweep", ROOT / "benchmarks" / "sweep.py")
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)

D64, D32 = "float64", "float32"
SLICE = [  # correct code: never 'diverge'; the first two are the saturated tanh nets
    dict(dtype=D64, sizes=[784, 16, 16, 16, 10], activation="tanh", loss="mse", lr=10, scale="symmetric", steps=100),
    dict(dtype=D32, sizes=[784, 32, 32, 32, 10], activation="tanh", loss="bce", lr=3, scale="symmetric", steps=100),
    dict(
        dtype=D64,
        sizes=[784, 16, 16, 16, 16, 10],
        activation="sigmoid",
        scale="standard",
        optimizer="adam",
        lr=0.05,
        steps=120,
    ),
    dict(
        dtype=D32,
        sizes=[784, 24, 24, 24, 10],
        activation="sigmoid",
        loss="mse",
        output="sigmoid",
        scale="standard",
        reduction="sum",
        lr=0.01,
        steps=100,
    ),
    dict(dtype=D64, activation="relu", loss_scale=10, l2=1e-3, l2_norm="dataset", optimizer="adamw", lr=3e-3, steps=80),
    dict(dtype=D32, activation="leaky_relu", leaky_slope=0.2, bias=False, nesterov=True, loss="mse", steps=80),
    dict(
        dtype=D64,
        activation="identity",
        loss="bce",
        momentum=0.9,
        dampening=0.5,
        weight_decay=1e-3,
        batch_size="full",
        n_train=128,
        steps=60,
    ),
    dict(
        dtype=D32,
        activation="tanh",
        init="xavier",
        batch_size=1,
        lr_schedule="exp:0.9",
        l2=0.1,
        l2_norm="none",
        steps=150,
    ),
    dict(
        dtype=D64,
        sizes=[784, 5, 5, 10],
        activation="sigmoid",
        loss="bce",
        l2=1.0,
        init="uniform",
        scale="symmetric",
        momentum=0.0,
        lr=2.0,
        batch_size="full",
        steps=60,
    ),
    dict(
        dtype=D32,
        sizes=[784, 512, 10],
        init="kaiming",
        optimizer="adam",
        lr=0.01,
        batch_size="full",
        n_train=64,
        steps=60,
    ),
    dict(dtype=D64, sizes=[784, 1, 10], activation="tanh", reduction="sum", loss_scale=0.1, lr=1e-3, steps=150),
]
BLOW_UP = dict(
    dtype=D64,
    sizes=[784, 300, 10],
    activation="leaky_relu",
    loss="mse",
    lr=0.5,
    momentum=0.0,
    scale="symmetric",
    n_train=256,
    steps=60,
)  # lr too high: inf in both backends at the same place
BUG_SLICE = ["softmax-no-max-shift", "missing-mean", "momentum-dampened-first-step", "adam-no-bias-correction"]


@pytest.mark.parametrize(
    "settings",
    [pytest.param(s, marks=pytest.mark.slow) if s["steps"] >= 100 else s for s in SLICE],  # the long ones
    ids=[f"{i}-{s['dtype']}-{s.get('activation', 'relu')}" for i, s in enumerate(SLICE)],
)
def test_correct_code_raises_no_false_alarm(settings):
    row = sweep.run_config(dict(n_train=256, seed=1, **settings) if "n_train" not in settings else settings)
    assert not row["false_alarm"], row


def test_a_blow_up_in_both_backends_is_not_a_false_alarm():
    row = sweep.run_config(BLOW_UP)
    assert row["verdict"] == "blew_up" and row["exit_code"] == 0 and not row["false_alarm"], row
    s = sweep.summarise([dict(row, kind="config", seed=0, index=0, settings=BLOW_UP, family="slice")])
    assert s["blew_up"] == 1 and s["false_alarms"] == 0


def test_the_slice_covers_both_dtypes_and_every_phase():
    assert {s["dtype"] for s in SLICE} == {D32, D64}
    assert {BUGS[b].expect[0] for b in BUG_SLICE} == {"forward", "backward", "optimizer", "update"}


@pytest.mark.parametrize("name", BUG_SLICE)
def test_planted_bug_is_found_where_the_catalogue_says(name):
    row = sweep.run_bug(name, seed=3)
    assert row["miss"] is None, row
    assert row["verdict"] == "diverge" and row["suspect"] == name


def test_a_hidden_bug_is_counted_as_a_miss():
    """The miss detection can fire: regularised-bias with l2 1e-30 keeps its needs (l2 > 0), but changes no tensor
    beyond rounding. Breaking its needs instead (l2 0) is refused, which is not a miss."""
    row = sweep.run_bug("regularised-bias", l2=1e-30)
    assert row["verdict"] == "agree" and row["miss"], row
    assert sweep.summarise([dict(row, kind="bug", seed=0, index=0)])["misses"]
    with pytest.raises(ValueError):
        sweep.run_bug("regularised-bias", l2=0.0)


def test_a_divergence_is_counted_as_a_false_alarm():
    """The alarm detection can fire: the same function on a run that does diverge (a planted bug) flags it, and
    the summary lists it and prints its settings."""
    meta, settings = sweep.draw(0, 0, steps=(20, 20))
    row = sweep.run_config(dict(settings, inject_bug="missing-mean", batch_size=8, reduction="mean"))
    assert row["false_alarm"] and row["exit_code"] == 1
    s = sweep.summarise([dict(row, kind="config", seed=0, index=0, settings=settings, **meta)])
    assert s["false_alarms"] == 1 and len(s["alarms"]) == 1
    assert "FALSE ALARM config 0" in sweep.table(s)


def test_draws_are_seeded_cover_the_tables_and_stay_in_range():
    draws = [sweep.draw(0, i)[1] for i in range(300)]
    assert draws[:5] == [sweep.draw(0, i)[1] for i in range(5)] and draws[0] != sweep.draw(1, 0)[1]
    seen = {
        key: Counter(d[key] for d in draws)
        for key in ("activation", "loss", "optimizer", "init", "scale", "dtype", "output")
    }
    assert set(seen["activation"]) == set(handmade.ACTIVATIONS) and set(seen["loss"]) == set(handmade.LOSSES)
    assert set(seen["optimizer"]) == set(OPTIMIZERS) and set(seen["init"]) == set(handmade.INITS)
    assert set(seen["scale"]) == {"unit", "symmetric", "standard", "none"} and set(seen["dtype"]) == {D32, D64}
    assert all(d["scale"] != "none" or "embedding" in d for d in draws)  # token indices are not scaled
    assert set(seen["output"]) == {o for loss in handmade.LOSSES.values() for o in loss[2]}
    for d in draws:
        assert 1 <= len(d["sizes"]) - 1 <= 5 and all(1 <= w <= 512 for w in d["sizes"][1:-1])
        assert 300 <= d["steps"] <= 2000 and 64 <= d["n_train"] <= 2000
    for key in (
        "reduction",
        "loss_scale",
        "l2",
        "bias",
        "leaky_slope",
        "nesterov",
        "dampening",
        "weight_decay",
        "lr_schedule",
        "momentum_form",
        "adam_t0",
        "alpha",
        "centered",
        "lr_decay",
        "initial_accumulator_value",
        "clip_value",
        "clip_norm",
        "prob_clip",
    ):
        assert any(key in d for d in draws), key
    assert any(d["batch_size"] == "full" for d in draws) and any(d["batch_size"] == 1 for d in draws)


def test_the_training_focus_draws_every_form_schedule_and_clipping():
    from lockstep.config import MOMENTUM_FORMS, SCHEDULES, parse_schedule

    draws = [sweep.draw(0, i, focus="training")[1] for i in range(150)]
    assert draws[0] != sweep.draw(0, 0)[1] and draws[:3] == [sweep.draw(0, i, focus="training")[1] for i in range(3)]
    assert {d.get("momentum_form", "torch") for d in draws if d["optimizer"] == "sgd"} == set(MOMENTUM_FORMS)
    parsed = [parse_schedule(d["lr_schedule"]) for d in draws if "lr_schedule" in d]
    assert {p[0] for p in parsed} == set(SCHEDULES) and {p[2] for p in parsed} == {"epoch", "iteration"}
    assert sum("clip_value" in d or "clip_norm" in d for d in draws) > 30 and sum("prob_clip" in d for d in draws) > 10


def test_drawn_settings_are_accepted():
    """check() accepts every drawn configuration (one step each), so the sweep's rows are runs, not errors."""
    for i in range(24):
        _, s = sweep.draw(0, i, focus="training" if i % 2 else None)
        batch = s["batch_size"] if s["batch_size"] == "full" else min(s["batch_size"], 64)
        sweep.run_config(dict(s, steps=1, n_train=64, batch_size=batch))


def test_the_draws_cover_the_layers_and_respect_batch_norms_batches():
    """Norms with their conventions, dropout in both forms, an embedding on token data, svm; batch norm never
    draws a batch of 1 (or a last partial batch of 1)."""
    draws = [sweep.draw(0, i)[1] for i in range(300)] + [sweep.draw(0, i, focus="layers")[1] for i in range(100)]
    assert {d.get("norm", "none") for d in draws} == {"none", "batchnorm", "layernorm"}
    assert {d.get("dropout_form", "inverted") for d in draws if d.get("dropout")} == {"inverted", "classic"}
    for key in ("bn_momentum", "bn_variance", "bn_running_variance", "bn_eps", "ln_eps", "embedding"):
        assert any(key in d for d in draws), key
    assert sum(d["loss"] == "svm" for d in draws) > 30 and sum("embedding" in d for d in draws) > 20
    for d in draws:
        if d.get("norm") == "batchnorm" and d["batch_size"] != "full":
            assert d["batch_size"] >= 2 and d["n_train"] % d["batch_size"] != 1, d
        if "embedding" in d:
            V, D = d["embedding"]
            assert d["scale"] == "none" and d["sizes"][0] % D == 0 and d["sizes"][-1] == V
        assert ("norm" in d or "dropout" in d) <= (len(d["sizes"]) > 2)


def test_an_embedding_draw_runs_on_its_token_data():
    _, s = next(d for d in (sweep.draw(0, i, focus="layers") for i in range(100)) if "embedding" in d[1])
    row = sweep.run_config(dict(s, steps=2))
    assert not row["false_alarm"] and row["verdict"] != "error", row
