"""The run's settings: one small dataclass, the presets and the optimizer and schedule tables.

Every field is a compare.py flag with dashes for underscores (--batch-size is batch_size), and a keyword of
lockstep.check(). validate() raises ValueError with one line that names the bad setting and the fix.
"""

import math
from dataclasses import asdict, dataclass, field, fields
from typing import NamedTuple

import handmade
from handmade.config import L2_NORMS, REDUCTIONS, ModelConfig
from handmade.losses import PROB_CLIP_LOSSES


class SettingError(ValueError):
    """A bad setting, flag, file or candidate; str(error) is one line naming the problem and the fix."""


@dataclass
class Config:
    # the model
    sizes: list = field(default_factory=lambda: [784, 128, 64, 10])
    activation: str = "relu"
    loss: str = "cross_entropy"
    output: str | None = None  # None: the loss's natural output (softmax, sigmoid, identity for mse)
    init: str = "torch"
    l2: float = 0.0  # the penalty l2/(2d) sum W^2
    l1: float = 0.0  # the penalty l1/d sum |W|
    l2_norm: str = "batch"  # d of both: the batch size m, the training-set size n ('dataset') or 1 ('none')
    bias_penalty: bool = False  # the penalties act on the biases too
    reduction: str = "mean"  # of the per-sample losses over the batch
    loss_scale: float = 1.0  # a constant factor on the data loss
    bias: bool = True
    leaky_slope: float = 0.01
    dtype: str = "float64"
    prob_clip: float | None = None  # the loss value on probabilities clipped to [p, 1 - p] (NNFS, scikit-learn)
    # the layers of docs/layers.md, with torch's defaults (handmade.ModelConfig explains them)
    norm: str = "none"
    bn_momentum: float = 0.1
    bn_variance: str = "biased"
    bn_running_variance: str = "unbiased"
    bn_eps: float = 1e-5
    ln_eps: float = 1e-5
    dropout: float = 0.0
    dropout_form: str = "inverted"
    embedding: tuple | None = None
    # training: None takes the optimizer's own default (OPTIMIZERS)
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float | None = None  # sgd 0.9 (here), rmsprop 0 (torch's)
    dampening: float | None = None
    nesterov: bool | None = None
    momentum_form: str | None = None  # sgd: 'torch', 'ema' or 'velocity' (MOMENTUM_FORMS)
    weight_decay: float | None = None  # 0; 1e-2 for adamw
    betas: tuple | None = None
    eps: float | None = None  # 1e-8; 1e-10 for adagrad
    alpha: float | None = None  # rmsprop's smoothing constant, 0.99
    centered: bool | None = None
    lr_decay: float | None = None  # adagrad's
    initial_accumulator_value: float | None = None
    adam_t0: int | None = None  # adam's step counter before its first step: 0 (torch's), 1 (CS231n's skeleton)
    lr_schedule: str | None = None  # SCHEDULES: once per epoch, or per iteration (KIND-iter)
    clip_value: float | None = None  # clip every gradient element to [-v, v] before the update
    clip_norm: float | None = None  # scale the gradients to a 2-norm of at most this before the update
    batch_size: int | None = 64  # None: full batch, the whole training set at once
    steps: int | None = None  # None: run `epochs` epochs
    epochs: int = 1
    seed: int = 0
    resync: bool = False
    # data
    data: str = "embedded"  # embedded, mnist, or a .npz / .csv file
    data_dir: str | None = None
    scale: str | None = None  # None: unit for images, none for your own arrays
    n_train: int | None = None  # None: all the training samples there are
    train_cap: int | None = None  # a preset's "up to N samples": n_train when the data has more
    # the side under test
    layout: str = "auto"
    targets: str = "auto"  # what a candidate receives as Y: one-hot floats, or integer labels ('auto': either)
    samples: str = "auto"  # how a candidate holds a batch: samples as rows X (m, n), or as columns X (n, m)
    arrays: str = "auto"  # what a candidate computes with: NumPy arrays or torch tensors
    form: str = "auto"  # the candidate's form (lockstep/sides/forms FORMS): function, class, model or layers
    inject_bug: str | None = None
    gradcheck: bool = False

    def model_args(self, dtype=None, n_train=None):
        """The ModelConfig that handmade.MLP and reference.MLP are both built from: this Config's fields of the same
        names, in `dtype` (default: the run's) and with the training-set size n_train."""
        settings = {name: getattr(self, name) for name in MODEL_FIELDS}
        return ModelConfig(**dict(settings, dtype=dtype or self.dtype, n_train=n_train))

    def total_steps(self, n_train):
        return self.steps if self.steps is not None else self.epochs * math.ceil(n_train / (self.batch_size or n_train))

    def as_dict(self):
        return asdict(self)

    def validate(self):
        """Raise SettingError with one line naming the bad setting and the fix."""
        for name in ("l2", "l1"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise SettingError(f"--{name} must be a number >= 0, got {value}")
        if not (isinstance(self.leaky_slope, (int, float)) and math.isfinite(self.leaky_slope)):
            raise SettingError(f"--leaky-slope must be a finite number, got {self.leaky_slope}")
        positive = dict(lr=self.lr, epochs=self.epochs, loss_scale=self.loss_scale)
        for name in ("batch_size", "steps", "n_train", "clip_value", "clip_norm"):
            if getattr(self, name) is not None:
                positive[name] = getattr(self, name)
        for name, value in positive.items():
            if not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
                raise SettingError(f"--{flag(name)} must be a positive number, got {value}")
        if self.prob_clip is not None:
            if self.loss not in PROB_CLIP_LOSSES:
                raise SettingError(f"--prob-clip belongs to --loss cross_entropy or bce, not {self.loss}; drop it")
            if not (isinstance(self.prob_clip, (int, float)) and 0 < self.prob_clip < 0.5):
                raise SettingError(f"--prob-clip must be a number in (0, 0.5), got {self.prob_clip}")
        if self.bias_penalty and not self.bias:
            raise SettingError("--bias-penalty penalises the biases, but --no-bias removes them; drop one of them")
        _check_layers(self)
        try:
            self.model_args(n_train=1)
        except ValueError as e:
            raise SettingError(str(e)) from None
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("l2_norm", L2_NORMS),
            ("reduction", REDUCTIONS),
            ("targets", TARGETS),
            ("samples", SAMPLES),
            ("arrays", ARRAYS),
        ):
            if getattr(self, name) not in choices:
                raise SettingError(f"--{flag(name)} {getattr(self, name)!r} is not one of {', '.join(choices)}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise SettingError(f"--seed must be a whole number >= 0, got {self.seed}")
        weights = sum(n_in * n_out for n_in, n_out in zip(self.sizes, self.sizes[1:]))
        if weights > 2e8:  # each side keeps several copies (parameters, gradients, state, snapshots) in two dtypes
            raise SettingError(
                f"--sizes {','.join(map(str, self.sizes))} has {weights:.2g} weights, more than this tool "
                "handles (2e8); use smaller layers"
            )
        _check_optimizer(self)
        parse_schedule(self.lr_schedule)
        if self.clip_value is not None and self.clip_norm is not None:
            raise SettingError("--clip-value and --clip-norm both clip the gradients; give one of them")

    def resolved(self, n_train):
        """The settings as used: defaults that depend on others filled in (for reports)."""
        output = self.model_args(n_train=n_train).output
        resolved = {**self.as_dict(), **dict.fromkeys(OPTIMIZER_SETTINGS), **optimizer_settings(self)}
        if resolved["betas"] is not None:
            resolved["betas"] = list(resolved["betas"])
        return dict(
            resolved,
            output=output,
            batch_size=min(self.batch_size or n_train, n_train),
            steps=self.total_steps(n_train),
            n_train=n_train,
        )


def flag(name):
    return name.replace("_", "-")


FIELDS = [f.name for f in fields(Config)]
MODEL_FIELDS = [f.name for f in fields(ModelConfig)]  # every one of them is a field of Config too
# the layers' settings -> (the layer they belong to, whether cfg has it): a setting given without its layer is refused
LAYER_SETTINGS = {
    **{k: ("--norm batchnorm", lambda c: c.norm == "batchnorm") for k in ("bn_momentum", "bn_variance")},
    **{k: ("--norm batchnorm", lambda c: c.norm == "batchnorm") for k in ("bn_running_variance", "bn_eps")},
    "ln_eps": ("--norm layernorm", lambda c: c.norm == "layernorm"),
    "dropout_form": ("--dropout P", lambda c: bool(c.dropout)),
}
TARGETS = ("auto", "onehot", "labels")
SAMPLES = ("auto", "rows", "columns")
ARRAYS = ("auto", "numpy", "torch")


PRESETS = {
    "seed": dict(
        sizes=[784, 5, 5, 10],
        activation="sigmoid",
        loss="bce",
        l2=1.0,
        init="uniform",
        scale="symmetric",
        optimizer="sgd",
        lr=2.0,
        momentum=0.0,
        batch_size=None,
        steps=5,
        train_cap=30000,
    ),
    "fixed": dict(
        sizes=[784, 256, 10],
        activation="sigmoid",
        loss="bce",
        l2=1e-4,
        init="xavier",
        scale="unit",
        optimizer="sgd",
        lr=0.5,
        momentum=0.0,
        batch_size=32,
        epochs=15,
    ),
    "modern": dict(
        sizes=[784, 256, 128, 10],
        activation="relu",
        loss="cross_entropy",
        init="kaiming",
        scale="standard",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=10,
    ),
}
PRESET_HELP = {
    "seed": "the stuck network of the question: 784-5-5-10 sigmoid, bce + l2 1, uniform init, [-1,1] inputs, "
    "full-batch gradient descent lr 2 for 5 iterations on up to 30,000 images",
    "fixed": "what the answers recommend: a wide hidden layer, xavier init, mini-batches, small lr and l2, 15 epochs",
    "modern": "relu, cross-entropy, Adam, kaiming init, standardised inputs, 10 epochs",
}


# -- optimizers ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MomentumForm:
    cls: object  # backend module (handmade, or reference) -> the class
    args: tuple  # its settings beyond lr
    key: str  # its state key
    text: str  # the formula, and who writes it so


# --momentum-form: how SGD's momentum is written (torch.optim has only the first; reference/optim.py has the others)
MOMENTUM_FORMS = {
    "torch": MomentumForm(
        lambda m: m.SGD,
        ("momentum", "dampening", "nesterov", "weight_decay"),
        "momentum_buffer",
        "buf = mu buf + (1 - dampening) g from buf = g, p -= lr buf (torch.optim.SGD)",
    ),
    "ema": MomentumForm(
        lambda m: m.SGDMovingAverage,
        ("momentum", "weight_decay"),
        "exp_avg",
        "v = mu v + (1 - mu) g from v = 0, p -= lr v (Coursera, Holberton)",
    ),
    "velocity": MomentumForm(
        lambda m: m.SGDVelocity,
        ("momentum", "weight_decay"),
        "velocity",
        "v = mu v - lr g from v = 0, p += v (CS231n, NNFS); torch's while lr is constant",
    ),
}


@dataclass(frozen=True)
class Optimizer:
    settings: dict  # the Config fields it takes -> its default where the field is None (torch's, but sgd's momentum)
    build: object  # (backend module, resolved settings) -> (the class, its keyword arguments beyond lr)
    state: object  # resolved settings -> the state keys it keeps per parameter, in torch's names
    start: object = None  # (backend module, optimizer, resolved settings): the state before the first step, if set


def _adam(cls):
    return lambda m, s: (cls(m), dict(betas=tuple(s["betas"]), eps=s["eps"], weight_decay=s["weight_decay"]))


def _adam_start(m, opt, s):
    if s["adam_t0"]:  # --adam-t0: the counter starts there, as CS231n's skeleton starts it at 1
        m.start_step(opt, s["adam_t0"])


def _sgd(m, s):
    form = MOMENTUM_FORMS[s["momentum_form"]]
    return form.cls(m), {k: s[k] for k in form.args}


ADAM_SETTINGS = dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, adam_t0=0)
# optimizer name -> its row; the settings are torch.optim's constructor arguments by name, and two conventions
# (momentum_form, adam_t0) that say how a course's code differs from torch's
OPTIMIZERS = {
    "sgd": Optimizer(
        dict(momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, momentum_form="torch"),
        _sgd,
        lambda s: (MOMENTUM_FORMS[s["momentum_form"]].key,) if s["momentum"] or s["momentum_form"] != "torch" else (),
    ),
    "rmsprop": Optimizer(
        dict(alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0),
        lambda m, s: (m.RMSprop, s),
        lambda s: ("square_avg",) + ("momentum_buffer",) * (s["momentum"] > 0) + ("grad_avg",) * bool(s["centered"]),
    ),
    "adagrad": Optimizer(
        dict(lr_decay=0.0, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0),
        lambda m, s: (m.Adagrad, s),
        lambda s: ("sum",),
    ),
    "adam": Optimizer(ADAM_SETTINGS, _adam(lambda m: m.Adam), lambda s: ("exp_avg", "exp_avg_sq"), _adam_start),
    "adamw": Optimizer(
        dict(ADAM_SETTINGS, weight_decay=1e-2),
        _adam(lambda m: m.AdamW),
        lambda s: ("exp_avg", "exp_avg_sq"),
        _adam_start,
    ),
}
OPTIMIZER_SETTINGS = tuple(dict.fromkeys(k for row in OPTIMIZERS.values() for k in row.settings))


