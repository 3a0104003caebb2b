"""The overfit lesson's view: a plain run and three cures, training and test accuracy live on one chart.

The maths is :mod:`digitlab.core.lessons.overfit`, run on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner`. The lesson hands a
snapshot of its history to ``on_epoch`` after every epoch, on the worker
thread; the view keeps only the latest one (a reference swap under a lock)
and draws it when the runner's throttled ``progress`` signal arrives in the
GUI thread, so the worker never touches a widget.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import overfit as lesson
from digitlab.core.lessons.figure import PALETTE
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

#: One colour per run (colour-blind-safe palette); solid = training digits, dashed = test digits.
COLORS = dict(zip(lesson.RUNS, PALETTE))
PARTS = ("train", "test")

EXPLANATION = (
    "Overfitting is learning the training data \u201ctoo well\u201d: trained long on 1,000 digits, a network gets "
    "every one of them right, yet new digits far less often.\n"
    "The same run is repeated with each cure the book names \u2014 L2 weight decay, dropout and augmentation "
    "\u2014 to see which one closes the gap."
)
HINT = (
    "Try this: watch the solid lines reach 100% while the dashed ones (new digits) stall. Which dashed line "
    "ends highest? Then train a wider network in the main window with Dropout set to see whether it helps there."
)


def make_view(session: ModelSession) -> "OverfitView":
    """The registry's entry point: an overfit view (it trains its own networks, not the session's)."""
    return OverfitView(session)


class OverfitView(RunningLessonView):
    """Training and test accuracy per epoch of the plain, L2, dropout and augmentation runs, live.

    Parameters
    ----------
    session : ModelSession
        The window's session (unused: the lesson trains fresh networks).
    quick : bool
        Start with the quick run chosen.
    rng : numpy.random.Generator, optional
        Seeds the runs; default unseeded.

    Signals
    -------
    runFinished(object)
        The lesson's OverfitResult, in the GUI thread.
    """

    def __init__(self, session: ModelSession, parent: QWidget | None = None, quick: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("Overfitting 1,000 digits, and three cures.")
        self._build(quick)
        self._plot.setYRange(0.7, 1.005, padding=0)
        self._restyle()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self, quick: bool) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)

        full, short = lesson.Config(), lesson.Config.quick()
        run_row = self._make_run_controls(quick, (
            f"{short.train_size} digits, {short.epochs} epochs: a second or two.\n"
            f"Unchecked: {full.train_size:,} digits, {full.epochs} epochs (Nielsen's preset), under a minute."
        ))

        plot = pg.PlotWidget()
        plot.setMinimumSize(300, 200)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("left", "share right")
        plot.setLabel("bottom", "epoch")
        plot.setToolTip("Accuracy: solid = the training digits, dashed = 1,000 new digits (the test)")
        self._plot = plot
        # Bottom right, four columns and two rows: after the first epochs every curve is above it.
        self._legend = plot.addLegend(offset=(-10, -10), colCount=4)
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for run in lesson.RUNS:
            for part in PARTS:
                # The plain run is drawn wide and first, so a cure lying on top of it
                # (L2 here) leaves it showing as an outline.
                pen = pg.mkPen(COLORS[run], width=5 if run == "plain" else 2,
                               style=Qt.PenStyle.DashLine if part == "test" else Qt.PenStyle.SolidLine)
                name = f"{lesson.TITLES[run]}: {'training' if part == 'train' else 'test'}"
                self._curves[(run, part)] = plot.plot([], [], pen=pen, name=name)

        self._figures = text_label("", selectable=True)
        self._figures.setTextFormat(Qt.TextFormat.RichText)
        self._verdict = text_label("Run to train the four networks.", selectable=True)

        layout = self._lesson_layout(run_row)
        layout.addWidget(plot, 1)
        layout.addWidget(self._figures)
        layout.addWidget(self._verdict)

    # ------------------------------------------------------------- public API
    def config(self) -> lesson.OverfitConfig:
        """The lesson's config: the quick run or the full one."""
        return lesson.OverfitConfig.quick() if self.quick() else lesson.OverfitConfig()

    def result(self):
        """The latest finished :class:`~digitlab.core.lessons.overfit.OverfitResult`, or None."""
        return super().result()

    def curve_data(self, run: str, part: str) -> tuple[np.ndarray, np.ndarray]:
        """The (epochs, accuracies) drawn for ``run`` (in lesson.RUNS) and ``part`` ("train"/"test")."""
        x, y = self._curves[(run, part)].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def figures_text(self) -> str:
        return self._figures.text()

    def verdict_text(self) -> str:
        return self._verdict.text()

    @Slot()
    def start(self) -> None:
        """Train the four networks on the worker thread; the curves grow as it goes, ``runFinished`` follows."""
        config = self.config()
        self._begin()
        self._draw(None)
        # The plateaus are what matter; a quick run's curves climb from lower down.
        self._plot.setYRange(0.4 if self.quick() else 0.7, 1.005, padding=0)
        self._figures.setText("")
        self._verdict.setText(f"Training four {_layers(config.layers)} networks on {config.train_size:,} digits "
                              f"for {config.epochs} epochs\u2026")
        latest = self._latest

        def run(config, rng, progress=None, cancel=None):
            # Runs on the worker thread: it hands snapshots over, and touches no widget.
            return lesson.run(config, rng, progress=progress, cancel=cancel, on_epoch=latest.put)

        self._start_run(run, config)

    # --------------------------------------------------------------- internals
    def _show(self, result) -> None:
        self._status.setText(f"Done: {result.epochs} epochs.")
        self._draw(result)
        self._figures.setText(figures_html(result))
        self._verdict.setText(verdict_text(result))

    def _message_label(self):
        return self._verdict

    def _draw(self, result) -> None:
        """Update the curves in place (setData) from a snapshot or result; None clears them."""
        for (run, part), item in self._curves.items():
            if result is None:
                item.setData([], [])
                continue
            values = getattr(result.runs[run], f"{part}_accuracy")
            item.setData(np.arange(1, values.size + 1), values)

    def _update_run_button(self) -> None:
        config = self.config()
        self._run_button.setText(f"Run: {config.train_size:,} digits, {_layers(config.layers)}, "
                                 f"{config.epochs} epochs, plain and three cures")
        self._run_button.setToolTip("Train the same network four times: plain, with L2, with dropout, "
                                    "with augmentation.")

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        style.style_plot(self._plot, self.palette())
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


