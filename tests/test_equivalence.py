"""The equivalence suite: handmade and the torch twin agree on every tensor at every step.

Each row is one configuration, and the rows come from the tables (handmade's activations and losses, the
optimizers of lockstep/config.py), so a new entry is covered without editing this file. Lockstep compares the loss,
every z and a, every dL/dz and gradient, the optimizer state and the updated parameters after every step
(lockstep/engine.py). The planted-bug tests (test_bugs.py) show that the same comparison does fail.
"""

import itertools

import numpy as np
import pytest

from handmade import ACTIVATIONS, LOSSES
from lockstep import data
from lockstep.config import OPTIMIZERS, SCHEDULES, Config, state_keys

from conftest import AGREES, lockstep, synthetic

LOSS_CASES = [(loss, output) for loss, (_, _, outputs) in LOSSES.items() for output in outputs]
OPTIMIZER_ROWS = {name: dict(optimizer=name, lr=0.1 if name == "sgd" else 1e-3) for name in OPTIMIZERS}
DTYPES = ["float64", "float32"]
# every activation x loss x dtype, each with one optimizer, in turn so that every optimizer meets every activation
# and every loss: (a + l + d) mod the number of optimizers
MATRIX = [
    (act, loss, list(OPTIMIZER_ROWS)[(a + l + d) % len(OPTIMIZER_ROWS)], dtype)
    for (a, act), (l, loss), (d, dtype) in itertools.product(
        enumerate(ACTIVATIONS), enumerate(LOSS_CASES), enumerate(DTYPES)
    )
]


def expected_tensors(cfg, n_layers):
    """z and a, the loss, dL/da of the hidden layers (and of the output with mse), dz and the gradients, the state
    and the new values."""
    per_param = 2 if cfg.bias else 1
    da = n_layers - 1 + (cfg.loss == "mse")
    return 2 * n_layers + 1 + da + n_layers * (1 + per_param) + n_layers * per_param * (len(state_keys(cfg)) + 1)


@pytest.mark.parametrize(
    "activation,loss,opt,dtype", MATRIX, ids=[f"{a}-{l}-{o}-{opt}-{d}" for a, (l, o), opt, d in MATRIX]
)
def test_matrix(prepared, activation, loss, opt, dtype):
    X, Y = prepared[dtype]  # 200 digits, batch 32: six full batches and a partial one of 8, two epochs
    loss, output = loss
    out = lockstep(
        X,
        Y,
        sizes=[784, 24, 16, 10],
        activation=activation,
        loss=loss,
        output=output,
        dtype=dtype,
        batch_size=32,
        epochs=2,
        **OPTIMIZER_ROWS[opt],
    )
    assert out.verdict in AGREES[dtype], out.first_divergence
    assert dtype == "float32" or not out.drift, out.drift
    assert len(out.steps) == 14
    assert all(s.tensors == expected_tensors(Config(optimizer=opt, loss=loss), 3) for s in out.steps)


def test_the_matrix_pairs_every_optimizer_with_every_activation_and_loss():
    pairs = {(o, a) for a, _, o, _ in MATRIX} | {(o, l) for _, l, o, _ in MATRIX}
    assert all((o, a) in pairs for o in OPTIMIZER_ROWS for a in ACTIVATIONS)
    assert all((o, l) in pairs for o in OPTIMIZER_ROWS for l in LOSS_CASES)


# the training settings: each optimizer and its courses' settings (rows), each run with a schedule and a clipping in
# turn, in both dtypes; ten steps of 32 (and a partial 8) over two epochs, so per-epoch schedules change the lr once
TRAINING_ROWS = [
    dict(optimizer="sgd", lr=0.1, momentum=0.9),
    dict(optimizer="sgd", lr=0.1, momentum=0.5, dampening=0.3, weight_decay=1e-3),
    dict(optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True),
    dict(optimizer="sgd", lr=0.1, momentum=0.9, momentum_form="ema"),  # Coursera, Holberton
    dict(optimizer="sgd", lr=0.1, momentum=0.9, momentum_form="velocity"),  # CS231n, NNFS
    dict(optimizer="sgd", lr=0.1, momentum=0.9, momentum_form="velocity", weight_decay=1e-3),
    dict(optimizer="rmsprop", lr=1e-3),  # torch's, CS231n's decay_rate 0.99
    dict(optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7),  # NNFS's rho and eps
    dict(optimizer="rmsprop", lr=1e-3, momentum=0.9, centered=True, weight_decay=1e-3),
    dict(optimizer="adagrad", lr=0.01),
    dict(optimizer="adagrad", lr=0.01, eps=1e-7, lr_decay=1e-2),  # NNFS's
    dict(optimizer="adam", lr=1e-3, adam_t0=1),  # CS231n's skeleton
    dict(optimizer="adamw", lr=1e-3, adam_t0=1),
]
SCHEDULE_ROWS = [None, "inv-iter:0.1", "stair:0.5:1", "at-iter:4:0.01", "step-iter:3:0.5", "exp:0.5"]
CLIP_ROWS = [{}, dict(clip_value=0.01), dict(clip_norm=0.2)]
TRAINING = [
    (row, SCHEDULE_ROWS[(i + 3 * d) % len(SCHEDULE_ROWS)], CLIP_ROWS[(i + d) % len(CLIP_ROWS)], dtype)
    for i, row in enumerate(TRAINING_ROWS)
    for d, dtype in enumerate(DTYPES)
]


