"""The rounding bounds of the layers (lockstep/judge/ops.py and their use in step_bounds): they cover float32
against float64 and flag a 1e-6 change in float64, for batch norm, layer norm, dropout, the embedding and the eval
pass, one layer alone and a whole step.

float64 stands in for the exact value: one training step of the twin (reference.MLP and torch.optim, torch's own
batch_norm, layer_norm, var and autograd) from the same float32-representable state, batch and masks, in float32 and
float64; excess(t32, t64, E32, E64) <= 1 must hold for every tensor of the plan. Inputs are random, offset far from
0 against their spread (the cancellation in z - mean), saturated, a batch of 2, or with a constant feature.
"""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handmade
import lockstep
from lockstep.config import Config
from lockstep.judge import bounds, ops
from lockstep.judge.bounds import adam_ratio, excess, step_bounds
from lockstep.judge.judge import spec
from lockstep.judge.tolerance import TOLERANCES
from lockstep.sides import Twin, plan
from lockstep.sides.plan import zero_sum

U = {"float32": float(np.finfo(np.float32).eps) / 2, "float64": float(np.finfo(np.float64).eps) / 2}
f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731

LAYERS = [
    dict(norm="batchnorm"),
    dict(norm="batchnorm", bn_variance="unbiased", bn_running_variance="biased", bn_momentum=0.5, activation="tanh"),
    dict(norm="batchnorm", dropout=0.3, optimizer="adam", lr=1e-3),
    dict(norm="batchnorm", bias=False, loss="mse", output="softmax", optimizer="rmsprop", lr=1e-3),
    dict(norm="batchnorm", activation="identity", bn_eps=1e-3),  # beta's gradient is 0 too
    dict(norm="layernorm", activation="sigmoid"),
    dict(norm="layernorm", dropout=0.5, dropout_form="classic", loss="svm", ln_eps=1e-8),
    dict(dropout=0.5, optimizer="adagrad", lr=1e-2),
    dict(embedding=(7, 3), sizes=[12, 9, 7, 5], norm="batchnorm", loss="bce"),
    dict(embedding=(4, 2), sizes=[12, 9, 7, 5], dropout=0.2, momentum_form="velocity"),
]
INPUTS = {  # (scale, offset) of the inputs; 'pair' is a batch of 2; 'constant' makes one unit constant
    "random": (1.0, 0.0),
    "offset": (1.0, 30.0),
    "narrow": (0.01, 3.0),
    "saturated": (40.0, 0.0),
    "pair": (1.0, 0.0),
    "constant": (1.0, 0.0),
}


def label(s):
    return " ".join(f"{k}={v}" for k, v in s.items())


