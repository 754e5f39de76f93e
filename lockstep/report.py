"""Presentation: the text report, the JSON file and the PNG, all made from a Result (lockstep/records.py).

The analysis (engine, judge, findings) returns typed records; nothing here measures or decides anything. The JSON
is Result.to_dict(), made strict by clean(); it keeps the keys handmade/reference for the two sides whatever the
side under test is ('side' says which it was).
"""

import json
import math
import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from .config import layers_text, training_text
from .judge.tolerance import BLIND

PHASE_COLORS = dict(
    forward="tab:blue",
    loss="tab:purple",
    backward="tab:red",
    optimizer="tab:green",
    update="tab:gray",
    eval="tab:olive",
)


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


# -- text -----------------------------------------------------------------------------------------------------
def header(r):
    c, tol = r.config, r.tolerance
    opt = training_text(c)
    batch = "full batch" if c["batch_size"] >= c["n_train"] else f"batch {c['batch_size']}"
    loss = c["loss"] + (f" x {c['loss_scale']:g}" if c["loss_scale"] != 1 else "")
    loss += "" if c["reduction"] == "mean" else " summed over the batch"
    loss += f" of probabilities clipped to [{c['prob_clip']:g}, 1 - {c['prob_clip']:g}]" if c.get("prob_clip") else ""
    if c["l2"]:
        loss += f" + l2 {c['l2']:g}" + ("" if c["l2_norm"] == "batch" else f" (divided by {c['l2_norm']})")
    layered = layers_text(c)
    extra = (
        (f", {layered}" if layered else "")
        + ("" if c["bias"] else ", no biases")
        + (
            f", leaky slope {c['leaky_slope']:g}"
            if c["activation"] == "leaky_relu" and c["leaky_slope"] != 0.01
            else ""
        )
    )
    d = r.data
    note = (r.identity.candidate or {}).get("layout_note")
    return "\n".join(
        [
            f"{r.identity.side_name} vs reference (PyTorch twin), trained in lockstep" + (f"\n{note}" if note else ""),
            f"data    {d['name']}: {d['n_train']} train, {d['n_test']} test samples, scaled {c['scale']}",
            f"model   {'-'.join(map(str, c['sizes']))} {c['activation']}, output {c['output']}, loss {loss}, "
            f"init {c['init']}, {c['dtype']}{extra}",
            f"train   {opt}, {batch}, {plural(c['steps'], 'step')}, seed {c['seed']}"
            f"{', resync every step' if c['resync'] else ''}",
            f"check   {r.check['tensors']} tensors a step ({', '.join(r.check['phases'])}) against the "
            f"{c['dtype']} tolerance: loss {tol['loss']:.1e},",
            f"        tensors {tol['tensor']:.1e}, each relative to the reference tensor's largest magnitude; "
            "an excess is judged against the step's own rounding",
            "",
        ]
    )


def table_rows(steps, label, stop=None, limit=24, stop_note="DIVERGE"):
    """Every step when there are few; else a sample: the first and last few, an even spread, every re-anchored
    step and the step where the run stopped."""
    n = len(steps)
    keep = (
        set(range(n))
        if n <= limit
        else (
            set(range(3))
            | set(range(n - 3, n))
            | set(np.linspace(0, n - 1, limit - 6).astype(int).tolist())
            | {s.step for s in steps if s.drift}
        )
    )
    keep = sorted(keep | ({stop} if stop is not None else set()))
    lines = [f"{'step':>6}  {'loss ' + label:>20}  {'loss reference':>20}  {'max abs err':>11}  {'max rel err':>11}"]
    for k in keep:
        s = steps[k]
        note = "ok" if s.ok else "rounding, re-anchored" if s.drift else stop_note
        lines.append(
            f"{k:>6}  {s.loss_side:>20.15g}  {s.loss_ref:>20.15g}  {s.max_abs_err:>11.2e}  {s.max_rel_err:>11.2e}"
            f"  {note}"
        )
    if len(keep) < n:
        lines.append(f"({len(keep)} of {n} steps shown; --json PATH keeps every step)")
    return "\n".join(lines)