def optimizer_settings(cfg):
    """{setting: value} of cfg's optimizer, each missing one (None) filled with that optimizer's default."""
    row = OPTIMIZERS[cfg.optimizer]
    return {k: default if getattr(cfg, k) is None else getattr(cfg, k) for k, default in row.settings.items()}


def make_optimizer(module, params, cfg):
    """The configured optimizer from `module` (handmade, or reference, which re-exports torch.optim)."""
    row, s = OPTIMIZERS[cfg.optimizer], optimizer_settings(cfg)
    cls, args = row.build(module, s)
    opt = cls(params, lr=cfg.lr, **args)
    if row.start:
        row.start(module, opt, s)
    return opt


def state_keys(cfg):
    """The optimizer state the step keeps per parameter: SGD without momentum keeps none."""
    return OPTIMIZERS[cfg.optimizer].state(optimizer_settings(cfg))


def misplaced(optimizer, given):
    """The line for settings given that `optimizer` does not take, or None."""
    owners = lambda k: [name for name, row in OPTIMIZERS.items() if k in row.settings]  # noqa: E731
    wrong = [k for k in given if k in OPTIMIZER_SETTINGS and k not in OPTIMIZERS[optimizer].settings]
    if not wrong:
        return None
    wrong = [k for k in wrong if owners(k) == owners(wrong[0])]
    names = owners(wrong[0])
    owner = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    many = len(wrong) > 1
    return (
        f"{', '.join('--' + flag(k) for k in wrong)} {'belong' if many else 'belongs'} to --optimizer {owner}, not "
        f"{optimizer}; drop {'them' if many else 'it'}"
    )


