"""The descent lesson's view: drop a ball on a curve or a cost surface and watch it roll.

All the maths (functions, gradients, the step, naming the outcome) is
:mod:`digitlab.core.lessons.descent`; this view only draws it. Descent uses no
model: the session is accepted and ignored. Steps are microseconds, so they run
on the GUI thread from a QTimer (about 20 a second) instead of a worker.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import descent
from digitlab.ui import style

#: Functions in the combo box, in teaching order: one variable, then two.
FUNCTION_ORDER = ("bowl", "bumpy", "bowl2d", "valley", "bumps2d")
#: The rate slider is logarithmic: 10**LOG_MIN .. 10**LOG_MAX, TICKS_PER_DECADE positions a decade.
LOG_MIN, LOG_MAX, TICKS_PER_DECADE = -4, 0.5, 40
#: Momentum used when the box is ticked.
MOMENTUM = 0.9
STEP_MS = 50  # ~20 steps a second: slow enough to follow each one
RANDOM_BALLS = 5
CONTOUR_LEVELS = 12
BALL_COLORS = (style.ACCENT, "#1c7ed6", "#2f9e44", "#ae3ec9", "#0c8599", "#f08c00", "#5c940d")
#: The next step's arrow, apart from every ball's colour.
STEP_COLOR = "#e03131"
OUTCOME_COLORS = {
    "converged": "#2f9e44", "diverged": "#e03131", "overshooting": "#f08c00", "crawling": "#1c7ed6",
}
OUTCOME_WORDS = {
    "ready": "ready: click the plot to drop a ball",
    "rolling": "rolling downhill",
    "converged": "converged: the slope is flat",
    "crawling": "crawling: the rate is too small",
    "overshooting": "overshooting: the steps jump past the bottom",
    "diverged": "diverged: the ball flew off",
}
HINTS = {
    "bowl": "Try this: set the rate to 1 and Run: the ball jumps from x to -x forever. Just above 1 it flies off.",
    "bumpy": "Try this: Drop 5 random balls: they settle in different valleys, not all in the lowest one. "
    "Then Reset, tick Momentum and Run: the ball rolls over the hill into the lowest valley.",
    "bowl2d": "Try this: click anywhere. On a round bowl, minus the gradient points straight at the bottom.",
    "valley": "Try this: raise the rate to 0.158: the ball zigzags across the valley and creeps along its "
    "floor; one notch more (0.168) and it flies off. At 0.02 it crawls: tick Momentum and it gathers speed.",
    "bumps2d": "Try this: Drop 5 random balls and see them end in different minima.",
}
EXPLANATION = (
    "Each step moves the ball against the slope: x \u2190 x \u2212 lr \u00b7 f\u2032(x), so the steps shrink "
    "as the ground flattens out.\n"
    "With two inputs the gradient (dashed) points uphill, so the step (arrow) goes along minus the gradient; "
    "where the ball settles depends on where it starts."
)


def rate_of_tick(tick: int) -> float:
    """The learning rate at a slider position."""
    return 10.0 ** (LOG_MIN + tick / TICKS_PER_DECADE)


def tick_of_rate(lr: float) -> int:
    """The slider position nearest to a learning rate."""
    tick = round((math.log10(lr) - LOG_MIN) * TICKS_PER_DECADE)
    return int(min(max(tick, 0), (LOG_MAX - LOG_MIN) * TICKS_PER_DECADE))


class DescentView(QWidget):
    """Balls rolling down a chosen cost, with the rate, momentum and outcome on screen."""

    def __init__(self, session=None, parent: QWidget | None = None, rng: np.random.Generator | None = None):
        super().__init__(parent)
        style.configure_pyqtgraph()
        self.session = session  # descent needs no model
        self._rng = np.random.default_rng() if rng is None else rng
        self.function = descent.FUNCTIONS[FUNCTION_ORDER[0]]
        self.balls: list[descent.Ball] = []

        self.function_combo = QComboBox()
        for name in FUNCTION_ORDER:
            self.function_combo.addItem(descent.FUNCTIONS[name].title, name)
        self.formula_label = QLabel()
        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(360, 280)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)  # a click drops a ball; dragging must not pan
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.rate_slider = QSlider(Qt.Orientation.Horizontal)
        self.rate_slider.setRange(0, int((LOG_MAX - LOG_MIN) * TICKS_PER_DECADE))
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(70)
        self.momentum_box = QCheckBox(f"Momentum {MOMENTUM:g}")
        self.step_button = QPushButton("Step")
        self.run_button = QPushButton("Run")
        self.run_button.setCheckable(True)
        self.reset_button = QPushButton("Reset")
        self.drop_button = QPushButton(f"Drop {RANDOM_BALLS} random balls")
        self.outcome_label = QLabel()
        font = self.outcome_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.outcome_label.setFont(font)
        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation_label = QLabel(EXPLANATION)
        self.hint_label = QLabel()
        for label in (self.explanation_label, self.hint_label, self.status_label):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)

        top = QHBoxLayout()
        top.addWidget(QLabel("Function:"))
        top.addWidget(self.function_combo)
        top.addWidget(self.formula_label, 1)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Learning rate:"))
        controls.addWidget(self.rate_slider, 1)
        controls.addWidget(self.rate_label)
        controls.addWidget(self.momentum_box)
        buttons = QHBoxLayout()
        for button in (self.step_button, self.run_button, self.reset_button, self.drop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.outcome_label)
        layout.addWidget(self.status_label)
        layout.addLayout(controls)
        layout.addLayout(buttons)
        layout.addWidget(self.explanation_label)
        layout.addWidget(self.hint_label)

        self._make_items()
        self._restyle()
        self.function_combo.currentIndexChanged.connect(self._function_chosen)
        self.rate_slider.valueChanged.connect(self._rate_changed)
        self.momentum_box.toggled.connect(self._momentum_toggled)
        self.step_button.clicked.connect(self.step)
        self.run_button.toggled.connect(self._run_toggled)
        self.reset_button.clicked.connect(self.reset)
        self.drop_button.clicked.connect(self.drop_random_balls)
        self.timer.timeout.connect(self._tick)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.getViewBox().sigRangeChanged.connect(self._redraw_arrows)
        self.set_function(self.function.name)

    # ------------------------------------------------------------ drawing items
    def _make_items(self) -> None:
        self.heatmap = pg.ImageItem()
        self.heatmap.setColorMap(pg.colormap.get("viridis"))
        self.contours = [pg.IsocurveItem(pen=pg.mkPen((255, 255, 255, 110), width=1)) for _ in range(CONTOUR_LEVELS)]
        for contour in self.contours:
            contour.setParentItem(self.heatmap)  # drawn in the image's own coordinates
        self.curve = pg.PlotDataItem()
        self.slopes = pg.PlotDataItem(connect="pairs")
        self.step_lines = pg.PlotDataItem(pen=pg.mkPen(STEP_COLOR, width=3), connect="pairs")
        self.ball_dots = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k", width=1))
        for item in (self.heatmap, self.curve, self.slopes, self.step_lines, self.ball_dots):
            self.plot.addItem(item)
        self.heatmap.setZValue(-10)
        self.ball_dots.setZValue(10)
        self.step_lines.setZValue(7)
        self.trails: list[pg.PlotDataItem] = []
        self.arrow_heads: list[pg.ArrowItem] = []

    # ------------------------------------------------------------ public API
    @property
    def lr(self) -> float:
        """The learning rate the slider shows."""
        return rate_of_tick(self.rate_slider.value())

    @property
    def momentum(self) -> float:
        return MOMENTUM if self.momentum_box.isChecked() else 0.0

    def set_rate(self, lr: float) -> None:
        """Move the slider to (the position nearest) ``lr``."""
        self.rate_slider.setValue(tick_of_rate(lr))

    def set_function(self, name: str) -> None:
        """Show function ``name`` at its own rate, with one ball at its default start."""
        index = self.function_combo.findData(name)
        if index < 0:
            raise ValueError(f"unknown function {name!r}")
        if index != self.function_combo.currentIndex():
            self.function_combo.setCurrentIndex(index)  # comes back here through _function_chosen
            return
        self.run_button.setChecked(False)
        self.function = descent.FUNCTIONS[name]
        self.balls = []  # the old ones belong to the old function
        self.formula_label.setText(self.function.formula)
        self.hint_label.setText(HINTS.get(name, ""))
        self._draw_function()
        self._restyle()
        self.set_rate(self.function.lr)
        self.reset()

    def drop_balls(self, starts) -> None:
        """Replace the balls by new ones at ``starts`` (a list of points)."""
        self.balls = [descent.Ball(self.function, start, self.lr, self.momentum) for start in starts]
        for item in self.trails + self.arrow_heads:
            self.plot.removeItem(item)
        self.trails = []
        self.arrow_heads = []
        for i in range(len(self.balls)):
            color = BALL_COLORS[i % len(BALL_COLORS)]
            trail = pg.PlotDataItem(pen=pg.mkPen(color, width=1.5), symbol="o", symbolSize=4,
                                    symbolBrush=color, symbolPen=None)
            head = pg.ArrowItem(headLen=14, tailLen=0, pen=None, brush=STEP_COLOR)
            for item in (trail, head):
                self.plot.addItem(item)
            trail.setZValue(5)
            head.setZValue(8)
            self.trails.append(trail)
            self.arrow_heads.append(head)
        self._refresh()

    @Slot()
    def drop_random_balls(self) -> None:
        self.drop_balls(self.function.random_starts(RANDOM_BALLS, self._rng))

    @Slot()
    def reset(self) -> None:
        """One ball back at the function's default start; stop running."""
        self.run_button.setChecked(False)
        xlo, xhi, ylo, yhi = self._home
        self.plot.setRange(xRange=(xlo, xhi), yRange=(ylo, yhi), padding=0.05)
        self.drop_balls([self.function.start])

    @Slot()
    def step(self) -> None:
        """Every ball takes one step at the current rate and momentum."""
        for ball in self.balls:
            ball.step()
        self._refresh()

    def outcomes(self) -> list[str]:
        return [ball.outcome() for ball in self.balls]

    def shutdown(self) -> None:
        """Stop running (the lesson area calls this when the tab closes)."""
        self.run_button.setChecked(False)

    # ------------------------------------------------------------ slots
    @Slot(int)
    def _function_chosen(self, index: int) -> None:
        self.set_function(self.function_combo.itemData(index))

    @Slot(int)
    def _rate_changed(self, tick: int) -> None:
        self.rate_label.setText(f"lr = {rate_of_tick(tick):.3g}")
        for ball in self.balls:
            ball.lr = self.lr  # acts on the next step, even while running
        self._refresh()

    @Slot(bool)
    def _momentum_toggled(self, on: bool) -> None:
        for ball in self.balls:
            ball.momentum = self.momentum
        self._refresh()

    @Slot(bool)
    def _run_toggled(self, running: bool) -> None:
        self.run_button.setText("Pause" if running else "Run")
        self.step_button.setEnabled(not running)
        if running:
            self.timer.start()
        else:
            self.timer.stop()

    @Slot()
    def _tick(self) -> None:
        self.step()
        if all(ball.stopped for ball in self.balls):
            self.run_button.setChecked(False)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        view_box = self.plot.getViewBox()
        if not view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view_box.mapSceneToView(event.scenePos())
        where = np.array([point.x(), point.y()][: self.function.dim])
        lo, hi = np.array(self.function.domain).T
        self.run_button.setChecked(False)
        self.drop_balls([np.clip(where, lo, hi)])
        event.accept()

    # ------------------------------------------------------------ drawing
    def _restyle(self) -> None:
        """Plot colours from the palette (light and dark themes); the slope line reads on the map too."""
        style.style_plot(self.plot, self.palette())
        self.curve.setPen(pg.mkPen(style.text_color(self.palette()), width=2))
        slope = "w" if self.function.dim == 2 else style.muted_color(self.palette(), 0.6)
        self.slopes.setPen(pg.mkPen(slope, width=2, style=Qt.PenStyle.DashLine))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)

    def _draw_function(self) -> None:
        two_d = self.function.dim == 2
        self.heatmap.setVisible(two_d)
        self.curve.setVisible(not two_d)
        (xlo, xhi), *rest = self.function.domain
        if two_d:
            xs, ys, costs = self.function.grid(201)
            # Square-root colour scale: the interesting floor is a small part of the range.
            shade = np.sqrt(costs - costs.min())
            self.heatmap.setImage(shade, levels=(0.0, float(shade.max())))
            (ylo, yhi), = rest
            self.heatmap.setRect(xlo, ylo, xhi - xlo, yhi - ylo)
            levels = descent_contour_levels(shade, CONTOUR_LEVELS)
            for contour, level in zip(self.contours, levels):
                contour.setData(shade, level)
            self.plot.setAspectLocked(True)
            self.plot.setLabel("left", "y")
        else:
            xs, costs = self.function.grid(401)
            self.curve.setData(xs, costs)
            self.plot.setAspectLocked(False)
            (ylo, yhi) = (float(costs.min()), float(costs.max()))
            self.plot.setLabel("left", "cost f(x)")
        self.plot.setLabel("bottom", "x")
        self._home = (xlo, xhi, ylo, yhi)
        self.plot.setRange(xRange=(xlo, xhi), yRange=(ylo, yhi), padding=0.05)

    def _point(self, p) -> tuple[float, float]:
        """Where a position is drawn: (x, f(x)) on the curve, (x, y) on the map."""
        if self.function.dim == 1:
            return float(p[0]), float(self.function.value(np.asarray(p)))
        return float(p[0]), float(p[1])

    def _refresh(self) -> None:
        points = np.array([self._point(ball.position) for ball in self.balls]).reshape(-1, 2)
        brushes = [pg.mkBrush(BALL_COLORS[i % len(BALL_COLORS)]) for i in range(len(self.balls))]
        self.ball_dots.setData(pos=points, brush=brushes)
        trails = [np.array([self._point(p) for p in ball.positions]) for ball in self.balls]
        for trail, item in zip(trails, self.trails):
            item.setData(trail)
        self._follow(trails)
        self._redraw_arrows()
        self._show_outcome()

    def _follow(self, trails) -> None:
        """Zoom out to keep a ball that leaves the drawn part in sight (how it flies off)."""
        if not trails:
            return
        everything = np.concatenate(trails)
        xlo, xhi, ylo, yhi = self._home
        low, high = everything.min(axis=0), everything.max(axis=0)
        if low[0] < xlo or high[0] > xhi or low[1] < ylo or high[1] > yhi:
            if self.function.dim == 1:  # the curve goes on beyond its domain
                xs = np.linspace(min(xlo, low[0]), max(xhi, high[0]), 801)
                self.curve.setData(xs, self.function.value(xs[:, None]))
            self.plot.setRange(xRange=(min(xlo, low[0]), max(xhi, high[0])),
                               yRange=(min(ylo, low[1]), max(yhi, high[1])), padding=0.05)

    def _redraw_arrows(self, *_) -> None:
        """Slope (dashed) and next step (arrow) of every ball still rolling."""
        slopes, steps = [], []
        view_box = self.plot.getViewBox()
        for ball, head in zip(self.balls, self.arrow_heads):
            moving = bool(not ball.stopped and np.linalg.norm(ball.next_step()) > 0)
            head.setVisible(moving)
            if not moving:
                continue
            here = np.array(self._point(ball.position))
            g = ball.gradient
            if self.function.dim == 1:
                half = 0.4  # tangent line: the slope at the ball
                slopes += [here - half * np.array([1.0, g[0]]), here + half * np.array([1.0, g[0]])]
            else:
                slopes += [here, here + 0.6 * g / np.linalg.norm(g)]  # uphill, fixed length
            there = np.array(self._point(ball.position + ball.next_step()))
            steps += [here, there]
            a, b = (view_box.mapViewToScene(QPointF(*p)) for p in (here, there))
            head.setPos(*there)
            head.setStyle(angle=math.degrees(math.atan2(b.y() - a.y(), b.x() - a.x())) + 180)
        for item, pairs in ((self.slopes, slopes), (self.step_lines, steps)):
            item.setData(np.array(pairs).reshape(-1, 2)) if pairs else item.setData([], [])

    def _show_outcome(self) -> None:
        outcomes = self.outcomes() or ["ready"]
        if len(set(outcomes)) == 1:
            word = outcomes[0]
            text = OUTCOME_WORDS[word]
        else:
            counts = {name: outcomes.count(name) for name in dict.fromkeys(outcomes)}
            text = ", ".join(f"{count} {name}" for name, count in counts.items())
            word = max(counts, key=lambda name: (name in OUTCOME_COLORS, counts[name]))
        color = OUTCOME_COLORS.get(word)
        self.outcome_label.setStyleSheet(f"color: {color};" if color else "")
        self.outcome_label.setText(text)
        if not self.balls:
            self.status_label.setText("")
            return
        ball = self.balls[0]
        step = ball.next_step()
        if self.function.dim == 1:
            parts = [f"x = {ball.position[0]:.4g}", f"cost {ball.costs[-1]:.4g}",
                     f"slope f\u2032(x) = {ball.gradient[0]:.3g}", f"next step {step[0]:+.3g}"]
        else:
            where = ", ".join(f"{v:.4g}" for v in ball.position)
            slope = ", ".join(f"{v:.3g}" for v in ball.gradient)
            parts = [f"(x, y) = ({where})", f"cost {ball.costs[-1]:.4g}", f"gradient ({slope})",
                     f"next step {np.linalg.norm(step):.3g} long"]
        text = " \u00b7 ".join([f"Step {ball.steps_taken}", *parts[: 4 if not ball.stopped else 3]])
        if len(self.balls) > 1:
            text = f"First ball: {text[0].lower()}{text[1:]}"
        self.status_label.setText(text)


def descent_contour_levels(values: np.ndarray, count: int) -> np.ndarray:
    """``count`` contour heights at evenly spaced quantiles, so lines spread over the map."""
    return np.quantile(values, (np.arange(count) + 0.5) / count)


def make_view(session) -> QWidget:
    """The registry's entry point: a new descent view (``session`` is not needed)."""
    return DescentView(session)
