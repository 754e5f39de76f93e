"""Lockstep training: the side under test and the torch twin take the same batches, and after every step every
tensor of sides.plan() is compared, in the order the step computed it, under the fixed tolerance
(lockstep/judge/tolerance.py). A step with an excess, and only such a step, is handed to the judge
(lockstep/judge/judge.py) as a StepContext; the engine applies the Decision it returns: re-anchor the twin, go on,
or stop at a divergence or a blow-up. How the judge decides: docs/judging.md.
"""

import contextlib
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .config import batch_order
from .judge import judge
from .judge.tolerance import BLIND, TOLERANCES, cancellation, compare, compare_all
from .records import StepRecord
from .sides import Twin, plan, timed
from .sides.plan import zero_sum


@contextlib.contextmanager
def deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the step in flight is done; yields a function that says whether it came.
    A KeyboardInterrupt raised at an arbitrary bytecode can land inside the thread pool's submit(), between taking
    a lock and the `with` that releases it; the lock then stays held and the process hangs at exit. A second
    Ctrl-C interrupts at once. Outside the main thread, or under a SIGINT handler of someone else's (a notebook
    kernel's), nothing is changed."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: False
        return
    came = []

    def handler(signum, frame):
        if came:
            raise KeyboardInterrupt
        came.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(came)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Outcome:
    """What a run measured: every StepRecord, the first Divergence or NonFinite, whether training blew up in both,
    the re-anchored steps (Drift) and own-rounding Notes, the detection floor per phase, each backend's time, and the
    divergence step's scene (for the suspect finder and the tracer)."""

    steps: list = field(default_factory=list)  # [StepRecord]
    first_divergence: object = None  # Divergence
    non_finite: object = None  # NonFinite
    blew_up: bool = False
    drift: list = field(default_factory=list)  # [Drift]: steps where the twin was re-anchored, and why
    notes: list = field(default_factory=list)  # [Note]: differences judged to be the side's own rounding
    floor: dict = field(default_factory=dict)  # phase -> the smallest relative difference the run could detect
    timing: dict = field(default_factory=lambda: dict(handmade_s=0.0, reference_s=0.0))
    scene: dict | None = None  # the divergence step's tensors and the state before it
    dtype: str = "float64"

    @property
    def verdict(self):
        """blew_up, diverge, or agree; in float32, 'inconclusive' for an agreement the run could not vouch for: some
        phase's detection floor is above BLIND, where float64 would see 10^6 times finer (docs/judging.md)."""
        if self.blew_up:
            return "blew_up"
        if self.first_divergence or self.non_finite:
            return "diverge"
        blind = self.dtype == "float32" and any(floor > BLIND for floor in self.floor.values())
        return "inconclusive" if blind else "agree"

    def apply(self, decision, record, streak):
        """Record the judge's Decision about the step of `record`; `streak` holds the float32-only excesses in a row."""
        for phase, floor in decision.floor.items():
            self.floor[phase] = max(self.floor.get(phase, 0.0), floor)
        if decision.drift:
            self.drift.append(decision.drift)
        if decision.note:
            self.notes.append(decision.note)
        if decision.excess32:
            streak.append(decision.excess32)
        else:
            streak.clear()
        if decision.action == "re-anchor":
            record.drift = True
        if decision.action == "stop":
            self.first_divergence, self.scene = decision.divergence, decision.scene
            self.non_finite, self.blew_up = decision.non_finite, decision.blew_up
        if decision.undrift is not None:  # the streak's steps were no drift
            self.drift = [d for d in self.drift if d.step < decision.undrift]
            for s in self.steps[decision.undrift :]:
                s.drift = False


def pairs_of(plan, side, twin):
    """[(phase, name, ours, ref)] of the last step, in plan order."""
    ours, theirs = side.tensors(), twin.tensors()
    return [(phase, name, ours[phase, name], theirs[phase, name]) for phase, name in plan]


def compare_step(pairs, twin, dtype, Y, last, scratch=None, zeros=None):
    """The fixed-tolerance pass: (Checks in plan order, the output gradient's cancellation factor). `zeros`
    (plan.zero_sum) names the tensors whose exact value is 0: each is measured on the scale of its terms."""
    acts = twin.net._acts
    z = acts[f"{last}.z"]
    c = cancellation(acts[f"{last}.a"].detach().numpy(), Y, z.grad.numpy(), twin.net.config, z.detach().numpy())
    checks = compare_all(pairs, TOLERANCES[dtype], scratch, c)
    if zeros:
        checks = on_terms(pairs, checks, twin, dtype, c, zeros)
    return checks, c


