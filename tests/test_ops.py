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
from lockstep.config import (
    MOMENTUM_FORMS,
    OPTIMIZERS,
    PER_ITERATION,
    SCHEDULES,
    Config,
    advance,
    make_clip,
    make_optimizer,
    make_schedule,
    parse_schedule,
    state_keys,
    update,
)
from lockstep.judge.tolerance import TOLERANCES, compare

T64 = TOLERANCES["float64"]
EXTREMES = np.array([-1000.0, -40.0, -18.0, -1e-8, 0.0, 0.0, 1e-8, 18.0, 40.0, 1000.0])  # saturation, ties at 0


@pytest.fixture
def rng():
    """Each test draws its data from its own Generator, seeded alike: running one test alone (-k) sees the same data."""
    return np.random.default_rng(0)


def inputs(rng, shape, extremes=True):
    """Random values with the extremes mixed in: large |z|, tiny |z| and exact zeros."""
    z = rng.standard_normal(shape) * 3
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
def test_activation(rng, name, slope):
    forward, backward = layers.activation(name, slope)
    z = inputs(rng, (12, 7))
    da = rng.standard_normal(z.shape)
    a = forward(z)
    a_t, (dz_t,) = torch_grad(lambda t: reference.mlp.ACTIVATIONS[name](t, slope), z, upstream=da)
    check_op(f"{name} forward", a, a_t)
    check_op(f"{name} backward", backward(da, z, a), dz_t, phase="backward")


def test_linear(rng):
    x, W, b = inputs(rng, (9, 5), extremes=False), inputs(rng, (4, 5), extremes=False), inputs(rng, 4, extremes=False)
    dz = rng.standard_normal((9, 4))
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
def test_loss(rng, loss, output, saturated):
    """Value and dL/dz of each loss, summed over the batch, against torch's formulas of reference.mlp."""
    z = inputs(rng, (16, 4), extremes=saturated) * (10 if saturated else 1)
    Y = np.eye(4)[rng.integers(0, 4, 16)]
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
    for form in MOMENTUM_FORMS:
        yield "sgd", dict(momentum_form=form, momentum=0.8, weight_decay=0.01)
    yield "sgd", dict(momentum_form="ema", momentum=0.0)
    yield "adam", dict(betas=(0.5, 0.9), eps=1e-3)
    yield "adam", dict(adam_t0=1)  # CS231n's skeleton
    yield "adamw", dict(adam_t0=5)
    yield "rmsprop", dict(alpha=0.9, eps=1e-7)  # NNFS's rho and eps
    yield "rmsprop", dict(momentum=0.9, centered=True)
    yield "rmsprop", dict(centered=True, weight_decay=0.01)
    yield "adagrad", dict(eps=1e-7)  # NNFS's
    yield "adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.5)


@pytest.mark.parametrize("name,extra", list(optimizer_cases()), ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer(rng, name, extra, dtype):
    """Four steps of each optimizer from the same parameters and gradients, state and values compared (the lr
    changed after two, as a schedule does, which the velocity form feels)."""
    cfg = Config(optimizer=name, lr=0.1, **extra)
    p = handmade.Param(rng.standard_normal((6, 3)).astype(dtype))
    t = torch.nn.Parameter(torch.tensor(p.data))
    ours, theirs = make_optimizer(handmade, [p], cfg), make_optimizer(reference, [t], cfg)
    assert type(ours).__name__ == type(theirs).__name__
    tol = TOLERANCES[dtype]
    for step in range(4):
        if step == 2:
            ours.lr = theirs.param_groups[0]["lr"] = 0.03
        g = rng.standard_normal(p.data.shape).astype(dtype)
        p.grad, t.grad = g.copy(), torch.tensor(g)
        ours.step()
        theirs.step()
        check_op(f"{name} step {step}", p.data, t, tol, phase="update")
        assert set(ours.state[p]) == set(theirs.state[t]), (ours.state[p].keys(), theirs.state[t].keys())
        assert {k for k in ours.state[p] if k != "step"} == set(state_keys(cfg))
        for key, v in ours.state[p].items():
            if key == "step":
                assert v == float(theirs.state[t][key]), key
            else:
                check_op(f"{name} {key}", v, theirs.state[t][key], tol, phase="optimizer")


def test_adam_t0_is_cs231ns_first_correction():
    """--adam-t0 1: the first step's bias correction uses t = 2, as CS231n's skeleton (t = 1, then t += 1)."""
    cfg = Config(optimizer="adam", lr=0.1, adam_t0=1)
    p = handmade.Param(np.zeros(3))
    opt = make_optimizer(handmade, [p], cfg)
    g = np.array([1.0, -2.0, 0.5])
    p.grad = g
    opt.step()
    m, v = 0.1 * g, 0.001 * g * g
    expected = -0.1 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)
    assert opt.state[p]["step"] == 2


