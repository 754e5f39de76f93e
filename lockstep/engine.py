"""Lockstep training: the handmade side and the torch twin take the same batches, and after every step every
tensor is compared in the order the step computed it:

    forward    layers.{i}.z, layers.{i}.a               for i = 0 .. L-1
    loss       loss
    backward   layers.{i}.dz, layers.{i}.weight, layers.{i}.bias (their gradients)   for i = L-1 .. 0
    optimizer  layers.{i}.weight.momentum_buffer, .exp_avg, .exp_avg_sq              in parameter order
    update     layers.{i}.weight, layers.{i}.bias (the new values)

The first tensor over tolerance is where divergence begins. An excess is charged to its step only if it
persists when that one step is re-run from one shared state (the handmade side's state before the step), in
float64; otherwise it is rounding drift, and the twin is re-anchored to the handmade state. A float64 step
that started from identical states needs no re-run: it already is that experiment.
"""
import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import handmade
import reference
from .check import TOLERANCES, compare, worst
from .config import batch_order, make_optimizer

STATE_KEYS = ("momentum_buffer", "exp_avg", "exp_avg_sq")
PHASES = ("forward", "loss", "backward", "optimizer", "update")


@dataclass
class Side:
    """A model and its optimizer: handmade (maybe with a planted bug), a user's candidate, or the torch twin."""

    net: object
    opt: object
    _named: list = None

    @property
    def named(self):
        """[(name, parameter)], in torch's order; the parameter objects live as long as the model."""
        if self._named is None:
            self._named = list(self.net.named_parameters())
        return self._named


def train_step(side, X, Y):
    """One step, written once for both backends: they share this API."""
    side.opt.zero_grad()
    loss = side.net.loss(X, Y)
    side.net.backward()
    side.opt.step()
    return loss


def timed_step(side, X, Y):
    """(loss, seconds) of one train_step."""
    t = time.perf_counter()
    loss = train_step(side, X, Y)
    return loss, time.perf_counter() - t


def build_ours(cfg, dtype, seed, bug=None, candidate=None):
    """The side under test: handmade.MLP, with `bug` planted, or wrapped as the user's `candidate`."""
    net = handmade.MLP(**cfg.model_args(dtype), seed=seed)
    if bug is not None:
        return bug.plant(net, cfg)
    if candidate is not None:
        net = candidate.wrap(net)
    return Side(net, make_optimizer(handmade, net.parameters(), cfg))


def build_theirs(cfg, ours, dtype):
    twin = reference.MLP(**cfg.model_args(dtype), seed=0)
    twin.copy_from({name: p.data for name, p in ours.net.named_parameters()})
    return Side(twin, make_optimizer(reference, twin.parameters(), cfg))


# -- state: parameters and optimizer state, as plain numpy, by parameter name ---------------------------------
def snapshot(side, into=None):
    """The handmade side's parameters and optimizer state, copied: {'params': {name: a}, 'state': {name: {}}}.
    Given a previous snapshot `into`, its arrays are reused (copied into), as the engine does every step."""
    snap = into or dict(params={}, state={})
    for name, p in side.net.named_parameters():
        snap["params"][name] = _copy_into(snap["params"].get(name), p.data)
        old = snap["state"].get(name, {})
        snap["state"][name] = {k: (_copy_into(old.get(k), v) if isinstance(v, np.ndarray) else v)
                               for k, v in side.opt.state[p].items()}
    return snap


def _copy_into(keep, a):
    if keep is None or keep.shape != a.shape or keep.dtype != a.dtype or keep.strides != a.strides:
        return a.copy(order="K")
    np.copyto(keep, a)
    return keep


def load_ours(side, snap):
    dtype = side.net.dtype
    for name, p in side.net.named_parameters():
        p.data[...] = snap["params"][name]
        side.opt.state[p] = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v)
                             for k, v in snap["state"][name].items()}


def load_theirs(side, snap):
    side.net.copy_from(snap["params"])
    for name, p in side.net.named_parameters():
        state = {}
        for k, v in snap["state"][name].items():
            if k == "step":
                state[k] = torch.tensor(float(v), dtype=torch.float32)
            else:
                state[k] = torch.from_numpy(np.array(v, dtype=side.net.config["dtype"]))
        side.opt.state[p] = state


# -- the stream of named tensor pairs -----------------------------------------------------------------------
@functools.lru_cache
def _names(n):
    """The tensor names of an n-layer network: forward (z, a per layer), backward (dz, weight, bias per layer,
    output layer first) and parameters, each in computation order."""
    return ([f"layers.{i}.{k}" for i in range(n) for k in ("z", "a")],
            [(f"layers.{i}.dz", f"layers.{i}.weight", f"layers.{i}.bias") for i in range(n - 1, -1, -1)])


