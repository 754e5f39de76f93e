"""Your own data: arrays from Python (lockstep.check(X=..., y=...)), or a file given as --data FILE.npz / FILE.csv.

Any number of features and classes. X is (n, d) numbers (a 1-D X is one feature per sample); y holds the class
of each sample, as integer labels (n,), any other labels (strings, or integers that are not 0..k-1, mapped in
sorted order to 0..k-1), or one-hot rows (n, k). Without a test split of its own, a stratified fifth of the
samples is held out (every class with two or more samples in both parts), from a generator seeded with --seed.
Every problem gives a DataError: one line that names it and the fix.
"""
import csv
import zipfile
from pathlib import Path

import numpy as np

from .data import Dataset, DataError

TEST_FRACTION = 0.2


def labels(y, what):
    """Labels as integers 0..k-1, and the original label of each class."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DataError(f"{what} is 2-D but its rows are not one-hot (one 1 and zeros); give integer labels (n,)")
        return y.argmax(axis=1).astype(np.int64), np.arange(y.shape[1])
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.ndim != 1:
        raise DataError(f"{what} has shape {y.shape}; give one label per sample, (n,), or one-hot rows (n, k)")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or not (y == np.round(y)).all():
            raise DataError(f"{what} holds non-integer values (e.g. {y[~(y == np.round(y))][:1]}); the labels of a "
                            "classification must be classes, not real numbers")
        y = y.astype(np.int64)
    classes, index = np.unique(y, return_inverse=True)
    return index.astype(np.int64), classes


def features(X, what):
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]  # one feature per sample
    if X.ndim != 2:
        raise DataError(f"{what} has shape {X.shape}; give one row of features per sample, (n, d)")
    if not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
        raise DataError(f"{what} holds {X.dtype} values; give real numbers")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise DataError(f"{what} holds NaN or inf (row {row}); remove or fill those values")
    return X


def split(y, fraction, seed):
    """A stratified (train, test) split of indices: every class with two or more samples lands in both parts."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        cut = min(len(idx) - 1, max(1, int(round(fraction * len(idx))))) if len(idx) > 1 else 0
        test.append(idx[:cut])
        train.append(idx[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def from_arrays(X, y, X_test=None, y_test=None, seed=0, name="your arrays"):
    """A Dataset from arrays; a stratified test split is taken from them when no X_test, y_test are given."""
    X, (y, classes) = features(X, "X"), labels(y, "y")
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} samples but y has {len(y)} labels; they must match")
    if len(X) < 2:
        raise DataError(f"{name} hold {len(X)} sample; give at least two")
    if (X_test is None) != (y_test is None):
        raise DataError("give both X_test and y_test, or neither")
    if X_test is not None:
        X_test, y_test = features(X_test, "X_test"), labels(y_test, "y_test")[0]
        if X_test.shape[1] != X.shape[1]:
            raise DataError(f"X_test has {X_test.shape[1]} features but X has {X.shape[1]}")
        if len(X_test) != len(y_test):
            raise DataError(f"X_test has {len(X_test)} samples but y_test has {len(y_test)} labels")
        return Dataset(name, X, y, X_test, y_test, images=False, classes=classes)
    train, test = split(y, TEST_FRACTION, seed)
    if len(test) == 0:  # too few samples to hold any out: the test accuracy is the training accuracy
        test, name = train, name + " (too few to hold out a test split: tested on the training samples)"
    return Dataset(name, X[train], y[train], X[test], y[test], images=False, classes=classes)


def load_file(path, seed=0):
    """--data FILE.npz (arrays X and y, optionally X_test and y_test) or FILE.csv (the last column the label)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"--data {path}: no such file; give embedded, mnist, or a .npz or .csv file")
    if file.suffix == ".npz":
        if not zipfile.is_zipfile(file):
            raise DataError(f"{path}: cannot be read as .npz (not a zip archive); save it with numpy.savez")
        try:
            with np.load(file, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(f"{path}: cannot be read as .npz ({e}); save it with numpy.savez") from None
        except ValueError:
            raise DataError(f"{path}: holds Python objects, which are not loaded (allow_pickle=False); save "
                            "numeric arrays") from None
        missing = [k for k in ("X", "y") if k not in arrays]
        if missing:
            raise DataError(f"{path}: has arrays {', '.join(arrays) or 'none'} but no {' or '.join(missing)}; "
                            "save it with numpy.savez(path, X=..., y=...)")
        return from_arrays(arrays["X"], arrays["y"], arrays.get("X_test"), arrays.get("y_test"), seed, file.name)
    if file.suffix == ".csv":
        X, y = read_csv(file)
        return from_arrays(X, y, seed=seed, name=file.name)
    raise DataError(f"--data {path}: unknown kind of file; give a .npz (arrays X, y) or a .csv (last column the label)")


def read_csv(file):
    """Numeric feature columns and a label column (the last); a first row that is not numeric is a header."""
    try:
        with open(file, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: cannot be read as text ({e})") from None
    if rows and not all(_number(c) for c in rows[0][:-1]):
        rows = rows[1:]  # the header
    if not rows:
        raise DataError(f"{file}: holds no rows of data")
    width = len(rows[0])
    if width < 2:
        raise DataError(f"{file}: has one column; give the features and then the label, separated by commas")
    X = np.empty((len(rows), width - 1))
    for r, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{file}: row {r + 1} has {len(row)} columns, the first has {width}")
        for c, cell in enumerate(row[:-1]):
            if not _number(cell):
                raise DataError(f"{file}: row {r + 1}, column {c + 1} is {cell!r}, not a number")
            X[r, c] = float(cell)
    y = [row[-1].strip() for row in rows]
    return X, np.array([int(v) for v in y]) if all(_integer(v) for v in y) else np.array(y)


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _integer(text):
    return _number(text) and float(text) == int(float(text))
