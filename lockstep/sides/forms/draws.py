"""The dropout masks a user's own code draws, recovered without changing it, and the random state that makes a re-run
draw them again.

During each call of the user's code (Streams.call(), recording(): the functions below are wrapped for the duration
of the call, and put back always) the arrays it draws are recorded: np.random.rand, random, random_sample, ranf,
sample, uniform, binomial, a Generator made by np.random.default_rng inside the call (its random, uniform,
binomial), torch.rand, rand_like and bernoulli. The draws of a dropout layer's shape (m, out_i) ((out_i, m) for
samples in columns) are that layer's, in the order the layers come (match()); a draw becomes the mask (1.0 kept,
0.0 dropped) by one of the CONVENTIONS, the one under which the twin's forward gives the code's own loss at the
first call (choose(), once, as the layout is chosen):

    u < keep    a uniform draw u in [0, 1) keeps a unit where u < 1 - p   CS231n: (np.random.rand(*x.shape) < p) / p,
                                                                           p its keep probability; Coursera's keep_prob
    u > drop    a uniform draw keeps a unit where u > p                   "drop where u < p"
    draw        a 0/1 draw is the mask itself                             NNFS: np.random.binomial(1, 1 - rate, shape)
    1 - draw    a 0/1 draw marks the dropped units                        np.random.binomial(1, p, shape) as the drops

(p is torch's, the probability of dropping: --dropout P.) The code's random state is the side's own (Streams): the
state np.random (and torch) had when the run began (seeded with --seed before the user's file is imported, seeded()) is
handed to the code at its first call and, at every later call, the state its previous call left, whatever else used
np.random in between; save() keeps it with the step's state, so a re-run of a step (the judge's replays, the tracer)
draws the same numbers. default_rng() without a seed inside the call is given a seed the state counts, so it too
draws again what it drew.

Limits: a function bound before the run (`from numpy.random import rand`), a Generator made before the call, or
another library's random numbers are not seen: the code then draws nothing the tool can record, and one line says so.
"""

import contextlib
import sys
from dataclasses import dataclass

import numpy as np

NUMPY_DRAWERS = ("rand", "random", "random_sample", "ranf", "sample", "uniform", "binomial")
TORCH_DRAWERS = ("rand", "rand_like", "bernoulli")


@dataclass(frozen=True)
class Convention:
    """How a draw u becomes a mask: which draws it reads ('uniform' in [0, 1), or 'binary' 0/1), keep(u, p) -> the
    kept units (p: the probability of dropping), and how the report says it."""

    name: str
    kind: str
    keep: object
    says: str


CONVENTIONS = {
    c.name: c
    for c in [
        Convention(
            "u < keep", "uniform", lambda u, p: u < 1 - p, "kept where the draw u < 1 - p, the keep probability"
        ),
        Convention("u > drop", "uniform", lambda u, p: u > p, "kept where the draw u > p, the drop probability"),
        Convention("draw", "binary", lambda u, p: u != 0, "the 0/1 draw is the mask, 1 kept"),
        Convention("1 - draw", "binary", lambda u, p: u == 0, "the 0/1 draw marks the dropped units"),
    ]
}


def torch_module():
    return sys.modules.get("torch")


def current(fresh=0):
    """The random state the user's code sees now: np.random's global state, torch's (if torch is imported), and the
    count of unseeded default_rng() calls (their seeds)."""
    torch = torch_module()
    return dict(numpy=np.random.get_state(), torch=torch.get_rng_state() if torch else None, fresh=fresh)


def _set(state):
    np.random.set_state(state["numpy"])
    torch = torch_module()
    if torch is not None and state.get("torch") is not None:
        torch.set_rng_state(state["torch"])


@contextlib.contextmanager
def seeded(seed):
    """Inside, np.random (and torch, if imported) start from `seed`; the state they are left in is yielded's
    .state once the block ends, and their state outside is put back. The user's file is imported inside, so its
    code draws the same numbers run after run unless it seeds itself (np.random.seed(1) at import stays its own)."""
    outside, torch = current(), torch_module()
    np.random.seed(seed)
    if torch is not None:
        torch.manual_seed(seed)
    left = Streams(current())
    try:
        yield left
    finally:
        left.state = current()
        _set(outside)


class Streams:
    """The user's code's random state, kept by the side: handed to the code at each call, taken back after it."""

    def __init__(self, state=None):
        self.state = state if state is not None else current()

    def save(self):
        return dict(self.state)

    def restore(self, state):
        self.state = dict(state)

    @contextlib.contextmanager
    def call(self, advance=True):
        """Run the user's code inside: it starts from the side's state and its draws are recorded (the list that
        is yielded, [(function name, array)]); with `advance`, the state it leaves is the next call's. np.random's
        and torch's state outside the call, and every wrapped function, are restored always."""
        outside = current()
        fresh = [self.state.get("fresh", 0)]
        _set(self.state)
        try:
            with recording(fresh) as drawn:
                yield drawn
        finally:
            if advance:
                self.state = current(fresh[0])
            _set(outside)


@contextlib.contextmanager
def recording(fresh=None):
    """Inside, every function of DRAWERS records the 2-D arrays it returns into the list that is yielded, [(function
    name, array)]; `fresh`, [count], seeds default_rng() without a seed. The functions are put back always."""
    drawn = []
    undo = _wrap(drawn, fresh if fresh is not None else [0])
    try:
        yield drawn
    finally:
        for holder, name, original in reversed(undo):
            setattr(holder, name, original)