@pytest.mark.parametrize(
    "form,update",
    [
        ("ema", lambda w, v, g, lr, mu: (w - lr * (mu * v + (1 - mu) * g), mu * v + (1 - mu) * g)),
        ("velocity", lambda w, v, g, lr, mu: (w + mu * v - lr * g, mu * v - lr * g)),
    ],
)
def test_momentum_forms_are_the_courses_formulas(rng, form, update):
    """Coursera's v = beta v + (1 - beta) dW, W -= lr v and CS231n's v = mu v - lr dw, w += v, as written there, over
    steps with a changing lr: handmade's and the twin's forms compute exactly those."""
    cfg = Config(lr=0.1, momentum=0.9, momentum_form=form)
    p = handmade.Param(rng.standard_normal(4))
    t = torch.nn.Parameter(torch.tensor(p.data))
    ours, theirs = make_optimizer(handmade, [p], cfg), make_optimizer(reference, [t], cfg)
    w, v = p.data.copy(), np.zeros(4)
    for lr in (0.1, 0.1, 0.01, 0.3):
        ours.lr = theirs.param_groups[0]["lr"] = lr
        g = rng.standard_normal(4)
        p.grad, t.grad = g.copy(), torch.tensor(g)
        ours.step()
        theirs.step()
        w, v = update(w, v, g, lr, 0.9)
        np.testing.assert_allclose(p.data, w, rtol=1e-13)
        np.testing.assert_allclose(t.detach().numpy(), w, rtol=1e-13)
    torch_sgd = make_optimizer(reference, [torch.nn.Parameter(torch.tensor(w))], Config(lr=0.1, momentum=0.9))
    assert type(torch_sgd) is torch.optim.SGD  # the default form is torch's own class


SCHEDULE_CASES = [example for *_, example in SCHEDULES.values()] + [
    f"{kind}{PER_ITERATION}:{example.split(':', 1)[1]}" for kind, (*_, example) in SCHEDULES.items()
]


@pytest.mark.parametrize("spec", SCHEDULE_CASES)
def test_schedule(spec):
    """The lr over 9 calls of each schedule of config.SCHEDULES (its example, per epoch and per iteration) equals
    torch's lr_scheduler's, stepped through config.advance as the sides step it, 3 iterations an epoch."""
    cfg = Config(lr=0.2, lr_schedule=spec)
    p, t = handmade.Param(np.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    ours, theirs = make_optimizer(handmade, [p], cfg), make_optimizer(reference, [t], cfg)
    s_ours, s_theirs = make_schedule(handmade, ours, cfg), make_schedule(reference, theirs, cfg)
    seen = []
    for step in range(9):
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-15), step
        seen.append(ours.lr)
        theirs.step()  # torch warns when a scheduler steps before its optimizer
        advance(s_ours, cfg, epoch_end=step % 3 == 2)
        advance(s_theirs, cfg, epoch_end=step % 3 == 2)
    assert ours.lr < 0.2
    per_iteration = parse_schedule(spec)[2] == "iteration"
    assert (len(set(seen)) > 3) == per_iteration or spec.startswith(("at", "step", "stair")), seen


