"""The catalogue of classic backprop bugs. Each bug is one Bug, defined in one place below:

  its name and one-line description; the settings that expose it (so `--inject-bug NAME` needs no other flag)
  and what any settings must keep for it to show (`needs`); how it changes the computation (a subclass of
  handmade.MLP, or of a handmade optimizer, that overrides one method as the buggy code would write it); the
  handmade line that the change replaces (`replaces`, for the report); where the locator must find it under its
  own settings (`expect`); and `predict`, what that buggy code would have computed from the reference's own
  tensors, which the suspect finder matches (lockstep/findings/signatures.py).

handmade itself stays a plain, correct MLP: a bug reaches it only through its subclasses.
"""

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import handmade
from handmade import layers, losses
from handmade.layers import sigmoid_forward
from handmade.mlp import MLP

from ..config import OPTIMIZERS, PRESETS, make_optimizer, optimizer_settings, update
from .signatures import fit, ratio_fit


@dataclass
class Bug:
    name: str
    description: str
    setup: dict  # Config fields that expose the bug
    needs: object  # cfg -> None, or the reason these settings cannot show the bug
    expect: tuple  # (phase, tensor) where the locator must find it, under `setup`
    replaces: tuple  # (handmade function, a piece of the line the bug replaces)
    predict: object  # Scene -> (residual, evidence) or None
    net: object = None  # cfg -> the MLP subclass to build (or None: handmade.MLP)
    optimizer: object = None  # (params, cfg) -> the buggy optimizer (or None: the configured one)
    update: object = None  # (optimizer, params, clip) -> one update in the buggy order (or None: config.update)

    def source(self):
        """(file, line, text) of the handmade line this bug replaces; (file, None, None) if the source on disk no
        longer holds that line (handmade edited while it runs)."""
        func, piece = self.replaces
        lines, start = inspect.getsourcelines(func)
        root = Path(handmade.__file__).resolve().parent.parent
        file = str(Path(inspect.getsourcefile(func)).resolve().relative_to(root))
        k = next((k for k, text in enumerate(lines) if piece in text), None)
        return (file, None, None) if k is None else (file, start + k, lines[k].strip())


CATALOGUE = []


def _needs(**rules):
    """needs(cfg) from rules {field: (test, what it must be)}."""

    def needs(cfg):
        for field, (test, what) in rules.items():
            if not test(getattr(cfg, field)):
                return f"--{field.replace('_', '-')} must be {what}"
        return None

    return needs


HIDDEN = dict(sizes=(lambda s: len(s) > 2, "a net with a hidden layer"))
BATCH = dict(batch_size=(lambda b: b is None or b > 1, "above 1"))


def _buggy_optimizer(cls):
    """(params, cfg) -> cls built with the configured optimizer's settings."""

    def build(params, cfg):
        _, args = OPTIMIZERS[cfg.optimizer].build(handmade, optimizer_settings(cfg))
        return cls(params, lr=cfg.lr, **args)

    return build


# -- sigmoid-prime-of-a ---------------------------------------------------------------------------------------
class SigmoidPrimeOfA(MLP):
    def hidden_delta(self, i, dz_above):
        da = dz_above @ self.layers[i + 1].weight.data
        s = sigmoid_forward(self.acts[f"layers.{i}.a"])  # sigma(a): the derivative taken at the activation
        return da * s * (1 - s)


def predict_sigmoid_prime_of_a(s):
    if s.cfg.activation != "sigmoid":
        return None
    return s.fit_hidden_dz(
        lambda da, z, a: da * sigmoid_forward(a) * (1 - sigmoid_forward(a)),
        "matches dL/da * sigma'(a): sigmoid's derivative taken at the activation a, not at z",
    )


