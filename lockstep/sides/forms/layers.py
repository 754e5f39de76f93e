"""Neural Networks from Scratch's layer objects: a factory returns the network's objects in order, e.g.
[dense1, activation1, dense2, loss_activation], or (those, optimizer).

Each object has forward(inputs), which sets .output, and backward(dvalues), which sets .dinputs. A dense object
also holds .weights (in, out) and .biases (1, out), and its backward sets .dweights and .dbiases. The last object is
the loss: its forward(x, y) returns the loss (or, with NNFS's Loss base class, calculate(x, y) does), and its
backward(output, y) sets .dinputs (the combined softmax and cross-entropy, or a loss after an activation object).
The tool runs one step as the book's training loop does: every forward in order, the loss (with the penalties of
the book's regularization_loss(layer)), every backward in reverse. Every object's .output and .dinputs are
compared with the twin's z, a, dL/dz and dL/da, so a wrong backward is named at its object.

Without an optimizer the tool's own updates the parameters, written into the dense objects each step. With the
book's optimizer object (pre_update_params, update_params(layer), post_update_params) the network owns its update,
compared with torch.optim's, with the state it keeps on the layers (stated.py's BOOK_STATE); the settings the
optimizer object holds must be the run's, and the regularizers of the dense objects likewise (stated.py).
"""

import sys
from dataclasses import dataclass, field

import numpy as np

from .. import layouts
from .base import CandidateError, loss_value, where
from .boundary import as_numpy, shape_of, take
from .function import FunctionCandidate
from .keys import Exposed
from .owner import ClassCandidate
from .stated import BOOK_STATE, book_optimizer, check_stated, regularizers, suggest

DENSE = (("weights", "biases", "dweights", "dbiases"), ("W", "b", "dW", "db"))  # a dense object's attributes


@dataclass
class Network:
    """The objects a factory made, read: the positions of the dense ones, their attribute names (a DENSE row), the
    optimizer object or None, and what the factory called each object ({position: name})."""

    objects: list
    dense: list
    attrs: tuple
    optimizer: object = None
    names: dict = field(default_factory=dict)

    def name(self, pos):
        return self.names.get(pos) or f"layers[{pos}]"

    def write(self, params):
        """The parameters [W0, b0, W1, b1, ...] (the user's layout and arrays) into the dense objects."""
        per = len(params) // len(self.dense)
        for i, pos in enumerate(self.dense):
            for attr, value in zip(self.attrs[:per], params[per * i : per * (i + 1)]):
                setattr(self.objects[pos], attr, value)

    def read(self, which):
        """[W0, b0, ...] (which 0: the parameters) or [dW0, db0, ...] (which 2: the gradients) as the objects hold
        them."""
        out = []
        for pos in self.dense:
            for attr in self.attrs[which : which + 2]:
                if not hasattr(self.objects[pos], attr):
                    raise CandidateError(f"{self.name(pos)} has no .{attr} after its backward(); it must set it")
                out.append(getattr(self.objects[pos], attr))
        return out

    def run(self, X, y):
        """One step's forward, loss and backward, as the book's training loop calls them; returns the loss."""
        x = X
        for obj in self.objects[:-1]:
            obj.forward(x)
            x = obj.output
        last = self.objects[-1]
        loss = last.calculate(x, y) if hasattr(last, "calculate") else last.forward(x, y)
        penalty = getattr(last, "regularization_loss", None) or getattr(
            getattr(last, "loss", None), "regularization_loss", None
        )
        if penalty is not None and any(any(regularizers(self.objects[p]).values()) for p in self.dense):
            loss = loss + sum(penalty(self.objects[p]) for p in self.dense)
        last.backward(last.output if "output" in vars(last) else x, y)
        d = last.dinputs
        for obj in reversed(self.objects[:-1]):
            obj.backward(d)
            d = obj.dinputs
        return loss

    def update(self):
        """The book's optimizer step over every dense object."""
        opt = self.optimizer
        opt.pre_update_params()
        for pos in self.dense:
            opt.update_params(self.objects[pos])
        opt.post_update_params()

    def tensors(self, n_layers):
        """[(position, attribute, twin tensor)] of every object's .output and .dinputs: dense i's output is z_i and
        its dinputs dL/da of the layer below; the object after it, a_i and dL/dz_i; a loss after an activation,
        dL/da of the output."""
        out, ends = [], self.dense[1:] + [len(self.objects)]
        for i, (pos, end) in enumerate(zip(self.dense, ends)):
            out.append((pos, "output", f"layers.{i}.z"))
            if i:
                out.append((pos, "dinputs", f"layers.{i - 1}.da"))
            after = list(range(pos + 1, end))
            if after:
                out += [(after[0], "output", f"layers.{i}.a"), (after[0], "dinputs", f"layers.{i}.dz")]
            if i == n_layers - 1 and len(after) >= 2:
                out.append((after[-1], "dinputs", f"layers.{i}.da"))
        return out


