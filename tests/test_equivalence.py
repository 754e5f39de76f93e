"""The equivalence suite: handmade and the torch twin agree on every tensor at every step.

Each row is one config; Lockstep compares the loss, every z and a, every dL/dz and gradient, the optimizer
state and the updated parameters after every step (lockstep/engine.py) under the tolerances of
lockstep/check.py. The planted-bug tests (test_bugs.py) show that the same comparison does fail.
"""
import itertools

import pytest

from conftest import lockstep, synthetic

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
LOSSES = ["cross_entropy", "bce", "mse"]
OPTIMIZERS = [dict(optimizer="sgd", lr=0.1, momentum=0.9), dict(optimizer="adam", lr=1e-3),
              dict(optimizer="adamw", lr=1e-3)]
DTYPES = ["float64", "float32"]
MATRIX = list(itertools.product(ACTIVATIONS, LOSSES, range(len(OPTIMIZERS)), DTYPES))


def expected_tensors(n_layers, optimizer, momentum=0.9, recorded=True):
    state = {"sgd": 1 if momentum else 0, "adam": 2, "adamw": 2}[optimizer]
    return (3 * n_layers if recorded else 0) + 1 + 2 * n_layers + state * 2 * n_layers + 2 * n_layers


@pytest.mark.parametrize("activation,loss,opt,dtype", MATRIX,
                         ids=[f"{a}-{l}-{OPTIMIZERS[o]['optimizer']}-{d}" for a, l, o, d in MATRIX])
def test_matrix(prepared, activation, loss, opt, dtype):
    X, Y = prepared[dtype]  # 200 digits, batch 32: six full batches and a partial one of 8, two epochs
    out = lockstep(X, Y, sizes=[784, 24, 16, 10], activation=activation, loss=loss, dtype=dtype, batch_size=32,
                   epochs=2, **OPTIMIZERS[opt])
    assert out.verdict == "agree", out.first_divergence
    assert dtype == "float32" or not out.drift
    assert len(out.steps) == 14
    assert all(s["tensors"] == expected_tensors(3, OPTIMIZERS[opt]["optimizer"]) for s in out.steps)
    assert set(out.steps[-1]["phase_rel_err"]) == {"forward", "loss", "backward", "optimizer", "update"}


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
    batches = -(-n // case["batch_size"])
    assert len(out.steps) == 3 * batches


def test_partial_batch_sizes_follow_dataloader(prepared):
    """Batches of an epoch cover every sample once, the last one partial, as DataLoader(drop_last=False)."""
    import numpy as np
    from lockstep.config import batch_order
    order = list(batch_order(10, 4, 6, np.random.default_rng(0)))
    assert [len(b) for b in order] == [4, 4, 2, 4, 4, 2]
    assert sorted(np.concatenate(order[:3]).tolist()) == list(range(10))


LONG = [
    dict(activation="relu", loss="cross_entropy", optimizer="sgd", momentum=0.9, nesterov=True, lr=0.05),
    dict(activation="tanh", loss="mse", optimizer="adam", lr=1e-3),
    dict(activation="sigmoid", loss="bce", optimizer="adamw", lr=1e-3),
    dict(activation="leaky_relu", loss="cross_entropy", optimizer="sgd", momentum=0.0, lr=0.1, l2=0.5),
]


@pytest.mark.parametrize("case", LONG, ids=[f"{c['activation']}-{c['loss']}-{c['optimizer']}" for c in LONG])
def test_300_steps_float64_within_1e9_absolute(digits, case):
    from lockstep import data
    X, Y = data.prepare(digits, 1000, "unit", "float64")[:2]
    out = lockstep(X, Y, steps=300, sizes=[784, 64, 32, 10], **case)
    assert out.verdict == "agree", out.first_divergence
    assert max(s["max_abs_err"] for s in out.steps) <= 1e-9  # the acceptance figure, not a tolerance
    assert not out.drift


def test_600_steps_default_network_float64(digits):
    from lockstep import data
    X, Y = data.prepare(digits, None, "unit", "float64")[:2]
    out = lockstep(X, Y, steps=600)
    assert out.verdict == "agree" and len(out.steps) == 600 and not out.drift


def test_float32_2000_steps_is_not_called_divergent(digits):
    """Rounding drift in float32 (relu gates flipping, growth over steps) is re-anchored, never a verdict."""
    from lockstep import data
    X, Y = data.prepare(digits, None, "unit", "float32")[:2]
    out = lockstep(X, Y, steps=2000, dtype="float32")
    assert out.verdict == "agree", out.first_divergence
    assert all(d["kind"] in ("accumulated", "relu_flip") for d in out.drift)


OVERFIT = [  # a model that fits its few images makes dL/dz cancel to ~1e-7 of its terms: still agreement
    dict(n_train=4, steps=200),
    dict(n_train=8, steps=300, lr=0.1),
    dict(n_train=1, steps=20),
    dict(n_train=4, steps=300, optimizer="adam", lr=1e-3),
    dict(n_train=2, steps=500, loss="bce", activation="sigmoid"),
    dict(n_train=4, steps=500, loss="mse"),
    dict(n_train=8, steps=300, dtype="float32"),
    dict(n_train=32, steps=400, dtype="float32"),
]


@pytest.mark.parametrize("case", OVERFIT, ids=[" ".join(f"{k}={v}" for k, v in c.items()) for c in OVERFIT])
def test_overfitting_a_few_images_still_agrees(digits, case):
    from lockstep import data
    case = dict(case)
    n = case.pop("n_train")
    X, Y = data.prepare(digits, n, "unit", case.get("dtype", "float64"))[:2]
    out = lockstep(X, Y, **case)
    assert out.verdict == "agree", out.first_divergence
    assert all(d["kind"] != "float32_only" for d in out.drift)
