"""The Python API: lockstep.check() and its Report, assert_agrees(), and the two backends' shared API."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import handmade
import lockstep
import reference
from lockstep.judge.tolerance import TOLERANCES, compare

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_readme_example_runs_with_either_backend():
    code = re.search(r"```python\n(import numpy.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert "import handmade as backend" in code
    outputs = []
    for name in ("handmade", "reference"):
        script = code.replace("import handmade as backend", f"import {name} as backend")
        run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout.split())
    assert compare("loss", "loss", float(outputs[0][0]), float(outputs[1][0]), TOLERANCES["float64"]).ok
    assert outputs[0][1:] == outputs[1][1:]


@pytest.mark.parametrize("init", list(handmade.INITS))
def test_twin_draws_the_same_weights_from_the_same_seed(init):
    """Both constructors draw from handmade's init with the same Generator; torch's RNG decides nothing."""
    import torch

    torch.manual_seed(123)  # would change torch's own init, which must not be used
    ours = handmade.MLP([6, 5, 3], activation="tanh", init=init, seed=7)
    theirs = reference.MLP([6, 5, 3], activation="tanh", init=init, seed=7)
    other = handmade.MLP([6, 5, 3], activation="tanh", init=init, seed=8)
    for name, value in ours.state_dict().items():
        assert np.array_equal(value, theirs.state_dict()[name].numpy()), name
        assert value.shape == tuple(theirs.state_dict()[name].shape)
    assert not all(np.array_equal(v, other.state_dict()[k]) for k, v in ours.state_dict().items())


def test_keys_and_shapes_mirror_torch():
    net = handmade.MLP([4, 3, 2])
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert list(net.state_dict()) == list(reference.MLP([4, 3, 2]).state_dict())
    assert net.state_dict()["layers.0.weight"].shape == (3, 4)
    assert list(handmade.MLP([4, 3, 2], bias=False).state_dict()) == ["layers.0.weight", "layers.1.weight"]


def test_inits_have_their_documented_ranges():
    rng = np.random.default_rng(0)
    from handmade.init import init_params

    ((W, b),) = init_params([400, 300], "torch", rng, np.float64)
    assert np.abs(W).max() <= 1 / 20 and np.abs(b).max() <= 1 / 20 and np.abs(W).max() > 0.049
    ((W, b),) = init_params([400, 300], "uniform", rng, np.float64)
    assert W.min() >= 0 and W.max() < 0.01 and b.min() >= 0
    ((W, b),) = init_params([400, 300], "xavier", rng, np.float64)
    assert np.abs(W).max() <= np.sqrt(6 / 700) and not b.any()
    ((W, b),) = init_params([400, 300], "kaiming", rng, np.float64)
    assert abs(W.std() - np.sqrt(2 / 400)) < 0.002


def test_grads_accumulate_without_zero_grad_as_in_torch():
    X, Y = np.eye(4)[:3], np.eye(2)[[0, 1, 0]]
    ours, theirs = handmade.MLP([4, 2], seed=1), reference.MLP([4, 2], seed=1)
    once = {}
    for net in (ours, theirs):
        for k in range(2):
            net.loss(X, Y)
            net.backward()
            if k == 0 and net is ours:
                once = {name: g.copy() for name, g in net.grads().items()}
    for name, g in ours.grads().items():
        assert compare("backward", name, g, theirs.grads()[name], TOLERANCES["float64"]).ok
        assert np.allclose(g, 2 * once[name])


def test_check_returns_a_report():
    r = lockstep.check(steps=5)
    assert r.verdict == "agree" and r.exit_code == 0 and r.first_divergence is None
    assert len(r.steps) == 5 and r.findings == []
    d = r.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["verdict"] == "agree"
    assert d["side"] == "handmade" and d["config"]["steps"] == 5
    assert set(d["detection_floor"]) == {"forward", "loss", "backward", "optimizer", "update"}
    text = str(r)
    assert text.splitlines()[-1].startswith("verdict: agree") and "784-128-64-10 relu" in text
    assert "verdict: agree" in r._repr_html_() and "agree" in repr(r)


def test_check_a_planted_bug():
    r = lockstep.check(inject_bug="missing-mean", steps=3)
    assert r.verdict == "diverge" and r.exit_code == 1
    d = r.first_divergence
    assert (d.step, d.phase, d.tensor) == (0, "backward", "layers.2.dz")
    assert d.phases == dict(forward="agree", loss="agree", backward="diverge", optimizer="diverge", update="diverge")
    assert d.source["file"] == "handmade/mlp.py" and d.source["kind"] == "bug"
    assert [f.bug for f in r.findings if f.code == "suspect"] == ["missing-mean"]
    with pytest.raises(AssertionError, match="verdict: diverge at step 0: backward layers.2.dz"):
        lockstep.assert_agrees(inject_bug="missing-mean", steps=3)


@pytest.mark.parametrize(
    "settings,message",
    [
        (dict(lr=-1), "--lr must be a positive number"),
        (dict(activation="swish"), "unknown activation 'swish'"),
        (dict(bogus=1), "unknown setting 'bogus'"),
        (dict(optimizer="adam", momentum=0.5), "--momentum belongs to --optimizer sgd or rmsprop, not adam; drop it"),
        (dict(steps=3, epochs=2), "give one of them"),
        (dict(inject_bug="typo"), "unknown bug 'typo'"),
        (dict(lr_schedule="cosine"), "--lr-schedule 'cosine' is not understood"),
        (dict(sizes=[100, 10]), "start --sizes with 784"),
    ],
)
def test_bad_settings_raise_value_error_with_one_line(settings, message):
    with pytest.raises(ValueError) as e:
        lockstep.check(**settings)
    assert message in str(e.value) and "\n" not in str(e.value)