CATALOGUE.append(
    Bug(
        "sigmoid-prime-of-a",
        "sigmoid's derivative applied to the activation, sigma'(a), instead of to z",
        dict(sizes=[784, 64, 32, 10], activation="sigmoid", lr=0.5, steps=20),
        _needs(activation=(lambda a: a == "sigmoid", "sigmoid"), **HIDDEN),
        ("backward", "layers.1.dz"),
        (layers.sigmoid_backward, "return da * a * (1 - a)"),
        predict_sigmoid_prime_of_a,
        net=lambda cfg: SigmoidPrimeOfA,
    )
)


# -- missing-mean -----------------------------------------------------------------------------------------------
class MissingMean(MLP):
    def output_delta(self, Y):
        return super().output_delta(Y) * len(Y)  # the sum over the batch, not the mean


def predict_missing_mean(s):
    """Every gradient m times too large: the data term's 1/m is missing (an l2 term, if any, kept its own)."""
    if s.phase != "backward" or s.m == 1:
        return None
    ours, ref = s.divergent()
    l2 = s.l2_grad(s.tensor) if not s.tensor.endswith(".dz") else 0.0
    res, _ = fit(ours, s.m * (ref - l2) + l2, "")
    r, _ = ratio_fit(ours - l2, ref - l2)
    if r is None:
        return None
    return res, f"gradients are {r:.1f}x the reference = the batch size m: a missing 1/m"


CATALOGUE.append(
    Bug(
        "missing-mean",
        "the output gradient is summed over the batch, not averaged: a missing 1/m",
        dict(steps=20),
        _needs(**BATCH),
        ("backward", "layers.2.dz"),
        (MLP._reduce, "total / m"),
        predict_missing_mean,
        net=lambda cfg: MissingMean,
    )
)


# -- bias-grad-one-sample ---------------------------------------------------------------------------------------
class BiasGradOneSample(MLP):
    def layer_grads(self, i, dz):
        dW, db = super().layer_grads(i, dz)
        return dW, dz[0].copy()  # one sample's dz, not the sum over the batch


def predict_bias_one_sample(s):
    if not s.tensor.endswith(".bias") or s.phase != "backward":
        return None
    ours, _ = s.divergent()
    dz = s.ref[f"layers.{s.layer()}.dz"]  # (m, out)
    k = int(np.argmin(np.abs(dz - ours).max(axis=1)))
    return fit(ours, dz[k], f"equals row {k} of dL/dz (one sample) instead of the sum over the batch")


CATALOGUE.append(
    Bug(
        "bias-grad-one-sample",
        "the bias gradient is taken from one sample instead of summed over the batch",
        dict(steps=20),
        _needs(**BATCH, bias=(bool, "on")),
        ("backward", "layers.2.bias"),
        (layers.linear_backward, "db = dz.sum(axis=0)"),
        predict_bias_one_sample,
        net=lambda cfg: BiasGradOneSample,
    )
)


# -- regularised-bias -------------------------------------------------------------------------------------------
class RegularisedBias(MLP):
    def layer_grads(self, i, dz):
        dW, db = super().layer_grads(i, dz)
        b = self.layers[i].bias.data
        return dW, db + self.config.l2 / self.config.divisor(len(dz)) * b  # the penalty reaches the biases too


def predict_regularised_bias(s):
    if not s.cfg.l2 or not s.tensor.endswith(".bias") or s.phase != "backward":
        return None
    ours, ref = s.divergent()
    return fit(
        ours - ref,
        s.cfg.l2 / s.l2_divisor * s.pre_param(s.tensor),
        f"differs from the reference by exactly l2*b/d (l2 {s.cfg.l2:g}, d {s.l2_divisor}): the biases are regularised",
    )


CATALOGUE.append(
    Bug(
        "regularised-bias",
        "the l2 penalty's gradient is applied to the biases as well as the weights",
        dict(l2=5.0, steps=20),
        _needs(l2=(lambda v: v > 0, "above 0"), bias=(bool, "on"), bias_penalty=(lambda v: not v, "off")),
        ("backward", "layers.2.bias"),
        (MLP.layer_grads, "dW += "),
        predict_regularised_bias,
        net=lambda cfg: RegularisedBias,
    )
)