def one_step(settings, inputs, seed=0):
    """{dtype: (the twin's tensors by (phase, name), the bounds)} of one step from one state, and the config."""
    cfg = dataclasses.replace(Config(sizes=[12, 9, 7, 5]), **settings)
    rng = np.random.default_rng(seed)
    net = handmade.MLP(cfg.model_args("float64", 100), seed=rng)
    state = {k: f32(v) for k, v in net.state_dict().items()}
    if inputs == "constant":  # a unit of the first layer that every sample drives alike: its variance is 0
        state["layers.0.weight"][3] = 0.0
    m = 2 if inputs == "pair" else 16
    scale, offset = INPUTS[inputs]
    if cfg.embedding:
        X = rng.integers(0, cfg.embedding[0], (m, cfg.sizes[0] // cfg.embedding[1]))
    else:
        X = f32(rng.normal(offset, scale, (m, cfg.sizes[0])))
    Y = np.eye(cfg.sizes[-1])[rng.integers(0, cfg.sizes[-1], m)]
    masks = None
    if cfg.dropout:
        masks = {f"layers.{i}.dropout.mask": (rng.random((m, n)) < 1 - cfg.dropout) * 1.0 for i, n in enumerate([9, 7])}
    buffers = {k: v for k, v in state.items() if "running" in k}
    pre = dict(params={k: v for k, v in state.items() if k not in buffers}, state={}, buffers=buffers)
    pre["state"] = {k: {} for k in pre["params"]}
    out = {}
    for dt in ("float32", "float64"):
        twin = Twin(cfg, dt, state, 100)
        twin.step(X if cfg.embedding else X.astype(dt), Y.astype(dt), masks)
        out[dt] = twin.tensors(), step_bounds(spec(cfg, twin, 100), pre, X, Y, twin.reference_tensors(), U[dt])
    return cfg, out


CASES = [(s, i) for s in LAYERS for i in INPUTS if not (s.get("embedding") and i in ("offset", "narrow", "constant"))]


@pytest.mark.parametrize("settings,inputs", CASES, ids=[f"{label(s)}-{i}" for s, i in CASES])
def test_a_step_is_covered_float32_against_float64(settings, inputs):
    cfg, out = one_step(settings, inputs)
    (t32, E32), (t64, E64) = out["float32"], out["float64"]
    bad = {}
    for key in plan(cfg):
        x = excess(np.asarray(t32[key], np.float64), t64[key], E32[key], E64[key])
        if x > 1:
            bad[key] = x
    assert not bad, bad


@pytest.mark.parametrize("settings", LAYERS, ids=label)
def test_a_1e6_change_is_flagged_in_float64(settings):
    """Every tensor of the layers, random inputs, float64: a 1e-6 relative change exceeds its bound 10 times over;
    except the tensors whose exact value is 0 (plan.zero_sum: any value there is rounding), the exact masks, and
    where Adam turned such a zero gradient into a rounding-chosen step (its update, and the eval pass through it)."""
    cfg, out = one_step(settings, "random")
    t64, E64 = out["float64"]
    noisy = set(zero_sum(cfg))
    if cfg.optimizer == "adam" and zero_sum(cfg):
        noisy |= {key for key in plan(cfg) if key[0] == "eval"}
    weak = {}
    for key in plan(cfg):
        if key in noisy or key[1].endswith(".mask"):
            continue
        t = np.asarray(t64[key], np.float64)
        x = excess(t * (1 + 1e-6), t, E64[key], E64[key])
        if x <= 10:
            weak[key] = x
    assert not weak, weak
    norm_grads = [k for k in plan(cfg) if k[0] == "backward" and ".norm." in k[1]]
    assert norm_grads or cfg.norm == "none"


# -- one layer alone: ops' functions against torch's own kernels -----------------------------------------------------
def torch_norm(kind, z, weight, bias, dout, dtype, unbiased=False):
    """torch's norm of z and its backward with upstream dout, in dtype: {mean, var, xhat, out, dz, weight, bias}."""
    dt = getattr(torch, dtype)
    Z, W, B = (torch.tensor(a, dtype=dt, requires_grad=True) for a in (z, weight, bias))
    if kind == "batchnorm" and not unbiased:
        out = F.batch_norm(Z, None, None, W, B, training=True, eps=1e-5)
    elif kind == "batchnorm":
        out = W * ((Z - Z.mean(dim=0)) * torch.rsqrt(Z.var(dim=0, correction=1) + 1e-5)) + B
    else:
        out = F.layer_norm(Z, (z.shape[1],), W, B, eps=1e-5)
    out.backward(torch.tensor(dout, dtype=dt))
    dim = 0 if kind == "batchnorm" else 1
    with torch.no_grad():
        mean = Z.mean(dim=dim, keepdim=dim == 1)
        var = Z.var(dim=dim, correction=int(unbiased), keepdim=dim == 1)
        xhat = (Z - mean) * torch.rsqrt(var + 1e-5)
    values = dict(mean=mean, var=var, xhat=xhat, out=out, dz=Z.grad, weight=W.grad, bias=B.grad)
    return {k: v.detach().numpy().astype(np.float64) for k, v in values.items()}


ONE_LAYER = [
    ("batchnorm", "random", False),
    ("batchnorm", "random", True),
    ("batchnorm", "offset", False),  # mean 1000 against a spread of 1: z - mean cancels
    ("batchnorm", "offset", True),  # torch.var's Welford updating under the same cancellation
    ("batchnorm", "constant", False),  # a feature with variance 0: eps alone keeps it finite
    ("batchnorm", "pair", False),  # a batch of 2: xhat is +-1 and dz nearly 0
    ("layernorm", "random", False),
    ("layernorm", "offset", False),
    ("layernorm", "constant", False),
]


@pytest.mark.parametrize(
    "kind,inputs,unbiased", ONE_LAYER, ids=[f"{k}-{i}-{'unbiased' if b else 'biased'}" for k, i, b in ONE_LAYER]
)
def test_one_norm_layer_alone_is_covered(kind, inputs, unbiased):
    """batchnorm_bounds / layernorm_bounds of one layer, z with no error of its own, a random upstream gradient:
    torch's float32 kernel within its bound of float64."""
    rng = np.random.default_rng(5)
    m, n = (2, 6) if inputs == "pair" else (32, 6)
    z = rng.normal(1000.0 if inputs == "offset" else 0.0, 1.0, (m, n))
    if inputs == "constant":
        z[:, 2] = 0.7
    z, weight, bias, dout = f32(z), f32(rng.uniform(0.5, 2, n)), f32(rng.normal(0, 1, n)), f32(rng.normal(0, 1, (m, n)))
    settings = dict(bn_variance="unbiased" if unbiased else "biased")
    got = {dt: torch_norm(kind, z, weight, bias, dout, dt, unbiased) for dt in ("float32", "float64")}
    bound = ops.batchnorm_bounds if kind == "batchnorm" else ops.layernorm_bounds
    args = (z, np.zeros_like(z), weight, bias, dout, np.zeros_like(z), settings)
    E = {dt: bound(*args, U[dt]) for dt in got}
    for key in ("mean", "var", "xhat", "out", "dz", "weight", "bias"):
        ref32, ref64 = got["float32"][key], got["float64"][key]
        assert excess(ref32, ref64, E["float32"][key], E["float64"][key]) <= 1, key
        if inputs == "random":
            assert excess(ref64 * (1 + 1e-6), ref64, E["float64"][key], E["float64"][key]) > 10, key


@pytest.mark.parametrize("offset", [0.0, 1e3, 1e6, 1e8])
def test_the_variance_covers_torchs_updating_algorithm(offset):
    """torch.var (Welford's updating algorithm, accumulated in float64) loses digits with the offset of the mean
    against the spread, n kappa u of the sum of squares: moments_bounds covers it against the exact variance
    (longdouble two-pass); the two-pass algorithm's own terms alone would not at large offsets."""
    z = np.random.default_rng(1).normal(offset, 1.0, (256, 4))
    torch_var = torch.tensor(z).var(dim=0, correction=0).numpy()
    exact = z.astype(np.longdouble)
    exact = (((exact - exact.mean(axis=0)) ** 2).sum(axis=0) / len(z)).astype(np.float64)
    mo = ops.moments_bounds(z, np.zeros_like(z), 0, U["float64"])
    var, E = ops.variance_bound(mo, len(z), U["float64"])
    assert np.all(np.abs(torch_var - exact) <= E[0])
    if offset >= 1e6:
        two_pass = dict(
            mo,
            E_ss=mo["E_ss"]
            - ops.WELFORD * ops.gamma(len(z), U["float64"]) * np.sqrt(mo["ss"] * (mo["ss"] + len(z) * mo["mean"] ** 2)),
        )
        assert np.any(np.abs(torch_var - exact) > ops.variance_bound(two_pass, len(z), U["float64"])[1][0])


def test_the_sum_of_a_batch_norms_input_gradient_is_its_rounding_alone():
    """The bias before a batch norm: its gradient, the sum of dz, is exactly 0, and no error of dz's inputs reaches
    it; torch's float32 value is within batchnorm_sum_bound + the sum's rounding, which is far below the bound that
    carries every dz's error (the terms it sums)."""
    rng = np.random.default_rng(2)
    z, dout = f32(rng.normal(3, 1, (64, 5))), f32(rng.normal(0, 1, (64, 5)))
    weight, bias = f32(rng.uniform(0.5, 2, 5)), np.zeros(5)
    dz32 = torch_norm("batchnorm", z, weight, bias, dout, "float32")["dz"]
    tiny = ops.tiny_for(U["float32"])
    Edout = 1e-3 * np.abs(dout)  # dout's own error: large, and none of it reaches the sum
    fwd = ops.norm_forward_bounds("batchnorm", z, np.zeros_like(z), weight, bias, {}, U["float32"], tiny)
    (dz, Edz), _ = ops.norm_backward_bounds(fwd["cache"], dout, Edout, U["float32"], tiny)
    B = ops.batchnorm_sum_bound(fwd["cache"], dout, Edout, z, np.zeros_like(z), U["float32"], tiny)
    _, Edb = ops.batchnorm_affine_grad_bounds(B, dz, Edz, np.ones((64, 1)), None, U["float32"])
    assert np.all(np.abs(dz32.sum(axis=0)) <= Edb) and np.all(Edb < 1e-2 * Edz.sum(axis=0))


def test_dropout_and_the_embedding_alone():
    rng = np.random.default_rng(4)
    a, mask = f32(rng.normal(0, 1, (8, 5))), (rng.random((8, 5)) < 0.7) * 1.0
    for form in ("inverted", "classic"):
        E = ops.dropout_bounds(a, np.zeros_like(a), mask, 0.3, form, True, U["float32"], 0.0)
        scale = mask / 0.7 if form == "inverted" else mask
        out32 = (a.astype(np.float32) * (mask / np.float32(0.7) if form == "inverted" else mask)).astype(np.float64)
        assert np.all(np.abs(out32 - a * scale) <= E) and np.all(E[mask == 0] == 0)
    X = rng.integers(0, 4, (50, 3))  # tokens used many times over
    dout = f32(rng.normal(0, 1, (50, 6)))
    dC32, dC64 = (
        torch.zeros(4, 2, dtype=dt).index_add_(0, torch.tensor(X.ravel()), torch.tensor(dout.reshape(-1, 2), dtype=dt))
        for dt in (torch.float32, torch.float64)
    )
    E = {dt: ops.embedding_backward_bound(X, dout, np.zeros_like(dout), 4, U[dt]) for dt in U}
    assert excess(dC32.numpy().astype(np.float64), dC64.numpy(), E["float32"], E["float64"]) <= 1
    assert excess(dC64.numpy() * (1 + 1e-6), dC64.numpy(), E["float64"], E["float64"]) > 10


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.95, 0.9)])
def test_adams_step_is_no_longer_than_its_ratio(betas):
    """K_t bounds |m_hat| / sqrt(v_hat) after t steps from zero moments, whatever the gradients: the cap on Adam's
    step where a gradient is pure rounding (bounds.step_cap)."""
    b1, b2 = betas
    rng = np.random.default_rng(0)
    for t in (1, 2, 7, 40):
        worst = 0.0
        for trial in range(300):
            g = rng.normal(0, 1, t) * np.exp(rng.normal(0, 3, t))
            if trial == 0 and b1 > 0:
                g = (b1 / b2) ** (-np.arange(t)[::-1])  # the extremal direction of Cauchy-Schwarz
            m = v = 0.0
            for k in range(t):
                m, v = b1 * m + (1 - b1) * g[k], b2 * v + (1 - b2) * g[k] ** 2
            worst = max(worst, abs(m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t)))
        assert worst <= adam_ratio(b1, b2, t) * (1 + 1e-12), (t, worst)


