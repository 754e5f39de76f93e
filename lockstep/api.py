"""The Python API: one call runs a whole cross-check and returns a Report. compare.py is a shell around it.

    import lockstep
    report = lockstep.check()                                   # handmade against the torch twin
    report = lockstep.check("my_net.py:loss_and_grads", sizes=[784, 30, 10], activation="sigmoid", loss="mse")
    report = lockstep.check(MyNet, X=X, y=y, sizes=[2, 16, 2], layout="in-out", targets="labels")
    print(report.verdict, report.first_divergence)
    lockstep.assert_agrees(my_function, **settings)             # in your own pytest suite

Settings are compare.py's flags with underscores (lockstep.config.Config lists them); a bad one raises
ValueError with the same one-line message the command line prints.
"""

import dataclasses
import importlib.metadata

import numpy as np
from threadpoolctl import threadpool_limits

from . import data, report
from .config import FIELDS, OPTIMIZERS, PRESETS, Config, SettingError, check_batches, misplaced, misplaced_layer
from .data import user as userdata
from .engine import Lockstep
from .findings import findings
from .findings.bugs import BUGS
from .judge import gradcheck
from .judge.tolerance import TOLERANCES
from .records import Result
from .sides import Handmade

EXIT = dict(agree=0, blew_up=0, diverge=1, inconclusive=3)  # compare.py's exit status, as diff(1) (2: bad input)


def version():
    try:
        return importlib.metadata.version("mlp-crosscheck")
    except importlib.metadata.PackageNotFoundError:
        return "0+checkout"


def resolve(settings):
    """Config defaults, then the preset, then the planted bug's own setup, then every setting given."""
    settings = dict(settings)
    unknown = [k for k in settings if k not in FIELDS and k != "preset"]
    if unknown:
        raise SettingError(
            f"unknown setting {unknown[0]!r}; the settings are compare.py's flags with underscores: {', '.join(FIELDS)}"
        )
    preset = settings.pop("preset", None)
    if preset is not None and preset not in PRESETS:
        raise SettingError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    bug = settings.get("inject_bug")
    if bug is not None and bug not in BUGS:
        raise SettingError(f"unknown bug {bug!r}; --list-bugs shows the {len(BUGS)} known ones")
    cfg = Config()
    for layer in ([PRESETS[preset]] if preset else []) + ([BUGS[bug].setup] if bug else []):
        cfg = dataclasses.replace(cfg, **layer)
    if "epochs" in settings and "steps" in settings:
        raise SettingError("--steps and --epochs both set the run's length; give one of them")
    if "epochs" in settings:
        settings["steps"] = None
    if "n_train" in settings:
        settings["train_cap"] = None
    for one, other in (("clip_value", "clip_norm"), ("clip_norm", "clip_value")):  # yours replaces a setup's other
        if settings.get(one) is not None:
            settings.setdefault(other, None)
    if settings.get("batch_size") == "full":
        settings["batch_size"] = None
    if isinstance(settings.get("sizes"), (tuple, np.ndarray)):
        settings["sizes"] = [int(n) for n in settings["sizes"]]
    cfg = dataclasses.replace(cfg, **settings)
    if cfg.output == "softmax" and cfg.loss == "cross_entropy":
        cfg = dataclasses.replace(cfg, output=None)
    wrong = cfg.optimizer in OPTIMIZERS and misplaced(cfg.optimizer, settings) or misplaced_layer(cfg, settings)
    if wrong:
        raise SettingError(wrong)
    if cfg.data_dir and "data" in settings:
        raise SettingError("--data and --data-dir both choose the data; give one of them")
    cfg.validate()
    if bug:
        why = BUGS[bug].needs(cfg)
        if why:
            raise SettingError(
                f"--inject-bug {bug} cannot show under these settings: {why}; drop the setting that "
                "changes it (the bug brings its own setup)"
            )
    return cfg


def load_data(cfg, X=None, y=None, X_test=None, y_test=None):
    """The Dataset: your arrays, a .npz/.csv file, an IDX folder, or the embedded or torchvision digits."""
    if X is not None or y is not None:
        if X is None or y is None:
            raise SettingError("give both X and y (features and labels), or neither")
        return userdata.from_arrays(X, y, X_test, y_test, seed=cfg.seed)
    if cfg.data_dir is not None:
        return data.idx_folder(cfg.data_dir)
    if cfg.data not in ("embedded", "mnist"):
        return userdata.load_file(cfg.data, seed=cfg.seed)
    return data.load(cfg.data)


def check_shapes(cfg, ds):
    d, k = ds.X_train.shape[1], ds.n_classes
    if cfg.embedding is not None:
        V, D = cfg.embedding
        if cfg.sizes[0] != d * D:
            raise SettingError(
                f"--embedding {V}:{D} looks up the data's {d} tokens a sample, {D} numbers each: start --sizes with "
                f"{d * D} ({d} x {D}), not {cfg.sizes[0]}"
            )
    elif cfg.sizes[0] != d:
        what = "images have" if ds.images else "data has"
        unit = "pixels" if ds.images else "features"
        raise SettingError(
            f"--sizes starts with {cfg.sizes[0]} inputs but the {what} {d} {unit}; start --sizes with {d}"
        )
    if cfg.sizes[-1] != k and not (cfg.sizes[-1] == 1 and k == 2):
        raise SettingError(
            f"the labels are 0..{k - 1} ({k} classes) but --sizes ends in {cfg.sizes[-1]} outputs; "
            f"end --sizes with {k}" + (" (or 1 for two classes)" if k == 2 else "") + ", or check the labels"
        )