def tensor_pairs(ours, theirs, loss_ours, loss_theirs):
    """Yield (phase, name, ours_array, reference_array) in the order the step computed them.
    Tensors the handmade side does not record (a candidate has no activations) are skipped."""
    forward, backward = _names(len(theirs.net.layers))
    acts_o, acts_t = ours.net.acts, theirs.net._acts
    for name in forward:
        if name in acts_o:
            yield "forward", name, acts_o[name], acts_t[name].detach().numpy()
    yield "loss", "loss", np.float64(loss_ours), np.float64(loss_theirs)
    deltas_o, z_t = ours.net.deltas, theirs.net._acts
    grads_o = {name: p.grad for name, p in ours.named}
    grads_t = {name: p.grad for name, p in theirs.named}
    for dz, weight, bias in backward:
        if dz in deltas_o:
            yield "backward", dz, deltas_o[dz], z_t[dz[:-2] + "z"].grad.numpy()
        yield "backward", weight, grads_o[weight], grads_t[weight].numpy()
        yield "backward", bias, grads_o[bias], grads_t[bias].numpy()
    for (name, p), (_, tp) in zip(ours.named, theirs.named):
        state_o, state_t = ours.opt.state.get(p, {}), theirs.opt.state.get(tp, {})
        for key in STATE_KEYS:
            if state_t.get(key) is not None:
                ref = state_t[key].numpy()
                yield "optimizer", f"{name}.{key}", state_o.get(key, np.zeros_like(ref)), ref
    for (name, p), (_, tp) in zip(ours.named, theirs.named):
        yield "update", name, p.data, tp.detach().numpy()


def located(step, checks, pairs, how):
    """The first_divergence record: the first failing check, its 5 worst elements, and who agreed before it."""
    k = next(i for i, c in enumerate(checks) if not c.ok)
    c = checks[k]
    rows = worst(pairs[k][2], pairs[k][3])
    head = rows[0] if rows else dict(index=[], handmade=None, reference=None, abs_err=None, rel_err=None)
    return dict(step=step, phase=c.phase, tensor=c.name, index=head["index"], handmade=head["handmade"],
                reference=head["reference"], abs_err=head["abs_err"], rel_err=head["rel_err"],
                max_rel_err=c.max_rel, worst=rows, agreeing_before=[f"{x.phase}:{x.name}" for x in checks[:k]],
                checked=how)


def scene(theirs, pairs, checks, snap, X, dtype):
    """Copies of everything the suspect finder may need at the divergence step: the compared pairs, every
    tensor the reference recorded (acts, dL/dz, gradients as 'grad:name', optimizer state, new parameters),
    the state before the step and the batch."""
    ref = {name: a.copy() for name, a in theirs.net.acts.items()}
    ref.update({name: a.copy() for name, a in theirs.net.deltas.items()})
    ref.update({f"grad:{name}": g.copy() for name, g in theirs.net.grads().items() if g is not None})
    for name, p in theirs.net.named_parameters():
        ref[name] = p.detach().numpy().copy()
        for key, v in theirs.opt.state.get(p, {}).items():
            if v is not None:
                ref[f"{name}.{key}"] = v.numpy().copy() if key != "step" else float(v)
    return dict(pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in pairs], checks=checks, ref=ref,
                pre=snap, X=np.array(X), dtype=dtype)


@dataclass
class Outcome:
    steps: list = field(default_factory=list)  # one dict per step
    first_divergence: dict | None = None
    non_finite: dict | None = None
    drift: list = field(default_factory=list)  # steps where accumulated rounding was re-anchored
    timing: dict = field(default_factory=lambda: dict(handmade_s=0.0, reference_s=0.0))
    scene: dict | None = None  # the divergence step's tensors and the state before it, for the suspect finder
    interrupted_at: int | None = None

    @property
    def verdict(self):
        return "diverge" if self.first_divergence or self.non_finite else "agree"


