"""Your own data: arrays from Python, .npz and .csv files, toy problems, and every way a file can be bad."""

import numpy as np
import pytest

import lockstep
from lockstep import data
from lockstep.data import DataError
from lockstep.data import user as userdata


def test_arrays_with_any_labels_and_a_stratified_split():
    X = np.random.default_rng(0).standard_normal((50, 3))
    y = np.array(["cat", "dog", "eel", "cat", "dog"] * 10)
    ds = userdata.from_arrays(X, y, seed=1)
    assert list(ds.classes) == ["cat", "dog", "eel"] and ds.n_classes == 3 and not ds.images
    assert len(ds.X_train) + len(ds.X_test) == 50 and len(ds.X_test) == 10
    assert set(ds.y_test) == {0, 1, 2} and set(ds.y_train) == {0, 1, 2}
    assert np.array_equal(ds.classes[ds.y_train], [y[np.flatnonzero((X == x).all(1))[0]] for x in ds.X_train])
    one_hot = userdata.from_arrays(X, np.eye(3)[np.arange(50) % 3], seed=1)
    assert one_hot.n_classes == 3


@pytest.mark.parametrize("counts,fraction", [([40, 40], 0.2), ([30, 5, 2], 0.2), ([7, 3], 0.5), ([100, 1, 9], 0.1)])
def test_split_is_stratified_and_seeded(counts, fraction):
    y = np.repeat(np.arange(len(counts)), counts)
    train, test = userdata.split(y, fraction, seed=3)
    assert sorted(np.concatenate([train, test])) == list(range(len(y)))  # a partition
    for k, n in enumerate(counts):
        in_test = np.count_nonzero(y[test] == k)
        assert (1 <= in_test <= n - 1) if n >= 2 else in_test == 0  # each class in both parts when it can be
        assert abs(in_test - fraction * n) <= 1
    again = userdata.split(y, fraction, seed=3)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], test)
    assert not np.array_equal(userdata.split(y, fraction, seed=4)[1], test)


def test_given_test_split_is_kept():
    X, y = np.arange(20.0)[:, None], np.arange(20) % 2
    ds = userdata.from_arrays(X, y, X[:4], y[:4])
    assert len(ds.X_train) == 20 and len(ds.X_test) == 4


def test_test_labels_share_the_training_classes():
    """y_test is mapped with y's classes, not its own: a class missing from the test part keeps its number."""
    X = np.random.default_rng(0).standard_normal((6, 2))
    ds = userdata.from_arrays(X, [10, 20, 30, 10, 20, 30], X[:2], [10, 30])
    assert list(ds.classes) == [10, 20, 30] and list(ds.y_test) == [0, 2]
    ds = userdata.from_arrays(X, np.eye(4)[[0, 1, 2, 0, 1, 2]], X[:2], [3, 1])  # one-hot: every column a class
    assert ds.n_classes == 4 and list(ds.y_test) == [3, 1]


# (X, y, what the Dataset holds): the decisions about shapes and kinds of X and y
ARRAYS = [
    (np.arange(10), np.arange(10) % 2, "1-D X is one feature per sample"),
    (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=bool), [0, 1, 1, 0], "bool X counts as 0/1"),
    (np.arange(20, dtype=np.uint8).reshape(10, 2), np.arange(10) % 2, "integer X becomes float64"),
    (np.ones((10, 2)), np.arange(10)[:, None] % 2, "y as a column (n, 1)"),
    (np.ones((10, 2)), (np.arange(10) % 2).astype(bool), "bool y: classes False, True"),
    (np.ones((10, 2)), np.arange(10) % 2 * 2.0 - 1, "float labels -1.0, 1.0: classes -1, 1"),
    (np.ones((10, 2)), [1, 2] * 5, "1-based labels become 0, 1"),
    (np.ones((10, 2)), ["b", "a"] * 5, "text labels in sorted order"),
]


@pytest.mark.parametrize("X,y,what", ARRAYS, ids=[r[-1] for r in ARRAYS])
def test_arrays_of_every_kind(X, y, what):
    ds = userdata.from_arrays(X, y)
    assert ds.X_train.dtype == np.float64 and ds.X_train.ndim == 2 and ds.n_classes == 2
    assert ds.y_train.dtype == np.int64 and set(ds.y_train) | set(ds.y_test) == {0, 1}
    assert len(ds.X_train) + (len(ds.X_test) if "too few" not in ds.name else 0) == len(X)


