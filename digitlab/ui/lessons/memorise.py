"""The memorise lesson's view: true labels against shuffled ones, plotted live.

The maths is :mod:`digitlab.core.lessons.memorise`, run on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner`. The lesson hands a
snapshot of its history to ``on_epoch`` after every epoch, on the worker
thread; the view only keeps the latest one (a reference swap under a lock)
and draws it when the runner's throttled ``progress`` signal arrives in the
GUI thread, so the worker never touches a widget and the window hears from
it at most ~30 times a second.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import memorise as lesson
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

TRUE_COLOR = style.REAL_COLOR
RANDOM_COLOR = style.NOISE_COLOR
#: Curve keys: (run, measurement), run in lesson.RUNS and measurement "train" or "val".
CURVES = tuple((run, part) for run in lesson.RUNS for part in ("train", "val"))
_WORDS = {"true": "true labels", "random": "shuffled labels", "train": "training", "val": "validation"}

EXPLANATION = (
    "The same network learns the same digits twice: once with their true labels, once with the labels shuffled.\n"
    "With enough weights it learns even meaningless labels by heart \u2014 more slowly, and it learns nothing "
    "that works on new digits."
)
HINT = (
    "Try this: watch the dashed orange line (shuffled labels, new digits) stay near 10%, a guess, "
    "while the solid one climbs. Then ask why the true labels fit so much faster."
)
#: Why the lesson's network is wider than the window's 784-16-16-10 (shown under the plots).
CAPACITY_NOTE = (
    "Why a wide network: memorising N arbitrary labels means storing N separate facts in the weights. "
    "784-16-16-10 (13,002 weights) stalls near 88% on 1,000 shuffled labels after 800 epochs; "
    "784-256-10 (203,530 weights) learns 2,000 of them in about 20 epochs."
)


def make_view(session: ModelSession) -> "MemoriseView":
    """The registry's entry point: a memorise view (it trains its own networks, not the session's)."""
    return MemoriseView(session)


class MemoriseView(RunningLessonView):
    """Accuracy and cost per epoch of a true-label run and a shuffled-label run, live.

    Parameters
    ----------
    session : ModelSession
        The window's session (unused: the lesson trains fresh networks).
    quick : bool
        Start with the quick run chosen (500 digits, 784-64-10).
    rng : numpy.random.Generator, optional
        Seeds the runs; default unseeded, so runs differ between app sessions.

    Signals
    -------
    runFinished(object)
        The lesson's MemoriseResult, in the GUI thread.
    """

    def __init__(self, session: ModelSession, parent: QWidget | None = None, quick: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("Memorising shuffled labels against learning true ones.")
        self._shown = None  # the snapshot or result drawn last
        self._build(quick)
        self._restyle()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self, quick: bool) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)
        self._capacity = text_label(CAPACITY_NOTE)

        run_row = self._make_run_controls(quick, (
            f"{lesson.QUICK_TRAIN_SIZE} digits and a {_layers(lesson.QUICK_LAYERS)} network: under a second.\n"
            f"Unchecked: {lesson.DEFAULT_TRAIN_SIZE:,} digits and {_layers(lesson.DEFAULT_LAYERS)}, "
            "a few seconds."
        ))

        self._accuracy_plot = self._make_plot("share right", "Accuracy: solid = training digits, dashed = new digits")
        self._accuracy_plot.setYRange(0.0, 1.02, padding=0)
        self._cost_plot = self._make_plot("mean cost", "Cost: solid = training digits, dashed = new digits")
        # Top left of the cost plot: the one corner no curve reaches (costs start low or fall).
        self._legend = self._cost_plot.addLegend(offset=(10, 10))
        self._curves: dict[tuple[str, str], dict[str, pg.PlotDataItem]] = {}
        for run, part in CURVES:
            color = TRUE_COLOR if run == "true" else RANDOM_COLOR
            pen = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine if part == "val" else Qt.PenStyle.SolidLine)
            name = f"{_WORDS[run]}, {_WORDS[part]}"
            self._curves[(run, part)] = {
                "accuracy": self._accuracy_plot.plot([], [], pen=pen),
                "cost": self._cost_plot.plot([], [], pen=pen, name=name),
            }
        self._fit_lines = {}
        for run in lesson.RUNS:
            color = TRUE_COLOR if run == "true" else RANDOM_COLOR
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                                   label=f"{_WORDS[run]} fit", labelOpts={"position": 0.65, "color": color})
            line.setVisible(False)
            self._accuracy_plot.addItem(line, ignoreBounds=True)
            self._fit_lines[run] = line

        self._summary = text_label("Run to train both networks.", selectable=True)
        # Room for the four lines the summary wraps to (an Ignored-width label asks for one).
        self._summary.setMinimumHeight(4 * self._summary.fontMetrics().lineSpacing())

        plots = QHBoxLayout()
        plots.addWidget(self._accuracy_plot, 1)
        plots.addWidget(self._cost_plot, 1)
        layout = self._lesson_layout(run_row)
        layout.addLayout(plots, 1)
        layout.addWidget(self._summary)
        layout.addWidget(self._capacity)

    def _make_plot(self, ylabel: str, tooltip: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setMinimumSize(240, 160)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("left", ylabel)
        plot.setLabel("bottom", "epoch")
        plot.setToolTip(tooltip)
        return plot

    # ------------------------------------------------------------- public API
    def config(self) -> lesson.MemoriseConfig:
        """The lesson's config: the quick run or the full one."""
        return lesson.MemoriseConfig.quick() if self.quick() else lesson.MemoriseConfig()

    def result(self):
        """The latest finished :class:`~digitlab.core.lessons.memorise.MemoriseResult`, or None."""
        return super().result()

    def curve_data(self, run: str, part: str, measure: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
        """The (epochs, values) drawn for ``run`` ("true"/"random"), ``part`` ("train"/"val"),
        ``measure`` ("accuracy"/"cost")."""
        x, y = self._curves[(run, part)][measure].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def start(self) -> None:
        """Train both networks on the worker thread; the curves grow as it goes, ``runFinished`` follows."""
        config = self.config()
        self._begin()
        self._draw(None)
        self._summary.setText(f"Training a {_layers(config.layers)} network on {config.train_size:,} digits, "
                              "with true and with shuffled labels\u2026")
        latest = self._latest

        def run(config, rng, progress=None, cancel=None):
            # Runs on the worker thread: it hands snapshots over, and touches no widget.
            return lesson.run(config, rng, progress=progress, cancel=cancel, on_epoch=latest.put)

        self._start_run(run, config)

    # --------------------------------------------------------------- internals
    def _show(self, result) -> None:
        self._status.setText(f"Done: {result.epochs} epochs.")
        self._draw(result)
        self._summary.setText(result.summary())

    def _draw(self, result) -> None:
        """Update the curves in place (setData) from a snapshot or result; None clears them."""
        self._shown = result
        for (run, part), items in self._curves.items():
            if result is None:
                for item in items.values():
                    item.setData([], [])
                continue
            history = getattr(result, run)
            epochs = np.arange(1, history.epochs + 1)
            items["accuracy"].setData(epochs, getattr(history, f"{part}_accuracy"))
            items["cost"].setData(epochs, getattr(history, f"{part}_cost"))
        for run, line in self._fit_lines.items():
            fit = None if result is None else getattr(result, run).epochs_to_fit
            line.setVisible(fit is not None)
            if fit is not None:
                line.setValue(fit)

    def _update_run_button(self) -> None:
        config = self.config()
        self._run_button.setText(f"Run: {config.train_size:,} digits, {_layers(config.layers)}, "
                                 "true and shuffled labels")
        self._run_button.setToolTip("Train the same network twice, with true and with shuffled labels.")

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        for plot in (self._accuracy_plot, self._cost_plot):
            style.style_plot(plot, self.palette())
        color = style.text_color(self.palette())
        self._legend.setLabelTextColor(color)
        for _sample, label in self._legend.items:
            label.setText(label.text, color=color)  # setLabelTextColor alone does not re-render
        self._legend.setBrush(style.with_alpha(style.plot_background(self.palette()), 200))
        self._legend.setPen(style.muted_color(self.palette(), 0.3))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def _layers(layers) -> str:
    return "-".join(str(n) for n in layers)


__all__ = ["CAPACITY_NOTE", "EXPLANATION", "HINT", "MemoriseView", "make_view"]
