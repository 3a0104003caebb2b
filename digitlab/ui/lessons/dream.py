"""The dream lesson's view: what the network thinks a perfect digit looks like.

The maths is :mod:`digitlab.core.lessons.dream` (run on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner`): gradient ascent
on the input image until the network is sure it sees the chosen digit. Each
dream is shown beside the mean real image of its digit, with the network's
confidence and the correlation of the two; a button puts a dream on the
canvas side, so the output bars show what the network makes of it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from digitlab.core.lessons import dream as lesson
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

#: Screen pixels per image pixel: 28 x 3 = 84 px, big enough to see the speckle.
ZOOM = 3
#: Most dreams per row; fewer when the view is narrow (the grid reflows).
MAX_COLUMNS = 5
START_CHOICES = (("noise", "Random noise"), ("blank", "Blank (black) image"))
PRIOR_CHOICES = (("none", "No prior"), ("smooth", "Smoothness prior"))
EXPLANATION = (
    "Dreaming: the weights stay fixed and the image changes instead, pixel by pixel, to make one output as high "
    "as it goes.\nThe network ends up sure it sees the digit \u2014 yet from noise the dream looks nothing like "
    "the real digits beside it: it can read digits, not draw them."
)
HINT = (
    "Try this: dream from noise, then from a blank image, then with the smoothness prior. Which dreams look like "
    "digits? Put one on the canvas side and watch the output bars."
)


def make_view(session: ModelSession) -> "DreamView":
    """The registry's entry point: a dream view following ``session``."""
    return DreamView(session)