BAD_ARRAYS = [  # (X, y, extra keyword arguments, the one-line error)
    (np.ones((3, 2)), [0, 1], {}, "X has 3 samples but y has 2 labels; they must match"),
    (np.ones((1, 2)), [0], {}, "y holds one class only (0); a classifier needs two or more"),
    (np.ones((4, 2)), [1, 1, 1, 1], {}, "y holds one class only"),
    (np.ones((2, 2, 2)), [0, 1], {}, "X has shape (2, 2, 2); give one row of features per sample, (n, d)"),
    (np.array([["a", "b"], ["c", "d"]]), [0, 1], {}, "X holds <U1 values; give real numbers"),
    (np.ones((2, 2)) * 1j, [0, 1], {}, "X holds complex128 values; give real numbers"),
    (np.array([[1.0, np.inf], [0, 1]]), [0, 1], {}, "X holds NaN or inf (X[0, 1] is inf); remove or fill those values"),
    (np.ones((2, 2)), [0.0, np.nan], {}, "y[1] is nan, not a whole number"),
    (
        np.ones((2, 2)),
        np.array([0, "a"], dtype=object),
        {},
        "y mixes kinds of labels (int, str); give integers or text",
    ),
    (np.ones((2, 2)), np.array([[0.5, 0.5], [0, 1]]), {}, "y is 2-D but its row 0 is not one-hot"),
    (np.ones((2, 2)), np.ones((2, 2, 2)), {}, "y has shape (2, 2, 2); give one label per sample"),
    (np.ones((4, 2)), [0, 1, 0, 1], dict(X_test=np.ones((2, 2))), "give both X_test and y_test, or neither"),
    (np.ones((4, 2)), [0, 1, 0, 1], dict(X_test=np.ones((2, 3)), y_test=[0, 1]), "X_test has 3 features but X has 2"),
    (np.ones((4, 2)), [0, 1, 0, 1], dict(X_test=np.ones((2, 2)), y_test=[0]), "X_test has 2 samples but y_test has 1"),
    (
        np.ones((4, 2)),
        [0, 1, 0, 1],
        dict(X_test=np.ones((2, 2)), y_test=["a", "b"]),
        "y holds integers but y_test holds text; give both the same kind of labels",
    ),
    (np.ones((4, 2)), [0, 1, 0, 1], dict(test_fraction=1.0), "the test fraction must be between 0 and 1, got 1.0"),
]


