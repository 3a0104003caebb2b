"""File > Download full MNIST, for the main window: one download at a time, its outcome told."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from digitlab.ui.dialogs import DownloadDialog


class MnistDownload(QObject):
    """Runs the download dialog for ``window``.

    The mirrors, files and folder are read from the window when a download
    starts (``download_mirrors``, ``download_files``, ``download_dir``), so
    tests can point them at a local server.
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self._dialog: DownloadDialog | None = None
        self._finished: DownloadDialog | None = None

    def dialog(self) -> DownloadDialog | None:
        """The dialog of the download under way, or None."""
        return self._dialog

    @Slot()
    def start(self) -> None:
        """Show the progress dialog (with Cancel) and download on a worker thread."""
        if self._dialog is not None:
            self._dialog.raise_()
            return
        window = self._window
        dialog = DownloadDialog(window, window.download_dir, window.download_mirrors, window.download_files)
        dialog.downloadFinished.connect(self._on_finished)
        self._dialog = dialog
        dialog.start()

    def shutdown(self) -> None:
        if self._dialog is not None:
            self._dialog.shutdown()
            self._dialog = None

    @Slot(str, str)
    def _on_finished(self, status: str, detail: str) -> None:
        # The finished dialog is hidden, not deleted: late queued events may still name it.
        self._finished, self._dialog = self._dialog, None
        window = self._window
        if status == "ok":
            window.training_panel.refresh_data_choices()
            window.statusBar().showMessage(
                "The full MNIST is ready: choose it under Data in the training panel.", 10_000
            )
        elif status == "failed":
            window.show_error("Download failed", detail)
        else:
            window.statusBar().showMessage("Download cancelled.", 5000)
