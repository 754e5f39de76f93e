"""The corpus of real networks by other authors: each buggy one must be named at the line that holds its bug (or
the line that calls it wrongly), and no correct one gets a line. One row a network, run through lockstep.check.

The networks are the ones in examples/third_party/ (taken from the packages their projects publish, each with its
licence and the history of its bug; see that folder's README). Run this file as a script for the table of what
the tool reports:

    python tests/test_corpus.py
"""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from source_lines import covers  # noqa: E402

import lockstep  # noqa: E402

THIRD = ROOT / "examples" / "third_party"
SMALL = dict(sizes=[784, 16, 10], n_train=128, steps=3)
NIMBLE = dict(SMALL, activation="sigmoid", loss="cross_entropy")
PER_SAMPLE = dict(SMALL, activation="sigmoid", loss="mse", output="sigmoid", batch_size=1, momentum=0, lr=0.1)
_rng = np.random.default_rng(0)
_X = _rng.standard_normal((160, 6))
BINARY = dict(X=_X, y=(_X[:, 0] * _X[:, 1] > 0).astype(int), sizes=[6, 8, 5, 1], n_train=128, steps=3, loss="bce")
# six classes on the same six features, for a net whose layers are all of one shape (6, 6)
_Y6 = ((_X[:, 0] > 0) * 3 + (_X[:, 1] > 0) + (_X[:, 2] > 0)) % 6
SQUARE = dict(X=_X, y=_Y6, sizes=[6, 6, 6], n_train=128, steps=3, layout="in-out", activation="sigmoid", loss="bce")

# network, author, settings, the text on the bug's line (None: a correct network), the bug in a few words
CORPUS = [
    ("sklearn_mlp.py:classifier", "scikit-learn", dict(SMALL, activation="relu", l2=1e-4, lr=0.1), None, "correct"),
    (
        "sklearn_mlp.py:multilabel",
        "scikit-learn",
        dict(SMALL, activation="relu", loss="bce", l2=1e-4, lr=0.1),
        None,
        "correct",
    ),
    (
        "sklearn_mlp.py:regressor_multioutput",
        "scikit-learn",
        dict(SMALL, activation="relu", loss="mse", l2=1e-4, lr=0.01),
        "np.average((y_true - y_pred) ** 2, weights=sample_weight, axis=0).mean()",
        "the loss averages over the outputs, its gradients are of their sum (issue #8349)",
    ),
    (
        "mlxtend_mlp.py:Net",
        "Sebastian Raschka (mlxtend)",
        dict(
            SMALL,
            activation="sigmoid",
            reduction="sum",
            l2_norm="none",
            targets="labels",
            momentum=0,
            lr=0.001,
        ),
        None,
        "correct",
    ),
    ("nimblenet_mlp.py:Net", "Jørgen Grimnes (nimblenet)", dict(NIMBLE, momentum=0, lr=0.5), None, "correct"),
    (
        "nimblenet_mlp.py:NetMomentum",
        "Jørgen Grimnes (nimblenet)",
        dict(NIMBLE, momentum=0.9, lr=0.1),
        None,
        "correct",
    ),
    (
        "nimblenet_mlp.py:NetAdam",
        "Jørgen Grimnes (nimblenet)",
        dict(NIMBLE, optimizer="adam", lr=1e-3),
        "return -learning_rate * m[ layer_index ] / ( np.sqrt(v[ layer_index ]) + epsilon )",
        "Adam without bias correction",
    ),
    (
        "mlfromscratch_mlp_bug_stale_weights.py:Net",
        "Erik Linder-Norén (mlfromscratch)",
        dict(SMALL, activation="sigmoid", reduction="sum", momentum=0, lr=0.001),
        "grad_wb = lambda b:",
        "the bias gradient and dL/da below read the weights after their update (fixed in 0f7ea66)",
    ),
    ("tinynn_mlp.py:loss_and_grads", "borgwang (tinynn)", dict(SMALL, activation="relu"), None, "correct"),
    (
        "tinynn_mlp.py:NetAdam",
        "borgwang (tinynn)",
        dict(SMALL, activation="relu", optimizer="adam", lr=1e-3),
        None,
        "correct",
    ),
    (
        "tinynn_bug_softmax_grad.py:loss_and_grads",
        "borgwang (tinynn)",
        dict(SMALL, activation="relu"),
        "grad -= labels",
        "the cross-entropy's gradient is the logits minus the labels, without the softmax (fixed in 0.0.5)",
    ),
    (
        "npdl_mlp.py:Net",
        "Chao-Ming Wang (npdl)",
        dict(SMALL, activation="sigmoid", reduction="sum", momentum=0, lr=0.001),
        ("npdl/layers/core.py", "self.db = np.mean(act_grad, axis=0)"),
        "the bias gradient is the batch's mean where the weight gradient is its sum (not reported)",
    ),
    (
        "mlp_from_scratch_net.py:Net",
        "Nehorai Yosef (multilayer-perceptron-from-scratch)",
        dict(PER_SAMPLE, loss_scale=2, layout="torch"),
        None,
        "correct",
    ),
    ("pydl_net.py:Net", "Hugo Wainwright (PyDeepLearning)", dict(PER_SAMPLE, layout="torch"), None, "correct"),
    (
        "zeronet_net.py:Net",
        "ddlee (zeronet)",
        dict(SMALL, activation="sigmoid", targets="labels", momentum=0, lr=0.1),
        ("zeronet/core/function.py", "dx = dout * (1.0 - dout)"),
        "sigmoid_backward multiplies by 1 - dout, not by s (1 - s) (not reported)",
    ),
    (
        "zeronet_net.py:NetReLU",
        "ddlee (zeronet)",
        dict(SMALL, activation="relu", targets="labels", momentum=0, lr=0.1),
        None,
        "correct",
    ),
    (
        "another_nn_mlp.py:Net",
        "Ian Horsman (another-neural-net)",
        dict(SMALL, activation="sigmoid", loss="mse", output="sigmoid", reduction="sum", momentum=0, lr=0.01),
        "deltas = [y - hypothesis]",
        "the output delta lacks the sigmoid's derivative (not reported)",
    ),
    (
        "neowise_net.py:loss_and_grads",
        "Pranav Sastry (neowise)",
        dict(SMALL, activation="relu", lr=0.1),
        ("neowise/activations.py", "return (Softmax.forward(self) * (1 - Softmax.forward(self)))"),
        "the softmax's Jacobian taken as its diagonal s (1 - s) (not reported)",
    ),
    (
        "ak_pynn_mlp.py:NetSGD",
        "Ankit Kohli (ak-pynn)",
        dict(BINARY, loss="mse", output="identity", loss_scale=2, activation="sigmoid", momentum=0, lr=0.1),
        None,
        "correct",
    ),
    (
        "ak_pynn_mlp.py:NetAdam",
        "Ankit Kohli (ak-pynn)",
        dict(
            BINARY,
            loss="mse",
            output="identity",
            loss_scale=2,
            activation="sigmoid",
            optimizer="adam",
            lr=1e-3,
            eps=1e-7,
        ),
        ("ak_pynn/mlp.py", "self.weights[i] -= (learningRate*(m_dw/np.sqrt(v_dw+self.epsilon)))"),
        "Adam's eps inside the square root, its moments corrected by 1 - beta, not 1 - beta^t (not reported)",
    ),
    (
        "numpy_nn_net.py:Net",
        "Rahul D Shetty (numpy-nn)",
        dict(SMALL, activation="sigmoid", loss="bce", momentum=0, lr=0.1),
        None,
        "correct",
    ),
    (
        "numpy_nn_net.py:NetAdam",
        "Rahul D Shetty (numpy-nn)",
        dict(SQUARE, optimizer="adam", lr=1e-3),
        ("numpy_nn/layers/Neuron.py", 'self.biases = self.optimizer(self.biases, self.dL_db, "biases")'),
        "one Adam for all layers: moments shared by name, t advanced at every call (not reported)",
    ),
    (
        "nnlib_net.py:loss_and_grads",
        "Felix Zhou (nnlib)",
        dict(BINARY, activation="relu", layout="torch", lr=0.1),
        None,
        "correct",
    ),
]


