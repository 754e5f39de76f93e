"""The JSON report is a contract with its readers: its structure (every key, at every depth, and the JSON type of
every value) is pinned for reports of every kind, from tests/json_structure.json. A change to the report's
structure is a deliberate edit of that file: `python tests/test_json.py` rewrites it from the code as it is."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import lockstep

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
PINNED = HERE / "json_structure.json"


def structure(x):
    """The shape of a JSON value: a dict's keys (sorted) with their structures, a list's distinct element
    structures (in first-seen order), and a leaf's JSON type."""
    if isinstance(x, dict):
        return {k: structure(x[k]) for k in sorted(x)}
    if isinstance(x, list):
        seen = []
        for v in x:
            if structure(v) not in seen:
                seen.append(structure(v))
        return seen
    return "null" if x is None else {bool: "bool", int: "int", float: "float", str: "str"}[type(x)]


def float32_only():
    from test_verdicts import saturating_run

    return saturating_run(logit=25)


SMALL = dict(sizes=[784, 16, 10], n_train=256)
REPORTS = {  # every kind of report: each verdict, each side, with and without a source line, a note, a gradcheck
    "agree": lambda: lockstep.check(steps=3, n_train=256),
    "agree-gradcheck-drift": lambda: lockstep.check(
        activation="tanh", loss="mse", lr=10, scale="symmetric", steps=4, gradcheck=True
    ),
    "planted-bug": lambda: lockstep.check(inject_bug="missing-mean", steps=2, n_train=256),
    "candidate-diverge-with-source": lambda: lockstep.check(
        f"{EXAMPLES / 'torch_layout_net.py'}:loss_and_grads_no_mean", steps=2, **SMALL
    ),
    "candidate-class-agree": lambda: lockstep.check(
        f"{EXAMPLES / 'adam_class_net.py'}:AdamNet", optimizer="adam", lr=1e-3, steps=2, **SMALL
    ),
    "blew-up": lambda: lockstep.check(
        sizes=[784, 300, 10],
        activation="leaky_relu",
        loss="mse",
        lr=0.5,
        momentum=0.0,
        scale="symmetric",
        n_train=256,
        steps=60,
    ),
    "non-finite-one-side": lambda: lockstep.check(inject_bug="softmax-no-max-shift", scale="unit", lr=1.0, steps=40),
    "non-finite-float64-candidate": lambda: lockstep.check(
        lambda params, X, Y: (float("nan"), [np.full_like(p, np.nan) for p in params]), layout="torch", steps=2, **SMALL
    ),
    "candidate-intermediates-diverge": lambda: lockstep.check(
        f"{EXAMPLES / 'dls_deep_net.py'}:loss_and_grads_no_copy",
        sizes=[784, 16, 8, 10],
        loss="bce",
        steps=2,
        n_train=256,
    ),
    "float32-only": float32_only,
    "inconclusive": lambda: lockstep.check(
        loss="mse",
        output="sigmoid",
        dtype="float32",
        sizes=[784, 24, 16, 10],
        batch_size=32,
        n_train=200,
        epochs=2,
        lr=0.1,
    ),
}


def test_the_json_structure_is_pinned_for_every_kind_of_report():
    pinned = json.loads(PINNED.read_text())
    assert sorted(pinned) == sorted(REPORTS)
    with np.errstate(all="ignore"):
        for name, make in REPORTS.items():
            assert structure(make().to_dict()) == pinned[name], name


def test_the_structure_sees_keys_types_and_nesting():
    assert structure({"b": [1, 2.0, {"c": None}], "a": "x"}) == {"a": "str", "b": ["int", "float", {"c": "null"}]}
    assert structure({"a": 1}) != structure({"a": 1.0}) and structure({"a": 1}) != structure({"b": 1})


@pytest.mark.parametrize("name", ["planted-bug"])
def test_a_changed_key_is_seen(name):
    d = REPORTS[name]().to_dict()
    pinned = json.loads(PINNED.read_text())[name]
    d["first_divergence"]["renamed"] = d["first_divergence"].pop("tensor")
    assert structure(d) != pinned


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    with np.errstate(all="ignore"):
        PINNED.write_text(json.dumps({k: structure(f().to_dict()) for k, f in REPORTS.items()}, indent=1) + "\n")
    print(f"wrote {PINNED}")