def named_call(factory):
    """(factory(), {id(object): the name the factory's own frame gave it}), the names read from its locals as it
    returns (dense1, activation1, ...)."""
    names, code = {}, getattr(factory, "__code__", None)

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is code:
            names.update({id(v): k for k, v in frame.f_locals.items() if not k.startswith("_")})

    previous = sys.getprofile()
    sys.setprofile(profile if code is not None else previous)
    try:
        made = factory()
    finally:
        sys.setprofile(previous)
    return made, names


def looks_like(made):
    """Whether a factory made layer objects: a list of objects with forward and backward, or (that, optimizer)."""
    objects, _ = split(made)
    return bool(objects) and all(
        callable(getattr(o, "forward", None)) and callable(getattr(o, "backward", None)) for o in objects
    )


def split(made):
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], (list, tuple)):
        return list(made[0]), made[1]
    return (list(made), None) if isinstance(made, (list, tuple)) else ([], None)


def network(settings):
    """The user's factory called once, its objects read into a Network; anything not of the form is one line."""
    try:
        made, ids = named_call(settings.obj)
    except (Exception, SystemExit) as e:
        raise CandidateError(f"{settings.spec}() raised {where(e, settings.files)}") from None
    objects, optimizer = split(made)
    who = f"{settings.spec}()"
    if not looks_like(made):
        raise CandidateError(
            f"{who} returned {type(made).__name__}; the layers form is a list of objects with forward() and "
            "backward() (or that list and an optimizer): give --form to choose another"
        )
    for attrs in DENSE:
        dense = [k for k, o in enumerate(objects) if all(hasattr(o, a) for a in attrs[:2])]
        if dense:
            break
    if not dense:
        raise CandidateError(f"{who} returned no dense layer (an object with .weights and .biases)")
    if optimizer is not None and not callable(getattr(optimizer, "update_params", None)):
        raise CandidateError(
            f"{who} returned a {type(optimizer).__name__} beside its layers; an optimizer object has "
            "pre_update_params(), update_params(layer) and post_update_params()"
        )
    names = {k: ids[id(o)] for k, o in enumerate(objects) if id(o) in ids}
    net = Network(objects, dense, attrs, optimizer, names)
    drop = [net.name(k) for k, o in enumerate(objects) if "dropout" in type(o).__name__.lower()]
    if drop and not settings.cfg.dropout:
        raise CandidateError(
            f"{who} returned dropout objects ({', '.join(drop)}), which the lockstep run of a dense network leaves "
            "out: return the layers without them"
        )
    want = settings.cfg.sizes
    held = [shape_of(take(getattr(objects[p], attrs[0]))) for p in dense]
    if len(dense) != len(want) - 1:
        raise CandidateError(
            f"{who} returned {len(dense)} dense layers (.{attrs[0]} of shapes {', '.join(map(str, held))}); --sizes "
            f"{','.join(map(str, want))} has {len(want) - 1}{suggest(held)}"
        )
    return net


