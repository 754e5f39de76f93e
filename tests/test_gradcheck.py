"""handmade's gradients against central finite differences in float64, for every activation and loss."""

import itertools

import numpy as np
import pytest

import handmade
from lockstep.judge.gradcheck import check

from conftest import synthetic

CASES = list(
    itertools.product(
        handmade.ACTIVATIONS,
        [(loss, output) for loss, (_, _, outputs) in handmade.LOSSES.items() for output in outputs],
    )
)


@pytest.mark.parametrize("activation,loss", CASES, ids=[f"{a}-{l[0]}-{l[1]}" for a, l in CASES])
def test_handmade_matches_finite_differences(activation, loss):
    X, Y = synthetic(12, 5, 3, np.float64)
    net = handmade.MLP([5, 6, 4, 3], activation=activation, loss=loss[0], output=loss[1], l2=0.3, seed=3)
    net.loss(X, Y)
    grads = [g.copy() for g in net.backward().values()]
    params = [p.data for p in net.parameters()]
    result = check(
        lambda: net.loss(X, Y), params, grads, list(net.state_dict()), np.random.default_rng(0), per_tensor=20
    )
    assert result["passed"], result["worst"]


def test_gradcheck_catches_a_wrong_gradient():
    X, Y = synthetic(12, 5, 3, np.float64)
    net = handmade.MLP([5, 4, 3], activation="tanh", seed=0)
    net.loss(X, Y)
    grads = [g.copy() for g in net.backward().values()]
    grads[0] *= 1.01
    result = check(
        lambda: net.loss(X, Y),
        [p.data for p in net.parameters()],
        grads,
        list(net.state_dict()),
        np.random.default_rng(0),
    )
    assert not result["passed"] and result["worst"]["tensor"] == "layers.0.weight"
