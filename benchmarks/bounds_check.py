"""Sensitivity and cost of lockstep/judge/bounds.py, in float64.

    python benchmarks/bounds_check.py [floors] [bugs] [cost] [training]     # the first three by default

1. Detection floor: max_i E_i / max |ref| per tensor (one side's bound; a pair's is twice that), for the default
   network (784-128-64-10 relu, cross-entropy, SGD momentum 0.9) and a tanh/mse one, at steps 0 and 60.
2. One gradient tensor times (1 + 1e-6): its excess.
3. The planted bugs (lockstep/findings/bugs.py), each under its own config with the twin re-synced every step:
   the first step and tensor (in computation order) whose excess passes 1, and the excess at the tensor the catalogue
   expects.
4. Cost: step_bounds against one handmade training step, default network, batch 64, one thread.
5. training: each optimizer, momentum form, Adam counter, schedule and clipping on the default network, float64,
   the twin re-synced every step, 40 steps: the largest excess of handmade against the twin (correct code: <= 1),
   the detection floor of the optimizer state and of the update, and the smallest excess of one of those tensors
   times (1 + 1e-6).
"""

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lockstep import data  # noqa: E402
from lockstep.config import Config  # noqa: E402
from lockstep.findings.bugs import CATALOGUE  # noqa: E402
from lockstep.judge.bounds import excess, step_bounds  # noqa: E402
from lockstep.sides import Handmade  # noqa: E402

from bounds_run import run  # noqa: E402

_DS = {}


def arrays(cfg):
    key = (cfg.scale, cfg.dtype, cfg.train_cap)
    if key not in _DS:
        X, Y = data.prepare(data.embedded(), None, cfg.scale or "unit", cfg.dtype)[:2]
        _DS[key] = (X[: cfg.train_cap], Y[: cfg.train_cap]) if cfg.train_cap else (X, Y)
    return _DS[key]


def floors(cfg, steps=(0, 60)):
    print(f"\n{cfg.activation} / {cfg.loss}, {'-'.join(map(str, cfg.sizes))}, float64: max E / max|ref| per tensor")
    X, Y = arrays(cfg)
    table = {}
    for r in run(cfg, X, Y, steps=max(steps) + 1, keep=True):
        if r["step"] in steps:
            for ph, name, _, ref in r["pairs"]:
                E = r["E"][ph, name]
                table.setdefault((ph, name), []).append(float(np.max(E)) / max(float(np.max(np.abs(ref))), 1e-300))
            if r["step"] == steps[0]:
                keep = r
    print(f"  {'tensor':45s}" + "".join(f"   step {s:<4d}" for s in steps))
    for (ph, name), v in table.items():
        print(f"  {ph + ' ' + name:45s}" + "".join(f"   {x:9.2e}" for x in v))
    # one gradient tensor times (1 + 1e-6)
    for ph, name, _, ref in keep["pairs"]:
        if ph == "backward" and name.endswith("weight"):
            E = keep["E"][ph, name]
            print(
                f"  {name} gradient x (1 + 1e-6): excess {excess(ref * (1 + 1e-6), ref, E, E):.3g}"
                f"   (x (1 + 1e-9): {excess(ref * (1 + 1e-9), ref, E, E):.3g})"
            )
    return keep


def bugs():
    print("\nplanted bugs, twin re-synced every step: first excess > 1 (computation order), and at the expected tensor")
    for bug in CATALOGUE:
        cfg = dataclasses.replace(Config(), **bug.setup, resync=True)
        X, Y = arrays(cfg)
        found = None
        for r in run(cfg, X, Y, bug=bug, steps=cfg.total_steps(len(X))):
            over = [(k, x) for k, x in r["excess"].items() if x > 1]
            if over:
                found = (r["step"], over[0], r["excess"].get(bug.expect))
                break
        if found is None:
            print(f"  {bug.name:30s} NOT FOUND")
            continue
        step, (key, x), at = found
        same = "same" if key == bug.expect else f"expected {bug.expect[0]} {bug.expect[1]}"
        print(
            f"  {bug.name:30s} step {step:3d}  {key[0]} {key[1]:38s} excess {x:9.3g}   at expected: {at:9.3g}  ({same})"
        )


