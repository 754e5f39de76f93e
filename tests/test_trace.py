"""lockstep/trace/__init__.py: trace one step of a user's network and name the line where its values leave the twin's.

The twin's tensors of each step come from reference.MLP on the same parameters and batch (dL/da retained on
its recorded activations, and the updated parameters from torch.optim.SGD for a class that owns its
update). Each buggy candidate has one planted bug, and the test names the line that holds it; each correct one
must report nothing.
"""

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from source_lines import covers, line_of

import lockstep
import reference
from lockstep import trace
from lockstep.trace import recorder as trace_record

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path(__file__).resolve().parent / "trace_cases"


def agree(ours, theirs):
    """The tests' comparison rule: max |a - b| <= 1e-9 max |b|."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    scale = float(np.abs(theirs).max(initial=0.0))
    return ours.shape == theirs.shape and float(np.abs(ours - theirs).max(initial=0.0)) <= 1e-9 * scale


def load(spec):
    path, _, name = spec.rpartition(":")
    module_spec = importlib.util.spec_from_file_location(f"_trace_case_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


def twin_step(model, X, Y, state, lr=None, optimizer="sgd"):
    """{name: array} of one step of the torch twin from the torch-layout state: z, a, dz, da, gradients, loss,
    the input, and (lr given) the parameters after torch.optim.SGD's step. (Asking torch.autograd.grad for dL/da
    before backward() would fire the retain_grad hooks twice and double every recorded dL/dz.)"""
    net = reference.MLP(dtype="float64", seed=0, **model)
    net.copy_from(state)
    loss = net.loss(X, Y)
    net.backward()
    twin = {k: v.copy() for k, v in net.acts.items()}
    twin.update({k: v.copy() for k, v in net.deltas.items()})  # dL/dz, and dL/da below the output
    twin.update({f"grad:{k}": g.copy() for k, g in net.grads().items()})
    twin.update(loss=loss, input=X.copy())
    if lr is not None:
        opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(net.parameters(), lr=lr)
        opt.step()
        twin.update({k: v.copy() for k, v in net.numpy_state().items()})
        for name, p in net.named_parameters():
            twin.update({f"{name}.{key}": v.numpy().copy() for key, v in opt.state[p].items() if key != "step"})
    return twin


def to_user(state, layout, L, form):
    """The torch-layout state in the candidate's layout (list, or dict W1, b1, ...)."""
    W = [state[f"layers.{i}.weight"].copy() for i in range(L)]
    b = [state[f"layers.{i}.bias"].copy() for i in range(L)]
    if layout == "torch":
        return [p for i in range(L) for p in (W[i], b[i])]
    if layout == "in-out" and form == "dict":
        return {k: v for i in range(L) for k, v in ((f"W{i + 1}", W[i].T.copy()), (f"b{i + 1}", b[i]))}
    if layout == "in-out":
        return [p for i in range(L) for p in (W[i].T.copy(), b[i])]
    if layout == "bias-row":
        return [np.vstack([b[i][None, :], W[i].T]) for i in range(L)]
    return [np.hstack([b[i][:, None], W[i]]) for i in range(L)]  # bias-first-col


def returned_names(grads, layout, L):
    """[(array, twin name)] for the gradients a function returned, as the engine hands them to locate()."""
    if isinstance(grads, dict):
        return [
            (grads[f"{k}{i + 1}"], f"grad:layers.{i}.{n}")
            for i in range(L)
            for k, n in (("W", "weight"), ("b", "bias"))
        ]
    if layout in ("torch", "in-out"):
        return [(g, f"grad:layers.{k // 2}.{'weight' if k % 2 == 0 else 'bias'}") for k, g in enumerate(grads)]
    return [(g, f"grad:layers.{i}.{n}") for i, g in enumerate(grads) for n in ("weight", "bias")]


