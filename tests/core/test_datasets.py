"""The bundled sample, MNIST folders and input conversion."""

import os
from pathlib import Path

import numpy as np
import pytest

from digitlab.core import datasets
from digitlab.core.datasets import (
    DataSplit,
    IdxError,
    find_mnist_files,
    load_directory,
    load_images_labels,
    load_sample,
    load_test_set,
    one_hot,
    read_idx,
    to_inputs,
    write_idx,
)
from digitlab.paths import resource
from tests.core.test_idx import digits


# --- images + labels pairs --------------------------------------------------


def write_pair(directory, stem, images, labels, suffix=".gz"):
    directory.mkdir(parents=True, exist_ok=True)
    images_path = directory / f"{stem}-images-idx3-ubyte{suffix}"
    labels_path = directory / f"{stem}-labels-idx1-ubyte{suffix}"
    write_idx(images_path, images)
    write_idx(labels_path, labels)
    return images_path, labels_path


def test_load_images_labels_good_pair(tmp_path):
    images, labels = digits(np.random.default_rng(2), 12)
    loaded = load_images_labels(*write_pair(tmp_path, "train", images, labels))
    np.testing.assert_array_equal(loaded[0], images)
    np.testing.assert_array_equal(loaded[1], labels)


@pytest.mark.parametrize(
    "images, labels, bad, match",
    [
        (np.zeros((3, 28, 27), np.uint8), np.zeros(3, np.uint8), "images", r"shape \(n, 28, 28\)"),
        (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), "images", r"shape \(n, 28, 28\)"),
        (np.zeros((3, 28, 28), np.int8), np.zeros(3, np.uint8), "images", "unsigned bytes"),
        (np.zeros((3, 28, 28), np.uint8), np.array([1, 10, 2], np.uint8), "labels", "0 to 9"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), "labels", "one-dimensional"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.int32), "labels", "unsigned bytes"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "labels", "has 4 labels but"),
    ],
    ids=["width", "flat", "signed-images", "label-10", "labels-2d", "labels-int32", "count"],
)
def test_load_images_labels_names_the_bad_file(tmp_path, images, labels, bad, match):
    images_path, labels_path = write_pair(tmp_path, "train", images, labels)
    with pytest.raises(IdxError, match=match) as info:
        load_images_labels(images_path, labels_path)
    assert info.value.path == (images_path if bad == "images" else labels_path)


# --- the bundled sample ------------------------------------------------------


def test_bundled_sample_loads_and_splits_deterministically():
    split = load_sample()
    assert split.name == "sample"
    assert split.train_images.shape == (9000, 28, 28)
    assert split.val_images.shape == (1000, 28, 28)
    assert split.train_labels.shape == (9000,) and split.val_labels.shape == (1000,)
    for array in (split.train_images, split.train_labels, split.val_images, split.val_labels):
        assert array.dtype == np.uint8
    assert set(np.unique(split.train_labels)) == set(range(10))
    assert set(np.unique(split.val_labels)) == set(range(10))
    # Real digits: mostly background with some full-ink pixels.
    assert split.train_images.max() == 255 and np.median(split.train_images) == 0
    # The validation digits are the file's last 1000, every time.
    all_images = read_idx(resource("data/images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(split.val_images, all_images[-1000:])
    again = load_sample()
    np.testing.assert_array_equal(again.train_labels, split.train_labels)
    np.testing.assert_array_equal(again.val_images, split.val_images)


def test_sample_val_size():
    assert len(load_sample(val_size=2500).val_images) == 2500
    whole = load_sample(val_size=0)
    assert len(whole.train_images) == 10000 and whole.val_images.shape == (0, 28, 28)
    for bad in (-1, 10000):
        with pytest.raises(ValueError, match="val_size"):
            load_sample(val_size=bad)


def test_official_test_set(official_test_dir):
    images, labels = load_test_set(official_test_dir)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    # The well-known first digits of MNIST's test set.
    np.testing.assert_array_equal(labels[:4], [7, 2, 1, 0])
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_official_test_set_alone_cannot_be_trained_on(official_test_dir):
    with pytest.raises(IdxError, match="only the t10k test files"):
        load_directory(official_test_dir)


# --- MNIST folders -----------------------------------------------------------


@pytest.mark.parametrize(
    "images_name",
    [
        "train-images-idx3-ubyte.gz",
        "train-images-idx3-ubyte",
        "train-images.idx3-ubyte",
        "train-images.idx3-ubyte.gz",
    ],
)
def test_find_mnist_files_spellings(tmp_path, images_name):
    (tmp_path / images_name).write_bytes(b"")
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(b"")
    (tmp_path / "unrelated.gz").write_bytes(b"")
    found = find_mnist_files(tmp_path)
    assert found == {
        "train-images": tmp_path / images_name,
        "t10k-labels": tmp_path / "t10k-labels.idx1-ubyte",
    }


def test_find_mnist_files_prefers_gzipped_dashed_name(tmp_path):
    for name in ("train-images.idx3-ubyte", "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        (tmp_path / name).write_bytes(b"")
    assert find_mnist_files(tmp_path)["train-images"].name == "train-images-idx3-ubyte.gz"


def test_find_mnist_files_bad_folder(tmp_path):
    with pytest.raises(IdxError, match="no such folder"):
        find_mnist_files(tmp_path / "absent")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(IdxError, match="is not a folder"):
        find_mnist_files(tmp_path / "file")


@pytest.fixture
def mnist_like(tmp_path):
    """A folder with small train (60) and t10k (20) pairs; returns (folder, arrays)."""
    rng = np.random.default_rng(3)
    train, test = digits(rng, 60), digits(rng, 20)
    folder = tmp_path / "mnist-small"
    write_pair(folder, "train", *train)
    write_pair(folder, "t10k", *test, suffix="")
    return folder, train, test


def test_load_directory_both_pairs(mnist_like):
    folder, train, test = mnist_like
    split = load_directory(folder)
    assert split.name == "mnist-small"
    np.testing.assert_array_equal(split.train_images, train[0])
    np.testing.assert_array_equal(split.val_labels, test[1])
    assert load_directory(folder, name="custom").name == "custom"


def test_load_directory_train_only_holds_out_last_sixth(mnist_like):
    folder, train, _ = mnist_like
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / name).unlink()
    split = load_directory(folder)
    assert len(split.train_images) == 50 and len(split.val_images) == 10
    np.testing.assert_array_equal(split.val_images, train[0][50:])


def test_load_directory_half_pair_and_empty(mnist_like, tmp_path):
    folder, _, _ = mnist_like
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(IdxError, match="has t10k-images-idx3-ubyte but no t10k-labels"):
        load_directory(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IdxError, match="contains no MNIST files") as info:
        load_directory(empty)
    assert str(empty) in str(info.value)
    with pytest.raises(IdxError, match="contains no MNIST files"):
        load_test_set(empty)


def test_load_test_set_prefers_t10k_then_train(mnist_like):
    folder, train, test = mnist_like
    np.testing.assert_array_equal(load_test_set(folder)[1], test[1])
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / name).unlink()
    np.testing.assert_array_equal(load_test_set(folder)[0], train[0])


def test_full_mnist_availability(monkeypatch, tmp_path, mnist_like):
    folder, train, test = mnist_like
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "userdata"))
    assert not datasets.mnist_available()
    assert datasets.dataset_choices() == ["sample"]
    with pytest.raises(IdxError, match="not downloaded"):
        datasets.load_full_mnist()
    target = tmp_path / "userdata" / "mnist"
    target.parent.mkdir()
    os.replace(folder, target)
    assert datasets.full_mnist_dir() == target
    assert datasets.mnist_available()
    assert datasets.dataset_choices() == ["sample", "mnist"]
    split = datasets.load_named("mnist")
    assert split.name == "mnist" and len(split.train_images) == 60 and len(split.val_images) == 20
    assert datasets.load_named("sample").name == "sample"
    with pytest.raises(ValueError, match="unknown data set"):
        datasets.load_named("cifar")


