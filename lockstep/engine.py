"""Lockstep training: the side under test and the torch twin take the same batches, and after every step every
tensor of lockstep/sides.py's plan is compared, in the order the step computed it.

The first tensor over tolerance is where divergence begins. Only an error that one step makes from one shared
state counts; so an excess at a step whose two sides started apart (accumulated rounding) is re-judged by
re-running that step from the handmade state before it:

  - in float64, a re-run that agrees means rounding drift; one that disagrees is divergence, a real bug.
  - in float32, a re-run that agrees means drift too. A float32 disagreement from one state is then re-run in
    float64: if float64 disagrees, it is a real bug. If float64 agrees, the maths is right and the float32
    arithmetic differs: a relu rounded to the other side of 0 by one backend (seen in the recorded z) is
    drift; anything else is a float32-only disagreement, tolerated when isolated, divergence when it recurs
    at 3 steps in a row (a float32 precision bug recurs; a rounding accident does not).

After drift the twin is re-anchored to the handmade state. The report lists every such step.
"""
import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .check import TOLERANCES, cancellation, compare_all, worst
from .config import batch_order
from .sides import (build_ours, build_theirs, load_ours, load_theirs, plan_for, reference_tensors, snapshot,
                    tensor_pairs, timed_step, train_step)

STREAK = 3  # float32-only disagreements in a row that make divergence


@dataclass
class Outcome:
    steps: list = field(default_factory=list)  # one dict per step
    first_divergence: dict | None = None
    non_finite: dict | None = None
    drift: list = field(default_factory=list)  # steps where the twin was re-anchored, and why
    timing: dict = field(default_factory=lambda: dict(handmade_s=0.0, reference_s=0.0))
    scene: dict | None = None  # the divergence step's tensors and the state before it, for the suspect finder

    @property
    def verdict(self):
        return "diverge" if self.first_divergence or self.non_finite else "agree"


def located(step, checks, pairs, how, float32_only=False):
    """The first_divergence record: the first failing check, its 5 worst elements, who agreed before it, and
    whether float64 agreed from the same state (a float32-only disagreement)."""
    k = next(i for i, c in enumerate(checks) if not c.ok)
    c = checks[k]
    rows = worst(pairs[k][2], pairs[k][3])
    head = rows[0] if rows else dict(index=[], handmade=None, reference=None, abs_err=None, rel_err=None)
    return dict(step=step, phase=c.phase, tensor=c.name, index=head["index"], handmade=head["handmade"],
                reference=head["reference"], abs_err=head["abs_err"], rel_err=head["rel_err"],
                max_abs_err=c.max_abs, max_rel_err=c.max_rel, worst=rows,
                agreeing_before=[x.name if x.phase == "loss" else f"{x.phase} {x.name}" for x in checks[:k]],
                checked=how, float32_only=float32_only)


