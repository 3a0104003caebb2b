"""Test-wide setup: headless Qt, the shared MNIST test set, a local MNIST mirror."""

import os
from pathlib import Path

import pytest

# Without a display Qt aborts the process unless a platform is chosen before
# any QApplication exists; offscreen needs no system packages.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep BLAS single-threaded as the app does (small matrices; threads fight).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_TEST_DIR = REPO_ROOT.parent / "shared" / "data" / "mnist-official-test"


@pytest.fixture
def official_test_dir():
    """The official MNIST t10k set from ../shared, or skip where it is absent."""
    if not (OFFICIAL_TEST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("official MNIST test set not found at ../shared/data")
    return OFFICIAL_TEST_DIR


@pytest.fixture
def mnist_server(monkeypatch):
    """``mnist_server(files, delay=0.0)`` -> a started tests.mnist_server.MnistServer.

    Local servers are reached directly even where a proxy is configured;
    every server is closed after the test.
    """
    from tests.mnist_server import MnistServer

    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "127.0.0.1,localhost")
    started = []

    def make(files, **options):
        server = MnistServer(files, **options)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def fake_mnist_files(tmp_path_factory):
    """Four small valid MNIST files of random digits (120 training, 20 test): (contents, table)."""
    import numpy as np

    from tests.mnist_server import random_mnist_files

    return random_mnist_files(np.random.default_rng(7), tmp_path_factory.mktemp("fake-mnist"))


@pytest.fixture
def recorded_windows(monkeypatch):
    """Make run_app's main windows record errors instead of showing message boxes.

    Returns the list the windows add themselves to. Qt is imported only here,
    so engine tests never load it.
    """
    from digitlab.ui import main_window

    windows = []

    class RecordingWindow(main_window.MainWindow):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.errors = []
            windows.append(self)

        def show_error(self, title, text):
            self.errors.append((title, text))

        def ask_save_changes(self):
            return "discard"

    monkeypatch.setattr(main_window, "MainWindow", RecordingWindow)
    return windows
