"""What the network looks at, and which weights it looks with.

- :class:`InputFeed` turns the canvas, opened pictures and noise images into
  the session's current input (``ModelSession.set_input``). The views follow
  the session; nothing here pushes into a view.
- :class:`LiveView` follows a training run: every snapshot's weights are
  copied into the session's network at once (so a new stroke is predicted
  with the newest weights), while the views are told at most every
  :data:`LIVE_VIEW_MS` (enough to watch them change, and it leaves the GUI
  thread and the GIL mostly to drawing and to training).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot

from digitlab import imageio
from digitlab.core import preprocess
from digitlab.core.fileio import error_text
from digitlab.core.training import Progress
from digitlab.ui.output_headline import confidence_text
from digitlab.ui.pen_wait import ThrottledUpdate
from digitlab.ui.session import ModelSession

LIVE_VIEW_MS = 100
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.ppm *.tif *.tiff *.webp);;All files (*)"
NOISE_LABELS = {
    "uniform": "Uniform noise",
    "gaussian": "Gaussian noise",
    "salt_and_pepper": "Salt-and-pepper noise",
}


#: Input sources that come from the canvas itself; any other source (noise,
#: a dream, a digit from a lesson's gallery) is an image fed past the canvas.
CANVAS_SOURCES = ("drawing", "picture")


class InputFeed(QObject):
    """Feeds the session from the canvas, from picture files and from noise.

    ``window`` provides ``canvas``, ``show_error``,
    ``ask_open_path``, ``files`` and the status bar.
    """

    def __init__(self, window, session: ModelSession) -> None:
        super().__init__(window)
        self._window = window
        self._session = session
        self._noise_counter = 0
        session.inputChanged.connect(self._on_input_changed)

    @property
    def _canvas(self):
        return self._window.canvas

    @Slot()
    def update_prediction(self) -> None:
        """Predict the canvas drawing (called on ``canvas.changed``)."""
        if self._canvas.is_empty():
            if self._session.input_source not in CANVAS_SOURCES:
                return  # the canvas was cleared to show a fed image; keep showing it
            self._session.set_input(None)
            return
        try:
            x28 = preprocess.prepare(self._canvas.image())
        except preprocess.EmptyImageError:
            x28 = None  # a speck or faint smudge: nothing to recognise yet
        source = "picture" if self._canvas.has_background() else "drawing"
        self._session.set_input(x28, source)

    @Slot()
    def clear_drawing(self) -> None:
        """Clear the canvas, any loaded picture and any noise."""
        self._session.set_input(None)
        self._canvas.clear()

    @Slot(str)
    def feed_noise(self, kind: str) -> np.ndarray:
        """Put a random ``kind`` noise image through the network and show the answer.

        Each call uses the next seed of a counter, so the sequence is repeatable.
        """
        rng = np.random.default_rng(self._noise_counter)
        self._noise_counter += 1
        image = preprocess.noise_image(kind, rng)
        self._session.set_input(image, "noise")
        outputs = self._session.predict()
        winner = int(np.argmax(outputs))
        sure = confidence_text(float(outputs[winner]), self._session.network.output_activation)
        self._window.statusBar().showMessage(
            f"{NOISE_LABELS.get(kind, kind)} #{self._noise_counter}: the network answers {winner} "
            f"({sure}), though it is no digit at all.",
            8000,
        )
        return image

    @Slot()
    def _on_input_changed(self) -> None:
        # An image fed from anywhere (noise from a menu, a lesson's dream or
        # mistake) replaces the drawing (Undo brings it back) and is shown on
        # the canvas, which would otherwise still say "draw a digit here".
        fed = self._session.input_source not in CANVAS_SOURCES and self._session.current_input is not None
        if fed and not self._canvas.is_empty():
            self._canvas.clear()
        self._canvas.show_fed_image(self._session.current_input if fed else None)

    @Slot()
    def open_image(self) -> None:
        path = self._window.ask_open_path("Open image", IMAGE_FILTER)
        if path:
            self.open_image_file(path)

    @Slot(str)
    def open_image_file(self, path: str | os.PathLike) -> bool:
        """Show a picture of a digit on the canvas and classify it. Returns False on error."""
        try:
            gray = preprocess.to_grayscale(imageio.read_image(path))
        except (OSError, ValueError) as err:
            self._window.show_error("Cannot open the image", error_text(err))
            return False
        self._session.set_input(None)
        self._canvas.load_image(preprocess.ink_on_black(gray))
        self.update_prediction()
        self._window.files.remember_dir(path)
        name = Path(path).name
        if self._session.current_input is None:
            self._window.statusBar().showMessage(f"{name}: no digit found in the picture.", 8000)
        else:
            self._window.statusBar().showMessage(f"Opened {name}.", 5000)
        return True


class LiveView(QObject):
    """Copies training snapshots into the session; tells the views at most every LIVE_VIEW_MS.

    The pictures and bars of a new network cost a stroke milliseconds: the
    window sets ``throttle.defer_while`` (a stroke is being drawn) and calls
    ``throttle.pen_lifted`` (see :mod:`digitlab.ui.pen_wait`).
    """

    def __init__(self, session: ModelSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.throttle = ThrottledUpdate(LIVE_VIEW_MS, self._apply, self)

    @Slot(object)
    def on_snapshot(self, record: Progress) -> None:
        # The record holds read-only copies; copying 13,002 numbers is cheap.
        self._session.set_parameters(record.weights, record.biases, notify=False)
        self.throttle.request()

    @Slot(object)
    def on_run_ended(self, record: Progress) -> None:
        """The run's last weights, shown at once; dirty once it trained on anything."""
        self.stop()
        self._session.set_parameters(record.weights, record.biases)
        if record.samples_seen > 0:
            self._session.set_dirty(True)

    def stop(self) -> None:
        self.throttle.cancel()

    def _apply(self) -> None:
        self._session.notify_network_changed()
