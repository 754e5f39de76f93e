"""Your own data: arrays from Python (lockstep.check(X=..., y=...)), or a file given as --data FILE.npz / FILE.csv.

Any number of features and classes.
  X  (n, d) real numbers of any dtype (bool counts as 0/1), finite; a 1-D X is one feature per sample, (n,) -> (n, 1).
  y  the class of each sample: labels (n,) or (n, 1) of any integers or text, or one-hot rows (n, k). The distinct
     labels of y and y_test together, sorted, become the classes 0..k-1 (labels 0..k-1 stay as they are), and
     Dataset.classes keeps the original label of each class for reports. A one-hot y has k classes, its columns.
Without a test split of its own, a stratified fraction (a fifth) of the samples is held out, from a generator seeded
with --seed: every class with two or more samples lands in both parts. A set too small for that (fewer test samples
than classes: XOR's 4 points) is not split: it trains on every sample and its test accuracy is on them too, as its
name says. Fewer than two samples, or a single class, is refused.
Every problem gives a DataError: one line that names it and the fix.
"""

import csv
import zipfile
from pathlib import Path

import numpy as np

from .sources import DataError, Dataset

TEST_FRACTION = 0.2
LABEL_NAMES = ("label", "labels", "target", "class", "y")  # a CSV header's name for the label column, by priority


