"""The nudges lesson's view: what backprop wants to change for the digit on the canvas, and one step of it.

The maths is :mod:`digitlab.core.lessons.nudges`. The view follows the
session's current input (the drawn digit, an opened picture, or a digit
picked here from the bundled validation set) and a wanted label chosen with
the 0-9 buttons. It shows this example's cost, the wanted outputs beside the
actual ones (3Blue1Brown's nudges), each first-layer neuron's weight
gradient as a 28x28 image, and the gradient's length per weight layer.
"Take one step" applies one gradient step on this example to a *copy* of the
network (the session's network is never changed) and shows the outputs
before and after; Undo returns to the parameters before the last step.

Everything is computed on the GUI thread: one forward and one backward pass
of one image take well under a millisecond (measured 0.15 ms for the
shipped 784-16-16-10 network; a step and its redraw about 17 ms offscreen,
mostly drawing), so no worker thread is needed.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QEvent, QRect, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import nudges as lesson
from digitlab.ui import style
from digitlab.ui.session import ModelSession, output_labels

EXPLANATION = (
    "The nudges: the wanted outputs are 1 for your digit and 0 for the rest; each gap says which way an output "
    "should move.\nBackprop turns them into a gradient for every weight; one step against it (red: that weight "
    "up, blue: down) lowers this example's cost."
)
HINT = (
    "Try this: draw a digit, choose a wrong label and take steps until the network reads your digit as that "
    "label; then Undo. Each neuron's image is your drawing, scaled by how much that neuron should change."
)
#: Bar offsets: wanted, before the last step, now.
BAR_WIDTH = 0.27
WANTED_COLOR = "#868e96"
BEFORE_COLOR = "#74c0fc"
#: The rate spin box's range.
MIN_RATE, MAX_RATE = 0.001, 100.0


def make_view(session: ModelSession) -> "NudgesView":
    """The registry's entry point: a nudges view following ``session``."""
    return NudgesView(session)


@functools.lru_cache(maxsize=1)
def _validation():
    from digitlab.core.datasets import load_sample

    split = load_sample()
    return split.val_images, split.val_labels


