"""The run's settings: one small dataclass, the presets and the optimizer and schedule tables.

Every field is a compare.py flag with dashes for underscores (--batch-size is batch_size), and a keyword of
lockstep.check(). validate() raises ValueError with one line that names the bad setting and the fix.
"""

import math
from dataclasses import asdict, dataclass, field, fields

from handmade.config import L2_NORMS, REDUCTIONS, ModelConfig


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
    # training
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float | None = None  # None: the optimizer's own default (0; 1e-2 for adamw)
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    lr_schedule: str | None = None  # 'step:K:G', 'exp:G' or 'inv:D', once per epoch
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
    targets: str = "onehot"  # what a candidate receives as Y: one-hot floats, or integer labels
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
        positive = dict(lr=self.lr, epochs=self.epochs, loss_scale=self.loss_scale, eps=self.eps)
        for name in ("batch_size", "steps", "n_train"):
            if getattr(self, name) is not None:
                positive[name] = getattr(self, name)
        for name, value in positive.items():
            if not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
                raise SettingError(f"--{flag(name)} must be a positive number, got {value}")
        if self.bias_penalty and not self.bias:
            raise SettingError("--bias-penalty penalises the biases, but --no-bias removes them; drop one of them")
        try:
            self.model_args(n_train=1)
        except ValueError as e:
            raise SettingError(str(e)) from None
        unchecked = [name for name, value in LAYER_DEFAULTS.items() if getattr(self, name) != value]
        if unchecked:
            raise SettingError(
                f"{unchecked[0]} {getattr(self, unchecked[0])!r}: handmade.MLP and reference.MLP build these layers "
                "(docs/layers.md), but the lockstep run does not compare them; leave it at its default"
            )
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("l2_norm", L2_NORMS),
            ("reduction", REDUCTIONS),
            ("targets", TARGETS),
        ):
            if getattr(self, name) not in choices:
                raise SettingError(f"--{flag(name)} {getattr(self, name)!r} is not one of {', '.join(choices)}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise SettingError(f"--seed must be a whole number >= 0, got {self.seed}")
        for name in ("momentum", "dampening", "weight_decay"):
            value = getattr(self, name)
            if value is not None and (value < 0 or not math.isfinite(value)):
                raise SettingError(f"--{flag(name)} must be >= 0, got {value}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise SettingError(f"--betas must be two numbers in [0, 1), got {','.join(map(str, self.betas))}")
        weights = sum(n_in * n_out for n_in, n_out in zip(self.sizes, self.sizes[1:]))
        if weights > 2e8:  # each side keeps several copies (parameters, gradients, state, snapshots) in two dtypes
            raise SettingError(
                f"--sizes {','.join(map(str, self.sizes))} has {weights:.2g} weights, more than this tool "
                "handles (2e8); use smaller layers"
            )
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0 or self.dampening != 0):
            raise SettingError("--nesterov needs --optimizer sgd with --momentum > 0 and --dampening 0")
        parse_schedule(self.lr_schedule)

    def resolved(self, n_train):
        """The settings as used: defaults that depend on others filled in (for reports)."""
        output = self.model_args(n_train=n_train).output
        wd = self.weight_decay if self.weight_decay is not None else 0.01 if self.optimizer == "adamw" else 0.0
        sgd = self.optimizer == "sgd"
        return dict(
            self.as_dict(),
            output=output,
            weight_decay=wd,
            batch_size=min(self.batch_size or n_train, n_train),
            steps=self.total_steps(n_train),
            n_train=n_train,
            momentum=self.momentum if sgd else None,
            dampening=self.dampening if sgd else None,
            nesterov=self.nesterov if sgd else None,
            betas=None if sgd else list(self.betas),
            eps=None if sgd else self.eps,
        )


def flag(name):
    return name.replace("_", "-")


FIELDS = [f.name for f in fields(Config)]
MODEL_FIELDS = [f.name for f in fields(ModelConfig)]  # every one of them is a field of Config too
LAYER_DEFAULTS = dict(norm="none", dropout=0.0, embedding=None)  # the layers the lockstep run leaves out
TARGETS = ("onehot", "labels")

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

# optimizer name -> (the class in a backend module, its settings beyond lr, the state keys it keeps)
OPTIMIZERS = {
    "sgd": (
        lambda m: m.SGD,
        lambda c, wd: dict(momentum=c.momentum, dampening=c.dampening, nesterov=c.nesterov, **wd),
        ("momentum_buffer",),
    ),
    "adam": (lambda m: m.Adam, lambda c, wd: dict(betas=tuple(c.betas), eps=c.eps, **wd), ("exp_avg", "exp_avg_sq")),
    "adamw": (lambda m: m.AdamW, lambda c, wd: dict(betas=tuple(c.betas), eps=c.eps, **wd), ("exp_avg", "exp_avg_sq")),
}


def make_optimizer(module, params, cfg):
    """The configured optimizer from `module` (handmade, or reference, which re-exports torch.optim)."""
    cls, args, _ = OPTIMIZERS[cfg.optimizer]
    wd = {} if cfg.weight_decay is None else dict(weight_decay=cfg.weight_decay)
    return cls(module)(params, lr=cfg.lr, **args(cfg, wd))


def state_keys(cfg):
    """The optimizer state the step keeps per parameter: SGD without momentum keeps none."""
    return () if cfg.optimizer == "sgd" and not cfg.momentum else OPTIMIZERS[cfg.optimizer][2]


# schedule kind -> (number of arguments, the scheduler from a backend module (handmade, or reference: torch's),
# an example)
SCHEDULES = {
    "step": (2, lambda m, opt, k, g: m.StepLR(opt, step_size=int(k), gamma=g), "step:2:0.5"),
    "exp": (1, lambda m, opt, g: m.ExponentialLR(opt, gamma=g), "exp:0.9"),
    "inv": (1, lambda m, opt, d: m.LambdaLR(opt, lambda t: 1 / (1 + d * t)), "inv:0.3"),
}


def parse_schedule(text):
    """'step:10:0.5' -> ('step', [10.0, 0.5]); None -> None. ValueError with one line when malformed."""
    if text is None:
        return None
    kind, *args = text.split(":")
    usage = "give --lr-schedule as step:K:G (x G every K epochs), exp:G (x G every epoch) or inv:D (lr/(1 + D t))"
    if kind not in SCHEDULES or len(args) != SCHEDULES[kind][0]:
        raise SettingError(f"--lr-schedule {text!r} is not understood; {usage}")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise SettingError(f"--lr-schedule {text!r} has a value that is not a number; {usage}") from None
    if not all(math.isfinite(v) and v > 0 for v in values) or (kind == "step" and values[0] != int(values[0])):
        raise SettingError(f"--lr-schedule {text!r} needs positive numbers (K a whole number); {usage}")
    return kind, values


def make_schedule(module, optimizer, cfg):
    """The configured per-epoch schedule on `optimizer`, from `module` (handmade, or reference: torch's), or None."""
    parsed = parse_schedule(cfg.lr_schedule)
    if parsed is None:
        return None
    kind, values = parsed
    return SCHEDULES[kind][1](module, optimizer, *values)


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