class Lockstep:
    """Build both sides from cfg and train them on X (n, d), Y (n, k) in lockstep; see run()."""

    def __init__(self, cfg, X, Y, bug=None, candidate=None):
        self.cfg, self.X, self.Y, self.bug, self.candidate = cfg, X, Y, bug, candidate
        self.rng = np.random.default_rng(cfg.seed)  # the one Generator: init first, then every shuffle
        self.ours = build_ours(cfg, cfg.dtype, self.rng, bug, candidate)
        self.theirs = build_theirs(cfg, self.ours, cfg.dtype)
        self.plan = plan_for(cfg, candidate)
        self.n_steps = cfg.total_steps(len(X))
        self.batch_size = cfg.batch_size or len(X)  # None: full batch
        self._replay = {}  # dtype -> (ours, theirs) used to re-run one step from a given state
        self._scratch = {}  # compare()'s reusable difference buffers
        self.step = 0

    def compare_step(self, ours, theirs, loss_o, loss_t, dtype, Y):
        pairs = list(tensor_pairs(self.plan, ours, theirs, loss_o, loss_t))
        out = theirs.net._acts[f"layers.{len(self.cfg.sizes) - 2}.z"]  # the reference's output pre-activation
        c = cancellation(theirs.net._acts[f"layers.{len(self.cfg.sizes) - 2}.a"].detach().numpy(), Y,
                         out.grad.numpy())
        return pairs, compare_all(pairs, TOLERANCES[dtype], self._scratch, c)

    def replay(self, dtype, snap, X, Y):
        """Re-run one step in `dtype` on both sides from the handmade state `snap`: (pairs, checks, twin side)."""
        if dtype not in self._replay:
            ours = build_ours(self.cfg, dtype, 0, self.bug, self.candidate)
            self._replay[dtype] = ours, build_theirs(self.cfg, ours, dtype)
        ours, theirs = self._replay[dtype]
        load_ours(ours, snap)
        load_theirs(theirs, snap)
        X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        loss_o, loss_t = train_step(ours, X, Y), train_step(theirs, X, Y)
        # a candidate that computes in float32 inside is judged at float32's tolerance, even in a float64 re-run
        judged = np.dtype(getattr(ours.net, "returned", dtype)).name
        return (*self.compare_step(ours, theirs, loss_o, loss_t, judged if judged in TOLERANCES else dtype, Y), theirs)

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
        out, sync, snap, streak = Outcome(), True, None, []
        dtype = self.cfg.dtype
        for self.step, idx in enumerate(batch_order(len(self.X), self.batch_size, self.n_steps, self.rng)):
            X, Y = self.X[idx], self.Y[idx]  # (m, d), (m, k)
            synced, sync = sync or self.cfg.resync, False
            snap = snapshot(self.ours, snap)  # the state this step starts from, kept for a re-run
            if synced:  # the twin starts this step from the handmade state
                load_theirs(self.theirs, snap)
            twin = self._pool.submit(timed_step, self.theirs, X, Y)
            loss_o, seconds = timed_step(self.ours, X, Y)
            loss_t, twin_seconds = twin.result()
            out.timing["handmade_s"] += seconds
            out.timing["reference_s"] += twin_seconds
            pairs, checks = self.compare_step(self.ours, self.theirs, loss_o, loss_t, dtype, Y)
            record = self._record(self.step, loss_o, loss_t, checks)
            out.steps.append(record)
            if on_step:
                on_step(record)
            if all(c.ok for c in checks):
                streak.clear()
                continue
            if not all(c.ours_finite and c.ref_finite for c in checks):
                out.non_finite = self._non_finite(self.step, checks, pairs, X)
                out.first_divergence = located(self.step, checks, pairs, dtype)
                out.scene = self._scene(self.theirs, pairs, checks, snap, X, dtype)
                return out
            kind, found = self._judge(synced, pairs, checks, snap, X, Y, streak)
            if kind == "drift":  # rounding: re-anchor the twin at the next step
                record["drift"] = True
                out.drift.append(dict(step=self.step, accumulated_rel_err=record["max_rel_err"], **found))
                sync = True
                continue
            out.first_divergence, out.scene = found
            if out.first_divergence["step"] != self.step:  # a float32-only streak: its steps were no drift
                first = out.first_divergence["step"]
                out.drift = [d for d in out.drift if d["step"] < first]
                for s in out.steps[first:]:
                    s["drift"] = False
            return out
        return out

    def _judge(self, synced, pairs, checks, snap, X, Y, streak):
        """After an excess: ("drift", {kind, local_rel_err}) or ("diverge", (first_divergence, scene))."""
        dtype = self.cfg.dtype
        local, theirs, how = (pairs, checks), self.theirs, f"{dtype}, both sides from the same state"
        if not synced:
            *local, theirs = self.replay(dtype, snap, X, Y)
            how = f"{dtype} re-run of this step, both sides from the handmade state before it"
            if all(c.ok for c in local[1]):
                streak.clear()
                return "drift", dict(kind="accumulated", local_rel_err=max(c.max_rel for c in local[1]))
        if dtype == "float64":
            return "diverge", (located(self.step, local[1], local[0], how), self._scene(theirs, *local, snap, X, dtype))
        *exact, theirs64 = self.replay("float64", snap, X, Y)
        if not all(c.ok for c in exact[1]):
            how = "float64 re-run of this step, both sides from the handmade state before it"
            return "diverge", (located(self.step, exact[1], exact[0], how),
                               self._scene(theirs64, *exact, snap, X, "float64"))
        agreed = max(c.max_rel for c in exact[1])
        if self._relu_flip(local[0]):
            streak.clear()
            return "drift", dict(kind="relu_flip", local_rel_err=agreed)
        streak.append((located(self.step, local[1], local[0], how + "; float64 agrees", float32_only=True),
                       self._scene(theirs, *local, snap, X, dtype)))
        if len(streak) < STREAK:
            return "drift", dict(kind="float32_only", local_rel_err=agreed)
        return "diverge", streak[0]

    def _relu_flip(self, pairs):
        """Whether a hidden relu's input has opposite signs in the two backends: one rounding of a value next to 0
        switches a whole unit on or off, and its gradient row with it."""
        if self.cfg.activation not in ("relu", "leaky_relu"):
            return False
        last = f"layers.{len(self.cfg.sizes) - 2}.z"
        return any(np.any((a > 0) != (b > 0)) for ph, name, a, b in pairs
                   if ph == "forward" and name.endswith(".z") and name != last)

    @staticmethod
    def _scene(theirs, pairs, checks, snap, X, dtype):
        """Copies of what the suspect finder needs at the divergence step."""
        return dict(pairs=[(ph, n, np.array(a), np.array(b)) for ph, n, a, b in pairs], checks=checks,
                    ref=reference_tensors(theirs), pre=copy.deepcopy(snap), X=np.array(X), dtype=dtype,
                    hyper={k: v for k, v in theirs.opt.param_groups[0].items() if k != "params"})

    @staticmethod
    def _record(step, loss_o, loss_t, checks):
        """One step's entry: both losses and the largest errors (inf where a value was NaN or inf)."""
        phase_rel = {}
        for c in checks:
            phase_rel[c.phase] = max(phase_rel.get(c.phase, 0.0), c.max_rel)
        return dict(step=step, loss=dict(handmade=loss_o, reference=loss_t),
                    max_abs_err=max((c.max_abs for c in checks), default=0.0),
                    max_rel_err=max((c.max_rel for c in checks), default=0.0),
                    phase_rel_err=phase_rel, tensors=len(checks), ok=all(c.ok for c in checks), drift=False)

    @staticmethod
    def _non_finite(step, checks, pairs, X):
        """Where the first NaN or inf appeared in each backend, and whether what fed it was finite."""
        def first(side, attr):
            for k, c in enumerate(checks):
                if not getattr(c, attr):
                    before = [float(np.max(np.abs(p[side]))) for p in pairs[:k]]
                    big = max(range(len(before)), key=before.__getitem__, default=None)
                    return dict(phase=c.phase, tensor=c.name,
                                largest_before=None if big is None else dict(tensor=pairs[big][1], value=before[big]))
            return None
        ours, ref = first(2, "ours_finite"), first(3, "ref_finite")
        # The parameters a step starts from are finite: the previous step compared every one of them. So what
        # fed the first non-finite tensor was finite unless the batch itself was not.
        inputs_finite = bool(np.isfinite(X).all())
        same = ours is not None and ref is not None and (ours["phase"], ours["tensor"]) == (ref["phase"], ref["tensor"])
        where = ours or ref
        return dict(step=step, phase=where["phase"], tensor=where["tensor"], handmade=ours, reference=ref,
                    inputs_finite=inputs_finite, same_place=same)
