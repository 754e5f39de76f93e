"""The speed benchmark: handmade against the torch twin and against the FLOP limit, on 60,000-image epochs.

    python benchmarks/bench.py            # uses /usr/share/datasets/fashion-mnist if present, else random pixels

Every figure is a ratio inside this one run, because the machine is shared and noisy; each time is the best of
--repeat runs. It reports, for 784-128-64-10 relu + cross-entropy + SGD (momentum 0.9):
  1. seconds per epoch for handmade and torch, batch 64 and 256, float32 and float64, each backend alone with
     its libraries' normal threads, and the ratio handmade / torch;
  2. the FLOP limit: the epoch's matmul FLOPs divided by numpy's matmul peak (2048 x 2048, measured in the
     same rounds), and handmade's time over that limit;
  3. the lockstep cross-check (both backends plus the full comparison every step) against the two backends
     run alone, at the lockstep's own setting of one thread each;
  4. the wall time and peak memory of the default `python compare.py`, in a fresh process, cache warm;
  5. with --against DIR (another checkout of the project, e.g. `git archive COMMIT | tar -x -C DIR`): the time of
     lockstep.check() for a few runs, this checkout's against that one's, alternating in fresh processes;
  6. the three speed goals, float32, batch 64, one epoch, each round running all five contenders back to back:
     (a) inside the lockstep epoch, handmade's thread CPU time over the twin's (the lockstep runs the two backends
         side by side on the two cores, one thread each; Outcome.timing sums each backend's thread_time() over its
         steps, so the time a thread waits for the GIL or a core is left out), goal <= 0.5;
     (b) handmade alone over plain torch eager alone (nn.Sequential of Linear and ReLU, nn.CrossEntropyLoss,
         optim.SGD with momentum 0.9, from the same initial weights on the same batches), both with 2 threads,
         wall time, goal <= 0.5;
     (c) the lockstep epoch's wall time over handmade alone plus the twin alone, at the lockstep's own setting of
         one thread each, goal <= 1.3.
     Each ratio is the median of the per-round ratios; a table with the goals and pass/fail ends the run.

    python benchmarks/bench.py --sections 5 --against /tmp/old   # this checkout against another one, only
    python benchmarks/bench.py --sections 6 --quick               # the goals on 20,000 images, 3 rounds
"""

import argparse
import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lockstep import data  # noqa: E402
from lockstep.config import Config, batch_order, optimizer_settings  # noqa: E402
from lockstep.engine import Lockstep  # noqa: E402
from lockstep.sides import Handmade, Twin  # noqa: E402

SIZES = [784, 128, 64, 10]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def epoch_flops(sizes, n):
    """Matmul FLOPs of one epoch: forward x W^T, backward dW = dz^T x and dx = dz W (not for the first layer),
    2 FLOPs per multiply-add. Elementwise work is left out: the limit is what the matmuls alone would cost."""
    pairs = list(zip(sizes, sizes[1:]))
    per_sample = sum(2 * i * o for i, o in pairs) * 2 + sum(2 * i * o for i, o in pairs[1:])
    return per_sample * n


def peak_runner(dtype, n=2048, count=4):
    """A function returning the seconds for `count` n x n matmuls: numpy's BLAS at its best, right now."""
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    return lambda: _time(lambda: [a @ a for _ in range(count)]), count * 2 * n**3