def divergence_lines(div, label):
    """The locator's account of where divergence begins: the source line, the tensor, the 5 worst elements."""
    lines = []
    if div.source:
        lines.append(source_sentence(div.source))
    in_terms = div.in_your_terms
    lines.append(
        f"first divergence: step {div.step}, {what(div.phase, div.tensor)}" + (f"  [{in_terms}]" if in_terms else "")
    )
    lines.append(
        f"  max abs err {fmt(div.max_abs_err)}, max rel err {fmt(div.max_rel_err)} (relative to the "
        f"reference's largest magnitude; checked: {div.checked})"
    )
    if div.phases:
        lines.append("  phases at this step: " + ", ".join(f"{p} {v}" for p, v in div.phases.items()))
    before = div.agreeing_before
    if before:
        lines += textwrap.wrap(
            f"still agreeing before it in step {div.step} ({len(before)}): " + ", ".join(before),
            width=110,
            initial_indent="  ",
            subsequent_indent="    ",
        )
    else:
        lines.append(f"  it is the first tensor compared in step {div.step}")
    if div.worst:
        lines.append(
            f"  {'index':<14} {label:>14} {'reference':>14} {'abs err':>10} {'elem rel':>10}"
            + ("  in your layout" if in_terms else "")
        )
        for row in div.worst:
            where = f"  {row.in_your_terms or ''}" if in_terms else ""
            lines.append(
                f"  {str(tuple(row.index)):<14} {fmt(row.side, 6):>14} "
                f"{fmt(row.ref, 6):>14} {fmt(row.abs_err, 2):>10} {fmt(row.rel_err, 2):>10}" + where
            )
        lines.append("  (elem rel = |difference| / the larger of the two values, element by element)")
    if div.note:
        lines.append(f"  note: {div.note}")
    return "\n".join(lines)


MEANING = {
    "z": "z of layer {i}",
    "a": "the activation of layer {i}",
    "dz": "dL/dz of layer {i}",
    "da": "dL/da of layer {i}",
    "weight": "layer {i}'s weight",
    "bias": "layer {i}'s bias",
}


def meaning(tensor):
    """'grad:layers.1.weight' -> "the gradient of layer 1's weight"; 'layers.1.dz' -> 'dL/dz of layer 1'."""
    grad, _, name = tensor.rpartition("grad:")
    parts = name.split(".")
    if name == "loss" or len(parts) < 3 or parts[2] not in MEANING:
        return name
    text = MEANING[parts[2]].format(i=parts[1]) + (f" ({parts[3]})" if len(parts) > 3 else "")
    return (
        f"the gradient of {text}"
        if grad == "" and tensor.startswith("grad:")
        else ("the new value of " + text if parts[2] in ("weight", "bias") and not tensor.startswith("grad:") else text)
    )


def line_span(src):
    """'42', or '230-232' for a statement over several lines."""
    return f"{src['line']}-{src['end_line']}" if src.get("end_line") else str(src["line"])


def still_matching(src):
    """'; z2, a2 and delta3 (lines 35-40) still match': what the traced code bound right before it departed."""
    before = src.get("matched_before") or []
    if not before:
        return ""
    lines = [b["line"] for b in before]
    names = ", ".join(dict.fromkeys(b["variable"] for b in before))
    span = f"line {lines[0]}" if min(lines) == max(lines) else f"lines {min(lines)}-{max(lines)}"
    return f"; {names} ({span}) still match"


def source_sentence(src):
    """'your code departs at net.py:42, delta2 (should be layers.1.dz = dL/dz of layer 1): 0.0137 where torch has
    0.0549; z2, a2 and delta3 (lines 35-40) still match'"""
    if src.get("unmatched"):
        return f"source: {src['unmatched']}"
    if src.get("kind") == "bug":
        return (
            f"the planted bug replaces {src['file']}:{src['line']}  {src['variable']}\n"
            f"  (it shows first in {src['tensor']})"
        )
    still = still_matching(src)
    values = ""
    ours, theirs = src.get("ours"), src.get("theirs")
    if ours is not None and theirs is not None:
        first = lambda v: v[0] if isinstance(v, (list, tuple)) and v else v  # noqa: E731
        values = f": {fmt(first(ours), 4)} where torch has {fmt(first(theirs), 4)}"
    tensor, means = src["tensor"].removeprefix("grad:"), meaning(src["tensor"])
    should = tensor if means == tensor else f"{tensor} = {means}"
    name = src["variable"] if src["variable"] == tensor else f"{src['variable']} (should be {should})"
    return f"your code departs at {Path(src['file']).name}:{line_span(src)}, {name}{values}{still}"


