"""The false-alarm sweep of lockstep/judge/bounds.py: random configurations of the built-in network, judged by the
bound.

    python benchmarks/bounds_sweep.py                          # 250 + 25 long runs, 2 workers: under an hour
    python benchmarks/bounds_sweep.py --configs 20 --budget 4  # a quick look

Each run trains handmade and the torch twin with the twin re-synced to handmade's state before every step
(benchmarks/bounds_run.py), computes step_bounds() from the twin's tensors at EVERY step and the excess
max |handmade - twin| / (E + E) of every tensor (handmade's bound is the twin's: same maths). A run stops at
the first non-finite value (training blew up) or after its steps. Correct code must give excess <= 1 everywhere.

The draws (seeded; run i is drawn from seed + i, so a sweep can be resumed or extended with --start):
every activation, loss (mse with identity and with sigmoid output), optimizer (SGD with and without momentum,
dampening, nesterov, weight decay; Adam, AdamW), init and scale; the embedded MNIST digits or synthetic data;
1-5 weight layers of 1-512 units; batch 1 to full; lr log-uniform from tiny to past blow-up; l2 sometimes;
float32 and float64; 300-2000 steps, cut to 300 (and the batch halved, not below 16) when a run would exceed
its time budget; then --long runs of 2000 steps on networks of at most 64 units a layer and batches of at most
128. The first two runs are the issue's cases. Results go to a JSON-lines file, one line per run; the table is
printed from that file (--report), so a killed sweep keeps what it did.
"""

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lockstep import data  # noqa: E402
from lockstep.config import Config  # noqa: E402
from lockstep.judge.tolerance import TOLERANCES, cancellation, compare_all  # noqa: E402

from bounds_run import run  # noqa: E402

LONG = 10_000  # runs from this index on are long: 2000 steps of a network of at most 64 units a layer
ISSUE_CASES = [  # issue 7's two false alarms on correct code
    dict(name="issue: tanh mse lr 10 symmetric", activation="tanh", loss="mse", lr=10.0, scale="symmetric", steps=300),
    dict(
        name="issue: 784-16-16-16-10 tanh, [-1,1], dz0 ~ 1e-17",
        sizes=[784, 16, 16, 16, 10],
        activation="tanh",
        loss="bce",
        lr=0.5,
        scale="symmetric",
        steps=300,
    ),
]


