"""Reports: the human one on stdout, the JSON one, and the PNG. They only format what the engine measured.

`label` names the side under test in the text: "handmade" or "candidate". The JSON keeps the keys
handmade/reference whatever the side, so that reports compare across runs.
"""
import json
import math
import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from .check import TOLERANCES


def fmt(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}e}" if x and (abs(x) < 1e-3 or abs(x) >= 1e5) else f"{x:.{digits + 3}g}"


def what(phase, tensor):
    return "the loss" if phase == "loss" else f"{phase} {tensor}"


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def header(cfg, resolved, ds_name, n_test, plan, side_name):
    tol = TOLERANCES[cfg.dtype]
    opt = f"{cfg.optimizer} lr {cfg.lr:g}"
    if cfg.optimizer == "sgd":
        opt += f" momentum {cfg.momentum:g}" + (f" dampening {cfg.dampening:g}" if cfg.dampening else "")
        opt += " nesterov" if cfg.nesterov else ""
    if resolved["weight_decay"]:
        opt += f" weight_decay {resolved['weight_decay']:g}"
    n_train = resolved["n_train"]
    batch = "full batch" if resolved["batch_size"] >= n_train else f"batch {resolved['batch_size']}"
    phases = list(dict.fromkeys(phase for phase, _ in plan))
    return "\n".join([
        f"{side_name} vs reference (PyTorch twin), trained in lockstep",
        f"data    {ds_name}: {n_train} train, {n_test} test images, scaled {cfg.scale}",
        f"model   {'-'.join(map(str, cfg.sizes))} {cfg.activation}, output {resolved['output']}, "
        f"loss {cfg.loss}{f' + l2 {cfg.l2:g}' if cfg.l2 else ''}, init {cfg.init}, {cfg.dtype}",
        f"train   {opt}, {batch}, {plural(resolved['steps'], 'step')}, seed {cfg.seed}"
        f"{', resync every step' if cfg.resync else ''}",
        f"check   {len(plan)} tensors a step ({', '.join(phases)}) against the {cfg.dtype} tolerance: loss "
        f"{tol.loss:.1e}, tensors {tol.tensor:.1e}, each relative to the reference tensor's largest magnitude",
        "",
    ])


def table_rows(steps, label, stop=None, limit=24):
    """Every step when there are few; else a sample: the first and last few, an even spread, every re-anchored
    step and the step where the run stopped."""
    n = len(steps)
    keep = set(range(n)) if n <= limit else (set(range(3)) | set(range(n - 3, n))
                                               | set(np.linspace(0, n - 1, limit - 6).astype(int).tolist())
                                               | {s["step"] for s in steps if s["drift"]})
    keep = sorted(keep | ({stop} if stop is not None else set()))
    lines = [f"{'step':>6}  {'loss ' + label:>20}  {'loss reference':>20}  {'max abs err':>11}  {'max rel err':>11}"]
    for k in keep:
        s = steps[k]
        note = "ok" if s["ok"] else "rounding, re-anchored" if s["drift"] else "DIVERGE"
        lines.append(f"{k:>6}  {s['loss']['handmade']:>20.15g}  {s['loss']['reference']:>20.15g}  "
                     f"{s['max_abs_err']:>11.2e}  {s['max_rel_err']:>11.2e}  {note}")
    if len(keep) < n:
        lines.append(f"({len(keep)} of {n} steps shown; --json PATH keeps every step)")
    return "\n".join(lines)


def divergence_lines(div, label, describe=None):
    """The locator's account of where divergence begins, with the 5 worst elements side by side."""
    lines = [f"first divergence: step {div['step']}, {what(div['phase'], div['tensor'])}"
             + (f"  [{describe(div['tensor'], None)}]" if describe and div["phase"] != "loss" else "")]
    lines.append(f"  max abs err {fmt(div['max_abs_err'])}, max rel err {fmt(div['max_rel_err'])} (relative to the "
                 f"reference's largest magnitude; checked: {div['checked']})")
    before = div["agreeing_before"]
    if before:
        lines += textwrap.wrap(f"still agreeing before it in step {div['step']} ({len(before)}): " + ", ".join(before),
                               width=110, initial_indent="  ", subsequent_indent="    ")
    else:
        lines.append(f"  it is the first tensor compared in step {div['step']}")
    if div["worst"]:
        lines.append(f"  {'index':<14} {label:>14} {'reference':>14} {'abs err':>10} {'elem rel':>10}"
                     + ("  in your layout" if describe else ""))
        for row in div["worst"]:
            where = f"  {describe(div['tensor'], row['index'])}" if describe and div["phase"] != "loss" else ""
            lines.append(f"  {str(tuple(row['index'])):<14} {fmt(row['handmade'], 6):>14} "
                         f"{fmt(row['reference'], 6):>14} {fmt(row['abs_err'], 2):>10} {fmt(row['rel_err'], 2):>10}"
                         + where)
        lines.append("  (elem rel = |difference| / the larger of the two values, element by element)")
    return "\n".join(lines)