# -- transposed-weight ------------------------------------------------------------------------------------------
class TransposedWeight(MLP):
    def hidden_delta(self, i, dz_above):
        W = self.layers[i + 1].weight.data
        da = dz_above @ (W.T if W.shape[0] == W.shape[1] else W)  # W^T where W belongs; only a square W runs
        return self.hidden.backward(da, self.acts[f"layers.{i}.z"], self.acts[f"layers.{i}.a"])


def _square_hidden(cfg):
    ok = any(n_in == n_out for n_in, n_out in zip(cfg.sizes[1:-1], cfg.sizes[2:]))
    return None if ok else "--sizes needs two equal hidden widths in a row (a square weight to transpose)"


def predict_transposed_weight(s):
    found = s.fit_hidden_dz(
        None,
        "matches backpropagation through W^T where W belongs (dz W^T for dz W)",
        W_used=lambda W, i: W.T if W.shape[0] == W.shape[1] else None,
    )
    if found:
        return found
    ours, ref = s.divergent()
    if s.phase == "backward" and ours.ndim == 2 and ours.shape == ref.shape and ours.shape[0] == ours.shape[1]:
        return fit(ours, ref.T, "equals the reference transposed: a transposed weight gradient")
    return None


CATALOGUE.append(
    Bug(
        "transposed-weight",
        "backward multiplies by W^T where W belongs (dz W^T for dz W); only a square W lets it run",
        dict(sizes=[784, 64, 64, 10], steps=20),
        _square_hidden,
        ("backward", "layers.0.dz"),
        (MLP.hidden_delta, "da = dz_above @"),
        predict_transposed_weight,
        net=lambda cfg: TransposedWeight,
    )
)


# -- softmax-no-max-shift ---------------------------------------------------------------------------------------
class SoftmaxNoMaxShift(MLP):
    def forward(self, X, masks=None):
        super().forward(X, masks)
        last = len(self.layers) - 1
        e = np.exp(self.acts[f"layers.{last}.z"])  # no z - max(z): exp overflows once a logit passes ln(max float)
        a = self.acts[f"layers.{last}.a"] = e / e.sum(axis=1, keepdims=True)  # and inf / inf is NaN
        return a


def predict_softmax_no_shift(s):
    nf = s.non_finite
    if not nf or not nf.side or nf.ref or s.cfg.loss != "cross_entropy":
        return None
    z = s.ref.get(f"layers.{s.n_layers - 1}.z")
    if z is None:
        return None
    limit = float(np.log(np.finfo(z.dtype).max))
    if z.max() <= limit:
        return None
    return 0.0, (
        f"the output went non-finite in the side under test only, when the largest logit reached "
        f"{z.max():.1f} > ln(max {z.dtype}) = {limit:.1f}: exp(z) overflowed, softmax without subtracting "
        "the row max"
    )


CATALOGUE.append(
    Bug(
        "softmax-no-max-shift",
        "softmax computes exp(z) without subtracting the row max, so it overflows",
        dict(dtype="float32", scale="none", lr=0.05, steps=20),  # raw pixels: logits past ln(3.4e38) = 88.7 at once
        _needs(loss=(lambda v: v == "cross_entropy", "cross_entropy")),
        ("forward", "layers.2.a"),
        (losses.softmax, "e = np.exp(z - z.max("),
        predict_softmax_no_shift,
        net=lambda cfg: SoftmaxNoMaxShift,
    )
)


# -- relu-grad-wrong-tensor -------------------------------------------------------------------------------------
class ReluGradWrongTensor(MLP):
    def hidden_delta(self, i, dz_above):
        da = dz_above @ self.layers[i + 1].weight.data
        return da * (da > 0)  # masked by the incoming gradient, not by z > 0