def build_side(cfg, candidate, rng, n_train, first_batch):
    """The side under test, built once: handmade (with the planted bug, if any) or the user's candidate."""
    if candidate is None:
        return Handmade(cfg, cfg.dtype, rng, n_train, BUGS.get(cfg.inject_bug))
    if cfg.inject_bug:
        raise SettingError("a candidate and --inject-bug do not go together: one side is under test at a time")
    if cfg.embedding:
        raise SettingError(
            "--embedding: the lockstep run checks this layer in handmade against the twin, not yet in your own code; "
            "drop --embedding for --candidate"
        )

    from .sides.candidate import build

    return build(candidate, cfg, rng, n_train, first_batch)


class Report:
    """What lockstep.check() returns: the verdict and everything measured, as a Result (its fields: verdict, exit_code,
    first_divergence, findings, steps, ...; to_dict() is exactly the JSON) and as text (str(report)); plot(path) draws
    the PNG; in a notebook it shows itself."""

    def __init__(self, result):
        self.result = result

    verdict = property(lambda self: self.result.verdict)
    exit_code = property(lambda self: self.result.exit_code)
    first_divergence = property(lambda self: self.result.first_divergence)
    findings = property(lambda self: self.result.findings)
    steps = property(lambda self: self.result.steps)

    def to_dict(self):
        return report.clean(self.result.to_dict())

    def plot(self, path):
        report.plot(path, self.result)

    def text(self, header=True):
        """The text report (without its header lines when header is False)."""
        return report.text(self.result, with_header=header)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return f"<lockstep.Report {report.summary_line(self.result)}>"

    def _repr_html_(self):
        return report.html(self.result)


def check(candidate=None, *, X=None, y=None, X_test=None, y_test=None, on_start=None, on_step=None, **settings):
    """Train the side under test and the torch twin in lockstep and judge every tensor of every step.

    candidate  None (handmade, or handmade with settings inject_bug=NAME), a function f(params, X, Y) -> (loss,
               grads), a class Net(params, **hyper) with step(X, Y, lr) -> loss and .params, a factory with no
               arguments that makes a model object (.params, .loss(X, y)) or layer objects (lockstep/sides/forms/
               FORMS), or 'file.py:name' of any of them.
    X, y       your own data (features (n, d); integer labels (n,) or one-hot (n, k)), used instead of the digits;
               a test split is taken from them unless X_test, y_test are given.
    on_start   called with the report's header text once the run is set up (the command line prints it).
    on_step    called with each step's record as the run goes.
    settings   compare.py's flags with underscores: sizes, activation, loss, optimizer, lr, steps, layout, ...
    """
    # one BLAS thread throughout, as in the run itself (lockstep/engine.py says why): the layout's trial calls, the
    # gradient check, the tracer and the predictions too
    with threadpool_limits(1, user_api="blas"):
        return _check(candidate, X, y, X_test, y_test, on_start, on_step, settings)


def check_update(rule, *, X=None, y=None, X_test=None, y_test=None, on_start=None, on_step=None, **settings):
    """Drive one update rule over the gradients of a lockstep run and check it against torch.optim at every step.

    rule      'optim.py:adam' or the function: CS231n's update(w, dw, config) -> (next_w, config), Coursera's
              update_parameters_with_adam(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon) (or its
              momentum twin), or a per-variable f(alpha, beta1, ..., var, grad, v, s, t) (Holberton's)
    settings  compare.py's flags with underscores, as lockstep.check() takes them; the optimizer and its settings
              that are not given are the rule's own (its state's names, a CS231n config's setdefaults, the
              function's keyword defaults)
    Returns a Report, as lockstep.check() does."""
    from .pieces import update

    with threadpool_limits(1, user_api="blas"):
        found, settings = update.prepare(rule, settings)
        given = {k: v for k, v in settings.items() if k in FIELDS}
        sides = []
        r = _check(None, X, y, X_test, y_test, on_start, on_step, settings, update.builder(found, given, sides))
        extra = sides[0].suspected if sides else None
        fs = r.result.findings
        if extra is not None and not any(f.code == "suspect" for f in fs):  # the rule's own mistakes, in its place
            at = next((k for k, f in enumerate(fs) if f.code == "unmatched"), len(fs))
            fs[at : at + 1] = [extra]
        return r


