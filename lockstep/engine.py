"""Lockstep training: the side under test and the torch twin take the same batches, and after every step every
tensor of sides.plan() is compared, in the order the step computed it.

Every step is first compared under a fixed tolerance (lockstep/judge/tolerance.py): cheap, and enough for almost
every step of a correct run. Only a step with an excess is judged, by the rule of lockstep/judge/judge.py:

  1. A step whose two sides started apart (accumulated rounding) is re-run from the state of the side under
     test before it. If the re-run is within tolerance, it was drift: the twin is re-anchored to that state.
  2. From one shared state, every tensor's difference is compared with the rounding that the step's own terms
     allow (lockstep/judge/bounds.py, a running error analysis of the twin's computation). Within it: rounding, and
     the twin is re-anchored.
  3. Beyond it, in float64: the side is re-run in extended precision (np.longdouble). A maths difference
     survives more precision; the side's own rounding (a less stable formula than torch's) shrinks with it.
     If the extended-precision side agrees with the twin within the twin's own rounding, the difference was
     the side's rounding: agreement, with a note. Otherwise, or when the side cannot be raised, divergence.
  4. Beyond it, in float32: both sides are re-run in float64 and judged as above. If float64 disagrees, it is a
     real bug. If float64 agrees, the side's float32 arithmetic is less accurate than stable float32 arithmetic
     of the same maths: tolerated when isolated, divergence (float32_only) when it recurs at 3 steps in a row
     or produces a non-finite value.

A NaN or inf that appears at the same tensor in both sides is a blow-up of training itself, not a
difference: the run stops with the verdict blew_up. One on one side only is divergence.
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
from .judge.tolerance import BLIND, TOLERANCES, cancellation, compare_all
from .sides import Twin, plan, timed


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
    steps: list = field(default_factory=list)  # one dict per step
    first_divergence: dict | None = None
    non_finite: dict | None = None
    blew_up: bool = False
    drift: list = field(default_factory=list)  # steps where the twin was re-anchored, and why
    notes: list = field(default_factory=list)  # differences judged to be the side's own rounding
    floor: dict = field(default_factory=dict)  # phase -> the smallest relative difference the run could detect
    timing: dict = field(default_factory=lambda: dict(handmade_s=0.0, reference_s=0.0))
    scene: dict | None = None  # the divergence step's tensors and the state before it, for the suspect finder

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


class Lockstep:
    """Train the side under test and its torch twin on X (n, d), Y (n, k) in lockstep; see run().
    rng is the one Generator, which built the side's initial weights and now shuffles."""

    def __init__(self, cfg, X, Y, side, rng):
        self.cfg, self.X, self.Y, self.side, self.rng = cfg, X, Y, side, rng
        self.n_train = len(X)
        self.twin = Twin(cfg, cfg.dtype, side.params(), self.n_train)
        self.plan = [
            (phase, name)
            for phase, name in plan(cfg)
            if phase in side.phases and (side.records or not name.endswith((".dz", ".da")))
        ]
        self.n_steps = cfg.total_steps(len(X))
        self.batch_size = cfg.batch_size or len(X)  # None: full batch
        self.last = f"layers.{len(cfg.sizes) - 2}"  # the output layer
        self._replay = {}  # dtype -> (side, twin) used to re-run one step from a given state
        self._scratch = {}  # compare()'s reusable difference buffers
        self.step = 0

    # -- one step ------------------------------------------------------------------------------------------------
    def pairs(self, side, twin):
        ours, theirs = side.tensors(), twin.tensors()
        return [(phase, name, ours[phase, name], theirs[phase, name]) for phase, name in self.plan]

    def compare(self, pairs, twin, dtype, Y):
        """The fixed-tolerance pass: Checks in plan order, and the output gradient's cancellation factor."""
        acts = twin.net._acts
        c = cancellation(acts[f"{self.last}.a"].detach().numpy(), Y, acts[f"{self.last}.z"].grad.numpy())
        return compare_all(pairs, TOLERANCES[dtype], self._scratch, c), c

    def replay(self, dtype, pre, twin_pre, X, Y):
        """Re-run one step in `dtype` on both sides from the saved states: a Local (pairs, checks, twin)."""
        if dtype not in self._replay:
            self._replay[dtype] = self.side.at(dtype), Twin(self.cfg, dtype, self.side.params(), self.n_train)
        side, twin = self._replay[dtype]
        side.restore(pre)
        twin.load(side.params(), side.optimizer_state(), twin_pre, pre.get("lr"))
        X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        side.step(X, Y)
        twin.step(X, Y)
        pairs = self.pairs(side, twin)
        return judge.Local(pairs, *self.compare(pairs, twin, dtype, Y), twin, side, dtype)

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
                twin.load(side.params(), side.optimizer_state())
            twin_step = self._pool.submit(timed, twin.step, X, Y)
            loss_o, seconds = timed(side.step, X, Y)
            loss_t, twin_seconds = twin_step.result()
            out.timing["handmade_s"] += seconds
            out.timing["reference_s"] += twin_seconds
            pairs = self.pairs(side, twin)
            checks, cancel = self.compare(pairs, twin, dtype, Y)
            record = self._record(self.step, loss_o, loss_t, checks)
            out.steps.append(record)
            for phase in {c.phase for c in checks}:
                floor = tol.for_phase(phase) * (cancel if phase in ("backward", "optimizer") else 1.0)
                out.floor[phase] = max(out.floor.get(phase, 0.0), floor)
            if on_step:
                on_step(record)
            if not all(c.ok for c in checks):
                local = judge.Local(pairs, checks, cancel, twin, side, dtype)
                verdict = judge.judge(self, local, synced, pre, twin_pre, X, Y, streak, out)
                if verdict == "stop":
                    return out
                if verdict == "re-anchor":
                    record["drift"] = True
                    sync = True
            else:
                streak.clear()
            if epoch_end:
                side.end_epoch()
                twin.end_epoch()
        return out

    @staticmethod
    def _record(step, loss_o, loss_t, checks):
        """One step's entry: both losses and the largest errors (inf where a value was NaN or inf)."""
        phase_rel = {}
        for c in checks:
            phase_rel[c.phase] = max(phase_rel.get(c.phase, 0.0), c.max_rel)
        return dict(
            step=step,
            loss=dict(handmade=loss_o, reference=loss_t),
            max_abs_err=max((c.max_abs for c in checks), default=0.0),
            max_rel_err=max((c.max_rel for c in checks), default=0.0),
            phase_rel_err=phase_rel,
            tensors=len(checks),
            ok=all(c.ok for c in checks),
            drift=False,
        )