TORCH = dict(model=dict(sizes=[12, 8, 6, 4], activation="relu", loss="cross_entropy"), layout="torch")
BIAS_ROW = dict(model=dict(sizes=[12, 5, 5, 4], activation="sigmoid", loss="bce", l2=1.0), layout="bias-row")
IN_OUT = dict(model=dict(sizes=[10, 8, 6, 4], activation="tanh", loss="cross_entropy"), layout="in-out", form="dict")
NIELSEN = dict(model=dict(sizes=[4, 5, 5, 5], activation="sigmoid", loss="bce"), layout="torch", lr=0.5)
THETA = dict(model=dict(sizes=[7, 5, 3], activation="sigmoid", loss="bce", l2=1.0), layout="bias-first-col")
# the vendored third-party networks, with the settings their docstrings give
SKLEARN = dict(model=dict(sizes=[9, 7, 4], activation="relu", loss="cross_entropy", l2=1e-4), layout="in-out")
MLFS = dict(
    model=dict(sizes=[6, 5, 4], activation="sigmoid", loss="cross_entropy", reduction="sum"), layout="in-out", lr=0.1
)
NIMBLE = dict(model=dict(sizes=[6, 5, 4], activation="sigmoid", loss="cross_entropy"), layout="bias-row", lr=0.03)
NIMBLE_ADAM = dict(NIMBLE, lr=0.001, optimizer="adam")
THIRD = "examples/third_party/"

# candidate, settings, expected (text on the line that holds the bug, variable, tensor) or None for a correct network
CASES = [
    ("examples/torch_layout_net.py:loss_and_grads", TORCH, None),
    (
        "examples/torch_layout_net.py:loss_and_grads_no_mean",
        TORCH,
        ("backward(params, cache, p - Y,", "dz", "layers.2.dz"),
    ),
    (
        "examples/torch_layout_net.py:loss_and_grads_relu_mask",
        TORCH,
        ("lambda da, z: da * (da > 0)", "<lambda>(...)", "layers.1.dz"),
    ),
    ("examples/bias_row_net.py:cost_and_grads", BIAS_ROW, None),
    (
        "examples/bias_row_net.py:cost_and_grads_bias_rows_only",
        BIAS_ROW,
        ("grads[l][0] += delta", "grads[2]", "grad:layers.2.weight"),
    ),
    ("examples/bias_row_net.py:cost_and_grads_sigmoid_at_a", BIAS_ROW, ("s = sigmoid(acts[l])", "s", "layers.1.dz")),
    ("tests/trace_cases/bias_row_loop.py:cost_and_grads", BIAS_ROW, None),
    ("tests/trace_cases/inout_dict_net.py:loss_and_grads", IN_OUT, None),
    (
        "tests/trace_cases/inout_dict_net.py:loss_and_grads_bias_mean",
        IN_OUT,
        ("dz.mean(axis=0)", "grads['b2']", "grad:layers.1.bias"),
    ),
    ("tests/trace_cases/nielsen_net.py:Network", NIELSEN, None),
    (
        "tests/trace_cases/nielsen_net.py:NetworkTransposed",
        NIELSEN,
        ("np.dot(self.weights[-l + 1], delta) * sp", "delta", "layers.1.dz"),
    ),
    ("tests/trace_cases/theta_net.py:nn_cost", THETA, None),
    (
        "tests/trace_cases/theta_net.py:nn_cost_reg_bias",
        THETA,
        ("Theta2_grad += LAM / m * Theta2", "Theta2_grad", "grad:layers.1.bias"),
    ),
    (THIRD + "sklearn_mlp.py:classifier", SKLEARN, None),
    (THIRD + "nimblenet_mlp.py:Net", NIMBLE, None),
    # the bias gradient reads self.W after the weight update changed it: reported with what it read
    (
        THIRD + "mlfromscratch_mlp_bug_stale_weights.py:Net",
        MLFS,
        ("grad_wb = lambda b:", "<lambda>(...)", "grad:layers.1.bias"),
    ),
    # Adam without bias correction: the step that divides the raw moments
    (
        THIRD + "nimblenet_mlp.py:NetAdam",
        NIMBLE_ADAM,
        ("m[ layer_index ] / ( np.sqrt(v[ layer_index ]) + epsilon )", "calculate_dW(...)", "layers.0.weight"),
    ),
]