class NudgesView(QWidget):
    """One example's cost, nudges and gradient, with one-step descent on a copy of the network and Undo.

    Signals
    -------
    refreshed()
        After every redraw (a new input, label, network, step or undo).
    """

    refreshed = Signal()

    def __init__(self, session: ModelSession, parent: QWidget | None = None,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self.setToolTip("What backpropagation wants to change for one example, and one step of it.")
        self._session = session
        # Picks validation digits; unseeded in the app, so each session shows others.
        self._rng = rng if rng is not None else np.random.default_rng()
        self._stepper = lesson.Stepper(session.network)
        self._cost_name = session.network.cost
        self._now: lesson.Nudges | None = None
        self._before: lesson.Nudges | None = None
        self._build()
        self._fill_labels()
        self.set_rate(lesson.default_learning_rate(session.network))
        session.inputChanged.connect(self.refresh)
        session.networkChanged.connect(self._on_network_changed)
        self.refresh()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._explanation = QLabel(EXPLANATION)
        self._hint = QLabel(HINT)
        self._hint.setStyleSheet("font-style: italic;")
        for label in (self._explanation, self._hint):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._label_row = QHBoxLayout()
        self._label_row.setSpacing(2)
        self._label_group = QButtonGroup(self)
        self._label_group.setExclusive(True)
        self._label_group.idClicked.connect(self._on_label_clicked)
        self._pick_button = QPushButton("Pick a digit from the data")
        self._pick_button.setToolTip("Show a random digit of the bundled validation set, with its true label chosen.")
        self._pick_button.clicked.connect(self.pick_digit)

        self._rate_box = QDoubleSpinBox()
        self._rate_box.setRange(MIN_RATE, MAX_RATE)
        self._rate_box.setDecimals(3)
        self._rate_box.setSingleStep(0.1)
        self._rate_box.setToolTip("The step's learning rate: each weight moves by rate x its gradient.\n"
                                  "The default is training's rate for this network's cost.")
        self._step_button = QPushButton("Take one step")
        self._step_button.setToolTip("One gradient-descent step on this example alone, on a copy of the network.")
        self._step_button.clicked.connect(self.take_step)
        self._undo_button = QPushButton("Undo")
        self._undo_button.setToolTip("Go back to the parameters before the last step.")
        self._undo_button.clicked.connect(self.undo)
        self._reset_button = QPushButton("Start over")
        self._reset_button.setToolTip("Forget all steps: back to the session's network.")
        self._reset_button.clicked.connect(self.start_over)
        self._steps_label = QLabel()

        self._cost_label = QLabel()
        self._cost_label.setTextFormat(Qt.TextFormat.RichText)
        self._outcome = QLabel()
        self._outcome.setWordWrap(True)
        self._outcome.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._outputs_plot = self._make_plot("output", "activation",
                                             "Grey: the wanted outputs. Light blue: before the last step. "
                                             "Orange: now.\nThe gap between grey and orange is the nudge.")
        self._outputs_plot.setYRange(0, 1.05, padding=0)
        self._wanted_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=WANTED_COLOR, pen=None)
        self._before_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=BEFORE_COLOR, pen=None)
        self._now_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=style.ACCENT, pen=None)
        for item in (self._wanted_bars, self._before_bars, self._now_bars):
            self._outputs_plot.addItem(item)

        self._norms_plot = self._make_plot("weight layer", "gradient length",
                                           "How much each layer's weights are asked to change: the length\n"
                                           "(Euclidean norm) of that layer's weight gradient, now.")
        self._norm_bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=style.REAL_COLOR, pen=None)
        self._norms_plot.addItem(self._norm_bars)

        self._gradient = pg.GraphicsLayoutWidget()
        self._gradient.setMinimumSize(220, 220)
        self._gradient.setToolTip(
            "Each first-layer neuron's weights' change as a 28x28 image, now: minus the gradient, the way a\n"
            "step moves them. Red: that pixel's weight should go up, blue: down, white: no change.\n"
            "Colours are symmetric around 0 and shared by all neurons, so faint images matter less."
        )
        self._gradient_box = self._gradient.addViewBox(lockAspect=True, enableMouse=False)
        self._gradient_box.invertY(True)
        self._gradient_image = pg.ImageItem()
        self._gradient_image.setLookupTable(style.diverging_lut())
        self._gradient_box.addItem(self._gradient_image)
        self._gradient_caption = QLabel()
        self._gradient_caption.setWordWrap(True)

        choose = QHBoxLayout()
        choose.addWidget(QLabel("It should be:"))
        choose.addLayout(self._label_row)
        choose.addSpacing(12)
        choose.addWidget(self._pick_button)
        choose.addStretch(1)
        steps = QHBoxLayout()
        steps.addWidget(QLabel("Rate:"))
        steps.addWidget(self._rate_box)
        for widget in (self._step_button, self._undo_button, self._reset_button, self._steps_label):
            steps.addWidget(widget)
        steps.addStretch(1)

        plots = QGridLayout()
        legend = (f"<b>Wanted and actual outputs: the nudges</b> &nbsp; <span style='color:{WANTED_COLOR}'>"
                  f"\u25a0</span> wanted &nbsp; <span style='color:{BEFORE_COLOR}'>\u25a0</span> before the last "
                  f"step &nbsp; <span style='color:{style.ACCENT}'>\u25a0</span> now")
        plots.addWidget(self._titled(legend, self._outputs_plot), 0, 0)
        plots.addWidget(self._titled("Gradient size per layer", self._norms_plot), 1, 0)
        gradient_column = QVBoxLayout()
        gradient_column.addWidget(QLabel("<b>First-layer weights: minus the gradient</b>, one image per neuron"))
        gradient_column.addWidget(self._gradient, 1)
        gradient_column.addWidget(self._gradient_caption)
        plots.addLayout(gradient_column, 0, 1, 2, 1)
        plots.setColumnStretch(0, 3)
        plots.setColumnStretch(1, 2)
        plots.setRowStretch(0, 3)
        plots.setRowStretch(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addLayout(choose)
        layout.addLayout(steps)
        layout.addWidget(self._cost_label)
        layout.addWidget(self._outcome)
        layout.addLayout(plots, 1)
        self._restyle()

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel(title if title.startswith("<") else f"<b>{title}</b>"))
        column.addWidget(widget, 1)
        return box

    @staticmethod
    def _make_plot(xlabel: str, ylabel: str, tooltip: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setMinimumSize(220, 110)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("bottom", xlabel)
        plot.setLabel("left", ylabel)
        plot.showGrid(y=True, alpha=0.2)
        plot.setToolTip(tooltip)
        return plot

    def _fill_labels(self) -> None:
        """One checkable button per output (0-9, and "none" for an 11th output)."""
        chosen = self._label_group.checkedId()
        for button in self._label_group.buttons():
            self._label_group.removeButton(button)
            self._label_row.removeWidget(button)
            button.deleteLater()
        names = output_labels(self._session.n_outputs)
        for index, name in enumerate(names):
            button = QPushButton(name)
            button.setCheckable(True)
            button.setToolTip(f"The example should be read as {name}: its wanted output is 1, the others 0.")
            width = button.fontMetrics().horizontalAdvance(name) + 18
            button.setFixedWidth(max(28, width))
            self._label_group.addButton(button, index)
            self._label_row.addWidget(button)
        keep = chosen if 0 <= chosen < len(names) else 0
        self._label_group.button(keep).setChecked(True)
        ticks = [[(i, name) for i, name in enumerate(names)]]
        self._outputs_plot.getAxis("bottom").setTicks(ticks)
        self._outputs_plot.setXRange(-0.6, len(names) - 0.4, padding=0)

    # ------------------------------------------------------------- public API
    @property
    def label(self) -> int:
        """The wanted label."""
        return max(0, self._label_group.checkedId())

    def set_label(self, label: int) -> None:
        """Choose the wanted label, as its button would."""
        button = self._label_group.button(int(label))
        if button is None:
            raise ValueError(f"no output {label!r}")
        button.setChecked(True)
        self.refresh()

    @property
    def rate(self) -> float:
        return float(self._rate_box.value())

    def set_rate(self, rate: float) -> None:
        self._rate_box.setValue(float(rate))

    @property
    def steps(self) -> int:
        """Steps taken on the copy and not undone."""
        return self._stepper.steps

    @property
    def network(self):
        """The stepped copy (the session's network when no step was taken; never changed in place)."""
        return self._stepper.network

    def nudges(self) -> lesson.Nudges | None:
        """The current input as the stepped copy sees it now, or None without an input."""
        return self._now

    def before_step(self) -> lesson.Nudges | None:
        """The current input as the network before the last step saw it, or None."""
        return self._before

    def shown_bars(self) -> dict[str, np.ndarray]:
        """The heights of the drawn bars: "wanted", "before", "now", "norms"."""
        items = {"wanted": self._wanted_bars, "before": self._before_bars, "now": self._now_bars,
                 "norms": self._norm_bars}
        return {name: np.asarray(item.opts["height"], dtype=float) for name, item in items.items()}

    def shown_gradient(self) -> np.ndarray | None:
        """The drawn mosaic: minus each first-layer neuron's weight gradient, tiled (see gradient_mosaic)."""
        return self._gradient_image.image

    def gradient_levels(self) -> tuple[float, float]:
        low, high = self._gradient_image.getLevels()
        return float(low), float(high)

    def cost_text(self) -> str:
        return self._cost_label.text()

    def outcome_text(self) -> str:
        return self._outcome.text()

    @Slot()
    def take_step(self) -> None:
        """One gradient step on the current input towards the label, on the copy."""
        x = self._session.current_input
        if x is None:
            return
        self._stepper.step(x, self.label, self.rate)
        self.refresh()

    @Slot()
    def undo(self) -> None:
        """Back to the parameters before the last step."""
        if self._stepper.undo():
            self.refresh()

    @Slot()
    def start_over(self) -> None:
        """Forget every step: back to the session's network."""
        self._stepper.reset(self._session.network)
        self.refresh()

    @Slot()
    def pick_digit(self) -> int:
        """Show a random validation digit (past the canvas) and choose its true label; return its index."""
        images, labels = _validation()
        index = int(self._rng.integers(len(images)))
        label = int(labels[index])
        if self._label_group.button(label) is not None:
            self._label_group.button(label).setChecked(True)
        # Not a canvas source: the window clears the canvas and keeps showing this image.
        self._session.set_input(images[index].astype(np.float32) / np.float32(255), "lesson")
        return index

    def shutdown(self) -> None:
        """Nothing runs in the background; present for the lesson area's contract."""

    # --------------------------------------------------------------- internals
    @Slot(int)
    def _on_label_clicked(self, _label: int) -> None:
        self.refresh()

    @Slot()
    def _on_network_changed(self) -> None:
        network = self._session.network
        if network.sizes[-1] != len(self._label_group.buttons()):
            self._fill_labels()
        if network.cost != self._cost_name:
            # The default rate depends on the cost (3.0 for MSE, 0.2 for cross-entropy).
            self._cost_name = network.cost
            self.set_rate(lesson.default_learning_rate(network))
        # Steps belong to the old weights: start from the new ones.
        self._stepper.reset(network)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Recompute and redraw for the current input, label and stepped network."""
        x = self._session.current_input
        self._undo_button.setEnabled(self._stepper.steps > 0)
        self._reset_button.setEnabled(self._stepper.steps > 0)
        self._step_button.setEnabled(x is not None)
        self._steps_label.setText(self._steps_text())
        if x is None:
            self._now = self._before = None
            self._cost_label.setText("Draw a digit on the canvas, or pick one from the data, to see its nudges.")
            self._outcome.setText("")
            self._clear_plots()
            self.refreshed.emit()
            return
        label = self.label
        self._now = lesson.analyse(self._stepper.network, x, label)
        previous = self._stepper.previous
        self._before = None if previous is None else lesson.analyse(previous, x, label)
        self._draw()
        self.refreshed.emit()

    def _steps_text(self) -> str:
        count = self._stepper.steps
        if count == 0:
            return "No steps taken (the network is the session's)."
        return f"{count} step{'s' if count != 1 else ''} taken, on a copy: the session's network is unchanged."

    def _clear_plots(self) -> None:
        for item in (self._wanted_bars, self._before_bars, self._now_bars, self._norm_bars):
            item.setOpts(x=[], height=[])
        self._gradient_image.clear()
        self._gradient_caption.setText("")

    def _draw(self) -> None:
        now, before, label = self._now, self._before, self.label
        x = np.arange(len(now.outputs), dtype=float)
        self._wanted_bars.setOpts(x=x - BAR_WIDTH, height=now.wanted)
        if before is None:
            self._before_bars.setOpts(x=[], height=[])
        else:
            self._before_bars.setOpts(x=x, height=before.outputs)
        self._now_bars.setOpts(x=x + BAR_WIDTH, height=now.outputs)

        name = output_labels(len(now.outputs))[label]
        text = (f"Cost of this example: <b>{now.cost:.4f}</b> &nbsp; output for {name}: "
                f"<b>{now.outputs[label]:.3f}</b> (wanted 1) &nbsp; read as: <b>{output_labels(len(now.outputs))[now.predicted]}</b>")
        if before is not None:
            text += f" &nbsp; (before the last step: cost {before.cost:.4f}, output {before.outputs[label]:.3f})"
        self._cost_label.setText(text)
        self._outcome.setText(lesson.step_outcome(before, now) if before is not None else
                              "The nudges: each output's gap to its wanted value. Take one step to act on them.")
        self._fit_wrapped_labels()

        norms = now.grad_norm_by_layer
        self._norm_bars.setOpts(x=np.arange(1, len(norms) + 1, dtype=float), height=norms)
        self._norms_plot.getAxis("bottom").setTicks([[(i + 1, str(i + 1)) for i in range(len(norms))]])
        self._norms_plot.setXRange(0.4, len(norms) + 0.6, padding=0)
        top = float(norms.max())
        self._norms_plot.setYRange(0, top * 1.1 if top > 0 else 1.0, padding=0)

        # Minus the gradient: the way a step moves each weight, so red means "this weight up".
        mosaic = lesson.gradient_mosaic(-now.first_layer_images())
        bound = max(float(np.max(np.abs(mosaic))), 1e-12)  # symmetric around 0: white is no change
        self._gradient_image.setImage(mosaic, levels=(-bound, bound))
        self._gradient_box.autoRange(padding=0.02)
        self._gradient_caption.setText(
            f"{len(now.grad_w[0])} neurons; the largest change asked of one weight is {bound:.3g} "
            f"(a step moves it by rate x that = {self.rate * bound:.3g}).")

    def _restyle(self) -> None:
        for plot in (self._outputs_plot, self._norms_plot):
            style.style_plot(plot, self.palette())
        self._gradient.setBackground(style.plot_background(self.palette()))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_wrapped_labels()

    def _fit_wrapped_labels(self) -> None:
        """Give each wrapped label the height its text needs at its width (an Ignored width asks for one line)."""
        # The labels span the view, less the layout's margins; their own width may not be laid out yet.
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        if width <= 0:
            return
        for label in (self._explanation, self._hint, self._outcome):
            # Measured from the font: QLabel.heightForWidth over-asks for text with line breaks.
            box = label.fontMetrics().boundingRect(QRect(0, 0, width, 0), Qt.TextFlag.TextWordWrap, label.text())
            label.setMinimumHeight(box.height() + 2)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


__all__ = ["EXPLANATION", "HINT", "NudgesView", "make_view"]