def test_datasplit_checks_shapes():
    images = np.zeros((4, 28, 28), np.uint8)
    labels = np.zeros(4, np.uint8)
    DataSplit(images, labels, images[:1], labels[:1], "ok")
    assert DataSplit(images, labels, images, labels).name == ""  # put together by hand
    with pytest.raises(ValueError, match="training labels"):
        DataSplit(images, labels[:3], images, labels, "bad")
    with pytest.raises(ValueError, match="validation images"):
        DataSplit(images, labels, images.reshape(4, 784), labels, "bad")


# --- network inputs ----------------------------------------------------------


def test_to_inputs_scales_and_flattens():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 1
    inputs = to_inputs(images)
    assert inputs.dtype == np.float32 and inputs.shape == (2, 784)
    assert inputs[0, 0] == 1.0 and inputs[1, 783] == pytest.approx(0.2)
    assert inputs[1, 1] == pytest.approx(1 / 255)
    assert inputs.min() == 0.0 and inputs.max() == 1.0
    assert to_inputs(images[0]).shape == (1, 784)
    with pytest.raises(ValueError, match="shape"):
        to_inputs(np.zeros((2, 784), np.uint8))


def test_one_hot():
    targets = one_hot(np.array([3, 0, 9], np.uint8))
    assert targets.dtype == np.float32 and targets.shape == (3, 10)
    np.testing.assert_array_equal(targets.argmax(axis=1), [3, 0, 9])
    np.testing.assert_array_equal(targets.sum(axis=1), [1, 1, 1])
    assert one_hot(np.array([], np.uint8)).shape == (0, 10)
    assert one_hot(np.array([1]), 3).tolist() == [[0, 1, 0]]
    for bad in (np.array([10]), np.array([-1]), np.array([0.5]), np.zeros((2, 2), int)):
        with pytest.raises(ValueError, match="labels"):
            one_hot(bad)


def test_core_datasets_imports_no_qt():
    import subprocess
    import sys

    code = (
        "import sys, digitlab.core.datasets, digitlab.core.download;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'PyQt'))];"
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_path_arguments_accept_strings(mnist_like):
    folder, _, test = mnist_like
    images, _ = load_test_set(str(folder))
    np.testing.assert_array_equal(images, test[0])
    assert isinstance(find_mnist_files(str(folder))["t10k-images"], Path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_folder_with_a_fifo_for_a_file_names_the_fifo(tmp_path):
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10, dtype=np.uint8))
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(IdxError, match="train-images-idx3-ubyte: is a FIFO"):
        datasets.load_directory(tmp_path)


@pytest.mark.parametrize("mode", [0o600, 0o000])
def test_a_folder_that_may_not_be_looked_into_is_one_error_naming_it(mnist_like, mode):
    # No search (x) permission: every stat inside fails. Root ignores modes,
    # so the check runs in a child without that power (tests/unprivileged.py).
    from tests.unprivileged import run_python

    folder, _, _ = mnist_like
    code = (
        "import sys\n"
        "from digitlab.core.datasets import IdxError, load_directory\n"
        "try:\n"
        "    load_directory(sys.argv[1])\n"
        "except IdxError as err:\n"
        "    print(err)\n"
    )
    folder.chmod(mode)
    try:
        result = run_python(code, str(folder), unprivileged=True)
    finally:
        folder.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{folder}: cannot look inside the folder (permission denied)"
