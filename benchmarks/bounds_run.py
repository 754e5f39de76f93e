"""One lockstep run judged by lockstep/bounds.py: handmade and the twin from one shared state every step.

run(cfg, X, Y) trains handmade (or handmade with a planted bug) and re-syncs the torch twin to handmade's state
before every step, then computes the rounding bound of every tensor from the twin's tensors and yields, per
step, the excess of every tensor: max |handmade - twin| / (E + E). Used by bounds_sweep.py and the tests.
"""
import numpy as np
import torch
from threadpoolctl import threadpool_limits

import handmade
from lockstep.bounds import excess, step_bounds
from lockstep.config import batch_order
from lockstep.sides import (
    build_ours,
    build_theirs,
    load_theirs,
    plan_for,
    reference_tensors,
    snapshot,
    tensor_pairs,
    train_step,
)


def spec_of(cfg, theirs):
    """The bounds' spec for a Config and its twin (whose optimizer holds torch's resolved hyperparameters)."""
    output = handmade.check_config(cfg.sizes, cfg.activation, cfg.loss, cfg.output, cfg.init, cfg.dtype, cfg.l2)
    hyper = {k: v for k, v in theirs.opt.param_groups[0].items() if k != "params"}
    return dict(sizes=cfg.sizes, activation=cfg.activation, output=output, loss=cfg.loss, l2=cfg.l2,
                l2_divisor=None, reduction="mean", loss_scale=1.0, bias=True,
                leaky_slope=handmade.layers.LEAKY_SLOPE, optimizer=cfg.optimizer, hyper=hyper)


def live_reference(theirs):
    """reference_tensors(theirs) without the copies: views of the twin's arrays, valid until its next step."""
    ref = dict(theirs.net.acts)
    ref.update(theirs.net.deltas)
    ref.update({f"grad:{name}": g for name, g in theirs.net.grads().items() if g is not None})
    for name, p in theirs.named:
        ref[name] = p.detach().numpy()
        for key, v in theirs.opt.state.get(p, {}).items():
            ref[f"{name}.{key}"] = v.numpy() if key != "step" else float(v)
    return ref


def run(cfg, X, Y, bug=None, steps=None, keep=False):
    """Yield one dict per step: step, loss, excess {(phase, name): x}, finite, the (phase, name, ours, ref) pairs
    and Y (live arrays: valid until the next step), and with keep, copies of the step's data and its bounds."""
    torch.set_num_threads(1)
    with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"):
        rng = np.random.default_rng(cfg.seed)
        ours = build_ours(cfg, cfg.dtype, rng, bug)
        theirs = build_theirs(cfg, ours, cfg.dtype)
        plan, spec = plan_for(cfg), spec_of(cfg, theirs)
        u = float(np.finfo(np.dtype(cfg.dtype)).eps) / 2
        n_steps = steps or cfg.total_steps(len(X))
        snap = None
        for step, idx in enumerate(batch_order(len(X), cfg.batch_size or len(X), n_steps, rng)):
            Xb, Yb = X[idx], Y[idx]
            snap = snapshot(ours, snap)
            load_theirs(theirs, snap)
            loss_o, loss_t = train_step(ours, Xb, Yb), train_step(theirs, Xb, Yb)
            pairs = list(tensor_pairs(plan, ours, theirs, loss_o, loss_t))
            finite = all(np.isfinite(a).all() and np.isfinite(b).all() for _, _, a, b in pairs)
            ref = reference_tensors(theirs) if keep else live_reference(theirs)
            ref["loss"] = loss_t
            E = step_bounds(spec, snap, Xb, Yb, ref, u)
            ex = {(ph, name): excess(a, b, E[ph, name], E[ph, name]) for ph, name, a, b in pairs}
            out = dict(step=step, loss=loss_t, excess=ex, finite=finite, pairs=pairs, Y=Yb)  # live until the next step
            if keep:  # copies: the live arrays change at the next step
                pre = dict(params={k: v.copy() for k, v in snap["params"].items()},
                           state={k: {j: np.copy(w) for j, w in s.items()} for k, s in snap["state"].items()})
                out.update(pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in pairs], E=E, ref=ref,
                           pre=pre, X=Xb, Y=Yb, spec=spec, u=u)
            yield out
            if not finite:
                return