class Lockstep:
    """Build both sides from cfg and train them on X (n, d), Y (n, k) in lockstep; see run()."""

    def __init__(self, cfg, X, Y, bug=None, candidate=None):
        self.cfg, self.X, self.Y, self.bug, self.candidate = cfg, X, Y, bug, candidate
        self.tol = TOLERANCES[cfg.dtype]
        self.rng = np.random.default_rng(cfg.seed)  # the one Generator: init first, then every shuffle
        self.ours = build_ours(cfg, cfg.dtype, self.rng, bug, candidate)
        self.theirs = build_theirs(cfg, self.ours, cfg.dtype)
        self.n_steps = cfg.total_steps(len(X))
        self.batch_size = cfg.batch_size or len(X)  # None: full batch
        self._pair64 = None
        self._scratch = {}  # compare()'s reusable difference buffers
        self.step = 0

    def compare_step(self, ours, theirs, loss_o, loss_t, tol):
        pairs = list(tensor_pairs(ours, theirs, loss_o, loss_t))
        return pairs, [compare(phase, name, a, b, tol, self._scratch) for phase, name, a, b in pairs]

    def recheck(self, snap, X, Y):
        """Re-run one step in float64 on both sides from the handmade state `snap`; return (pairs, checks)."""
        if self._pair64 is None:
            ours = build_ours(self.cfg, "float64", 0, self.bug, self.candidate)
            self._pair64 = ours, build_theirs(self.cfg, ours, "float64")
        ours, theirs = self._pair64
        load_ours(ours, snap)
        load_theirs(theirs, snap)
        X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
        loss_o, loss_t = train_step(ours, X64, Y64), train_step(theirs, X64, Y64)
        return self.compare_step(ours, theirs, loss_o, loss_t, TOLERANCES["float64"])

    def run(self, on_step=None):
        """Train for cfg's steps; stop at the first divergence or non-finite value. Returns an Outcome.

        Each backend computes on one thread, and the twin's step runs on a second Python thread at the same
        time as handmade's: both libraries release the GIL in their kernels, so two cores work at once. (With
        more threads per library, OpenBLAS's and torch's idle threads spin while the other library works, and
        on a small machine every step costs ten times more.) One thread per computation keeps the numbers
        deterministic."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:  # NaN and inf are findings of the run, not warnings: numpy is told to stay quiet about them
            with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"), \
                    ThreadPoolExecutor(1, thread_name_prefix="twin") as self._pool:
                return self._run(on_step)
        finally:
            torch.set_num_threads(threads)

    def _run(self, on_step):
        out, sync, snap = Outcome(), True, None
        for self.step, idx in enumerate(batch_order(len(self.X), self.batch_size, self.n_steps, self.rng)):
            X, Y = self.X[idx], self.Y[idx]  # (m, d), (m, k)
            synced, sync = sync or self.cfg.resync, False
            if synced:  # this step starts from one shared state: keep it, for a re-run and for the suspects
                snap = snapshot(self.ours, snap)
                load_theirs(self.theirs, snap)
            twin = self._pool.submit(timed_step, self.theirs, X, Y)
            loss_o, seconds = timed_step(self.ours, X, Y)
            loss_t, twin_seconds = twin.result()
            out.timing["handmade_s"] += seconds
            out.timing["reference_s"] += twin_seconds
            pairs, checks = self.compare_step(self.ours, self.theirs, loss_o, loss_t, self.tol)
            record = self._record(self.step, loss_o, loss_t, checks)
            out.steps.append(record)
            if on_step:
                on_step(record)
            if all(c.ok for c in checks):
                continue
            start = snap if synced else None
            if not all(c.ours_finite and c.ref_finite for c in checks):
                out.non_finite = self._non_finite(self.step, checks, pairs, X)
                out.first_divergence = located(self.step, checks, pairs, self.cfg.dtype)
                out.scene = scene(self.theirs, pairs, checks, start, X, self.cfg.dtype)
                return out
            how, theirs, dtype = f"{self.cfg.dtype}, from identical states", self.theirs, self.cfg.dtype
            if not (synced and self.cfg.dtype == "float64"):
                # Re-run this batch in float64 on both sides from one state: the one this step started from
                # when it was shared, else the handmade state after the step. A bug shows from any state;
                # rounding drift does not.
                start = start or snapshot(self.ours)
                pairs, checks = self.recheck(start, X, Y)
                theirs, dtype = self._pair64[1], "float64"
                how = ("float64 re-run of this step from the same state" if synced else
                       "float64 re-run of this batch from the handmade state after the step")
                if all(c.ok for c in checks):
                    record["drift"] = True
                    out.drift.append(dict(step=self.step, accumulated_rel_err=record["max_rel_err"],
                                          local_rel_err=max(c.max_rel for c in checks)))
                    sync = True  # re-anchor the twin at the next step
                    continue
            out.first_divergence = located(self.step, checks, pairs, how)
            out.scene = scene(theirs, pairs, checks, start, X, dtype)
            return out
        return out

    @staticmethod
    def _record(step, loss_o, loss_t, checks):
        finite = [c for c in checks if c.ours_finite and c.ref_finite]
        phase_rel = {}
        for c in finite:
            phase_rel[c.phase] = max(phase_rel.get(c.phase, 0.0), c.max_rel)
        return dict(step=step, loss=dict(handmade=loss_o, reference=loss_t),
                    max_abs_err=max((c.max_abs for c in finite), default=0.0),
                    max_rel_err=max((c.max_rel for c in finite), default=0.0),
                    phase_rel_err=phase_rel, tensors=len(checks), ok=all(c.ok for c in checks), drift=False)

    def _non_finite(self, step, checks, pairs, X):
        """Where the first NaN or inf appeared in each backend, and whether what fed it was finite."""
        def first(attr):
            for k, c in enumerate(checks):
                if not getattr(c, attr):
                    side = 2 if attr == "ours_finite" else 3
                    before = [float(np.max(np.abs(p[side]))) for p in pairs[:k]]
                    big = max(range(len(before)), key=before.__getitem__, default=None)
                    return dict(phase=c.phase, tensor=c.name,
                                largest_before=None if big is None else dict(tensor=pairs[big][1], value=before[big]))
            return None
        ours, ref = first("ours_finite"), first("ref_finite")
        # The parameters a step starts from are finite: the previous step compared every one of them. So what fed
        # the first non-finite tensor was finite unless the batch itself was not.
        inputs_finite = bool(np.isfinite(X).all())
        same = ours is not None and ref is not None and (ours["phase"], ours["tensor"]) == (ref["phase"], ref["tensor"])
        return dict(step=step, handmade=ours, reference=ref, inputs_finite=inputs_finite, same_place=same)