def layouts_of(settings):
    """The (layout, layouts.Form) candidates whose shapes are those of the dense objects' parameters, once the
    settings the objects state are found to be the run's."""
    net, cfg = network(settings), settings.cfg
    if not cfg.bias:
        raise CandidateError(f"{settings.spec}()'s dense layers hold .{net.attrs[1]}, and --no-bias has none; drop it")
    check_stated(net, settings)
    held = [np.shape(take(v)) for v in net.read(0)]
    fits = [
        (n, f)
        for n, f in layouts.candidates(cfg.bias)
        if f.container == "list" and layouts.shapes(n, cfg.sizes, cfg.bias, f) == held
    ]
    if not fits:
        weights = held[:: len(held) // len(net.dense)]
        raise CandidateError(
            f"{settings.spec}()'s dense layers hold .{net.attrs[0]} and .{net.attrs[1]} of shapes "
            f"{', '.join(map(str, held))}; no layout of --sizes {','.join(map(str, cfg.sizes))} has those shapes"
            f"{suggest(weights) or ': check --sizes'}"
        )
    return fits


class Objects:
    """What both layer forms share: the Network, its parameters written and read in the user's layout, and its
    objects' .output and .dinputs as intermediates."""

    keyed = False

    def setup(self, settings):
        self.network = network(settings)

    def run_objects(self, X, Y, before):
        """One step of the objects on the tool's batch X, Y (rows): the loss; intermediates to self.inter."""
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)
        try:
            loss = self.network.run(Xu, Yu)
        except (Exception, SystemExit) as e:
            self._fail(e, self.network.read(0), X=Xu, Y=Yu)
        self.returned = self.dtype
        grads = self._from_user(self.network.read(2), "left .dweights, .dbiases")
        self._objects_intermediates(X, Y, before)
        return loss_value(loss, f"{self.who}: the loss object"), grads

    def _objects_intermediates(self, X, Y, before):
        net, L = self.network, len(self.cfg.sizes) - 1
        values = {f"{pos}.{attr}": getattr(net.objects[pos], attr, None) for pos, attr, _ in net.tensors(L)}
        if self.settings.exposed is None and self.found is None:
            matched, ignored = {}, {}
            for pos, attr, tensor in net.tensors(L):
                key, label = f"{pos}.{attr}", f"{net.name(pos)}.{attr}"
                n = self.cfg.sizes[int(tensor.split(".")[1]) + 1]
                if tensor == f"layers.{L - 1}.da" and self.cfg.loss != "mse":
                    ignored[label] = "dL/da of the output, which the twin's loss fuses into dL/dz"
                elif shape_of(take(values[key])) != self.boundary.oriented((len(X), n)):
                    ignored[label] = f"of shape {shape_of(take(values[key]))}, not the shape of {tensor}"
                else:
                    matched[key] = (tensor, label)
            self.found = (self._exposed(matched, values, X, Y, before), tuple(ignored.items()))
        self.inter = {}
        for e in self.exposed:
            value = np.array(self.boundary.to_rows(as_numpy(values.get(e.key))), dtype=self.dtype, order="C")
            self.inter[e.tensor] = value / self.dtype.type(len(X)) if e.per_sample else value

    def _exposed(self, matched, values, X, Y, before):
        from .keys import per_sample

        backward = {
            t: self.boundary.to_rows(as_numpy(values[k])) for k, (t, _) in matched.items() if t.endswith(("dz", "da"))
        }
        each = per_sample(backward, self.reference(X, Y, before), len(X)) if backward else False
        return tuple(Exposed(k, t, each and t.endswith(("dz", "da")), label) for k, (t, label) in matched.items())

    def returned_objects(self):
        """[(array, twin name)] the objects hold after a traced step, for the tracer."""
        net = self.network
        grads = net.read(2)
        out = [(a, n) for a, group in zip(grads, _grad_names(self.layout, self.cfg)) for n in group]
        return out + [
            (getattr(net.objects[int(e.key.split(".")[0])], e.key.split(".")[1]), e.tensor) for e in self.exposed
        ]

    def describe(self, name, index=None, phase=None):
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "layers" and parts[2] in ("weight", "bias"):
            i, kind = int(parts[1]), parts[2]
            pos, row = self.network.dense[i], layouts.LAYOUTS[self.layout]
            which, at = row.element(
                kind, tuple(index) if index is not None else (0, 0)[: 1 + (kind == "weight")], self.cfg.sizes[i]
            )
            attr = self.network.attrs[which + (2 if phase == "backward" else 0)]
            label = f"{self.network.name(pos)}.{attr}"
            if index is None:
                return label + row.whole(kind)
            if kind == "bias" and self.form.bias != "flat":
                at = (at[0], 0) if self.form.bias == "column" else (0, at[0])
            return f"{label}[{', '.join(map(str, at))}]"
        return super().describe(name, index, phase)


