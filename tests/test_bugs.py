"""One test per catalogue bug: planted in handmade under its own settings, the locator must find it at the
expected step, phase and tensor, the suspect finder must name it, and the report must point at the handmade line
it replaces; with and without --resync. handmade itself carries no trace of the catalogue."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from lockstep import data
from lockstep.config import Config
from lockstep.engine import Lockstep
from lockstep.findings import findings
from lockstep.findings.bugs import BUGS, CATALOGUE
from lockstep.sides import Handmade

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def arrays(digits):
    return {
        (dt, scale): data.prepare(digits, None, scale, dt)
        for dt in ("float32", "float64")
        for scale in ("unit", "symmetric", "none")
    }


def planted(arrays, bug, **extra):
    cfg = dataclasses.replace(Config(), **{**bug.setup, **extra})
    X, Y, y = arrays[(cfg.dtype, cfg.scale or "unit")][:3]
    if cfg.train_cap:
        X, Y, y = X[: cfg.train_cap], Y[: cfg.train_cap], y[: cfg.train_cap]
    rng = np.random.default_rng(cfg.seed)
    side = Handmade(cfg, cfg.dtype, rng, len(X), bug)
    run = Lockstep(cfg, X, Y, side, rng)
    out = run.run()
    return cfg, side, y, run, out


@pytest.mark.parametrize("resync", [False, True], ids=["accumulated", "resync"])
@pytest.mark.parametrize("bug", CATALOGUE, ids=[b.name for b in CATALOGUE])
def test_bug_is_located_and_named(arrays, bug, resync):
    cfg, side, y, run, out = planted(arrays, bug, resync=resync)
    d = out.first_divergence
    assert out.verdict == "diverge"
    assert (d.phase, d.tensor) == bug.expect
    # the overflow waits until one update has grown the logits past 88.7 (step 1); every other bug shows at once
    assert d.step == (1 if bug.name == "softmax-no-max-shift" else 0)
    suspect = findings.suspects(findings.Context(out, cfg, side, y, 10))
    assert suspect.code == "suspect" and suspect.bug == bug.name, suspect
    assert bug.needs(cfg) is None
    source = side.locate(run, out)
    file, line, text = bug.source()
    assert (source["file"], source["line"]) == (file, line)
    assert bug.replaces[1] in (ROOT / file).read_text().splitlines()[line - 1]


def test_correct_run_names_no_suspect(arrays):
    cfg = dataclasses.replace(Config(), steps=30)
    X, Y, y = arrays[("float64", "unit")][:3]
    rng = np.random.default_rng(0)
    side = Handmade(cfg, "float64", rng, len(X))
    out = Lockstep(cfg, X, Y, side, rng).run()
    assert out.verdict == "agree"
    assert findings.suspects(findings.Context(out, cfg, side, y, 10)) is None


@pytest.mark.parametrize(
    "name,flags",
    [
        ("transposed-weight", dict(sizes=[784, 128, 64, 10])),
        ("regularised-bias", dict(l2=0.0)),
        ("regularised-bias", dict(bias=False)),
        ("momentum-dampened-first-step", dict(dampening=0.0)),
        ("missing-mean", dict(batch_size=1)),
        ("adam-eps-inside-sqrt", dict(optimizer="sgd")),
        ("sigmoid-prime-of-a", dict(activation="relu")),
        ("relu-grad-wrong-tensor", dict(activation="tanh")),
        ("stale-weights", dict(momentum=0.5)),
        ("rmsprop-eps-inside-sqrt", dict(optimizer="adam")),
        ("rmsprop-eps-inside-sqrt", dict(centered=True)),
        ("adagrad-cache-reset", dict(optimizer="sgd")),
        ("velocity-sign-flipped", dict(momentum_form="torch")),
        ("velocity-sign-flipped", dict(optimizer="adam")),
        ("clip-after-update", dict(clip_norm=None)),
    ],
)
def test_settings_that_hide_a_bug_are_refused(name, flags):
    cfg = dataclasses.replace(Config(), **{**BUGS[name].setup, **flags})
    assert BUGS[name].needs(cfg)
    assert BUGS[name].needs(dataclasses.replace(Config(), **BUGS[name].setup)) is None


def test_handmade_has_no_trace_of_the_catalogue():
    """handmade is a plain MLP: no word of bugs or plants, and no name a bug reaches for."""
    for path in (ROOT / "handmade").glob("*.py"):
        text = path.read_text().lower()
        assert not re.search(r"\bbugs?\b|\bplant", text), path.name
        assert "lockstep" not in text, path.name


def test_each_bug_overrides_only_what_it_says():
    """A bug's subclass or optimizer replaces methods that handmade itself defines and uses."""
    import handmade

    for bug in CATALOGUE:
        cls = bug.net(Config()) if bug.net else None
        if cls is not None and isinstance(cls, type):
            overridden = [k for k in vars(cls) if callable(vars(cls)[k]) and not k.startswith("__")]
            assert all(hasattr(handmade.MLP, k) for k in overridden), (bug.name, overridden)
        assert bug.net or bug.optimizer or bug.update, bug.name


@pytest.mark.parametrize("bug", CATALOGUE, ids=[b.name for b in CATALOGUE])
def test_the_step_panel_marks_the_bug(bug):
    """--inject-bug NAME --plot: the step panel draws one bar per tensor of the divergence step in computation order,
    each at its relative error, with its threshold, and outlines the bar of the catalogue's tensor, named in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import lockstep
    from lockstep.report import step_panel

    report = lockstep.check(inject_bug=bug.name)
    r, div = report.result, report.first_divergence  # what Report.plot draws (NaN and inf kept as numbers)
    fig, ax = plt.subplots()
    step_panel(ax, div, r)
    bars = [p for p in ax.patches if type(p).__name__ == "Rectangle" and p.get_width() < 1]
    assert len(bars) == len(div.tensors) == r.check["tensors"]
    outlined = [i for i, b in enumerate(bars) if b.get_linewidth() > 0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    (first,) = outlined
    phase, tensor = bug.expect
    assert (div.tensors[first].phase, div.tensors[first].name) == (phase, tensor)
    assert labels[first].startswith(tensor.replace("layers.", "")) and ax.get_xticklabels()[first].get_color() == "red"
    heights = [b.get_height() for b in bars]
    for t, h in zip(div.tensors, heights):  # each bar at its error (non-finite drawn at 1e3, exact at 1e-18)
        want = t.rel_err if np.isfinite(t.rel_err) else 1e3
        assert h == pytest.approx(max(want, 1e-18))
    assert heights[first] > div.tensors[first].threshold or not np.isfinite(div.tensors[first].rel_err)
    assert all(t.ok for t in div.tensors[:first])  # nothing departs before the marked tensor
    assert "the first to depart is" in ax.get_title() and bug.source()[0] in ax.get_title()
    plt.close(fig)
