"""The forms whose gradients the tool applies: a function f(params, X, Y) -> (loss, grads), and CS231n's model
object (make_model() -> model with .params and .loss(X, y) -> (loss, grads), the contract its Solver trains).

The tool owns the parameters and the optimizer: each step the user's code is handed a fresh copy of the
parameters in its layout (written into model.params, as the Solver writes them), the gradients come back under the
parameters' keys (or dW1, db1, ...), and the configured optimizer (and lr schedule) updates both sides alike. A
Handmade holds the parameters and that optimizer. Intermediates returned beside the gradients (dZ2, dA1) are
compared too (keys.py).

With a batch or layer norm, the norms' weight and bias are parameters like the others (gamma1, beta1 in a dict;
layouts.py). With dropout, the masks are those the code draws during its call (draws.py), given to the twin. A
function keeps its running statistics where it wants, so they are not compared; the test accuracy uses running
statistics that the held Handmade gathers on each step's batch at the candidate's parameters. CS231n's model keeps
them in model.bn_params: they are read and compared, as the forward phase's layers.{i}.norm.running_mean, .running_var.
"""

import numpy as np

import handmade

from ..handmade import Handmade
from ..snapshot import snapshot
from . import draws
from .base import Candidate, CandidateError, loss_value, returned_grads
from .boundary import as_numpy, take


