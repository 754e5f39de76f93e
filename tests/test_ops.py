"""Every op of handmade against torch, tinygrad's way: one helper seeds the inputs once in NumPy and copies them
into torch, then checks the forward value and, with a random upstream gradient, the backward. Each case is one
row, and the rows come from handmade's own tables, so a new activation, loss, optimizer or schedule is tested
here without editing this file."""

import numpy as np
import pytest
import torch

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
    a = losses.OUTPUTS[output](z)
    out_backward = layers.ACTIVATIONS[output][1] if output != "softmax" else None
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
