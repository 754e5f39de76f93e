"""One lockstep run judged by lockstep/judge/bounds.py: handmade and the twin from one shared state every step.

run(cfg, X, Y) trains handmade (or handmade with a planted bug) and re-syncs the torch twin to handmade's state
before every step, then computes the rounding bound of every tensor from the twin's tensors and yields, per
step, the excess of every tensor: max |handmade - twin| / (E + E). Used by bounds_sweep.py and the tests.
"""

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from lockstep.config import batch_order
from lockstep.judge.bounds import excess, step_bounds
from lockstep.judge.judge import spec as spec_of
from lockstep.judge.judge import unit
from lockstep.sides import Handmade, Twin, plan


def run(cfg, X, Y, bug=None, steps=None, keep=False):
    """Yield one dict per step: step, loss, excess {(phase, name): x}, finite, the (phase, name, ours, ref) pairs
    and Y (live arrays: valid until the next step), and with keep, copies of the step's data and its bounds."""
    torch.set_num_threads(1)
    with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"):
        rng = np.random.default_rng(cfg.seed)
        side = Handmade(cfg, cfg.dtype, rng, len(X), bug)
        twin = Twin(cfg, cfg.dtype, side.params(), len(X))
        names, spec = plan(cfg), spec_of(cfg, twin, len(X))
        u = unit(cfg.dtype)
        n_steps = steps or cfg.total_steps(len(X))
        snap = None
        for step, (idx, epoch_end) in enumerate(batch_order(len(X), cfg.batch_size or len(X), n_steps, rng)):
            Xb, Yb = X[idx], Y[idx]
            snap = side.save(snap)
            twin.load(side.params(), side.optimizer_state())
            side.step(Xb, Yb)
            loss_t = twin.step(Xb, Yb)
            ours, theirs = side.tensors(), twin.tensors()
            pairs = [(ph, name, ours[ph, name], theirs[ph, name]) for ph, name in names]
            finite = all(np.isfinite(a).all() and np.isfinite(b).all() for _, _, a, b in pairs)
            ref = twin.reference_tensors()
            E = step_bounds(spec, snap, Xb, Yb, ref, u)
            ex = {(ph, name): excess(a, b, E[ph, name], E[ph, name]) for ph, name, a, b in pairs}
            out = dict(step=step, loss=loss_t, excess=ex, finite=finite, pairs=pairs, Y=Yb, config=twin.net.config)
            if keep:  # copies: the live arrays change at the next step
                pre = dict(
                    params={k: v.copy() for k, v in snap["params"].items()},
                    state={k: {j: np.copy(w) for j, w in s.items()} for k, s in snap["state"].items()},
                )
                out.update(
                    pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in pairs],
                    E=E,
                    ref=ref,
                    pre=pre,
                    X=Xb,
                    Y=Yb,
                    spec=spec,
                    u=u,
                )
            yield out
            if not finite:
                return
            side.end_step(epoch_end)
            twin.end_step(epoch_end)
