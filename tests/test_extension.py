"""README's "Where things are" promises that adding an activation, a loss, a layout or a finding is a row in a
table and its implementation. These tests add toy entries the way README says and check that the rest of the tool
(the CLI's choices, the equivalence run, the rounding bound, the auto layout, the report) picks them up."""

import numpy as np
import pytest
import torch.nn.functional as F

import handmade
import lockstep
import reference
from lockstep import cli
from lockstep.findings import findings
from lockstep.records import Finding
from lockstep.sides import layouts
from lockstep.sides.layouts import Layout


@pytest.fixture
def softplus(monkeypatch):
    """A new activation: its forward/backward pair in handmade's table, its row in the twin's. (The rounding bound
    models the twin's formulas by handmade's: the twin's row must compute its derivative as stably, as
    F.softplus's sigmoid does; docs/judging.md.)"""

    def forward(z):
        with np.errstate(over="ignore"):
            return np.where(z > 20, z, np.log1p(np.exp(z)))  # log(1 + e^z), linear past 20 as torch's is

    def backward(da, z, a):
        with np.errstate(over="ignore"):
            return da * np.where(z > 20, 1.0, 1 / (1 + np.exp(-z)))  # softplus'(z) = sigmoid(z)

    monkeypatch.setitem(handmade.layers.ACTIVATIONS, "softplus", (forward, backward))
    monkeypatch.setitem(reference.mlp.ACTIVATIONS, "softplus", lambda z, s: F.softplus(z))


def test_a_new_activation_is_trained_judged_and_offered(softplus, capsys):
    r = lockstep.check(activation="softplus", steps=30, n_train=256)
    assert r.verdict == "agree", str(r)
    r = lockstep.check(activation="softplus", loss="mse", lr=5.0, scale="symmetric", steps=30, n_train=256)
    assert r.verdict in ("agree", "blew_up"), str(r)  # saturated units: the bound needs no new code
    assert cli.main(["--activation", "softplus", "--steps", "2", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("verdict: agree")


def test_a_new_layout_is_inferred(monkeypatch):
    """A layout with the weights as (in, out) and the bias as the first row of a separate (1, out) array... as a
    transposed bias-row: T (out, in + 1) with row-major bias last, written as its two conversions of one layer."""
    row = Layout(
        "bias-last-row",
        "one (in+1, out) matrix per layer, the last row the biases",
        False,
        lambda W, b: (np.vstack([W.T, b[None, :]]),),
        lambda arrays, n_in, n_out: (arrays[0][:-1].T, arrays[0][-1]),
        lambda n_in, n_out, bias: ((n_in + 1, n_out),),
        lambda kind, idx, n_in: (0, (idx[1], idx[0])) if kind == "weight" else (0, (n_in, idx[0])),
        lambda kind: " rows ..-1 (the weights, transposed)" if kind == "weight" else " the last row (the biases)",
    )
    monkeypatch.setitem(layouts.LAYOUTS, row.name, row)

    def net(params, X, Y):
        acts, zs = [X], []
        for i, T in enumerate(params):
            z = np.hstack([acts[-1], np.ones((len(X), 1))]) @ T
            zs.append(z)
            acts.append(np.tanh(z) if i < len(params) - 1 else z)
        m = len(X)
        delta = (acts[-1] - Y) / m
        grads = [None] * len(params)
        for i in range(len(params) - 1, -1, -1):
            grads[i] = np.hstack([acts[i], np.ones((m, 1))]).T @ delta
            if i:
                delta = (delta @ params[i][:-1].T) * (1 - acts[i] ** 2)
        return 0.5 * np.sum((acts[-1] - Y) ** 2) / m, grads

    r = lockstep.check(
        net, sizes=[784, 20, 10], activation="tanh", loss="mse", steps=20, n_train=256, layout="bias-last-row"
    )  # its shapes are bias-row's: auto would ask
    assert r.verdict == "agree" and r.to_dict()["candidate"]["layout"] == "bias-last-row", str(r)


def test_a_new_finding_is_reported(monkeypatch):
    def steps_taken(ctx):
        return Finding("steps_taken", f"{len(ctx.outcome.steps)} steps were taken.")

    monkeypatch.setattr(findings, "FINDINGS", findings.FINDINGS + [steps_taken])
    r = lockstep.check(steps=3)
    assert r.findings[-1].code == "steps_taken" and "finding [steps_taken] 3 steps were taken." in str(r)
