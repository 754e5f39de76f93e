"""One piece at a time: `mlp-crosscheck layer` on CS231n-style layer functions and `mlp-crosscheck update` on the
courses' update rules. Correct pieces agree; each planted mistake is found in the output it touches, located at its
line and named; each course convention is named with its flag and agrees under it. Every case is one row."""

import json
from pathlib import Path

import numpy as np
import pytest
from source_lines import covers

import lockstep
from lockstep import cli
from lockstep.pieces.kinds import KINDS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LAYERS, BUGS = EXAMPLES / "cs231n_layers.py", EXAMPLES / "cs231n_layers_bugs.py"
SMALL = dict(sizes=[784, 16, 10], n_train=512, steps=8)


def stems(file):
    text = file.read_text()
    return [k for k in KINDS if f"def {k}_forward" in text or f"def {k}(" in text]


@pytest.mark.parametrize("stem", stems(LAYERS))
def test_a_correct_pair_agrees(stem):
    r = lockstep.check_layer(f"{LAYERS}:{stem}")
    (piece,) = r.results
    assert r.verdict == "agree" and r.exit_code == 0 and not piece.departures, r.text()
    assert set(piece.dtypes) == {"float64", "float32"} and len(piece.cases) >= 4
    assert all(v.ok for v in piece.verdicts) and {v.output for v in piece.verdicts} >= set(KINDS[stem].outputs())


def test_the_whole_file_agrees_one_line_a_piece():
    r = lockstep.check_layer(str(LAYERS))
    checked = [p for p in r.results if p.verdict != "skipped"]
    assert r.verdict == "agree" and len(checked) == len(stems(LAYERS)), r.text()
    lines = r.text().splitlines()
    assert lines[0].startswith("cs231n_layers.py:") and all(f":{s}" in r.text() for s in stems(LAYERS))
    assert lines[-1].startswith("verdict: agree")


PLANTED = [  # stem, the output it shows in, the text of its line, the suspect named
    ("affine", "db", "the bias gradient is the sum", "affine-db-averaged"),
    ("relu", "dx", "dx[x < 0] = 0", "relu-grad-at-zero"),
    ("sigmoid", "dx", "s = 1 / (1 + np.exp(-out))", "sigmoid-prime-of-out"),
    ("svm_loss", "dx", "dx = hits / n", "svm-without-the-correct-class-column"),
    ("softmax_loss", "dx", "dx = np.exp(log_probs) / n", "softmax-dx-without-the-label"),
    ("batchnorm", "dx", "mean and variance are left out", "batchnorm-backward-without-mean-and-variance-terms"),
    ("dropout", "dx", "the mask is not reapplied", "dropout-backward-without-the-mask"),
]