CATALOGUE.append(
    Bug(
        "relu-grad-wrong-tensor",
        "relu's derivative is taken from the upstream gradient (da > 0), not from z",
        dict(steps=20),
        _needs(activation=(lambda a: a in ("relu", "leaky_relu"), "relu or leaky_relu"), **HIDDEN),
        ("backward", "layers.1.dz"),
        (layers.relu_backward, "return da * (z > 0)"),
        lambda s: (
            s.fit_hidden_dz(
                lambda da, z, a: da * (da > 0),
                "matches dL/da masked by (dL/da > 0): relu's derivative taken from the upstream "
                "gradient instead of from z",
            )
            if s.cfg.activation in ("relu", "leaky_relu")
            else None
        ),
        net=lambda cfg: ReluGradWrongTensor,
    )
)


# -- momentum-dampened-first-step -------------------------------------------------------------------------------
class DampenedFirstStepSGD(handmade.SGD):
    def step(self):
        for p in self.params:
            buf = self.state[p].setdefault("momentum_buffer", np.zeros_like(p.data))  # a zero buffer: the first
            buf *= self.momentum  # step's gradient is dampened too, where torch starts with buf = g
            buf += (1 - self.dampening) * p.grad
            p.data -= self.lr * buf


def predict_dampened_first_step(s):
    if s.phase != "optimizer" or not s.tensor.endswith("momentum_buffer") or s.step != 0:
        return None
    ours, ref = s.divergent()
    r, res = ratio_fit(ours, ref)
    d = s.hyper["dampening"]
    if r is None or abs(r - (1 - d)) > 1e-6:
        return None
    return res, (
        f"only the optimizer state disagrees: momentum buffers are {r:.2f}x torch's on the first step "
        f"= 1 - dampening: dampening applied on the first step, which torch skips"
    )


CATALOGUE.append(
    Bug(
        "momentum-dampened-first-step",
        "SGD momentum starts from a zero buffer, so dampening scales the first step (torch starts with buf = g)",
        dict(momentum=0.9, dampening=0.5, steps=20),
        _needs(
            optimizer=(lambda o: o == "sgd", "sgd"),
            momentum=(lambda m: m > 0, "above 0"),
            dampening=(lambda d: d > 0, "above 0"),
            nesterov=(lambda n: not n, "off"),
        ),
        ("optimizer", "layers.0.weight.momentum_buffer"),
        (handmade.SGD.step, 'momentum_buffer"] = g.copy('),
        predict_dampened_first_step,
        optimizer=_buggy_optimizer(DampenedFirstStepSGD),
    )
)


