"""The false-alarm sweep: random configurations of the built-in network, no bug planted, must agree; planted
bugs must still be found where the catalogue says.

    python benchmarks/sweep.py --workers 2     # 500 configurations and every planted bug twice, about 25 minutes
    python benchmarks/sweep.py --report        # the table of an existing results file
    python benchmarks/sweep.py --only 17       # re-run configuration 17 alone, with its full report
    python benchmarks/sweep.py --focus training --n 150 --bugs 32 --workers 2   # weighted toward the training settings

A false alarm is exit 1 (verdict 'diverge') on correct code; 'agree' and 'blew_up' (both backends produced the
first NaN or inf at the same place) are both right, and so is 'inconclusive' (a detection floor above 1e-2: the
run says it cannot vouch), which is counted apart. A miss is a planted bug, run under its own setup, whose run
does not diverge, or is located at another (phase, tensor) than the catalogue's `expect`, or whose suspect is
another bug. Configuration INDEX is drawn from (--seed, INDEX) alone, so any row can be re-run by itself, and the
results file (one JSON line per run) lets a restarted sweep skip what is done. Only lockstep.check() and the
public tables are used: a new activation, loss, optimizer, init or scale is swept without editing this file.
"""

import argparse
import json
import multiprocessing
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handmade  # noqa: E402
import lockstep  # noqa: E402
from handmade.config import L2_NORMS, REDUCTIONS  # noqa: E402
from lockstep.config import OPTIMIZERS, PER_ITERATION, PROB_CLIP_LOSSES, SCHEDULES  # noqa: E402
from lockstep.data import SCALES  # noqa: E402
from lockstep.data.tokens import markov  # noqa: E402
from lockstep.findings.bugs import BUGS, CATALOGUE  # noqa: E402

LR_RANGE = {  # log-uniform; the top ends blow up
    "sgd": (1e-4, 3.0),
    "adam": (1e-5, 0.1),
    "adamw": (1e-5, 0.1),
    "rmsprop": (1e-5, 0.03),
    "adagrad": (1e-4, 0.5),
}
LR_OTHER = (1e-5, 1e-2)  # an optimizer added to the table later
SATURATED = 0.25  # share of draws from the saturating family: tanh/sigmoid, [-1, 1] or standardised, deep
MAX_SECONDS = 10.0  # a draw estimated to cost more is shrunk: n_train of a full batch, the steps (to 300), the batch


def cost(s, m):
    """Estimated seconds of run `s` (settings) at batch size m on 2 cores, fitted to 134 agreeing runs of this
    sweep (median ratio 0.96, 80% within 0.6x..1.5x): per step 4 ms, 2.5 ms per weight layer (the tensors compared),
    and per weight 170 ns for Adam's state, 90 ns more in float64, and 1 ns per sample of the batch."""
    P = sum(a * b for a, b in zip(s["sizes"], s["sizes"][1:]))
    per_weight = (
        1.7e-7 * (s["optimizer"] != "sgd" or "momentum_form" in s) + 9e-8 * (s["dtype"] == "float64") + 1e-9 * m
    )
    layers = 1 + 0.5 * (s.get("norm", "none") != "none") + 0.3 * bool(s.get("dropout"))  # their tensors, the eval pass
    return s["steps"] * (4e-3 + 2.5e-3 * (len(s["sizes"]) - 1) * layers + P * per_weight)


# how often a training setting is drawn: by default, and with --focus training (the optimizers beyond sgd and adam,
# the momentum forms, Adam's counter, the schedules per epoch and per iteration, clipping, clipped probabilities)
# and the layers (a norm, dropout, an embedding on token data)
ODDS = {
    None: dict(
        optimizer={o: 1 for o in OPTIMIZERS},
        form=0.3,
        t0=0.15,
        schedule=0.1,
        clip=0.1,
        prob_clip=0.05,
        norm=0.45,
        dropout=0.3,
        embedding=0.12,
    ),
    "training": dict(
        optimizer=dict(sgd=3, rmsprop=2, adagrad=2, adam=1, adamw=1),
        form=0.7,
        t0=0.5,
        schedule=0.5,
        clip=0.4,
        prob_clip=0.25,
        norm=0.1,
        dropout=0.1,
        embedding=0.0,
    ),
    "layers": dict(
        optimizer={o: 1 for o in OPTIMIZERS},
        form=0.3,
        t0=0.15,
        schedule=0.1,
        clip=0.1,
        prob_clip=0.05,
        norm=0.85,
        dropout=0.5,
        embedding=0.35,
    ),
}