RECORDED = {"dz": "z", "dout": "out", "da": "a"}  # a gradient's name -> the recorded tensor it is the gradient of


def on_terms(pairs, checks, twin, dtype, cancel, zeros):
    """The checks of the zero-sum tensors again, each on the scale of its terms: max over units of the sum over
    the batch of |dL/dz| (squared for a state of squared gradients) instead of its own largest value."""
    out, deltas = list(checks), twin.net._acts
    for k, (phase, name, ours, ref) in enumerate(pairs):
        if zeros.get((phase, name)) is None:
            continue
        source, power = zeros[phase, name]
        head, _, leaf = source.rpartition(".")
        grad = deltas[f"{head}.{RECORDED[leaf]}"].grad
        terms = float(grad.abs().sum(dim=0).max()) ** power if grad is not None else 0.0
        own = float(np.max(np.abs(ref), initial=0.0))
        factor = terms / own if own > 0 and terms > own else 1.0
        out[k] = compare(phase, name, ours, ref, TOLERANCES[dtype], None, cancel * factor)
    return out


class Rerun:
    """Re-runs one step from saved states, for the judge: both sides in any precision (both), or the side under test
    alone (side, e.g. raised to np.longdouble). It keeps one side and one twin per precision."""

    def __init__(self, cfg, side, n_train, plan):
        self.cfg, self.base, self.n_train, self.plan = cfg, side, n_train, plan
        self.last = f"layers.{len(cfg.sizes) - 2}"
        self.zeros = zero_sum(cfg)
        self._both, self._side = {}, {}

    def both(self, dtype, pre, twin_pre, X, Y, masks=None):
        """The step re-run in `dtype` on both sides from `pre` (and the twin's `twin_pre`), with the step's dropout
        masks: a judge.Local."""
        if dtype not in self._both:
            self._both[dtype] = self.base.at(dtype), Twin(self.cfg, dtype, self.base.params(), self.n_train)
        side, twin = self._both[dtype]
        side.restore(pre)
        twin.load(state_of(side), side.optimizer_state(), twin_pre, pre.get("lr"))
        X, Y = cast(X, dtype), Y.astype(dtype, copy=False)
        side.step(X, Y, masks)
        twin.step(X, Y, masks)
        pairs = pairs_of(self.plan, side, twin)
        checks = compare_step(pairs, twin, dtype, Y, self.last, None, self.zeros)
        return judge.Local(pairs, *checks, twin, side, str(np.dtype(dtype)), X, Y)

    def side(self, dtype, pre, X, Y, masks=None):
        """The side under test after the step re-run in `dtype` from `pre` with the step's masks, or None when it
        has no such precision."""
        if dtype not in self._side:
            self._side[dtype] = self.base.at(dtype)
        side = self._side[dtype]
        if side is None:
            return None
        side.restore(pre)
        side.step(cast(X, dtype), Y.astype(dtype), masks)
        return side


def cast(X, dtype):
    """The batch's inputs in `dtype`; integer token indices (an embedding's) stay as they are."""
    return X if X.dtype.kind in "iu" else X.astype(dtype, copy=False)


def state_of(side):
    """What the twin takes from the side: its parameters and its buffers (the running statistics), by name."""
    buffers = side.buffers()
    return {**side.params(), **buffers} if buffers else side.params()


