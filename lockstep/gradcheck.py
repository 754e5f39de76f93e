"""A finite-difference gradient check: a third opinion, independent of torch, on the first batch.

For a sample of elements of each parameter, the central difference (L(p + h) - L(p - h)) / 2h is compared with
the analytic gradient, in float64. It checks handmade (with any planted bug) or a candidate; for a candidate
the elements are perturbed in the candidate's own layout and its own returned gradients are checked.
"""
import numpy as np

from .candidate import to_layout

H = 1e-6  # central differences in float64: truncation ~h^2, rounding ~eps/h, both near 1e-10 relative
PASS = 1e-5  # per-element relative error that counts as agreement


def _sample(rng, shape, k):
    n = int(np.prod(shape))
    flat = rng.choice(n, size=min(k, n), replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def _rel(a, n):
    return abs(a - n) / max(abs(a), abs(n), 1e-8)


def check(loss_at, params, grads, names, rng, per_tensor=8):
    """loss_at(params) -> float; params and grads are lists of float64 arrays in one layout; names label them.
    Returns {passed, max_rel_err, checked, worst: {tensor, index, analytic, numeric, rel_err}}."""
    worst, checked = None, 0
    for name, p, g in zip(names, params, grads):
        for idx in _sample(rng, p.shape, per_tensor):
            keep = p[idx]
            p[idx] = keep + H
            up = loss_at(params)
            p[idx] = keep - H
            down = loss_at(params)
            p[idx] = keep
            numeric, analytic = (up - down) / (2 * H), float(g[idx])
            rel = _rel(analytic, numeric)
            checked += 1
            if worst is None or rel > worst["rel_err"]:
                worst = dict(tensor=name, index=[int(i) for i in idx], analytic=analytic, numeric=numeric, rel_err=rel)
    return dict(passed=worst["rel_err"] <= PASS, max_rel_err=worst["rel_err"], checked=checked, worst=worst)


def for_side(side, X, Y, seed, layout=None, func=None):
    """Gradcheck the handmade side (side.net a float64 handmade.MLP, maybe with a bug) or, with func and layout,
    a candidate function, at the side's current parameters on the batch X, Y."""
    rng = np.random.default_rng(seed)
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    state = {name: p.data.astype(np.float64) for name, p in side.net.named_parameters()}
    n_layers = len(side.net.layers)
    if func is not None:
        params = to_layout(state, n_layers, layout)
        _, grads = func([p.copy() for p in params], X.copy(), Y.copy())
        grads = [np.asarray(g, dtype=np.float64) for g in grads]
        names = ([f"params[{k}]" for k in range(len(params))])
        return check(lambda ps: float(func([p.copy() for p in ps], X.copy(), Y.copy())[0]), params, grads, names, rng)
    net = side.net
    names = [n for n, _ in net.named_parameters()]
    net.loss(X, Y)
    for _, p in net.named_parameters():
        p.grad = None
    grads = [g.copy() for g in net.backward().values()]
    params = [p.data for _, p in net.named_parameters()]
    return check(lambda ps: net.loss(X, Y), params, grads, names, rng)
