"""Fixtures for the UI tests: real main windows that are always closed afterwards."""

from __future__ import annotations

import pytest


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    """``open_window(network=None, metadata=None, path=None)`` -> a shown MainWindow; closed for real at teardown.

    qtbot.addWidget holds only a weak reference: a window with a running worker
    would be freed without its closeEvent and the QThread would die running.
    Errors are recorded in ``window.errors`` instead of message boxes.
    """
    from digitlab.ui.main_window import MainWindow

    monkeypatch.setenv("DIGITLAB_SETTINGS_PATH", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    windows = []

    def make(network=None, metadata=None, path=None):
        window = MainWindow(network, metadata, path) if network is not None else MainWindow()
        qtbot.addWidget(window)  # deleted by Qt at the end (freeing it from Python's GC crashed)
        window.errors = []
        window.show_error = lambda title, text: window.errors.append((title, text))
        window.ask_save_changes = lambda: "discard"
        windows.append(window)
        window.resize(1366, 740)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window in windows:
        window.ask_save_changes = lambda: "discard"
        window.close()
        assert not window.training_panel.is_running()
