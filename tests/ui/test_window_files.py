"""The main window's files: saving and opening models, opening and dropping images, exports, downloading MNIST."""

import gzip

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton

from digitlab.core import datasets, model_io, preprocess
from digitlab.core.drawing import draw_digit
from tests.mnist_server import mnist_files
from tests.ui.test_main_window import (  # noqa: F401 (fixtures: isolated is autouse, window and random_window are asked for)
    has_default_model,
    isolated,
    random_window,
    window,
)


# ------------------------------------------------------------------- files


def test_save_and_open_round_trip(qtbot, random_window, tmp_path):
    window = random_window
    path = tmp_path / "my-model.npz"
    window.ask_save_path = lambda caption, file_filter, suggested: str(path)
    window.save_as_action.trigger()
    assert path.is_file()
    saved = [w.copy() for w in window.display.weights]
    assert window.model_name() == "my-model" and not window.is_dirty()

    window.training_panel.seed_spin.setValue(99)
    window.new_action.trigger()  # a different random network
    assert not np.array_equal(window.display.weights[0], saved[0])

    window.ask_open_path = lambda caption, file_filter: str(path)
    window.open_model_action.trigger()
    assert window.errors == []
    for mine, theirs in zip(window.display.weights, saved):
        np.testing.assert_array_equal(mine, theirs)
    assert window.model_path() == path
    np.testing.assert_array_equal(window.training_panel.model().weights[0], saved[0])
    network, metadata = model_io.load_model(path)
    assert metadata["name"] == "my-model" and metadata["made_by"] == "DigitLab window"
    assert metadata["architecture"]["sizes"] == list(window.display.sizes)


def test_saving_a_trained_model_keeps_its_history(qtbot, window, tmp_path):
    panel = window.training_panel
    panel.train_size_spin.setValue(500)
    panel.epochs_spin.setValue(2)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        panel.start()
    path = tmp_path / "trained.npz"
    assert window.save_model_to(path)
    network, metadata = model_io.load_model(path)
    np.testing.assert_array_equal(network.weights[0], window.display.weights[0])
    # The one metadata schema (as `digitlab train` writes it).
    assert [e["epoch"] for e in metadata["history"]] == [1, 2]
    assert metadata["data"] == "sample" and metadata["train_examples"] == 500 and metadata["epochs"] == 2
    assert metadata["hyperparameters"]["epochs"] == 2
    assert metadata["val_accuracy"] == metadata["history"][-1]["val_accuracy"]
    assert not window.is_dirty()


def test_a_corrupt_model_file_shows_an_error_and_keeps_the_model(random_window, tmp_path):
    window = random_window
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    before = [w.copy() for w in window.display.weights]
    name = window.model_name()
    assert not window.open_model_file(bad)
    assert len(window.errors) == 1 and "broken.npz" in window.errors[0][1]
    for mine, theirs in zip(window.display.weights, before):
        np.testing.assert_array_equal(mine, theirs)
    assert window.model_name() == name and window.isVisible()


def test_a_file_that_is_not_an_image_shows_an_error(random_window, tmp_path):
    window = random_window
    fake = tmp_path / "digit.png"
    fake.write_text("certainly not a PNG")
    assert not window.open_image_file(str(fake))
    assert len(window.errors) == 1 and "digit.png" in window.errors[0][1]
    assert window.canvas.is_empty() and window.isVisible()


def write_paper_digit(path, digit=7):
    """A saved scan: dark ink on white paper, as a real PNG file."""
    ink = draw_digit(digit, size=200, width=16)
    paper = np.round(255 * (1 - ink)).astype(np.uint8)
    image = QImage(paper.data, 200, 200, 200, QImage.Format.Format_Grayscale8).copy()
    assert image.save(str(path))
    return ink


def test_open_image_detects_dark_ink_on_paper_and_classifies_it(qtbot, random_window, tmp_path):
    window = random_window
    path = tmp_path / "seven.png"
    write_paper_digit(path)
    window.ask_open_path = lambda caption, file_filter: str(path)
    window.open_image_action.trigger()
    assert window.errors == []
    assert not window.canvas.is_empty() and window.canvas.has_background()
    seen = window.preview.image()
    # Ink became bright on a black field, centred as MNIST digits are.
    assert seen.max() == pytest.approx(1.0, abs=0.05)
    assert seen[0].max() == 0 and seen[:, 0].max() == 0
    expected = preprocess.prepare(window.canvas.image())
    np.testing.assert_allclose(seen, expected, atol=1e-6)
    assert window.chart.winner() == int(np.argmax(window.display.predict(expected)))


