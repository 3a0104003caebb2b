"""Application start-up: QApplication, theme, the main window and a clean shutdown.

Closing the window, ``app.quit()``, Ctrl+C, SIGTERM and SIGHUP all end in the
same place: the window's threads stopped and its settings saved. The signals
ask nothing (no "save it first?"): a terminal or a session manager is waiting.
"""

from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from digitlab import __version__
from digitlab.paths import resource
from digitlab.ui.platform_check import xcb_problem
from digitlab.ui.quit_signals import QuitOnSignals

QUIT_AFTER_ENV = "DIGITLAB_QUIT_AFTER_MS"
#: The exit status after Ctrl+C, SIGTERM or SIGHUP: handled as a close, so a clean 0.
SIGNAL_EXIT_CODE = 0


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="digitlab", description="Open the DigitLab window.")
    parser.add_argument("--model", metavar="PATH|bigger",
                        help="model file (.npz), or a bundled model's name ('default', 'bigger'); "
                        "default: the shipped video network")
    # Qt's own options (-style, -platform ...) pass through to QApplication.
    args, _qt_args = parser.parse_known_args(argv)
    return args


def _application_icon() -> QIcon:
    icon = QIcon()
    try:
        icons = resource("icons")
    except FileNotFoundError:
        return icon
    svg = icons / "digitlab.svg"
    if svg.is_file():
        icon.addFile(str(svg))
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = icons / f"digitlab-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    return icon


def _quit_delay_ms() -> int | None:
    """``DIGITLAB_QUIT_AFTER_MS``: quit by itself after this many ms (smoke tests, start-up timing)."""
    text = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if not text:
        return None
    try:
        return max(0, int(text))
    except ValueError:
        raise SystemExit(f"{QUIT_AFTER_ENV} must be a whole number of milliseconds, got {text!r}") from None


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (an existing one is reused), named, with icon and a theme-following style."""
    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125 %, 150 %) as they are, not rounded to whole numbers.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(["digitlab", *(argv or [])])
        if sys.platform == "win32":
            # The classic Windows style ignores dark mode; Fusion follows the system colour scheme.
            app.setStyle("Fusion")
    app.setApplicationName("DigitLab")
    app.setOrganizationName("DigitLab")
    app.setApplicationDisplayName("DigitLab")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("digitlab")
    app.setWindowIcon(_application_icon())
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``):
        ``--model PATH`` opens that model instead of the shipped one.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse_args(argv)
    quit_after = _quit_delay_ms()
    if QApplication.instance() is None:
        problem = xcb_problem(argv)
        if problem:  # Qt itself would abort the process (exit 134) with a paragraph
            _print_error(problem)
            return 1
    app = create_application(argv)

    from digitlab.ui.main_window import MainWindow
    from digitlab.ui.model_files import initial_model

    network, metadata, path, problem = initial_model(args.model)
    window = MainWindow(network, metadata, path)
    # aboutToQuit also covers quitting without a close event (session end, app.quit()).
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    from digitlab.ui import selftest
    smoke = selftest.start_if_asked(window)  # noqa: F841 - DIGITLAB_SMOKE_TRAIN=1: the package's smoke test
    problem = problem or window.startup_problem
    if problem:
        QTimer.singleShot(0, window, lambda: window.show_error("Could not open the model", problem))
    # A timer object, stopped below: a pending quit must not outlive this call
    # (in a test session it would end some later event loop at once).
    quit_timer = QTimer()
    quit_timer.setSingleShot(True)
    quit_timer.timeout.connect(app.quit)
    if quit_after is not None:
        quit_timer.start(quit_after)
    # exit(), unlike quit(), closes no window: no closeEvent, so no question asked;
    # the finally below stops the threads and saves the settings as a close does.
    # (Before this point a Ctrl+C is a KeyboardInterrupt: the CLI's one line.)
    signals = QuitOnSignals(lambda signum: app.exit(SIGNAL_EXIT_CODE))
    signals.install()
    try:
        code = app.exec()
    finally:
        quit_timer.stop()
        # Closing the last window during quit() posts a second Quit event. Left in
        # the queue it would be handled after exec() returned and end every later
        # event loop at once (it matters where run_app shares its QApplication).
        QCoreApplication.removePostedEvents(app, QEvent.Type.Quit)
        app.aboutToQuit.disconnect(window.shutdown)
        window.shutdown()
        window.save_settings()
        window.deleteLater()
        signals.uninstall()
    return int(code)


def _print_error(message: str) -> None:
    """``digitlab: error: ...`` on stderr, where there is one (windowed builds have none)."""
    if sys.stderr is not None:
        print(f"digitlab: error: {message}", file=sys.stderr, flush=True)