class FunctionCandidate(Candidate):
    """f(params, X, Y) -> (loss, grads)."""

    phases = ("loss", "backward", "optimizer", "update")
    differentiable = True
    gathers = True  # whether predict() needs running statistics gathered by the held Handmade (a model has its own)

    def __init__(self, settings, dtype, seed=0):
        super().__init__(settings, dtype)
        self.held = Handmade(settings.cfg, dtype, seed, settings.n_train)
        self.streams = draws.Streams(settings.streams) if settings.cfg.dropout else None
        self.rule = settings.masks_rule  # (convention, why) of the masks, once the first call has chosen it
        self.recovered = {}  # the masks of the last call
        self.watched = False  # whether a first call was watched for masks in a run without dropout

    net = property(lambda self: self.held.net)  # the parameters

    def _user_call(self, call, advance=True):
        """call() of the user's code -> (what it returned, the arrays it drew). With dropout it runs inside the
        side's random state (draws.Streams); without, its first call is watched for masks drawn all the same."""
        if self.streams is not None:
            with self.streams.call(advance) as drawn:
                return call(), drawn
        if self.watched:
            return call(), []
        self.watched = True
        with draws.recording() as drawn:
            return call(), drawn

    def _masks(self, drawn, X, Y, state, loss, given):
        """The dropout masks of the draws of one call, into self.recovered; the convention is chosen at the first.
        A code that draws a mask of every hidden layer in a run without --dropout is one line."""
        cfg, who = self.cfg, self.what()
        widths, m = cfg.sizes[1:-1], len(X)
        if not cfg.dropout:
            hidden = [u.shape for _, u in drawn if u.shape in {self.boundary.oriented((m, w)) for w in widths}]
            if widths and len(hidden) == len(widths):
                error = CandidateError(
                    f"{who} drew arrays of the hidden layers' shapes during its call ({', '.join(map(str, hidden))}), "
                    "dropout masks as it seems, and the run has no dropout: rerun with --dropout P (torch's p, the "
                    "probability of dropping a unit)"
                )
                error.final = True
                raise error
            return
        found, why = draws.match(drawn, widths, m, self.boundary.columns, who, cfg.dropout)
        if why:
            error = CandidateError(why)
            error.final = True  # the shapes came back right: no other layout changes what the code drew
            raise error
        if self.rule is None:
            loss = loss_value(loss, who)
            self.rule = draws.choose(
                found, cfg.dropout, self.dtype, lambda masks: self.reference_loss(X, Y, state, masks), loss
            )
        self.recovered = draws.masks(found, self.rule[0], cfg.dropout, self.dtype)
        if given is not None and any(not np.array_equal(given[k], v) for k, v in self.recovered.items()):
            error = CandidateError(
                f"{who} drew other dropout masks when its step was re-run from the same random state: its masks must "
                "come from np.random's (or torch's) global state, drawn during the call"
            )
            error.final = True
            raise error

    def reference_loss(self, X, Y, state, masks):
        """handmade's loss of the batch at the parameters `state` with the dropout masks `masks`."""
        net = handmade.MLP(self.cfg.model_args(self.dtype, self.n_train))
        net.load_state_dict(state)
        return net.loss(X, Y, masks)

    def masks(self):
        return self.recovered

    def call(self, params, X, Y):
        """The user's code on one batch: what it returns, (loss, grads)."""
        return self.obj(params, X, Y)

    def what(self):
        """How messages name the call."""
        return self.who

    def loss_and_grads(self, X, Y, masks=None, advance=False):
        """Call the user's code once: (loss, {name: grad}) in torch's layout; its intermediates go to self.inter, its
        dropout masks to self.recovered. Outside a step (the gradient check) the code draws from the random state
        the next step starts from, each call alike."""
        params = self._user_params(self.net.state_dict())
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)
        state = self.net.state_dict()
        try:
            result, drawn = self._user_call(lambda: self.call(params, Xu, Yu), advance)
        except (Exception, SystemExit) as e:  # the candidate's own failure, even sys.exit(), is one line here
            self._fail(e, params, X=Xu, Y=Yu)
        if not isinstance(result, tuple) or len(result) != 2:
            raise CandidateError(f"{self.what()} returned {type(result).__name__}; expected a pair (loss, grads)")
        loss, grads = result
        self.returned = self.dtype
        out = loss_value(loss, self.what()), self._from_user(grads, "returned grads", X=X, Y=Y, before=state)
        self._masks(drawn, X, Y, state, loss, masks)  # the contract kept, what it drew are its masks
        return out

    def traced_call(self, X, Y):
        """The user's call for one traced step, and a function from its result to [(returned array, twin name)]."""
        params = self._user_params(self.net.state_dict())
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)

        def returned(result):
            pair = isinstance(result, tuple) and len(result) == 2
            grads = result[1] if pair else None
            out = [(result[0], "loss")] if pair and np.ndim(as_numpy(result[0])) == 0 else []
            out += returned_grads(grads, self.layout, self.cfg.sizes, self.cfg.bias, self.norm)
            return out + self.returned_intermediates(grads)

        return (lambda: self._user_call(lambda: self.call(params, Xu, Yu), False)[0]), returned

    def step(self, X, Y, masks=None):
        held = self.held
        held.opt.zero_grad()
        if self.streams is None:
            held.loss, grads = self.loss_and_grads(X, Y)
        else:  # the call that draws this step's masks: the random state it leaves is the next step's
            held.loss, grads = self.loss_and_grads(X, Y, masks, advance=True)
        if self.cfg.norm == "batchnorm" and self.gathers:  # running statistics at the code's parameters, for predict()
            held.net.forward(X, self.recovered or None)
        for name, p in held.named:
            p.grad = grads[name]
        held.update(held.opt, [p for _, p in held.named], held.clip)
        return held.loss

    def tensors(self):
        out = self.held.tensors()
        out = {k: v for k, v in out.items() if k[0] != "forward" and not k[1].endswith((".dz", ".da"))}
        out.update(
            {("backward" if name.endswith((".dz", ".da")) else "forward", name): v for name, v in self.inter.items()}
        )
        return out

    def params(self):
        return self.held.params()

    def optimizer_state(self):
        return self.held.optimizer_state()

    def save(self, into=None):
        snap = self.held.save(into)
        if self.streams is not None:
            snap["random"] = self.streams.save()
        return snap

    def restore(self, snap):
        self.held.restore(snap)
        if self.streams is not None:
            self.streams.restore(snap["random"])

    def end_step(self, epoch_end):
        self.held.end_step(epoch_end)

    def at(self, dtype):
        return type(self)(self.settings, dtype) if self.usable_at(dtype) else None

    def predict(self, X):
        """Predictions of the candidate-trained parameters, through handmade's forward."""
        return self.net.predict(X)