def synthetic(rng, n, d, k):
    """n 'images' of d pixels in [0, 255] (class templates plus noise, some pixels always 0) and k classes."""
    y = rng.integers(0, k, n)
    templates = rng.uniform(0, 255, (k, d)) * (rng.random(d) < 0.8)  # (k, d), a fifth of the pixels blank
    raw = np.clip(templates[y] + rng.normal(0, 60, (n, d)), 0, 255).round()
    return data.Dataset(
        "synthetic",
        raw[: n - n // 5].astype(np.uint8),
        y[: n - n // 5],
        raw[n - n // 5 :].astype(np.uint8),
        y[n - n // 5 :],
    )


def draw(i, seed):
    """The settings of run i: a dict of Config fields plus data fields."""
    if i < len(ISSUE_CASES):
        return dict(ISSUE_CASES[i], data="embedded", n_train=None, seed=0)
    rng = np.random.default_rng([seed, i])
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    loguni = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # noqa: E731
    kind = "embedded" if rng.random() < 0.65 else "synthetic"
    n_in, k = (784, 10) if kind == "embedded" else (int(loguni(2, 200)), int(rng.integers(2, 11)))
    n_train = int(pick([4000, 1000, 256, 64])) if kind == "embedded" else int(loguni(40, 2000))
    depth = int(rng.integers(1, 6))
    sizes = [n_in] + [int(round(loguni(1, 512))) for _ in range(depth - 1)] + [k]
    loss, output = pick([("cross_entropy", None), ("bce", None), ("mse", "identity"), ("mse", "sigmoid")])
    cfg = dict(
        sizes=sizes,
        activation=pick(["identity", "sigmoid", "tanh", "relu", "leaky_relu"]),
        loss=loss,
        output=output,
        init=pick(["torch", "xavier", "kaiming", "uniform"]),
        scale=pick(["unit", "symmetric", "standard"]),
        dtype=pick(["float32", "float64"]),
        optimizer=pick(["sgd", "sgd", "adam", "adamw"]),
        seed=int(rng.integers(1000)),
        data=kind,
        n_train=n_train,
        n_in=n_in,
        k=k,
        l2=0.0 if rng.random() < 0.6 else loguni(1e-4, 5.0),
    )
    if cfg["optimizer"] == "sgd":
        momentum = pick([0.0, 0.5, 0.9, 0.9, 0.99])
        nesterov = bool(momentum and rng.random() < 0.25)
        cfg.update(
            lr=loguni(1e-4, 20.0),
            momentum=momentum,
            nesterov=nesterov,
            dampening=0.0 if nesterov or not momentum or rng.random() < 0.7 else pick([0.1, 0.5]),
            weight_decay=0.0 if rng.random() < 0.7 else loguni(1e-5, 1e-1),
        )
    else:
        cfg.update(
            lr=loguni(1e-5, 0.3),
            momentum=0.0,
            weight_decay=None if rng.random() < 0.5 else pick([0.0, loguni(1e-4, 0.3)]),
        )
    cfg["batch_size"] = None if rng.random() < 0.15 else max(1, min(n_train, int(loguni(1, n_train + 1))))
    cfg["steps"] = int(loguni(300, 2000))
    if i >= LONG:  # cheap enough for 2000 steps
        cfg.update(
            sizes=[n_in] + [min(n, 64) for n in sizes[1:-1]] + [k],
            steps=2000,
            long=True,
            batch_size=min(cfg["batch_size"] or n_train, 128),
        )
    return cfg


def fit_budget(cfg, budget):
    """Cut steps (not below 300), then the batch, so that the run's predicted time fits the budget (seconds).
    Long runs keep their 2000 steps."""
    if cfg.get("long"):
        return cfg
    sizes = cfg.get("sizes", [784, 128, 64, 10])
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    n = cfg.get("n_train") or 4000
    # seconds a step, measured with two workers side by side on two cores
    per_step = lambda m: 1.6 * (0.010 + 0.002 * len(sizes) + 5e-9 * m * weights + 4e-7 * weights)  # noqa: E731
    m = cfg.get("batch_size", 64) or n
    cfg["steps"] = max(300, min(cfg["steps"], int(budget / per_step(m))))
    while per_step(m) * cfg["steps"] > budget and m > 16:
        m //= 2
        cfg["batch_size"] = m
    return cfg


_DATA = {}


def arrays(cfg):
    key = (
        cfg["data"],
        cfg.get("n_train"),
        cfg.get("n_in"),
        cfg.get("k"),
        cfg["scale"],
        cfg.get("dtype", "float64"),
        cfg.get("seed", 0),
    )
    if key not in _DATA:
        if cfg["data"] == "embedded":
            ds = data.embedded()
        else:
            ds = synthetic(
                np.random.default_rng(cfg["seed"] + 7), int(cfg["n_train"] * 1.25) + 1, cfg["n_in"], cfg["k"]
            )
        _DATA.clear()
        _DATA[key] = data.prepare(ds, cfg.get("n_train"), cfg["scale"], cfg.get("dtype", "float64"))[:2]
    return _DATA[key]


def one(job):
    """Run one configuration; return its JSON record."""
    i, seed, budget = job
    cfg = fit_budget(draw(i, seed), budget)
    fields = {f.name for f in dataclasses.fields(Config)}
    config = dataclasses.replace(Config(), **{k: v for k, v in cfg.items() if k in fields})
    X, Y = arrays(cfg)
    if config.batch_size is not None:
        config.batch_size = min(config.batch_size, len(X))
    L = len(config.sizes) - 1
    t0 = time.time()
    worst = dict(excess=0.0)
    phase_max, old_rule, steps, blew_up = {}, 0, 0, None
    for r in run(config, X, Y, steps=config.steps):
        steps += 1
        if not r["finite"]:
            blew_up = r["step"]
            break
        for (phase, name), x in r["excess"].items():
            phase_max[phase] = max(phase_max.get(phase, 0.0), x)
            if x > worst["excess"]:
                worst = dict(excess=x, step=r["step"], phase=phase, tensor=name)
        pairs = r["pairs"]
        out = {n: b for p, n, a, b in pairs if p == "forward"}
        dz = {n: b for p, n, a, b in pairs if p == "backward"}[f"layers.{L - 1}.dz"]
        c = cancellation(out[f"layers.{L - 1}.a"], r["Y"], dz, r["config"], out[f"layers.{L - 1}.z"])
        old_rule += not all(ch.ok for ch in compare_all(pairs, TOLERANCES[config.dtype], None, c))
    return dict(
        run=i,
        config={k: v for k, v in cfg.items() if k not in ("n_in", "k") or cfg["data"] != "embedded"},
        steps=steps,
        blew_up=blew_up,
        max_excess=worst["excess"],
        worst=worst,
        phase_max=phase_max,
        old_rule_steps=old_rule,
        seconds=round(time.time() - t0, 1),
    )


def report(path):
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if not rows:
        print("no runs yet")
        return
    ex = np.array([r["max_excess"] for r in rows])
    print(
        f"{len(rows)} runs, {sum(r['steps'] for r in rows):,} steps (every tensor of every step judged), "
        f"{sum(r['blew_up'] is not None for r in rows)} stopped at a non-finite value, "
        f"{sum(r['seconds'] for r in rows) / 60:.0f} worker-minutes"
    )
    print(
        f"runs the fixed tolerance would flag from the same state: {sum(r['old_rule_steps'] > 0 for r in rows)} "
        f"({sum(r['old_rule_steps'] for r in rows)} steps)"
    )
    print("\nlargest excess per run (must be <= 1):")
    print("               runs   median      90%      99%      max   runs > 1")
    for label, sel in (
        [("all", [True] * len(rows))]
        + [(dt, [r["config"].get("dtype", "float64") == dt for r in rows]) for dt in ("float32", "float64")]
        + [("2000-step", [r["run"] >= LONG for r in rows])]
    ):
        v = ex[np.array(sel)]
        if len(v):
            print(
                f"  {label:10s} {len(v):6d} {np.median(v):8.3g} {np.quantile(v, 0.9):8.3g} {np.quantile(v, 0.99):8.3g} "
                f"{v.max():8.3g} {int((v > 1).sum()):8d}"
            )
    print("\nper phase, largest excess over all runs and steps:")
    for phase in ("forward", "loss", "backward", "optimizer", "update"):
        v = [r["phase_max"].get(phase, 0.0) for r in rows]
        print(f"  {phase:10s} max {max(v):.3g}   median of runs {np.median(v):.3g}")
    for dt in ("float32", "float64"):
        sel = [r for r in rows if r["config"].get("dtype", "float64") == dt]
        if sel:
            w = max(sel, key=lambda r: r["max_excess"])
            print(
                f"\nworst {dt} run #{w['run']}: excess {w['max_excess']:.4g} at step {w['worst'].get('step')}, "
                f"{w['worst'].get('phase')} {w['worst'].get('tensor')}\n  {json.dumps(w['config'])}"
            )
    top = sorted(rows, key=lambda r: -r["max_excess"])[:5]
    print("\nfive largest (excess, phase tensor, step):")
    for r in top:
        print(
            f"  #{r['run']:4d} {r['max_excess']:.4g}  {r['worst'].get('phase')} {r['worst'].get('tensor')} "
            f"step {r['worst'].get('step')}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", type=int, default=250, help="runs to draw (default: 250)")
    ap.add_argument("--long", type=int, default=25, help="long runs (2000 steps, <= 64 units) after them (default: 25)")
    ap.add_argument("--start", type=int, default=0, help="first run index, to extend a sweep (default: 0)")
    ap.add_argument("--seed", type=int, default=0, help="sweep seed (default: 0)")
    ap.add_argument("--budget", type=float, default=8.0, help="seconds per run, roughly (default: 8)")
    ap.add_argument("--workers", type=int, default=2, help="processes, one thread each (default: 2)")
    ap.add_argument(
        "--out",
        default=str(ROOT / "benchmarks" / "bounds_sweep.jsonl"),
        help="JSON-lines results; runs already there are skipped (default: benchmarks/bounds_sweep.jsonl)",
    )
    ap.add_argument("--report", action="store_true", help="only print the table of --out")
    args = ap.parse_args()
    if not args.report:
        out = Path(args.out)
        lines = out.read_text().splitlines() if out.exists() else []
        done = {json.loads(line)["run"] for line in lines if line.strip()}
        runs = [*range(args.start, args.start + args.configs), *range(LONG, LONG + args.long)]
        jobs = [(i, args.seed, args.budget) for i in runs if i not in done]
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: no torch state across fork
        with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool, out.open("a") as f:
            for rec in pool.map(one, jobs):
                f.write(json.dumps(rec) + "\n")
                f.flush()
                flag = "  <-- EXCESS > 1" if rec["max_excess"] > 1 else ""
                print(
                    f"run {rec['run']:4d} {rec['steps']:5d} steps {rec['seconds']:6.1f}s max excess "
                    f"{rec['max_excess']:.3g} ({rec['worst'].get('phase')} {rec['worst'].get('tensor')}){flag}",
                    flush=True,
                )
    report(args.out)


if __name__ == "__main__":
    main()