# -- arrays ---------------------------------------------------------------------------------------------------------
def label_values(y, what):
    """y as one label per sample, (n,) integers or text, and the number of one-hot columns (None for labels)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            bad = int(np.flatnonzero(~(np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)))[0])
            raise DataError(
                f"{what} is 2-D but its row {bad} is not one-hot (one 1 and zeros); give one-hot rows or "
                "integer labels (n,)"
            )
        return y.argmax(axis=1).astype(np.int64), y.shape[1]
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.ndim != 1:
        raise DataError(f"{what} has shape {y.shape}; give one label per sample, (n,), or one-hot rows (n, k)")
    if y.dtype == object:  # a list of mixed Python values: integers or text, not both
        kinds = {type(v) for v in y}
        if kinds <= {int, np.int64, np.int32} or kinds <= {str}:
            y = y.astype(np.int64 if str not in kinds else str)
        else:
            raise DataError(
                f"{what} mixes kinds of labels ({', '.join(sorted(k.__name__ for k in kinds))}); give integers or text"
            )
    if y.dtype == bool or np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64), None
    if np.issubdtype(y.dtype, np.floating):
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise DataError(
                f"{what}[{i}] is {y[i]}, not a whole number; the labels of a classification are classes "
                "(integers or text), not real numbers"
            )
        return y.astype(np.int64), None
    if y.dtype.kind in "US":
        return y.astype(str), None
    raise DataError(f"{what} holds {y.dtype} values; give integer or text labels, or one-hot rows")


def labels(y, y_test=None, what="y"):
    """The labels of y (and y_test) as classes 0..k-1: (y, y_test or None, the original label of each class)."""
    (raw, k), test = label_values(y, what), None
    if y_test is not None:
        test, k_test = label_values(y_test, what + "_test")
        if (raw.dtype.kind == "U") != (test.dtype.kind == "U"):
            kinds = ["text" if a.dtype.kind == "U" else "integers" for a in (raw, test)]
            raise DataError(
                f"{what} holds {kinds[0]} but {what}_test holds {kinds[1]}; give both the same kind of labels"
            )
        k = max(k or 0, k_test or 0) or None
    classes = np.unique(raw if test is None else np.concatenate([raw, test]))
    if k is not None:  # one-hot: every column is a class, seen or not
        classes = np.union1d(classes, np.arange(k))
    if len(classes) < 2:
        raise DataError(f"{what} holds one class only ({classes[0].item()!r}); a classifier needs two or more")
    index = lambda a: np.searchsorted(classes, a).astype(np.int64)
    return index(raw), None if test is None else index(test), classes


def features(X, what):
    """X as (n, d) float64, checked: numbers, finite; a 1-D X is one feature per sample."""
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]  # one feature per sample
    if X.ndim != 2:
        raise DataError(f"{what} has shape {X.shape}; give one row of features per sample, (n, d)")
    if not (X.dtype == bool or np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise DataError(f"{what} holds {X.dtype} values; give real numbers")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        row, col = (int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise DataError(f"{what} holds NaN or inf ({what}[{row}, {col}] is {X[row, col]}); remove or fill those values")
    return X


def split(y, fraction, seed):
    """A stratified (train, test) split of indices. Each class gives round(fraction * its count) samples to the test
    part, at least one and at most all but one when it has two or more; a class of one sample stays in training.
    When round(fraction * n) is fewer than the classes, nothing is held out: test is empty."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    if int(round(fraction * len(y))) < np.count_nonzero(counts):
        return rng.permutation(len(y)), np.array([], dtype=np.int64)
    train, test = [], []
    for k in np.flatnonzero(counts):
        idx = rng.permutation(np.flatnonzero(y == k))
        cut = min(len(idx) - 1, max(1, int(round(fraction * len(idx)))))
        test.append(idx[:cut])
        train.append(idx[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def from_arrays(X, y, X_test=None, y_test=None, seed=0, name="your arrays", test_fraction=TEST_FRACTION):
    """A Dataset (images=False, classes: the original labels) from arrays. Without X_test and y_test, a stratified
    test_fraction of the samples is held out by split(seed); a set too small for that trains and tests on every
    sample, and its name says so."""
    X = features(X, "X")
    if (X_test is None) != (y_test is None):
        raise DataError("give both X_test and y_test, or neither")
    y, y_test, classes = labels(y, y_test)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} samples but y has {len(y)} labels; they must match")
    if len(X) < 2:
        raise DataError(f"{name} hold {len(X)} sample; give at least two")
    if X_test is not None:
        X_test = features(X_test, "X_test")
        if X_test.shape[1] != X.shape[1]:
            raise DataError(f"X_test has {X_test.shape[1]} features but X has {X.shape[1]}; they must match")
        if len(X_test) != len(y_test):
            raise DataError(f"X_test has {len(X_test)} samples but y_test has {len(y_test)} labels; they must match")
        return Dataset(name, X, y, X_test, y_test, images=False, classes=classes)
    if not 0 < test_fraction < 1:
        raise DataError(f"the test fraction must be between 0 and 1, got {test_fraction}")
    train, test = split(y, test_fraction, seed)
    if len(test) == 0:  # too few samples to hold any out: the test accuracy is the training accuracy
        test, name = train, f"{name} ({len(X)} samples, too few to hold out a test split: tested on the training set)"
    return Dataset(name, X[train], y[train], X[test], y[test], images=False, classes=classes)


# -- files ----------------------------------------------------------------------------------------------------------
def load_file(path, seed=0):
    """--data FILE.npz (arrays X and y, optionally X_test and y_test) or FILE.csv (read_csv: numeric features and a
    label column, the last unless a header names it). Every problem is one DataError line naming the file."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"--data {path}: no such file; give embedded, mnist, or a .npz or .csv file")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        arrays = read_npz(file)
        try:
            return from_arrays(arrays["X"], arrays["y"], arrays.get("X_test"), arrays.get("y_test"), seed, file.name)
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
    if suffix == ".csv":
        X, y = read_csv(file)
        try:
            return from_arrays(X, y, seed=seed, name=file.name)
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
    raise DataError(f"--data {path}: unknown kind of file; give a .npz (arrays X, y) or a .csv (last column the label)")


def read_npz(file):
    """The arrays of an .npz, loaded with allow_pickle=False; X and y must be among them."""
    if not zipfile.is_zipfile(file):
        raise DataError(f"{file}: cannot be read as .npz (not a zip archive); save it with numpy.savez")
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{file}: cannot be read as .npz ({e}); save it with numpy.savez") from None
    except ValueError:
        raise DataError(
            f"{file}: holds Python objects, which are not loaded (allow_pickle=False); save numeric arrays"
        ) from None
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise DataError(
            f"{file}: has arrays {', '.join(arrays) or 'none'} but no {' or '.join(missing)}; save it "
            "with numpy.savez(path, X=..., y=...)"
        )
    return arrays


def read_csv(file):
    """A CSV's features (n, d) float64 and labels (n,): integers, or text such as iris's species.

    A first row with a cell other than the last that is not a number is a header. The label column is the one the
    header names label, labels, target, class or y (in that order of preference, when exactly one column has that
    name: Kaggle's MNIST CSV puts 'label' first), else the last. Rows and columns in messages are counted from 1 as a
    spreadsheet counts them, the header included. Numeric files are parsed by np.loadtxt; any other, or one with a
    problem, cell by cell, so that the message can point at the cell."""
    first, header, skip = _first_row(file)
    if first is None:
        raise DataError(f"{file}: holds no rows of data")
    width = len(first)
    if width < 2:
        raise DataError(f"{file}: has one column; give the features and then the label, separated by commas")
    label = _label_column(first) if header else width - 1
    try:
        table = np.loadtxt(file, delimiter=",", skiprows=skip, ndmin=2, comments=None, encoding="utf-8-sig")
    except ValueError:
        table = None  # text labels, or a bad cell: read cell by cell below, which says where
    if table is not None and len(table) and table.shape[1] == width and np.isfinite(table).all():
        y = table[:, label]
        if (y == np.round(y)).all():
            return np.delete(table, label, axis=1), y.astype(np.int64)
    return _read_cells(file, width, label, header)


def _first_row(file):
    """(the first non-empty row's cells, whether it is a header, the lines before the data); the cells are None when
    no row of data follows."""
    try:
        with open(file, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                if not row:
                    continue
                if all(_number(c) for c in row[:-1]):
                    return row, False, 0
                skip = reader.line_num  # a header: some row of data must follow it
                return (row if any(rest for rest in reader) else None), True, skip
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{file}: cannot be read as CSV text ({e})") from None
    return None, False, 0


def _label_column(header):
    names = [c.strip().lower() for c in header]
    for name in LABEL_NAMES:
        if names.count(name) == 1:
            return names.index(name)
    return len(header) - 1


def _read_cells(file, width, label, has_header):
    """The CSV cell by cell, with the row and column of the first bad cell in its message."""
    try:
        X, y = _cells(file, width, label, has_header)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{file}: cannot be read as CSV text ({e})") from None
    if not X:
        raise DataError(f"{file}: holds no rows of data")
    if all(_integer(v) for v in y):
        return np.array(X), np.array([int(float(v)) for v in y], dtype=np.int64)
    return np.array(X), np.array(y)


def _cells(file, width, label, has_header):
    X, y = [], []
    with open(file, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        rows = ((reader.line_num, row) for row in reader if row)
        if has_header:
            next(rows)
        for line, row in rows:
            if len(row) != width:
                raise DataError(f"{file}: row {line} has {len(row)} columns, the first has {width}")
            values = []
            for c, cell in enumerate(row):
                if c == label:
                    continue
                if not _number(cell):
                    raise DataError(f"{file}: row {line}, column {c + 1} is {cell!r}, not a number")
                if not np.isfinite(float(cell)):
                    raise DataError(f"{file}: row {line}, column {c + 1} is {cell.strip()}; remove or fill that value")
                values.append(float(cell))
            cell = row[label].strip()
            if not cell:
                raise DataError(f"{file}: row {line} has no label (column {label + 1} is empty)")
            if _number(cell) and not _integer(cell):
                raise DataError(
                    f"{file}: row {line}, column {label + 1} (the label) is {cell}, not a whole number; "
                    "the labels of a classification are classes (integers or text), not real numbers"
                )
            X.append(values)
            y.append(cell)
    return X, y


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _integer(text):
    return _number(text) and np.isfinite(float(text)) and float(text) == int(float(text))
