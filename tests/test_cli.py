"""The command line as a user meets it: exit codes like diff(1), one-line errors, the JSON and PNG reports, and the
bad-input table of docs/bad-input.md checked against what the program prints."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lockstep import cli

from test_data import make_folder, write_idx

ROOT = Path(__file__).resolve().parent.parent


def run(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_agrees(tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, err = run(["--json", str(report)], capsys)
    assert code == 0 and err == ""
    assert "784-128-64-10 relu" in out and "momentum 0.9" in out and "float64" in out
    assert out.strip().splitlines()[-1].startswith("verdict: agree")
    r = json.loads(report.read_text())
    assert r["verdict"] == "agree" and r["exit_code"] == 0 and r["first_divergence"] is None
    assert r["side"] == "handmade" and r["candidate"] is None
    assert len(r["steps"]) == 63 and r["steps"][0]["loss"]["handmade"] == pytest.approx(np.log(10), rel=0.05)
    assert r["accuracy"]["handmade"] == r["accuracy"]["reference"] > 0.5
    assert r["config"]["sizes"] == [784, 128, 64, 10] and r["config"]["epochs"] == 1


@pytest.mark.slow
def test_every_flag_documents_its_default():
    help_text = subprocess.run(
        [sys.executable, "compare.py", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    blocks = help_text.split("\n  --")[1:]
    assert len(blocks) >= 38
    for block in blocks:
        name = block.split()[0]
        if name not in ("help", "list-bugs", "version"):
            assert "(default:" in " ".join(block.split()), name


@pytest.mark.slow
def test_version_and_console_name():
    out = subprocess.run([sys.executable, "compare.py", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and re.match(r"compare\.py \d+\.\d+", out.stdout), out.stdout


def test_list_bugs_is_one_line_each(capsys):
    from lockstep.findings.bugs import CATALOGUE

    code, out, _ = run(["--list-bugs"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == [b.name for b in CATALOGUE]
    for line, bug in zip(lines, CATALOGUE):
        assert line.split(maxsplit=1)[1] == bug.description


@pytest.mark.parametrize("bug", ["missing-mean", "bias-rows-only"])
def test_inject_bug_needs_no_other_flag(bug, tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, _ = run(["--inject-bug", bug, "--json", str(report)], capsys)
    r = json.loads(report.read_text())
    assert code == 1 and r["verdict"] == "diverge" and (r["side"], r["bug"]) == ("handmade+bug", bug)
    assert [f["bug"] for f in r["findings"] if f["code"] == "suspect"] == [bug]
    assert "first divergence: step 0, backward layers.2." in out
    assert "the planted bug replaces handmade/" in out


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


@pytest.mark.slow
def test_preset_fixed_learns(capsys):
    code, out, _ = run(["--preset", "fixed", "--epochs", "5"], capsys)
    acc = float(out.split("test accuracy   handmade ")[1].split("%")[0])
    assert code == 0 and acc >= 88


def test_blow_up_in_both_is_its_own_verdict(tmp_path, capsys):
    """The issue's case: training blows up in both backends alike: verdict blew_up, exit 0, the finding says where."""
    report = tmp_path / "r.json"
    code, out, _ = run(
        [
            "--activation",
            "leaky_relu",
            "--loss",
            "mse",
            "--lr",
            "0.5",
            "--momentum",
            "0",
            "--scale",
            "symmetric",
            "--sizes",
            "784,300,10",
            "--json",
            str(report),
        ],
        capsys,
    )
    r = json.loads(report.read_text())
    nf = [f for f in r["findings"] if f["code"] == "non_finite"]
    assert code == 0 and r["verdict"] == "blew_up" and r["exit_code"] == 0, out
    assert nf and nf[0]["same_place"] and nf[0]["inputs_finite"]
    assert out.splitlines()[-1].startswith("verdict: blew_up")
    json.dumps(r, allow_nan=False)  # strict JSON: non-finite numbers were written as strings


def test_non_finite_on_one_side_is_divergence(tmp_path, capsys):
    code, out, _ = run(["--inject-bug", "softmax-no-max-shift"], capsys)
    assert code == 1 and "finding [non_finite]" in out and "the side under test only" in out


def test_plot_is_a_png_with_the_step_panel(tmp_path, capsys):
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