def _time(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def epoch_runner(side, X, Y, batch_size, seed=0):
    """A function that trains `side` (handmade or the twin) for one epoch and returns its seconds."""

    def epoch():
        t = time.perf_counter()
        for idx, _ in batch_order(len(X), batch_size, -(-len(X) // batch_size), np.random.default_rng(seed)):
            side.step(X[idx], Y[idx])
        return time.perf_counter() - t

    return epoch


def rounds(runners, repeat):
    """Run every function once per round, `repeat` rounds, after a warm-up round: [[seconds per runner]].
    A round runs its contenders back to back, so a slow spell of the shared machine mostly hits a whole round;
    ratios are therefore taken within a round, and the median over rounds is reported. A pause before each run
    lets the previous library's idle threads stop spinning (OpenBLAS spins for up to ~0.1 s)."""

    def run(f):
        time.sleep(0.3)
        return f()

    for f in runners:
        run(f)
    return [[run(f) for f in runners] for _ in range(repeat)]


def best(table, k):
    return min(row[k] for row in table)


def ratio(table, a, b):
    """Median over rounds of column a / column b."""
    return float(np.median([row[a] / row[b] for row in table]))


def sides(cfg, n_train):
    ours = Handmade(cfg, cfg.dtype, np.random.default_rng(0), n_train)
    return ours, Twin(cfg, cfg.dtype, ours.params(), n_train)


def lockstep_run(cfg, X, Y):
    rng = np.random.default_rng(cfg.seed)
    return Lockstep(cfg, X, Y, Handmade(cfg, cfg.dtype, rng, len(X)), rng).run()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-dir",
        default=str(FASHION) if FASHION.is_dir() else None,
        help="IDX folder with 60,000 training images (default: Fashion-MNIST if installed, else "
        "random pixels of the same shape)",
    )
    p.add_argument("--repeat", type=int, help="rounds per figure, the best is kept (default: 5, 3 with --quick)")
    p.add_argument(
        "--sections", default="12346", help="which sections to run, e.g. 345 (default: 12346, and 5 with --against)"
    )
    p.add_argument(
        "--quick", action="store_true", help="epochs of 20,000 images and 3 rounds, for trying a change (default: off)"
    )
    p.add_argument("--against", metavar="DIR", help="another checkout to time lockstep.check() against (default: none)")
    args = p.parse_args()
    args.repeat = args.repeat or (3 if args.quick else 5)
    args.n = 20000 if args.quick else None
    if args.against and "5" not in args.sections:
        args.sections += "5"
    ds = dataset(args) if set(args.sections) & set("1236") else None
    if set(args.sections) & set("123"):
        backends(args, ds)
    if "4" in args.sections:
        default_process(args)
    if "5" in args.sections:
        against(args)
    if "6" in args.sections:
        goals(args, ds)


AGAINST_RUNS = {  # label -> lockstep.check() settings: the default run (5 epochs), and runs without the new layers
    "default (float64), 5 epochs": dict(epochs=5),
    "float32, 5 epochs": dict(dtype="float32", epochs=5),
    "adam float32, 5 epochs": dict(dtype="float32", optimizer="adam", lr=1e-3, epochs=5),
    "784-256-10 sigmoid mse, batch 16": dict(sizes=[784, 256, 10], activation="sigmoid", loss="mse", batch_size=16),
}


def timed_check(root, settings):
    """Seconds of lockstep.check(**settings) in a fresh process importing the project from `root`."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import lockstep; lockstep.check(steps=1); "
        "t = time.perf_counter(); lockstep.check(**eval(sys.argv[2])); print(time.perf_counter() - t)"
    )
    env = dict(__import__("os").environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), repr(settings)], capture_output=True, text=True, env=env
    )
    if out.returncode:
        raise SystemExit(f"{root}: {out.stderr.strip().splitlines()[-1]}")
    return float(out.stdout.split()[-1])


def against(args):
    """Section 5: lockstep.check() here and in args.against, alternating run by run in fresh processes (one warm-up
    check each, not timed); the median of the per-round ratios, and each side's best."""
    other = Path(args.against).resolve()
    print(f"\n5. lockstep.check() in this checkout against {other}: {args.repeat} rounds, alternating, fresh processes")
    print(f"{'run':<36} {'here (best)':>11} {'there (best)':>12} {'here/there (median)':>20}")
    for label, settings in AGAINST_RUNS.items():
        here, there = [], []
        for _ in range(args.repeat):
            here.append(timed_check(ROOT, settings))
            there.append(timed_check(other, settings))
        ratios = [a / b for a, b in zip(here, there)]
        print(f"{label:<36} {min(here):>10.2f}s {min(there):>11.2f}s {float(np.median(ratios)):>20.3f}")


def dataset(args):
    """The training images (Fashion-MNIST's 60,000, or random pixels of that shape), the first args.n of them."""
    if args.data_dir:
        ds = data.load(data_dir=args.data_dir)
    else:
        rng = np.random.default_rng(0)
        ds = data.Dataset(
            "random",
            rng.integers(0, 256, (60000, 784), dtype=np.uint8),
            rng.integers(0, 10, 60000),
            rng.integers(0, 256, (100, 784), dtype=np.uint8),
            np.arange(100) % 10,
        )
    if args.n:
        ds = dataclasses.replace(ds, X_train=ds.X_train[: args.n], y_train=ds.y_train[: args.n])
    return ds


def backends(args, ds):
    source = args.data_dir or "random pixels"
    threads = torch.get_num_threads()
    print(
        f"# {len(ds.X_train)} images from {source}; {'-'.join(map(str, SIZES))} relu, cross_entropy, SGD momentum"
        f" 0.9; torch {torch.__version__}, numpy {np.__version__}, {threads} threads; best of {args.repeat}\n"
    )
    if set(args.sections) & set("12"):
        alone(args, ds, threads)
    if "3" in args.sections:
        side_by_side(args, ds, threads)


def alone(args, ds, threads):
    """Sections 1 and 2: each backend alone, and handmade against the FLOP limit."""
    print(
        "1-2. seconds per 60k-image epoch (best round), each backend alone; ratios are medians of per-round "
        "ratios. 'threads' is each library's thread count; the FLOP limit uses numpy's matmul peak at that count"
    )
    print(
        f"{'dtype':<8} {'batch':>5} {'threads':>7} {'handmade':>9} {'torch twin':>10} {'hm/twin':>8} "
        f"{'FLOP limit':>11} {'hm/limit':>9} {'peak GFLOP/s':>13}"
    )
    flops = epoch_flops(SIZES, len(ds.X_train))
    for dtype in ("float32", "float64"):
        X, Y = data.prepare(ds, None, "unit", dtype)[:2]
        peak, peak_flops = peak_runner(dtype)
        for batch in (64, 256):
            for n in (threads, 1):
                with threadpool_limits(n, user_api="blas"):
                    torch.set_num_threads(n)
                    ours, theirs = sides(dataclasses.replace(Config(), dtype=dtype, batch_size=batch), len(X))
                    table = rounds(
                        [peak, epoch_runner(ours, X, Y, batch), epoch_runner(theirs, X, Y, batch)], args.repeat
                    )
                    torch.set_num_threads(threads)
                for row in table:  # column 0 becomes the FLOP limit of that round
                    row[0] = flops * row[0] / peak_flops
                print(
                    f"{dtype:<8} {batch:>5} {n:>7} {best(table, 1):>9.3f} {best(table, 2):>10.3f} "
                    f"{ratio(table, 1, 2):>8.2f} {best(table, 0):>11.3f} {ratio(table, 1, 0):>9.2f} "
                    f"{flops / best(table, 0) / 1e9:>13.0f}"
                )


def side_by_side(args, ds, threads):
    """Section 3: the lockstep epoch against the two backends alone, one thread each."""
    print(
        "\n3. the lockstep cross-check: one epoch, batch 64; alone: one thread each, one after the other; lockstep: "
        "one thread each, side by side, plus the full comparison every step"
    )
    for dtype in ("float64", "float32"):
        X, Y = data.prepare(ds, None, "unit", dtype)[:2]
        cfg = dataclasses.replace(Config(), dtype=dtype)
        with threadpool_limits(1, user_api="blas"):
            torch.set_num_threads(1)
            ours, theirs = sides(cfg, len(X))
            lockstep = lambda cfg=cfg, X=X, Y=Y: _time(lambda: lockstep_run(cfg, X, Y))  # noqa: E731
            table = rounds([epoch_runner(ours, X, Y, 64), epoch_runner(theirs, X, Y, 64), lockstep], args.repeat)
            torch.set_num_threads(threads)
        overhead = float(np.median([row[2] / (row[0] + row[1]) for row in table]))
        print(
            f"{dtype}: lockstep {best(table, 2):.3f} s; handmade alone {best(table, 0):.3f} s + twin alone "
            f"{best(table, 1):.3f} s: lockstep/alone {overhead:.2f}x; handmade/twin at one thread each "
            f"{ratio(table, 0, 1):.2f}"
        )


GOALS = (  # (key, what is measured, goal): section 6's figures, each a ratio that must stay at or below its goal
    ("a", "handmade / torch twin, thread CPU time inside the lockstep epoch (one thread each, side by side)", 0.5),
    ("b", "handmade alone / plain torch eager alone (nn.Sequential + optim.SGD), 2 threads, wall", 0.5),
    ("c", "lockstep wall / (handmade alone + twin alone), one thread each", 1.3),
)


def plain_torch(params, X, Y, lr, momentum, batch_size, seed=0):
    """A function timing one epoch of plain torch eager, as a torch user writes it: nn.Sequential of Linear and ReLU,
    nn.CrossEntropyLoss on the class indices, optim.SGD; from the initial weights `params` (handmade's, by torch's
    names), on the same batches as epoch_runner's."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(SIZES, SIZES[1:])):
        linear = torch.nn.Linear(n_in, n_out, dtype=torch.from_numpy(X[:1]).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params[f"layers.{i}.weight"]))
            linear.bias.copy_(torch.from_numpy(params[f"layers.{i}.bias"]))
        layers += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(Y.argmax(axis=1))

    def epoch():
        t = time.perf_counter()
        for idx, _ in batch_order(len(X), batch_size, -(-len(X) // batch_size), np.random.default_rng(seed)):
            idx = torch.from_numpy(idx)
            opt.zero_grad()
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()
        return time.perf_counter() - t

    epoch.net = net  # for tests/test_bench.py: the network it trains
    return epoch


def matmuls_runner(params, X, batch_size, seed=0):
    """A function timing one epoch of handmade's matmuls alone, on the same batches and weights (column-major, as
    handmade stores them): per step x W^T for every layer, dW = (x^T dz)^T for every layer, dz W below the first.
    Nothing else: no bias, activation, loss or update. The floor of handmade's step in plain NumPy."""
    Ws = [params[f"layers.{i}.weight"] for i in range(len(SIZES) - 1)]
    rng = np.random.default_rng(seed)
    acts = [rng.random((batch_size, n), dtype=X.dtype) for n in SIZES[1:]]  # stand-ins for z and dL/dz

    def epoch():
        t = time.perf_counter()
        for idx, _ in batch_order(len(X), batch_size, -(-len(X) // batch_size), np.random.default_rng(seed)):
            m = len(idx)  # the last batch may be partial
            ins, dzs = [X[idx]] + [a[:m] for a in acts[:-1]], [a[:m] for a in acts]
            for i, W in enumerate(Ws):
                ins[i] @ W.T
                ins[i].T @ dzs[i]  # dW, before handmade's free transpose back to (out, in)
                if i:
                    dzs[i] @ W
        return time.perf_counter() - t

    return epoch


def goals(args, ds):
    """Section 6: the three goals' ratios, each round running the lockstep epoch, handmade and the twin alone on one
    thread each, then handmade and plain torch alone on 2 threads; the median over rounds of each round's ratio."""
    cfg = dataclasses.replace(Config(), dtype="float32", batch_size=64)
    X, Y = data.prepare(ds, None, "unit", cfg.dtype)[:2]
    momentum = optimizer_settings(cfg)["momentum"]
    threads = torch.get_num_threads()
    timing = {}

    def lockstep():
        t = time.perf_counter()
        out = lockstep_run(cfg, X, Y)
        timing.update(out.timing)
        return time.perf_counter() - t

    def at(n, f):
        def run():
            with threadpool_limits(n, user_api="blas"):
                torch.set_num_threads(n)
                try:
                    return f()
                finally:
                    torch.set_num_threads(threads)

        return run

    ours, theirs = sides(cfg, len(X))
    ours2 = sides(cfg, len(X))[0]
    plain = plain_torch(ours2.params(), X, Y, cfg.lr, momentum, 64)
    runners = [
        lambda: (lockstep(), timing["handmade_s"], timing["reference_s"]),
        at(1, epoch_runner(ours, X, Y, 64)),
        at(1, epoch_runner(theirs, X, Y, 64)),
        at(2, epoch_runner(ours2, X, Y, 64)),
        at(2, plain),
        at(1, matmuls_runner(ours.params(), X, 64)),
    ]
    print(
        f"\n6. the speed goals: float32, batch 64, one epoch of {len(X)} images, {args.repeat} rounds (after a "
        "warm-up round) of the lockstep, handmade and twin alone (1 thread), handmade and plain torch alone (2 threads)"
    )
    table = rounds(runners, args.repeat)
    for row in table:
        (wall, hm_cpu, twin_cpu), *rest = row
        row[:] = [wall, hm_cpu, twin_cpu, *rest]
    print(
        f"best seconds: lockstep {best(table, 0):.3f} (handmade's thread {best(table, 1):.3f}, the twin's "
        f"{best(table, 2):.3f}); alone, 1 thread: handmade {best(table, 3):.3f}, twin {best(table, 4):.3f}; "
        f"alone, 2 threads: handmade {best(table, 5):.3f}, plain torch {best(table, 6):.3f}; handmade's matmuls "
        f"alone, 1 thread: {best(table, 7):.3f}"
    )
    figures = dict(
        a=ratio(table, 1, 2),
        b=ratio(table, 5, 6),
        c=float(np.median([row[0] / (row[3] + row[4]) for row in table])),
    )
    print(f"\n{'':<3}{'figure (median of per-round ratios)':<100} {'ratio':>6} {'goal':>6}  result")
    for key, what, goal in GOALS:
        print(f"{key:<3}{what:<100} {figures[key]:>6.2f} {goal:>6.2f}  {'pass' if figures[key] <= goal else 'FAIL'}")
    print(
        f"the matmuls' floor: handmade's matmuls alone / twin alone, 1 thread, {ratio(table, 7, 4):.2f}; handmade "
        f"alone / its matmuls alone {ratio(table, 3, 7):.2f}"
    )
    return figures


def default_process(args):
    print("\n4. the default `python compare.py` in a fresh process (cache warm)")
    walls, peaks = [], []
    for _ in range(args.repeat + 1):  # the first run warms the data cache and is not counted
        wall, peak_kb = measure_process([sys.executable, str(ROOT / "compare.py"), "--quiet"])
        walls.append(wall)
        peaks.append(peak_kb)
    print(
        f"wall {min(walls[1:]):.2f} s (best of {args.repeat}, imports included), peak RSS "
        f"{max(peaks[1:]) / 1024:.0f} MB (largest of {args.repeat})"
    )


def measure_process(cmd):
    """(wall seconds, peak RSS in KB) of cmd, exit included. A child spawned straight from this large process
    would report this process's size as its peak (vfork shares it until exec), so a small helper forks it."""
    helper = (
        "import os, sys, time; t = time.perf_counter(); pid = os.fork()\n"
        "if pid == 0: os.execv(sys.argv[1], sys.argv[1:])\n"
        "_, status, usage = os.wait4(pid, 0)\n"
        "print(time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status))"
    )
    out = subprocess.run([sys.executable, "-c", helper, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
    wall, peak, code = out.stdout.split()[-3:]
    if code != "0":
        raise SystemExit(f"{' '.join(cmd)} exited {code}")
    return float(wall), int(peak)


if __name__ == "__main__":
    main()
