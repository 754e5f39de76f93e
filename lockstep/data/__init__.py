"""The data: the embedded digits, MNIST through torchvision, IDX folders (sources.py), and the user's own arrays,
.npz and .csv files (user.py)."""

from .sources import IDX_NAMES, SCALES, DataError, Dataset, embedded, idx_folder, load, mnist, prepare, read_idx

__all__ = [
    "IDX_NAMES",
    "SCALES",
    "Dataset",
    "DataError",
    "embedded",
    "idx_folder",
    "load",
    "mnist",
    "prepare",
    "read_idx",
]
