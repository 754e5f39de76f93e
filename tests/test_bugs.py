"""One test per catalogue bug: planted in handmade under its own config, the locator must find it at the
expected step, phase and tensor, and the suspect finder must name it; with and without --resync."""
import dataclasses

import pytest

from lockstep import data, findings
from lockstep.bugs import CATALOGUE
from lockstep.config import Config
from lockstep.engine import Lockstep


@pytest.fixture(scope="module")
def arrays(digits):
    return {(dt, scale): data.prepare(digits, None, scale, dt) for dt in ("float32", "float64")
            for scale in ("unit", "symmetric")}


@pytest.mark.parametrize("resync", [False, True], ids=["accumulated", "resync"])
@pytest.mark.parametrize("bug", CATALOGUE, ids=[b.name for b in CATALOGUE])
def test_bug_is_located_and_named(arrays, bug, resync):
    cfg = dataclasses.replace(Config(), **bug.config, resync=resync)
    X, Y, y = arrays[(cfg.dtype, cfg.scale)][:3]
    if cfg.train_cap:
        X, Y = X[:cfg.train_cap], Y[:cfg.train_cap]
    out = Lockstep(cfg, X, Y, bug=bug).run()
    d = out.first_divergence
    assert out.verdict == "diverge"
    assert (d["phase"], d["tensor"]) == bug.expect
    # the overflow waits until the logits have grown (step 27); every other bug shows at once
    assert d["step"] == (27 if bug.name == "softmax-no-max-shift" else 0)
    suspect = findings.suspects(out, cfg, from_candidate=False)
    assert suspect["code"] == "suspect" and suspect["bug"] == bug.name, suspect
    assert bug.needs(cfg) is None


def test_correct_run_names_no_suspect(arrays):
    cfg = dataclasses.replace(Config(), steps=30)
    X, Y = arrays[("float64", "unit")][:2]
    out = Lockstep(cfg, X, Y).run()
    assert out.verdict == "agree"
    assert findings.suspects(out, cfg, from_candidate=False) is None


@pytest.mark.parametrize("name,flags", [
    ("transposed-weight", dict(sizes=[784, 128, 64, 10])),
    ("regularised-bias", dict(l2=0.0)),
    ("momentum-dampened-first-step", dict(dampening=0.0)),
    ("missing-mean", dict(batch_size=1)),
    ("adam-eps-inside-sqrt", dict(optimizer="sgd")),
    ("sigmoid-prime-of-a", dict(activation="relu")),
    ("relu-grad-wrong-tensor", dict(activation="tanh")),
    ("stale-weights", dict(momentum=0.5)),
])
def test_flags_that_hide_a_bug_are_refused(name, flags):
    from lockstep.bugs import BUGS
    cfg = dataclasses.replace(Config(), **{**BUGS[name].config, **flags})
    assert BUGS[name].needs(cfg)


def test_list_matches_catalogue_requirements():
    names = {b.name for b in CATALOGUE}
    assert len(names) == len(CATALOGUE) >= 12
    for b in CATALOGUE:
        assert b.description and "\n" not in b.description


def test_stale_weights_with_l2_is_still_located_and_named(arrays):
    """The plant steps W by its whole gradient, l2 term included, and leaves the l2 term to MLP.backward."""
    from lockstep.bugs import BUGS
    bug = BUGS["stale-weights"]
    cfg = dataclasses.replace(Config(), **bug.config, l2=1.0)
    X, Y = arrays[("float64", "unit")][:2]
    out = Lockstep(cfg, X, Y, bug=bug).run()
    assert (out.first_divergence["phase"], out.first_divergence["tensor"]) == bug.expect
    assert findings.suspects(out, cfg, from_candidate=False)["bug"] == "stale-weights"
