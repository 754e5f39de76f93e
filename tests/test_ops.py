"""Every op of handmade against torch, tinygrad's way: one helper seeds the inputs once in NumPy and copies them
into torch, then checks the forward value and, with a random upstream gradient, the backward. Each case is one
row, and the rows come from handmade's own tables, so a new activation, loss, optimizer or schedule is tested
here without editing this file."""

import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handmade
import reference
from handmade import layers, losses
from lockstep.config import OPTIMIZERS, SCHEDULES, Config, make_optimizer, make_schedule
from lockstep.judge.tolerance import TOLERANCES, compare

T64 = TOLERANCES["float64"]
RNG = np.random.default_rng(0)
EXTREMES = np.array([-1000.0, -40.0, -18.0, -1e-8, 0.0, 0.0, 1e-8, 18.0, 40.0, 1000.0])  # saturation, ties at 0


def inputs(shape, extremes=True):
    """Random values with the extremes mixed in: large |z|, tiny |z| and exact zeros."""
    z = RNG.standard_normal(shape) * 3
    if extremes:
        z.ravel()[: EXTREMES.size] = EXTREMES
    return z


def check_op(label, ours, theirs, tol=T64, phase="forward"):
    """The project's one comparison rule, with a labelled message (both values and the error)."""
    theirs = theirs.detach().numpy() if torch.is_tensor(theirs) else np.asarray(theirs)
    c = compare(phase, label, np.asarray(ours), theirs, tol)
    assert c.ok, f"{label}: max abs err {c.max_abs:.3g}, rel {c.max_rel:.3g} > {tol.for_phase(phase):.1e}"


def torch_grad(f, *arrays, upstream):
    """Values and gradients of f(*tensors) in float64 torch, with `upstream` as dL/d(output)."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*ts)
    out.backward(torch.tensor(upstream))
    return out, [t.grad for t in ts]


@pytest.mark.parametrize("name", list(layers.ACTIVATIONS))
@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_activation(name, slope):
    forward, backward = layers.activation(name, slope)
    z = inputs((12, 7))
    da = RNG.standard_normal(z.shape)
    a = forward(z)
    a_t, (dz_t,) = torch_grad(lambda t: reference.mlp.ACTIVATIONS[name](t, slope), z, upstream=da)
    check_op(f"{name} forward", a, a_t)
    check_op(f"{name} backward", backward(da, z, a), dz_t, phase="backward")


def test_linear():
    x, W, b = inputs((9, 5), extremes=False), inputs((4, 5), extremes=False), inputs(4, extremes=False)
    dz = RNG.standard_normal((9, 4))
    z = layers.linear_forward(x, W, b)
    z_t, (dx_t, dW_t, db_t) = torch_grad(lambda x, W, b: torch.nn.functional.linear(x, W, b), x, W, b, upstream=dz)
    dW, db, dx = layers.linear_backward(dz, x, W)
    for label, ours, theirs in (("z", z, z_t), ("dW", dW, dW_t), ("db", db, db_t), ("dx", dx, dx_t)):
        check_op(f"linear {label}", ours, theirs, phase="backward")
    check_op(
        "linear without bias", layers.linear_forward(x, W), torch.nn.functional.linear(torch.tensor(x), torch.tensor(W))
    )


LOSS_CASES = [(loss, output) for loss, (_, _, outputs) in losses.LOSSES.items() for output in outputs]


@pytest.mark.parametrize("loss,output", LOSS_CASES, ids=[f"{l}-{o}" for l, o in LOSS_CASES])
@pytest.mark.parametrize("saturated", [False, True])
def test_loss(loss, output, saturated):
    """Value and dL/dz of each loss, summed over the batch, against torch's formulas of reference.mlp."""
    z = inputs((16, 4), extremes=saturated) * (10 if saturated else 1)
    Y = np.eye(4)[RNG.integers(0, 4, 16)]
    value, grad, _ = losses.LOSSES[loss]
    a = losses.OUTPUTS[output].forward(z)
    out_backward = losses.OUTPUTS[output].backward
    zt = torch.tensor(z, requires_grad=True)
    at = reference.mlp.ACTIVATIONS[output](zt, 0.01)
    lt = reference.mlp.LOSSES[loss](zt, at, torch.tensor(Y))
    lt.backward()
    check_op(f"{loss} value", np.float64(value(z, a, Y)), lt, phase="loss")
    check_op(f"{loss} dL/dz", grad(z, a, Y, out_backward), zt.grad, phase="backward")


def optimizer_cases():
    for name in OPTIMIZERS:
        yield name, {}
        yield name, dict(weight_decay=0.1)
    yield "sgd", dict(momentum=0.9, nesterov=True)
    yield "sgd", dict(momentum=0.5, dampening=0.3)
    yield "sgd", dict(momentum=0.0)
    yield "adam", dict(betas=(0.5, 0.9), eps=1e-3)


