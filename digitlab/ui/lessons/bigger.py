"""The "a bigger network reads better" lesson's view: the two bundled networks side by side.

Two compact output charts (:class:`OutputBars`: one bar per output neuron, the
answer highlighted, as in the main Output panel but narrow enough for two to sit
side by side in the lessons dock) show what the video's network and the bigger
one make of the window's current input, and follow it live as the user draws.
Each is headed with its network's structure and, once measured, its accuracy
on the 1,000 validation digits. The measurement is :mod:`digitlab.core.lessons.bigger`, run off the GUI thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner` when the view opens;
a bar chart of the accuracy per digit and the result in words follow.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import bigger as lesson
from digitlab.core.model_io import ModelFileError
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.output_chart import DEFAULT_THRESHOLD, EMPTY_TEXT, UNSURE_TEXT
from digitlab.ui.session import ModelSession, output_labels

#: Heading words of each network.
NAMES = {"default": "The video's network", "bigger": "The bigger network"}
#: Each network's colour in the headings and the per-digit bars (not the answer's orange).
COLORS = {"default": "#cc79a7", "bigger": "#0072b2"}

EXPLANATION = (
    "Left, the video's small network (784-16-16-10); right, a bigger one with more and different neurons.\n"
    "Both read your drawing live, and both were measured on the same 1,000 digits neither of them trained on."
)
HINT = (
    "Try this: draw digits that are hard to read (a tall narrow 2, an open 4, a 7 with a bar) and watch "
    "where the two disagree. The video says: play with the structure of the hidden layers and you can get "
    "up to 98%. How close does the bigger one come?"
)


class _CompactPlot(pg.PlotWidget):
    """A plot that asks for little room. The lessons dock scrolls and sizes a view by its size hint
    (the wrapped texts give it a height-for-width), and pyqtgraph's own hint is a 640x480 window's:
    with it the view grows three times as tall as the dock and every chart needs scrolling to."""

    def __init__(self, hint: QSize) -> None:
        super().__init__()
        self._hint = hint

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self._hint)


def make_view(session: ModelSession) -> "BiggerView":
    """The registry's entry point (the view shows the two bundled networks, not the session's)."""
    return BiggerView(session)


class OutputBars(QWidget):
    """One network's outputs as bars with its answer above them: a narrow cousin of the Output panel.

    The answer is the largest output, highlighted, when it reaches the Output
    panel's default threshold (0.5); below it the line says "I don't know" and
    gives the best guess, as the Output panel does.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values = np.zeros(10)
        self._answer: int | None = None
        self._activation = "sigmoid"
        self._axes: tuple | None = None  # (outputs, output activation) the axes are set up for
        self._answer_label = QLabel(EMPTY_TEXT)
        self._answer_label.setToolTip("The network's answer: the output neuron with the largest value.")
        self._plot = _CompactPlot(QSize(200, 170))
        self._plot.setMinimumSize(170, 130)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._plot.setYRange(-0.03, 1.05, padding=0)
        self._plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0.0, 0.5, 1.0)], []])
        self._plot.getAxis("bottom").setStyle(tickLength=0)
        self._bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, pen=pg.mkPen(None))
        self._plot.addItem(self._bars)
        self._threshold = pg.InfiniteLine(pos=DEFAULT_THRESHOLD, angle=0, movable=False)
        self._plot.addItem(self._threshold)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._answer_label)
        layout.addWidget(self._plot, 1)
        self._restyle()
        self.set_outputs(None)

    def set_outputs(self, values: np.ndarray | None, output_activation: str = "sigmoid", count: int = 10) -> None:
        """Show one forward pass's outputs, or ``count`` empty bars for None."""
        self._activation = output_activation
        self._values = None if values is None else np.asarray(values, dtype=np.float64).copy()
        shown = np.zeros(count) if self._values is None else self._values
        labels = output_labels(shown.size)
        axes = (shown.size, output_activation)
        if axes != self._axes:  # only on a change: the axes re-lay out, and drawing updates 60 times a second
            self._axes = axes
            self._plot.getAxis("bottom").setTicks([list(enumerate(labels))])
            self._plot.setXRange(-0.6, shown.size - 0.4, padding=0)
            self._plot.setLabel("left", "probability" if output_activation == "softmax" else "activation")
        self._answer = None
        if self._values is None:
            text = EMPTY_TEXT
        else:
            best = int(np.argmax(self._values))
            top = float(self._values[best])
            amount = f"{top:.0%} confident" if output_activation == "softmax" else f"output {top:.2f}"
            if top >= DEFAULT_THRESHOLD:
                self._answer = best
                text = (f"<span style='font-size: x-large; font-weight: bold; color: {style.ACCENT}'>"
                        f"{labels[best]}</span>&nbsp; {amount}")
            else:
                text = f"{UNSURE_TEXT} (best guess: {labels[best]}, {top:.2f})"
        self._answer_label.setText(text)
        muted = style.muted_color(self.palette())
        brushes = [QColor(style.ACCENT) if i == self._answer else muted for i in range(shown.size)]
        self._bars.setOpts(x=np.arange(shown.size), height=shown, width=0.7, brushes=brushes)

    def values(self) -> np.ndarray:
        """The bar heights shown (zeros when empty)."""
        return np.asarray(self._bars.opts["height"], dtype=float).copy()

    def answer(self) -> int | None:
        """The highlighted output: the largest, if at least the threshold; None otherwise or when empty."""
        return self._answer

    def answer_text(self) -> str:
        return self._answer_label.text()

    def _restyle(self) -> None:
        style.style_plot(self._plot, self.palette())
        self._threshold.setPen(pg.mkPen(style.muted_color(self.palette(), 0.8), width=1,
                                        style=Qt.PenStyle.DashLine))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
            self.set_outputs(self._values, self._activation, len(self.values()))
        super().changeEvent(event)