def test_a_dropped_image_file_is_classified(qtbot, window, tmp_path):
    path = tmp_path / "dropped.png"
    write_paper_digit(path, 7)
    window.canvas.fileDropped.emit(str(path))
    assert window.errors == [] and window.chart.winner() is not None
    if has_default_model():
        assert window.chart.winner() == 7


def test_exports_write_real_files(qtbot, window, tmp_path):
    panel = window.training_panel
    panel.train_size_spin.setValue(300)
    panel.epochs_spin.setValue(1)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        panel.start()
    targets = {}

    def ask(caption, file_filter, suggested):
        targets[suggested] = tmp_path / suggested
        return str(targets[suggested])

    window.ask_save_path = ask
    window.export_weights_action.trigger()
    window.export_png_action.trigger()
    window.export_csv_action.trigger()
    assert window.errors == []
    assert set(targets) == {"weights.png", "learning-curves.png", "learning-curves.csv"}
    for name in ("weights.png", "learning-curves.png"):
        assert not QImage(str(targets[name])).isNull()
    lines = targets["learning-curves.csv"].read_text().splitlines()
    assert lines[0].startswith("batch,loss") and len(lines) == 31


# ------------------------------------------------------------------ download


@pytest.fixture
def small_mnist(tmp_path):
    """Four small valid gzipped IDX files of sample digits and the RemoteFile table describing them."""
    sample = datasets.load_sample()
    served = mnist_files({
        "train-images-idx3-ubyte.gz": sample.train_images[:120],
        "train-labels-idx1-ubyte.gz": sample.train_labels[:120],
        "t10k-images-idx3-ubyte.gz": sample.val_images[:40],
        "t10k-labels-idx1-ubyte.gz": sample.val_labels[:40],
    }, tmp_path / "served")
    assert all(gzip.decompress(data) for data in served.contents.values())  # really gzipped
    return served


def test_download_full_mnist_offers_it_for_training(qtbot, window, small_mnist, mnist_server):
    contents, table = small_mnist
    server = mnist_server(contents)
    window.download_mirrors = (server.url,)
    window.download_files = table
    assert [window.training_panel.data_combo.itemData(i)
            for i in range(window.training_panel.data_combo.count())] == ["sample"]
    window.download_action.trigger()
    dialog = window.download_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: window.download_dialog() is None, timeout=20_000)
    assert window.errors == []
    assert dialog.result_status()[0] == "ok"
    combo = window.training_panel.data_combo
    assert "mnist" in [combo.itemData(i) for i in range(combo.count())]
    assert datasets.mnist_available()


def test_a_failed_download_shows_an_error(qtbot, window, small_mnist, mnist_server):
    _, table = small_mnist
    server = mnist_server({})  # every file is missing: HTTP 404
    window.download_mirrors = (server.url,)
    window.download_files = table
    window.download_action.trigger()
    qtbot.waitUntil(lambda: window.download_dialog() is None, timeout=20_000)
    assert len(window.errors) == 1 and window.errors[0][0] == "Download failed"
    combo = window.training_panel.data_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["sample"]


def test_cancelling_a_download_reports_nothing_and_adds_nothing(qtbot, window, small_mnist, mnist_server):
    contents, table = small_mnist
    server = mnist_server(contents, delay=0.3)  # slow enough to cancel mid-way
    window.download_mirrors = (server.url,)
    window.download_files = table
    window.download_action.trigger()
    dialog = window.download_dialog()
    qtbot.wait(100)
    cancel_button = dialog.findChild(QPushButton)
    assert cancel_button is not None and cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.download_dialog() is None, timeout=20_000)
    assert dialog.result_status() == ("cancelled", "")
    assert window.errors == []
    assert not datasets.mnist_available()
    assert "cancelled" in window.statusBar().currentMessage().lower()