def _check_layers(cfg):
    """The layers' settings in flag terms (handmade.ModelConfig checks them again, in its own)."""
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
    if not (number(cfg.bn_momentum) and 0 <= cfg.bn_momentum <= 1):
        raise SettingError(
            f"--bn-momentum must be in [0, 1], torch's sense (running = (1 - m) running + m batch; CS231n's "
            f"momentum 0.9 is --bn-momentum 0.1), got {cfg.bn_momentum}"
        )
    for name in ("bn_eps", "ln_eps"):
        if not (number(getattr(cfg, name)) and getattr(cfg, name) > 0):
            raise SettingError(f"--{flag(name)} must be a positive number (torch's 1e-5), got {getattr(cfg, name)}")
    if not (number(cfg.dropout) and 0 <= cfg.dropout < 1):
        raise SettingError(f"--dropout is the probability of dropping a unit (torch's p), in [0, 1), got {cfg.dropout}")
    if cfg.embedding is not None and len(cfg.embedding) == 2 and cfg.sizes and cfg.sizes[0] % cfg.embedding[1]:
        V, D = cfg.embedding
        raise SettingError(
            f"--embedding {V}:{D} lays each sample's tokens side by side, {D} numbers each: --sizes starts with "
            f"k x {D} for k tokens, not {cfg.sizes[0]}"
        )
    if (cfg.norm != "none" or cfg.dropout) and len(cfg.sizes) < 3:
        raise SettingError(
            "--norm and --dropout act on the hidden layers, and --sizes has none: add a hidden width or drop them"
        )


