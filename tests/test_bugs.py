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
    return {dt: data.prepare(digits, None, scale, dt) for dt in ("float32", "float64")
            for scale in ("unit", "symmetric")} and {
        (dt, scale): data.prepare(digits, None, scale, dt) for dt in ("float32", "float64")
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
    if bug.name != "softmax-no-max-shift":  # the overflow waits until the logits grow; every other bug is at once
        assert d["step"] == 0
    suspect = findings.suspects(out, cfg, from_candidate=False)
    assert suspect["code"] == "suspect" and suspect["bug"] == bug.name, suspect


def test_correct_run_names_no_suspect(arrays):
    cfg = dataclasses.replace(Config(), steps=30)
    X, Y = arrays[("float64", "unit")][:2]
    out = Lockstep(cfg, X, Y).run()
    assert out.verdict == "agree"
    assert findings.suspects(out, cfg, from_candidate=False) is None


def test_list_matches_catalogue_requirements():
    names = {b.name for b in CATALOGUE}
    assert len(names) == len(CATALOGUE) >= 12
    for b in CATALOGUE:
        assert b.description and "\n" not in b.description