def draw(sizes, seed, m, scale):
    """A batch X (m, n_in), one-hot Y and a torch-layout state, weights N(0, scale^2) and biases half that."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    state = {}
    for i in range(len(sizes) - 1):
        state[f"layers.{i}.weight"] = rng.standard_normal((sizes[i + 1], sizes[i])) * scale
        state[f"layers.{i}.bias"] = rng.standard_normal(sizes[i + 1]) * scale / 2
    return X, Y, state


def traced_step(spec, settings, seed=0, m=16, scale=0.7, inside=False):
    """Run the candidate's step traced on a random batch, with weights and biases of that scale; return (events,
    twin, returned, file, result). A class is built before tracing, or (inside) within the traced call."""
    model, layout = settings["model"], settings["layout"]
    L = len(model["sizes"]) - 1
    X, Y, state = draw(model["sizes"], seed, m, scale)
    file = str(ROOT / spec.rpartition(":")[0])
    obj = load(str(ROOT / spec))
    params = to_user(state, layout, L, settings.get("form"))
    lr = settings.get("lr")
    twin = twin_step(model, X, Y, state, lr, settings.get("optimizer", "sgd"))
    if isinstance(obj, type):  # a class that owns its update: Net(params, lr=lr).step(X, Y, lr)
        net = None if inside else obj(params, lr=lr)
        result, events = trace.record(lambda: (net or obj(params, lr=lr)).step(X.copy(), Y.copy(), lr), [file])
        returned = [(result, "loss")]
    else:
        result, events = trace.record(lambda: obj(params, X.copy(), Y.copy()), [file])
        returned = returned_names(result[1], layout, L) + [(result[0], "loss")]
    return events, twin, returned, file, result


@pytest.mark.parametrize("spec,settings,expected", CASES, ids=[c[0].rpartition("/")[2] for c in CASES])
def test_locate_names_the_line(spec, settings, expected):
    events, twin, returned, file, _ = traced_step(spec, settings)
    assert events.error is None and events
    sizes = settings["model"]["sizes"]
    source, why = trace.locate(
        events, twin, trace.default_order(twin, len(sizes) - 1), settings["layout"], sizes, agree, returned
    )
    if expected is None:
        assert source is None, source
        assert "matched" in why
        return
    text, variable, tensor = expected
    assert source is not None, why
    assert (Path(source["file"]), source["line"], source["variable"], source["tensor"]) == (
        Path(file).resolve(),
        line_of(file, text),
        variable,
        tensor,
    ), source
    assert source["matched_before"] and all(
        {"variable", "line", "tensor"} <= b.keys() for b in source["matched_before"]
    )
    assert len(source["ours"]) == len(source["theirs"]) > 0
    assert not np.allclose(source["ours"], source["theirs"])


def test_missing_mean_is_shown_as_m_times():
    events, twin, returned, _, _ = traced_step("examples/torch_layout_net.py:loss_and_grads_no_mean", TORCH)
    source, _ = trace.locate(
        events, twin, trace.default_order(twin, 3), "torch", TORCH["model"]["sizes"], agree, returned
    )
    assert source["scale"] == pytest.approx(16.0)  # the batch size


GRID = [(1, 5, 0.3, False), (2, 33, 1.0, True), (3, 64, 0.1, False)]  # seed, m, weight scale, class built inside


@pytest.mark.parametrize("spec,settings,expected", CASES, ids=[c[0].rpartition("/")[2] for c in CASES])
def test_the_same_line_on_other_batches_and_weights(spec, settings, expected):
    """Other batches, batch sizes and weight scales (saturated sigmoids at 0.1 and 1.0 alike), and a class built
    inside the traced call: the same line, or silence for a correct network."""
    sizes = settings["model"]["sizes"]
    for seed, m, scale, inside in GRID:
        events, twin, returned, file, _ = traced_step(spec, settings, seed=seed, m=m, scale=scale, inside=inside)
        source, why = trace.locate(
            events, twin, trace.default_order(twin, len(sizes) - 1), settings["layout"], sizes, agree, returned
        )
        found = None if source is None else (source["line"], source["variable"], source["tensor"])
        want = None if expected is None else (line_of(file, expected[0]), *expected[1:])
        assert found == want, (seed, m, scale, inside, source, why)


@pytest.mark.parametrize("spec,settings", [(c[0], c[1]) for c in CASES if c[2] is None])
def test_a_batch_of_one(spec, settings):
    events, twin, returned, _, _ = traced_step(spec, settings, seed=4, m=1)
    sizes = settings["model"]["sizes"]
    source, why = trace.locate(
        events, twin, trace.default_order(twin, len(sizes) - 1), settings["layout"], sizes, agree, returned
    )
    assert source is None, source


def test_a_loss_computed_from_clipped_probabilities():
    """sklearn's log_loss clips probabilities at eps: with saturated logits (weights of scale 2) its loss departs
    from torch's, though the probabilities still agree, so the loss line is named."""
    spec = THIRD + "sklearn_mlp.py:classifier"
    events, twin, returned, file, (loss, _) = traced_step(spec, SKLEARN, scale=2.0)
    source, _ = trace.locate(
        events, twin, trace.default_order(twin, 2), "in-out", SKLEARN["model"]["sizes"], agree, returned
    )
    assert (source["line"], source["variable"], source["tensor"]) == (
        line_of(file, "np.average(xlogy(y_true, y_prob)"),
        "log_loss(...)",
        "loss",
    )
    assert source["ours"] == [loss] and source["theirs"] == [pytest.approx(twin["loss"])]