def _grad_names(layout, cfg):
    from .base import grad_names

    return grad_names(layout, cfg.sizes, cfg.bias)


class LayersCandidate(Objects, FunctionCandidate):
    """The layer objects with the tool's optimizer: the parameters are written into the dense objects each step,
    and the gradients they leave are applied to both sides alike."""

    phases = ("forward", "loss", "backward", "optimizer", "update")

    def __init__(self, settings, dtype, seed=0):
        FunctionCandidate.__init__(self, settings, dtype, seed)
        self.setup(settings)

    def loss_and_grads(self, X, Y):
        before = self.net.state_dict()
        self.network.write(self._user_params(before))
        return self.run_objects(X, Y, before)

    def traced_call(self, X, Y):
        self.network.write(self._user_params(self.net.state_dict()))
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)
        return (lambda: self.network.run(Xu, Yu)), (lambda result: self.returned_objects())


class LayersOwnUpdate(Objects, ClassCandidate):
    """The layer objects with the book's optimizer object: the network owns its update. The state the book's
    optimizers keep on each layer (BOOK_STATE) is read by torch's names, compared, and given to the twin at every
    step that starts from one state, as handmade's is."""

    def __init__(self, settings, dtype, seed=0, phases=None):
        ClassCandidate.__init__(self, settings, dtype, seed, phases)
        if phases is None:  # with clipping its gradients are its business (as a class's): its update is compared
            self.phases = ("forward",) + self.phases
            if self.state_keys() is not None:
                self.phases = (*self.phases[:-1], "optimizer", self.phases[-1])

    def build(self, init):
        self.setup(self.settings)
        self.network.write(self._user_params(init))
        return self.network

    def has_grads(self):
        return True

    def state_keys(self):
        """{torch state key: the layer's attribute pattern} of the book's optimizer, or None when unknown."""
        wants = book_optimizer(self.net.optimizer) if self.net is not None else {}
        keys = BOOK_STATE.get(wants.get("optimizer"))
        if keys is None:
            return None
        return {} if wants["optimizer"] == "sgd" and not wants.get("momentum") else keys

    def optimizer_state(self):
        """{torch name: {key: array}} of the book optimizer's state on the layers ({} before its first update), or
        None for an optimizer whose state this tool does not know."""
        keys, net = self.state_keys(), self.net
        if keys is None:
            return None
        names = list(self.state)
        out = {name: {} for name in names}
        first, arrays = net.objects[net.dense[0]], {k: p for k, p in keys.items() if k != "step"}
        if not arrays or not all(hasattr(first, p.format(kind="weight")) for p in arrays.values()):
            return out  # before its first update
        for key, pattern in arrays.items():
            held = [getattr(net.objects[p], pattern.format(kind=k)) for p in net.dense for k in ("weight", "bias")]
            state = self._from_user(held if self.cfg.bias else held[::2], f"left .{pattern}")
            for name, value in state.items():
                out[name][key] = value
        if "step" in keys:
            for name in names:
                out[name]["step"] = float(getattr(net.optimizer, keys["step"], 0))
        return out

    def step(self, X, Y, masks=None):
        before = self.state
        self.network = self.net
        self.loss, self.grads = self.run_objects(X, Y, before)
        try:
            self.network.update()
        except (Exception, SystemExit) as e:
            self._fail(e, self.network.read(0))
        self.state = self._from_user(self.network.read(0), "left .weights, .biases after the optimizer's update")
        return self.loss

    def tensors(self):
        out = ClassCandidate.tensors(self)
        for name, state in (self.optimizer_state() or {}).items():
            out.update({("optimizer", f"{name}.{k}"): v for k, v in state.items() if k != "step"})
        return out

    def save(self, into=None):
        snap = ClassCandidate.save(self, into)
        state = self.optimizer_state()
        snap["state"] = state and {n: {k: np.copy(v) for k, v in s.items()} for n, s in state.items()}
        return snap

    def traced_call(self, X, Y):
        net = self.net
        Xu, Yu = self.boundary.batch(X), self.boundary.labels(Y)

        def call():
            self.network = net
            loss = net.run(Xu, Yu)
            net.update()
            return loss

        return call, (lambda result: self.returned_objects())

    def restore(self, snap):
        ClassCandidate.restore(self, snap)
        self.network = self.net