def misplaced_layer(cfg, given):
    """The line for a layer's setting given without its layer (--bn-eps without --norm batchnorm), or None."""
    for k in given:
        if k in LAYER_SETTINGS and not LAYER_SETTINGS[k][1](cfg):
            return f"--{flag(k)} belongs to {LAYER_SETTINGS[k][0]}; drop it, or add that layer"
    return None


def check_batches(cfg, n_train):
    """Batch norm in training normalises each batch by its own statistics, which one sample does not have (torch
    refuses it): refuse settings whose batches can hold one sample, the last partial batch of an epoch included."""
    if cfg.norm != "batchnorm":
        return
    batch = min(cfg.batch_size or n_train, n_train)
    if batch == 1:
        raise SettingError(
            "--norm batchnorm needs 2 or more samples a batch (the batch's own mean and variance), and the batches "
            "hold 1: use --batch-size 2 or more, or --norm layernorm"
        )
    if n_train % batch == 1:
        raise SettingError(
            f"--norm batchnorm needs 2 or more samples a batch, and {n_train} training samples in batches of "
            f"{batch} leave a last batch of 1 each epoch: change --batch-size or --n-train"
        )


def _check_optimizer(cfg):
    s = optimizer_settings(cfg)
    ranges = dict(
        momentum=(lambda v: 0 <= v < math.inf, ">= 0"),
        dampening=(lambda v: 0 <= v < math.inf, ">= 0"),
        weight_decay=(lambda v: 0 <= v < math.inf, ">= 0"),
        lr_decay=(lambda v: 0 <= v < math.inf, ">= 0"),
        initial_accumulator_value=(lambda v: 0 <= v < math.inf, ">= 0"),
        eps=(lambda v: 0 < v < math.inf, "a positive number"),
        alpha=(lambda v: 0 <= v <= 1, "in [0, 1]"),
        adam_t0=(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0"),
    )
    for name, (test, what) in ranges.items():
        if name in s and not (isinstance(s[name], (int, float)) and test(s[name])):
            raise SettingError(f"--{flag(name)} must be {what}, got {s[name]}")
    if "betas" in s and (len(s["betas"]) != 2 or not all(0 <= b < 1 for b in s["betas"])):
        raise SettingError(f"--betas must be two numbers in [0, 1), got {','.join(map(str, s['betas']))}")
    form = s.get("momentum_form")
    if form is not None and form not in MOMENTUM_FORMS:
        raise SettingError(f"--momentum-form {form!r} is not one of {', '.join(MOMENTUM_FORMS)}")
    if form not in (None, "torch") and (s["dampening"] or s["nesterov"]):
        raise SettingError(
            f"--momentum-form {form} has no dampening or nesterov (they are torch's form's); drop "
            f"{'--dampening' if s['dampening'] else '--nesterov'}"
        )
    if form == "ema" and not s["momentum"] < 1:
        raise SettingError(f"--momentum-form ema averages with weight --momentum below 1, got {s['momentum']}")
    if s.get("nesterov") and (s["momentum"] <= 0 or s["dampening"] != 0):
        raise SettingError("--nesterov needs --optimizer sgd with --momentum > 0 and --dampening 0")


# -- lr schedules --------------------------------------------------------------------------------------------------
class Schedule(NamedTuple):
    args: tuple  # the arguments' names; those in `whole` are whole numbers
    whole: tuple
    build: object  # (backend module, optimizer, initial lr, *arguments) -> the scheduler (handmade's, or torch's)
    text: str  # what it does, t counting epochs (or iterations, with -iter)
    example: str


# kind -> its row: stepped once per epoch, or once per iteration (after every update) as KIND-iter:...
SCHEDULES = {
    "step": Schedule(("K", "G"), ("K",), lambda m, o, lr0, k, g: m.StepLR(o, int(k), g), "x G every K", "step:2:0.5"),
    "exp": Schedule(("G",), (), lambda m, o, lr0, g: m.ExponentialLR(o, g), "x G each time", "exp:0.9"),
    "inv": Schedule(
        ("D",), (), lambda m, o, lr0, d: m.LambdaLR(o, lambda t: 1 / (1 + d * t)), "lr/(1 + D t)", "inv:0.3"
    ),
    "stair": Schedule(
        ("D", "K"),
        ("K",),
        lambda m, o, lr0, d, k: m.LambdaLR(o, lambda t: 1 / (1 + d * (t // int(k)))),
        "lr/(1 + D floor(t/K))",
        "stair:0.5:2",
    ),
    "at": Schedule(
        ("N", "LR"),
        ("N",),
        lambda m, o, lr0, n, lr: m.LambdaLR(o, lambda t: 1.0 if t < n else lr / lr0),
        "LR from t = N on",
        "at:3:0.01",
    ),
}
PER_ITERATION = "-iter"


def schedule_usage():
    kinds = [f"{k}:{':'.join(s.args)} ({s.text})" for k, s in SCHEDULES.items()]
    return (
        f"give --lr-schedule as {', '.join(kinds[:-1])} or {kinds[-1]}, t counting epochs, or iterations as "
        f"KIND{PER_ITERATION}:... (inv{PER_ITERATION}:D is NNFS's decay)"
    )


def parse_schedule(text):
    """'step:10:0.5' -> ('step', [10.0, 0.5], 'epoch'); 'inv-iter:0.01' -> ('inv', [0.01], 'iteration'); None ->
    None. SettingError with one line when malformed."""
    if text is None:
        return None
    kind, *args = text.split(":")
    unit = "iteration" if kind.endswith(PER_ITERATION) else "epoch"
    kind = kind.removesuffix(PER_ITERATION)
    if kind not in SCHEDULES or len(args) != len(SCHEDULES[kind].args):
        raise SettingError(f"--lr-schedule {text!r} is not understood; {schedule_usage()}")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise SettingError(f"--lr-schedule {text!r} has a value that is not a number; {schedule_usage()}") from None
    row = SCHEDULES[kind]
    whole = [v for name, v in zip(row.args, values) if name in row.whole]
    if not all(math.isfinite(v) and v > 0 for v in values) or any(v != int(v) for v in whole):
        named = f" ({' and '.join(row.whole)} whole)" if row.whole else ""
        raise SettingError(f"--lr-schedule {text!r} needs positive numbers{named}; {schedule_usage()}")
    return kind, values, unit


def make_schedule(module, optimizer, cfg):
    """The configured schedule on `optimizer`, from `module` (handmade, or reference: torch's), or None."""
    parsed = parse_schedule(cfg.lr_schedule)
    if parsed is None:
        return None
    kind, values, _ = parsed
    return SCHEDULES[kind].build(module, optimizer, cfg.lr, *values)


def advance(schedule, cfg, epoch_end):
    """Step `schedule` after an update, as a training loop calls scheduler.step(): after every update for a
    per-iteration schedule, at the end of each epoch for the others."""
    if schedule is not None and (epoch_end or parse_schedule(cfg.lr_schedule)[2] == "iteration"):
        schedule.step()


def lr_at(cfg, n_train, step):
    """The lr of step `step` (from 0) under cfg's schedule, as the sides step it through advance()."""
    holder = _Lr(cfg.lr)
    schedule = make_schedule(handmade, holder, cfg)
    per_epoch = math.ceil(n_train / (cfg.batch_size or n_train))
    for k in range(step):
        advance(schedule, cfg, (k + 1) % per_epoch == 0)
    return holder.lr


@dataclass
class _Lr:
    lr: float  # what a schedule sets: the lr of an optimizer, or of a network that owns its update


# -- gradient clipping ---------------------------------------------------------------------------------------------
# setting -> the function from a backend module (handmade, or reference: torch.nn.utils'), called with its limit
CLIPS = {"clip_value": lambda m: m.clip_grad_value_, "clip_norm": lambda m: m.clip_grad_norm_}


def make_clip(module, cfg):
    """params -> None: the configured clipping of the gradients, in place, from `module`; or None."""
    for name, fn in CLIPS.items():
        limit = getattr(cfg, name)
        if limit is not None:
            clip = fn(module)
            return lambda params: clip(params, limit)
    return None


def update(optimizer, params, clip):
    """One optimizer step, the gradients clipped first: between backward and the step, as a torch training loop
    calls clip_grad_norm_. The step reads clipped copies, and each .grad holds the raw gradient again afterwards:
    the backward phase compares the raw ones, and clipping belongs to the update."""
    if clip is None:
        optimizer.step()
        return
    raw = [p.grad for p in params]
    for p, g in zip(params, raw):
        if g is not None:
            p.grad = g.clone() if hasattr(g, "clone") else g.copy(order="K")
    clip(params)
    optimizer.step()
    for p, g in zip(params, raw):
        p.grad = g


def bounds_settings(cfg):
    """What lockstep/judge/bounds.py needs of the training beyond torch's hyperparameters: the momentum form, the
    clipping of gradients and of the loss's probabilities."""
    form = optimizer_settings(cfg).get("momentum_form", "torch")
    return dict(momentum_form=form, clip_value=cfg.clip_value, clip_norm=cfg.clip_norm, prob_clip=cfg.prob_clip)


def layers_text(c):
    """The embedding, norm and dropout of resolved settings `c`, with their conventions where not torch's."""
    parts = [f"embedding {c['embedding'][0]}:{c['embedding'][1]}"] if c.get("embedding") else []
    if c.get("norm", "none") != "none":
        extra = []
        if c["norm"] == "batchnorm":
            extra += [f"momentum {c['bn_momentum']:g}"] * (c["bn_momentum"] != 0.1)
            extra += ["unbiased variance"] * (c["bn_variance"] == "unbiased")
            extra += ["biased running variance"] * (c["bn_running_variance"] == "biased")
        eps = c["bn_eps"] if c["norm"] == "batchnorm" else c["ln_eps"]
        extra += [f"eps {eps:g}"] * (eps != 1e-5)
        parts.append(c["norm"] + (f" ({', '.join(extra)})" if extra else ""))
    if c.get("dropout"):
        parts.append(f"dropout {c['dropout']:g}" + (f" {c['dropout_form']}" if c["dropout_form"] != "inverted" else ""))
    return ", ".join(parts)


def training_text(c):
    """The optimizer, its settings, the schedule and the clipping of resolved settings `c`, for the report."""
    row = OPTIMIZERS[c["optimizer"]]
    shown = []
    for k, default in row.settings.items():
        v = c[k]
        if k == "momentum_form" and v == "torch":
            continue
        if v != default or k == "weight_decay" and v or k == "momentum" and c["optimizer"] == "sgd":
            shown.append(
                k
                if v is True
                else f"{k} {','.join(f'{b:g}' for b in v)}"
                if k == "betas"
                else f"{k} {v:g}"
                if isinstance(v, (int, float))
                else f"{k} {v}"
            )
    text = " ".join([f"{c['optimizer']} lr {c['lr']:g}"] + shown)
    text += f" schedule {c['lr_schedule']}" if c["lr_schedule"] else ""
    for name in CLIPS:
        text += f" {name.replace('_', ' ')} {c[name]:g}" if c.get(name) is not None else ""
    return text


def batch_order(n, batch_size, steps, rng):
    """Yield (index array, epoch ends here) for each step: a fresh permutation of range(n) per epoch from rng, cut
    into batches; the last partial batch of an epoch is kept, as torch's DataLoader does (drop_last=False)."""
    done = 0
    while done < steps:
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            if done == steps:
                return
            done += 1
            yield perm[start : start + batch_size], start + batch_size >= n
