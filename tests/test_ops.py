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
