"""The bundled MNIST subset and its fixed train / held-out split.

``data/mnist-8k.npz`` holds 8,000 MNIST digits (see ``data/SOURCES.md``). The split never changes: 7,000
digits train the model and 1,000 are held out. Published accuracy is measured on the held-out part, and the
demo publishes held-out digits as sample images, so the model has never seen any digit the demo shows.

Which digits are held out is decided by hashing each index with a fixed salt and holding out the 1,000
smallest hashes. Unlike a seeded NumPy permutation, this cannot change with a NumPy release, and anyone can
recompute it from this description alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

__all__ = [
    "DATASET_SIZE",
    "HOLDOUT_SIZE",
    "SPLIT_SALT",
    "default_data_path",
    "holdout",
    "load_mnist",
    "split_indices",
    "training_set",
]

DATASET_SIZE = 8000
HOLDOUT_SIZE = 1000
SPLIT_SALT = "sdmtool-mnist-8k-holdout-v1"


def default_data_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "mnist-8k.npz"


def load_mnist(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 28, 28), white ink on black, and labels uint8 (N,) from an MNIST ``.npz`` file."""
    source = Path(path) if path is not None else default_data_path()
    with np.load(source, allow_pickle=False) as data:
        missing = {"images", "labels"} - set(data.files)
        if missing:
            raise ValueError(f"{source} lacks the arrays {sorted(missing)}")
        images, labels = data["images"], data["labels"]
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{source}: images must be uint8 (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{source}: labels must be integers of shape ({images.shape[0]},)")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{source}: labels must be digits 0-9")
    return images, labels.astype(np.uint8, copy=False)


def split_indices(
    n_samples: int = DATASET_SIZE, holdout_size: int = HOLDOUT_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted index arrays ``(train_idx, holdout_idx)`` of the fixed split: disjoint, together all indices."""
    if not 0 < holdout_size < n_samples:
        raise ValueError(f"holdout_size must be between 1 and {n_samples - 1}, got {holdout_size}")
    keys = [hashlib.sha256(f"{SPLIT_SALT}:{i}".encode()).digest() for i in range(n_samples)]
    order = sorted(range(n_samples), key=keys.__getitem__)
    held_out = np.zeros(n_samples, dtype=bool)
    held_out[order[:holdout_size]] = True
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def training_set(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 7,000 training digits (images, labels); nothing else may be used to fit the model."""
    images, labels = load_mnist(path)
    train_idx, _ = split_indices(len(labels))
    return images[train_idx], labels[train_idx]


def holdout(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 1,000 held-out digits (images, labels), in index order; never used for training."""
    images, labels = load_mnist(path)
    _, holdout_idx = split_indices(len(labels))
    return images[holdout_idx], labels[holdout_idx]