def image_pixmap(image: np.ndarray, zoom: int = ZOOM) -> QPixmap:
    """A 28x28 image in [0, 1] as a grey pixmap (row 0 at the top), ``zoom`` screen pixels per pixel."""
    grey = np.ascontiguousarray(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255 + 0.5, dtype=np.uint8)
    rows, columns = grey.shape
    picture = QImage(grey.data, columns, rows, columns, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(picture.scaled(columns * zoom, rows * zoom, Qt.AspectRatioMode.IgnoreAspectRatio,
                                            Qt.TransformationMode.FastTransformation))


class DreamCell(QFrame):
    """One dream beside the mean real image of its digit, with its numbers and a "Show" button.

    Signals
    -------
    showRequested(int)
        The digit whose dream should go on the canvas side.
    """

    showRequested = Signal(int)

    def __init__(self, dream, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dream = dream
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.dream_label = QLabel()
        self.dream_label.setPixmap(image_pixmap(dream.image))
        self.dream_label.setToolTip(f"The network's dream of a {dream.digit}.")
        self.mean_label = QLabel()
        self.mean_label.setPixmap(image_pixmap(dream.mean_image))
        self.mean_label.setToolTip(f"The average of the real {dream.digit}s the network was trained on.")
        similarity = dream.similarity_to_mean
        self.caption = QLabel(
            f"<b>{dream.digit}</b>: {dream.confidence:.0%} sure<br>"
            f"like the real {dream.digit}s: r = {similarity:.2f}<br>{dream.steps} steps"
        )
        self.caption.setToolTip(
            "How sure the network is that the dream is this digit, and the correlation (-1 to 1) between the\n"
            "dream and the average real digit: near 0 means no resemblance, 1 the same picture."
        )
        self.show_button = QPushButton("Show on canvas")
        self.show_button.setToolTip("Feed this dream to the network, as if you had drawn it, to see its output bars.")
        self.show_button.clicked.connect(lambda: self.showRequested.emit(self.dream.digit))
        images = QHBoxLayout()
        images.setSpacing(4)
        for label, title in ((self.dream_label, "dream"), (self.mean_label, "real (mean)")):
            column = QVBoxLayout()
            column.setSpacing(1)
            column.addWidget(label)
            heading = QLabel(title)
            heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(heading)
            images.addLayout(column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(images)
        layout.addWidget(self.caption)
        layout.addWidget(self.show_button)


class DreamView(RunningLessonView):
    """Controls for one set of dreams and a grid of the dreams next to real digits.

    Signals
    -------
    dreamsFinished(object)
        The lesson's result after each run (in the GUI thread).
    """

    dreamsFinished = Signal(object)
    CANCELLED_TEXT = "Dreaming cancelled."
    FAILED_TEXT = "Dreaming failed: {message}"

    def __init__(self, session: ModelSession, parent: QWidget | None = None,
                 rng: np.random.Generator | None = None) -> None:
        # rng seeds the runs; unseeded, so the noise differs between app sessions.
        super().__init__(session, parent, rng)
        self.setToolTip("What input makes the network surest of each digit.")
        self._stale = False
        self._cells: list[DreamCell] = []
        self._columns = 0
        self.runFinished.connect(self.dreamsFinished)
        self._build()
        session.networkChanged.connect(self._on_network_changed)
        self._fill_digits()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)

        self._digit_combo = QComboBox()
        self._digit_combo.setToolTip("Which digit to dream, or all of them.")
        self._start_combo = self._combo(START_CHOICES, "Where the image starts: random pixels (as in 3Blue1Brown's "
                                        "code), or all black.")
        self._prior_combo = self._combo(PRIOR_CHOICES, "No prior: only the network's output counts.\nSmoothness "
                                        "prior: neighbouring pixels are also pulled together, so speckle costs.")
        self._dream_button = QPushButton("Dream")
        self._dream_button.setToolTip("Change the image step by step until the network is sure it sees the digit.")
        self._dream_button.clicked.connect(self.dream)
        self._run_button = self._dream_button  # locked by the base class during a run
        self._make_cancel_and_progress("Stop dreaming.")

        self._grid_widget = QWidget()
        self._grid = QGridLayout(self._grid_widget)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._grid_widget)
        self._scroll = scroll

        self._summary = text_label("Press Dream to see what the network thinks a digit looks like.", selectable=True)

        controls = QHBoxLayout()
        for text, widget in (("Digit:", self._digit_combo), ("Start:", self._start_combo),
                             ("Prior:", self._prior_combo)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self._dream_button)
        controls.addWidget(self._cancel_button)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addLayout(controls)
        layout.addWidget(self._progress)
        layout.addWidget(self._summary)
        layout.addWidget(scroll, 1)

    @staticmethod
    def _combo(choices, tooltip: str) -> QComboBox:
        combo = QComboBox()
        for data, label in choices:
            combo.addItem(label, data)
        combo.setToolTip(tooltip)
        return combo

    def _fill_digits(self) -> None:
        chosen = self._digit_combo.currentData()
        self._digit_combo.clear()
        self._digit_combo.addItem("All digits", None)
        for digit in range(min(10, self._session.n_outputs)):
            self._digit_combo.addItem(str(digit), digit)
        index = self._digit_combo.findData(chosen)
        self._digit_combo.setCurrentIndex(max(0, index))

    # ------------------------------------------------------------- public API
    def set_choices(self, digit: int | None = None, start: str = "noise", prior: str = "none") -> None:
        """Choose the digit (None: all), the start and the prior, as the combo boxes would."""
        for combo, value in ((self._digit_combo, digit), (self._start_combo, start), (self._prior_combo, prior)):
            index = combo.findData(value)
            if index < 0:
                raise ValueError(f"no choice {value!r}")
            combo.setCurrentIndex(index)

    def config(self) -> lesson.DreamConfig:
        """The lesson's config for the shown network (a copy: the worker must not share it)."""
        digit = self._digit_combo.currentData()
        return lesson.DreamConfig(network=self._session.network.copy(),
                                  digits=None if digit is None else (int(digit),),
                                  start=self._start_combo.currentData(), prior=self._prior_combo.currentData())

    def result(self):
        """The latest :class:`digitlab.core.lessons.dream.DreamResult`, or None."""
        return super().result()

    def cells(self) -> list[DreamCell]:
        """The shown dreams, one cell each."""
        return list(self._cells)

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def dream(self) -> None:
        """Start dreaming on the worker thread; ``dreamsFinished`` follows."""
        config = self.config()
        self._summary.setText("Dreaming\u2026")
        self._begin()
        self._start_run(lesson.run, config)

    @Slot(int)
    def show_on_canvas(self, digit: int) -> np.ndarray:
        """Feed the dream of ``digit`` to the network (it becomes the current input)."""
        dream = next(d for d in self._result.dreams if d.digit == digit)
        # "noise": the window then clears the drawing and keeps showing this image, as for fed noise.
        self._session.set_input(dream.image, "dream")
        return dream.image

    # --------------------------------------------------------------- internals
    @Slot()
    def _on_network_changed(self) -> None:
        self._fill_digits()
        if self._result is not None and not self._stale:
            self._stale = True
            self._summary.setText(self._result.summary() + " (The network has changed since; dream again.)")

    def _show(self, result) -> None:
        self._stale = False
        for cell in self._cells:
            self._grid.removeWidget(cell)
            cell.deleteLater()
        self._cells = []
        for dream in result.dreams:
            cell = DreamCell(dream)
            cell.showRequested.connect(self.show_on_canvas)
            self._cells.append(cell)
        self._columns = 0
        self._reflow()
        self._summary.setText(result.summary())

    def columns(self) -> int:
        """Dreams per row of the grid now."""
        return self._columns

    def _reflow(self) -> None:
        """Lay the cells out in as many columns as fit the width (at most MAX_COLUMNS)."""
        if not self._cells:
            return
        spacing = self._grid.spacing()
        cell_width = self._cells[0].sizeHint().width()
        fit = (self._scroll.viewport().width() + spacing) // (cell_width + spacing)
        columns = max(1, min(MAX_COLUMNS, fit, len(self._cells)))
        if columns == self._columns:
            return
        self._columns = columns
        for cell in self._cells:
            self._grid.removeWidget(cell)
        for position, cell in enumerate(self._cells):
            self._grid.addWidget(cell, position // columns, position % columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._reflow()


__all__ = ["EXPLANATION", "HINT", "DreamCell", "DreamView", "image_pixmap", "make_view"]
