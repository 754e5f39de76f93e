"""The layer kinds a pair of CS231n-style functions can be checked as, one row each in KINDS.

A row says how to call the pair (the forward's arguments, the names of the backward's gradients), the inputs to
try (random, and the extremes that break such code), the torch op it is held to (the twin's own rows in
reference/mlp.py where they exist), the rounding bound of each output (lockstep/judge/bounds.py's per-op parts, as
in a training step), the intermediate values of the op that the tracer matches a departing line against, and the
suspects: what a classic mistake in that kind computes, predicted from torch's values. Inputs are float64 arrays;
`dout`, the upstream gradient, is random (never all ones: batch norm's input gradient vanishes under it).
"""

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

import reference
from handmade import losses

from ..judge import bounds

EXTREMES = np.array([-1000.0, -40.0, -20.0, -1e-8, 0.0, -0.0, 1e-8, 20.0, 40.0, 1000.0])


@dataclass(frozen=True)
class Case:
    name: str
    inputs: dict  # float64 arrays by argument name, 'dout', integer labels 'y'
    outputs: tuple | None = None  # the outputs this case compares (None: all; a test-mode forward: out alone)


@dataclass(frozen=True)
class Suspect:
    name: str
    output: str  # the output it shows in
    text: str
    predict: object  # (inputs, known) -> the output as the mistaken code computes it


@dataclass(frozen=True)
class Kind:
    name: str
    op: str  # the torch op, as the report names it
    cases: object  # rng -> [Case]
    args: tuple  # the forward's (or the loss's) arguments, by input name
    grads: tuple  # the backward's outputs, in order (a loss returns (loss, dx))
    torch: object  # (inputs in a torch dtype) -> {output: array}
    known: object  # (inputs, torch's outputs), float64 -> {name: array}: what the op computes on the way
    bounds: object  # (inputs, torch's outputs, u, tiny, work), float64 -> {output: E}
    suspects: tuple = ()
    loss: bool = False
    settings: dict = field(default_factory=dict)  # the kind's settings and their defaults (leaky_slope)
    params: object = None  # inputs -> the param dicts the forward takes after its arrays (bn_param), fresh each call
    after: object = None  # (forward args, out, cache, inputs) -> ({extra output: array}, {input for torch: array})
    forward_outputs: tuple = ()  # the forward's outputs besides out (running_mean, running_var)
    checks: object = None  # (case, dtype, inputs) -> [PieceVerdict] of what no torch op gives (a keep rate)

    def outputs(self):
        return ("loss",) + self.grads if self.loss else ("out",) + self.forward_outputs + self.grads