# -- record() -------------------------------------------------------------------------------------------------
def test_record_names_values_as_written(tmp_path):
    (tmp_path / "net.py").write_text(
        "import numpy as np\n"
        "\n"
        "class Net:\n"
        "    def __init__(self):\n"
        "        self.weights = [np.ones((2, 2)), np.zeros(2)]\n"
        "\n"
        "    def step(self, x):\n"
        "        grads = {'W1': np.zeros((2, 2))}\n"
        "        g = [np.zeros(2), np.zeros(2)]\n"
        "        for i in range(2):\n"
        "            g[1] += x[i]\n"
        "        grads['W1'][0] = x\n"
        "        self.weights[0] -= grads['W1']\n"
        "        delta = x * 2.0\n"
        "        return float(delta.sum())\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        net = load(f"{tmp_path / 'net.py'}:Net")()
    finally:
        sys.path.remove(str(tmp_path))
    x = np.array([1.0, 2.0])
    before = sys.gettrace()
    result, events = trace.record(lambda: net.step(x), [str(tmp_path / "net.py")])
    assert sys.gettrace() is before and result == 6.0
    seen = [(e.line, e.variable, e.kind) for e in events if e.kind != "alias"]
    assert (7, "self.weights[0]", "source") in seen and (7, "x", "source") in seen
    assert (8, "grads['W1']", "bind") in seen and (9, "g[1]", "bind") in seen
    assert [ln for ln, v, k in seen if v == "g[1]" and k == "change"] == [11, 11]  # in place, once a sample
    assert (12, "grads['W1']", "change") in seen and (13, "self.weights[0]", "change") in seen
    assert (14, "delta", "bind") in seen
    change = next(e for e in events if e.variable == "self.weights[0]" and e.kind == "change")
    assert change.value.tolist() == [[0.0, -1.0], [1.0, 1.0]] and change.value.dtype == np.float64
    assert change.prev >= 0 and events[change.prev].value.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_record_sees_a_change_through_another_objects_attribute(tmp_path):
    """network.weights[i] += dW inside a function handed the network (not self) is an in-place change of the
    weights, named as written."""
    (tmp_path / "train.py").write_text(
        "import numpy as np\n\ndef train(network, dW):\n    for i in range(2):\n        network.weights[i] += dW\n"
    )
    net = type("Network", (), {})()
    net.weights = [np.ones(2), np.zeros(2)]
    train = load(f"{tmp_path / 'train.py'}:train")
    _, events = trace.record(lambda: train(net, np.full(2, 0.5)), [str(tmp_path / "train.py")])
    changes = [(e.line, e.variable, e.value.tolist()) for e in events if e.kind == "change"]
    assert changes == [(5, "network.weights[0]", [1.5, 1.5]), (5, "network.weights[1]", [0.5, 0.5])]


def test_record_returns_what_the_call_returns_and_restores_the_tracer():
    spec = "examples/bias_row_net.py:cost_and_grads_bias_rows_only"
    _, _, _, _, traced = traced_step(spec, BIAS_ROW)
    X, Y, state = draw(BIAS_ROW["model"]["sizes"], 0, 16, 0.7)  # the same draws as traced_step
    plain = load(str(ROOT / spec))(to_user(state, "bias-row", 3, None), X, Y)
    assert traced[0] == plain[0] and all(np.array_equal(a, b) for a, b in zip(traced[1], plain[1]))

    def boom():
        raise ValueError("inside")

    marker = []
    sys.settrace(None)
    with pytest.raises(ValueError):
        trace.record(boom, [__file__])
    assert sys.gettrace() is None and not marker


def test_a_failing_tracer_stops_recording_but_not_the_call(monkeypatch):
    def broken(self, frame, fs):
        raise RuntimeError("tracer bug")

    monkeypatch.setattr(trace_record._Recorder, "settle", broken)
    spec = "examples/torch_layout_net.py:loss_and_grads"
    events, _, _, _, (loss, grads) = traced_step(spec, TORCH)
    assert events.error == "RuntimeError: tracer bug"
    assert np.isfinite(loss) and len(grads) == 6


def test_nothing_to_match_says_why():
    events, twin, _, _, _ = traced_step("examples/torch_layout_net.py:loss_and_grads", TORCH)
    source, why = trace.locate([], twin, trace.default_order(twin, 3), "torch", [12, 8, 6, 4], agree)
    assert source is None and "no array" in why
    sources_only = [e for e in events if e.kind == "source"]
    source, why = trace.locate(sources_only, twin, trace.default_order(twin, 3), "torch", [12, 8, 6, 4], agree)
    assert source is None and "none of the values" in why


def test_default_order_follows_the_design_notes():
    _, twin, _, _, _ = traced_step("tests/trace_cases/nielsen_net.py:Network", NIELSEN)
    order = trace.default_order(twin, 3)
    assert order[:7] == ["layers.0.z", "layers.0.a", "layers.1.z", "layers.1.a", "layers.2.z", "layers.2.a", "loss"]
    assert order[7:12] == ["layers.2.dz", "grad:layers.2.weight", "grad:layers.2.bias", "layers.1.da", "layers.1.dz"]
    assert order[-6:] == [f"layers.{i}.{k}" for i in range(3) for k in ("weight", "bias")]


# -- real code's ways -----------------------------------------------------------------------------------------
REAL = "tests/trace_cases/real_defects.py:"
_rng = np.random.default_rng(0)
RX = _rng.standard_normal((64, 4))
RX2 = _rng.standard_normal((64, 2))
R3 = dict(X=RX, y=_rng.integers(0, 3, 64), sizes=[4, 5, 3], activation="sigmoid")
PER_SAMPLE = dict(R3, loss="mse", output="sigmoid", batch_size=1, momentum=0, lr=0.1, layout="torch")
BINARY = dict(X=RX, y=(RX[:, 0] * RX[:, 1] > 0).astype(int), loss="bce", layout="torch")
ADAM = dict(BINARY, sizes=[4, 5, 4, 1], activation="relu", optimizer="adam", lr=0.01)
# a 2-5-2-1 network: W2 (2, 5) has the shape of W1 (5, 2) transposed
ADAM_2521 = dict(ADAM, X=RX2, y=(RX2[:, 0] * RX2[:, 1] > 0).astype(int), sizes=[2, 5, 2, 1])

# candidate, settings, the text on the reported line, the variable named there (None: a correct network)
REAL_CASES = [
    (REAL + "theta_net", dict(R3, loss="bce", layout="bias-row"), None, None),
    (  # the sigmoid applied to an activation inside the caller's expression: named where delta2 is bound
        REAL + "theta_net_sig_of_a",
        dict(R3, loss="bce", layout="bias-row"),
        "delta2 = (delta3 @ T2[1:].T) * sig(a2) * (1 - sig(a2))",
        "delta2",
    ),
    (  # the new weights are held by no variable: the rows change them in place, from a number
        REAL + "RowNet",
        dict(PER_SAMPLE, bias=False),
        "changes.append(np.dot(delta, acts[k + 1]))",
        "changes[1]",
    ),
    (REAL + "AdamNet", ADAM, None, None),
    (
        REAL + "AdamNetUncorrected",
        ADAM,
        "self.parameters[p + str(l + 1)] = self.parameters[p + str(l + 1)] - lr * v_corrected / (",
        "self.parameters['W1']",
    ),
    (  # layer 0's update is W1 (5, 2), not W2 (2, 5) read transposed
        REAL + "AdamNetUncorrected",
        ADAM_2521,
        "self.parameters[p + str(l + 1)] = self.parameters[p + str(l + 1)] - lr * v_corrected / (",
        "self.parameters['W1']",
    ),
    (REAL + "ScriptNetFixed", PER_SAMPLE, None, None),
    (  # the output's dL/da kept as its delta, used before the hidden error: named where it is bound
        REAL + "ScriptNet",
        PER_SAMPLE,
        "delta_o = (o - l) * o * (1 - o) if fixed else o - l",
        "delta_o",
    ),
    (
        "tests/trace_cases/columns/dls_net.py:loss_and_grads",
        dict(BINARY, sizes=[4, 6, 5, 1], activation="sigmoid"),
        None,
        None,
    ),
    (  # the helper in a sibling folder serves the output layer right: the caller handed it dAL
        "tests/trace_cases/columns/dls_net.py:loss_and_grads_dAL",
        dict(BINARY, sizes=[4, 6, 5, 1], activation="sigmoid"),
        "dZ = sigmoid_backward(dAL, Z)",
        "dZ",
    ),
]


@pytest.mark.parametrize(
    "spec,settings,text,variable", REAL_CASES, ids=[f"{c[0].rpartition(':')[2]}" for c in REAL_CASES]
)
def test_real_code_is_named_where_its_values_depart(spec, settings, text, variable):
    r = lockstep.check(spec, steps=3, **settings)
    if text is None:
        assert r.verdict == "agree", str(r)
        return
    src = r.first_divergence["source"]
    file = ROOT / spec.rpartition(":")[0]
    assert covers(src, file, text) and src["variable"] == variable, src


def test_user_files_are_everything_outside_the_installed_packages_and_this_tool(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helpers.py").write_text("x = 1\n")
    files = trace.UserFiles()
    assert str(tmp_path / "src" / "helpers.py") in files and __file__ in files
    assert np.__file__ not in files and lockstep.__file__ not in files and pytest.__file__ not in files
    assert importlib.__file__ not in files and str(tmp_path / "src" / "missing.py") not in files


def test_tracing_a_file_says_none_of_its_compile_warnings(tmp_path):
    """A docstring with an invalid escape (\\m, as real code has) warns once, when Python imports the file; the
    tracer's own parse of the file must not warn again inside the user's run."""
    (tmp_path / "net.py").write_text(
        'import numpy as np\n\n\ndef step(x):\n    """The mean \\mu of x."""\n    y = x * 2.0\n    return y\n'
    )
    with pytest.warns(DeprecationWarning):  # the import says it
        step = load(f"{tmp_path / 'net.py'}:step")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        _, events = trace.record(lambda: step(np.ones(2)), [str(tmp_path / "net.py")])
    assert [e.variable for e in events if e.kind == "bind"] == ["y"] and not said, [str(w.message) for w in said]
