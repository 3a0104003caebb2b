"""Make the README's screenshots from the real app in a real X window.

Run under an X server (Xvfb works), from the repository root:

    Xvfb :42 -screen 0 1366x768x24 &
    DISPLAY=:42 QT_QPA_PLATFORM=xcb python docs/make_screenshots.py

It opens the window at 1366x768, draws a 3 on the canvas with real mouse
events, trains a fresh network for a few seconds on the bundled sample, and
grabs the whole screen (the window with its decorations-free frame) into
docs/screenshot.png, then the noise test into docs/noise.png, and two lessons
into docs/lesson-descent.png and docs/lesson-landscape.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

# Keep the user's settings out of it: a throwaway settings file.
os.environ.setdefault("DIGITLAB_SETTINGS_PATH", str(Path(tempfile.mkdtemp()) / "settings.ini"))

from digitlab.core.drawing import DIGIT_STROKES, place_strokes  # noqa: E402
from digitlab.ui.app import create_application  # noqa: E402
from digitlab.ui import settings as app_settings  # noqa: E402
from digitlab.ui.main_window import MainWindow  # noqa: E402
from digitlab.ui.model_files import initial_model  # noqa: E402

DOCS = Path(__file__).resolve().parent


def draw_digit(canvas, digit: int) -> None:
    """Draw one of core.drawing's handwritten digits with mouse events."""
    for stroke in place_strokes(DIGIT_STROKES[digit][0], 60, 50, 170):
        points = [canvas.to_widget(x, y).toPoint() for x, y in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for point in points[1:]:
            QTest.mouseMove(canvas, point)
            wait(4)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def wait(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds.

    Not QTest.qWait: PySide6 keeps Python's GIL through it, so the training
    thread would stand still while the script waits.
    """
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def grab_screen(path: Path) -> None:
    QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
    print("wrote", path)


def grab_descent(window) -> None:
    """Five balls rolling on the 2-D surface with several minima."""
    view = window.show_lesson("descent")
    view.set_function("bumps2d")
    view.drop_random_balls()
    for _ in range(60):
        view.step()
    wait(800)
    grab_screen(DOCS / "lesson-descent.png")


def grab_landscape(window) -> None:
    """The real network's cost around the weights of a short run, with its path."""
    view = window.show_lesson("landscape")
    view.set_directions("trajectory")
    view.start()
    for _ in range(600):  # the slice is computed on a worker thread
        wait(50)
        if view.result() is not None and not view.is_running():
            break
    wait(800)
    grab_screen(DOCS / "lesson-landscape.png")


def grab_bigger(window) -> None:
    """The bigger lesson: both bundled networks read the same drawn 3."""
    view = window.show_lesson("bigger")
    for _ in range(100):  # it measures both networks on a worker thread when it opens
        wait(50)
        if view.result() is not None:
            break
    wait(800)
    grab_screen(DOCS / "lesson-bigger.png")


def main() -> int:
    app = create_application([])
    network, metadata, path, _ = initial_model(None)
    window = MainWindow(network, metadata, path)
    app_settings.write(window.settings, start_here_shown=True)  # no first-start guide in the pictures
    window.resize(1366, 768)
    window.showMaximized()
    wait(800)
    panel = window.training_panel
    panel.start()  # a fresh network learns from scratch, as in the video
    wait(6000)
    draw_digit(window.canvas, 3)
    wait(1500)
    grab_screen(DOCS / "screenshot.png")
    panel.stop()
    wait(500)
    noise_view = window.show_lesson("noise")
    noise_view.compare()
    for _ in range(100):  # the comparison runs on a worker thread
        wait(50)
        if noise_view.result() is not None:
            break
    noise_view.window().activateWindow()
    wait(800)
    noise_view.grab().save(str(DOCS / "noise.png"))
    print("wrote", DOCS / "noise.png")
    # A learner reading a lesson closes the Training dock to give it room.
    window.training_dock.hide()
    grab_descent(window)
    grab_landscape(window)
    grab_bigger(window)
    window.training_dock.show()
    window.shutdown()
    window.close()
    QTimer.singleShot(0, app.quit)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