def summary_line(r):
    n = plural(len(r.steps), "step")
    if r.verdict == "agree":
        if not r.drift:
            worst = max(r.steps, key=lambda s: s.max_rel_err)
            return (
                f"verdict: agree. {n}, every tensor within the {r.dtype} tolerance at every step (worst rel "
                f"err {worst.max_rel_err:.1e}, step {worst.step})"
            )
        return (
            f"verdict: agree. {n}; at {plural(len(r.drift), 'step')} a difference crossed the {r.dtype} "
            f"tolerance and was judged to be rounding (see the findings)"
        )
    if r.verdict == "inconclusive":
        floor = r.detection_floor
        blind = {p: floor[p] for p in PHASE_COLORS if floor.get(p, 0.0) > BLIND}
        return (
            f"verdict: inconclusive in {r.dtype}: rerun in float64. {n} agree within what they could see, but the "
            f"detection floor is {', '.join(f'{p} {v:.1e}' for p, v in blind.items())}, above {BLIND:.0e}: a "
            "difference that large could pass unseen"
        )
    nf = next((f.facts for f in r.findings if f.code == "non_finite"), None)
    if r.verdict == "blew_up":
        where = (
            "in one backend, where rounding leaves the formula's domain in either"
            if nf.get("domain")
            else "in one backend, at the edge of float32's range (float64 agrees)"
            if nf.get("range")
            else "in both backends alike"
        )
        return (
            f"verdict: blew_up at step {nf['step']}: NaN or inf in {what(nf['phase'], nf['tensor'])} {where}; "
            f"they agreed until then, so nothing differs"
        )
    d = r.first_divergence
    if d is None:  # a non-finite value on one side only, found before any tensor was judged
        return f"verdict: diverge at step {nf['step']}: {what(nf['phase'], nf['tensor'])} went non-finite"
    return f"verdict: diverge at step {d.step}: {what(d.phase, d.tensor)}"


def floor_line(r):
    floor = r.detection_floor
    if not floor:
        return ""
    order = [p for p in PHASE_COLORS if p in floor]
    return "detection floor (smallest relative difference this run could detect): " + ", ".join(
        f"{p} {floor[p]:.1e}" for p in order
    )


def text(r, with_header=True):
    """The whole text report of a Result."""
    label = r.identity.side_label
    d = r.first_divergence
    stop = d.step if d else None
    parts = [header(r)] if with_header else []
    parts.append(table_rows(r.steps, label, stop, stop_note="BLEW UP" if r.verdict == "blew_up" else "DIVERGE"))
    parts.append("")
    if d:
        parts += [divergence_lines(d, label), ""]
    acc = r.accuracy
    parts.append(
        f"test accuracy   {label} {acc['handmade']:.2%}   reference {acc['reference']:.2%}   "
        f"({r.data['n_test']} test samples{', after the stop' if stop is not None else ''})"
    )
    t = r.timing
    parts.append(
        f"time            {label} {t['handmade_s']:.3f} s   reference {t['reference_s']:.3f} s   "
        f"(ratio {t['handmade_s'] / max(t['reference_s'], 1e-9):.2f}; CPU seconds of each backend's own "
        "thread, side by side, comparison excluded)"
    )
    if floor_line(r):
        parts.append(floor_line(r))
    for f in r.findings:
        parts.append(f"finding [{f.code}{': ' + f.bug if f.bug else ''}] {f.message}")
    parts.append(summary_line(r))
    return "\n".join(parts)


def html(r):
    """For notebooks: the verdict in colour, then the text report."""
    from html import escape

    color = {"agree": "#1a7f37", "blew_up": "#9a6700", "diverge": "#cf222e", "inconclusive": "#9a6700"}[r.verdict]
    return (
        f"<div><b style='color:{color}'>{escape(summary_line(r))}</b>"
        f"<pre style='font-size:11px'>{escape(text(r))}</pre></div>"
    )


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


def json_bytes(r):
    return json.dumps(clean(r), indent=1, allow_nan=False).encode() + b"\n"


