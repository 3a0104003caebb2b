"""Ctrl+C, SIGTERM and SIGHUP close a real window process cleanly: no question, no traceback, settings saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from digitlab.ui.quit_signals import QUIT_SIGNALS, QuitOnSignals

REPO = Path(__file__).resolve().parents[2]

# A window with an unsaved model (a close would ask "save it first?") and a
# brush size the settings file does not hold yet; it says "ready" once shown.
WINDOW_SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from digitlab.ui import main_window
    from digitlab.ui.app import run_app

    class Window(main_window.MainWindow):
        def showEvent(self, event):
            super().showEvent(event)
            if not getattr(self, "ready", False):
                self.ready = True
                QTimer.singleShot(0, self.get_ready)

        def get_ready(self):
            self.session.set_dirty(True)
            self.brush_slider.setValue(37)
            print("ready", self.is_dirty(), flush=True)

        def ask_save_changes(self):
            print("asked", flush=True)
            return "cancel"  # had anyone asked, the window would stay open

    main_window.MainWindow = Window
    code = run_app([])
    print("exit", code, flush=True)
    sys.exit(code)
    """
)


def run_window_and_signal(tmp_path, signum):
    settings = tmp_path / "settings.ini"
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        DIGITLAB_SETTINGS_PATH=str(settings),
        DIGITLAB_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.pop("DIGITLAB_QUIT_AFTER_MS", None)
    child = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT], env=env, cwd=tmp_path, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # A safety net only: a child that ignores the signal is killed after a minute.
    killer = threading.Timer(60, child.kill)
    killer.start()
    try:
        first = child.stdout.readline()
        assert first == "ready True\n", first + child.stderr.read()
        child.send_signal(signum)
        out, err = child.communicate()
    finally:
        killer.cancel()
    return child.returncode, first + out, err, settings


@pytest.mark.parametrize("signum", QUIT_SIGNALS, ids=[s.name for s in QUIT_SIGNALS])
def test_a_quit_signal_closes_the_window_cleanly_and_saves_the_settings(tmp_path, signum):
    code, out, err, settings = run_window_and_signal(tmp_path, signum)
    assert code == 0, err  # not -15 / -1 (killed) and not a KeyboardInterrupt
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "asked" not in out  # no "save it first?" question
    assert "exit 0" in out
    assert "brush_size=37" in settings.read_text()  # written on the way out


def test_uninstall_gives_the_signals_back(qapp):
    before = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    handler = QuitOnSignals(lambda signum: None)
    assert handler.install()
    assert all(signal.getsignal(signum) is not before[signum] for signum in QUIT_SIGNALS)
    handler.uninstall()
    handler.uninstall()  # twice is harmless
    assert {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS} == before
    assert signal.set_wakeup_fd(-1) == -1  # no wake-up descriptor left behind


def test_a_signal_reaches_the_event_loop_and_calls_back(qapp, qtbot):
    heard = []
    handler = QuitOnSignals(heard.append)
    assert handler.install()
    try:
        signal.raise_signal(signal.SIGINT)  # without the handler: KeyboardInterrupt here
        qtbot.waitUntil(lambda: heard == [signal.SIGINT], timeout=5000)
    finally:
        handler.uninstall()