def training_id(case):
    row, schedule, clip, dtype = case
    return "-".join([" ".join(f"{k}={v}" for k, v in row.items()), str(schedule), str(clip or "noclip"), dtype])


@pytest.mark.parametrize("row,schedule,clip,dtype", TRAINING, ids=[training_id(c) for c in TRAINING])
def test_training_settings(prepared, row, schedule, clip, dtype):
    X, Y = prepared[dtype]
    out = lockstep(
        X, Y, sizes=[784, 24, 16, 10], dtype=dtype, batch_size=32, epochs=2, lr_schedule=schedule, **row, **clip
    )
    assert out.verdict == "agree", out.first_divergence
    assert dtype == "float32" or not out.drift, out.drift
    assert len(out.steps) == 14 and all(s.tensors == expected_tensors(Config(**row), 3) for s in out.steps)


def test_the_training_rows_cover_every_optimizer_form_schedule_and_clipping():
    from lockstep.config import MOMENTUM_FORMS, parse_schedule

    assert {r["optimizer"] for r in TRAINING_ROWS} == set(OPTIMIZERS)
    assert {r.get("momentum_form", "torch") for r in TRAINING_ROWS} == set(MOMENTUM_FORMS)
    kinds = {parse_schedule(s)[0] for s in SCHEDULE_ROWS if s}
    assert kinds == set(SCHEDULES) and {parse_schedule(s)[2] for s in SCHEDULE_ROWS if s} == {"epoch", "iteration"}
    for clip in CLIP_ROWS:  # every clipping with every dtype
        assert {d for _, _, c, d in TRAINING if c == clip} == set(DTYPES)
    velocity = [s for r, s, _, _ in TRAINING if r.get("momentum_form") == "velocity"]
    assert any(velocity), "the velocity form must meet a schedule: it differs from torch's only when lr changes"


CONVENTIONS = [
    dict(reduction="sum", lr=0.002),
    dict(loss_scale=0.1),
    dict(loss_scale=2.0, loss="mse"),
    dict(l2=0.5, l2_norm="dataset"),
    dict(l2=0.01, l2_norm="none"),
    dict(l2=0.5, l2_norm="batch", loss="bce"),
    dict(bias=False),
    dict(bias=False, optimizer="adam", lr=1e-3),
    dict(activation="leaky_relu", leaky_slope=0.2),
    dict(optimizer="adam", betas=(0.8, 0.99), eps=1e-6, lr=1e-3),
    dict(prob_clip=1e-7),  # NNFS
    dict(prob_clip=0.05, loss="bce"),
    dict(l1=1e-3),
    dict(l1=1e-2, l2=0.1, bias_penalty=True, init="xavier"),  # the biases start at exactly 0: sign(0) = 0
    dict(l2=0.5, l2_norm="dataset", bias_penalty=True, optimizer="adam", lr=1e-3),
    dict(loss="mse", output="softmax", reduction="sum", lr=0.01),
    dict(loss="svm", loss_scale=0.5),
] + [dict(lr_schedule=example, epochs=4) for *_, example in SCHEDULES.values()]