# -- the picture ----------------------------------------------------------------------------------------------
def plot(path, r):
    """For a run that diverged or blew up: the divergence step, one bar per tensor in computation order with its
    relative error and the threshold it was held to, the first departing tensor marked (and, for a candidate,
    the matched source variables beneath). For a run of several steps: both loss curves and the per-step error
    of each phase, with the tolerances and the re-anchored steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    div = r.first_divergence or r.blow_up
    panels = (["step"] if div else []) + (["curves"] if len(r.steps) > 1 or not div else [])
    heights = [4.2 if p == "step" else 6.5 for p in panels]
    fig = plt.figure(figsize=(10, sum(heights)), constrained_layout=True)
    grid = fig.add_gridspec(len(panels), 1, height_ratios=heights)
    title = (
        f"{r.identity.side_name} vs torch twin: {'-'.join(map(str, r.config['sizes']))} "
        f"{r.config['activation']}, {r.config['loss']}, {r.config['optimizer']}, {r.dtype}"
        f" - {summary_line(r).removeprefix('verdict: ')}"
    )
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=9)
    for k, panel in enumerate(panels):
        if panel == "step":
            step_panel(fig.add_subplot(grid[k]), div, r)
        else:
            curve_panels(fig, grid[k], r)
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


def step_data(div):
    """The bars of the step panel: [(phase, tensor, rel_err, threshold, ok)] in computation order, and the index of
    the first departing tensor."""
    rows = [(v.phase, v.name, v.rel_err, v.threshold, v.ok) for v in div.tensors]
    first = next(i for i, v in enumerate(div.tensors) if (v.phase, v.name) == (div.phase, div.tensor))
    return rows, first


def step_panel(ax, div, r):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows, first = step_data(div)
    tiny = 1e-18
    x = np.arange(len(rows))
    rel = np.array([row[2] if math.isfinite(row[2]) else 1e3 for row in rows], dtype=float)
    ax.axvspan(first - 0.5, first + 0.5, color="red", alpha=0.12, zorder=0)
    ax.bar(
        x,
        np.maximum(rel, tiny),
        color=[PHASE_COLORS[row[0]] for row in rows],
        alpha=0.85,
        edgecolor="red",
        linewidth=[2.5 if i == first else 0 for i in x],
        zorder=2,
    )
    thresholds = np.array([row[3] if math.isfinite(row[3]) else np.nan for row in rows], dtype=float)
    ax.scatter(x, thresholds, marker="_", s=260, linewidths=2, color="black", zorder=3)
    ax.set_yscale("log")
    ax.set_ylim(tiny / 2, max(10.0, np.nanmax(np.concatenate([rel, thresholds]))) * 1e4)  # room for the legend
    names = [
        row[1].replace("layers.", "") + ("" if row[0] != "backward" or row[1].endswith(("dz", "da")) else " grad")
        for row in rows
    ]
    matched = {m["tensor"]: m["variable"] for m in ((div.source or {}).get("matched") or [])}
    labels = [f"{n}\n{matched[row[1]]}" if row[1] in matched else n for n, row in zip(names, rows)]
    src = div.source or {}
    if src.get("variable") and src.get("kind") != "bug":
        labels[first] += f"\n{src['variable']} (line {src['line']})"
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.get_xticklabels()[first].set_color("red")
    handles = [Patch(color=c, label=p) for p, c in PHASE_COLORS.items() if any(row[0] == p for row in rows)]
    handles.append(
        Line2D(
            [],
            [],
            color="black",
            marker="_",
            ls="",
            markersize=14,
            mew=2,
            label="threshold: the tolerance, or the rounding bound where the step was judged",
        )
    )
    handles.append(Patch(facecolor="white", edgecolor="red", lw=2, label="first tensor that departs"))
    ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper left")
    where = what(div.phase, div.tensor)
    if src.get("kind") == "bug":
        where += f", from {src['file']}:{src['line']}"
    elif src.get("line"):
        where += f", from {Path(src['file']).name}:{line_span(src)} ({src['variable']})"
    ax.set_title(
        f"step {div.step}, every tensor in computation order: the first to depart is {where}",
        fontsize=9,
        color="black",
    )
    ax.set_ylabel("max relative error\n(log; bars at the bottom: exact)")
    ax.grid(alpha=0.3, axis="y")


def curve_panels(fig, cell, r):
    top, bottom = cell.subgridspec(2, 1, hspace=0.05).subplots(sharex=True)
    steps, label = r.steps, r.identity.side_label
    x = [s.step for s in steps]
    marker = "o" if len(x) < 60 else None
    top.plot(x, [s.loss_side for s in steps], label=label, lw=2.2, color="tab:blue", marker=marker)
    top.plot(
        x,
        [s.loss_ref for s in steps],
        label="reference (torch)",
        lw=1.2,
        ls="--",
        color="tab:orange",
        marker="x" if marker else None,
    )
    top.set_ylabel("training loss (batch)")
    top.legend()
    top.grid(alpha=0.3)
    for phase, color in PHASE_COLORS.items():
        y = [s.phase_rel_err.get(phase, np.nan) or np.nan for s in steps]  # exact agreement: a gap
        y = [v if np.isfinite(v) else np.nan for v in y]
        if not all(np.isnan(v) for v in y):
            bottom.plot(x, y, label=phase, color=color, lw=1, marker="." if marker else None)
    tol = r.tolerance
    bottom.axhline(tol["tensor"], color="k", ls="--", lw=1, label=f"tensor tolerance {tol['tensor']:.0e}")
    bottom.axhline(tol["loss"], color="tab:purple", ls=":", lw=1, label=f"loss tolerance {tol['loss']:.0e}")
    for d in r.drift:
        bottom.axvline(d.step, color="tab:olive", lw=0.8, alpha=0.6)
    if r.drift:
        bottom.plot([], [], color="tab:olive", label="judged rounding, re-anchored")
    div = r.first_divergence
    if div:
        for ax in (top, bottom):
            ax.axvline(div.step, color="red", lw=1.5)
    if len(x) == 1:
        bottom.set_xlim(x[0] - 1, x[0] + 1)
        bottom.set_xticks([x[0]])
    bottom.set_yscale("log")
    bottom.set_ylabel("max relative error per step\n(gaps: exact agreement)")
    bottom.set_xlabel("step")
    bottom.legend(fontsize=8, ncol=2)
    bottom.grid(alpha=0.3, which="both")


# -- one piece at a time: the layer check's text (lockstep/pieces/) ---------------------------------------------
def piece_line(src):
    """'your code departs at layers.py:41, dw: 0.1234 where torch has 0.5678; flat, dx (lines 38-40) still match'"""
    if src.get("unmatched"):
        return f"source: {src['unmatched']}"
    values = ""
    if src.get("ours"):
        values = f": {fmt(src['ours'][0], 4)} where torch has {fmt(src['theirs'][0], 4)}"
    elif src.get("shape"):
        values = f": shape {tuple(src['shape'])}"
    holds = f" (it holds {src['holds']})" if src.get("holds") else ""
    still = still_matching(src)
    name = src["variable"] if src["variable"] == src["tensor"] else f"{src['variable']} (should be {src['tensor']})"
    return f"your code departs at {Path(src['file']).name}:{line_span(src)}, {name}{holds}{values}{still}"


def piece_departure_lines(d):
    """An output's departure: the case, the element (or the shapes), the line, the suspect."""
    v = d.verdict
    where = f"case '{d.case}', {d.dtype}"
    if d.shapes:
        head = f"{where}: shape {tuple(d.shapes[0])} where torch's is {tuple(d.shapes[1])}"
    elif v.how == "keep rate":
        h = d.head
        head = (
            f"{where}: the mask keeps {h.side:.1%} of the units where p = {h.ref:g} keeps {h.ref:.0%} (beyond six "
            "standard deviations of a binomial draw)"
        )
    else:
        h = d.head
        if v.how == "non-finite":
            judged = "not finite where torch's is"
        else:
            ratio = v.rel_err / v.threshold if v.threshold else np.inf
            allows = f"{ratio:.2g}x what rounding allows" if ratio < 1e30 else "where rounding allows only underflow"
            judged = f"rel err {fmt(v.rel_err, 2)} of torch's largest value, {allows}; judged by {v.how}"
        head = f"{where}, element {tuple(h.index)}: yours {fmt(h.side, 6)} where torch has {fmt(h.ref, 6)} ({judged})"
    lines = [head]
    if d.source:
        lines.append(piece_line(d.source))
    if v.note and v.how != "keep rate":
        lines.append(f"note: {v.note}")
    if d.suspect:
        lines.append(d.suspect.message)
    return lines