@pytest.mark.parametrize(
    "spec,lrs",
    [
        ("stair:0.5:2", [1, 1, 1 / 1.5, 1 / 1.5, 1 / 2]),  # Coursera's schedule_lr_decay, time_interval 2
        ("inv-iter:0.1", [1 / (1 + 0.1 * i) for i in range(5)]),  # NNFS: lr / (1 + decay * iterations)
        ("stair-iter:1:2", [1, 1, 1 / 2, 1 / 2, 1 / 3]),  # Holberton: alpha / (1 + rate * (step // decay_step))
        ("at-iter:3:0.01", [1, 1, 1, 0.01, 0.01]),  # makemore: 0.1 if i < 100000 else 0.01 (here lr0 = 1)
        ("at:2:0.5", [1, 1, 0.5, 0.5, 0.5]),
    ],
)
def test_schedule_is_the_courses_formula(spec, lrs):
    """The lr of steps 0..4 (one epoch = one step here) as the course writes its decay, with lr0 = 1."""
    cfg = Config(lr=1.0, lr_schedule=spec)
    p = handmade.Param(np.zeros(1))
    opt = make_optimizer(handmade, [p], cfg)
    schedule = make_schedule(handmade, opt, cfg)
    seen = []
    for _ in lrs:
        seen.append(opt.lr)
        advance(schedule, cfg, epoch_end=True)
    assert seen == pytest.approx(lrs, rel=1e-15)


@pytest.mark.parametrize("limit", [("clip_value", 0.3), ("clip_norm", 0.5), ("clip_norm", 1e3)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clipping(rng, limit, dtype):
    """handmade's clip_grad_value_ and clip_grad_norm_ against torch.nn.utils', over three tensors (the norm couples
    them), in place; config.update clips copies and leaves the raw gradients in .grad."""
    name, value = limit
    grads = [rng.standard_normal(shape).astype(dtype) for shape in ((5, 4), (5,), (2, 5))]
    ps = [handmade.Param(np.zeros_like(g), g.copy()) for g in grads]
    ts = [torch.nn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, dtype))) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g)
    make_clip(handmade, Config(**{name: value}))(ps)
    make_clip(reference, Config(**{name: value}))(ts)
    for p, t in zip(ps, ts):
        check_op(name, p.grad, t.grad, TOLERANCES[dtype], phase="backward")
    total = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    clipped = np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in ps))
    if name == "clip_norm":
        assert clipped == pytest.approx(min(total, value), rel=1e-5)
    else:
        assert max(float(np.abs(p.grad).max()) for p in ps) == pytest.approx(value, rel=1e-6)
    cfg = Config(lr=1.0, momentum=0.0, **{name: value})
    ps = [handmade.Param(np.zeros_like(g), g.copy()) for g in grads]
    update(make_optimizer(handmade, ps, cfg), ps, make_clip(handmade, cfg))
    for p, g, t in zip(ps, grads, ts):
        assert np.array_equal(p.grad, g)  # the raw gradient is kept for the backward phase
        check_op(f"{name} update", p.data, -t.grad, TOLERANCES[dtype], phase="update")


@pytest.mark.parametrize("loss", ["cross_entropy", "bce"])
@pytest.mark.parametrize("p", [1e-7, 0.01])
def test_probability_clipping(rng, loss, p):
    """--prob-clip: the loss value on probabilities clipped to [p, 1 - p], as NNFS writes it, in handmade and the twin;
    the gradient stays a - Y (both sides), so only the value differs from the unclipped loss."""
    sizes = [4, 3]
    X = inputs(rng, (16, 4), extremes=False) * 10  # saturated outputs: clipping changes the value
    Y = np.eye(3)[rng.integers(0, 3, 16)]
    nets = [cls(sizes, loss=loss, prob_clip=p, seed=2) for cls in (handmade.MLP, reference.MLP)]
    plain = handmade.MLP(sizes, loss=loss, seed=2)
    values = [net.loss(X, Y) for net in nets]
    a = plain.forward(X)
    c = np.clip(a, p, 1 - p)
    nnfs = -np.sum(Y * np.log(c) + ((1 - Y) * np.log(1 - c) if loss == "bce" else 0)) / 16
    assert values[0] == pytest.approx(nnfs, rel=1e-13) and values[1] == pytest.approx(nnfs, rel=1e-13)
    assert abs(plain.loss(X, Y) - nnfs) > 1e-6  # the clipping mattered here
    grads = [net.backward() for net in nets]
    plain.backward()
    for name, g in plain.grads().items():
        check_op(f"{loss} {name}", grads[0][name], g, phase="backward")
        check_op(f"{loss} {name}", grads[1][name], g, phase="backward")


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
