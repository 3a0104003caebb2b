"""The landscape lesson's view: a slice of the displayed network's cost, and a line between two minima.

The maths is :mod:`digitlab.core.lessons.landscape`, run on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner` (progress per
epoch of the training runs and per grid row; Cancel stops at the next row).
The slice is drawn as a heat map of log10 of the cost with contour lines; in
trajectory mode the training path is drawn on it. Beside it, the cost along
the straight line between two networks trained from different seeds.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import landscape as lesson
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView
from digitlab.ui.session import ModelSession

#: Contour lines over the heat map.
CONTOUR_LEVELS = 8
PATH_COLOR = style.ACCENT

EXPLANATION = (
    "The cost is a function of all the network's weights and biases, which no one can picture; "
    "a slice through them can be: two directions, the cost drawn as colour.\n"
    "Gradient descent ends at the bottom of a valley: the centre, the current weights, is the lowest point, "
    "and different seeds end in different valleys."
)
HINT = (
    "Try this: choose \u201ctraining path\u201d and watch the path roll down into the valley; then look at "
    "the line between two trained networks, and the ridge between their valleys."
)
_DIRECTION_WORDS = {"random": "Random directions", "trajectory": "Training path"}


def make_view(session: ModelSession) -> "LandscapeView":
    """The registry's entry point: a landscape view of the session's network."""
    return LandscapeView(session)


class LandscapeView(RunningLessonView):
    """A heat map of the cost around the session's weights, and the 1-D line between two seeds' minima.

    Parameters
    ----------
    session : ModelSession
        The displayed network: its cost is sliced (a copy, taken at Run).
    quick : bool
        Start with the quick run (9x9 grid, 500 digits, short training runs).
    rng : numpy.random.Generator, optional
        Seeds the runs; default unseeded.

    Signals
    -------
    runFinished(object)
        The lesson's LandscapeResult, in the GUI thread.
    """

    CANCELLED_TEXT = "Cancelled."
    STALE_TEXT = "The network changed since this slice was computed: Run again to see its own."

    def __init__(self, session: ModelSession, parent: QWidget | None = None, quick: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("A slice of the network's cost around its current weights.")
        self._build(quick)
        self._restyle()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self, quick: bool) -> None:
        self._explanation = QLabel(EXPLANATION)
        self._hint = QLabel(HINT)
        self._hint.setStyleSheet("font-style: italic;")
        for label in (self._explanation, self._hint):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._directions = QComboBox()
        for name in lesson.DIRECTIONS:
            self._directions.addItem(_DIRECTION_WORDS[name], name)
        self._directions.setToolTip(
            "Random directions: each neuron's part scaled to that neuron's weights (Li et al. 2018), "
            "around the displayed network.\nTraining path: a fresh network trained with the video's recipe; "
            "the plane its path spans most, around where it ended."
        )
        run_row = self._make_run_controls(
            quick, f"A {lesson.QUICK_GRID}x{lesson.QUICK_GRID} grid on {lesson.QUICK_EXAMPLES} "
                   f"digits. Unchecked: {lesson.DEFAULT_GRID}x{lesson.DEFAULT_GRID} on {lesson.DEFAULT_EXAMPLES:,}.",
            cancel_tip="")
        run_row.insertWidget(0, self._directions)
        self._run_button.setText("Run")

        self._map_plot = pg.PlotWidget()
        self._map_plot.setMinimumSize(260, 240)
        self._map_plot.setMenuEnabled(False)
        self._map_plot.hideButtons()
        self._map_plot.setAspectLocked(True)
        self._map_plot.setToolTip("Colour: log10 of the cost (dark = low). The white dot: the current weights.")
        self.heatmap = pg.ImageItem()
        self.heatmap.setColorMap(pg.colormap.get("viridis"))
        self.heatmap.setZValue(-10)
        self._map_plot.addItem(self.heatmap)
        self.contours = [pg.IsocurveItem(pen=pg.mkPen((255, 255, 255, 110), width=1)) for _ in range(CONTOUR_LEVELS)]
        for contour in self.contours:
            contour.setParentItem(self.heatmap)  # drawn in the image's own coordinates
        self.path_item = pg.PlotDataItem(pen=pg.mkPen(PATH_COLOR, width=2), symbol="o", symbolSize=6,
                                         symbolBrush=PATH_COLOR, symbolPen=None)
        self.path_item.setZValue(5)
        self._map_plot.addItem(self.path_item)
        self.center_item = pg.ScatterPlotItem(size=10, brush="w", pen=pg.mkPen("k", width=1))
        self.center_item.setZValue(6)
        self._map_plot.addItem(self.center_item)

        self._line_plot = pg.PlotWidget()
        self._line_plot.setMinimumSize(240, 200)
        self._line_plot.setMenuEnabled(False)
        self._line_plot.setMouseEnabled(x=False, y=False)
        self._line_plot.hideButtons()
        self._line_plot.setLabel("bottom", "t  (0: network A, 1: network B)")
        self._line_plot.setLabel("left", "cost")
        self._line_plot.setToolTip("The cost on the straight line between two networks trained from different seeds.")
        self.line_item = self._line_plot.plot([], [], pen=pg.mkPen(style.REAL_COLOR, width=2))
        self.aligned_item = self._line_plot.plot(
            [], [], pen=pg.mkPen(style.NOISE_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self._ends = []
        for t in (0.0, 1.0):
            end = pg.InfiniteLine(t, angle=90, movable=False, pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DashLine))
            self._line_plot.addItem(end, ignoreBounds=True)
            self._ends.append(end)

        for plot in (self._map_plot, self._line_plot):
            for name in ("left", "bottom"):
                plot.getAxis(name).enableAutoSIPrefix(False)  # "x0.001" labels would puzzle learners
        self._map_title = QLabel("The cost around the weights")
        self._line_title = QLabel("From one minimum to another")
        self._summary = QLabel("Run to compute the slice.")
        for label in (self._summary, self._map_title, self._line_title):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._summary.setMinimumHeight(4 * self._summary.fontMetrics().lineSpacing())
        for title in (self._map_title, self._line_title):
            title.setMinimumHeight(3 * title.fontMetrics().lineSpacing())

        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self._map_title)
        left.addWidget(self._map_plot, 1)
        right.addWidget(self._line_title)
        right.addWidget(self._line_plot, 1)
        plots = QHBoxLayout()
        plots.addLayout(left, 3)
        plots.addLayout(right, 2)
        layout = self._lesson_layout(run_row)
        layout.addLayout(plots, 1)
        layout.addWidget(self._summary)

    # ------------------------------------------------------------- public API
    def directions(self) -> str:
        return self._directions.currentData()

    def set_directions(self, name: str) -> None:
        index = self._directions.findData(name)
        if index < 0:
            raise ValueError(f"unknown directions {name!r}")
        self._directions.setCurrentIndex(index)

    def config(self) -> lesson.LandscapeConfig:
        """The lesson's config for the session's network (a copy), the chosen directions and size."""
        base = lesson.LandscapeConfig.quick() if self.quick() else lesson.LandscapeConfig()
        base.network = self._session.network.copy()
        base.directions = self.directions()
        return base

    def result(self):
        """The latest finished LandscapeResult, or None."""
        return super().result()

    def image_data(self) -> np.ndarray | None:
        """The heat map's values (log10 of the cost), or None before a run."""
        return self.heatmap.image

    def path_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.path_item.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def line_data(self, aligned: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The 1-D line drawn: (t, cost); ``aligned`` for the one with B's neurons matched to A's."""
        x, y = (self.aligned_item if aligned else self.line_item).getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def start(self) -> None:
        """Compute the slice on the worker thread; ``runFinished`` follows."""
        config = self.config()
        self._begin()
        self._status.setText("Starting\u2026")
        self._summary.setText(f"Computing a {config.grid}x{config.grid} slice of the cost on "
                              f"{config.n_examples:,} validation digits\u2026")
        self._start_run(lesson.run, config)

    # --------------------------------------------------------------- internals
    def _show(self, result) -> None:
        self._status.setText(f"Done: {result.grid}x{result.grid} grid in {result.seconds:.2f} s.")
        self._draw(result)
        self._summary.setText(result.summary())

    def _draw(self, result) -> None:
        """Update the plot items in place from a result."""
        shade = np.log10(np.maximum(result.costs, 1e-12))
        step = result.coords[1] - result.coords[0]
        low = result.coords[0] - step / 2  # pixels are centred on the grid points
        self.heatmap.setImage(shade, levels=(float(shade.min()), float(shade.max())))
        self.heatmap.setRect(low, low, step * result.grid, step * result.grid)
        levels = np.linspace(shade.min(), shade.max(), CONTOUR_LEVELS + 2)[1:-1]
        for contour, level in zip(self.contours, levels):
            contour.setData(shade, float(level))
        self.center_item.setData([0.0], [0.0])
        if result.path is not None:
            self.path_item.setData(result.path[:, 0], result.path[:, 1])
            share = 100 * float(np.sum(result.explained))
            words = f"Plane of a training path ({share:.0f}% of its movement); path in orange, start at the far end"
        else:
            self.path_item.setData([], [])
            words = "Two filter-normalised random directions"
        self._map_title.setText(f"{words}; log10 of the cost, \u00b1{result.span:.3g}")
        axis = "direction" if result.directions == "random" else "principal component"
        self._map_plot.setLabel("bottom", f"{axis} 1")
        self._map_plot.setLabel("left", f"{axis} 2")
        self._map_plot.setRange(xRange=(low, -low), yRange=(low, -low), padding=0.02)
        if result.line_t is not None:
            self.line_item.setData(result.line_t, result.line_costs)
            self.aligned_item.setData(result.line_t, result.aligned_costs)
            # Named in words, not a legend: no corner of this plot stays free of the curves.
            self._line_title.setText(f"Two seeds' minima. Solid: the straight line (a ridge of {result.barrier:.3f}); "
                                     f"dashed: B's neurons in A's order ({result.aligned_barrier:.3f})")
        else:
            self.line_item.setData([], [])
            self.aligned_item.setData([], [])

    def _set_controls_enabled(self, running: bool) -> None:
        super()._set_controls_enabled(running)
        self._directions.setEnabled(not running)

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        for plot in (self._map_plot, self._line_plot):
            style.style_plot(plot, self.palette())

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


__all__ = ["EXPLANATION", "HINT", "LandscapeView", "make_view"]