def _wrap(drawn, fresh):
    """Wrap NUMPY_DRAWERS, default_rng and TORCH_DRAWERS so that each records what it returns into `drawn`; returns
    the (holder, name, original) to put back."""
    undo = []

    def recording(name, f):
        def draw(*args, **kwargs):
            out = f(*args, **kwargs)
            if len(getattr(out, "shape", ())) == 2:
                drawn.append((name, _as_numpy(out)))
            return out

        return draw

    def default_rng(seed=None, *args, **kwargs):
        if seed is None:
            seed, fresh[0] = [fresh[0], 1_000_003], fresh[0] + 1  # a seed the state counts: a re-run draws again
        return Recording(np.random.PCG64(np.random.SeedSequence(seed)), drawn)

    for name in NUMPY_DRAWERS:
        if hasattr(np.random, name):
            undo.append((np.random, name, getattr(np.random, name)))
            setattr(np.random, name, recording(f"np.random.{name}", getattr(np.random, name)))
    undo.append((np.random, "default_rng", np.random.default_rng))
    np.random.default_rng = default_rng
    torch = torch_module()
    for name in TORCH_DRAWERS if torch is not None else ():
        undo.append((torch, name, getattr(torch, name)))
        setattr(torch, name, recording(f"torch.{name}", getattr(torch, name)))
    return undo


class Recording(np.random.Generator):
    """A Generator (np.random.default_rng's, inside the call) whose draws are recorded."""

    def __init__(self, bit_generator, drawn):
        super().__init__(bit_generator)
        self.drawn = drawn

    def _record(self, name, out):
        if np.ndim(out) == 2:
            self.drawn.append((f"Generator.{name}", np.asarray(out)))
        return out

    def random(self, *args, **kwargs):
        return self._record("random", super().random(*args, **kwargs))

    def uniform(self, *args, **kwargs):
        return self._record("uniform", super().uniform(*args, **kwargs))

    def binomial(self, *args, **kwargs):
        return self._record("binomial", super().binomial(*args, **kwargs))


def _as_numpy(x):
    torch = torch_module()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    return np.array(x)


def kind(u):
    """'binary' for a draw of 0s and 1s, else 'uniform'."""
    return "binary" if np.isin(u, (0, 1)).all() else "uniform"


def match(drawn, widths, m, columns, who, p):
    """The draws of the dropout layers, one per hidden layer in order, as rows (m, out_i): those of the recorded
    draws [(function, array)] whose shape is a dropout layer's. A code that draws none, or another number than the
    layers, is one line (a ValueError's message): None and the line, or the draws and None."""
    shape = lambda w: (w, m) if columns else (m, w)  # noqa: E731
    wanted = [shape(w) for w in widths]
    ours = [(f, u) for f, u in drawn if u.shape in wanted]
    layers = ", ".join(f"{s}" for s in wanted)
    need = f"--dropout {p:g} has {len(widths)} dropout layer{'s' * (len(widths) != 1)} ({layers})"
    if not ours:
        seen = f" (it drew {', '.join(f'{f} {u.shape}' for f, u in drawn)})" if drawn else ""
        return None, (
            f"{who} drew no dropout mask during its call{seen}, and {need}: draw each mask inside the call with "
            "np.random.rand (or random, binomial, default_rng, torch.rand) as np.random.rand(*a.shape), or drop "
            "--dropout"
        )
    if [u.shape for _, u in ours] != wanted:
        got = ", ".join(f"{f} {u.shape}" for f, u in ours)
        return None, (
            f"{who} drew {len(ours)} array{'s' * (len(ours) != 1)} of a dropout layer's shape during its call ({got}), "
            f"and {need}: draw one mask per hidden layer, in order, once per call"
        )
    kinds = {kind(u) for _, u in ours}
    if len(kinds) > 1:
        return None, f"{who} drew its masks both as 0/1 draws and as uniform numbers: draw them all alike"
    return [u.T if columns else u for _, u in ours], None


def masks(draws, convention, p, dtype):
    """{'layers.{i}.dropout.mask': (m, out_i)} of 1.0 kept and 0.0 dropped, from the layers' draws (rows)."""
    keep = CONVENTIONS[convention].keep
    return {f"layers.{i}.dropout.mask": np.asarray(keep(u, p), dtype=dtype) for i, u in enumerate(draws)}


def choose(draws, p, dtype, loss_of, loss):
    """(the convention, why in words) under which the twin's forward gives the code's own loss: loss_of(masks) is
    the reference's loss with those masks; the nearest of the conventions of the draws' kind."""
    options = [c for c in CONVENTIONS.values() if c.kind == kind(draws[0])]
    gaps = {c.name: abs(float(loss_of(masks(draws, c.name, p, dtype))) - float(loss)) for c in options}
    best = min(gaps, key=lambda name: (not np.isfinite(gaps[name]), gaps[name]))
    others = "; ".join(f"'{n}' {g:.2g}" for n, g in gaps.items() if n != best)
    return best, (
        f"dropout masks: {CONVENTIONS[best].says} ('{best}'), the convention whose forward gives your loss at the "
        f"first call ({gaps[best]:.2g} apart; {others})"
    )