def bug_line(row):
    """(the file that holds the bug, the text on its line): the candidate's own file unless the row names another."""
    name, text = row[0], row[3]
    return (THIRD / text[0], text[1]) if isinstance(text, tuple) else (THIRD / name.split(":")[0], text)


def run(row):
    name, _, settings, _, _ = row
    return lockstep.check(str(THIRD / name), **settings)


@pytest.mark.parametrize("row", CORPUS, ids=[r[0] for r in CORPUS])
def test_the_line_of_a_real_network(row):
    name, _, _, text, _ = row
    r = run(row)
    if text is None:
        assert r.verdict == "agree", str(r)
        return
    src = r.first_divergence.source
    assert covers(src, *bug_line(row)), src


def table():
    """The corpus as the tool reports it: network, author, bug, the line it names; and the hit rate."""
    hits = buggy = 0
    for row in CORPUS:
        name, author, _, text, bug = row
        start = time.perf_counter()
        r = run(row)
        src = (r.first_divergence.source if r.first_divergence else None) or {}
        where = f"{Path(src['file']).name}:{src['line']} {src['variable']}" if "line" in src else "(no line)"
        if text is None:
            ok = r.verdict == "agree"
        else:
            buggy += 1
            ok = "line" in src and covers(src, *bug_line(row))
            hits += ok
        took = time.perf_counter() - start
        print(f"{'ok ' if ok else 'MISS'} {name:45s} {author:34s} {bug[:60]:60s} {where} ({took:.1f} s)")
    authors = len({row[1] for row in CORPUS})
    print(
        f"the bug's line named in {hits} of {buggy} buggy networks; "
        f"{len(CORPUS) - buggy} correct networks, none named; {authors} authors"
    )


if __name__ == "__main__":
    table()
