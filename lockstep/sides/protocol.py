"""The side under test, written down: what the engine, the judge, the gradient check, the suspect finder, the tracer
and the report ask of it. handmade (sides/handmade.py, with or without a planted bug) and every candidate form
(sides/forms/: a function, a class that owns its update, a model object, layer objects; the table is
sides/forms/__init__.py FORMS) implement Side; nothing else is assumed.

Tensors are named as torch names them (layers.{i}.weight (out, in), layers.{i}.z, ...; sides/plan.py lists a step's
tensors by phase), whatever layout the side keeps them in.

Dropout masks ({'layers.{i}.dropout.mask': (m, out_i)}, 1.0 kept and 0.0 dropped) come from the side: a side draws
its own inside step(), or ahead of it (draw_masks()), and masks() says which it applied; the twin is given them.
Every re-run of a step (the judge's replays in other precisions, the tracer) passes that step's masks to step().
"""

from abc import ABC, abstractmethod


class Side(ABC):
    """One side under test, built once for a run; at() makes its twins in other precisions for the judge's re-runs."""

    kind = "side"  # 'handmade', 'handmade+bug' or 'candidate': how the report names it
    label = "side"  # its column in the text report
    phases = ()  # the phases of sides.plan.PHASES it computes (a class without .grads has no backward)
    records = False  # whether it exposes z and a (forward) and dL/dz of every layer, besides gradients and parameters
    bug = None  # the planted Bug (lockstep/findings/bugs.py), for handmade+bug
    differentiable = False  # whether loss_and_grads() can be called without a step (the gradient check)

    @abstractmethod
    def step(self, X, Y, masks=None):
        """Train on one batch, X (m, d) and Y (m, k) in the side's dtype; returns the loss before the update. masks:
        the dropout masks to apply (a re-run of a step), or None: the side draws its own."""

    @abstractmethod
    def tensors(self):
        """{(phase, name): array} of the last step, by torch's names: those of `phases` it has."""

    @abstractmethod
    def params(self):
        """{name: array} the current parameters in torch's layout: live arrays (the gradient check perturbs them)."""

    @abstractmethod
    def optimizer_state(self):
        """{name: {key: array or float}} with torch's keys (momentum_buffer; step, exp_avg, exp_avg_sq), or None for
        a side that keeps its own (the twin then keeps torch's for it)."""

    @abstractmethod
    def save(self, into=None):
        """A copy of the state a step starts from, for restore(): a dict with at least 'params' ({name: array}),
        'buffers' (buffers() as they were), 'state' (optimizer_state() as it was, or None) and 'lr'. `into`, an
        earlier copy, may be reused."""

    @abstractmethod
    def restore(self, snap):
        """Take the state that save() copied, cast to this side's dtype."""

    @abstractmethod
    def at(self, dtype):
        """A fresh side of the same kind computing in `dtype` (restore() then loads a state into it), or None when it
        cannot compute in that precision."""

    def cannot_compute_in(self, dtype):
        """Why at(dtype) gives None, in a few words ("its torch tensors have no np.longdouble"), or None."""
        return None

    @property
    @abstractmethod
    def computes_in(self):
        """The dtype the last step actually computed in (code may compute in float64 whatever it is given)."""

    @abstractmethod
    def identity(self):
        """How the report names this side: a records.Identity."""

    @abstractmethod
    def predict(self, X):
        """Class predictions (n,) of the current parameters, for the test accuracy."""

    def draw_masks(self, m):
        """The dropout masks of the next step of m samples, drawn now from the side's own generator (then given to
        step()), or None for a side that draws them only inside its step (the twin then waits for masks())."""
        return None

    def masks(self):
        """{name: array} the dropout masks the last step applied ({} without dropout)."""
        return {}

    def buffers(self):
        """{name: array} the norms' running statistics (layers.{i}.norm.running_mean, .running_var), live; {} when
        the network has none. save() copies them as 'buffers', restore() takes them back."""
        return {}

    def end_step(self, epoch_end):  # noqa: B027 - a side without a schedule does nothing after a step
        """After each step (`epoch_end`: the last of its epoch): an lr schedule steps, per epoch or per iteration."""

    def compares(self, phase, name):
        """Whether the side has the tensor (phase, name) of sides.plan() to compare: every tensor of its phases for a
        side that records its intermediates (handmade: z, a, dL/da, dL/dz, the norms' statistics, the masks); for
        one that does not, of the backward phase only the parameters' gradients (a candidate overrides this for
        the intermediates its code exposes: DLS's dA2, NNFS's dense2.dinputs)."""
        if phase not in self.phases:
            return False
        return self.records or phase != "backward" or name in self.params()

    def describe(self, name, index=None, phase=None):
        """A torch tensor name (and element) in the user's terms, e.g. "params['W2'][3, 1]" or "dense2.dinputs";
        None when torch's names are the side's own. `phase` tells a gradient from the parameter (both are named
        layers.{i}.weight)."""
        return None

    def locate(self, run, outcome):
        """The source line of the divergence (a dict, see lockstep/trace/), or None when the side has none to name."""
        return None

    def loss_and_grads(self, X, Y, masks=None):
        """(loss, {name: gradient}) at the current parameters without a step, for a differentiable side, with the
        dropout masks given (the gradient check holds them fixed)."""
        raise NotImplementedError(f"{self.label} has no loss function to differentiate")

    def loss_value(self, X, Y, masks=None):
        """The loss at the current parameters, for a differentiable side."""
        return self.loss_and_grads(X, Y, masks)[0]