def _rand(rng, *shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def _grad(f, inputs, dtype, names, dout):
    """f(*tensors) in torch's `dtype` and, with `dout` as its upstream gradient, the gradient of each of `names`."""
    ts = {k: torch.tensor(v, dtype=dtype, requires_grad=k in names) for k, v in inputs.items()}
    out = f(**ts)
    out.backward(torch.tensor(dout, dtype=dtype) if dout is not None else None)
    return out.detach().numpy(), [ts[k].grad.numpy() for k in names]


# -- affine: out = x.reshape(N, D) w + b, w (D, M) as CS231n holds it (in, out) -----------------------------------
def affine_cases(rng):
    def case(name, x, m, centred=False):
        d = int(np.prod(x.shape[1:]))
        w, b, dout = _rand(rng, d, m), _rand(rng, m), _rand(rng, len(x), m)
        if centred:  # dout summing to 0 over the batch (as below a batch norm): dw = x^T dout cancels the offset
            dout -= dout.mean(axis=0)
        return Case(name, dict(x=x, w=w, b=b, dout=dout))

    return [
        case("random", _rand(rng, 6, 5), 4),
        case("image-shaped input (N, 3, 2, 2)", _rand(rng, 4, 3, 2, 2), 3),
        case("batch of 1", _rand(rng, 1, 5), 4),
        case("large offset, dout summing to 0", _rand(rng, 16, 5) + 1e4, 4, centred=True),
    ]


def affine_torch(i, dtype):
    x2 = i["x"].reshape(len(i["x"]), -1)
    f = lambda x, w, b: F.linear(x, w.T, b)  # noqa: E731
    out, (dx, dw, db) = _grad(f, dict(x=x2, w=i["w"], b=i["b"]), dtype, ("x", "w", "b"), i["dout"])
    return dict(out=out, dx=dx.reshape(i["x"].shape), dw=dw, db=db)


def affine_known(i, r):
    x2 = i["x"].reshape(len(i["x"]), -1)
    return {
        "x as (N, D)": x2,
        "out": r["out"],
        "dx": r["dx"],
        "dx as (N, D)": r["dx"].reshape(x2.shape),
        "dw": r["dw"],
        "db": r["db"],
    }


def affine_bounds(i, r, u, tiny, work):
    x2, w, dout = i["x"].reshape(len(i["x"]), -1), i["w"], i["dout"]
    return dict(
        out=bounds.matmul_bound(x2, w, u, tiny, c=i["b"]),
        dx=bounds.matmul_bound(dout, w.T, u, tiny).reshape(i["x"].shape),
        dw=bounds.matmul_bound(x2.T, dout, u, tiny),
        db=bounds.matmul_bound(np.ones((1, len(dout))), dout, u, tiny)[0],
    )


# -- affine_relu, CS231n's sandwich helper (layer_utils.py): relu(x w + b), the gradients through both ---------------
def affine_relu_torch(i, dtype):
    x2 = i["x"].reshape(len(i["x"]), -1)
    f = lambda x, w, b: F.relu(F.linear(x, w.T, b))  # noqa: E731
    out, (dx, dw, db) = _grad(f, dict(x=x2, w=i["w"], b=i["b"]), dtype, ("x", "w", "b"), i["dout"])
    return dict(out=out, dx=dx.reshape(i["x"].shape), dw=dw, db=db)


def affine_relu_known(i, r):
    x2 = i["x"].reshape(len(i["x"]), -1)
    z = x2 @ i["w"] + i["b"]
    dz = i["dout"] * (z > 0)
    return dict(affine_known(i, r), z=z, dz=dz, **{"the mask z > 0": (z > 0) * 1.0})


def affine_relu_bounds(i, r, u, tiny, work):
    """The affine layer's bound for z, then relu's at z within it (a z within rounding of 0 may take either side of
    the kink: the derivative's box holds the whole dout there), then the affine gradients of dz with its error."""
    x2, w, dout = i["x"].reshape(len(i["x"]), -1), i["w"], i["dout"]
    z = x2 @ w + i["b"]
    Ez = bounds.matmul_bound(x2, w, u, tiny, c=i["b"])
    forward, backward = bounds.activation("relu", 0.01)
    Ea = bounds.elementwise(forward, [z], [Ez], u, work)[0] + bounds.ULPS * tiny
    zero = np.zeros_like(dout)
    Edz, floor = bounds.backward_bound(backward, dout, zero, 0.0, z, Ez, r["out"], Ea, u, tiny, work)
    dz, Edz = dout * (z > 0), Edz + floor
    return dict(
        out=Ea,
        dx=bounds.matmul_bound(dz, w.T, u, tiny, EA=Edz).reshape(i["x"].shape),
        dw=bounds.matmul_bound(x2.T, dz, u, tiny, EB=Edz),
        db=bounds.matmul_bound(np.ones((1, len(dout))), dz, u, tiny, EB=Edz)[0],
    )


AFFINE_SUSPECTS = (
    Suspect(
        "affine-db-averaged",
        "db",
        "db is the mean of dout over the batch; the bias gradient is its sum (np.sum(dout, axis=0))",
        lambda i, k: k["db"] / len(i["x"]),
    ),
    Suspect(
        "affine-dw-averaged",
        "dw",
        "dw is x^T dout divided by N; the loss's own 1/N is already in dout",
        lambda i, k: k["dw"] / len(i["x"]),
    ),
)


# -- the activations: handmade's functions for the bound, the twin's rows for torch ------------------------------
def activation_cases(rng):
    def case(name, x):
        return Case(name, dict(x=x, dout=_rand(rng, *x.shape)))

    ties = _rand(rng, 6, 5)
    ties.ravel()[::3] = 0.0
    saturated = _rand(rng, 6, 5, scale=3)
    saturated.ravel()[: EXTREMES.size] = EXTREMES
    return [case("random", _rand(rng, 6, 5, scale=2)), case("ties at 0", ties), case("saturation", saturated)] + [
        case("batch of 1", _rand(rng, 1, 5))
    ]


def activation_kind(name, op, suspects=(), settings=None):
    def slope(i):
        return float(i.get("leaky_slope", 0.01))

    def run(i, dtype):
        f = lambda x: reference.mlp.ACTIVATIONS[name](x, slope(i))  # noqa: E731
        out, (dx,) = _grad(f, dict(x=i["x"]), dtype, ("x",), i["dout"])
        return dict(out=out, dx=dx)

    def known(i, r):
        ones = np.ones_like(i["x"])
        derivative = bounds.activation(name, slope(i))[1](ones, i["x"], r["out"])
        return {"out": r["out"], "dx": r["dx"], "the derivative at x": derivative, "the mask x > 0": (i["x"] > 0) * 1.0}

    def bound(i, r, u, tiny, work):
        forward, backward = bounds.activation(name, slope(i))
        Ea = bounds.elementwise(forward, [i["x"]], [0.0], u, work)[0] + bounds.ULPS * tiny
        zero = np.zeros_like(i["x"])
        Edx, floor = bounds.backward_bound(backward, i["dout"], zero, 0.0, i["x"], zero, r["out"], Ea, u, tiny, work)
        return dict(out=Ea, dx=Edx + floor)

    return Kind(name, op, activation_cases, ("x",), ("dx",), run, known, bound, suspects, settings=settings or {})


RELU_SUSPECTS = (
    Suspect(
        "relu-grad-at-zero",
        "dx",
        "dx passes dout where x is exactly 0 (the mask x < 0, not x <= 0): torch's relu' is 0 there, the "
        "subgradient at the kink, which only inputs tied at 0 show",
        lambda i, k: i["dout"] * (i["x"] >= 0),
    ),
    Suspect("relu-grad-unmasked", "dx", "dx is dout itself: the mask x > 0 is not applied", lambda i, k: i["dout"]),
)
SIGMOID_SUSPECTS = (
    Suspect(
        "sigmoid-prime-of-out",
        "dx",
        "dx = dout * s(out) (1 - s(out)): sigmoid's derivative taken at its output, not at x",
        lambda i, k: i["dout"] * _sig(k["out"]) * (1 - _sig(k["out"])),
    ),
    Suspect(
        "sigmoid-prime-of-x",
        "dx",
        "dx = dout * x (1 - x): the formula a (1 - a) applied to the input x instead of the output a",
        lambda i, k: i["dout"] * i["x"] * (1 - i["x"]),
    ),
)
TANH_SUSPECTS = (
    Suspect(
        "tanh-prime-of-x",
        "dx",
        "dx = dout * (1 - x^2): the formula 1 - a^2 applied to the input x instead of the output a",
        lambda i, k: i["dout"] * (1 - i["x"] ** 2),
    ),
)


def _sig(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


# -- the losses: (loss, dx) from scores x (N, C) and integer labels y (N,), the mean over the batch -------------------
def loss_cases(rng, ties):
    def case(name, x, y=None):
        return Case(name, dict(x=x, y=rng.integers(0, x.shape[1], len(x)) if y is None else y))

    tied = rng.integers(-2, 3, (8, 5)).astype(float)  # integer scores: margins and equal rows exactly
    tied[0] = tied[0, 0]
    large = _rand(rng, 8, 5, scale=3)
    large[:4] *= 400
    return [case("random", _rand(rng, 8, 5, scale=2)), case(ties, tied), case("large scores", large)] + [
        case("batch of 1", _rand(rng, 1, 5))
    ]


def loss_kind(name, loss, op, ties, suspects):
    def run(i, dtype):
        x = torch.tensor(i["x"], dtype=dtype, requires_grad=True)
        Y = torch.nn.functional.one_hot(torch.tensor(i["y"]), x.shape[1]).to(dtype)
        value = reference.mlp.LOSSES[loss](x, x if loss == "svm" else torch.softmax(x, 1), Y) / len(x)
        value.backward()
        return dict(loss=np.asarray(value.item()), dx=x.grad.numpy())

    def setup(i):
        x, y = i["x"], i["y"]
        Y = np.eye(x.shape[1])[y]
        return x, Y, (x if loss == "svm" else losses.softmax(x))

    def known(i, r):
        x, Y, a = setup(i)
        out = {"loss": r["loss"], "dx": r["dx"], "dx before its 1/N": r["dx"] * len(x)}
        if loss == "svm":
            margins, target = losses.svm_margins(x, Y)
            active = (margins > 0) & ~target
            out.update(
                **{"the correct class's scores": x[np.arange(len(x)), i["y"]]},
                margins=np.maximum(margins, 0),
                **{"margins before max(0, .)": x - x[np.arange(len(x)), i["y"]][:, None] + 1},
                **{"the positive margins": active.astype(float)},
                **{"their count per sample": active.sum(axis=1).astype(float)},
            )
        else:
            shifted = x - x.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            out.update(
                probs=a,
                log_probs=logp,
                **{"the shifted scores": shifted, "their exp": np.exp(shifted)},
                **{"the label's log-probability": logp[np.arange(len(x)), i["y"]]},
            )
        return out

    def bound(i, r, u, tiny, work):
        x, Y, a = setup(i)
        zero = np.zeros_like(x)
        Ea = zero if loss == "svm" else bounds.softmax_bound(x, a, zero, u)[0]
        spec = dict(loss=loss, reduction="mean", output="identity" if loss == "svm" else "softmax")
        EL, Edx, _ = bounds.output_bounds(spec, x, a, zero, Ea, Y, u, tiny, work)
        return dict(loss=np.asarray(EL), dx=Edx)

    return Kind(name, op, lambda rng: loss_cases(rng, ties), ("x", "y"), ("dx",), run, known, bound, suspects, True)


SVM_SUSPECTS = (
    Suspect(
        "svm-without-the-correct-class-column",
        "dx",
        "dx holds 1/N at each positive margin but nothing at the correct class's column, which takes minus their "
        "count: dx[range(N), y] -= count is missing",
        lambda i, k: k["the positive margins"] / len(i["x"]),
    ),
    Suspect(
        "svm-counts-the-correct-class",
        "loss",
        "the loss counts the correct class's own margin, 1 for every sample: set its margin to 0 before summing",
        lambda i, k: k["loss"] + 1,
    ),
)
SOFTMAX_SUSPECTS = (
    Suspect(
        "softmax-dx-without-the-label",
        "dx",
        "dx = probs / N: the 1 at each sample's label is not subtracted (dx[range(N), y] -= 1)",
        lambda i, k: k["probs"] / len(i["x"]),
    ),
)

KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "affine",
            "torch.nn.functional.linear",
            affine_cases,
            ("x", "w", "b"),
            ("dx", "dw", "db"),
            affine_torch,
            affine_known,
            affine_bounds,
            AFFINE_SUSPECTS,
        ),
        Kind(
            "affine_relu",
            "torch.nn.functional.relu of torch.nn.functional.linear",
            affine_cases,
            ("x", "w", "b"),
            ("dx", "dw", "db"),
            affine_relu_torch,
            affine_relu_known,
            affine_relu_bounds,
        ),
        activation_kind("relu", "torch.nn.functional.relu", RELU_SUSPECTS),
        activation_kind("leaky_relu", "torch.nn.functional.leaky_relu", settings=dict(leaky_slope=0.01)),
        activation_kind("sigmoid", "torch.sigmoid", SIGMOID_SUSPECTS),
        activation_kind("tanh", "torch.tanh", TANH_SUSPECTS),
        loss_kind(
            "softmax_loss", "cross_entropy", "torch.nn.functional.cross_entropy", "equal scores", SOFTMAX_SUSPECTS
        ),
        loss_kind("svm_loss", "svm", "C x torch.nn.functional.multi_margin_loss", "ties at the margin", SVM_SUSPECTS),
    )
}
STEMS = {"softmax": "softmax_loss", "svm": "svm_loss", "lrelu": "leaky_relu"}  # other stems a course uses