def piece_name(r):
    p = r.piece
    return p.get("label") or f"{Path(p['file']).name}:{p['name']}"


def piece_summary(r):
    """The verdict line of one piece."""
    if r.verdict in ("error", "skipped"):
        return f"{r.verdict}: {piece_name(r)}: {r.error}"
    if r.verdict == "agree":
        return f"verdict: agree. {piece_name(r)}: every output within rounding of {r.piece['op']} on every case"
    if r.verdict == "inconclusive":
        return f"verdict: inconclusive in float32: rerun with --dtype float64 ({piece_name(r)})"
    d = r.departures[0]
    where = f" at {Path(d.source['file']).name}:{line_span(d.source)}" if d.source and d.source.get("line") else ""
    more = f" (and {', '.join(x.output for x in r.departures[1:])})" if len(r.departures) > 1 else ""
    return f"verdict: diverge: {piece_name(r)}: {d.output} departs{where}{more}"


def piece_short(r):
    """One line for a piece in a file's summary."""
    if r.verdict in ("error", "skipped"):
        return f"{piece_name(r)}: {r.error}"
    if r.verdict != "diverge":
        cases = f"{plural(len(r.cases), 'case')} x {' and '.join(r.dtypes)}"
        return f"{piece_name(r)}: {cases}, every output " + (
            "within rounding of torch" if r.verdict == "agree" else "agrees, but float32 alone could not see"
        )
    parts = []
    for d in r.departures:
        src = d.source or {}
        at = f" at {Path(src['file']).name}:{line_span(src)}" if src.get("line") else ""
        why = f" ({d.suspect.bug})" if d.suspect is not None and d.suspect.bug else ""
        parts.append(f"{d.output} departs{at}{why}")
    return f"{piece_name(r)}: {'; '.join(parts)}"


