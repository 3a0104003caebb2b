"""The download dialog against real local servers: not modal, prompt cancel, a clean close, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from digitlab.core import download
from digitlab.ui.app import QUIT_AFTER_ENV
from digitlab.ui.dialogs import DownloadDialog
from tests.mnist_server import random_mnist_files

REPO = Path(__file__).resolve().parents[2]
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


@pytest.fixture
def served(tmp_path_factory):
    return random_mnist_files(np.random.default_rng(11), tmp_path_factory.mktemp("served"))


@pytest.fixture
def dialogs(qtbot):
    """``dialogs(mirrors, files, dest)`` -> a started DownloadDialog; shut down at teardown."""
    made = []

    def make(mirrors, files, dest):
        dialog = DownloadDialog(None, dest, mirrors, files)
        qtbot.addWidget(dialog)
        made.append(dialog)
        dialog.start()
        return dialog

    yield make
    for dialog in made:
        dialog.shutdown()


def finish(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog.result_status() is not None, timeout=20_000)
    return dialog.result_status()


def test_the_dialog_is_not_modal_so_the_window_stays_closable(qtbot, dialogs, served, mnist_server, tmp_path):
    server = mnist_server(served.contents)
    server.trickle = (2, 1.0)
    dialog = dialogs([server.url], served.table, tmp_path / "mnist")
    qtbot.waitUntil(dialog.isVisible)
    # open() would have made it window-modal, blocking every click on the main window.
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert not dialog.isModal()
    # What Qt asks before it lets a title-bar close or a click reach the main window.
    assert QApplication.activeModalWidget() is None and QApplication.modalWindow() is None


def test_cancel_on_a_crawling_link_ends_the_worker_at_once(qtbot, dialogs, served, mnist_server, tmp_path):
    server = mnist_server(served.contents)
    server.trickle = (2, 1.0)  # 2 bytes a second: no read ever times out
    dialog = dialogs([server.url], served.table, tmp_path / "mnist")
    qtbot.waitUntil(lambda: (tmp_path / "mnist" / f"{TRAIN_IMAGES}.part").exists(), timeout=10_000)
    cancel_button = dialog.findChild(QPushButton)
    assert cancel_button is not None and cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    started = time.monotonic()
    dialog.shutdown()
    took = time.monotonic() - started
    # Before the watchdog this waited for the server: the 30 s timeout never came.
    assert took < 5, f"shutdown took {took:.1f} s"
    assert not dialog.is_running()
    assert not dialog.isVisible()


def test_a_failed_download_is_one_sentence(qtbot, dialogs, served, mnist_server, tmp_path):
    first, second = mnist_server({}), mnist_server({})  # every file missing: HTTP 404 from both
    status, detail = finish(qtbot, dialogs([first.url, second.url], served.table, tmp_path / "mnist"))
    assert status == "failed"
    assert detail == f"Could not download {TRAIN_IMAGES} from any of the 2 mirrors: HTTP 404 Not Found"


def test_offline_the_dialog_says_so_in_plain_words(qtbot, dialogs, served, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/mnist/"
    status, detail = finish(qtbot, dialogs([dead, "http://digitlab-test.invalid/"], served.table, tmp_path / "m"))
    assert status == "failed"
    assert detail == ("No internet connection: DigitLab could not reach the MNIST servers. "
                      "Connect and try again, or train on the bundled sample.")
    assert detail[1:] == download.NO_CONNECTION_MESSAGE[1:]


def test_closing_the_window_after_cancelling_a_crawling_download_ends_cleanly(tmp_path, served):
    """The issue's abort: cancel on a trickling link, close the window, a 30 s freeze, rc -6."""
    (tmp_path / "served").mkdir()
    for name, data in served.contents.items():
        (tmp_path / "served" / name).write_bytes(data)
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from PySide6.QtCore import QTimer
        from digitlab.core.download import RemoteFile
        from digitlab.ui import main_window
        from digitlab.ui.app import run_app
        from tests.mnist_server import MnistServer

        served = Path(sys.argv[1])
        files = {p.name: p.read_bytes() for p in sorted(served.iterdir())}
        server = MnistServer(files)
        server.trickle = (2, 1.0)
        table = tuple(RemoteFile(line.split()[0], int(line.split()[1]), line.split()[2], None, int(line.split()[3]))
                      for line in sys.argv[2].split(";"))
        moments = {}

        class Window(main_window.MainWindow):
            def showEvent(self, event):
                super().showEvent(event)
                if not moments:
                    moments["shown"] = time.monotonic()
                    self.download_mirrors, self.download_files = (server.url,), table
                    self.download_dir = served.parent / "mnist"
                    QTimer.singleShot(0, self.download_mnist)
                    QTimer.singleShot(1500, self.cancel_then_close)

            def cancel_then_close(self):
                self.download_dialog().cancel_download()
                moments["cancelled"] = time.monotonic()
                print("closed", self.close(), flush=True)

        main_window.MainWindow = Window
        code = run_app([])
        print(f"exit {code} after {time.monotonic() - moments['cancelled']:.2f} s", flush=True)
        server.close()
        sys.exit(code)
        """
    )
    table = ";".join(f"{spec.name} {spec.size} {spec.md5} {spec.count}" for spec in served.table)
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        DIGITLAB_SETTINGS_PATH=str(tmp_path / "settings.ini"),
        DIGITLAB_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.pop(QUIT_AFTER_ENV, None)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "served"), table], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "QThread" not in result.stderr and "Traceback" not in result.stderr
    assert "closed True" in result.stdout
    seconds = float(result.stdout.split("exit 0 after ")[1].split()[0])
    assert seconds < 5, result.stdout  # not the old 30-35 s freeze
    assert (tmp_path / "mnist" / f"{TRAIN_IMAGES}.part").exists()  # kept for resuming
    assert not (tmp_path / "mnist" / TRAIN_IMAGES).exists()


