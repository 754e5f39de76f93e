"""handmade.MLP against reference.MLP as stacks of layers (docs/layers.md).

Both are built from one ModelConfig and trained side by side for several optimizer steps, handmade with its own
optimizers and the twin with torch.optim, the twin applying the dropout masks that handmade drew. After every step
every tensor is compared under the project's one rule: each recorded forward tensor and gradient (the key sets
must be equal), every parameter's gradient, the parameters and buffers after the update, the optimizer state;
at the end the eval-mode outputs (running statistics, no dropout). The rows come from the tables (handmade's
NORMS and LOSSES, the optimizers of lockstep/config.py), so a new kind of layer is covered without editing here.
"""

import itertools

import numpy as np
import pytest
import torch

import handmade
import reference
from lockstep.config import OPTIMIZERS, Config, make_optimizer, optimizer_settings
from lockstep.judge.tolerance import TOLERANCES, compare

NORM_ROWS = (
    [dict()]
    + [dict(norm=kind) for kind in handmade.NORMS]
    + [
        dict(norm="batchnorm", bn_variance="unbiased", bn_momentum=0.001),  # makemore part 4
        dict(norm="batchnorm", bn_running_variance="biased", bn_momentum=0.1, bn_eps=1e-3),  # CS231n (its 0.9)
    ]
)
DROPOUT_ROWS = [dict(), dict(dropout=0.3), dict(dropout=0.5, dropout_form="classic")]
EMBEDDING_ROWS = [dict(), dict(embedding=(11, 4))]
LOSS_ROWS = [dict(loss=loss, output=output) for loss, row in handmade.LOSSES.items() for output in row.outputs]
STACKS = [
    {**norm, **drop, **emb, **loss, "optimizer": opt}
    for (norm, drop, emb), loss, opt in zip(
        itertools.product(NORM_ROWS, DROPOUT_ROWS, EMBEDDING_ROWS),
        itertools.cycle(LOSS_ROWS),
        itertools.cycle(OPTIMIZERS),
    )
]
STACKS += [dict(norm="batchnorm", dropout=0.2, **loss, activation="tanh", optimizer="sgd") for loss in LOSS_ROWS]
STACKS += [
    dict(norm="layernorm", embedding=(5, 3), l1=1e-3, l2=0.1, bias_penalty=True, init="xavier", optimizer="adam"),
    dict(norm="batchnorm", bias=False, activation="sigmoid", l2=0.5, l2_norm="none", optimizer="sgd"),
    dict(dropout=0.9, activation="leaky_relu", leaky_slope=0.2, reduction="sum", loss_scale=0.5, optimizer="sgd"),
]


