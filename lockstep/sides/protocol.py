"""The side under test, written down: what the engine, the judge, the gradient check, the suspect finder, the tracer
and the report ask of it. handmade (sides/handmade.py, with or without a planted bug) and every candidate form
(sides/forms/: a function, a class that owns its update, a model object, layer objects; the table is
sides/forms/__init__.py FORMS) implement Side; nothing else is assumed.

Tensors are named as torch names them (layers.{i}.weight (out, in), layers.{i}.z, ...; sides/plan.py lists a step's
tensors by phase), whatever layout the side keeps them in.
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
    def step(self, X, Y):
        """Train on one batch, X (m, d) and Y (m, k) in the side's dtype; returns the loss before the update."""

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
        'state' (optimizer_state() as it was, or None) and 'lr'. `into`, an earlier copy, may be reused."""

    @abstractmethod
    def restore(self, snap):
        """Take the state that save() copied, cast to this side's dtype."""

    @abstractmethod
    def at(self, dtype):
        """A fresh side of the same kind computing in `dtype` (restore() then loads a state into it), or None when it
        cannot compute in that precision."""

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

    def end_step(self, epoch_end):  # noqa: B027 - a side without a schedule does nothing after a step
        """After each step (`epoch_end`: the last of its epoch): an lr schedule steps, per epoch or per iteration."""

    def compares(self, phase, name):
        """Whether the side has the tensor (phase, name) of sides.plan() to compare: every tensor of its phases, but
        z, a and dL/dz only for a side that records them, and dL/da only for a side that says so (a candidate whose
        code exposes it: DLS's dA2, NNFS's dense2.dinputs)."""
        if phase not in self.phases or name.endswith(".da"):
            return False
        return self.records or not name.endswith((".dz", ".z", ".a"))

    def describe(self, name, index=None, phase=None):
        """A torch tensor name (and element) in the user's terms, e.g. "params['W2'][3, 1]" or "dense2.dinputs";
        None when torch's names are the side's own. `phase` tells a gradient from the parameter (both are named
        layers.{i}.weight)."""
        return None

    def locate(self, run, outcome):
        """The source line of the divergence (a dict, see lockstep/trace/), or None when the side has none to name."""
        return None

    def loss_and_grads(self, X, Y):
        """(loss, {name: gradient}) at the current parameters without a step, for a differentiable side."""
        raise NotImplementedError(f"{self.label} has no loss function to differentiate")

    def loss_value(self, X, Y):
        """The loss at the current parameters, for a differentiable side."""
        return self.loss_and_grads(X, Y)[0]
