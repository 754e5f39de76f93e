"""Property tests: hypothesis draws whole configurations and both backends must agree in float64 at every step."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handmade import ACTIVATIONS, INITS, LOSSES
from lockstep.config import OPTIMIZERS

from conftest import lockstep, synthetic


@st.composite
def setups(draw):
    depth = draw(st.integers(1, 4))  # weight layers
    sizes = [draw(st.integers(1, 64)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(list(LOSSES)))
    optimizer = draw(st.sampled_from(list(OPTIMIZERS)))
    n = draw(st.integers(1, 40))
    cfg = dict(
        sizes=sizes,
        loss=loss,
        optimizer=optimizer,
        activation=draw(st.sampled_from(list(ACTIVATIONS))),
        output=draw(st.sampled_from(LOSSES[loss][2])),
        init=draw(st.sampled_from(list(INITS))),
        reduction=draw(st.sampled_from(["mean", "sum"])),
        loss_scale=draw(st.sampled_from([1.0, 0.1, 2.0])),
        bias=draw(st.booleans()),
        batch_size=draw(st.integers(1, n)),  # 1, n and everything between: partial last batches included
        steps=draw(st.integers(1, 8)),
        l2=draw(st.sampled_from([0.0, 0.01, 0.5])),
        l2_norm=draw(st.sampled_from(["batch", "dataset", "none"])),
        weight_decay=draw(st.sampled_from([None, 0.0, 0.05])),
        lr=draw(st.sampled_from([0.01, 0.1])) if optimizer == "sgd" else draw(st.sampled_from([1e-3, 1e-2])),
        seed=draw(st.integers(0, 2**16)),
    )
    if optimizer == "sgd":
        momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
        nesterov = momentum > 0 and draw(st.booleans())
        dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3]))
        cfg.update(momentum=momentum, nesterov=nesterov, dampening=dampening)
    return cfg, n


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_float64_twins_agree_at_every_step(setup):
    overrides, n = setup
    X, Y = synthetic(n, overrides["sizes"][0], overrides["sizes"][-1], np.float64, seed=overrides["seed"])
    out = lockstep(X, Y, **overrides)
    if out.non_finite:  # a blow-up is allowed only where both backends blow up together
        assert out.non_finite["same_place"], out.non_finite
        return
    assert out.verdict == "agree", (overrides, out.first_divergence)
    # a step beyond the fixed tolerance is allowed only where the rounding bound explains it (a saturated tanh)
    assert all(d["kind"] == "rounding" for d in out.drift), (overrides, out.drift)
    assert len(out.steps) == overrides["steps"]