def summary_line(outcome, cfg):
    n = plural(len(outcome.steps), "step")
    if outcome.verdict == "agree":
        if not outcome.drift:
            worst = max(outcome.steps, key=lambda s: s["max_rel_err"])
            return (f"verdict: agree. {n}, every tensor within the {cfg.dtype} tolerance at every step (worst rel "
                    f"err {worst['max_rel_err']:.1e}, step {worst['step']})")
        acc = max(d["accumulated_rel_err"] for d in outcome.drift)
        return (f"verdict: agree. {n}; rounding drift (up to {acc:.1e}) crossed the {cfg.dtype} tolerance at "
                f"{plural(len(outcome.drift), 'step')}, each of which agreed when re-run from one state (see the "
                f"rounding_drift finding)")
    d, nf = outcome.first_divergence, outcome.non_finite
    if nf and nf["same_place"]:
        return (f"verdict: diverge at step {d['step']}: training blew up (NaN or inf in {what(nf['phase'], nf['tensor'])}) "
                f"in both backends alike; the twins agreed until then")
    return f"verdict: diverge at step {d['step']}: {what(d['phase'], d['tensor'])}"


# -- JSON -----------------------------------------------------------------------------------------------------
def clean(x):
    """Make x strict JSON: numpy scalars to Python, NaN and inf to the strings 'nan', 'inf', '-inf'."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else ("nan" if math.isnan(x) else "inf" if x > 0 else "-inf")
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_atomic(path, write):
    """Call write(file_object) on a temporary file beside path, then rename it into place: a reader never sees
    half a file, and a failure leaves nothing behind. The file gets the usual permissions (0666 less umask).
    A symlink is followed (the link stays a link); a device or a pipe, such as /dev/stdout, is written to."""
    if Path(path).exists() and not Path(path).is_file():
        with open(path, "wb") as f:
            write(f)
        return
    path = Path(path).resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json(path, report):
    text = json.dumps(clean(report), indent=1, allow_nan=False).encode() + b"\n"
    write_atomic(path, lambda f: f.write(text))


# -- the chart ------------------------------------------------------------------------------------------------
def plot(path, outcome, cfg, title, label):
    """Two panels: both loss curves; the per-step max relative error of each phase (log scale), with the
    tolerances, the re-anchored steps and the divergence step marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = outcome.steps
    x = [s["step"] for s in steps]
    marker = "o" if len(x) < 60 else None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True, constrained_layout=True)
    top.plot(x, [s["loss"]["handmade"] for s in steps], label=label, lw=2.2, color="tab:blue", marker=marker)
    top.plot(x, [s["loss"]["reference"] for s in steps], label="reference (torch)", lw=1.2, ls="--",
             color="tab:orange", marker="x" if marker else None)
    top.set_ylabel("training loss (batch)")
    top.set_title("\n".join(textwrap.wrap(title, 95)), fontsize=10)
    top.legend()
    top.grid(alpha=0.3)
    colors = dict(forward="tab:blue", loss="tab:purple", backward="tab:red", optimizer="tab:green",
                  update="tab:gray")
    for phase, color in colors.items():
        y = [s["phase_rel_err"].get(phase, np.nan) or np.nan for s in steps]  # exact agreement: a gap
        y = [v if np.isfinite(v) else np.nan for v in y]  # non-finite: the red line marks that step
        if not all(np.isnan(v) for v in y):
            bottom.plot(x, y, label=phase, color=color, lw=1, marker="." if marker else None)
    tol = TOLERANCES[cfg.dtype]
    bottom.axhline(tol.tensor, color="k", ls="--", lw=1, label=f"tensor tolerance {tol.tensor:.0e}")
    bottom.axhline(tol.loss, color="tab:purple", ls=":", lw=1, label=f"loss tolerance {tol.loss:.0e}")
    for d in outcome.drift:
        bottom.axvline(d["step"], color="tab:olive", lw=0.8, alpha=0.6)
    if outcome.drift:
        bottom.plot([], [], color="tab:olive", label="rounding drift, re-anchored")
    div = outcome.first_divergence
    if div:
        for ax in (top, bottom):
            ax.axvline(div["step"], color="red", lw=1.5)
        right = div["step"] > 0.6 * max(x[-1], 1)
        bottom.annotate(f"diverges: step {div['step']}\n{what(div['phase'], div['tensor'])}",
                        xy=(div["step"], tol.tensor), xytext=(-8 if right else 8, 8), textcoords="offset points",
                        color="red", ha="right" if right else "left")
    if len(x) == 1:
        bottom.set_xlim(x[0] - 1, x[0] + 1)
        bottom.set_xticks([x[0]])
    bottom.set_yscale("log")
    bottom.set_ylabel("max relative error per step\n(gaps: exact agreement)")
    bottom.set_xlabel("step")
    bottom.legend(fontsize=8, ncol=2)
    bottom.grid(alpha=0.3, which="both")
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)
