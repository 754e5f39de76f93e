"""docs/contributing.md promises that adding an activation, a loss, a layer kind, a layout or a finding is a
row in a table and its implementation. These tests add toy entries the way it says and check that the rest of
the tool (the CLI's choices, the equivalence run, the rounding bound, the auto layout, the report, the per-op and
stack tests) picks them up."""

import numpy as np
import pytest
import test_layers
import test_ops
import torch
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

    monkeypatch.setitem(handmade.layers.ACTIVATIONS, "softplus", handmade.layers.Activation(forward, backward))
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


@pytest.fixture
def rmsnorm(monkeypatch):
    """A new layer kind after the affine layer, as docs/contributing.md says: its forward/backward pair and row in
    handmade's NORMS, and its row in the twin's. RMS norm: xhat = z / sqrt(mean(z^2) + eps), out = gamma xhat + beta,
    its statistics per sample (the recorded mean is 0: nothing is subtracted)."""
    from handmade.norms import Norm, NormCache

    def forward(z, gamma, beta, param):
        var = (z * z).mean(axis=1, keepdims=True)  # (m, 1)
        rstd = 1 / np.sqrt(var + param["eps"])
        xhat = z * rstd
        return gamma * xhat + beta, NormCache(np.zeros_like(var), var, xhat, rstd, gamma, 1, z.shape[1])

    def backward(dout, cache):
        g = dout * cache.gamma  # (m, n); no mean term: the mean is not subtracted
        dz = (g - cache.xhat * (g * cache.xhat).sum(axis=1, keepdims=True) / cache.divisor) * cache.rstd
        return dz, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)

    def twin(module, z, config, training):
        out = F.rms_norm(z, (z.shape[1],), module.weight, eps=config.ln_eps) + module.bias
        with torch.no_grad():
            var = (z * z).mean(dim=1, keepdim=True)
            return out, dict(mean=torch.zeros_like(var), var=var, xhat=z * torch.rsqrt(var + config.ln_eps))

    monkeypatch.setitem(handmade.NORMS, "rmsnorm", Norm(forward, backward, lambda c, n, dtype: dict(eps=c.ln_eps)))
    build = lambda n, c, dtype: torch.nn.LayerNorm(n, dtype=dtype)  # noqa: E731  (holds weight and bias)
    monkeypatch.setitem(reference.mlp.NORMS, "rmsnorm", reference.mlp.Norm(build, twin))


@pytest.mark.parametrize("case", test_ops.NORM_INPUTS)
def test_a_new_layer_kind_is_checked_op_by_op(rmsnorm, case):
    test_ops.test_norm("rmsnorm", "biased", "unbiased", case)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("extra", [dict(), dict(dropout=0.3, embedding=(7, 3), loss="svm")], ids=["plain", "stack"])
def test_a_new_layer_kind_trains_with_the_twin(rmsnorm, dtype, extra):
    row = dict(norm="rmsnorm", optimizer="adam", **extra)
    test_layers.test_stack_trains_in_step_with_the_twin(row, dtype)
    names = list(handmade.MLP([4, 5, 2], norm="rmsnorm").state_dict())
    assert names == list(reference.MLP([4, 5, 2], norm="rmsnorm").state_dict())
    assert names[2:4] == ["layers.0.norm.weight", "layers.0.norm.bias"]


def test_a_new_form_is_a_row_and_its_adapter(monkeypatch, capsys):
    """A form the tool does not know: a factory whose object computes forward_backward(params, X, Y) -> (loss, grads).
    Its row in FORMS and its adapter (a FunctionCandidate that calls the method) are the whole change: auto reads it,
    --form chooses it, and the run, the report and the tracer take it as any other form."""
    from lockstep.sides import forms
    from lockstep.sides.forms.function import FunctionCandidate

    class MethodCandidate(FunctionCandidate):
        def __init__(self, settings, dtype, seed=0):
            super().__init__(settings, dtype, seed)
            self.made = settings.obj()

        def call(self, params, X, Y):
            return self.made.forward_backward(params, X, Y)

    row = forms.CodeForm(
        "method",
        "make() -> an object with forward_backward(params, X, Y) -> (loss, grads)",
        True,
        lambda made: callable(getattr(made, "forward_backward", None)),
        lambda made: MethodCandidate,
    )
    monkeypatch.setitem(forms.FORMS, "method", row)

    class Trainer:
        def __init__(self, slip=1.0):
            self.slip = slip

        def forward_backward(self, params, X, Y):
            W0, b0, W1, b1 = params
            h = np.tanh(X @ W0.T + b0)  # (m, hidden)
            d2 = (h @ W1.T + b1 - Y) / len(X)  # (m, out)
            d1 = (d2 @ W1) * (1 - h**2) * self.slip
            loss = 0.5 * ((h @ W1.T + b1 - Y) ** 2).sum() / len(X)
            return loss, [d1.T @ X, d1.sum(0), d2.T @ h, d2.sum(0)]

    settings = dict(sizes=[784, 16, 10], activation="tanh", loss="mse", steps=5, n_train=256)
    r = lockstep.check(lambda: Trainer(), **settings)
    assert r.verdict == "agree" and r.to_dict()["candidate"]["form"] == "method", str(r)
    r = lockstep.check(lambda: Trainer(slip=0.5), form="method", **settings)
    assert r.verdict == "diverge" and r.first_divergence.tensor == "layers.0.weight", str(r)
    assert cli.parse_args(["--form", "method"]).form == "method"
