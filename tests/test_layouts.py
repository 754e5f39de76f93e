"""The layouts of lockstep/sides/layouts.py, one table: every row round-trips in every form, computes the same z as
torch's layout, names its elements in the user's terms, holds the user to the contract in one line, and is found by
the auto layout from a small network written by hand in it. Tests parametrise over LAYOUTS itself, so a new row is
tested by adding it (and its forward in FORWARD below, which states its maths)."""

import numpy as np
import pytest

from lockstep.sides import layouts
from lockstep.sides.layouts import LAYOUTS, Form


class Bad(Exception):
    """The error class handed to the layouts module (the tool hands it CandidateError)."""


def random_state(sizes, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    state = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        state[f"layers.{i}.weight"] = rng.standard_normal((n_out, n_in))
        if bias:
            state[f"layers.{i}.bias"] = rng.standard_normal(n_out)
    return state


# every (layout, form, bias) the module knows: a new row of LAYOUTS lands here by itself
FORMS = [(name, form, bias) for bias in (True, False) for name, form in layouts.candidates(bias)]
SIZES = [[3, 1], [5, 4, 4, 2]]


def flat_bias(b):
    return np.asarray(b).reshape(-1)


# z of one layer in each layout's own terms, from that layer's arrays: the maths each row of LAYOUTS promises
FORWARD = {
    "torch": lambda x, W, b=None: x @ W.T + (0 if b is None else flat_bias(b)),
    "in-out": lambda x, W, b=None: x @ W + (0 if b is None else flat_bias(b)),
    "bias-row": lambda x, T: np.hstack([np.ones((len(x), 1)), x]) @ T,
    "bias-first-col": lambda x, T: np.hstack([np.ones((len(x), 1)), x]) @ T.T,
    "bias-last-col": lambda x, T: np.hstack([x, np.ones((len(x), 1))]) @ T.T,
}


def test_every_layout_states_its_forward():
    assert set(FORWARD) == set(LAYOUTS)


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize(
    "layout,form,bias", FORMS, ids=[f"{n}-{f.container}-{f.bias}-{'b' if b else 'nob'}" for n, f, b in FORMS]
)
def test_round_trip(layout, form, bias, sizes):
    """to_user gives fresh arrays of shapes() in the form, computing torch's z; from_user gives the state back as
    fresh column-major arrays."""
    state = random_state(sizes, bias)
    user = layouts.to_user(layout, state, sizes, bias, form)
    arrays = layouts.arrays_of(user)
    assert isinstance(user, dict if form.container == "dict" else list)
    if form.container == "dict":
        assert list(user) == layouts.keys(layout, len(sizes) - 1, bias)
    assert [a.shape for a in arrays] == layouts.shapes(layout, sizes, bias, form)

    per_layer = len(arrays) // (len(sizes) - 1)
    x = np.random.default_rng(1).standard_normal((7, sizes[0]))
    for i in range(len(sizes) - 1):  # the user's arrays compute torch's z, layer by layer
        torch_z = x @ state[f"layers.{i}.weight"].T + (state[f"layers.{i}.bias"] if bias else 0)
        z = FORWARD[layout](x, *arrays[per_layer * i : per_layer * (i + 1)])
        np.testing.assert_allclose(z, torch_z, rtol=1e-13, atol=1e-13)
        x = np.tanh(torch_z)

    back = layouts.from_user(layout, user, sizes, bias, np.float64, "f returned grads", form, Bad)
    assert sorted(back) == sorted(state)
    for name, value in back.items():
        assert np.array_equal(value, state[name]) and value.dtype == np.float64
        if name.endswith("weight"):
            assert value.flags.f_contiguous
    for a in arrays:  # neither direction shares memory with the user's arrays
        assert not any(np.shares_memory(a, v) for v in back.values())
        assert not any(np.shares_memory(a, v) for v in state.values())
        a += 1.0
    assert all(np.array_equal(back[k], state[k]) for k in state)


@pytest.mark.parametrize("layout,form,bias", FORMS[:3])
def test_from_user_casts_to_the_run_dtype(layout, form, bias):
    sizes = [3, 2]
    user = layouts.to_user(layout, random_state(sizes, bias), sizes, bias, form)
    back = layouts.from_user(layout, user, sizes, bias, np.float32, "f", form, Bad)
    assert all(v.dtype == np.float32 for v in back.values())


def test_a_form_may_be_given_by_its_container():
    sizes = [3, 2]
    user = layouts.to_user("in-out", random_state(sizes), sizes, True, "dict")
    assert list(user) == ["W1", "b1"] and layouts.shapes("in-out", sizes, True, "dict") == [(3, 2), (2,)]
    assert layouts.describe("in-out", "layers.0.weight", (1, 2), sizes, "dict") == "params['W1'][2, 1]"
    assert sorted(layouts.from_user("in-out", user, sizes, True, np.float64, "f", "dict", Bad)) == [
        "layers.0.bias",
        "layers.0.weight",
    ]


# (layout, form, bias, tensor name, index, what the user reads); sizes 5-4-4-2
DESCRIBE = [
    ("torch", Form(), True, "layers.1.bias", (3,), "params[3][3]"),
    ("torch", Form(), True, "layers.2.weight", (1, 0), "params[4][1, 0]"),
    ("torch", Form(), False, "layers.2.weight", (1, 0), "params[2][1, 0]"),
    ("torch", Form("dict"), True, "layers.1.weight", None, "params['W2']"),
    ("torch", Form("list", "column"), True, "layers.0.bias", (2,), "params[1][2, 0]"),
    ("torch", Form("dict", "row"), True, "layers.0.bias", (2,), "params['b1'][0, 2]"),
    ("in-out", Form("dict"), True, "layers.1.weight", (1, 3), "params['W2'][3, 1]"),
    ("in-out", Form(), True, "layers.1.weight", None, "params[2] (transposed)"),
    ("in-out", Form(), True, "layers.1.weight.exp_avg", (1, 3), "params[2][3, 1] (exp_avg)"),
    ("in-out", Form("dict"), False, "layers.2.weight", (0, 1), "params['W3'][1, 0]"),
    ("bias-row", Form(), True, "layers.2.bias", None, "params[2] row 0 (the biases)"),
    ("bias-row", Form(), True, "layers.2.bias", (1,), "params[2][0, 1]"),
    ("bias-row", Form(), True, "layers.2.weight", None, "params[2] rows 1.. (the weights, transposed)"),
    ("bias-row", Form(), True, "layers.2.weight", (1, 3), "params[2][4, 1]"),
    ("bias-row", Form(), True, "layers.0.weight.momentum_buffer", (0, 0), "params[0][1, 0] (momentum_buffer)"),
    ("bias-first-col", Form("dict"), True, "layers.1.bias", None, "params['Theta2'][:, 0] (the biases)"),
    ("bias-first-col", Form(), True, "layers.1.weight", (2, 3), "params[1][2, 4]"),
    ("bias-first-col", Form(), True, "layers.0.bias", (3,), "params[0][3, 0]"),
    ("bias-last-col", Form(), True, "layers.0.bias", (3,), "params[0][3, 5]"),
    ("bias-last-col", Form(), True, "layers.0.weight", None, "params[0][:, :-1] (the weights)"),
    ("bias-last-col", Form("dict"), True, "layers.2.bias", None, "params['Theta3'][:, -1] (the biases)"),
    ("torch", Form(), True, "layers.0.z", None, None),
    ("torch", Form(), True, "loss", None, None),
]


@pytest.mark.parametrize("layout,form,bias,name,index,text", DESCRIBE, ids=[r[-1] or r[3] for r in DESCRIBE])
def test_describe(layout, form, bias, name, index, text):
    assert layouts.describe(layout, name, index, [5, 4, 4, 2], form, bias) == text


@pytest.mark.parametrize("layout,form,bias", [f for f in FORMS if f[1].container == "list"])
def test_describe_points_at_every_element(layout, form, bias):
    """Each element of each tensor, described in the user's terms, is that element of the user's arrays."""
    sizes = [3, 2, 2]
    state = random_state(sizes, bias)
    arrays = layouts.to_user(layout, state, sizes, bias, form)
    for name, value in state.items():
        for index in np.ndindex(value.shape):
            text = layouts.describe(layout, name, index, sizes, form, bias)
            k, rest = text[len("params[") :].split("]", 1)
            where = tuple(int(i) for i in rest.strip("[]").split(", "))
            assert arrays[int(k)][where] == value[index], text


def grads_like(layout, sizes, bias, form, change=None):
    """The user's arrays of the layout, with one of them (k, how) changed."""
    out = layouts.to_user(layout, random_state(sizes, bias), sizes, bias, form)
    if change:
        k, how = change
        if form.container == "dict":
            out[list(out)[k]] = how(out[list(out)[k]])
        else:
            out[k] = how(out[k])
    return out


# (layout, form, what the user returned, words of the one-line error); sizes 4-3-2
CONTRACT = [
    ("torch", Form(), lambda: np.zeros(3), "f returned grads as ndarray; expected a list of 4 NumPy arrays"),
    ("torch", Form("dict"), lambda: [np.zeros(3)], "as list; expected a dict with keys W1, b1, W2, b2"),
    (
        "torch",
        Form(),
        lambda: grads_like("torch", [4, 3, 2], True, Form())[:3],
        "f returned grads 3 arrays; the torch layout of 4-3-2 needs 4",
    ),
    (
        "torch",
        Form(),
        lambda: grads_like("torch", [4, 3, 2], True, Form(), (0, lambda a: a.astype(np.int64))),
        "f returned grads[0] as ndarray of int64; expected a NumPy array of floats, shape (3, 4)",
    ),
    (
        "torch",
        Form(),
        lambda: grads_like("torch", [4, 3, 2], True, Form(), (1, lambda a: a.tolist())),
        "f returned grads[1] as list; expected a NumPy array of floats, shape (3,)",
    ),
    (
        "torch",
        Form(),
        lambda: grads_like("torch", [4, 3, 2], True, Form(), (2, lambda a: a.astype(np.float32))),
        "f returned grads[2] as float32 in a float64 run; return float64 arrays or run with --dtype float32",
    ),
    (
        "torch",
        Form(),
        lambda: grads_like("torch", [4, 3, 2], True, Form(), (0, lambda a: a.T)),
        "f returned grads[0] of shape (4, 3); expected (3, 4) (transposed?)",
    ),
    (
        "torch",
        Form("list", "column"),
        lambda: grads_like("torch", [4, 3, 2], True, Form()),
        "f returned grads[1] of shape (3,); expected (3, 1)",
    ),
    (
        "bias-row",
        Form(),
        lambda: grads_like("bias-row", [4, 3, 2], True, Form(), (1, lambda a: a[1:])),
        "f returned grads[1] of shape (3, 2); expected (4, 2)",
    ),
    (
        "in-out",
        Form("dict"),
        lambda: {**grads_like("in-out", [4, 3, 2], True, Form("dict")), "W3": np.zeros(1)},
        "f returned grads with keys W1, b1, W2, b2, W3; expected W1, b1, W2, b2 (the in-out layout of 4-3-2)",
    ),
    (
        "bias-first-col",
        Form("dict"),
        lambda: dict(Theta1=np.zeros((3, 5))),
        "with keys Theta1; expected Theta1, Theta2",
    ),
    (
        "bias-last-col",
        Form("dict"),
        lambda: grads_like("bias-last-col", [4, 3, 2], True, Form("dict"), (0, lambda a: a.astype(np.float16))),
        "f returned grads['Theta1'] as float16 in a float64 run; return float64 arrays",
    ),
]


@pytest.mark.parametrize("layout,form,returned,words", CONTRACT, ids=[r[-1][:50] for r in CONTRACT])
def test_contract_errors_are_one_line(layout, form, returned, words):
    with pytest.raises(Bad) as e:
        layouts.from_user(layout, returned(), [4, 3, 2], True, np.float64, "f returned grads", form, Bad)
    assert words in str(e.value) and "\n" not in str(e.value)


# -- the auto layout: a small network written by hand in each layout ---------------------------------------------
# 3-5-2, sigmoid hidden layer, identity output, loss 1/2 sum (a - Y)^2 averaged over the batch. Each returns
# (loss, grads) in its own layout, the way such code is written.
def _sig(z):
    return 1 / (1 + np.exp(-z))


def torch_list(params, X, Y):
    W0, b0, W1, b1 = params
    a = _sig(X @ W0.T + b0)  # (m, 5)
    d2 = (a @ W1.T + b1 - Y) / len(X)  # (m, 2)
    d1 = d2 @ W1 * a * (1 - a)
    return 0.5 * ((a @ W1.T + b1 - Y) ** 2).sum() / len(X), [d1.T @ X, d1.sum(0), d2.T @ a, d2.sum(0)]


def torch_columns(params, X, Y):
    """Nielsen-style: biases are column vectors (out, 1), samples are columns."""
    (W0, b0, W1, b1), x, y = params, X.T, Y.T
    a = _sig(W0 @ x + b0)  # (5, m)
    d2 = (W1 @ a + b1 - y) / x.shape[1]
    d1 = W1.T @ d2 * a * (1 - a)
    return 0.0, [d1 @ x.T, d1.sum(1, keepdims=True), d2 @ a.T, d2.sum(1, keepdims=True)]


def in_out_dict_rows(params, X, Y):
    """Tutorial style: a dict, x @ W + b, biases kept as (1, out) rows and summed with keepdims."""
    a = _sig(X @ params["W1"] + params["b1"])
    d2 = (a @ params["W2"] + params["b2"] - Y) / len(X)
    d1 = d2 @ params["W2"].T * a * (1 - a)
    return 0.0, dict(W1=X.T @ d1, b1=d1.sum(0, keepdims=True), W2=a.T @ d2, b2=d2.sum(0, keepdims=True))


def bias_row(params, X, Y):
    T0, T1 = params
    one = np.ones((len(X), 1))
    a = _sig(np.hstack([one, X]) @ T0)
    d2 = (np.hstack([one, a]) @ T1 - Y) / len(X)
    d1 = d2 @ T1[1:].T * a * (1 - a)
    return 0.0, [np.hstack([one, X]).T @ d1, np.hstack([one, a]).T @ d2]


def bias_first_col(params, X, Y):
    T0, T1 = params["Theta1"], params["Theta2"]
    one = np.ones((len(X), 1))
    a = _sig(np.hstack([one, X]) @ T0.T)
    d2 = (np.hstack([one, a]) @ T1.T - Y) / len(X)
    d1 = d2 @ T1[:, 1:] * a * (1 - a)
    return 0.0, dict(Theta1=d1.T @ np.hstack([one, X]), Theta2=d2.T @ np.hstack([one, a]))


def bias_last_col(params, X, Y):
    T0, T1 = params
    one = np.ones((len(X), 1))
    a = _sig(np.hstack([X, one]) @ T0.T)
    d2 = (np.hstack([a, one]) @ T1.T - Y) / len(X)
    d1 = d2 @ T1[:, :-1] * a * (1 - a)
    return 0.0, [d1.T @ np.hstack([X, one]), d2.T @ np.hstack([a, one])]


def in_out_no_bias(params, X, Y):
    W0, W1 = params
    a = _sig(X @ W0)
    d2 = (a @ W1 - Y) / len(X)
    return 0.0, [X.T @ (d2 @ W1.T * a * (1 - a)), a.T @ d2]


SIZES_AUTO = [3, 5, 2]
# (candidate, bias, the layout and form auto must choose; None: it must ask, naming these layouts)
AUTO = [
    (torch_list, True, ("torch", Form())),
    (torch_columns, True, ("torch", Form("list", "column"))),
    (in_out_dict_rows, True, ("in-out", Form("dict", "row"))),
    (bias_row, True, ("bias-row", Form())),
    (bias_first_col, True, None),  # shares its shapes with bias-last-col
    (bias_last_col, True, None),
    (in_out_no_bias, False, ("in-out", Form())),
]


def batch(sizes=SIZES_AUTO, m=6):
    rng = np.random.default_rng(3)
    return rng.standard_normal((m, sizes[0])), rng.standard_normal((m, sizes[-1]))


def reference_grads(state, X, Y, bias):
    """The same network in torch's layout, written once more: the gradients every layout must come back to."""
    W0, W1 = state["layers.0.weight"], state["layers.1.weight"]
    b0, b1 = (state["layers.0.bias"], state["layers.1.bias"]) if bias else (0, 0)
    a = _sig(X @ W0.T + b0)
    d2 = (a @ W1.T + b1 - Y) / len(X)
    d1 = d2 @ W1 * a * (1 - a)
    out = {"layers.0.weight": d1.T @ X, "layers.1.weight": d2.T @ a}
    if bias:
        out.update({"layers.0.bias": d1.sum(0), "layers.1.bias": d2.sum(0)})
    return out


def trial(candidate, sizes, bias, calls):
    """try_call as candidate.build makes it: call the code once with params in the layout and form, convert what
    comes back (from_user raises on shapes), and say what failed in one line."""
    state, (X, Y) = random_state(sizes, bias), batch(sizes)

    def try_call(layout, form):
        calls.append((layout, form))
        params = layouts.to_user(layout, state, sizes, bias, form)
        try:
            _, grads = candidate(params, X, Y)
        except Exception as e:
            raise Bad(f"{candidate.__name__} raised {type(e).__name__}: {e}") from None
        return layouts.from_user(
            layout, grads, sizes, bias, np.float64, f"{candidate.__name__} returned grads", form, Bad
        )

    return try_call, reference_grads(state, X, Y, bias)


@pytest.mark.parametrize("candidate,bias,chosen", AUTO, ids=[c[0].__name__ for c in AUTO])
def test_auto_finds_the_layout_or_asks(candidate, bias, chosen):
    calls = []
    try_call, ref = trial(candidate, SIZES_AUTO, bias, calls)
    if chosen is None:
        with pytest.raises(Bad) as e:
            layouts.infer(SIZES_AUTO, bias, try_call, Bad)
        assert str(e.value) == (
            "--layout auto cannot tell bias-first-col from bias-last-col: the shapes fit each of them; give --layout"
        )
        return
    layout, form, why = layouts.infer(SIZES_AUTO, bias, try_call, Bad)
    assert (layout, form) == chosen
    assert why.startswith(f"layout auto: {layout} ({form})") and "\n" not in why
    assert layouts._shapes_text(layouts.shapes(layout, SIZES_AUTO, bias, form)) in why
    tried = [name for name, _ in calls]  # no more calls for a layout once one of its forms fits
    assert tried.count(layout) == 1 + [f for n, f in layouts.candidates(bias) if n == layout].index(form)
    assert len(calls) <= len(layouts.candidates(bias))
    grads = try_call(layout, form)  # and the layout's gradients are the reference's, converted back
    assert all(np.allclose(grads[k], ref[k], rtol=1e-12, atol=1e-14) for k in ref)


@pytest.mark.parametrize("candidate,layout", [(bias_first_col, "bias-first-col"), (bias_last_col, "bias-last-col")])
def test_given_layout_and_prefer_hook_break_the_tie(candidate, layout):
    try_call, ref = trial(candidate, SIZES_AUTO, True, [])
    assert layouts.infer(SIZES_AUTO, True, try_call, Bad, only=layout)[0] == layout

    def closest(fits):  # a tie-breaker as the twin could be: the fit whose gradients are the reference's
        good = [(name, form) for name, form, grads in fits if all(np.allclose(grads[k], ref[k]) for k in ref)]
        return (*good[0], "whose gradients match the reference's") if len(good) == 1 else None

    chosen, form, why = layouts.infer(SIZES_AUTO, True, try_call, Bad, prefer=closest)
    assert chosen == layout and why.endswith("whose gradients match the reference's")


def test_square_layers_ask_for_the_layout():
    try_call, _ = trial(torch_list, [4, 4, 4], True, [])
    with pytest.raises(
        Bad,
        match=r"^--layout auto cannot tell in-out from torch: the shapes fit each of them; give "
        r"--layout$",
    ):
        layouts.infer([4, 4, 4], True, try_call, Bad)


def transposes(params, X, Y):
    return 0.0, [p.T for p in params]


def raises(params, X, Y):
    raise ValueError("boom")


def float32_grads(params, X, Y):
    return 0.0, [p.astype(np.float32) for p in params]


def weights_only(params, X, Y):
    return 0.0, [p for p in params if p.ndim == 2 and min(p.shape) > 1]


# (candidate, bias, only, the one line when nothing fits)
NONE_FITS = [
    (
        transposes,
        True,
        None,
        "--layout auto: no layout fits: given torch (list) params, transposes returned grads of shapes (3, 5), (5,), "
        "(5, 2), (2,); torch expects (5, 3), (5,), (2, 5), (2,); in-out expects (3, 5), (5,), (5, 2), (2,); bias-row "
        "expects (4, 5), (6, 2); bias-first-col and bias-last-col expect (5, 4), (2, 6)",
    ),
    (
        transposes,
        False,
        None,
        "--layout auto: no layout fits: given torch (list) params, transposes returned grads of shapes (3, 5), (5, 2); "
        "torch expects (5, 3), (2, 5); in-out expects (3, 5), (5, 2)",
    ),
    (
        weights_only,
        True,
        "in-out",
        "--layout in-out: given in-out (list) params, weights_only returned grads of shapes (3, 5), (5, 2); in-out "
        "expects (3, 5), (5,), (5, 2), (2,)",
    ),
    (raises, True, None, "--layout auto: no layout fits; with torch (list): raises raised ValueError: boom"),
    (raises, True, "bias-row", "raises raised ValueError: boom"),
    (
        float32_grads,
        True,
        None,  # the shapes fit: the dtype is what is wrong, and that is what it says
        "--layout auto: no layout fits; with torch (list): float32_grads returned grads[0] as float32 in a float64 "
        "run; return float64 arrays or run with --dtype float32",
    ),
]


@pytest.mark.parametrize(
    "candidate,bias,only,text", NONE_FITS, ids=[f"{c.__name__}-{o}-{b}" for c, b, o, _ in NONE_FITS]
)
def test_none_fits_says_what_came_back_and_what_was_expected(candidate, bias, only, text):
    try_call, _ = trial(candidate, SIZES_AUTO, bias, [])
    with pytest.raises(Bad) as e:
        layouts.infer(SIZES_AUTO, bias, try_call, Bad, only=only)
    assert str(e.value) == text


def test_a_bias_layout_without_biases_is_refused():
    with pytest.raises(Bad, match="--layout bias-row holds a bias in every layer; with --no-bias use torch or in-out"):
        layouts.infer(SIZES_AUTO, False, lambda layout, form: None, Bad, only="bias-row")