@pytest.mark.parametrize("stem,output,line,bug", PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_mistake_is_located_at_its_line_and_named(stem, output, line, bug):
    r = lockstep.check_layer(f"{BUGS}:{stem}")
    (piece,) = r.results
    assert r.verdict == "diverge" and r.exit_code == 1
    (d,) = piece.departures  # only the output the mistake touches
    assert d.output == output and d.dtype == "float64" and d.verdict.how == "extended precision"
    assert covers(d.source, BUGS, line), d.source
    assert d.suspect.code == "suspect" and d.suspect.bug == bug, d.suspect
    assert d.head.side != d.head.ref and "DEPARTS" in r.text() and f"{BUGS.name}:" in r.text()


def test_the_whole_buggy_file_lists_every_piece_then_each_failure():
    r = lockstep.check_layer(str(BUGS))
    assert r.verdict == "diverge" and [p.verdict for p in r.results] == ["diverge"] * len(PLANTED)
    text = r.text()
    summary = text.split("\n\n")[0].splitlines()[1:]
    assert len(summary) == len(PLANTED) and all("departs at cs231n_layers_bugs.py:" in s for s in summary)
    assert text.count("DEPARTS") == len(PLANTED)


WRITTEN = {  # other correct ways to write a piece: rounding apart from torch, never a divergence
    "softmax_loss": """
import numpy as np
def softmax_loss(x, y):
    z = x - x.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = len(y)
    loss = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(n), y])
    p[np.arange(n), y] -= 1
    return loss, p / n
""",
    "affine": """
import numpy as np
def affine_forward(x, w, b):
    return np.einsum("nd,dm->nm", x.reshape(x.shape[0], -1), w) + b, (x, w)
def affine_backward(dout, cache):
    x, w = cache
    rows = x.reshape(x.shape[0], -1)
    dw = sum(np.outer(rows[i], dout[i]) for i in range(len(rows)))
    return np.dot(dout, w.T).reshape(x.shape), dw, dout.T.sum(axis=1)
""",
    "tanh": """
import numpy as np
def tanh_forward(x):
    e = np.exp(-2 * np.abs(x))
    return np.sign(x) * (1 - e) / (1 + e), x
def tanh_backward(dout, cache):
    return dout / np.cosh(cache) ** 2
""",
}


@pytest.mark.parametrize("stem", list(WRITTEN))
def test_another_correct_formula_agrees(tmp_path, stem):
    file = tmp_path / "mine.py"
    file.write_text(WRITTEN[stem])
    r = lockstep.check_layer(f"{file}:{stem}")
    assert r.verdict == "agree", r.text()


def test_an_overflow_is_a_divergence_with_its_line(tmp_path):
    file = tmp_path / "mine.py"
    file.write_text(
        "import numpy as np\n"
        "def softmax_loss(x, y):\n"
        "    e = np.exp(x)\n"
        "    p = e / e.sum(axis=1, keepdims=True)\n"
        "    n = len(y)\n"
        "    loss = -np.log(p[np.arange(n), y]).mean()\n"
        "    p[np.arange(n), y] -= 1\n"
        "    return loss, p / n\n"
    )
    (piece,) = lockstep.check_layer(f"{file}:softmax_loss").results
    assert piece.verdict == "diverge" and piece.departures[0].case == "large scores"
    assert piece.departures[0].verdict.how == "non-finite"


def test_the_cli_layer_command_exit_codes_and_json(tmp_path, capsys):
    out_json = tmp_path / "r.json"
    assert cli.main(["layer", f"{LAYERS}:relu", "--json", str(out_json)]) == 0
    r = json.loads(out_json.read_text())
    assert r["verdict"] == "agree" and r["pieces"][0]["piece"]["kind"] == "relu"
    assert set(r["pieces"][0]["outputs"]) == {"out", "dx"} and "agree" in capsys.readouterr().out
    assert cli.main(["layer", f"{BUGS}:svm_loss", "--json", str(out_json), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.strip().startswith("verdict: diverge") and out.count("\n") == 1
    d = json.loads(out_json.read_text())["pieces"][0]["departures"][0]
    assert d["output"] == "dx" and d["suspect"]["bug"] == "svm-without-the-correct-class-column"
    assert d["source"]["line"] > 0 and d["yours"] != d["torch"]


def test_a_float32_only_check_says_what_it_could_see():
    r = lockstep.check_layer(f"{LAYERS}:tanh", dtype="float32")
    (piece,) = r.results
    assert r.verdict == "agree" and piece.dtypes == ["float32"] and set(piece.detection_floor) == {"float32"}
    assert max(piece.detection_floor["float32"].values()) < 1e-2


# -- update rules ---------------------------------------------------------------------------------------------
UPDATES = [  # rule, settings, verdict, the finding's code and what it names (a flag, a catalogue bug), its line
    ("cs231n_optim.py:sgd", {}, "agree", None, None, None),
    ("cs231n_optim.py:sgd_momentum", {}, "agree", None, None, None),
    (
        "cs231n_optim.py:sgd_momentum",
        dict(lr_schedule="exp-iter:0.5", momentum_form="velocity"),
        "agree",
        None,
        None,
        None,
    ),
    ("cs231n_optim.py:rmsprop", {}, "agree", None, None, None),
    ("cs231n_optim.py:adam", {}, "agree", None, None, None),
    ("cs231n_optim.py:adam", dict(dtype="float32", steps=4), "agree", None, None, None),
    ("coursera_optim.py:update_parameters_with_adam", {}, "agree", None, None, None),
    ("coursera_optim.py:update_parameters_with_adam", dict(dtype="float32"), "agree", None, None, None),
    ("coursera_optim.py:update_parameters_with_momentum", dict(momentum_form="ema"), "agree", None, None, None),
    ("holberton_optim.py:update_variables_momentum", dict(momentum_form="ema", lr=0.1), "agree", None, None, None),
    ("holberton_optim.py:update_variables_RMSProp", dict(lr=1e-3, alpha=0.9), "agree", None, None, None),
    ("holberton_optim.py:update_variables_Adam", dict(lr=1e-3), "agree", None, None, None),
    ("cs231n_optim_variants.py:adam_t_from_1", dict(adam_t0=1), "agree", None, None, None),
    (
        "cs231n_optim.py:sgd_momentum",
        dict(lr_schedule="exp-iter:0.5"),
        "diverge",
        "convention",
        "--momentum-form velocity",
        'velocity = config["momentum"]',
    ),
    ("coursera_optim.py:update_parameters_with_momentum", {}, "diverge", "convention", "--momentum-form ema", None),
    ("holberton_optim.py:update_variables_momentum", {}, "diverge", "convention", "--momentum-form ema", None),
    ("cs231n_optim_variants.py:adam_t_from_1", {}, "diverge", "convention", "--adam-t0 1", None),
    (
        "cs231n_optim_variants.py:adam_no_bias_correction",
        {},
        "diverge",
        "suspect",
        "adam-no-bias-correction",
        "MISTAKE",
    ),
]


@pytest.mark.parametrize("rule,settings,verdict,code,names,line", UPDATES, ids=[f"{u[0]}-{u[2]}" for u in UPDATES])
def test_an_update_rule_against_torch_optim(rule, settings, verdict, code, names, line):
    r = lockstep.check_update(f"{EXAMPLES / rule}", **dict(SMALL, **settings))
    assert r.verdict == verdict, r.text()
    if code is None:
        return
    found = {f.code: f for f in r.findings}
    assert code in found, r.text()
    assert (found[code].facts.get("fix") if code == "convention" else found[code].bug) == names, found[code]
    d = r.first_divergence
    assert d.phase == "update" and d.source and d.source.get("line"), d.source
    if line:
        assert covers(d.source, EXAMPLES / rule.split(":")[0], line), d.source


def test_the_rule_settings_come_from_the_rule_itself():
    r = lockstep.check_update(f"{EXAMPLES / 'cs231n_optim.py'}:rmsprop", **SMALL)
    c = r.result.config
    assert c["optimizer"] == "rmsprop" and c["lr"] == 1e-2 and c["alpha"] == 0.99 and c["eps"] == 1e-8
    phases = r.result.check["phases"]
    assert "optimizer" in phases  # the cache is compared with torch's square_avg
    coursera = lockstep.check_update(f"{EXAMPLES / 'coursera_optim.py'}:update_parameters_with_adam", **SMALL)
    assert coursera.result.config["lr"] == 0.01 and coursera.result.config["betas"] == [0.9, 0.999]


def test_a_state_that_departs_is_named_in_the_rule_s_terms(tmp_path):
    file = tmp_path / "optim.py"
    file.write_text(
        "import numpy as np\n"
        "def rmsprop(w, dw, config=None):\n"
        "    config = {} if config is None else config\n"
        "    config.setdefault('learning_rate', 1e-2)\n"
        "    config.setdefault('decay_rate', 0.99)\n"
        "    config.setdefault('epsilon', 1e-8)\n"
        "    config.setdefault('cache', np.zeros_like(w))\n"
        "    config['cache'] = config['decay_rate'] * config['cache'] + dw * dw\n"
        "    return w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + config['epsilon']), config\n"
    )
    r = lockstep.check_update(f"{file}:rmsprop", **SMALL)
    d = r.first_divergence
    assert r.verdict == "diverge" and d.step == 0 and d.phase == "optimizer" and d.tensor.endswith("square_avg")
    assert d.in_your_terms.startswith("config['cache']") and d.source["line"] == 8, d.source


def test_the_cli_update_command(tmp_path, capsys):
    out_json = tmp_path / "u.json"
    argv = ["update", f"{EXAMPLES / 'cs231n_optim_variants.py'}:adam_no_bias_correction", "--sizes", "784,16,10"]
    code = cli.main(argv + ["--steps", "3", "--n-train", "512", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 1 and "your code departs at cs231n_optim_variants.py:" in out
    r = json.loads(out_json.read_text())
    assert r["side_name"].startswith("update rule") and r["first_divergence"]["in_your_terms"].endswith("(next_w)")
    assert np.isfinite(r["first_divergence"]["max_rel_err"])


RULE_MISTAKES = {  # an update rule's own mistake the bug catalogue has no run for: (its rule, the suspect, its line)
    "rmsprop-without-sqrt": (
        "def rmsprop(w, dw, config=None):\n"
        "    config = {} if config is None else config\n"
        "    config.setdefault('learning_rate', 1e-2)\n"
        "    config.setdefault('decay_rate', 0.99)\n"
        "    config.setdefault('epsilon', 1e-8)\n"
        "    config.setdefault('cache', 0 * w)\n"
        "    config['cache'] = config['decay_rate'] * config['cache'] + (1 - config['decay_rate']) * dw * dw\n"
        "    next_w = w - config['learning_rate'] * dw / (config['cache'] + config['epsilon'])\n"
        "    return next_w, config\n",
        "next_w = w",
    ),
    "adam-t-never-incremented": (
        "import numpy as np\n"
        "def update_variables_Adam(alpha, beta1, beta2, epsilon, var, grad, v, s, t):\n"
        "    v = beta1 * v + (1 - beta1) * grad\n"
        "    s = beta2 * s + (1 - beta2) * grad ** 2\n"
        "    v_hat, s_hat = v / (1 - beta1), s / (1 - beta2)\n"
        "    return var - alpha * v_hat / (np.sqrt(s_hat) + epsilon), v, s\n",
        "v_hat, s_hat",
    ),
}


@pytest.mark.parametrize("bug", list(RULE_MISTAKES))
def test_an_update_rule_s_own_mistake_is_named(tmp_path, bug):
    code, line = RULE_MISTAKES[bug]
    file = tmp_path / "rule.py"
    file.write_text(code)
    name = code.split("def ")[1].split("(")[0]
    r = lockstep.check_update(f"{file}:{name}", **dict(SMALL, lr=1e-3))
    suspect = next(f for f in r.findings if f.code == "suspect")
    assert r.verdict == "diverge" and suspect.bug == bug, r.text()
    assert covers(r.first_divergence.source, file, line), r.first_divergence.source


def test_an_excess_within_the_op_s_bound_is_rounding_and_beyond_it_diverges():
    """The layer check's rule is the training step's: an output off by more than the tolerance but within the op's
    rounding bound agrees; three times the bound does not (float32: no ladder above it but float64's)."""
    from lockstep.judge import bounds
    from lockstep.pieces import layer

    case = KINDS["affine"].cases(np.random.default_rng(0))[3]  # the large offset: dw cancels it
    i = layer.cast(case.inputs, np.float32)
    ref = KINDS["affine"].torch(i, layer.torch_of("float32"))
    i64, r64 = layer.cast(i, np.float64), {k: v.astype(np.float64) for k, v in ref.items()}
    E = KINDS["affine"].bounds(i64, r64, 2.0**-24, bounds.tiny_for(2.0**-24), np.float64)["dw"]
    for factor, ok in ((0.9, True), (3.0, False)):
        ours = (r64["dw"] + factor * E * np.sign(np.random.default_rng(1).standard_normal(E.shape))).astype(np.float32)
        v = layer.judge_output("dw", case.name, "float32", ours, ref["dw"], E, None)
        assert v.how == "rounding bound" and v.ok is ok and v.rel_err > 4.9e-4, v


def test_the_layer_json_holds_every_judgement():
    r = lockstep.check_layer(f"{BUGS}:affine").to_dict()
    piece = r["pieces"][0]
    assert set(r) == {"verdict", "exit_code", "spec", "version", "pieces"}
    assert set(piece) >= {
        "piece",
        "cases",
        "dtypes",
        "outputs",
        "departures",
        "findings",
        "detection_floor",
        "verdicts",
    }
    assert len(piece["verdicts"]) == len(piece["cases"]) * 2 * 4 and piece["outputs"]["db"] == "diverge"
    d = piece["departures"][0]
    assert d["judged_by"] == "extended precision" and d["source"]["matched_before"] and d["suspect"]["bug"]
    json.dumps(r, allow_nan=False)


@pytest.mark.slow
def test_the_commands_as_a_real_process():
    import subprocess
    import sys

    root = EXAMPLES.parent
    layer = subprocess.run(
        [sys.executable, "compare.py", "layer", "examples/cs231n_layers_bugs.py:relu", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert layer.returncode == 1 and layer.stdout.startswith("verdict: diverge") and layer.stderr == ""
    update = subprocess.run(
        [sys.executable, "compare.py", "update", "examples/cs231n_optim.py:adam", "--steps", "5", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert update.returncode == 0 and update.stdout.startswith("verdict: agree"), update.stderr


@pytest.mark.parametrize("command", ["layer", "update"])
def test_every_flag_of_the_commands_documents_its_default(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    help_text = capsys.readouterr().out
    blocks = help_text.split("\n  --")[1:]
    assert len(blocks) >= (8 if command == "layer" else 38) and "--candidate" not in help_text
    for block in blocks:
        name = block.split()[0]
        if name not in ("help", "version"):
            assert "(default:" in " ".join(block.split()), name


def test_settings_the_update_command_has_no_use_for_are_refused_from_python():
    with pytest.raises(ValueError, match="--inject-bug does not go with update"):
        lockstep.check_update(f"{EXAMPLES / 'cs231n_optim.py'}:adam", inject_bug="missing-mean")
