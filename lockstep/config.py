"""The run configuration: one small dataclass and the presets, shared by compare.py, the tests and the benchmark."""
import math
from dataclasses import asdict, dataclass, field

import handmade


@dataclass
class Config:
    sizes: list = field(default_factory=lambda: [784, 128, 64, 10])
    activation: str = "relu"
    loss: str = "cross_entropy"
    output: str | None = None  # None: the loss's natural output (softmax, sigmoid, identity for mse)
    init: str = "torch"
    l2: float = 0.0  # classic penalty l2/(2m) sum W^2
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float | None = None  # None: the optimizer's own default (0; 1e-2 for adamw)
    batch_size: int | None = 64  # None: full batch, the whole training set at once
    steps: int | None = None  # None: run `epochs` epochs
    epochs: int = 1
    n_train: int | None = None  # None: all the training images there are
    train_cap: int | None = None  # a preset's "up to N images": n_train when the data has more
    dtype: str = "float64"
    seed: int = 0
    data: str = "embedded"
    data_dir: str | None = None
    scale: str = "unit"
    resync: bool = False

    def model_args(self, dtype=None):
        """The constructor arguments shared by handmade.MLP and reference.MLP."""
        return dict(sizes=self.sizes, activation=self.activation, loss=self.loss, output=self.output,
                    init=self.init, l2=self.l2, dtype=dtype or self.dtype)

    def total_steps(self, n_train):
        return self.steps if self.steps is not None else self.epochs * math.ceil(n_train / (self.batch_size or n_train))

    def as_dict(self):
        return asdict(self)

    def validate(self):
        """Raise ValueError with one line naming the bad setting and the fix."""
        handmade.check_config(self.sizes, self.activation, self.loss, self.output, self.init, self.dtype, self.l2)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        positive = dict(lr=self.lr, epochs=self.epochs)
        if self.batch_size is not None:
            positive["batch_size"] = self.batch_size
        if self.steps is not None:
            positive["steps"] = self.steps
        if self.n_train is not None:
            positive["n_train"] = self.n_train
        for name, value in positive.items():
            if not value > 0 or not math.isfinite(value):
                raise ValueError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"--seed must be a whole number >= 0, got {self.seed}")
        for name in ("momentum", "dampening", "weight_decay"):
            value = getattr(self, name)
            if value is not None and (value < 0 or not math.isfinite(value)):
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
        weights = sum(n_in * n_out for n_in, n_out in zip(self.sizes, self.sizes[1:]))
        if weights > 2e8:  # each side keeps several copies (parameters, gradients, state, snapshots) in two dtypes
            raise ValueError(f"--sizes {','.join(map(str, self.sizes))} has {weights:.2g} weights, more than this tool "
                             "handles (2e8); use smaller layers")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0 or self.dampening != 0):
            raise ValueError("--nesterov needs --optimizer sgd with --momentum > 0 and --dampening 0")


    def resolved(self, n_train):
        """The settings as used: defaults that depend on others filled in (for reports)."""
        output = handmade.check_config(self.sizes, self.activation, self.loss, self.output, self.init, self.dtype,
                                       self.l2)
        wd = self.weight_decay if self.weight_decay is not None else 0.01 if self.optimizer == "adamw" else 0.0
        sgd = self.optimizer == "sgd"
        return dict(self.as_dict(), output=output, weight_decay=wd, batch_size=min(self.batch_size or n_train, n_train),
                    steps=self.total_steps(n_train), n_train=n_train, momentum=self.momentum if sgd else None,
                    dampening=self.dampening if sgd else None, nesterov=self.nesterov if sgd else None)


PRESETS = {
    "seed": dict(sizes=[784, 5, 5, 10], activation="sigmoid", loss="bce", l2=1.0, init="uniform", scale="symmetric",
                 optimizer="sgd", lr=2.0, momentum=0.0, batch_size=None, steps=5, train_cap=30000),
    "fixed": dict(sizes=[784, 256, 10], activation="sigmoid", loss="bce", l2=1e-4, init="xavier", scale="unit",
                  optimizer="sgd", lr=0.5, momentum=0.0, batch_size=32, epochs=15),
    "modern": dict(sizes=[784, 256, 128, 10], activation="relu", loss="cross_entropy", init="kaiming",
                   scale="standard", optimizer="adam", lr=1e-3, batch_size=64, epochs=10),
}
PRESET_HELP = {
    "seed": "the stuck network of the question: 784-5-5-10 sigmoid, bce + l2 1, uniform init, [-1,1] inputs, "
            "full-batch gradient descent lr 2 for 5 iterations on up to 30,000 images",
    "fixed": "what the answers recommend: a wide hidden layer, xavier init, mini-batches, small lr and l2, 15 epochs",
    "modern": "relu, cross-entropy, Adam, kaiming init, standardised inputs, 10 epochs",
}


def make_optimizer(module, params, cfg):
    """The configured optimizer from `module` (handmade, or reference, which re-exports torch.optim)."""
    wd = {} if cfg.weight_decay is None else dict(weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return module.SGD(params, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening,
                          nesterov=cfg.nesterov, **wd)
    return OPTIMIZERS[cfg.optimizer](module)(params, lr=cfg.lr, **wd)


OPTIMIZERS = {"sgd": lambda m: m.SGD, "adam": lambda m: m.Adam, "adamw": lambda m: m.AdamW}


def batch_order(n, batch_size, steps, rng):
    """Yield the index array of each step: a fresh permutation of range(n) per epoch from rng, cut into
    batches; the last partial batch of an epoch is kept, as torch's DataLoader does (drop_last=False)."""
    done = 0
    while done < steps:
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            if done == steps:
                return
            yield perm[start:start + batch_size]
            done += 1