def _torch_adam_quotient(m0, v0, g, b1, b2, t, eps, dtype):
    """torch's single-tensor Adam's m / (sqrt(v) / sqrt(1 - b2^t) + eps) in `dtype`, from m0, v0 and g."""
    m0, v0, g = (torch.tensor(x, dtype=dtype) for x in (m0, v0, g))
    m = m0.lerp(g, 1 - b1)
    v = v0.mul(b2).addcmul(g, g, value=1 - b2)
    return (m / (v.sqrt() / np.sqrt(1 - b2**t)).add(eps)).double().numpy()


@pytest.mark.parametrize("t", [1, 2, 30])
@pytest.mark.parametrize("scale", [1e-9, 1e-6, 1.0])  # a gradient near eps, and far above it
def test_adams_quotient_covers_every_gradient_within_its_bound(t, scale):
    """The quotient's bound from one gradient g within Eg (bounds.adam_quotient_bound) holds for torch's float32 Adam
    computed from any g' in the box, against the exact quotient at g (float64), m0 and v0 being exact: its ends, its
    interior, and where the box holds 0 (the sign of g unknown)."""
    rng = np.random.default_rng(t)
    b1, b2, eps = 0.9, 0.999, 1e-8
    n = 4000
    g = f32(rng.normal(0, scale, n) * np.exp(rng.normal(0, 1, n)))
    m0 = f32(rng.normal(0, scale, n) * (t > 1))
    v0 = f32((rng.normal(0, scale, n) ** 2 + 0.1 * g**2) * (t > 1))
    Eg = np.abs(g) * np.exp(rng.uniform(np.log(1e-7), np.log(2.0), n))  # from 1e-7 relative to twice |g|
    c2 = np.sqrt(1 - b2**t)
    E = bounds.adam_quotient_bound(b1, b2, m0, v0, g, Eg, c2, U["float64"], eps, U["float32"])
    exact = _torch_adam_quotient(m0, v0, g, b1, b2, t, eps, torch.float64)
    for side in (-2, -1, -0.5, 0.5, 1, 2):  # a correct side's g' is within 2 Eg of the reference's
        moved = f32(g + side * Eg * (1 - 1e-6))
        q32 = _torch_adam_quotient(m0, v0, moved, b1, b2, t, eps, torch.float32)
        assert np.all(np.abs(q32 - exact) <= E), (side, np.max(np.abs(q32 - exact) / E))