@pytest.mark.slow
def test_json_to_stdout_and_text_to_stderr():
    out = subprocess.run(
        [sys.executable, "compare.py", "--steps", "3", "--json", "-"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and json.loads(out.stdout)["verdict"] == "agree"
    assert out.stderr.splitlines()[-1].startswith("verdict: agree")
    assert not (ROOT / "-").exists()


@pytest.mark.parametrize(
    "argv,passes",
    [
        (["--steps", "2"], True),
        (["--preset", "seed", "--n-train", "1000"], True),
        (["--preset", "modern", "--steps", "2"], True),
        (["--batch-size", "full", "--steps", "1", "--n-train", "500"], True),
        (["--inject-bug", "stale-weights", "--resync"], False),
        (["--inject-bug", "bias-rows-only", "--n-train", "1000"], False),
    ],
)
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
    assert "still agreeing before it in step 0 (11): forward layers.0.z, forward layers.0.a" in " ".join(block.split())
    assert "phases at this step: forward agree, loss agree, backward diverge" in block


def test_no_plateau_claim_for_a_run_that_barely_started(capsys):
    code, out, _ = run(["--steps", "2"], capsys)
    assert code == 0 and "prior_plateau" not in out


def test_reports_are_readable_by_others(tmp_path, capsys):
    report = tmp_path / "r.json"
    run(["--steps", "2", "--json", str(report)], capsys)
    assert report.stat().st_mode & 0o044 == 0o044


def test_json_config_holds_the_values_used(tmp_path, capsys):
    report = tmp_path / "r.json"
    run(["--optimizer", "adamw", "--steps", "3", "--json", str(report)], capsys)
    config = json.loads(report.read_text())["config"]
    assert config["output"] == "softmax" and config["weight_decay"] == 0.01 and config["batch_size"] == 64
    assert config["betas"] == [0.9, 0.999] and config["momentum"] is None


@pytest.mark.slow
def test_piped_into_head_is_not_an_error():
    piped = subprocess.run(
        f"{sys.executable} compare.py --list-bugs | head -1; {sys.executable} compare.py --steps 40 | head -2",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "Error" not in piped.stderr and "Traceback" not in piped.stderr, piped.stderr
    assert len(piped.stdout.splitlines()) == 3


def test_candidate_in_bias_row_layout_speaks_its_terms(capsys):
    spec = "examples/bias_row_net.py:cost_and_grads_bias_rows_only"
    code, out, _ = run(["--preset", "seed", "--n-train", "1000", "--candidate", spec], capsys)
    assert code == 1
    assert "params[2] rows 1.. (the weights, transposed)" in out
    assert "suspect: bias-rows-only" in out
    assert "loss candidate" in out and "test accuracy   candidate" in out


def test_your_own_data_file(tmp_path, capsys):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    np.savez(tmp_path / "iris.npz", X=X, y=y)
    code, out, err = run(
        [
            "--data",
            str(tmp_path / "iris.npz"),
            "--sizes",
            "4,8,3",
            "--scale",
            "standard",
            "--epochs",
            "3",
            "--batch-size",
            "16",
        ],
        capsys,
    )
    assert code == 0 and "iris.npz: 120 train, 30 test samples, scaled standard" in out, err


# -- bad input: docs/bad-input.md holds the table, and this test holds it to the program --------------------------
def bad_folders(tmp_path):
    """The IDX folders and candidate files the table's rows name, under tmp_path/bad."""
    bad = tmp_path / "bad"
    for name, spoil in [
        ("truncated", {"train images": dict(cut=100)}),
        ("magic", {"test labels": dict(magic=0x803)}),
        ("missing", {}),
        ("count", {}),
        ("labels", {}),
        ("gz", {}),
    ]:
        (bad / name).mkdir(parents=True)
        make_folder(bad / name, gz=name == "gz", **spoil)
    (bad / "missing" / "t10k-labels-idx1-ubyte").unlink()
    write_idx(bad / "count" / "train-labels-idx1-ubyte", np.zeros(19))
    write_idx(bad / "labels" / "train-labels-idx1-ubyte", np.full(20, 12))
    gz = bad / "gz" / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-30])
    files = {
        "raises": "def f(params, X, Y):\n    raise ValueError('boom')\n",
        "shapes": "def f(params, X, Y):\n    return 1.0, [p.T for p in params]\n",
        "types": "def f(params, X, Y):\n    return 1.0, [p.tolist() for p in params]\n",
        "loss": "def f(params, X, Y):\n    return None, params\n",
        "syntax": "def f(params, X, Y)\n",
        "pieces": "def affine_forward(x, w, b):\n    raise ValueError('boom')\n\n\ndef affine_backward(dout, cache):\n"
        "    return dout\n",
        "rule": "def f(x):\n    return x\n",
    }
    for name, body in files.items():
        (bad / f"{name}.py").write_text(body)
    np.savez(bad / "halves.npz", X=np.full((20, 2), 0.5), y=np.arange(20) % 2)  # tokens that are not whole numbers
    return bad


def doc_rows():
    """[(argv text, message)] of the table in docs/bad-input.md."""
    rows = []
    for line in (ROOT / "docs" / "bad-input.md").read_text().splitlines():
        m = re.match(r"\| `([^`]*)` \| 2 \| (.*) \|$", line)
        if m:
            rows.append((m.group(1), m.group(2).replace("\\|", "|")))
    return rows


def test_bad_input_table_matches_the_program(tmp_path, capsys, monkeypatch):
    """Every row of docs/bad-input.md: that input gives exactly that one line on stderr, exit 2, no traceback and
    no report file."""
    monkeypatch.chdir(ROOT)
    bad = bad_folders(tmp_path)
    rows = doc_rows()
    assert len(rows) >= 40
    for argv_text, message in rows:
        argv = [a.replace("/tmp/bad", str(bad)) for a in argv_text.split(" ")] if argv_text else [""]
        if argv_text.startswith("--sizes ") and argv_text.count(" ") == 0:
            argv = ["--sizes", ""]
        outputs = [] if "--json" in argv else ["--json", str(tmp_path / "r.json")]
        fixed = {"--steps", "--epochs"} & set(argv) or "--list-bugs" in argv or argv[0] == "layer"
        steps = [] if fixed else ["--steps", "2"]
        code, out, err = run(argv + steps + outputs, capsys)
        expected = f"mlp-crosscheck: error: {message.replace('/tmp/bad', str(bad))}"
        assert code == 2 and err.rstrip("\n") == expected, (argv_text, err)
        assert "Traceback" not in err and not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_subprocess_exit_codes_and_no_traceback():
    """The real process: exit 2 with one stderr line for bad input, 0 for a short agreeing run."""
    bad = subprocess.run([sys.executable, "compare.py", "--lr", "-1"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("compare.py: error: ")
    good = subprocess.run(
        [sys.executable, "compare.py", "--steps", "3", "--quiet"], cwd=ROOT, capture_output=True, text=True
    )
    assert good.returncode == 0 and good.stdout.startswith("verdict: agree") and good.stderr == ""


def test_candidate_failures_are_one_line(tmp_path, capsys):
    path = tmp_path / "cand.py"
    for body, words in [
        ("def f(params, X, Y):\n    raise ValueError('boom')\n", "raised ValueError: boom (at cand.py:2)"),
        ("import sys\ndef f(params, X, Y):\n    sys.exit(0)\n", "raised SystemExit"),
        ("def f(params, X, Y):\n    return 1.0\n", "expected a pair (loss, grads)"),
        ("import nonexistent_module\ndef f(params, X, Y):\n    pass\n", "importing"),
    ]:
        path.write_text(body)
        for extra in ([], ["--gradcheck"]):
            code, out, err = run(["--candidate", f"{path}:f", "--steps", "2"] + extra, capsys)
            assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_candidate_returning_nan_is_a_finding(tmp_path, capsys):
    path = tmp_path / "cand.py"
    path.write_text(
        "import numpy as np\ndef f(params, X, Y):\n    return float('nan'), [np.full_like(p, np.nan) for p in params]\n"
    )
    code, out, err = run(["--candidate", f"{path}:f", "--steps", "2", "--layout", "torch"], capsys)
    assert code == 1 and "finding [non_finite]" in out


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_130(tmp_path):
    """SIGINT mid-run: one line naming the step, exit 130, and no report left behind."""
    report = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "compare.py", "--steps", "100000", "--json", str(report)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job inherits SIGINT ignored
    )
    for line in proc.stdout:  # the header is printed just before training starts
        if line.startswith("        tensors"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # hung: every thread's stack, from the fault handler
        proc.send_signal(signal.SIGABRT)
        pytest.fail("no exit 60 s after SIGINT:\n" + proc.communicate()[1][-4000:])
    assert proc.returncode == 130
    assert err.startswith("compare.py: interrupted at step ") and err.count("\n") == 1, err
    assert not report.exists() and not list(tmp_path.iterdir())


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="apt-get install dataset-fashion-mnist for the full-size run",
)
def test_full_size_fashion_mnist(capsys, tmp_path):
    report = tmp_path / "r.json"
    code, out, _ = run(
        [
            "--data-dir",
            "/usr/share/datasets/fashion-mnist",
            "--dtype",
            "float32",
            "--steps",
            "40",
            "--json",
            str(report),
        ],
        capsys,
    )
    r = json.loads(report.read_text())
    assert code == 0 and r["data"] == dict(
        name="IDX files in /usr/share/datasets/fashion-mnist", n_train=60000, n_test=10000
    )


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


def test_ctrl_c_is_held_to_the_end_of_the_step():
    """The first SIGINT of a run is noted, not raised mid-step (where it could leave a thread-pool lock held); a
    second one raises at once; afterwards Ctrl-C is Python's own again."""
    from lockstep.engine import deferred_interrupt

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python sets it, unless started ignored
    try:
        with deferred_interrupt() as came:
            assert not came()
            signal.raise_signal(signal.SIGINT)
            assert came()
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
