"""Application start-up and shutdown: in-process and as a real subprocess."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from digitlab.core import model_io
from digitlab.core.network import Network
from digitlab.ui import app as app_module


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_SETTINGS_PATH", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))


def test_the_qt_binding_keeps_its_references_to_none_and_true(qapp):
    """PySide6 6.12.0 dropped a reference to None per void call and to True per
    emit, aborting Python < 3.12 within seconds; pyproject.toml excludes it."""
    button = QPushButton()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        button.setEnabled(True)
        button.pressed.emit()
    assert sys.getrefcount(None) >= none_before - 10
    assert sys.getrefcount(True) >= true_before - 10


def test_create_application_names_the_app_and_sets_an_icon(qapp):
    application = app_module.create_application([])
    assert application is QApplication.instance()
    assert application.applicationName() == "DigitLab"
    assert application.organizationName() == "DigitLab"
    assert not application.windowIcon().isNull()


def test_run_app_quits_by_itself_after_the_delay(qapp, monkeypatch, recorded_windows):
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "300")
    assert app_module.run_app([]) == 0
    assert len(recorded_windows) == 1
    window = recorded_windows[0]
    assert window.windowTitle() == "DigitLab"
    assert not window.training_panel.is_running()


def test_run_app_leaves_no_pending_quit_behind(qapp, monkeypatch, recorded_windows):
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "200")
    assert app_module.run_app([]) == 0
    qapp.processEvents()  # as pytest-qt does between tests
    loop = QEventLoop()
    QTimer.singleShot(50, loop.quit)
    start = time.perf_counter()
    assert loop.exec() == 0
    assert time.perf_counter() - start >= 0.04  # it really waited for its timer


def test_run_app_opens_the_model_given_with_dash_dash_model(qapp, monkeypatch, recorded_windows, tmp_path):
    network = Network.create((784, 12, 10), rng=np.random.default_rng(4))
    path = tmp_path / "small.npz"
    model_io.save_model(path, network, {"name": "small"})
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "200")
    assert app_module.run_app(["--model", str(path)]) == 0
    window = recorded_windows[0]
    assert window.display.sizes == (784, 12, 10)
    np.testing.assert_array_equal(window.display.weights[0], network.weights[0])
    assert window.model_path() == path and window.errors == []


def test_a_bad_model_argument_is_reported_and_the_window_still_opens(qapp, monkeypatch, recorded_windows, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "300")
    assert app_module.run_app(["--model", str(bad)]) == 0
    window = recorded_windows[0]
    assert len(window.errors) == 1 and "bad.npz" in window.errors[0][1]
    assert window.model_path() is None


def test_bad_quit_delay_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "soon")
    with pytest.raises(SystemExit, match="DIGITLAB_QUIT_AFTER_MS"):
        app_module.run_app([])


def run_python(code, tmp_path, quit_after_ms):
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        DIGITLAB_QUIT_AFTER_MS=str(quit_after_ms),
        DIGITLAB_SETTINGS_PATH=str(tmp_path / "sub-settings.ini"),
        DIGITLAB_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=90)


def test_the_app_starts_and_exits_with_code_zero_in_a_real_process(tmp_path):
    result = run_python(
        """
        import sys
        from digitlab.ui.app import run_app
        sys.exit(run_app([]))
        """,
        tmp_path,
        500,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub-settings.ini").is_file()  # settings were saved on the way out


def test_quitting_during_training_stops_the_thread_cleanly(tmp_path):
    # A window that starts a long run as soon as it is shown; the quit timer
    # ends the app mid-run. A QThread destroyed while running would abort (134).
    result = run_python(
        """
        import sys
        from PySide6.QtCore import QTimer
        from digitlab.ui import main_window
        from digitlab.ui.app import run_app

        class TrainingWindow(main_window.MainWindow):
            def showEvent(self, event):
                super().showEvent(event)
                self.training_panel.epochs_spin.setValue(100)
                QTimer.singleShot(0, self.training_panel.start)

            def ask_save_changes(self):
                return "discard"

            def closeEvent(self, event):
                print("running at close", self.training_panel.is_running(), flush=True)
                super().closeEvent(event)

        main_window.MainWindow = TrainingWindow
        code = run_app([])
        print("exit", code, flush=True)
        sys.exit(code)
        """,
        tmp_path,
        1500,
    )
    assert result.returncode == 0, result.stderr
    assert "running at close True" in result.stdout
    assert "exit 0" in result.stdout
    assert "QThread" not in result.stderr


def test_ui_benchmark_returns_complete_rows(qapp):
    from digitlab.ui import bench_ui

    rows = bench_ui.run(seconds=0.5, rounds=1)
    names = [row["name"] for row in rows]
    assert "UI longest event-loop stall while training" in names
    assert "stroke to prediction latency, 95th percentile" in names
    assert "training throughput in the window while drawing" in names
    for row in rows:
        assert set(row) == {"name", "value", "unit", "target", "ok", "note"}
        assert isinstance(row["value"], (int, float)) and np.isfinite(row["value"]), row
        if row["target"] is not None:
            assert isinstance(row["ok"], bool)
    throughput = rows[names.index("training throughput in the window while drawing")]["value"]
    assert throughput > 0  # training really ran while the UI was measured
    assert not QApplication.topLevelWidgets() or all(
        not w.isVisible() or w.windowTitle() != "DigitLab" for w in QApplication.topLevelWidgets()
    )


# --- Qt's X11 platform checked before Qt can abort (issue 12) --------------------------

from digitlab.ui import platform_check  # noqa: E402


def packages_in_the_packaging_list():
    """packaging/linux/qt-system-libraries.txt read as list-system-libraries.sh reads it."""
    entries = []
    text = (REPO / "packaging" / "linux" / "qt-system-libraries.txt").read_text()
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if line.strip():
            entries.append(tuple("".join(re.sub(r"\([^)]*\)", "", name).split()) for name in line.split("|")))
    return entries


def test_the_embedded_package_list_is_the_packaging_list():
    assert [names for names, _ in platform_check.SYSTEM_PACKAGES] == packages_in_the_packaging_list()


def test_the_apt_line_names_what_the_packaging_script_prints():
    script = REPO / "packaging" / "linux" / "list-system-libraries.sh"
    printed = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True).stdout.split()
    assert platform_check.apt_command() == "sudo apt-get install " + " ".join(printed)


X11_DESKTOP = {"DISPLAY": ":0"}


def test_missing_xcb_libraries_are_named_with_the_apt_line():
    absent = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    problem = platform_check.xcb_problem([], X11_DESKTOP, lambda name: name not in absent, "linux")
    first, second = problem.splitlines()
    assert first.startswith("cannot open a window: Qt's X11 support needs libxcb-cursor0, libxkbcommon-x11-0,")
    assert second.strip() == platform_check.apt_command()
    assert "libxcb-cursor0" in second.split() and "libegl1" in second.split()


def test_the_check_asks_only_where_qt_would_use_xcb():
    found_nothing = lambda name: False  # noqa: E731
    found_all = lambda name: True  # noqa: E731
    problem = platform_check.xcb_problem
    assert problem([], X11_DESKTOP, found_all, "linux") is None
    assert problem([], {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, found_all, "linux") is None
    assert problem([], {"DISPLAY": ":0"}, found_nothing, "linux") is not None  # Qt's default is xcb
    assert problem([], {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, found_nothing, "linux") is None
    assert problem([], {"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, found_nothing, "linux") is None
    assert problem([], {"WAYLAND_DISPLAY": "wayland-0"}, found_nothing, "linux") is None
    assert problem([], {"DISPLAY": ":0"}, found_nothing, "darwin") is None
    assert problem(["-platform", "offscreen"], {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, found_nothing,
                   "linux") is None
    assert problem(["-platform", "xcb"], {"QT_QPA_PLATFORM": "offscreen"}, found_all, "linux") \
        == platform_check.NO_DISPLAY_MESSAGE
    # Unused libraries (OpenSSL, the GLX integration) never stop the window.
    assert problem([], X11_DESKTOP, lambda name: name not in ("libssl.so.3", "libxcb-glx.so.0"), "linux") is None


def test_no_display_is_one_clear_line_and_exit_1_not_an_abort(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", DIGITLAB_SETTINGS_PATH=str(tmp_path / "s.ini"),
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "digitlab"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 1, result.stderr  # Qt alone aborts: 134 (-6)
    assert result.stderr.splitlines() == ["digitlab: error: " + platform_check.NO_DISPLAY_MESSAGE]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb for a real X display")
def test_a_real_x_display_passes_the_check_and_the_window_opens(tmp_path):
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0",
                               "1366x768x24"], pass_fds=(write_end,), stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as reader:
            display = ":" + reader.readline().strip()
        env = dict(os.environ)
        env.pop("WAYLAND_DISPLAY", None)
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display, DIGITLAB_QUIT_AFTER_MS="300",
                   DIGITLAB_SETTINGS_PATH=str(tmp_path / "s.ini"), DIGITLAB_DATA_DIR=str(tmp_path / "data"),
                   PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
        result = subprocess.run([sys.executable, "-m", "digitlab"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=90)
    finally:
        server.terminate()
        server.wait(10)
    assert result.returncode == 0, result.stderr
    assert "cannot open a window" not in result.stderr
