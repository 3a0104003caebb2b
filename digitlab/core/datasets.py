"""MNIST data sets: the bundled sample, MNIST folders, checked images and labels.

Files are read with :mod:`digitlab.core.idx` (the IDX format, with strict
checks; its names are importable from here too).

Data sets come as a :class:`DataSplit` of uint8 images ``(n, 28, 28)`` and
uint8 labels ``(n,)``: the bundled 10,000-digit sample, any folder of
standard MNIST files, or the full MNIST once downloaded
(:mod:`digitlab.core.download`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The IDX format has its own module; its names stay importable from here.
from digitlab.core.fileio import plain_reason
from digitlab.core.idx import MAX_DATA_BYTES, MAX_DIM, IdxError, read_idx, write_idx  # noqa: F401
from digitlab.paths import resource, user_data_dir

__all__ = [
    "IdxError",
    "DataSplit",
    "read_idx",
    "write_idx",
    "validate_images",
    "validate_labels",
    "load_images_labels",
    "load_sample",
    "find_mnist_files",
    "load_directory",
    "load_test_set",
    "full_mnist_dir",
    "mnist_available",
    "load_full_mnist",
    "dataset_choices",
    "load_named",
    "to_inputs",
    "one_hot",
]

IMAGE_SIZE = 28
N_CLASSES = 10

# Standard MNIST file stems; each may be gzipped and some mirrors write
# "train-images.idx3-ubyte" with a dot. The first existing spelling wins.
_MNIST_STEMS = {
    "train-images": ("train-images", "idx3-ubyte"),
    "train-labels": ("train-labels", "idx1-ubyte"),
    "t10k-images": ("t10k-images", "idx3-ubyte"),
    "t10k-labels": ("t10k-labels", "idx1-ubyte"),
}


# ---------------------------------------------------------------------------
# Images and labels
# ---------------------------------------------------------------------------


def validate_images(images: np.ndarray, path: str | os.PathLike) -> None:
    """Check that an array read from ``path`` is uint8 digits of shape (n, 28, 28).

    Raises
    ------
    IdxError
        Naming ``path`` and what is wrong.
    """
    if images.dtype != np.uint8:
        raise IdxError(path, f"images must be unsigned bytes, found {images.dtype}")
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise IdxError(
            path, f"images must have shape (n, 28, 28), found {images.shape}"
        )


def validate_labels(labels: np.ndarray, path: str | os.PathLike) -> None:
    """Check that an array read from ``path`` is uint8 digit labels 0..9, shape (n,).

    Raises
    ------
    IdxError
        Naming ``path`` and what is wrong.
    """
    if labels.dtype != np.uint8:
        raise IdxError(path, f"labels must be unsigned bytes, found {labels.dtype}")
    if labels.ndim != 1:
        raise IdxError(path, f"labels must be one-dimensional, found shape {labels.shape}")
    if labels.size and labels.max() >= N_CLASSES:
        raise IdxError(path, f"labels must be 0 to 9, found {int(labels.max())}")


def load_images_labels(
    images_path: str | os.PathLike, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """Read and check a matching pair of MNIST image and label files.

    Parameters
    ----------
    images_path, labels_path : str or Path
        IDX files (gzipped or plain).

    Returns
    -------
    images : numpy.ndarray
        uint8, shape (n, 28, 28).
    labels : numpy.ndarray
        uint8, shape (n,), values 0 to 9.

    Raises
    ------
    IdxError
        Naming the file at fault.
    """
    images = read_idx(images_path)
    validate_images(images, images_path)
    labels = read_idx(labels_path)
    validate_labels(labels, labels_path)
    if len(images) != len(labels):
        raise IdxError(
            labels_path,
            f"has {len(labels)} labels but {Path(images_path).name} has {len(images)} images",
        )
    return images, labels


# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSplit:
    """Training and validation digits of one data set: what training reads.

    The loaders below return one, and :func:`digitlab.core.training.train`
    takes one.

    Attributes
    ----------
    train_images, val_images : numpy.ndarray
        Shape (n, 28, 28): uint8 with 0 = background and 255 = ink, or floats
        in [0, 1].
    train_labels, val_labels : numpy.ndarray
        Integers, shape (n,): the digits 0 to 9 (and 10, "none of these", for
        a network with 11 outputs).
    name : str
        Short name shown to the user ("sample", "mnist", a folder name); ""
        for data put together by hand.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        for part, images, labels in (
            ("training", self.train_images, self.train_labels),
            ("validation", self.val_images, self.val_labels),
        ):
            if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise ValueError(f"{part} images must have shape (n, 28, 28), got {images.shape}")
            if labels.shape != (len(images),):
                raise ValueError(
                    f"{part} labels must have shape ({len(images)},), got {labels.shape}"
                )