# -- adam-eps-inside-sqrt, adam-no-bias-correction: Adam as textbooks often write it --------------------------------
class TextbookAdam(handmade.Adam):
    """Adam with the bias-corrected estimates written out; `direction` is where the two bugs differ."""

    def step(self):
        (b1, b2), eps = self.betas, self.eps
        for p in self.params:
            state = self.state[p]
            if not state:
                state.update(step=0.0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
            state["step"] += 1
            g = p.grad
            if self.weight_decay:
                if self.decoupled_weight_decay:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * g * g
            p.data -= self.lr * self.direction(m, v, t, b1, b2, eps)


class EpsInsideSqrtAdam(TextbookAdam):
    @staticmethod
    def direction(m, v, t, b1, b2, eps):
        return (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps)  # sqrt(v_hat + eps)


class NoBiasCorrectionAdam(TextbookAdam):
    @staticmethod
    def direction(m, v, t, b1, b2, eps):
        return m / (np.sqrt(v) + eps)  # m and v used as they are


def _adam_fit(direction, text):
    """Predict the updated parameter from torch's new moments and the state before the step."""

    def predict(s):
        if s.phase != "update" or s.cfg.optimizer not in ("adam", "adamw"):
            return None
        if not all(ok for (ph, _), ok in s.checks.items() if ph == "optimizer"):
            return None
        h = s.hyper
        (b1, b2), eps = h["betas"], h["eps"]
        m, v = s.ref[f"{s.tensor}.exp_avg"], s.ref[f"{s.tensor}.exp_avg_sq"]
        p = s.pre_param(s.tensor)
        if h.get("decoupled_weight_decay") or s.cfg.optimizer == "adamw":
            p = p * (1 - h["lr"] * h["weight_decay"])
        ours, _ = s.divergent()
        return fit(ours, p - h["lr"] * direction(m, v, s.ref[f"{s.tensor}.step"], b1, b2, eps), text)

    return predict


ADAM = dict(optimizer=(lambda o: o in ("adam", "adamw"), "adam or adamw"))
CATALOGUE.append(
    Bug(
        "adam-eps-inside-sqrt",
        "Adam divides by sqrt(v_hat + eps) instead of sqrt(v_hat) + eps",
        dict(optimizer="adam", lr=1e-3, steps=20),
        _needs(**ADAM),
        ("update", "layers.0.weight"),
        (handmade.Adam.step, "denom = np.sqrt(v)"),
        _adam_fit(
            EpsInsideSqrtAdam.direction,
            "only the update disagrees, and it matches Adam with eps inside the square root",
        ),
        optimizer=_buggy_optimizer(EpsInsideSqrtAdam),
    )
)
CATALOGUE.append(
    Bug(
        "adam-no-bias-correction",
        "Adam without bias correction of its moment estimates",
        dict(optimizer="adam", lr=1e-3, steps=20),
        _needs(**ADAM),
        ("update", "layers.0.weight"),
        (handmade.Adam.step, "step_size = self.lr / (1 - beta1**t)"),
        _adam_fit(
            NoBiasCorrectionAdam.direction, "only the update disagrees, and it matches Adam without bias correction"
        ),
        optimizer=_buggy_optimizer(NoBiasCorrectionAdam),
    )
)


# -- stale-weights ----------------------------------------------------------------------------------------------
class StaleWeights(MLP):
    """The layer above is updated (plain SGD, lr) before the gradient below it is computed."""

    def __init__(self, *args, lr, **kw):
        super().__init__(*args, **kw)
        self.lr = lr

    def hidden_delta(self, i, dz_above):
        W = self.layers[i + 1].weight
        stepped = W.data - self.lr * W.grad  # W already stepped by its full gradient: the update came first
        da = dz_above @ stepped
        return self.hidden.backward(da, self.acts[f"layers.{i}.z"], self.acts[f"layers.{i}.a"])


def predict_stale_weights(s):
    """The layer above was stepped before dz was propagated through it: by lr * its gradient (plain SGD), or by
    lr * its new momentum buffer."""
    if s.cfg.optimizer != "sgd":
        return None
    lr, mu = s.hyper["lr"], s.hyper["momentum"]

    def stepped(W, i):
        name = f"layers.{i}.weight"
        g = s.ref[f"grad:{name}"]
        if mu:
            buf = s.pre_state(name, "momentum_buffer")
            g = g if buf is None else mu * buf + (1 - s.hyper["dampening"]) * g
        return W - lr * g

    return s.fit_hidden_dz(
        None,
        "matches backpropagation through the already-updated weights of the layer above: "
        "that layer was stepped before this gradient was computed",
        W_used=stepped,
    )


CATALOGUE.append(
    Bug(
        "stale-weights",
        "a layer is updated before the gradient below it is computed, so backward uses the new weights",
        dict(momentum=0.0, lr=0.1, steps=20),
        _needs(optimizer=(lambda o: o == "sgd", "sgd"), momentum=(lambda m: m == 0, "0 (plain SGD)"), **HIDDEN),
        ("backward", "layers.1.dz"),
        (MLP.hidden_delta, "da = dz_above @"),
        predict_stale_weights,
        net=lambda cfg: lambda *a, **kw: StaleWeights(*a, lr=cfg.lr, **kw),
    )
)


# -- bias-rows-only ---------------------------------------------------------------------------------------------
class BiasRowsOnly(MLP):
    def layer_grads(self, i, dz):
        W = self.layers[i].weight
        _, db = super().layer_grads(i, dz)
        dW = self.config.l2 / self.config.divisor(len(dz)) * W.data  # the weight rows keep only the l2 term
        return dW, db


def predict_bias_rows_only(s):
    if not s.tensor.endswith(".weight") or s.phase != "backward":
        return None
    if not s.agrees("backward", s.tensor[: -len("weight")] + "bias"):
        return None
    ours, _ = s.divergent()
    res, _ = fit(ours, s.l2_grad(s.tensor) * np.ones_like(ours), "")
    what = "holds only the l2 term l2*W/d" if s.cfg.l2 else "is all zeros"
    return res, (
        f"the weight gradient {what} while the bias gradient agrees: only row 0 (the biases) of each "
        "layer's gradient is filled"
    )


CATALOGUE.append(
    Bug(
        "bias-rows-only",
        "the gradient loop fills only row 0 (the biases) of each layer: the question's code",
        dict(PRESETS["seed"]),
        _needs(bias=(bool, "on")),
        ("backward", "layers.2.weight"),
        (layers.linear_backward, "dW = (x.T @ dz).T"),
        predict_bias_rows_only,
        net=lambda cfg: BiasRowsOnly,
    )
)


# -- the optimizers, momentum forms and clipping: predicted by re-running the buggy update --------------------------
def _rerun(s, build, grad=None):
    """What an optimizer from build(params, cfg) computes for the divergent tensor's parameter, from the state the
    step started from and the reference's gradient (or `grad`): the new parameter, or the state tensor named. None
    when the divergent tensor is no optimizer state or updated parameter."""
    if s.phase not in ("optimizer", "update") or s.pre is None:
        return None
    name, key = s.tensor.rsplit(".", 1) if s.phase == "optimizer" else (s.tensor, None)
    p = handmade.Param(np.array(s.pre_param(name)), np.array(s.ref[f"grad:{name}"] if grad is None else grad))
    opt = build([p], s.cfg)
    opt.lr = s.hyper["lr"]  # this step's, after any schedule
    before = s.pre["state"].get(name) or {}
    if before:
        opt.state[p] = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in before.items()}
    opt.step()
    return opt.state[p].get(key) if key else p.data