@pytest.mark.parametrize("name,extra", list(optimizer_cases()), ids=lambda v: str(v))
def test_optimizer(name, extra):
    """Three steps of each optimizer from the same parameters and gradients, state and values compared."""
    cfg = Config(optimizer=name, lr=0.1, **extra)
    p = handmade.Param(RNG.standard_normal((6, 3)))
    t = torch.nn.Parameter(torch.tensor(p.data))
    ours, theirs = make_optimizer(handmade, [p], cfg), make_optimizer(reference, [t], cfg)
    for step in range(3):
        g = RNG.standard_normal(p.data.shape)
        p.grad, t.grad = g.copy(), torch.tensor(g)
        ours.step()
        theirs.step()
        check_op(f"{name} step {step}", p.data, t, phase="update")
        for key, v in ours.state[p].items():
            if key != "step":
                check_op(f"{name} {key}", v, theirs.state[t][key], phase="optimizer")


@pytest.mark.parametrize("spec", [example for *_, example in SCHEDULES.values()])
def test_schedule(spec):
    """The lr over 7 epochs of each schedule of config.SCHEDULES (its example) equals torch's."""
    cfg = Config(lr=0.2, lr_schedule=spec)
    p, t = handmade.Param(np.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    ours, theirs = make_optimizer(handmade, [p], cfg), make_optimizer(reference, [t], cfg)
    s_ours, s_theirs = make_schedule(handmade, ours, cfg), make_schedule(reference, theirs, cfg)
    for epoch in range(7):
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-15), epoch
        theirs.step()  # torch warns when a scheduler steps before its optimizer
        s_ours.step()
        s_theirs.step()
    assert ours.lr < 0.2


# -- the layer kinds after an affine layer (handmade.NORMS against the twin's rows, which use torch's ops) ----------
CONVENTIONS = [("biased", "unbiased"), ("unbiased", "unbiased"), ("biased", "biased"), ("unbiased", "biased")]
NORM_CASES = [
    (kind, var, run) for kind in handmade.NORMS for var, run in CONVENTIONS[: 4 if kind == "batchnorm" else 1]
]
NORM_INPUTS = ["random", "constant", "batch of 2", "batch of 1", "large offset"]


def norm_input(case, rng):
    """z (m, n): random; with a constant feature (column 0: batch norm's variance 0) and a constant sample (row 0:
    layer norm's); a batch of 2 or of 1; or a spread of 1 about an offset of 1e4 (cancellation in z - mean)."""
    m = {"batch of 2": 2, "batch of 1": 1}.get(case, 9)
    z = rng.standard_normal((m, 6)) * 3
    if case == "constant":
        z[:, 0], z[0, :] = 0.7, -1.3
    if case == "large offset":
        z += 1e4
    return z


@pytest.mark.parametrize("kind,variance,running", NORM_CASES, ids=["-".join(c) for c in NORM_CASES])
@pytest.mark.parametrize("case", NORM_INPUTS)
def test_norm(kind, variance, running, case):
    """Train-mode forward (out, mean, var, xhat, the running statistics after the update) and backward (dz, dgamma,
    dbeta under a random dout), then eval mode, against reference.mlp.NORMS[kind] (F.batch_norm, F.layer_norm or
    torch primitives, by convention). Batch norm refuses a batch of 1 in train mode on both sides."""
    rng = np.random.default_rng(zlib.crc32(f"{kind} {variance} {running} {case}".encode()))
    config = handmade.ModelConfig(
        [6, 6, 2], norm=kind, bn_variance=variance, bn_running_variance=running, bn_momentum=0.3
    )
    z = norm_input(case, rng)
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    row, twin = handmade.NORMS[kind], reference.mlp.NORMS[kind]
    param = row.param(config, 6, np.float64)
    module = twin.build(6, config, torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(gamma))
        module.bias.copy_(torch.tensor(beta))
    for key, buffer in module.named_buffers():  # running statistics that are not torch's init, as after some steps
        if key in param:
            param[key][...] = rng.uniform(0.5, 2, 6)
            buffer.copy_(torch.tensor(param[key]))
    for mode in ("train", "test"):
        param["mode"] = mode
        module.train(mode == "train")
        if mode == "train" and kind == "batchnorm" and len(z) == 1:
            with pytest.raises(ValueError, match="2 or more samples"):
                row.forward(z, gamma, beta, param)
            with pytest.raises(ValueError):
                twin.forward(module, torch.tensor(z), config, True)
            continue
        dout = rng.standard_normal(z.shape)
        out, cache = row.forward(z, gamma, beta, param)
        zt = torch.tensor(z, requires_grad=True)
        out_t, stats = twin.forward(module, zt, config, mode == "train")
        out_t.backward(torch.tensor(dout))
        label = f"{kind} {variance}/{running} {mode}"
        check_op(f"{label} out", out, out_t)
        for key in ("mean", "var", "xhat"):
            check_op(f"{label} {key}", getattr(cache, key), stats[key].reshape(getattr(cache, key).shape))
        for key, buffer in module.named_buffers():
            if key in param:
                check_op(f"{label} {key}", param[key], buffer)
        dz, dgamma, dbeta = row.backward(dout, cache)
        for key, ours, theirs in (
            ("dz", dz, zt.grad),
            ("dgamma", dgamma, module.weight.grad),
            ("dbeta", dbeta, module.bias.grad),
        ):
            check_op(f"{label} {key}", ours, theirs, phase="backward")
        module.zero_grad()


