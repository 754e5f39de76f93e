"""compare.py as a user meets it: exit codes like diff(1), one-line errors, the JSON and PNG reports."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compare
from test_data import make_folder

ROOT = Path(__file__).resolve().parent.parent


def run(args, capsys):
    code = compare.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_agrees(tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, err = run(["--json", str(report)], capsys)
    assert code == 0 and err == ""
    assert "784-128-64-10 relu" in out and "momentum 0.9" in out and "float64" in out
    assert out.strip().splitlines()[-1].startswith("verdict: agree")
    r = json.loads(report.read_text())
    assert r["verdict"] == "agree" and r["first_divergence"] is None
    assert len(r["steps"]) == 63 and r["steps"][0]["loss"]["handmade"] == pytest.approx(np.log(10), rel=0.05)
    assert set(r["accuracy"]) == {"handmade", "reference"} and r["accuracy"]["handmade"] == r["accuracy"]["reference"]
    assert set(r["timing"]) >= {"handmade_s", "reference_s"}
    assert r["config"]["sizes"] == [784, 128, 64, 10] and r["config"]["epochs"] == 1


def test_every_flag_documents_its_default():
    help_text = subprocess.run([sys.executable, "compare.py", "--help"], cwd=ROOT, capture_output=True,
                               text=True).stdout
    options = [line for line in help_text.splitlines() if line.strip().startswith("--")]
    blocks = help_text.split("\n  --")[1:]
    assert len(blocks) >= 28 and options
    for block in blocks:
        name = block.split()[0]
        if name not in ("help", "list-bugs"):
            assert "(default:" in " ".join(block.split()), name


def test_list_bugs_is_one_line_each(capsys):
    code, out, _ = run(["--list-bugs"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) >= 12
    for line in lines:
        name, description = line.split(maxsplit=1)
        assert name.replace("-", "").isalnum() and description


@pytest.mark.parametrize("bug", ["missing-mean", "bias-rows-only"])
def test_inject_bug_needs_no_other_flag(bug, tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, _ = run(["--inject-bug", bug, "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    assert code == 1 and r["verdict"] == "diverge"
    assert [f["bug"] for f in r["findings"] if f["code"] == "suspect"] == [bug]
    assert "first divergence: step 0, backward layers.2." in out


def test_preset_seed_sits_at_the_prior(tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, _ = run(["--preset", "seed", "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    assert code == 0
    last = r["steps"][-1]["loss"]
    assert 3.24 <= last["handmade"] <= 3.27 and 3.24 <= last["reference"] <= 3.27
    plateau = [f for f in r["findings"] if f["code"] == "prior_plateau"]
    assert plateau and plateau[0]["prior_cost"] == pytest.approx(3.2508, abs=1e-3)
    assert "backprop is right" in plateau[0]["message"]
    assert r["accuracy"]["handmade"] < 0.15


def test_preset_fixed_learns(capsys):
    code, out, _ = run(["--preset", "fixed"], capsys)
    acc = float(out.split("test accuracy   handmade ")[1].split("%")[0])
    assert code == 0 and acc >= 90


def test_blow_up_is_non_finite(tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, _ = run(["--dtype", "float32", "--lr", "1e30", "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    nf = [f for f in r["findings"] if f["code"] == "non_finite"]
    assert code == 1 and nf and nf[0]["inputs_finite"] is True
    assert r["first_divergence"]["step"] == nf[0]["step"]
    json.dumps(r, allow_nan=False)  # strict JSON: non-finite numbers were written as strings


def test_plot_is_a_png(tmp_path, capsys):
    png = tmp_path / "p.png"
    code, _, _ = run(["--inject-bug", "missing-mean", "--steps", "5", "--plot", str(png)], capsys)
    assert code == 1 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000


def test_same_seed_same_report_other_seed_other_run(tmp_path, capsys):
    reports = []
    for seed in ("3", "3", "4"):
        path = tmp_path / f"r{len(reports)}.json"
        run(["--steps", "20", "--seed", seed, "--json", str(path)], capsys)
        r = json.loads(path.read_text())
        r.pop("timing")
        reports.append(json.dumps(r, sort_keys=True))
    assert reports[0] == reports[1]
    assert reports[0] != reports[2]


@pytest.mark.parametrize("argv,passes", [
    (["--steps", "2"], True),
    (["--preset", "seed"], True),
    (["--preset", "modern", "--steps", "2"], True),
    (["--batch-size", "full", "--steps", "1"], True),
    (["--inject-bug", "stale-weights", "--resync"], False),
    (["--inject-bug", "bias-rows-only"], False),
])
def test_gradcheck(argv, passes, capsys):
    code, out, _ = run(argv + ["--gradcheck"], capsys)
    line = next(l for l in out.splitlines() if l.startswith("finding [gradcheck]"))
    assert (": pass." in line) is passes, line
    assert code == (0 if passes else 1)


def test_divergence_report_shows_worst_elements_and_what_agreed(capsys):
    code, out, _ = run(["--inject-bug", "relu-grad-wrong-tensor"], capsys)
    block = out.split("first divergence:")[1]
    rows = [l for l in block.splitlines() if l.strip().startswith("(") and not l.strip().startswith("(elem")]
    assert code == 1 and len(rows) == 5
    assert "still agreeing before it in step 0 (10): forward layers.0.z, forward layers.0.a" in " ".join(block.split())
    assert "backward layers.2.bias" in block


def test_both_backends_blowing_up_alike_is_said_so(capsys):
    code, out, _ = run(["--dampening", "2", "--steps", "60"], capsys)
    assert code == 1 and "blew up" in out.splitlines()[-1] and "in both backends alike" in out
    assert "finding [unmatched]" not in out and "finding [suspect" not in out


def test_no_plateau_claim_for_a_run_that_barely_started(capsys):
    code, out, _ = run(["--steps", "2"], capsys)
    assert code == 0 and "prior_plateau" not in out


def test_reports_are_readable_by_others(tmp_path, capsys):
    report = tmp_path / "r.json"
    run(["--steps", "2", "--json", str(report)], capsys)
    assert report.stat().st_mode & 0o044 == 0o044
    assert json.loads(report.read_text())["config"]["steps"] == 2


def test_json_config_holds_the_values_used(tmp_path, capsys):
    report = tmp_path / "r.json"
    run(["--optimizer", "adamw", "--steps", "3", "--json", str(report)], capsys)
    config = json.loads(report.read_text())["config"]
    assert config["output"] == "softmax" and config["weight_decay"] == 0.01 and config["batch_size"] == 64


def test_piped_into_head_is_not_an_error():
    piped = subprocess.run(f"{sys.executable} compare.py --list-bugs | head -1; "
                           f"{sys.executable} compare.py --steps 40 | head -2", shell=True, cwd=ROOT,
                           capture_output=True, text=True)
    assert "Error" not in piped.stderr and "Traceback" not in piped.stderr, piped.stderr
    assert len(piped.stdout.splitlines()) == 3


def test_candidate_in_bias_row_layout_speaks_its_terms(capsys):
    code, out, _ = run(["--preset", "seed", "--candidate", "examples/bias_row_net.py:cost_and_grads_bias_rows_only",
                        "--layout", "bias-row"], capsys)
    assert code == 1
    assert "params[2] rows 1..5 (the weights, transposed)" in out
    assert "suspect: bias-rows-only" in out
    assert "loss candidate" in out and "test accuracy   candidate" in out and "handmade" not in out


BAD = [  # argv, words the one-line error must contain
    (["--sizes", "abc"], "--sizes"),
    (["--sizes", ""], "--sizes"),
    (["--sizes", "100,10"], "start --sizes with 784"),
    (["--sizes", "784,5"], "end --sizes with 10"),
    (["--lr", "0"], "--lr must be a positive"),
    (["--lr", "-1"], "--lr must be a positive"),
    (["--lr", "nan"], "not a finite number"),
    (["--batch-size", "0"], "not positive"),
    (["--steps", "0"], "not positive"),
    (["--steps", "-3"], "not positive"),
    (["--epochs", "x"], "not a whole number"),
    (["--activation", "swish"], "invalid choice"),
    (["--loss", "hinge"], "invalid choice"),
    (["--optimizer", "rmsprop"], "invalid choice"),
    (["--init", "orthogonal"], "invalid choice"),
    (["--output", "sigmoid"], "does not go with loss"),
    (["--nesterov", "--momentum", "0"], "--nesterov needs"),
    (["--n-train", "99999"], "--n-train 99999 is more than"),
    (["--inject-bug", "typo"], "unknown bug 'typo'"),
    (["--data-dir", "/nonexistent/dir"], "does not exist"),
    (["--json", "/nonexistent/dir/r.json"], "does not exist"),
    (["--plot", "/nonexistent/dir/p.png"], "does not exist"),
    (["--candidate", "nofile.py:f"], "does not exist"),
    (["--candidate", "examples/torch_layout_net.py:nope"], "has no function 'nope'"),
    (["--candidate", "examples/torch_layout_net.py"], "path/to/file.py:function_name"),
    (["--layout", "torch"], "describes a --candidate"),
    (["--steps", "3", "--epochs", "2"], "not allowed with"),
    (["--seed", "-1"], "--seed must be a whole number >= 0"),
    (["--optimizer", "adam", "--momentum", "0.5"], "--momentum belongs to --optimizer sgd"),
    (["--data", "mnist", "--data-dir", "/tmp"], "give one of them"),
    (["--data-dir", "/etc/hostname"], "is a file, not a folder"),
    (["--inject-bug", "transposed-weight", "--sizes", "784,128,64,10"], "needs two equal hidden widths"),
    (["--inject-bug", "regularised-bias", "--l2", "0"], "--l2 must be above 0"),
    (["--inject-bug", "adam-eps-inside-sqrt", "--optimizer", "sgd"], "--optimizer must be adam or adamw"),
    (["--plot", "/proc/p.png"], "cannot write in /proc"),
]


@pytest.mark.parametrize("argv,words", BAD, ids=[" ".join(a) or "empty" for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    outputs = [] if "--json" in argv else ["--json", str(tmp_path / "r.json")]
    steps = [] if "--steps" in argv or "--epochs" in argv else ["--steps", "2"]
    code, out, err = run(argv + steps + outputs, capsys)
    assert code == 2, (out, err)
    assert words in err and err.count("\n") == 1 and err.startswith("compare.py: error: "), err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def candidate_file(tmp_path, body):
    path = tmp_path / "cand.py"
    path.write_text("import numpy as np\n" + body)
    return f"{path}:f"


@pytest.mark.parametrize("body,words", [
    ("def f(params, X, Y):\n    raise ValueError('boom')\n", "raised ValueError: boom (at cand.py:3); it was given "
     "params of shapes (128, 784), (128,)"),
    ("import sys\ndef f(params, X, Y):\n    sys.exit(0)\n", "raised SystemExit"),
    ("def f(params, X, Y):\n    return '2.3', params\n", "returned a loss of type str"),
    ("def f(params, X, Y):\n    return 1.0\n", "expected a pair (loss, grads)"),
    ("def f(params, X, Y):\n    return 1.0, [np.zeros((2, 2))]\n", "returned 1 gradient arrays"),
    ("def f(params, X, Y):\n    return 1.0, [p.T for p in params]\n", "(transposed?)"),
    ("def f(params, X, Y):\n    return 'x', params\n", "returned a loss of type str"),
    ("def f(params, X, Y):\n    return np.zeros(3), params\n", "expected one real number"),
    ("import nonexistent_module\ndef f(params, X, Y):\n    pass\n", "importing"),
    ("def f(params, X, Y)\n", "SyntaxError"),
])
def test_candidate_failures_are_one_line(tmp_path, body, words, capsys):
    for extra in ([], ["--gradcheck"]):  # the finite-difference check calls the candidate first
        code, out, err = run(["--candidate", candidate_file(tmp_path, body), "--steps", "2"] + extra, capsys)
        assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_candidate_returning_nan_is_a_finding(tmp_path, capsys):
    body = ("def f(params, X, Y):\n    g = [np.full_like(p, np.nan) for p in params]\n"
            "    return float('nan'), g\n")
    code, out, err = run(["--candidate", candidate_file(tmp_path, body), "--steps", "2"], capsys)
    assert code == 1 and "finding [non_finite]" in out


def test_bad_idx_folder(tmp_path, capsys):
    folder = make_folder(tmp_path, **{"train images": dict(cut=5)})
    code, out, err = run(["--data-dir", str(folder), "--steps", "2"], capsys)
    assert code == 2 and "truncated or corrupt" in err


def test_labels_out_of_range(tmp_path, capsys):
    from test_data import write_idx
    folder = make_folder(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte", np.full(20, 12))
    code, out, err = run(["--data-dir", str(folder), "--steps", "2"], capsys)
    assert code == 2 and "0..12 (13 classes)" in err


def test_subprocess_exit_codes_and_no_traceback():
    """The real process: exit 2 with one stderr line for bad input, 0 for a short agreeing run."""
    bad = subprocess.run([sys.executable, "compare.py", "--lr", "-1"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    good = subprocess.run([sys.executable, "compare.py", "--steps", "3", "--quiet"], cwd=ROOT, capture_output=True,
                          text=True)
    assert good.returncode == 0 and good.stdout.startswith("verdict: agree") and good.stderr == ""


def test_ctrl_c_stops_cleanly_with_130(tmp_path):
    """SIGINT mid-run: one line naming the step, exit 130, and no report left behind."""
    import os
    import signal
    report = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "compare.py", "--steps", "100000", "--json", str(report)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:  # the header is printed just before training starts
        if line.startswith("check"):
            break
    import time
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.startswith("compare.py: interrupted at step ") and err.count("\n") == 1, err
    assert not report.exists() and not list(tmp_path.iterdir())


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="apt-get install dataset-fashion-mnist for the full-size run")
def test_full_size_fashion_mnist(capsys, tmp_path):
    report = tmp_path / "r.json"
    code, out, _ = run(["--data-dir", "/usr/share/datasets/fashion-mnist", "--dtype", "float32", "--steps", "40",
                        "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    assert code == 0 and r["data"] == dict(name="IDX files in /usr/share/datasets/fashion-mnist", n_train=60000,
                                           n_test=10000)


def test_outputs_follow_symlinks_and_write_to_devices(tmp_path, capsys):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, _, _ = run(["--steps", "2", "--json", str(link)], capsys)
    assert code == 0 and link.is_symlink() and json.loads(target.read_text())["verdict"] == "agree"
    code, _, err = run(["--steps", "2", "--json", "/dev/null", "--plot", "/dev/null"], capsys)
    assert code == 0 and err == "" and Path("/dev/null").is_char_device()


def test_a_bug_hidden_by_flags_is_said_so(capsys):
    code, out, _ = run(["--inject-bug", "regularised-bias", "--l2", "1e-12"], capsys)
    assert code == 0 and "finding [bug_not_exposed: regularised-bias]" in out


def test_float32_only_divergence_is_not_also_drift(tmp_path, capsys):
    body = ("from pathlib import Path\nimport importlib.util\n"
            f"spec = importlib.util.spec_from_file_location('t', r'{ROOT / 'examples' / 'torch_layout_net.py'}')\n"
            "t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)\n"
            "def f(params, X, Y):\n    loss, grads = t.loss_and_grads(params, X, Y)\n"
            "    return loss, [g * 1.02 if g.dtype == np.float32 else g for g in grads]\n")
    report = tmp_path / "r.json"
    code, out, _ = run(["--candidate", candidate_file(tmp_path, body), "--steps", "10", "--dtype", "float32",
                        "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    assert code == 1 and r["first_divergence"]["step"] == 0
    assert [f["code"] for f in r["findings"]] == ["float32_only"]
    assert not any(s["drift"] for s in r["steps"]) and "re-anchored" not in out