FOCUS_SALT = {"training": 17, "layers": 29}  # a focus draws its own configurations


def schedule(rng, steps, lr):
    """A random --lr-schedule: a kind of SCHEDULES with drawn arguments, per epoch or per iteration."""
    kind = str(rng.choice(list(SCHEDULES)))
    per_iteration = rng.random() < 0.5
    slow = lambda: float(np.exp(np.log(rng.uniform(0.05, 0.9)) / steps))  # x G per iteration: G^steps in [0.05, 0.9]
    k = int(rng.integers(1, 6)) * (int(rng.integers(1, 50)) if per_iteration else 1)
    args = {
        "step": lambda: [k, float(rng.uniform(0.3, 0.95))],
        "exp": lambda: [slow() if per_iteration else float(rng.uniform(0.5, 0.99))],
        "inv": lambda: [float(np.exp(rng.uniform(np.log(1e-4), np.log(0.05 if per_iteration else 1))))],
        "stair": lambda: [float(np.exp(rng.uniform(np.log(1e-2), np.log(1)))), k],
        "at": lambda: [int(rng.integers(1, max(2, steps // (1 if per_iteration else 20)))), lr * rng.uniform(0.01, 1)],
    }[kind]()
    return f"{kind}{PER_ITERATION if per_iteration else ''}:" + ":".join(f"{a:.6g}" for a in args)


def draw(seed, index, steps=(300, 2000), focus=None):
    """Configuration `index` of the sweep `seed` (and `focus`): (meta, settings for lockstep.check). Nothing else
    decides it."""
    odds = ODDS[focus]
    weights = {o: odds["optimizer"].get(o, 1) for o in OPTIMIZERS}  # an optimizer added later: weight 1
    rng = np.random.default_rng([seed, index] if focus is None else [seed, index, FOCUS_SALT[focus]])
    pick = lambda table: str(rng.choice(list(table)))
    logu = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    now_and_then = lambda p=0.15: rng.random() < p
    family = "saturated" if rng.random() < SATURATED else "random"
    if family == "saturated":  # the case: 784 inputs in [-1, 1] or standardised, 3-4 hidden layers
        activation, scale = str(rng.choice(["tanh", "sigmoid"])), str(rng.choice(["symmetric", "standard"]))
        widths = [round(logu(8, 64)) for _ in range(int(rng.integers(3, 5)))]
    else:
        activation, scale = pick(handmade.ACTIVATIONS), pick(s for s in SCALES if s != "none")
        widths = [round(logu(1, 512)) for _ in range(int(rng.integers(0, 5)))]
    loss = pick(handmade.LOSSES)
    s = dict(
        sizes=[784, *widths, 10],
        activation=activation,
        loss=loss,
        output=pick(handmade.LOSSES[loss][2]),
        init=pick(handmade.INITS),
        scale=scale,
        dtype=pick(["float32", "float64"]),
        optimizer=str(rng.choice(list(weights), p=np.array(list(weights.values())) / sum(weights.values()))),
        seed=int(rng.integers(2**31)),
        n_train=round(logu(64, 2000)),
        steps=round(logu(*steps)),
    )
    batch = "full" if rng.random() < 0.2 else round(logu(1, s["n_train"]))
    s["batch_size"] = "full" if batch == "full" or batch >= s["n_train"] else batch
    lo, hi = LR_RANGE.get(s["optimizer"], LR_OTHER)
    s["lr"] = logu(lo * 100, hi * 3) if family == "saturated" and s["optimizer"] == "sgd" else logu(lo, hi)
    if now_and_then(0.2):
        s["reduction"] = pick(r for r in REDUCTIONS if r != "mean")
    if now_and_then():
        s["loss_scale"] = logu(0.01, 100)
    if now_and_then(0.2):
        s["l2"], s["l2_norm"] = logu(1e-5, 1.0), pick(L2_NORMS)
    if now_and_then(0.1):
        s["bias"] = False
    if activation == "leaky_relu" and now_and_then(0.3):
        s["leaky_slope"] = logu(1e-3, 0.5)
    if now_and_then():
        s["weight_decay"] = logu(1e-5, 0.1)
    if now_and_then(odds["schedule"]):
        s["lr_schedule"] = schedule(rng, s["steps"], s["lr"])
    if now_and_then(odds["clip"]):  # around the gradients' sizes, so that it clips some steps and not others
        s["clip_value" if now_and_then(0.5) else "clip_norm"] = logu(1e-4, 0.1) if now_and_then(0.5) else logu(0.1, 10)
    if s["loss"] in PROB_CLIP_LOSSES and now_and_then(odds["prob_clip"]):
        s["prob_clip"] = float(rng.choice([1e-7, float(np.finfo(s["dtype"]).eps), 1e-3, 0.05]))
    if now_and_then(0.1):
        s["l1"], s["l2_norm"] = logu(1e-5, 0.1), pick(L2_NORMS)
    if s.get("bias", True) and (s.get("l1") or s.get("l2")) and now_and_then(0.3):
        s["bias_penalty"] = True
    if s["optimizer"] == "sgd":
        s["momentum"] = 0.0 if now_and_then(0.4) else float(rng.uniform(0.5, 0.99))
        if now_and_then(odds["form"]):
            s["momentum_form"] = str(rng.choice(["ema", "velocity"]))
        elif now_and_then():
            s["dampening"] = float(rng.uniform(0.1, 0.9))
        elif s["momentum"] and now_and_then(0.2):
            s["nesterov"] = True
    if s["optimizer"] == "rmsprop":
        s["alpha"] = float(rng.choice([0.99, 0.9, rng.uniform(0.5, 0.999)]))  # torch's and CS231n's, NNFS's, any
        if now_and_then(0.3):
            s["eps"] = 1e-7  # NNFS's
        if now_and_then(0.3):
            s["momentum"] = float(rng.uniform(0.5, 0.95))
        if now_and_then(0.3):
            s["centered"] = True
    if s["optimizer"] == "adagrad":
        if now_and_then(0.4):
            s["eps"] = 1e-7  # NNFS's
        if now_and_then(0.3):
            s["lr_decay"] = logu(1e-4, 0.1)
        if now_and_then(0.3):
            s["initial_accumulator_value"] = logu(1e-3, 1)
    if s["optimizer"] in ("adam", "adamw") and now_and_then(odds["t0"]):
        s["adam_t0"] = int(rng.choice([1, 1, 5]))  # CS231n's skeleton
    layers(s, rng, odds, family)
    meta = dict(family=family, capped=False)
    m = lambda: s["n_train"] if s["batch_size"] == "full" else s["batch_size"]
    while cost(s, m()) > MAX_SECONDS and (m() > 1 or s["steps"] > steps[0]):
        meta["capped"] = True  # the big ones: fewer samples in a full batch, fewer steps, then a smaller batch
        if s["batch_size"] == "full" and s["n_train"] > 64:
            s["n_train"] = max(64, s["n_train"] // 2)
        elif s["steps"] > steps[0]:
            s["steps"] = max(steps[0], s["steps"] * 2 // 3)
        else:
            s["batch_size"] = max(1, m() // 2)
    if s["optimizer"] == "sgd":  # the lr range is per sample and unit scale: undo a sum's m and the loss scale
        s["lr"] /= (m() if s.get("reduction") == "sum" else 1) * s.get("loss_scale", 1.0)
    if s.get("norm") == "batchnorm":  # batch statistics need 2 samples a batch, the last partial batch included
        if s["batch_size"] != "full" and s["batch_size"] < 2:
            s["batch_size"] = 2
        if s["batch_size"] != "full" and s["n_train"] % s["batch_size"] == 1:
            s["n_train"] += 1 if s["n_train"] < 2000 else -1
    meta["estimate_s"] = round(cost(s, m()), 2)
    return meta, s


def layers(s, rng, odds, family):
    """The layers of docs/layers.md for draw(): a norm with its conventions, dropout and its form (on hidden layers),
    and, on the random family, an embedding of k tokens of D numbers from a vocabulary of V (token data)."""
    hidden = len(s["sizes"]) > 2
    if hidden and rng.random() < odds["norm"]:
        s["norm"] = str(rng.choice(["batchnorm", "layernorm"], p=[0.6, 0.4]))
        if s["norm"] == "batchnorm":
            if rng.random() < 0.3:
                s["bn_momentum"] = float(rng.choice([0.001, 0.5, 0.9, rng.uniform(0, 1)]))  # makemore, CS231n's, any
            if rng.random() < 0.3:
                s["bn_variance"] = "unbiased"  # makemore's
            if rng.random() < 0.3:
                s["bn_running_variance"] = "biased"  # CS231n's
            if rng.random() < 0.15:
                s["bn_eps"] = float(rng.choice([1e-3, 1e-8]))
        elif rng.random() < 0.15:
            s["ln_eps"] = float(rng.choice([1e-3, 1e-8]))
    if hidden and rng.random() < odds["dropout"]:
        s["dropout"] = float(rng.uniform(0.05, 0.7))
        if rng.random() < 0.3:
            s["dropout_form"] = "classic"
    if family == "random" and rng.random() < odds["embedding"]:
        V, D, k = int(rng.choice([5, 27, 60])), int(rng.choice([2, 10])), int(rng.integers(1, 5))
        s.update(embedding=[V, D], scale="none")
        s["sizes"] = [k * D, *s["sizes"][1:-1], V]


def token_data(settings):
    """Token data for a drawn embedding: a Markov chain over its V tokens, k a sample, from the run's seed, with
    enough samples for n_train after the test split (a fifth, at least one of each token)."""
    V, k = settings["embedding"][0], settings["sizes"][0] // settings["embedding"][1]
    X, y = markov(settings["n_train"] * 13 // 10 + 2 * V, k, V, seed=settings["seed"])
    return dict(X=X, y=y)


def synthetic(settings):
    """The switch for your own arrays (--synthetic): 784 Gaussian features in 10 shifted clusters, from the run's
    seed. It needs lockstep.check(X=, y=), which the lead is adding; with the embedded digits it is not used."""
    rng = np.random.default_rng(settings["seed"])
    n = settings["n_train"] + 500  # check() keeps a test split of the arrays
    y = rng.integers(0, 10, n)
    return dict(X=rng.standard_normal((n, 784)) + rng.standard_normal((10, 784))[y], y=y)


def brief(report):
    """The first divergence in a few fields, or None."""
    d = report.first_divergence
    return d and dict(step=d.step, phase=d.phase, tensor=d.tensor, rel_err=d.max_rel_err, float32_only=d.float32_only)


def run_config(settings, data=None, show=None):
    """Run one configuration (no bug planted, unless the settings say so): a result row; false_alarm when the
    verdict is 'diverge'. A bad setting raises ValueError. show, if given, receives the text report. An embedding
    runs on its token data."""
    t = time.perf_counter()
    if data is None and settings.get("embedding"):
        data = token_data(settings)
    r = lockstep.check(**settings, **(data or {}))
    if show:
        show(str(r))
    return dict(
        verdict=r.verdict,
        exit_code=r.exit_code,
        false_alarm=r.verdict == "diverge",
        first_divergence=brief(r),
        codes=[f.code for f in r.findings],
        steps_run=len(r.steps),
        seconds=round(time.perf_counter() - t, 2),
    )


def run_bug(name, show=None, **settings):
    """Plant bug `name` under its own setup (plus `settings`): a result row; miss says why it was not found as the
    catalogue expects. Settings that break the bug's needs raise ValueError: that is a refusal, not a miss."""
    t = time.perf_counter()
    r = lockstep.check(inject_bug=name, **settings)
    if show:
        show(str(r))
    d = r.first_divergence
    located = [d.phase, d.tensor] if d else None
    suspect = next((f.bug for f in r.findings if f.code == "suspect"), None)
    why = [
        w
        for w, bad in [
            (f"verdict {r.verdict}", r.verdict != "diverge"),
            (f"located at {located}, expected {list(BUGS[name].expect)}", d and located != list(BUGS[name].expect)),
            (f"suspect {suspect}", suspect != name),
        ]
        if bad
    ]
    return dict(
        bug=name,
        verdict=r.verdict,
        located=located,
        suspect=suspect,
        miss="; ".join(why) or None,
        first_divergence=brief(r),
        seconds=round(time.perf_counter() - t, 2),
    )


def run_row(kind, seed, index, use_synthetic=False, show=None, focus=None):
    """Row `index` of the sweep `seed` (and `focus`): a configuration ('config') or a planted bug ('bug')."""
    row = dict(kind=kind, seed=seed, index=index, data="synthetic" if use_synthetic else "digits", focus=focus)
    if kind == "bug":
        name = CATALOGUE[index % len(CATALOGUE)].name
        settings = dict(seed=int(np.random.default_rng([seed, 10**6 + index]).integers(2**31)))
        return dict(row, settings=settings, **run_bug(name, show, **settings))
    meta, settings = draw(seed, index, focus=focus)
    data = synthetic(settings) if use_synthetic and "embedding" not in settings else None
    try:
        result = run_config(settings, data, show)
    except ValueError as e:  # draw() made a setting check() refuses: a bug of this script, reported as an error
        result = dict(verdict="error", error=str(e), false_alarm=False, seconds=0.0)
    return dict(row, **meta, settings=settings, **result)


def breakdown(rows, key):
    out = {}
    for r in rows:
        b = out.setdefault(key(r), dict(runs=0, agree=0, inconclusive=0, blew_up=0, false_alarms=0, seconds=0.0))
        b["runs"] += 1
        b["agree"] += r["verdict"] == "agree"
        b["inconclusive"] += r["verdict"] == "inconclusive"
        b["blew_up"] += r["verdict"] == "blew_up"
        b["false_alarms"] += r["false_alarm"]
        b["seconds"] += r["seconds"]
    return out


def summarise(rows):
    """The sweep's numbers from its rows: counts, the false alarms and misses themselves, and breakdowns."""
    configs = [r for r in rows if r["kind"] == "config"]
    bugs = [r for r in rows if r["kind"] == "bug"]
    totals = breakdown(configs, lambda r: "all").get("all") or dict(
        runs=0, agree=0, inconclusive=0, blew_up=0, false_alarms=0, seconds=0.0
    )
    return dict(
        **totals,
        errors=[r for r in configs if r["verdict"] == "error"],
        alarms=[r for r in configs if r["false_alarm"]],
        capped=sum(r.get("capped", False) for r in configs),
        bugs_tried=len(bugs),
        bugs_found=sum(not r["miss"] for r in bugs),
        misses=[r for r in bugs if r["miss"]],
        bug_seconds=sum(r["seconds"] for r in bugs),
        seeds=sorted({r["seed"] for r in rows}),
        by={
            k: breakdown(configs, lambda r, k=k: r.get(k) or r["settings"].get(k, "(default)"))
            for k in ("dtype", "activation", "family", "optimizer", "loss")
        }
        | {k: breakdown(configs, lambda r, f=f: f(r["settings"])) for k, f in TRAINING_KEYS.items()}
        | {k: breakdown(configs, lambda r, f=f: f(r["settings"])) for k, f in LAYER_KEYS.items()},
    )


TRAINING_KEYS = {  # the training settings' breakdowns: what each run drew
    "momentum_form": lambda s: s.get("momentum_form", "torch") if s.get("optimizer", "sgd") == "sgd" else "(not sgd)",
    "adam_t0": lambda s: str(s.get("adam_t0", 0)) if s.get("optimizer") in ("adam", "adamw") else "(not adam)",
    "schedule": lambda s: (
        "none"
        if "lr_schedule" not in s
        else s["lr_schedule"].split(":")[0].replace(PER_ITERATION, "")
        + (" iter" if PER_ITERATION in s["lr_schedule"] else "")
    ),
    "clipping": lambda s: next((k for k in ("clip_value", "clip_norm") if k in s), "none"),
    "prob_clip": lambda s: f"{s['prob_clip']:g}" if "prob_clip" in s else "none",
}


LAYER_KEYS = {  # the layers' breakdowns
    "norm": lambda s: s.get("norm", "none"),
    "dropout": lambda s: s.get("dropout_form", "inverted") if s.get("dropout") else "none",
    "embedding": lambda s: "tokens" if s.get("embedding") else "none",
}


def table(s):
    """The summary as text for a person."""
    per = s["seconds"] / max(s["runs"], 1)
    lines = [
        f"sweep seed(s) {s['seeds']}: {s['runs']} configurations, {s['capped']} shrunk to the time budget",
        (
            f"  agree {s['agree']}   inconclusive {s['inconclusive']}   blew_up {s['blew_up']}   false alarms "
            f"{s['false_alarms']}   errors "
            f"{len(s['errors'])}   ({s['seconds']:.0f} s, {per:.1f} s per configuration)"
        ),
        (
            f"  planted bugs tried {s['bugs_tried']}   found {s['bugs_found']}   misses {len(s['misses'])}   "
            f"({s['bug_seconds']:.0f} s)"
        ),
    ]
    for key, groups in s["by"].items():
        lines.append(f"\n  {key:<13}{'runs':>6}{'agree':>7}{'inconcl.':>9}{'blew_up':>9}{'alarms':>8}{'s/run':>7}")
        for name, b in sorted(groups.items()):
            lines.append(
                f"  {name:<13}{b['runs']:>6}{b['agree']:>7}{b.get('inconclusive', 0):>9}{b['blew_up']:>9}"
                f"{b['false_alarms']:>8}"
                f"{b['seconds'] / b['runs']:>7.1f}"
            )
    for r in s["alarms"]:
        d = r["first_divergence"] or {}
        lines.append(
            f"\nFALSE ALARM config {r['index']} (seed {r['seed']}, {r['family']}): step {d.get('step')} "
            f"{d.get('phase')} {d.get('tensor')} rel {d.get('rel_err', float('nan')):.2g}"
            f"{' float32_only' if d.get('float32_only') else ''}; findings {', '.join(r['codes'])}\n  "
            + json.dumps(r["settings"])
        )
    for r in s["misses"]:
        lines.append(f"\nMISS bug {r['bug']} (row bug:{r['index']}, seed {r['settings']['seed']}): {r['miss']}")
    for r in s["errors"]:
        lines.append(f"\nERROR config {r['index']}: {r['error']}\n  {json.dumps(r['settings'])}")
    return "\n".join(lines)


def load(path):
    path = Path(path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _run_job(job):
    return run_row(*job)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="configurations to draw, indices 0..N-1 (default: 500)")
    p.add_argument(
        "--bugs",
        type=int,
        default=2 * len(CATALOGUE),
        help=f"planted-bug runs, cycling through the catalogue (default: {2 * len(CATALOGUE)})",
    )
    p.add_argument("--seed", type=int, default=0, help="the sweep's seed; row i is drawn from (seed, i) (default: 0)")
    p.add_argument(
        "--out",
        default=str(ROOT / "benchmarks" / "sweep_results.jsonl"),
        help="results, one JSON line per run; rows already there are skipped (default: benchmarks/sweep_results.jsonl)",
    )
    p.add_argument("--report", action="store_true", help="print the table of --out and exit (default: off)")
    p.add_argument(
        "--only",
        help="re-run one row alone and print its report: INDEX or bug:INDEX; nothing is written (default: none)",
    )
    p.add_argument(
        "--focus",
        choices=[k for k in ODDS if k],
        help="weight the draws toward a group of settings; training: the optimizers beyond sgd and adam, the "
        "momentum forms, Adam's counter, schedules, clipping and clipped probabilities; layers: batch norm, layer "
        "norm, dropout and the embedding (default: none)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="runs at a time, each in its own process with its two threads (default: 1)",
    )
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="random 784-feature clusters instead of the digits; needs lockstep.check(X=, y=) (default: off)",
    )
    args = p.parse_args()
    if args.only is not None:
        kind, index = ("bug", int(args.only[4:])) if args.only.startswith("bug:") else ("config", int(args.only))
        row = run_row(kind, args.seed, index, args.synthetic, show=print, focus=args.focus)
        print(json.dumps(row))
        return 1 if row.get("false_alarm") or row.get("miss") or row["verdict"] == "error" else 0
    if not args.report:
        data = "synthetic" if args.synthetic else "digits"
        done = {
            (r["kind"], r["index"])
            for r in load(args.out)
            if r["seed"] == args.seed and r["data"] == data and (r["kind"] == "bug" or r.get("focus") == args.focus)
        }
        todo = [("bug", i) for i in range(args.bugs)] + [("config", i) for i in range(args.n)]
        todo = [t for t in todo if t not in done]
        print(f"{len(todo)} runs to do ({len(done)} already in {args.out})", flush=True)
        jobs = [(kind, args.seed, index, args.synthetic, None, args.focus) for kind, index in todo]
        with (
            open(args.out, "a") as f,
            multiprocessing.Pool(args.workers) if args.workers > 1 else nullcontext() as pool,
        ):
            rows = pool.imap(_run_job, jobs) if pool else map(_run_job, jobs)
            for n, ((kind, index), row) in enumerate(zip(todo, rows), 1):
                f.write(json.dumps(row) + "\n")
                f.flush()
                flag = " FALSE ALARM" if row.get("false_alarm") else " MISS" if row.get("miss") else ""
                what = row.get("bug") or f"{row['family']} {row['settings']['dtype']} {row['settings']['activation']}"
                print(
                    f"[{n}/{len(todo)}] {kind} {index}: {what} {row['verdict']} {row['seconds']:.1f} s{flag}",
                    flush=True,
                )
    s = summarise(load(args.out))
    print(table(s))
    return 0 if not (s["alarms"] or s["misses"] or s["errors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