@pytest.mark.parametrize("form", handmade.config.DROPOUT_FORMS)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout(form, p):
    """With torch's own mask (F.dropout's zeros, read back from its output), handmade's dropout gives torch's output
    (inverted: F.dropout itself; classic: a * mask) and its backward under a random upstream gradient; at test time
    a (inverted) or a * keep (classic)."""
    rng = np.random.default_rng(int(p * 10))
    a = rng.standard_normal((40, 7)) + 4  # no zeros: the mask can be read from the output
    at = torch.tensor(a, requires_grad=True)
    torch.manual_seed(int(p * 10))  # torch draws this mask; the tool never lets it draw one
    noise = F.dropout(torch.ones_like(at), p, training=True)  # torch's scaled noise: 0 or 1 / (1 - p)
    mask = (noise != 0).double()
    out_t = at * noise if form == "inverted" else at * mask
    dout = rng.standard_normal(a.shape)
    out_t.backward(torch.tensor(dout))
    out, scale = layers.dropout_forward(a, p, mask.numpy(), True, form)
    check_op(f"dropout {form} {p}", out, out_t)
    check_op(f"dropout {form} {p} backward", layers.dropout_backward(dout, scale), at.grad, phase="backward")
    if form == "inverted":
        torch.manual_seed(int(p * 10))
        check_op("dropout against F.dropout", out, F.dropout(torch.tensor(a), p, training=True))
    test, scale = layers.dropout_forward(a, p, None, False, form)
    check_op(f"dropout {form} test time", test, a if form == "inverted" else a * (1 - p))
    check_op(f"dropout {form} test-time backward", layers.dropout_backward(dout, scale), dout * (test / a))
    drawn = layers.dropout_mask(np.random.default_rng(5), (2000, 50), p, np.float64)
    assert np.array_equal(drawn, np.random.default_rng(5).random((2000, 50)) < 1 - p)
    assert abs(drawn.mean() - (1 - p)) < 0.01


def test_embedding():
    """C[X] flattened against F.embedding, and the scatter-add backward (a token repeated within a sample and across
    the batch, the first and last rows of C, and rows no token uses) against autograd, under a random dout."""
    rng = np.random.default_rng(11)
    V, D = 9, 4
    X = rng.integers(0, V - 2, (13, 3))
    X[0] = [0, 0, V - 1]  # a repeat within a sample, the table's first and last rows
    C, dout = rng.standard_normal((V, D)), rng.standard_normal((13, 3 * D))
    Ct = torch.tensor(C, requires_grad=True)
    out_t = F.embedding(torch.tensor(X), Ct).reshape(13, 3 * D)
    out_t.backward(torch.tensor(dout))
    out, cache = layers.embedding_forward(X, C)
    check_op("embedding forward", out, out_t)
    dC = layers.embedding_backward(dout, cache, V)
    check_op("embedding backward", dC, Ct.grad, phase="backward")
    assert not dC[V - 2].any() and dC[0].any()  # an unused row gets no gradient; a used one does


def test_svm_margin_ties():
    """Margins exactly at 0 (z_j = z_y - 1 in exact binary fractions) take the subgradient 0 on both sides, as torch's
    F.multi_margin_loss (strict >); the value is k times torch's, and dL/dz matches autograd under a tie, a positive
    and a negative margin in the same row."""
    z = np.array([[2.5, 1.5, 1.75, 0.25], [0.0, -1.0, -1.0, 0.5], [3.0, 3.0, 2.0, 3.0]])
    Y = np.eye(4)[[0, 0, 1]]
    zt = torch.tensor(z, requires_grad=True)
    lt = reference.mlp.LOSSES["svm"](zt, zt, torch.tensor(Y))
    lt.backward()
    value, grad, _ = losses.LOSSES["svm"]
    check_op("svm value at ties", np.float64(value(z, z, Y)), lt, phase="loss")
    check_op("svm dL/dz at ties", grad(z, z, Y, None), zt.grad, phase="backward")
    assert grad(z, z, Y, None)[0, 1] == 0 and zt.grad[0, 1] == 0  # the tie at exactly 0
    assert grad(z, z, Y, None)[0, 2] == 1 and grad(z, z, Y, None)[0, 0] == -1