class BiggerView(RunningLessonView):
    """The two bundled networks' outputs for the current input, and their measured accuracy.

    Parameters
    ----------
    session : ModelSession
        The window's session: its current input is what both networks read.
    networks : dict, optional
        ``{"default": Network, "bigger": Network}``; default the two bundled models.
    start : bool
        Measure both networks as soon as the view is made (a fraction of a second).
    rng : numpy.random.Generator, optional
        Seeds the runs (only the drawn digit of a run without input depends on it).
    """

    CANCELLED_TEXT = "Measuring cancelled."
    FAILED_TEXT = "Measuring failed: {message}"

    def __init__(self, session: ModelSession, parent: QWidget | None = None, networks: dict | None = None,
                 start: bool = True, rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("The video's network and a bigger one, side by side on the same drawing.")
        self._networks, load_error = _networks_or_error(networks)
        self._build()
        self._restyle()
        session.inputChanged.connect(self._on_input_changed)
        self._on_input_changed()
        self._update_controls()
        if load_error is not None:
            self._summary.setText(f"The bundled networks could not be loaded: {load_error}")
        elif start:
            self.start()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)
        self.charts: dict[str, OutputBars] = {}
        self._headings: dict[str, QLabel] = {}
        charts = QHBoxLayout()
        for name in lesson.MODELS:
            column = QVBoxLayout()
            self._headings[name] = text_label()
            self.charts[name] = OutputBars()
            column.addWidget(self._headings[name])
            column.addWidget(self.charts[name], 1)
            charts.addLayout(column, 1)

        self._run_button = QPushButton()
        self._run_button.setToolTip("Let both networks read the bundled sample's last 1,000 digits, "
                                    "which neither was trained on, and count their right answers.")
        self._run_button.clicked.connect(self.start)
        self._make_cancel_and_progress("Stop measuring.")
        run_row = QHBoxLayout()
        run_row.addWidget(self._run_button, 1)
        run_row.addWidget(self._cancel_button)

        self._per_digit_title = text_label(_per_digit_title())
        self._per_digit = _CompactPlot(QSize(400, 160))
        self._per_digit.setMinimumSize(260, 130)
        self._per_digit.setMenuEnabled(False)
        self._per_digit.setMouseEnabled(x=False, y=False)
        self._per_digit.hideButtons()
        self._per_digit.setXRange(-0.6, 9.6, padding=0)
        self._per_digit.setYRange(0.0, 1.0, padding=0)
        self._per_digit.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        self._per_digit.setLabel("left", "% misread")
        self._per_digit.setToolTip("For each digit, the share of the validation digits of that class each "
                                   "network misread: the video's network left, the bigger one right.")
        self._per_digit_bars = {}
        for name, offset in zip(lesson.MODELS, (-0.2, 0.2)):
            bars = pg.BarGraphItem(x=np.arange(10) + offset, height=np.zeros(10), width=0.4,
                                   brush=COLORS[name], pen=pg.mkPen(None))
            self._per_digit.addItem(bars)
            self._per_digit_bars[name] = bars

        self._summary = text_label("", selectable=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addLayout(charts, 3)
        layout.addLayout(run_row)
        layout.addWidget(self._progress)
        layout.addWidget(self._per_digit_title)
        layout.addWidget(self._per_digit, 2)
        layout.addWidget(self._summary)
        self._show_headings(None)

    # ------------------------------------------------------------- public API
    def config(self) -> lesson.BiggerConfig:
        """Both networks (copies: the worker must not share them) and the current input as the drawing."""
        return lesson.BiggerConfig(networks={name: net.copy() for name, net in self._networks.items()},
                                   drawing=self._session.current_input)

    def networks(self) -> dict:
        """The two networks shown, ``{"default": ..., "bigger": ...}`` (do not change them)."""
        return dict(self._networks or {})

    def heading(self, name: str) -> str:
        """The text above network ``name``'s chart."""
        return self._headings[name].text()

    def per_digit_heights(self, name: str) -> np.ndarray:
        """The bars drawn for network ``name``: the percentage of each digit it misread."""
        return np.asarray(self._per_digit_bars[name].opts["height"], dtype=float)

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def start(self) -> None:
        """Measure both networks on the worker thread; ``runFinished`` follows."""
        if self._networks is None:
            return
        self._begin()
        self._summary.setText("Measuring both networks on the 1,000 validation digits\u2026")
        self._start_run(lesson.run, self.config())

    # --------------------------------------------------------------- internals
    @Slot()
    def _on_input_changed(self) -> None:
        """Both charts show their network's outputs for the current input (microseconds each)."""
        if self._networks is None:
            return
        image = self._session.current_input
        for name, chart in self.charts.items():
            network = self._networks[name]
            outputs = None if image is None else network.predict(image.reshape(-1))
            chart.set_outputs(outputs, network.output_activation, network.sizes[-1])

    def _show_headings(self, result) -> None:
        for name in lesson.MODELS:
            title = f"<b style='color: {COLORS[name]}'>{NAMES[name]}</b>"
            if self._networks is None:
                self._headings[name].setText(title)
                continue
            network = self._networks[name]
            structure = "-".join(str(size) for size in network.sizes)
            cost = "cross-entropy" if network.cost == "cross_entropy" else "squared error"
            measured = ("not measured yet" if result is None else
                        f"reads <b>{result.accuracy(name):.1%}</b> of {result.n_digits:,} unseen digits")
            self._headings[name].setText(f"{title}<br>{structure}, {network.activation}, {cost}"
                                         f"<br>{network.n_parameters:,} parameters<br>{measured}")

    def _show(self, result) -> None:
        self._show_headings(result)
        # Misread rather than read right: bars of 85-100% look alike, the 0-15% they miss do not.
        misread = {name: 100 * (1 - np.nan_to_num(result.per_digit_accuracy(name), nan=1.0))
                   for name in lesson.MODELS}
        for name, bars in self._per_digit_bars.items():
            bars.setOpts(height=misread[name])
        self._per_digit.setYRange(0.0, max(1.0, 1.1 * max(float(m.max()) for m in misread.values())), padding=0)
        # The drawing's answers are in the charts above, live; the words say what was measured.
        self._summary.setText(result.reading_summary())

    def _update_run_button(self) -> None:
        self._run_button.setText("Measure both again" if self._result is not None
                                 else "Measure both on the 1,000 validation digits")

    def _set_controls_enabled(self, running: bool) -> None:
        super()._set_controls_enabled(running)
        self._run_button.setEnabled(not running and self._networks is not None)

    def _restyle(self) -> None:
        style.style_plot(self._per_digit, self.palette())

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def _per_digit_title() -> str:
    names = " and ".join(f"<span style='color: {COLORS[name]}'>{NAMES[name].lower()}</span>"
                         for name in lesson.MODELS)
    return f"<b>Misread, digit by digit</b> (%): {names}"


def _networks_or_error(networks: dict | None):
    """``(networks, None)``, or ``(None, message)`` when the bundled files cannot be read."""
    if networks is not None:
        return networks, None
    try:
        return lesson.bundled_networks(), None
    except ModelFileError as err:
        return None, str(err)


__all__ = ["EXPLANATION", "HINT", "BiggerView", "OutputBars", "make_view"]