def _rerun_fit(build, text, applies):
    """A prediction: the divergent tensor as build's buggy optimizer computes it, where applies(cfg)."""

    def predict(s):
        if not applies(s.cfg):
            return None
        predicted = _rerun(s, build)
        return None if predicted is None else fit(s.divergent()[0], predicted, text)

    return predict


class EpsInsideSqrtRMSprop(handmade.RMSprop):
    """RMSprop as often written (TensorFlow's order): eps inside the square root."""

    def step(self):
        for p, g, state in self.with_grad():
            if not state:
                state.update(step=0.0, square_avg=np.zeros_like(p.data))
            state["step"] += 1
            s = state["square_avg"]
            s *= self.alpha
            s += (1 - self.alpha) * (g * g)
            p.data -= self.lr * g / np.sqrt(s + self.eps)  # sqrt(s + eps), not sqrt(s) + eps


RMSPROP = dict(optimizer=(lambda o: o == "rmsprop", "rmsprop"))
CATALOGUE.append(
    Bug(
        "rmsprop-eps-inside-sqrt",
        "RMSprop divides by sqrt(s + eps) instead of sqrt(s) + eps",
        dict(optimizer="rmsprop", lr=1e-3, steps=20),
        _needs(**RMSPROP, momentum=(lambda m: not m, "0"), centered=(lambda c: not c, "off")),
        ("update", "layers.0.weight"),
        (handmade.RMSprop.step, "d += self.eps"),
        _rerun_fit(
            _buggy_optimizer(EpsInsideSqrtRMSprop),
            "only the update disagrees, and it matches RMSprop with eps inside the square root, g / sqrt(s + eps)",
            lambda cfg: cfg.optimizer == "rmsprop",
        ),
        optimizer=_buggy_optimizer(EpsInsideSqrtRMSprop),
    )
)


