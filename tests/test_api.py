"""README's API example runs unchanged with either backend, and both give the same numbers."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import handmade
import reference

ROOT = Path(__file__).resolve().parent.parent


def test_readme_example_runs_with_either_backend():
    code = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert "import handmade as backend" in code
    outputs = []
    for name in ("handmade", "reference"):
        script = code.replace("import handmade as backend", f"import {name} as backend")
        run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout.split())
    from lockstep.check import TOLERANCES, compare
    assert compare("loss", "loss", float(outputs[0][0]), float(outputs[1][0]), TOLERANCES["float64"]).ok
    assert outputs[0][1:] == outputs[1][1:]


def test_same_constructor_same_weights():
    for init in handmade.INITS:
        ours = handmade.MLP([6, 5, 3], activation="tanh", init=init, seed=7)
        theirs = reference.MLP([6, 5, 3], activation="tanh", init=init, seed=7)
        twin = reference.MLP.from_handmade(ours)
        for name, value in ours.state_dict().items():
            assert np.array_equal(value, theirs.state_dict()[name].numpy())
            assert np.array_equal(value, twin.state_dict()[name].numpy())
            assert value.shape == tuple(theirs.state_dict()[name].shape)


def test_keys_and_shapes_mirror_torch():
    net = handmade.MLP([4, 3, 2])
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert list(net.state_dict()) == list(reference.MLP([4, 3, 2]).state_dict())
    assert net.state_dict()["layers.0.weight"].shape == (3, 4)


def test_inits_have_their_documented_ranges():
    rng = np.random.default_rng(0)
    from handmade.init import init_params
    (W, b), = init_params([400, 300], "torch", rng, np.float64)
    assert np.abs(W).max() <= 1 / 20 and np.abs(b).max() <= 1 / 20 and np.abs(W).max() > 0.049
    (W, b), = init_params([400, 300], "uniform", rng, np.float64)
    assert W.min() >= 0 and W.max() < 0.01 and b.min() >= 0
    (W, b), = init_params([400, 300], "xavier", rng, np.float64)
    assert np.abs(W).max() <= np.sqrt(6 / 700) and not b.any()
    (W, b), = init_params([400, 300], "kaiming", rng, np.float64)
    assert abs(W.std() - np.sqrt(2 / 400)) < 0.002


def test_grads_accumulate_without_zero_grad_as_in_torch():
    X, Y = np.eye(4)[:3], np.eye(2)[[0, 1, 0]]
    ours, theirs = handmade.MLP([4, 2], seed=1), reference.MLP([4, 2], seed=1)
    for net in (ours, theirs):
        for _ in range(2):
            net.loss(X, Y)
            net.backward()
    from lockstep.check import TOLERANCES, compare
    for name, g in ours.grads().items():
        assert compare("backward", name, g, theirs.grads()[name], TOLERANCES["float64"]).ok