def test_adams_first_step_does_not_add_what_cancels():
    """At t = 1, Adam's quotient is (1 - b1) g / (|g| + eps): sign(g) (1 - b1) whatever |g| is, where |g| >> eps. A
    gradient known to 30% then moves the step by rounding alone, not by the step cap, 2 lr, that bounding m's and
    sqrt(v)'s errors apart gave (row 113 of the sweep: most weights' update bounds at the cap)."""
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3
    g = np.array([3e-3, -2e-5, 1.0])
    h = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=0)
    _, _, (Enew, _) = bounds.adam_bounds(h, False, np.zeros(3), g, 0.3 * np.abs(g), 0.0, {}, U["float32"], 0.0, True)
    assert np.all(Enew < 1e-3 * lr), Enew / lr


RUN_113 = dict(  # row 113 of the false-alarm sweep, its first two steps
    sizes=[784, 5, 10],
    activation="leaky_relu",
    loss="mse",
    output="sigmoid",
    init="kaiming",
    scale="standard",
    dtype="float32",
    optimizer="adam",
    seed=1577194282,
    n_train=1073,
    steps=2,
    batch_size=122,
    lr=0.002241835264591885,
    norm="batchnorm",
)


def test_a_constant_input_feature_before_a_batch_norm_does_not_set_the_update_floor():
    """Standardised digits hold pixels that are constant over a batch (blank in all its samples), x_j = c: before a
    batch norm dW[:, j] = c sum dz = 0 exactly, as the bias's, and Adam makes a rounding-chosen step of about lr of
    it (bounds.step_bounds' zeros). Those weights are left out of the update's floor, as the bias is; the other
    weights are held to their bound, and the eval pass, where such a weight acts as a bias, still reports its floor.
    Before: update 4.7e-2 (1.9e-2 with Adam's quotient alone); now the tolerance, 4.9e-4."""
    r = lockstep.check(**RUN_113)
    floor = r.to_dict()["detection_floor"]
    assert floor["update"] <= 2 * TOLERANCES["float32"].tensor, floor


