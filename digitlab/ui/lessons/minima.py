"""The minima lesson's view: K runs from different starts, equal quality, different weights.

The maths is :mod:`digitlab.core.lessons.minima`, run on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner`. After each run
the lesson hands a snapshot of the runs so far to ``on_run`` on the worker
thread; the view keeps only the latest (a reference swap under a lock) and
draws it when the runner's throttled ``progress`` signal arrives in the GUI
thread: the histograms of test accuracy and cost, and each run's layer-1
weight images, its neurons put in the order (and sign) matched to run 1's.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Slot
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import minima as lesson
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

HISTOGRAM_BINS = 8
#: Weight mosaics per row.
MOSAIC_COLUMNS = 4

EXPLANATION = (
    "The same network is trained several times with the same recipe; only the random start differs.\n"
    "Every run reads digits about equally well, yet each ends with weights of its own: there are many good minima."
)
HINT = (
    "Try this: find a weight image in run 1 and look for its partner in the same place in the other runs "
    "(neurons are matched up). How many partners really look alike?"
)


def make_view(session: ModelSession) -> "MinimaView":
    """The registry's entry point: a minima view (it trains its own networks, not the session's)."""
    return MinimaView(session)


class MinimaView(RunningLessonView):
    """Histograms of the runs' test accuracy and cost, and their matched weight images.

    Parameters
    ----------
    session : ModelSession
        The window's session (unused: the lesson trains fresh networks).
    quick : bool
        Start with the quick run chosen (3 runs of 3 epochs on 3,000 digits).
    rng : numpy.random.Generator, optional
        Seeds the runs; default unseeded.

    Signals
    -------
    runFinished(object)
        The lesson's MinimaResult, in the GUI thread.
    """

    def __init__(self, session: ModelSession, parent: QWidget | None = None, quick: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("Several runs from different random starts: equal quality, different weights.")
        self._mosaics: list[tuple[pg.ViewBox, pg.ImageItem, pg.LabelItem]] = []
        self._build(quick)
        self._restyle()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self, quick: bool) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)

        run_row = self._make_run_controls(quick, (
            f"{lesson.QUICK_SEEDS} runs of {lesson.QUICK_EPOCHS} epochs on {lesson.QUICK_TRAIN_SIZE:,} digits: "
            f"about a second.\nUnchecked: {lesson.DEFAULT_SEEDS} runs of {lesson.DEFAULT_EPOCHS} epochs on "
            "9,000 digits, several seconds."
        ))
        self._run_button.setToolTip("Train the same network from different random starts and compare them.")

        self._accuracy_plot = self._make_plot("test accuracy (%)", "How often each run reads new digits right.")
        self._cost_plot = self._make_plot("test cost", "Each run's mean cost on new digits.")
        self._accuracy_hist = self._histogram_item(self._accuracy_plot, style.REAL_COLOR)
        self._cost_hist = self._histogram_item(self._cost_plot, style.NOISE_COLOR)
        self._weights = pg.GraphicsLayoutWidget()
        self._weights.setMinimumSize(300, 200)
        self._weights.setToolTip(
            "Each run's first-layer weight images (blue and red: negative and positive weights),\n"
            "neurons put in the order matched to run 1's, and shown with the matching sign."
        )
        self._lut = style.diverging_lut()

        self._summary = text_label("Run to train the networks.", selectable=True)
        # Room for the lines the summary wraps to (an Ignored-width label asks for one).
        self._summary.setMinimumHeight(4 * self._summary.fontMetrics().lineSpacing())

        histograms = QVBoxLayout()
        histograms.addWidget(self._accuracy_plot, 1)
        histograms.addWidget(self._cost_plot, 1)
        plots = QHBoxLayout()
        plots.addLayout(histograms, 1)
        plots.addWidget(self._weights, 2)
        layout = self._lesson_layout(run_row)
        layout.addLayout(plots, 1)
        layout.addWidget(self._summary)

    def _make_plot(self, xlabel: str, tooltip: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setMinimumSize(200, 110)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("bottom", xlabel)
        plot.setLabel("left", "runs")
        plot.setToolTip(tooltip)
        return plot

    def _histogram_item(self, plot: pg.PlotWidget, color: str) -> pg.PlotDataItem:
        item = pg.PlotDataItem([0.0, 1.0], [0.0], stepMode="center", fillLevel=0,
                               pen=pg.mkPen(color, width=2), brush=pg.mkBrush(style.with_alpha(color, 70)))
        plot.addItem(item)
        return item

    # ------------------------------------------------------------- public API
    def config(self) -> lesson.MinimaConfig:
        """The lesson's config: the quick run or the full one."""
        return lesson.MinimaConfig.quick() if self.quick() else lesson.MinimaConfig()

    def result(self):
        """The latest finished :class:`~digitlab.core.lessons.minima.MinimaResult`, or None."""
        return super().result()

    def shown_mosaics(self) -> list[np.ndarray]:
        """The weight pictures on screen, one per run drawn so far."""
        return [item.image for _box, item, _label in self._mosaics if item.image is not None]

    def histogram_counts(self) -> dict[str, np.ndarray]:
        """The bar heights shown: ``{"accuracy": counts, "cost": counts}``."""
        return {"accuracy": np.asarray(self._accuracy_hist.getData()[1]),
                "cost": np.asarray(self._cost_hist.getData()[1])}

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def start(self) -> None:
        """Train the runs on the worker thread; they appear as each finishes, ``runFinished`` follows."""
        config = self.config()
        self._begin()
        self._make_mosaics(config.seeds)
        self._draw_histograms(np.zeros(0), np.zeros(0))
        self._summary.setText(f"Training {config.seeds} networks from different random starts\u2026")
        latest = self._latest

        def run(config, rng, progress=None, cancel=None):
            # Runs on the worker thread: it hands snapshots over, and touches no widget.
            return lesson.run(config, rng, progress=progress, cancel=cancel, on_run=latest.put)

        self._start_run(run, config)

    # --------------------------------------------------------------- internals
    def _make_mosaics(self, count: int) -> None:
        """One titled picture per run, in a grid; made afresh for each start (the count may change)."""
        self._weights.clear()
        self._mosaics = []
        for index in range(count):
            row, column = divmod(index, MOSAIC_COLUMNS)
            label = self._weights.addLabel(f"run {index + 1}", row=2 * row, col=column)
            box = self._weights.addViewBox(row=2 * row + 1, col=column, lockAspect=True, enableMouse=False)
            box.invertY(True)
            item = pg.ImageItem()
            item.setLookupTable(self._lut)
            box.addItem(item)
            self._mosaics.append((box, item, label))
        self._restyle_labels()

    def _draw(self, result) -> None:
        for index, run_result in enumerate(result.runs[:len(self._mosaics)]):
            box, item, label = self._mosaics[index]
            mosaic = np.nan_to_num(lesson.weight_mosaic(result.aligned_weights(index)), nan=0.0)
            bound = max(float(np.max(np.abs(mosaic))), 1e-12)  # symmetric around 0: white is 0
            item.setImage(mosaic, levels=(-bound, bound))
            label.setText(f"run {index + 1}: {run_result.test_accuracy:.1%}", color=self._text_color())
            box.autoRange(padding=0.02)
        self._draw_histograms(result.accuracies * 100, result.costs)

    def _draw_histograms(self, accuracies: np.ndarray, costs: np.ndarray) -> None:
        for item, values, plot in ((self._accuracy_hist, accuracies, self._accuracy_plot),
                                   (self._cost_hist, costs, self._cost_plot)):
            if values.size == 0:
                item.setData([0.0, 1.0], [0.0])
                continue
            low, high = float(values.min()), float(values.max())
            pad = max((high - low) * 0.25, abs(high) * 0.005, 1e-6)
            counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(low - pad, high + pad))
            item.setData(edges, counts)
            plot.setYRange(0, max(1, int(counts.max())) * 1.1, padding=0)

    def _show(self, result) -> None:
        self._status.setText(f"Done: {len(result.runs)} runs.")
        self._draw(result)
        self._summary.setText(result.summary())

    def _update_run_button(self) -> None:
        config = self.config()
        layers = "-".join(str(n) for n in config.layers)
        self._run_button.setText(f"Run: {config.seeds} seeds of {layers}, {config.epochs} epochs each")

    # ----------------------------------------------------------------- theme
    def _text_color(self):
        return style.text_color(self.palette())

    def _restyle_labels(self) -> None:
        for _box, _item, label in self._mosaics:
            label.setText(label.text, color=self._text_color())

    def _restyle(self) -> None:
        for plot in (self._accuracy_plot, self._cost_plot):
            style.style_plot(plot, self.palette())
        self._weights.setBackground(style.plot_background(self.palette()))
        self._restyle_labels()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


__all__ = ["EXPLANATION", "HINT", "MinimaView", "make_view"]