def _split_last(
    images: np.ndarray, labels: np.ndarray, val_size: int, name: str
) -> DataSplit:
    """Keep the last ``val_size`` digits for validation, the rest for training."""
    cut = len(images) - val_size
    return DataSplit(images[:cut], labels[:cut], images[cut:], labels[cut:], name)


def load_sample(val_size: int = 1000) -> DataSplit:
    """The bundled 10,000 MNIST training digits, split into training and validation.

    The file was shuffled once with a fixed seed, so taking its last
    ``val_size`` digits for validation is a fair and repeatable split.

    Parameters
    ----------
    val_size : int, default 1000
        Number of validation digits, 0 up to one less than the total.

    Returns
    -------
    DataSplit
        Named "sample".
    """
    images, labels = load_images_labels(
        resource("data/images-idx3-ubyte.gz"), resource("data/labels-idx1-ubyte.gz")
    )
    if not 0 <= val_size < len(images):
        raise ValueError(
            f"val_size must be between 0 and {len(images) - 1}, got {val_size}"
        )
    return _split_last(images, labels, val_size, "sample")


def find_mnist_files(directory: str | os.PathLike) -> dict[str, Path]:
    """Locate standard MNIST files in a folder.

    Recognises ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each with or
    without ``.gz`` and also spelled with a dot (``train-images.idx3-ubyte``).
    Where several spellings exist, the gzipped dashed name wins.

    Parameters
    ----------
    directory : str or Path
        The folder to look in.

    Returns
    -------
    dict of str to Path
        Keys among "train-images", "train-labels", "t10k-images",
        "t10k-labels", only for the files found.

    Raises
    ------
    IdxError
        If ``directory`` is not an existing folder, or one that may not be
        looked into.
    """
    directory = Path(directory)
    try:
        if not directory.is_dir():
            problem = "is not a folder" if directory.exists() else "no such folder"
            raise IdxError(directory, problem)
        return _existing_mnist_files(directory)
    except OSError as err:
        # A folder without search (x) permission: every stat inside it fails,
        # and the error would name a file that may not even exist.
        raise IdxError(directory, f"cannot look inside the folder ({plain_reason(err)})") from None


def _existing_mnist_files(directory: Path) -> dict[str, Path]:
    found = {}
    for key, (stem, kind) in _MNIST_STEMS.items():
        candidates = [
            directory / name
            for base in (f"{stem}-{kind}", f"{stem}.{kind}")
            for name in (f"{base}.gz", base)
        ]
        # A regular file wins; failing that, a FIFO or folder of that name is
        # returned so read_idx refuses it by name (rather than "no such file").
        match = next((c for c in candidates if c.is_file()), None)
        match = match or next((c for c in candidates if c.exists()), None)
        if match is not None:
            found[key] = match
    return found


def _load_pair(directory: Path, files: dict[str, Path], prefix: str):
    """Load the ``prefix`` (train or t10k) pair, or None if neither file is there."""
    images_path = files.get(f"{prefix}-images")
    labels_path = files.get(f"{prefix}-labels")
    if images_path is None and labels_path is None:
        return None
    if labels_path is None:
        raise IdxError(directory, f"has {images_path.name} but no {prefix}-labels-idx1-ubyte file")
    if images_path is None:
        raise IdxError(directory, f"has {labels_path.name} but no {prefix}-images-idx3-ubyte file")
    return load_images_labels(images_path, labels_path)