def piece_text(r):
    """The whole text report of one piece (a PieceResult)."""
    if r.verdict in ("error", "skipped"):
        return piece_summary(r)
    p = r.piece
    funcs = f"{p['loss']}" if p.get("loss") else f"{p['forward']}, {p['backward']}"
    lines = [
        f"{piece_name(r)} ({funcs}) as {p['kind']}, against {p['op']}",
        f"  {plural(len(r.cases), 'case')}: {'; '.join(r.cases)}; each in {' and '.join(r.dtypes)}"
        + ("" if p.get("loss") else "; dout random"),
    ]
    outputs, departed = r.outputs(), {d.output: d for d in r.departures}
    for name, state in outputs.items():
        mine = [v for v in r.verdicts if v.output == name]
        if state == "agree":
            seen = []
            for dt, floor in r.detection_floor.items():
                ratios = [v.rel_err / v.threshold if v.threshold else 0.0 for v in mine if v.dtype == dt]
                if ratios and name in floor:
                    seen.append(f"{dt} {max(ratios):.2g} of its allowance (floor {floor[name]:.1e})")
            lines.append(f"  {name:<12} agree   worst: {', '.join(seen)}")
        else:
            body = piece_departure_lines(departed[name])
            lines.append(f"  {name:<12} DEPARTS {body[0]}")
            lines += [f"               {x}" for x in body[1:]]
    for f in r.findings:
        if f.code == "float32_only":
            lines.append(f"finding [{f.code}] {f.message}")
    lines.append(piece_summary(r))
    return "\n".join(lines)


def pieces_text(results, spec):
    """One piece's report, or for a whole file: one summary line each (the worst first), then each failure in full."""
    if len(results) == 1 and results[0].verdict not in ("error", "skipped"):
        return piece_text(results[0])
    lines = [f"{Path(str(spec)).name}: {plural(len(results), 'piece')}"]
    for r in results:
        lines.append(f"  {r.verdict:<12} {piece_short(r)}")
    for r in results:
        if r.verdict in ("diverge", "inconclusive"):
            lines += ["", piece_text(r)]
    lines.append(pieces_verdict(results))
    return "\n".join(lines)


def pieces_verdict(results):
    counts = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    worst = next((v for v in ("diverge", "error", "inconclusive", "agree", "skipped") if v in counts), "agree")
    tally = ", ".join(f"{n} {v}" for v, n in counts.items())
    return f"verdict: {worst if worst != 'skipped' else 'agree'}. {tally}"