class Lockstep:
    """Train the side under test and its torch twin on X (n, d), Y (n, k) in lockstep; see run().
    rng is the one Generator, which built the side's initial weights and now shuffles."""

    def __init__(self, cfg, X, Y, side, rng):
        self.cfg, self.X, self.Y, self.side, self.rng = cfg, X, Y, side, rng
        self.n_train = len(X)
        self.twin = Twin(cfg, cfg.dtype, state_of(side), self.n_train)
        self.plan = [(phase, name) for phase, name in plan(cfg) if side.compares(phase, name)]
        self.zeros = zero_sum(cfg)
        self.dropout = bool(cfg.dropout)
        self.rerun = Rerun(cfg, side, self.n_train, self.plan)
        self.n_steps = cfg.total_steps(len(X))
        self.batch_size = cfg.batch_size or len(X)  # None: full batch
        self.last = f"layers.{len(cfg.sizes) - 2}"  # the output layer
        self._scratch = {}  # compare_all's reusable difference buffers
        self.step = 0

    def run(self, on_step=None):
        """Train for cfg's steps; stop at the first divergence or blow-up. Returns an Outcome.

        Each backend computes on one thread, and the twin's step runs on a second Python thread at the same
        time as the side's: both libraries release the GIL in their kernels, so two cores work at once. (With
        more threads per library, OpenBLAS's and torch's idle threads spin while the other library works, and
        on a small machine every step costs ten times more.) One thread per computation keeps the numbers
        deterministic."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:  # NaN and inf are findings of the run, not warnings: numpy is told to stay quiet about them
            with (
                threadpool_limits(1, user_api="blas"),
                np.errstate(all="ignore"),
                ThreadPoolExecutor(1, thread_name_prefix="twin") as self._pool,
                deferred_interrupt() as self._interrupted,
            ):
                return self._run(on_step)
        finally:
            torch.set_num_threads(threads)

    def _run(self, on_step):
        out, sync, pre, streak = Outcome(dtype=self.cfg.dtype), True, None, []
        dtype, side, twin = self.cfg.dtype, self.side, self.twin
        own_state = side.optimizer_state() is None  # a candidate that keeps its own optimizer state
        tol = TOLERANCES[dtype]
        for step, (idx, epoch_end) in enumerate(batch_order(len(self.X), self.batch_size, self.n_steps, self.rng)):
            if self._interrupted():  # Ctrl-C, taken here, where no lock of the thread pool is held
                raise KeyboardInterrupt
            self.step = step
            X, Y = self.X[idx], self.Y[idx]  # (m, d), (m, k)
            synced, sync = sync or self.cfg.resync, False
            pre = side.save(pre)  # the state this step starts from, kept for a re-run
            twin_pre = twin.save() if own_state else None
            if synced:  # the twin starts this step from the side's state
                twin.load(state_of(side), side.optimizer_state())
            (loss_o, seconds), (loss_t, twin_seconds), masks = self._both_step(X, Y)
            out.timing["handmade_s"] += seconds
            out.timing["reference_s"] += twin_seconds
            pairs = pairs_of(self.plan, side, twin)
            checks, cancel = compare_step(pairs, twin, dtype, Y, self.last, self._scratch, self.zeros)
            record = self._record(step, loss_o, loss_t, checks)
            out.steps.append(record)
            for phase in {c.phase for c in checks}:
                floor = tol.for_phase(phase) * (cancel if phase in ("backward", "optimizer") else 1.0)
                out.floor[phase] = max(out.floor.get(phase, 0.0), floor)
            if on_step:
                on_step(record)
            if not all(c.ok for c in checks):
                local = judge.Local(pairs, checks, cancel, twin, side, dtype, X, Y)
                context = judge.StepContext(
                    self.cfg,
                    self.n_train,
                    step,
                    synced,
                    pre,
                    twin_pre,
                    X,
                    Y,
                    tuple(streak),
                    side.label,
                    self.rerun,
                    masks,
                )
                decision = judge.decide(context, local)
                out.apply(decision, record, streak)
                if decision.action == "stop":
                    return out
                sync = decision.action == "re-anchor"
            else:
                streak.clear()
            side.end_step(epoch_end)  # a schedule steps per epoch, or per iteration
            twin.end_step(epoch_end)
        return out

    def _both_step(self, X, Y):
        """Both sides' step on one batch, with the same dropout masks: ((loss, seconds) of the side, of the twin,
        the masks or None). The twin's step runs beside the side's, on the second core, unless the side draws its
        masks only inside its step: then the twin waits for them."""
        side, twin, masks = self.side, self.twin, None
        if self.dropout:
            masks = side.draw_masks(len(X))
            if masks is None:
                ours = timed(side.step, X, Y)
                masks = side.masks()
                return ours, timed(twin.step, X, Y, masks), masks
        twin_step = self._pool.submit(timed, twin.step, X, Y, masks)
        ours = timed(side.step, X, Y, masks)
        return ours, twin_step.result(), masks

    @staticmethod
    def _record(step, loss_o, loss_t, checks):
        """One step's StepRecord: both losses and the largest errors (inf where a value was NaN or inf)."""
        phase_rel = {}
        for c in checks:
            phase_rel[c.phase] = max(phase_rel.get(c.phase, 0.0), c.max_rel)
        return StepRecord(
            step=step,
            loss_side=loss_o,
            loss_ref=loss_t,
            max_abs_err=max((c.max_abs for c in checks), default=0.0),
            max_rel_err=max((c.max_rel for c in checks), default=0.0),
            phase_rel_err=phase_rel,
            tensors=len(checks),
            ok=all(c.ok for c in checks),
        )
