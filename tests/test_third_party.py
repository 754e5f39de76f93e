"""Real from-scratch networks by other authors (examples/third_party/, each with its source and licence): the
correct ones agree with the twin over 30 steps in both dtypes (a function and a class over 300: the long canaries);
the buggy ones are located where the bug is."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from source_lines import covers

import lockstep

from conftest import AGREES

HERE = Path(__file__).resolve().parent.parent / "examples" / "third_party"
NET = dict(sizes=[784, 32, 10], n_train=512)

CORRECT = [
    ("sklearn_mlp.py:classifier", dict(activation="relu", loss="cross_entropy", l2=1e-4, lr=0.1)),
    ("sklearn_mlp.py:multilabel", dict(activation="relu", loss="bce", l2=1e-4, lr=0.1)),
    (
        "mlxtend_mlp.py:Net",
        dict(
            activation="sigmoid",
            loss="cross_entropy",
            reduction="sum",
            l2_norm="none",
            targets="labels",
            momentum=0,
            lr=0.001,
        ),
    ),
    ("nimblenet_mlp.py:Net", dict(activation="sigmoid", loss="cross_entropy", momentum=0, lr=0.5)),
    ("nimblenet_mlp.py:NetMomentum", dict(activation="sigmoid", loss="cross_entropy", momentum=0.9, lr=0.1)),
]

BUGGY = [  # candidate, settings, where it shows, its suspect, what the report says, the text on the bug's line
    (
        "sklearn_mlp.py:regressor_multioutput",
        dict(activation="relu", loss="mse", l2=1e-4, lr=0.01),
        ("loss", "loss"),
        None,
        "convention",  # scikit-learn issue #8349: the mean over the outputs
        "np.average((y_true - y_pred) ** 2, weights=sample_weight, axis=0).mean()",
    ),
    (
        "nimblenet_mlp.py:NetAdam",
        dict(activation="sigmoid", loss="cross_entropy", optimizer="adam", lr=1e-3),
        ("update", "layers.0.weight"),
        "adam-no-bias-correction",
        "suspect",
        "return -learning_rate * m[ layer_index ] / ( np.sqrt(v[ layer_index ]) + epsilon )",
    ),
    (
        "mlfromscratch_mlp_bug_stale_weights.py:Net",
        dict(activation="sigmoid", loss="cross_entropy", reduction="sum", momentum=0, lr=0.001),
        ("update", "layers.0.weight"),
        None,
        "local_error",  # fixed upstream in commit 0f7ea66
        "grad_wb = lambda b:",
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,settings", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_third_party_network_agrees(name, settings, dtype):
    r = lockstep.check(f"{HERE / name}", steps=30, dtype=dtype, **NET, **settings)
    assert r.verdict == "agree", str(r)


LONG = [c for c in CORRECT if c[0] in ("sklearn_mlp.py:classifier", "nimblenet_mlp.py:NetMomentum")]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,settings", LONG, ids=[c[0] for c in LONG])
def test_a_third_party_function_and_class_agree_over_300_steps(name, settings, dtype):
    r = lockstep.check(f"{HERE / name}", steps=300, dtype=dtype, **NET, **settings)
    assert r.verdict in AGREES[dtype], str(r)


@pytest.mark.parametrize("name,settings,where,suspect,finding,bug_line", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy_third_party_network_is_located(name, settings, where, suspect, finding, bug_line):
    r = lockstep.check(f"{HERE / name}", steps=5, **NET, **settings)
    d = r.first_divergence
    assert r.verdict == "diverge" and (d.step, d.phase, d.tensor) == (0, *where), str(r)
    codes = [f.code for f in r.findings]
    assert finding in codes
    assert [f.bug for f in r.findings if f.code == "suspect"] == ([suspect] if suspect else [])
    assert covers(d.source, HERE / name.split(":")[0], bug_line), d.source


def test_scikit_learn_8349_is_named_a_convention_not_a_backprop_bug(monkeypatch):
    """The loss is the mean over the k outputs while the gradients are of their sum: 1/k, every gradient agrees."""
    sklearn_mlp = load("sklearn_mlp")
    monkeypatch.setattr(sklearn_mlp, "ALPHA", 0.0)  # without the penalty, the whole loss is 1/k of torch's
    r = lockstep.check(sklearn_mlp.regressor_multioutput, steps=2, activation="relu", loss="mse", lr=0.01, **NET)
    f = next(f for f in r.findings if f.code == "convention")
    assert f.facts["factor"] == pytest.approx(0.1, rel=1e-9) and "every gradient agrees" in f.message


def load(name):
    spec = importlib.util.spec_from_file_location(f"third_party_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nimblenets_adam_shows_the_new_weights_beside_torchs():
    """The departing values side by side are the weights the step leaves (network.weights[0] += dW, an in-place
    change through another object's attribute), not the step dW that the departing line computed."""
    r = lockstep.check(f"{HERE / 'nimblenet_mlp.py:NetAdam'}", steps=2, **NET, **BUGGY[1][1])
    src = r.first_divergence.source
    assert src["holder"]["variable"] == "network.weights[0]" and src["line"] != src["holder"]["line"]
    # Adam's first step moves a weight by at most lr (1e-3) in torch and 3.16 lr here: the two new weights are
    # within 4.2e-3 of each other, while the step dW beside torch's weight would be off by the weight itself
    assert src["tensor"] == "layers.0.weight" and max(abs(o - t) for o, t in zip(src["ours"], src["theirs"])) < 4.2e-3


def test_ak_pynns_adam_is_named_at_its_update_with_eps_inside_the_square_root():
    """ak-pynn 0.1.8's Adam divides by sqrt(v_hat + eps): at the first step, where its 1 - beta correction is still
    Adam's, the catalogue's adam-eps-inside-sqrt fits exactly, and the line is its weight update."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 6))
    settings = dict(X=X, y=(X[:, 0] * X[:, 1] > 0).astype(int), sizes=[6, 8, 5, 1], n_train=128, steps=2)
    settings.update(activation="sigmoid", loss="mse", output="identity", loss_scale=2, optimizer="adam", lr=1e-3)
    r = lockstep.check(f"{HERE / 'ak_pynn_mlp.py:NetAdam'}", eps=1e-7, **settings)
    d = r.first_divergence
    assert (d.step, d.phase) == (0, "update") and [f.bug for f in r.findings if f.code == "suspect"] == [
        "adam-eps-inside-sqrt"
    ], str(r)
    text = "self.weights[i] -= (learningRate*(m_dw/np.sqrt(v_dw+self.epsilon)))"
    assert covers(d.source, HERE / "ak_pynn" / "mlp.py", text), d.source