def cost(keep, cfg):
    spec, pre, X, Y, ref, u = (keep[k] for k in ("spec", "pre", "X", "Y", "ref", "u"))
    ours = Handmade(cfg, "float64", 0, len(keep["X"]))
    with threadpool_limits(1, user_api="blas"):

        def best(fn, n=50):
            fn()
            times = []
            for _ in range(n):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return min(times) * 1e3, float(np.median(times)) * 1e3

        ours.restore(dict(pre, lr=cfg.lr, schedule=None))

        def handmade_step():
            ours.step(X, Y)

        b, h = best(lambda: step_bounds(spec, pre, X, Y, ref, u)), best(handmade_step)
        e = best(lambda: [excess(o, r, keep["E"][p, n], keep["E"][p, n]) for p, n, o, r in keep["pairs"]])
        raised = ours.at("longdouble")  # the extended-precision rung of the ladder
        raised.restore(dict(pre, lr=cfg.lr, schedule=None))
        Xl, Yl = X.astype(np.longdouble), Y.astype(np.longdouble)
        r = best(lambda: raised.step(Xl, Yl), n=5)
    print(
        f"\ncost, default network, batch 64, float64, one thread (min / median of 50, ms):\n"
        f"  step_bounds {b[0]:.2f} / {b[1]:.2f}   handmade step (forward + backward + SGD) "
        f"{h[0]:.2f} / {h[1]:.2f}   ratio {b[0] / h[0]:.1f}\n  excess of all {len(keep['pairs'])} tensors "
        f"{e[0]:.2f} / {e[1]:.2f}\n  the same handmade step in np.longdouble (of 5) {r[0]:.1f} / {r[1]:.1f}"
    )


TRAINING = [  # (name, Config fields) on the default network
    ("sgd momentum 0.9 (torch's form)", {}),
    ("sgd momentum-form ema", dict(momentum_form="ema")),
    ("sgd momentum-form velocity, inv-iter:0.05", dict(momentum_form="velocity", lr_schedule="inv-iter:0.05")),
    ("rmsprop", dict(optimizer="rmsprop", lr=1e-3)),
    ("rmsprop alpha 0.9 eps 1e-7 (NNFS)", dict(optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7)),
    ("rmsprop centered, momentum 0.9", dict(optimizer="rmsprop", lr=1e-3, centered=True, momentum=0.9)),
    ("adagrad", dict(optimizer="adagrad", lr=1e-2)),
    ("adagrad eps 1e-7, lr-decay 1e-2", dict(optimizer="adagrad", lr=1e-2, eps=1e-7, lr_decay=1e-2)),
    ("adam adam-t0 1 (CS231n)", dict(optimizer="adam", lr=1e-3, adam_t0=1)),
    ("sgd stair-iter:0.5:10", dict(lr_schedule="stair-iter:0.5:10")),
    ("sgd clip-value 1e-3", dict(clip_value=1e-3)),
    ("sgd clip-norm 0.5", dict(clip_norm=0.5)),
    ("adam clip-norm 0.5", dict(optimizer="adam", lr=1e-3, clip_norm=0.5)),
    ("sgd prob-clip 1e-7", dict(prob_clip=1e-7)),
]


def training(steps=40):
    print(
        "\ntraining settings, default network, float64, twin re-synced every step, 40 steps: worst excess of handmade"
        "\nagainst the twin; detection floor (max E / max|ref|) of the optimizer state and the update; the smallest"
        "\nexcess of one such tensor x (1 + 1e-6), over every step"
    )
    print(f"  {'setting':44s} {'worst':>7s} {'floor opt':>10s} {'floor upd':>10s} {'1e-6 x':>9s}")
    for name, fields in TRAINING:
        cfg = dataclasses.replace(Config(), **fields)
        X, Y = arrays(cfg)
        worst, floor, flagged = 0.0, {"optimizer": 0.0, "update": 0.0}, np.inf
        for r in run(cfg, X, Y, steps=steps, keep=True):
            worst = max(worst, max(r["excess"].values()))
            for ph, tensor, _, ref in r["pairs"]:
                if ph in floor:
                    E = r["E"][ph, tensor]
                    floor[ph] = max(floor[ph], float(np.max(E)) / max(float(np.max(np.abs(ref))), 1e-300))
                    flagged = min(flagged, excess(ref * (1 + 1e-6), ref, E, E))
        print(f"  {name:44s} {worst:7.3f} {floor['optimizer']:10.2e} {floor['update']:10.2e} {flagged:9.3g}")


def main(parts=("floors", "bugs", "cost")):
    default = Config()
    keep = floors(default) if "floors" in parts or "cost" in parts else None
    if "floors" in parts:
        floors(dataclasses.replace(default, activation="tanh", loss="mse"))
    if "bugs" in parts:
        bugs()
    if "cost" in parts:
        cost(keep, default)
    if "training" in parts:
        training()


if __name__ == "__main__":
    main(sys.argv[1:] or ("floors", "bugs", "cost"))