@pytest.mark.parametrize("case", CONVENTIONS, ids=lambda c: " ".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("dtype", DTYPES)
def test_conventions(prepared, case, dtype):
    X, Y = prepared[dtype]
    out = lockstep(X, Y, **{**dict(sizes=[784, 24, 16, 10], dtype=dtype, batch_size=32, epochs=2), **case})
    assert out.verdict == "agree", out.first_divergence
    assert dtype == "float32" or not out.drift, out.drift


ODD = [
    dict(name="no hidden layer, one output", sizes=[3, 1], n=40, batch_size=8, loss="bce"),
    dict(name="no hidden layer, mse", sizes=[3, 1], n=40, batch_size=8, loss="mse"),
    dict(name="batch size 1", sizes=[5, 4, 3], n=12, batch_size=1, loss="cross_entropy"),
    dict(name="partial last batch", sizes=[6, 7, 3], n=10, batch_size=4, loss="cross_entropy"),
    dict(name="one hidden unit", sizes=[4, 1, 2], n=16, batch_size=5, loss="mse", output="sigmoid"),
    dict(name="deep and narrow", sizes=[5, 3, 3, 3, 3, 2], n=30, batch_size=7, loss="bce"),
]


@pytest.mark.parametrize("case", ODD, ids=[c["name"] for c in ODD])
@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes(case, dtype):
    case = dict(case)
    name, n = case.pop("name"), case.pop("n")
    X, Y = synthetic(n, case["sizes"][0], case["sizes"][-1], dtype)
    out = lockstep(X, Y, dtype=dtype, epochs=3, activation="tanh", **case)
    assert out.verdict == "agree", (name, out.first_divergence)
    assert len(out.steps) == 3 * -(-n // case["batch_size"])


def test_partial_batch_sizes_follow_dataloader():
    """Batches of an epoch cover every sample once, the last one partial, as DataLoader(drop_last=False)."""
    from lockstep.config import batch_order

    order = list(batch_order(10, 4, 6, np.random.default_rng(0)))
    assert [len(b) for b, _ in order] == [4, 4, 2, 4, 4, 2]
    assert [end for _, end in order] == [False, False, True] * 2
    assert sorted(np.concatenate([b for b, _ in order[:3]]).tolist()) == list(range(10))


LONG = [
    dict(activation="relu", loss="cross_entropy", optimizer="sgd", momentum=0.9, nesterov=True, lr=0.05),
    dict(activation="tanh", loss="mse", optimizer="adam", lr=1e-3),
    dict(activation="sigmoid", loss="bce", optimizer="adamw", lr=1e-3),
    dict(activation="leaky_relu", loss="cross_entropy", optimizer="sgd", momentum=0.0, lr=0.1, l2=0.5),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", LONG, ids=[f"{c['activation']}-{c['loss']}-{c['optimizer']}" for c in LONG])
def test_300_steps_float64_within_1e9_absolute(digits, case):
    X, Y = data.prepare(digits, 1000, "unit", "float64")[:2]
    out = lockstep(X, Y, steps=300, sizes=[784, 64, 32, 10], **case)
    assert out.verdict == "agree", out.first_divergence
    assert max(s.max_abs_err for s in out.steps) <= 1e-9  # the accumulated drift, measured
    assert not out.drift


@pytest.mark.slow
def test_600_steps_default_network_float64(digits):
    X, Y = data.prepare(digits, None, "unit", "float64")[:2]
    out = lockstep(X, Y, steps=600)
    assert out.verdict == "agree" and len(out.steps) == 600 and not out.drift


@pytest.mark.slow
def test_float32_2000_steps_is_not_called_divergent(digits):
    """Rounding drift in float32 (relu gates flipping, growth over steps) is re-anchored, never a verdict."""
    X, Y = data.prepare(digits, None, "unit", "float32")[:2]
    out = lockstep(X, Y, steps=2000, dtype="float32")
    assert out.verdict in AGREES["float32"], out.first_divergence
    assert all(d.kind in ("accumulated", "rounding") for d in out.drift), out.drift


SLOW = pytest.mark.slow
OVERFIT = [  # a model that fits its few images makes dL/dz cancel to ~1e-7 of its terms: still agreement
    pytest.param(dict(n_train=4, steps=200), marks=SLOW),
    pytest.param(dict(n_train=8, steps=300, lr=0.1), marks=SLOW),
    dict(n_train=1, steps=20),
    pytest.param(dict(n_train=4, steps=300, optimizer="adam", lr=1e-3), marks=SLOW),
    pytest.param(dict(n_train=2, steps=500, loss="bce", activation="sigmoid"), marks=SLOW),
    pytest.param(dict(n_train=4, steps=500, loss="mse"), marks=SLOW),
    pytest.param(dict(n_train=8, steps=300, dtype="float32"), marks=SLOW),
    pytest.param(dict(n_train=32, steps=400, dtype="float32"), marks=SLOW),
]


def _name(case):
    case = case if isinstance(case, dict) else case.values[0]
    return " ".join(f"{k}={v}" for k, v in case.items())


@pytest.mark.parametrize("case", OVERFIT, ids=[_name(c) for c in OVERFIT])
def test_overfitting_a_few_images_still_agrees(digits, case):
    case = dict(case)
    n = case.pop("n_train")
    X, Y = data.prepare(digits, n, "unit", case.get("dtype", "float64"))[:2]
    out = lockstep(X, Y, **case)
    assert out.verdict in AGREES[case.get("dtype", "float64")], out.first_divergence
    assert all(d.kind != "float32_only" for d in out.drift)


def test_centered_rmsprops_square_root_of_rounding_is_a_blow_up_not_a_divergence():
    """A gradient held constant by clipping makes centered RMSprop's s - a^2 zero within rounding: which backend rounds
    it below 0 (a NaN from sqrt) is luck. One backend's NaN there is a blow-up of the formula (exit 0), not a
    difference: the bound marks where a correct implementation may leave sqrt's domain."""
    X, Y = synthetic(32, 5, 3, "float32", seed=0)
    out = lockstep(
        X * 30,
        Y,
        sizes=[5, 4, 3],
        dtype="float32",
        optimizer="rmsprop",
        lr=1e-6,
        alpha=0.9,
        centered=True,
        clip_value=0.3,
        batch_size=None,
        steps=220,
        loss="mse",
    )
    nf = out.non_finite
    assert out.verdict == "blew_up" and nf.domain and not nf.same_place, (out.first_divergence, nf)
    assert (nf.side is None) != (nf.ref is None)  # one backend only