@pytest.mark.parametrize("X,y,extra,words", BAD_ARRAYS, ids=[r[-1][:40] for r in BAD_ARRAYS])
def test_bad_arrays_are_one_line(X, y, extra, words):
    with pytest.raises(DataError) as e:
        userdata.from_arrays(X, y, **extra)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_npz_and_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = userdata.load_file(tmp_path / "d.npz", seed=5)
    assert ds.X_train.shape[1] == 4 and ds.n_classes == 3 and ds.name == "d.npz" and not ds.images
    rows = ["a,b,c,d,label"] + [",".join(map(repr, [float(v) for v in x] + [int(k)])) for x, k in zip(X, y)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    ds2 = userdata.load_file(tmp_path / "d.csv", seed=5)
    for a, b in [(ds.X_train, ds2.X_train), (ds.y_train, ds2.y_train), (ds.X_test, ds2.X_test)]:
        assert np.array_equal(a, b)  # the same numbers, the same seeded split
    np.savez(tmp_path / "t.npz", X=X, y=y, X_test=X[:5], y_test=y[:5])
    ds3 = userdata.load_file(tmp_path / "t.npz")
    assert np.array_equal(ds3.X_train, X) and np.array_equal(ds3.X_test, X[:5])


# (file text, features, labels, classes): headers, label columns, text labels, quoting, blank lines, a BOM
CSVS = [
    ("1,2,0\n3,4,1\n", [[1, 2], [3, 4]], [0, 1], [0, 1]),
    ("x1,x2,species\n1,2,setosa\n3,4,virginica\n", [[1, 2], [3, 4]], [0, 1], ["setosa", "virginica"]),
    ("label,p0,p1\n7,1,2\n3,3,4\n", [[1, 2], [3, 4]], [1, 0], [3, 7]),  # Kaggle's MNIST CSV: the label first
    ("x,y,class\n1,2,1\n3,4,2\n", [[1, 2], [3, 4]], [0, 1], [1, 2]),  # 'class' beats a feature called 'y'
    ('"1.5","2",0\n\n3,4e0,1.0\n', [[1.5, 2], [3, 4]], [0, 1], [0, 1]),
    ("\ufeff1,2,0\r\n3,4,1\r\n", [[1, 2], [3, 4]], [0, 1], [0, 1]),
    (" 1 , 2 , a\n3,4,b\n", [[1, 2], [3, 4]], [0, 1], ["a", "b"]),
]


@pytest.mark.parametrize("text,X,y,classes", CSVS, ids=[f"csv{i}" for i in range(len(CSVS))])
def test_csv_forms(tmp_path, text, X, y, classes):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8", newline="")
    got_X, got_y = userdata.read_csv(path)
    assert got_X.tolist() == X
    ds = userdata.from_arrays(got_X, got_y, got_X, got_y)
    assert ds.y_train.tolist() == y and ds.classes.tolist() == classes


def test_toy_problems():
    """XOR's 4 points train on all four (too few to hold a test split out); moons and iris get a stratified fifth."""
    from sklearn.datasets import load_iris, make_moons

    xor = userdata.from_arrays([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
    assert len(xor.X_train) == 4 and sorted(xor.X_test.tolist()) == sorted(xor.X_train.tolist())
    assert "too few to hold out a test split" in xor.name
    moons = userdata.from_arrays(*make_moons(200, noise=0.1, random_state=0))
    assert len(moons.X_test) == 40 and np.bincount(moons.y_test).tolist() == [20, 20]
    iris = load_iris()
    ds = userdata.from_arrays(iris.data, iris.target_names[iris.target])
    assert ds.n_classes == 3 and list(ds.classes) == ["setosa", "versicolor", "virginica"]
    assert np.bincount(ds.y_test).tolist() == [10, 10, 10] and np.bincount(ds.y_train).tolist() == [40, 40, 40]
    X = data.prepare(ds, None, "standard", "float64")[0]
    assert np.allclose(X.mean(0), 0) and np.allclose(X.std(0), 1)


def test_scales_for_your_data():
    """'none' keeps the numbers; 'standard' uses each feature's training mean and std (the test split too), and a
    constant feature is only centred; the pixel scales refuse data that are not images."""
    X = np.array([[1.0, 5.0, 100.0], [3.0, 5.0, 300.0], [5.0, 5.0, 500.0], [7.0, 5.0, 700.0]])
    ds = userdata.from_arrays(X, [0, 1, 0, 1], X[:2] + 1, [0, 1])
    X_tr, Y_tr, y_tr, X_te, Y_te, y_te = data.prepare(ds, None, "none", "float32")
    assert X_tr.dtype == np.float32 and np.array_equal(X_tr, X) and Y_tr.tolist() == np.eye(2)[[0, 1, 0, 1]].tolist()
    X_tr, *_, X_te, _, _ = data.prepare(ds, None, "standard", "float64")
    std = X.std(0)
    assert np.allclose(X_tr[:, [0, 2]], ((X - X.mean(0)) / np.where(std > 0, std, 1))[:, [0, 2]])
    assert np.allclose(X_tr[:, 1], 0) and np.allclose(X_te[:, 1], 1)  # constant: centred, not divided by 0
    assert np.allclose(X_te, (X[:2] + 1 - X.mean(0)) / np.where(std > 0, std, 1))
    X_tr = data.prepare(ds, 2, "standard", "float64")[0]  # --n-train: the statistics of the samples trained on
    assert np.allclose(X_tr[:, 0], [-1, 1])
    for scale in ("unit", "symmetric"):
        with pytest.raises(DataError, match="are not images; use --scale none or standard"):
            data.prepare(ds, None, scale, "float64")


def test_pixel_scaling_is_unchanged_for_images():
    """Image data sets keep one mean and std over all pixels for 'standard', and /255 for 'unit'."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20, 6), dtype=np.uint8)
    ds = data.Dataset("pixels", X, np.arange(20) % 2, X[:4], np.arange(4) % 2)
    assert ds.images and ds.n_classes == 2
    assert np.array_equal(data.prepare(ds, None, "unit", "float64")[0], X / 255.0)
    assert np.allclose(data.prepare(ds, None, "standard", "float64")[0], (X - X.mean()) / X.std())


def savez_object(path):
    np.savez(path, X=np.array([{}, {}], dtype=object), y=np.array([0, 1]))


def zip_named_csv(path):
    with open(path, "wb") as f:  # an .npz under a .csv name (np.savez would add .npz to the name)
        np.savez(f, X=np.ones(2))


BAD = [  # file name, content writer, words of the one-line error
    ("missing.npz", None, "no such file; give embedded, mnist, or a .npz or .csv file"),
    ("d.txt", lambda p: p.write_text("1,2\n"), "unknown kind of file; give a .npz (arrays X, y) or a .csv"),
    ("d.npz", lambda p: p.write_bytes(b"not a zip"), "cannot be read as .npz (not a zip archive)"),
    ("d.npz", lambda p: p.write_bytes(b""), "cannot be read as .npz"),
    ("d.npz", lambda p: np.savez(p, X=np.ones((3, 2))), "has arrays X but no y; save it with numpy.savez(path, X=..."),
    ("d.npz", lambda p: np.savez(p, data=np.ones((3, 2)), target=np.ones(3)), "has arrays data, target but no X or y"),
    ("d.npz", lambda p: np.savez(p, X=np.ones((3, 2)), y=np.array([0, 1])), "X has 3 samples but y has 2 labels"),
    (
        "d.npz",
        lambda p: np.savez(p, X=np.array([[1.0, np.nan], [0, 1]]), y=np.array([0, 1])),
        "d.npz: X holds NaN or inf (X[0, 1] is nan)",
    ),
    ("d.npz", lambda p: np.savez(p, X=np.ones((2, 2)), y=np.array([0.5, 1.0])), "y[0] is 0.5, not a whole number"),
    ("d.npz", savez_object, "holds Python objects, which are not loaded (allow_pickle=False); save numeric arrays"),
    (
        "d.npz",
        lambda p: np.savez(p, X=np.ones((4, 2)), y=np.arange(4) % 2, X_test=np.ones((2, 2))),
        "d.npz: give both X_test and y_test, or neither",
    ),
    ("d.csv", lambda p: p.write_text(""), "holds no rows of data"),
    ("d.csv", lambda p: p.write_text("\n\n"), "holds no rows of data"),
    ("d.csv", lambda p: p.write_text("a,b,label\n"), "holds no rows of data"),
    ("d.csv", lambda p: p.write_text("1,2,0\n3,x,1\n"), "row 2, column 2 is 'x', not a number"),
    ("d.csv", lambda p: p.write_text("a,b,y\n1,2,0\n\n3,,1\n"), "row 4, column 2 is '', not a number"),
    ("d.csv", lambda p: p.write_text("a,b,y\n1,2,0\n3,inf,1\n"), "row 3, column 2 is inf; remove or fill that value"),
    ("d.csv", lambda p: p.write_text("1,nan,0\n3,4,1\n"), "row 1, column 2 is nan; remove or fill that value"),
    ("d.csv", lambda p: p.write_text("1,2,0\n3,1\n"), "row 2 has 2 columns, the first has 3"),
    ("d.csv", lambda p: p.write_text("1\n2\n"), "has one column; give the features and then the label, separated by"),
    ("d.csv", lambda p: p.write_text("1,2,0.5\n3,4,1\n"), "row 1, column 3 (the label) is 0.5, not a whole number"),
    ("d.csv", lambda p: p.write_text("1,2,a\n3,4,\n"), "row 2 has no label (column 3 is empty)"),
    ("d.csv", lambda p: p.write_text("1,2,0\n3,4,0\n"), "d.csv: y holds one class only"),
    ("d.csv", lambda p: p.write_bytes(b"\x80\x81,\xff\n"), "cannot be read as CSV text"),
    ("d.csv", zip_named_csv, "cannot be read as CSV text"),
]


@pytest.mark.parametrize("name,write,words", BAD, ids=[w[:40] for _, _, w in BAD])
def test_bad_files_are_one_line(tmp_path, name, write, words):
    path = tmp_path / name
    if write:
        write(path)
    with pytest.raises(DataError) as e:
        userdata.load_file(path)
    assert words in str(e.value) and "\n" not in str(e.value)


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
    settings = dict(
        X=X,
        y=y,
        sizes=[2, 16, 2],
        activation="tanh",
        layout="in-out",
        targets="labels",
        lr=0.2,
        epochs=20,
        batch_size=16,
    )
    assert lockstep.check(net, **settings).verdict == "agree"
    r = lockstep.check(lambda p, X, y: net(p, X, y, sign=-1.0), **settings)
    assert r.verdict == "diverge" and r.first_divergence.tensor == "layers.1.bias"
    assert r.first_divergence.in_your_terms == "params['b2']"
