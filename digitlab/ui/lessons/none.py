"""The "none of these" lesson's view: the network's answers to noise, before and after noise exposure.

The maths is :mod:`digitlab.core.lessons.none`, run on a worker thread through
:class:`~digitlab.ui.lessons.runner.LessonRunner`: the same network trained
twice, without and with noise images aimed at "no output lit". Two histograms
of the top output on fresh noise images sit side by side, with the confidence
threshold marked, and the measured shares and accuracies follow in words.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import none as lesson
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

BINS = 20
COLORS = {"before": style.NOISE_COLOR, "after": style.REAL_COLOR}
TITLES = {"before": "Trained on digits only", "after": "Trained with noise exposure"}

EXPLANATION = (
    "The network has no way to say \u201cnone of these\u201d: shown pure noise it still lights an output up.\n"
    "Here the same network is trained twice, the second time with noise images whose target is no output lit."
)
HINT = (
    "Try this: compare the two histograms right of the dashed line (confident answers), "
    "then check the accuracy on real digits below: how much did saying \u201cnone\u201d cost?"
)


def make_view(session: ModelSession) -> "NoneView":
    """The registry's entry point (the lesson trains its own networks, not the session's)."""
    return NoneView(session)


class NoneView(RunningLessonView):
    """Histograms of the top output on noise, before and after noise exposure, side by side.

    Parameters
    ----------
    session : ModelSession
        The window's session (unused: the lesson trains fresh networks).
    quick : bool
        Start with the quick run chosen.
    rng : numpy.random.Generator, optional
        Seeds the runs; default unseeded.
    """

    def __init__(self, session: ModelSession, parent: QWidget | None = None, quick: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("Teaching the network to say 'none of these'.")
        self._build(quick)
        self._restyle()
        self._update_controls()

    def _build(self, quick: bool) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)
        run_row = self._make_run_controls(quick, (
            f"{lesson.QUICK_EPOCHS} epochs per run: about a second.\n"
            f"Unchecked: {lesson.DEFAULT_EPOCHS} epochs per run, a few seconds."
        ))
        self._plots, self._bars = {}, {}
        plots = QHBoxLayout()
        for run in lesson.RUNS:
            plot = pg.PlotWidget()
            plot.setMinimumSize(220, 160)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setTitle(TITLES[run])
            plot.setLabel("left", "noise images")
            plot.setLabel("bottom", "top output")
            plot.setXRange(0.0, 1.0, padding=0.02)
            color = pg.mkColor(COLORS[run])
            fill = pg.mkColor(COLORS[run])
            fill.setAlpha(90)
            self._bars[run] = plot.plot([0.0, 1.0], [0.0], stepMode="center", fillLevel=0,
                                        pen=pg.mkPen(color, width=2), brush=fill)
            threshold = pg.InfiniteLine(lesson.THRESHOLD, angle=90, movable=False,
                                        pen=pg.mkPen("#777777", width=1, style=Qt.PenStyle.DashLine))
            plot.addItem(threshold, ignoreBounds=True)
            plot.setToolTip("How sure the network is of its answer to each noise image; "
                            f"right of the dashed line ({lesson.THRESHOLD:g}) counts as a confident answer.")
            self._plots[run] = plot
            plots.addWidget(plot, 1)
        self._summary = text_label("Run to train both networks and show them noise.", selectable=True)
        self._summary.setMinimumHeight(4 * self._summary.fontMetrics().lineSpacing())
        layout = self._lesson_layout(run_row)
        layout.addLayout(plots, 1)
        layout.addWidget(self._summary)

    # ------------------------------------------------------------- public API
    def config(self) -> lesson.NoneConfig:
        return lesson.NoneConfig.quick() if self.quick() else lesson.NoneConfig()

    def histogram(self, run: str) -> tuple[np.ndarray, np.ndarray]:
        """The (bin edges, counts) drawn for ``run`` ("before" or "after")."""
        x, y = self._bars[run].getData()
        return np.asarray(x), np.asarray(y)

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def start(self) -> None:
        """Train both networks on the worker thread; ``runFinished`` follows."""
        self._begin()
        self._draw_empty()
        self._summary.setText("Training the network without and with noise images\u2026")
        self._start_run(lesson.run, self.config())

    # --------------------------------------------------------------- internals
    def _draw_empty(self) -> None:
        for run in lesson.RUNS:
            self._bars[run].setData([0.0, 1.0], [0.0])
            self._plots[run].setTitle(TITLES[run])

    def _show(self, result) -> None:
        self._status.setText(f"Done: {result.epochs} epochs per run.")
        for run in lesson.RUNS:
            counts, edges = np.histogram(getattr(result, f"{run}_noise_top"), bins=BINS, range=(0.0, 1.0))
            self._bars[run].setData(edges, counts.astype(float))
            # Two lines: one would be cut off in a narrow dock.
            self._plots[run].setTitle(f"{TITLES[run]}<br>{result.share(run):.1%} confident on noise, "
                                      f"{result.accuracy(run):.1%} right on digits")
        self._summary.setText(result.summary())

    def _update_run_button(self) -> None:
        config = self.config()
        self._run_button.setText(f"Run: 784-16-16-10, {config.epochs} epochs, without and with noise")
        self._run_button.setToolTip("Train the same network twice, then show both of them fresh noise.")

    def _restyle(self) -> None:
        for plot in self._plots.values():
            style.style_plot(plot, self.palette())

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


__all__ = ["EXPLANATION", "HINT", "NoneView", "make_view"]