class CacheResetAdagrad(handmade.Adagrad):
    """Adagrad whose cache is made anew at every step: the sum of squares holds only this step's gradient."""

    def step(self):
        for p, g, state in self.with_grad():
            state["step"] += 1
            clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
            state["sum"] = g * g  # the cache reset: the sum forgets every earlier step
            p.data -= clr * (g / (np.sqrt(state["sum"]) + self.eps))


CATALOGUE.append(
    Bug(
        "adagrad-cache-reset",
        "Adagrad resets its cache every step, so the sum of squared gradients holds only the last one",
        dict(optimizer="adagrad", lr=0.01, initial_accumulator_value=0.1, steps=20),
        _needs(optimizer=(lambda o: o == "adagrad", "adagrad")),
        ("optimizer", "layers.0.weight.sum"),
        (handmade.Adagrad.step, "s += g * g"),
        _rerun_fit(
            _buggy_optimizer(CacheResetAdagrad),
            "the sum of squares equals this step's g^2 alone: the Adagrad cache is reset every step",
            lambda cfg: cfg.optimizer == "adagrad",
        ),
        optimizer=_buggy_optimizer(CacheResetAdagrad),
    )
)


class SignFlippedVelocity(handmade.SGDVelocity):
    """The velocity form with its sign flipped: v = mu v + lr g, p += v, a step uphill."""

    def step(self):
        for p, g, state in self.with_grad():
            v = state.setdefault("velocity", np.zeros_like(p.data))
            v *= self.momentum
            v += self.lr * g  # + where the velocity takes - lr g
            p.data += v


CATALOGUE.append(
    Bug(
        "velocity-sign-flipped",
        "momentum as a velocity with the sign flipped, v = mu v + lr g then w += v: every step goes uphill",
        dict(momentum_form="velocity", momentum=0.9, steps=20),
        _needs(optimizer=(lambda o: o == "sgd", "sgd"), momentum_form=(lambda f: f == "velocity", "velocity")),
        ("optimizer", "layers.0.weight.velocity"),
        (handmade.SGDVelocity.step, "v -= self.lr * g"),
        _rerun_fit(
            _buggy_optimizer(SignFlippedVelocity),
            "the velocity is mu v + lr g where it should be mu v - lr g: the momentum's sign is flipped",
            lambda cfg: cfg.optimizer == "sgd" and cfg.momentum_form == "velocity",
        ),
        optimizer=_buggy_optimizer(SignFlippedVelocity),
    )
)


def update_then_clip(optimizer, params, clip):
    """The clipping called after the optimizer step, where it no longer changes anything: the update read the raw
    gradients. (The clipped copies stand for what the code would clip too late.)"""
    optimizer.step()
    clip([handmade.Param(p.data, p.grad.copy()) for p in params if p.grad is not None])


def predict_clip_after_update(s):
    if s.cfg.clip_value is None and s.cfg.clip_norm is None:
        return None
    predicted = _rerun(s, lambda params, cfg: make_optimizer(handmade, params, cfg))
    if predicted is None:
        return None
    which = f"--clip-value {s.cfg.clip_value:g}" if s.cfg.clip_value is not None else f"--clip-norm {s.cfg.clip_norm:g}"
    return fit(
        s.divergent()[0],
        predicted,
        f"the gradients agree but the update matches the optimizer on the unclipped gradients: the clipping "
        f"({which}) comes after the update",
    )