def _check(candidate, X, y, X_test, y_test, on_start, on_step, settings, build=None):
    cfg = resolve(settings)
    ds = load_data(cfg, X, y, X_test, y_test)
    if cfg.embedding is not None and cfg.scale not in (None, "none"):
        raise SettingError(f"--scale {cfg.scale} rescales inputs, and --embedding takes token indices; drop --scale")
    scale = cfg.scale or ("unit" if ds.images and cfg.embedding is None else "none")
    cfg = dataclasses.replace(cfg, scale=scale)
    n_train = cfg.n_train or (min(cfg.train_cap, len(ds.X_train)) if cfg.train_cap else None)
    check_shapes(cfg, ds)
    vocabulary = cfg.embedding[0] if cfg.embedding else None
    X_tr, Y_tr, y_tr, X_te, _, y_te = data.prepare(ds, n_train, scale, cfg.dtype, cfg.sizes[-1], vocabulary)
    n_train = len(X_tr)
    check_batches(cfg, n_train)
    rng = np.random.default_rng(cfg.seed)  # the one Generator: the initial weights, then every shuffle
    batch = cfg.batch_size or n_train
    side = (build or build_side)(cfg, candidate, rng, n_train, (X_tr[:batch], Y_tr[:batch]))
    run = Lockstep(cfg, X_tr, Y_tr, side, rng)
    result = Result(
        identity=side.identity(),
        check=dict(tensors=len(run.plan), phases=list(dict.fromkeys(p for p, _ in run.plan))),
        config=cfg.resolved(n_train),
        tolerance=dataclasses.asdict(TOLERANCES[cfg.dtype]),
        data=dict(name=ds.name, n_train=n_train, n_test=len(X_te)),
        version=version(),
    )
    if on_start:
        on_start(report.header(result))
    checked = gradcheck.for_run(run) if cfg.gradcheck else None
    outcome = run.run(on_step)
    with np.errstate(all="ignore"):  # a model stopped by NaN predicts nonsense, quietly
        result.accuracy = dict(
            handmade=float(np.mean(side.predict(X_te) == y_te)),
            reference=float(np.mean(run.twin.net.predict(X_te) == y_te)),
        )
    result.findings = findings.collect(findings.Context(outcome, cfg, side, y_tr, ds.n_classes, checked))
    if outcome.first_divergence:
        result.first_divergence = outcome.first_divergence.describe(side, locate(side, run, outcome))
    result.verdict, result.exit_code = outcome.verdict, EXIT[outcome.verdict]
    result.steps, result.drift, result.detection_floor = outcome.steps, outcome.drift, outcome.floor
    result.timing = outcome.timing
    if outcome.blew_up:
        result.blow_up = outcome.non_finite.blow_up
    return Report(result)


def locate(side, run, outcome):
    """The source line of the divergence (the tracer, for a candidate), which never changes the verdict: a tracer
    that fails says so in one line."""
    try:
        with np.errstate(all="ignore"):
            return side.locate(run, outcome)
    except Exception as e:  # noqa: BLE001 - the report keeps its tensor-level account
        return {"unmatched": f"the source line could not be traced ({type(e).__name__}: {str(e)[:200]})"}


class LayerReport:
    """What lockstep.check_layer() returns: one PieceResult per piece checked (results, the worst first), the verdict
    and exit status of them all, the text report (str(report)) and the JSON (to_dict())."""

    ORDER = ("diverge", "error", "inconclusive", "agree")

    def __init__(self, results, spec):
        self.results, self.spec = results, spec
        found = {r.verdict for r in results}
        self.verdict = next((v for v in self.ORDER if v in found), "agree")
        self.exit_code = dict(diverge=1, error=2, inconclusive=3, agree=0)[self.verdict]

    departures = property(lambda self: [d for r in self.results for d in r.departures])

    def to_dict(self):
        return report.clean(
            dict(
                verdict=self.verdict,
                exit_code=self.exit_code,
                spec=str(self.spec),
                version=version(),
                pieces=[r.to_dict() for r in self.results],
            )
        )

    def text(self):
        return report.pieces_text(self.results, self.spec)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return f"<lockstep.LayerReport {self.verdict}: {len(self.results)} piece(s)>"


def check_layer(spec, *, kind=None, backward=None, dtype="both", seed=0, leaky_slope=None):
    """Check one CS231n-style piece against its torch op, or every piece of a file.

    spec         'layers.py:NAME', the pair NAME_forward/NAME_backward (or the loss NAME(x, y) -> (loss, dx)), or
                 'layers.py' for every pair and loss it holds
    kind         the layer kind when the stem does not say it (affine, relu, leaky_relu, sigmoid, tanh,
                 softmax_loss, svm_loss)
    backward     another backward for the pair (batchnorm_backward_alt)
    dtype        'both' (float64 and float32), 'float64' or 'float32'
    seed         of the inputs' Generator
    leaky_slope  leaky_relu's negative slope (default: the forward's own default, else torch's 0.01)
    """
    from .pieces import layer

    with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"):
        return LayerReport(layer.check(spec, kind, backward, dtype, seed, leaky_slope), spec)


def assert_agrees(candidate=None, **settings):
    """Raise AssertionError with the text report unless the candidate agrees with the torch twin."""
    r = check(candidate, **settings)
    if r.verdict != "agree":
        raise AssertionError(f"\n{r}")
    return r