def test_the_eval_pass_is_judged_from_the_sides_state():
    """The eval pass, judged from one shared state (the side's parameters and running statistics after the step, in
    the twin): its floor is its own rounding's, not every update's bound again (Adam's rounding-chosen steps of about
    lr), so row 113's two steps agree (before: eval floor 1.4, inconclusive); and an eval pass that normalises by
    1.02 times the running variance, 1% off, is a divergence located in the eval phase."""
    r = lockstep.check(**RUN_113)
    assert r.verdict == "agree" and r.to_dict()["detection_floor"]["eval"] < 1e-2, r.to_dict()["detection_floor"]


def test_an_eval_only_difference_is_found(monkeypatch):
    forward = handmade.norms.batchnorm_forward

    def off(z, gamma, beta, bn_param):  # the eval pass only: 1.02 times the running variance
        if bn_param["mode"] == "train":
            return forward(z, gamma, beta, bn_param)
        return forward(z, gamma, beta, dict(bn_param, running_var=1.02 * bn_param["running_var"]))

    monkeypatch.setitem(handmade.norms.NORMS, "batchnorm", handmade.norms.NORMS["batchnorm"]._replace(forward=off))
    r = lockstep.check(**RUN_113)
    assert r.verdict == "diverge" and r.first_divergence.phase == "eval", (r.verdict, r.first_divergence)


def test_the_constant_columns_are_named_from_the_batch():
    """step_bounds' zeros marks exactly the columns of layers.0.weight whose input is constant over the batch, when
    a batch norm follows (without one, dW[:, j] = c sum dz is not 0)."""
    for norm, expected in (("batchnorm", True), ("none", False)):
        cfg = dataclasses.replace(Config(sizes=[12, 9, 7, 5]), norm=norm, optimizer="adam", lr=1e-3)
        rng = np.random.default_rng(1)
        net = handmade.MLP(cfg.model_args("float64", 100), seed=rng)
        state = {k: f32(v) for k, v in net.state_dict().items()}
        X = f32(rng.normal(0, 1, (16, 12)))
        X[:, [2, 7]] = 0.75  # two features constant over the batch
        Y = np.eye(5)[rng.integers(0, 5, 16)]
        buffers = {k: v for k, v in state.items() if "running" in k}
        pre = dict(params={k: v for k, v in state.items() if k not in buffers}, buffers=buffers)
        pre["state"] = {k: {} for k in pre["params"]}
        twin = Twin(cfg, "float32", state, 100)
        twin.step(X.astype("float32"), Y.astype("float32"), None)
        zeros = {}
        step_bounds(spec(cfg, twin, 100), pre, X, Y, twin.reference_tensors(), U["float32"], zeros=zeros)
        if not expected:
            assert not zeros
            continue
        mask = zeros["update", "layers.0.weight"]
        assert mask.shape == (9, 12) and set(np.flatnonzero(mask[0])) == {2, 7} and mask.all(axis=0)[[2, 7]].all()
        assert set(zeros) == {("update", "layers.0.weight")}
