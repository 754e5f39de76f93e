"""Data loading: the embedded digits, IDX folders (gzipped or not), and every way an IDX folder can be bad."""

import gzip
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from lockstep import data
from lockstep.data import IDX_NAMES, DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path, array, magic=None, gz=False, cut=0):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic if magic is not None else 0x0800 | array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    body = (header + array.tobytes())[: len(header) + array.size - cut]
    (gzip.open if gz else open)(path, "wb").write(body)


def make_folder(tmp_path, n_train=20, n_test=5, gz=False, **spoil):
    rng = np.random.default_rng(0)
    arrays = {
        "train images": rng.integers(0, 256, (n_train, 28, 28)),
        "train labels": rng.integers(0, 10, n_train),
        "test images": rng.integers(0, 256, (n_test, 28, 28)),
        "test labels": rng.integers(0, 10, n_test),
    }
    for role, stem in IDX_NAMES.items():
        write_idx(tmp_path / (stem + (".gz" if gz else "")), arrays[role], gz=gz, **spoil.get(role, {}))
    return tmp_path


def test_embedded_is_stratified_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_CROSSCHECK_CACHE", str(tmp_path))
    ds = data.embedded()
    assert ds.X_train.shape == (4000, 784) and ds.X_test.shape == (1000, 784)
    assert np.bincount(ds.y_train).tolist() == [400] * 10 and np.bincount(ds.y_test).tolist() == [100] * 10
    assert len(list(tmp_path.glob("mnist5k-*.npy"))) == 1
    again = data.embedded()  # from the cache, identical
    assert np.array_equal(again.X_train, ds.X_train) and np.array_equal(again.y_test, ds.y_test)
    assert len(set(ds.y_train[:100].tolist())) == 10  # shuffled: the first images are not all one digit


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    ds = data.load(data_dir=make_folder(tmp_path, gz=gz))
    assert ds.X_train.shape == (20, 784) and ds.X_test.shape == (5, 784) and ds.y_train.dtype == np.int64


@pytest.mark.parametrize(
    "spoil,message",
    [
        ({"train images": dict(cut=10)}, "truncated or corrupt"),
        ({"test labels": dict(magic=0x0803)}, "magic number 0x00000803, expected 0x00000801"),
        ({"train labels": dict(magic=0x12345678)}, "magic number"),
    ],
)
def test_bad_idx_files(tmp_path, spoil, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        data.load(data_dir=make_folder(tmp_path, **spoil))


def test_count_mismatch(tmp_path):
    folder = make_folder(tmp_path)
    write_idx(folder / IDX_NAMES["train labels"], np.zeros(19))
    with pytest.raises(DataError, match="20 train images but 19 train labels"):
        data.load(data_dir=folder)


def test_corrupt_gzip(tmp_path):
    folder = make_folder(tmp_path, gz=True)
    path = folder / (IDX_NAMES["test images"] + ".gz")
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataError, match="truncated or corrupt"):
        data.load(data_dir=folder)


def test_missing_folder_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        data.load(data_dir=tmp_path / "nope")
    folder = make_folder(tmp_path)
    os.remove(folder / IDX_NAMES["test labels"])
    with pytest.raises(DataError, match="no test labels file: put t10k-labels-idx1-ubyte"):
        data.load(data_dir=folder)


def test_scales(digits):
    for scale, lo, hi in (("unit", 0, 1), ("symmetric", -1, 1)):
        X = data.prepare(digits, 100, scale, "float64")[0]
        assert X.min() == lo and X.max() == hi
    X = data.prepare(digits, None, "standard", "float64")[0]
    assert abs(X.mean()) < 1e-9 and abs(X.std() - 1) < 1e-9


def test_n_train_beyond_the_data(digits):
    with pytest.raises(DataError, match="--n-train 5000 is more than the 4000 training images"):
        data.prepare(digits, 5000, "unit", "float64")


def test_mnist_offline_is_one_line(tmp_path, monkeypatch):
    """Offline with no files, --data mnist says where to put them (torchvision's download is the real path)."""
    monkeypatch.setenv("MLP_CROSSCHECK_CACHE", str(tmp_path))
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as e:
        data.load("mnist")
    assert "\n" not in str(e.value) and str(tmp_path / "torchvision" / "MNIST" / "raw") in str(e.value)


@pytest.mark.skipif(not FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist for the full-size check")
def test_fashion_mnist_full_size():
    ds = data.load(data_dir=FASHION)
    assert ds.X_train.shape == (60000, 784) and ds.X_test.shape == (10000, 784) and ds.n_classes == 10


def test_idx_files_from_torchvision_layout_copy(tmp_path):
    """Files copied from elsewhere keep working with the '.idx' spelling some mirrors use."""
    folder = make_folder(tmp_path)
    for stem in IDX_NAMES.values():
        shutil.move(folder / stem, folder / stem.replace("-idx", ".idx"))
    assert data.load(data_dir=folder).X_train.shape == (20, 784)