class ModelCandidate(FunctionCandidate):
    """CS231n's model object: make_model() builds it once; each step the tool writes the parameters into
    model.params and calls model.loss(X, y) -> (loss, grads); model.loss(X) (test mode: the scores) predicts.
    State the model keeps outside .params (batch norm's running statistics in bn_params) is saved and restored
    with it (buffers() finds it by torch's names)."""

    gathers = False

    def __init__(self, settings, dtype, seed=0):
        super().__init__(settings, dtype, seed)
        self.model = make(settings, CandidateError)
        self.start_statistics()

    def start_statistics(self):
        """Batch norm's running statistics start from the tool's (torch's zeros and ones) in the model's bn_params,
        as its parameters start from the tool's: CS231n's batchnorm_forward reads them with bn_param.get(), and
        would otherwise start its running variance from zeros."""
        bn_params = getattr(self.model, "bn_params", None)
        if self.cfg.norm != "batchnorm" or not isinstance(bn_params, list):
            return
        held = self.held.buffers()
        for i, p in enumerate(bn_params):
            for key in ("running_mean", "running_var") if isinstance(p, dict) else ():
                name = f"layers.{i}.norm.{key}"
                if name in held and key not in p:
                    p[key] = np.array(held[name], dtype=self.dtype)

    def compares(self, phase, name):
        """Besides the function form's tensors, the running statistics the model keeps in bn_params."""
        if phase == "forward":
            return name in self.buffers()
        return super().compares(phase, name)

    def what(self):
        return f"{self.who}().loss"

    def call(self, params, X, Y):
        for key, value in params.items():
            self.model.params[key] = value  # as CS231n's Solver does: model.params[p] = next_w
        return self.model.loss(X, Y)

    def buffers(self):
        """{torch name: array} of the running statistics the model keeps outside .params: CS231n's
        bn_params[i]['running_mean'] and ['running_var'], as layers.{i}.norm.running_mean and .running_var."""
        out = {}
        for i, p in enumerate(getattr(self.model, "bn_params", None) or []):
            for key in ("running_mean", "running_var"):
                if isinstance(p, dict) and key in p:
                    out[f"layers.{i}.norm.{key}"] = np.asarray(as_numpy(p[key]), dtype=np.float64)
        return out

    def tensors(self):
        out = super().tensors()
        out.update({("forward", k): v for k, v in self.buffers().items()})  # after this step's update of them
        return out

    def save(self, into=None):
        snap = super().save(into)
        params, self.model.params = self.model.params, {}  # the parameters are the held ones: not copied twice
        try:
            snap["model"] = snapshot(self.model)
        finally:
            self.model.params = params
        return snap

    def restore(self, snap):
        super().restore(snap)
        params = self.model.params
        self.model = snapshot(snap["model"])
        self.model.params = params

    def predict(self, X):
        """The model's own test mode: the class of the largest score of model.loss(X) (one output: score > 0)."""
        params = self._user_params(self.net.state_dict())
        Xu = self.boundary.batch(X)
        try:
            scores = take(self.call_test(params, Xu))
        except (Exception, SystemExit) as e:
            self._fail(e, params, X=Xu)
        scores = self.boundary.to_rows(np.asarray(scores, dtype=np.float64))
        if scores.ndim != 2 or scores.shape[0] != len(X):
            raise CandidateError(
                f"{self.who}().loss(X) (test mode) returned scores of shape {np.shape(scores)}; expected "
                f"{self.boundary.oriented((len(X), self.cfg.sizes[-1]))}"
            )
        return (scores[:, 0] > 0).astype(np.int64) if scores.shape[1] == 1 else scores.argmax(axis=1)

    def call_test(self, params, X):
        for key, value in params.items():
            self.model.params[key] = value
        return self.model.loss(X)


def make(settings, error):
    """The model from the user's factory, once; its own failure is one line."""
    from .base import where

    try:
        return settings.obj()
    except (Exception, SystemExit) as e:
        raise error(f"{settings.spec}() raised {where(e, settings.files)}") from None