@pytest.fixture(autouse=True)
def one_thread():
    """torch on one thread, as in the lockstep run: small ops, no parallel region waiting for a busy core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def label(row):
    return " ".join(f"{k}={v}" for k, v in row.items())


def data(config, n, rng):
    """n inputs (integer tokens with an embedding) and one-hot targets."""
    k = config.sizes[-1]
    if config.embedding is not None:
        X = rng.integers(0, config.embedding[0], (n, config.sizes[0] // config.embedding[1]))
    else:
        X = rng.standard_normal((n, config.sizes[0])).astype(config.dtype)
    return X, np.eye(k, dtype=config.dtype)[rng.integers(0, k, n)]


def check(phase, name, ours, theirs, tol, terms=None):
    """The one rule; `terms`, for a tensor that sums to 0 in exact arithmetic, is the magnitude of what it sums,
    which its rounding is relative to."""
    theirs = theirs.detach().numpy() if torch.is_tensor(theirs) else np.asarray(theirs)
    cancel = 1.0 if terms is None else max(1.0, terms / max(float(np.abs(theirs).max()), 1e-300))
    c = compare(phase, name, np.asarray(ours), theirs, tol, cancel=cancel)
    assert c.ok, f"{phase} {name}: max abs err {c.max_abs:.3g}, rel {c.max_rel:.3g} > {tol.for_phase(phase):.1e}"


@pytest.mark.parametrize("row", STACKS, ids=[label(r) for r in STACKS])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stack_trains_in_step_with_the_twin(row, dtype):
    """The bias of an affine layer before a batch norm has gradient exactly 0 (the norm subtracts the batch mean,
    so dz sums to 0 over the batch): what each side computes is rounding, compared at the scale of the terms it
    sums, sum |dz|, and so is the momentum buffer that accumulates it. Adam divides that rounding by its own
    square root and takes a full step of lr in a direction rounding chose (docs/judging.md): there, the rows have
    no such bias."""
    row = dict(row)
    optimizer = row.pop("optimizer")
    if row.get("norm") == "batchnorm" and optimizer != "sgd":
        row["bias"] = False
    sizes = [12, 16, 12, 5]
    config = handmade.ModelConfig(sizes, dtype=dtype, **row)
    zero_sum = {f"layers.{i}.bias" for i in range(config.hidden) if config.norm == "batchnorm" and config.bias}
    buffer_terms = dict.fromkeys(zero_sum, 0.0)
    rng = np.random.default_rng(7)
    X, Y = data(config, 48, rng)
    ours, twin = handmade.MLP(config, seed=3), reference.MLP(config, seed=3)
    cfg = Config(optimizer=optimizer, lr=0.1 if optimizer == "sgd" else 1e-2)
    opt, topt = make_optimizer(handmade, ours.parameters(), cfg), make_optimizer(reference, twin.parameters(), cfg)
    tol = TOLERANCES[dtype]
    for step, start in enumerate(range(0, 48, 12)):
        batch = slice(start, start + 12)
        opt.zero_grad()
        topt.zero_grad()
        loss = ours.loss(X[batch], Y[batch])
        twin_loss = twin.loss(X[batch], Y[batch], masks=ours.dropout_masks())
        ours.backward()
        twin.backward()
        check("loss", f"step {step} loss", np.float64(loss), twin_loss, tol)
        acts, deltas = twin.acts, twin.deltas
        assert list(ours.acts) == list(acts) and sorted(ours.deltas) == sorted(deltas), (step, ours.acts, acts)
        for name, value in ours.acts.items():
            check("forward", f"step {step} {name}", value, acts[name], tol)
        for name, value in ours.deltas.items():
            check("backward", f"step {step} {name}", value, deltas[name], tol)
        terms = {}  # the magnitude that a zero-sum bias gradient sums, and that its momentum buffer accumulates
        for name in zero_sum:
            terms[name] = float(np.abs(deltas[name.replace(".bias", ".dz")]).sum(axis=0).max())
            buffer_terms[name] = optimizer_settings(cfg).get("momentum", 0.0) * buffer_terms[name] + terms[name]
        for name, g in ours.grads().items():
            check("backward", f"step {step} grad {name}", g, twin.grads()[name], tol, terms.get(name))
        opt.step()
        topt.step()
        state = twin.state_dict()
        for name, value in ours.state_dict().items():
            check("update", f"step {step} {name}", value, state[name], tol)
        for (name, p), t in zip(ours.named_parameters(), twin.parameters()):
            for key, value in opt.state[p].items():
                if key != "step":
                    check(
                        "optimizer", f"step {step} {name}.{key}", value, topt.state[t][key], tol, buffer_terms.get(name)
                    )
    with torch.no_grad():
        ours.eval(), twin.eval()
        check("forward", "eval output", ours.forward(ours._inputs(X)), twin.forward(X), tol)
    ours.train(), twin.train()
    assert np.array_equal(ours.predict(X), twin.predict(X)) or dtype == "float32"
    assert ours.training and twin.training  # predict() leaves the mode as it found it


def test_mask_given_or_drawn():
    """Without masks handmade draws them from its Generator, block by block (keep where rng.random() < 1 - p); with
    the same masks given, it computes the same step; the twin refuses to draw."""
    config = handmade.ModelConfig([6, 5, 4, 3], dropout=0.4)
    X, Y = data(config, 10, np.random.default_rng(0))
    a, b = handmade.MLP(config, seed=2), handmade.MLP(config, seed=2)
    a.loss(X, Y)
    rng = np.random.default_rng(2)
    handmade.init.init_parameters(config, rng)  # the draws of the init come first
    expected = [rng.random((10, n)) < 0.6 for n in (5, 4)]
    masks = a.dropout_masks()
    assert list(masks) == ["layers.0.dropout.mask", "layers.1.dropout.mask"]
    assert all(np.array_equal(m, e) for m, e in zip(masks.values(), expected))
    assert b.loss(X, Y, masks=masks) == a.loss(X, Y, masks=masks)
    with pytest.raises(ValueError, match="draws no dropout masks"):
        reference.MLP(config, seed=2).loss(X, Y)
    scaled = {k: v / 0.6 for k, v in masks.items()}
    for bad, message in ((scaled, "without the 1/keep scaling"), ({}, "masks has no layers.0.dropout.mask")):
        with pytest.raises(ValueError, match=message):
            b.loss(X, Y, masks=bad)


@pytest.mark.parametrize(
    "settings,message",
    [
        (dict(norm="groupnorm"), "unknown norm 'groupnorm'; choose from none, batchnorm, layernorm"),
        (dict(dropout=1.0), "dropout is the probability of dropping a unit, in [0, 1)"),
        (dict(dropout_form="scaled"), "dropout_form must be one of inverted, classic"),
        (dict(bn_variance="bessel"), "bn_variance must be one of biased, unbiased"),
        (dict(bn_momentum=0.9, bn_eps=0), "bn_eps must be a positive number"),
        (dict(bn_momentum=1.5), "bn_momentum must be in [0, 1]"),
        (dict(embedding=(10, 3)), "is not a multiple of 3"),
        (dict(bias=False, bias_penalty=True), "bias_penalty penalises the biases, but bias is off"),
        (dict(l1=-1), "l1 must be a number >= 0"),
        (dict(loss="svm", output="softmax"), "output 'softmax' does not go with loss 'svm'"),
    ],
)
def test_bad_model_settings_raise_one_line(settings, message):
    with pytest.raises(ValueError) as e:
        handmade.ModelConfig([8, 5, 3], **settings)
    assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="act on hidden blocks"):
        handmade.MLP([4, 3], norm="layernorm")


def test_batch_norm_refuses_a_batch_of_one_in_training_only():
    net, twin = handmade.MLP([4, 3, 2], norm="batchnorm"), reference.MLP([4, 3, 2], norm="batchnorm")
    X, Y = np.ones((1, 4)), np.eye(2)[[1]]
    for side in (net, twin):
        with pytest.raises(ValueError, match="2 or more samples"):
            side.loss(X, Y)
        side.eval()
        side.loss(X, Y)  # the running statistics serve a single sample


def test_embedding_inputs_are_checked():
    net = handmade.MLP([6, 4, 3], embedding=(5, 2))
    for X, message in (
        (np.zeros((2, 2), int), "takes \\(m, 3\\) token indices"),
        (np.full((2, 3), 5), "in \\[0, 5\\)"),
    ):
        with pytest.raises(ValueError, match=message):
            net.loss(X, [0, 1])


def test_docs_example_runs():
    """docs/layers.md's example: an embedding and a makemore batch norm, both backends, the same numbers."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "layers.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {}
    exec(code, scope)
    net, twin, X, y = (scope[k] for k in ("net", "twin", "X", "y"))
    check("loss", "docs example", np.float64(net.loss(X, y)), twin.loss(X, y), TOLERANCES["float64"])
    assert np.array_equal(net.predict(X), twin.predict(X))