CATALOGUE.append(
    Bug(
        "clip-after-update",
        "the gradients are clipped after the optimizer step instead of before it, so the update reads them unclipped",
        dict(clip_norm=0.1, momentum=0.0, steps=20),
        lambda cfg: None if cfg.clip_value is not None or cfg.clip_norm is not None else "--clip-norm must be set",
        ("update", "layers.0.weight"),
        (update, "clip(params)"),
        predict_clip_after_update,
        update=update_then_clip,
    )
)


# -- l1-sign-at-zero --------------------------------------------------------------------------------------------------
class L1SignAtZero(MLP):
    def penalty_grad(self, p, m):
        c, d = self.config, self.config.divisor(m)
        sign = np.ones_like(p)
        sign[p < 0] = -1  # Neural Networks from Scratch's dL1: +1 at exactly 0, where torch's sign(0) is 0
        return (c.l2 / d) * p + (c.l1 / d) * sign


def predict_l1_sign_at_zero(s):
    if not s.cfg.l1 or s.phase != "backward" or s.tensor.endswith((".dz", ".da")):
        return None
    ours, ref = s.divergent()
    at_zero = s.pre_param(s.tensor) == 0
    if not at_zero.any():
        return None
    return fit(
        ours - ref,
        s.cfg.l1 / s.l2_divisor * at_zero,
        f"differs from the reference by l1/d (l1 {s.cfg.l1:g}, d {s.l2_divisor}) exactly where the parameter is 0: "
        "L1's sign taken as +1 at 0, where torch's sign(0) = 0",
    )


CATALOGUE.append(
    Bug(
        "l1-sign-at-zero",
        "L1's gradient takes sign(0) = +1 (ones, -1 where p < 0), where torch's subgradient at 0 is 0",
        dict(l1=1e-2, bias_penalty=True, init="xavier", steps=20),
        _needs(
            l1=(lambda v: v > 0, "above 0"),
            bias_penalty=(bool, "on (the biases start at exactly 0)"),
            init=(lambda v: v in ("xavier", "kaiming"), "xavier or kaiming (zero biases)"),
        ),
        ("backward", "layers.2.bias"),
        (losses.penalty_grad, "np.sign(p)"),
        predict_l1_sign_at_zero,
        net=lambda cfg: L1SignAtZero,
    )
)


# -- softmax-mse-diagonal ------------------------------------------------------------------------------------------
class SoftmaxMseDiagonal(MLP):
    def output_delta(self, Y):
        a = self.acts[f"layers.{len(self.layers) - 1}.a"]
        return self._reduce((a - Y) * a * (1 - a), len(a))  # softmax's derivative as if elementwise: the diagonal


def predict_softmax_mse_diagonal(s):
    if s.cfg.loss != "mse" or s.cfg.output != "softmax" or s.Y is None:
        return None
    if (s.phase, s.tensor) != ("backward", f"layers.{s.n_layers - 1}.dz"):
        return None
    ours, _ = s.divergent()
    a = s.ref[f"layers.{s.n_layers - 1}.a"]
    r = s.cfg.loss_scale / (s.m if s.cfg.reduction == "mean" else 1)
    return fit(
        ours,
        r * (a - s.Y) * a * (1 - a),
        "matches (a - Y) a (1 - a): softmax's backward with only the diagonal of its Jacobian, where every output "
        "of a row depends on every logit (dz_j = a_j (g_j - sum_k g_k a_k))",
    )


CATALOGUE.append(
    Bug(
        "softmax-mse-diagonal",
        "the squared error on a softmax output backpropagated with only the diagonal a(1 - a) of softmax's Jacobian",
        dict(loss="mse", output="softmax", lr=0.5, steps=20),
        _needs(loss=(lambda v: v == "mse", "mse"), output=(lambda v: v == "softmax", "softmax")),
        ("backward", "layers.2.dz"),
        (losses.softmax_backward, "return a * (da - (da * a).sum("),
        predict_softmax_mse_diagonal,
        net=lambda cfg: SoftmaxMseDiagonal,
    )
)

BUGS = {bug.name: bug for bug in CATALOGUE}