def load_directory(directory: str | os.PathLike, name: str | None = None) -> DataSplit:
    """Load a folder of standard MNIST files as training and validation digits.

    - train and t10k pairs: train for training, t10k for validation.
    - only the train pair: the last sixth of it is held out for validation
      (10,000 of MNIST's 60,000, the size of the official test set).
    - only the t10k pair: refused, since training on the test set would make
      every later evaluation on it meaningless; use :func:`load_test_set`.

    Parameters
    ----------
    directory : str or Path
        The folder (see :func:`find_mnist_files` for the accepted names).
    name : str, optional
        Name of the returned split; defaults to the folder's name.

    Returns
    -------
    DataSplit

    Raises
    ------
    IdxError
        If there is no train pair, half a pair, or a file is invalid.
    """
    directory = Path(directory)
    files = find_mnist_files(directory)
    train = _load_pair(directory, files, "train")
    test = _load_pair(directory, files, "t10k")
    name = name or directory.name or str(directory)
    if train is None:
        if test is not None:
            raise IdxError(
                directory,
                "has only the t10k test files; training needs train-images-idx3-ubyte"
                " and train-labels-idx1-ubyte",
            )
        raise IdxError(directory, "contains no MNIST files (train-images-idx3-ubyte.gz etc.)")
    if test is None:
        images, labels = train
        if len(images) < 2:
            raise IdxError(files["train-images"], "has too few digits to hold out validation")
        return _split_last(images, labels, len(images) // 6 or 1, name)
    return DataSplit(*train, *test, name)


def load_test_set(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The digits to evaluate a model on: the t10k pair, or else the train pair.

    Parameters
    ----------
    directory : str or Path
        A folder of standard MNIST files.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape (n, 28, 28).
    labels : numpy.ndarray
        uint8, shape (n,).

    Raises
    ------
    IdxError
        If neither pair is there or a file is invalid.
    """
    directory = Path(directory)
    files = find_mnist_files(directory)
    pair = _load_pair(directory, files, "t10k") or _load_pair(directory, files, "train")
    if pair is None:
        raise IdxError(directory, "contains no MNIST files (t10k-images-idx3-ubyte.gz etc.)")
    return pair


def full_mnist_dir() -> Path:
    """Where the full MNIST is (or will be) downloaded: ``user_data_dir()/"mnist"``."""
    return user_data_dir() / "mnist"


def mnist_available() -> bool:
    """Whether all four full-MNIST files are in :func:`full_mnist_dir`.

    Only checks that the files exist (the downloader moves a file to its
    final name only after its checksum matched); loading checks the rest.
    """
    directory = full_mnist_dir()
    return directory.is_dir() and len(find_mnist_files(directory)) == len(_MNIST_STEMS)


def load_full_mnist() -> DataSplit:
    """The full MNIST: 60,000 training digits, the official 10,000 for validation.

    Returns
    -------
    DataSplit
        Named "mnist".

    Raises
    ------
    IdxError
        If it has not been downloaded (``digitlab download``) or a file is invalid.
    """
    directory = full_mnist_dir()
    if not mnist_available():
        raise IdxError(directory, "the full MNIST is not downloaded (run `digitlab download`)")
    return load_directory(directory, name="mnist")


def dataset_choices() -> list[str]:
    """Names of the data sets ready to use: "sample", and "mnist" once downloaded."""
    return ["sample", "mnist"] if mnist_available() else ["sample"]


def load_named(name: str) -> DataSplit:
    """Load a data set by one of the names :func:`dataset_choices` returns."""
    if name == "sample":
        return load_sample()
    if name == "mnist":
        return load_full_mnist()
    raise ValueError(f"unknown data set {name!r}; choose 'sample' or 'mnist'")


# ---------------------------------------------------------------------------
# Network inputs and targets
# ---------------------------------------------------------------------------


def to_inputs(images: np.ndarray) -> np.ndarray:
    """Flatten digits into network inputs.

    Parameters
    ----------
    images : numpy.ndarray
        uint8, shape (n, 28, 28) or a single (28, 28) image.

    Returns
    -------
    numpy.ndarray
        float32, shape (n, 784), values ``images / 255`` in [0, 1].
    """
    images = np.asarray(images)
    if images.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE) or images.ndim not in (2, 3):
        raise ValueError(f"images must have shape (n, 28, 28) or (28, 28), got {images.shape}")
    flat = images.reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
    return np.divide(flat, 255, dtype=np.float32)


def one_hot(labels: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """Targets for the MSE cost: row i is all zeros but a 1 at ``labels[i]``.

    Parameters
    ----------
    labels : numpy.ndarray
        Integers in ``[0, n_classes)``, shape (n,).
    n_classes : int, default 10

    Returns
    -------
    numpy.ndarray
        float32, shape (n, n_classes).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes}), found {labels.min()}..{labels.max()}")
    targets = np.zeros((len(labels), n_classes), dtype=np.float32)
    targets[np.arange(len(labels)), labels.astype(np.intp, copy=False)] = 1.0
    return targets
