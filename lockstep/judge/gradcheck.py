"""A finite-difference gradient check: a third opinion, independent of torch, on the first batch.

For a sample of elements of each parameter, the central difference (L(p + h) - L(p - h)) / 2h is compared with
the analytic gradient, in float64, for the side under test: handmade (with any planted bug) or a function
candidate, whose loss is called through the same checked wrapper as in the run. (A class candidate updates its
own parameters inside step(), so it has no loss to differentiate: the check says so and is skipped.)

An element agrees when |analytic - numeric| <= RTOL * max(|analytic|, |numeric|) + atol. The central difference
carries its own rounding, about eps * |L| / h, so atol = 10 eps max(|L|, 1) / h: a gradient of 1e-7 on a loss of 7
is measured to about 1e-9 and no better. A relu whose input sits within h of 0 for some sample bends the loss
inside the +-h step; so an element that disagrees is measured again with h / 10 and h / 100. A kink falls out
of the smaller step; a wrong gradient stays wrong at every h.
"""

import copy

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import batch_order

H = {"float64": 1e-6, "float32": 1e-3}  # steps for losses computed in float64, or in float32 inside a candidate
RTOL = 1e-5


def check(loss_at, params, grads, names, rng, per_tensor=8, precision="float64"):
    """loss_at() -> float at the current values of the arrays in params (perturbed in place); grads are their
    analytic gradients; names label them; precision is that of the loss's own arithmetic. Returns {passed,
    max_excess, checked, worst}."""
    first = H[precision]
    scale = 10 * float(np.finfo(precision).eps) * max(abs(loss_at()), 1.0)  # atol = scale / h
    worst, checked = None, 0
    for name, p, g in zip(names, params, grads):
        n = p.size
        for flat in rng.choice(n, size=min(per_tensor, n), replace=False):
            idx = np.unravel_index(flat, p.shape)
            analytic = float(g[idx])
            for h in (first, first / 10, first / 100):
                numeric = _central(loss_at, p, idx, h)
                diff = abs(analytic - numeric)
                excess = diff / (RTOL * max(abs(analytic), abs(numeric)) + scale / h)
                if excess <= 1:
                    break
            checked += 1
            if worst is None or excess > worst["excess"]:
                worst = dict(
                    tensor=name,
                    index=[int(i) for i in idx],
                    analytic=analytic,
                    numeric=numeric,
                    abs_err=diff,
                    excess=excess,
                    h=h,
                )
    return dict(passed=worst["excess"] <= 1, max_excess=worst["excess"], checked=checked, worst=worst)


def _central(loss_at, p, idx, h):
    """(L(p + h e_idx) - L(p - h e_idx)) / 2h, leaving p as it was."""
    keep = p[idx]
    p[idx] = keep + h
    up = loss_at()
    p[idx] = keep - h
    down = loss_at()
    p[idx] = keep
    return (up - down) / (2 * h)


def for_run(run):
    """Gradcheck the side under test of a Lockstep run at its current parameters, on the run's first batch."""
    if not run.side.differentiable:
        return dict(
            skipped="a class candidate updates its own parameters inside step(), so it has no loss "
            "function to differentiate; give a function candidate for --gradcheck"
        )
    idx, _ = next(batch_order(len(run.X), run.batch_size, 1, copy.deepcopy(run.rng)))  # the rng is not touched
    X, Y = run.X[idx].astype(np.float64), run.Y[idx].astype(np.float64)
    side = run.side.at("float64")
    side.restore(run.side.save())
    masks = side.draw_masks(len(X)) if run.cfg.dropout else None  # one set of masks for every evaluation
    fixed = {} if masks is None else dict(masks=masks)
    with np.errstate(all="ignore"), threadpool_limits(1, user_api="blas"):  # one BLAS thread, as in the run itself
        loss, grads = side.loss_and_grads(X, Y, **fixed)
        grads = {name: np.array(g, dtype=np.float64) for name, g in grads.items()}
        params = side.params()  # live: perturbed in place
        names = list(params)
        if not np.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):
            return dict(
                passed=False,
                max_excess=np.inf,
                checked=0,
                non_finite=True,
                worst=dict(tensor="loss", index=[], analytic=loss, numeric=np.nan, abs_err=np.nan, excess=np.inf),
            )
        precision = np.dtype(side.computes_in).name  # a candidate may compute in float32 inside
        return check(
            lambda: side.loss_value(X, Y, **fixed),
            list(params.values()),
            [grads[n] for n in names],
            names,
            np.random.default_rng(run.cfg.seed),
            precision=precision,
        )
