"""Your own data: arrays from Python, .npz and .csv files, toy problems, and every way a file can be bad."""
import numpy as np
import pytest

import lockstep
from lockstep import data, userdata
from lockstep.data import DataError


def test_arrays_with_any_labels_and_a_stratified_split():
    X = np.random.default_rng(0).standard_normal((50, 3))
    y = np.array(["cat", "dog", "eel", "cat", "dog"] * 10)
    ds = userdata.from_arrays(X, y, seed=1)
    assert list(ds.classes) == ["cat", "dog", "eel"] and ds.n_classes == 3 and not ds.images
    assert len(ds.X_train) + len(ds.X_test) == 50 and len(ds.X_test) == 10
    assert set(ds.y_test) == {0, 1, 2} and set(ds.y_train) == {0, 1, 2}
    one_hot = userdata.from_arrays(X, np.eye(3)[np.arange(50) % 3], seed=1)
    assert one_hot.n_classes == 3


def test_given_test_split_is_kept():
    X, y = np.arange(20.0)[:, None], np.arange(20) % 2
    ds = userdata.from_arrays(X, y, X[:4], y[:4])
    assert len(ds.X_train) == 20 and len(ds.X_test) == 4


def test_npz_and_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = userdata.load_file(tmp_path / "d.npz")
    assert ds.X_train.shape[1] == 4 and ds.n_classes == 3
    rows = ["a,b,c,d,label"] + [",".join(map(str, list(x) + [k])) for x, k in zip(X, y)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    ds2 = userdata.load_file(tmp_path / "d.csv")
    assert np.allclose(np.sort(ds2.X_train, axis=0), np.sort(ds.X_train, axis=0)) or len(ds2.X_train) == 24


BAD = [  # file name, content writer, words of the one-line error
    ("missing.npz", None, "no such file"),
    ("d.txt", lambda p: p.write_text("1,2\n"), "unknown kind of file"),
    ("d.npz", lambda p: p.write_bytes(b"not a zip"), "cannot be read as .npz"),
    ("d.npz", lambda p: np.savez(p, X=np.ones((3, 2))), "no y"),
    ("d.npz", lambda p: np.savez(p, X=np.ones((3, 2)), y=np.array([0, 1])), "X has 3 samples but y has 2 labels"),
    ("d.npz", lambda p: np.savez(p, X=np.array([[1.0, np.nan], [0, 1]]), y=np.array([0, 1])), "NaN or inf (row 0)"),
    ("d.npz", lambda p: np.savez(p, X=np.ones((2, 2)), y=np.array([0.5, 1.0])), "non-integer values"),
    ("d.npz", lambda p: np.savez(p, X=np.array([{}, {}], dtype=object), y=np.array([0, 1])), "Python objects"),
    ("d.csv", lambda p: p.write_text(""), "no rows of data"),
    ("d.csv", lambda p: p.write_text("1,2,0\n3,x,1\n"), "row 2, column 2 is 'x', not a number"),
    ("d.csv", lambda p: p.write_text("1,2,0\n3,1\n"), "row 2 has 2 columns, the first has 3"),
    ("d.csv", lambda p: p.write_text("1\n2\n"), "has one column"),
]


@pytest.mark.parametrize("name,write,words", BAD, ids=[w for _, _, w in BAD])
def test_bad_files_are_one_line(tmp_path, name, write, words):
    path = tmp_path / name
    if write:
        write(path)
    with pytest.raises(DataError) as e:
        userdata.load_file(path)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_pixel_scales_refuse_non_image_data():
    ds = userdata.from_arrays(np.ones((10, 2)), np.arange(10) % 2)
    with pytest.raises(DataError, match="not images"):
        data.prepare(ds, None, "unit", "float64")
    X = data.prepare(ds, None, "standard", "float64")[0]
    assert np.allclose(X, 0)  # constant features are only centred


def test_notebook_toy_problem_in_the_in_out_layout_with_labels():
    """The issue's notebook case: a 2-16-2 network on toy data, in-out layout, labels as targets: agreement; a sign
    error: divergence with the tensor named."""
    from sklearn.datasets import make_moons

    def net(params, X, y, sign=1.0):
        z1 = X @ params["W1"] + params["b1"]
        a1 = np.tanh(z1)
        z2 = a1 @ params["W2"] + params["b2"]
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        m = len(X)
        loss = -np.log(p[np.arange(m), y]).mean()
        d2 = p.copy()
        d2[np.arange(m), y] -= 1
        d2 /= m
        d1 = (d2 @ params["W2"].T) * (1 - a1**2)
        grads = dict(W1=X.T @ d1, b1=d1.sum(0), W2=a1.T @ d2, b2=sign * d2.sum(0))
        return loss, grads

    X, y = make_moons(200, noise=0.1, random_state=0)
    settings = dict(X=X, y=y, sizes=[2, 16, 2], activation="tanh", layout="in-out", targets="labels", lr=0.2,
                    epochs=20, batch_size=16)
    assert lockstep.check(net, **settings).verdict == "agree"
    r = lockstep.check(lambda p, X, y: net(p, X, y, sign=-1.0), **settings)
    assert r.verdict == "diverge" and r.first_divergence["tensor"] == "layers.1.bias"
    assert r.first_divergence["in_your_terms"] == "params['b2']"