def figures_html(result) -> str:
    """Each run's final figures in plain words, one line each, coloured like its curves."""
    lines = []
    for run in lesson.RUNS:
        history = result.runs[run]
        setting = {"plain": "", "l2": f" ({result.weight_decay:g} per step)",
                   "dropout": f" (rate {result.dropout:g})", "augment": ""}[run]
        lines.append(f"<span style='color:{COLORS[run]}'>\u25a0</span> <b>{lesson.TITLES[run].capitalize()}"
                     f"</b>{setting}: {history.final('train_accuracy'):.1%} of its training digits right, "
                     f"{history.final('test_accuracy'):.1%} of the new ones.")
    return "<br>".join(lines)


def verdict_text(result) -> str:
    """Which cure helped, and each cure's verdict with its reason."""
    best = result.best_cure
    plain = result.runs["plain"]
    gap = 100 * plain.gap
    if result.gain(best) >= 1.0:
        head = (f"The plain run's gap between training and new digits is {gap:.1f} points; "
                f"{lesson.TITLES[best]} helped most, {result.gain(best):+.1f} points on new digits.")
    else:
        head = (f"The plain run's gap between training and new digits is {gap:.1f} points; "
                "no cure helped by a point or more on this run.")
    return head + " " + " ".join(result.verdicts())


def _layers(layers) -> str:
    return "-".join(str(n) for n in layers)


__all__ = ["EXPLANATION", "HINT", "OverfitView", "figures_html", "make_view", "verdict_text"]
