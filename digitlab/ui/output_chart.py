"""The output neurons as a bar chart, with the network's answer in large type.

One bar per output: ten for the digits, or eleven when the network has a
"none of these" output (labelled "none").

What the bars show depends on the network's output layer:

* **Sigmoid outputs** (the video's network, squared error): each bar is one
  activation in [0, 1], not a probability, so the headline says "output 0.93".
  The Raw/Softmax toggle is disabled (its tooltip says why).
* **Softmax outputs** (cross-entropy): the toggle switches between the
  probabilities (the default; "93% confident") and the output layer's weighted
  sums ``z`` (the "logits", supplied by the caller) on an axis symmetric about 0.

The best guess is always the largest output (the same neuron in either view).
It is announced as the answer only when it reaches the confidence threshold
(a dashed line, set by the spin box under the chart; for softmax networks it
applies to the probability). Below it, or when every output is near 0, the
headline says "I don't know" and no bar is highlighted.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.ui import style
from digitlab.ui.output_headline import (
    ANSWER, EMPTY, EMPTY_TEXT, NONE_TEXT, UNSURE, UNSURE_TEXT, OutputHeadline, confidence_text,
)
from digitlab.ui.session import output_labels

OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")
#: The toggle's two views.
RAW, SOFTMAX = "raw", "softmax"
__all__ = ["EMPTY_TEXT", "NONE_TEXT", "UNSURE_TEXT", "OutputChart", "confidence_text"]
DEFAULT_THRESHOLD = 0.5
#: Below this the top output is "near 0" whatever the threshold: even at
#: threshold 0 an all-zero (untrained-looking) output names no winner.
NEAR_ZERO = 0.01

_SIGMOID_TOGGLE_TIP = (
    "This network's outputs are independent sigmoid neurons trained with the squared error,\n"
    "as in the video. Softmax is not part of this model, so the bars show the raw output activations.\n"
    "Train with the cross-entropy cost to get softmax probabilities."
)
_NO_LOGITS_TIP = "The output layer's weighted sums were not supplied, so only the probabilities can be shown."
_THRESHOLD_TIP = (
    "The confidence threshold (the dashed line): when the largest output is below it, the chart\n"
    "says \"I don't know\" instead of naming a winner. For softmax networks it applies to the probability."
)
_RAW_TIP = "Show the output layer's weighted sums z (logits), before the softmax turns them into probabilities."
_SOFTMAX_TIP = "Show the softmax probabilities: the network's actual outputs, which sum to 1."


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, ... >= value: a logit axis that does not twitch."""
    value = max(float(value), 1.0)
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)


def _as_vector(values, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return array


class OutputChart(QWidget):
    """Bars for the output activations, the winner highlighted and named.

    Signals
    -------
    modeChanged(str)
        The user switched between ``"raw"`` and ``"softmax"`` views.
    thresholdChanged(float)
        The confidence threshold changed (spin box or :meth:`set_threshold`).
    """

    modeChanged = Signal(str)
    thresholdChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self._values: np.ndarray | None = None
        self._logits: np.ndarray | None = None
        self._activation = "sigmoid"
        self._preferred_mode = SOFTMAX  # what a softmax model shows until the user picks
        self._shown = np.zeros(10)
        self._winner: int | None = None  # the largest output (best guess)
        self._answer: int | None = None  # the announced winner: confident enough
        self._texts: list[pg.TextItem] = []
        self._text_cache: list[str] = []
        self._y_range: tuple[float, float] | None = None
        self._axis_label: str | None = None
        self._build()
        self._restyle()
        self._refresh()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._plot = pg.PlotWidget()
        self._plot.setMinimumSize(220, 160)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._plot.showGrid(x=False, y=True, alpha=0.15)
        self._plot.getAxis("bottom").setStyle(tickLength=0)  # digits label the bars; no tick marks
        self._plot.setToolTip("The output neurons, one per digit (and \"none\" if the network has it).\n"
                              "The highlighted one is the network's answer (if it is sure enough).")
        self._bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, pen=pg.mkPen(None))
        self._plot.addItem(self._bars)
        self._zero_line = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self._plot.addItem(self._zero_line)
        self._threshold_line = pg.InfiniteLine(pos=DEFAULT_THRESHOLD, angle=0, movable=False)
        self._threshold_line.setToolTip("Below this line the network's answer is \"I don't know\".")
        self._plot.addItem(self._threshold_line)
        self._threshold_box = QDoubleSpinBox(
            minimum=0.0, maximum=1.0, decimals=2, singleStep=0.05, value=DEFAULT_THRESHOLD, toolTip=_THRESHOLD_TIP
        )
        self._threshold_box.valueChanged.connect(self._on_threshold_changed)
        threshold_label = QLabel("Say \"I don't know\" below", toolTip=_THRESHOLD_TIP)

        self._headline = OutputHeadline()

        self._raw_button = QPushButton("Raw outputs")
        self._softmax_button = QPushButton("Softmax probabilities")
        self._mode_group = QButtonGroup(self)
        self._mode_group.setExclusive(True)
        for button in (self._raw_button, self._softmax_button):
            button.setCheckable(True)
            self._mode_group.addButton(button)
        self._raw_button.toggled.connect(self._on_mode_toggled)

        # The answer on a row of its own, so no text is ever squeezed (the
        # Output panel is a third of a 1366-pixel window); the view toggle below it.
        toggle = QHBoxLayout()
        toggle.setSpacing(0)
        toggle.addStretch(1)
        toggle.addWidget(self._raw_button)
        toggle.addWidget(self._softmax_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._headline)
        layout.addLayout(toggle)
        layout.addWidget(self._plot, 1)
        threshold_row = QHBoxLayout()
        threshold_row.addStretch(1)
        threshold_row.addWidget(threshold_label)
        threshold_row.addWidget(self._threshold_box)
        layout.addLayout(threshold_row)
        self._set_bar_count(10)

    def _set_bar_count(self, count: int) -> None:
        """Make one value label per bar; only when the number of outputs changes."""
        if count == len(self._texts):
            return
        for text in self._texts:
            self._plot.removeItem(text)
        self._texts = [pg.TextItem("", anchor=(0.5, 1.0)) for _ in range(count)]
        self._text_cache = [""] * count
        self._text_below = [False] * count
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.85)
        for text in self._texts:
            text.setFont(small)
            self._plot.addItem(text)
        self._labels = output_labels(count)
        self._plot.getAxis("bottom").setTicks([list(enumerate(self._labels))])
        self._plot.setXRange(-0.6, count - 0.4, padding=0)
        self._shown = np.zeros(count)
        self._restyle_texts()

    # ------------------------------------------------------------- public API
    def set_outputs(
        self,
        values: np.ndarray | None,
        output_activation: str = "sigmoid",
        logits: np.ndarray | None = None,
    ) -> None:
        """Show a forward pass's output layer, or the empty state for ``None``.

        Parameters
        ----------
        values : ndarray or None
            The output activations (sigmoid values, or softmax probabilities).
        output_activation : {"sigmoid", "softmax"}
            The network's output layer (``Network.output_activation``).
        logits : ndarray, optional
            The output layer's weighted sums ``z``; enables the raw view of
            softmax networks. Ignored for sigmoid networks.
        """
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}"
            )
        self._activation = output_activation
        if values is None:
            self._values = self._logits = None
        else:
            self._values = _as_vector(values, "output values")
            self._logits = None
            if logits is not None and output_activation == "softmax":
                self._logits = _as_vector(logits, "logits")
                if self._logits.shape != self._values.shape:
                    raise ValueError(
                        f"logits have shape {self._logits.shape} but values have {self._values.shape}"
                    )
            self._set_bar_count(self._values.size)
        self._refresh()

    def set_output_count(self, count: int) -> None:
        """Show ``count`` empty bars (a network with that many outputs, no input yet)."""
        if count != len(self._texts):
            self._values = self._logits = None
            self._set_bar_count(count)
            self._refresh()

    def output_count(self) -> int:
        return len(self._texts)

    def bar_labels(self) -> list[str]:
        """The labels under the bars, in order."""
        return list(self._labels)

    def follow(self, session) -> None:
        """Show ``session``'s prediction of its current input from now on."""
        self._session = session
        session.networkChanged.connect(self._on_session_changed)
        session.inputChanged.connect(self._on_session_changed)
        self._on_session_changed()

    @Slot()
    def _on_session_changed(self) -> None:
        network = self._session.network
        prediction = self._session.prediction()
        if prediction is None:
            self.set_output_count(network.sizes[-1])
            self.set_outputs(None, network.output_activation)
        else:
            self.set_outputs(prediction.outputs, network.output_activation, logits=prediction.logits)

    def mode(self) -> str:
        """The view in use: ``"raw"`` or ``"softmax"``."""
        return SOFTMAX if self._softmax_button.isChecked() else RAW

    def set_mode(self, mode: str) -> None:
        """Prefer the raw or the softmax view (applies whenever the network allows it)."""
        if mode not in (RAW, SOFTMAX):
            raise ValueError(f"mode must be {RAW!r} or {SOFTMAX!r}, got {mode!r}")
        self._preferred_mode = mode
        self._refresh()

    def toggle_enabled(self) -> bool:
        """Whether the Raw/Softmax toggle can be used for the current outputs."""
        return self._softmax_button.isEnabled()

    def winner(self) -> int | None:
        """Index of the largest output (the best guess, sure or not), or None when empty."""
        return self._winner

    def answer(self) -> int | None:
        """Index of the announced, highlighted winner; None when empty or below the threshold."""
        return self._answer

    def threshold(self) -> float:
        """The confidence threshold below which the chart says "I don't know"."""
        return float(self._threshold_box.value())

    def set_threshold(self, value: float) -> None:
        """Set the confidence threshold (0 to 1); moves the line and the spin box."""
        self._threshold_box.setValue(float(value))  # valueChanged refreshes

    def threshold_line_position(self) -> float | None:
        """Height of the dashed threshold line, or None while it is hidden (logit view)."""
        return float(self._threshold_line.value()) if self._threshold_line.isVisible() else None

    def displayed_values(self) -> np.ndarray:
        """The bar heights currently shown."""
        return self._shown.copy()

    def y_range(self) -> tuple[float, float] | None:
        """The value range of the y axis (without the head-room for value labels)."""
        return self._y_range

    def headline(self) -> tuple[str, str]:
        """The large answer text and the line beside it."""
        return self._headline.text()

    def bar_brushes(self) -> list[QColor]:
        """Each bar's fill colour (the winner's is :data:`style.ACCENT`)."""
        return [pg.mkBrush(b).color() for b in self._bars.opts["brushes"]]

    # ---------------------------------------------------------------- update
    @Slot(float)
    def _on_threshold_changed(self, value: float) -> None:
        self._refresh()
        self.thresholdChanged.emit(float(value))

    @Slot(bool)
    def _on_mode_toggled(self, raw_checked: bool) -> None:
        if not self._softmax_button.isEnabled():
            return  # programmatic change while the toggle is locked
        self._preferred_mode = RAW if raw_checked else SOFTMAX
        self._refresh()
        self.modeChanged.emit(self._preferred_mode)

    def _effective_mode(self) -> str:
        if self._activation == "sigmoid":
            return RAW  # the sigmoid activations themselves
        if self._logits is None:
            return SOFTMAX
        return self._preferred_mode

    def _sync_toggle(self, mode: str) -> None:
        usable = self._activation == "softmax" and self._logits is not None
        for button in (self._raw_button, self._softmax_button):
            button.blockSignals(True)
        self._raw_button.setEnabled(usable)
        self._softmax_button.setEnabled(usable)
        self._raw_button.setChecked(mode == RAW)
        self._softmax_button.setChecked(mode == SOFTMAX)
        for button in (self._raw_button, self._softmax_button):
            button.blockSignals(False)
        if self._activation == "sigmoid":
            tips = (_SIGMOID_TOGGLE_TIP, _SIGMOID_TOGGLE_TIP)
        elif not usable:
            tips = (_NO_LOGITS_TIP, _NO_LOGITS_TIP)
        else:
            tips = (_RAW_TIP, _SOFTMAX_TIP)
        self._raw_button.setToolTip(tips[0])
        self._softmax_button.setToolTip(tips[1])

    def _refresh(self) -> None:
        mode = self._effective_mode()
        self._sync_toggle(mode)
        showing_logits = mode == RAW and self._activation == "softmax"
        count = len(self._texts)
        self._answer = None
        if self._values is None:
            shown, self._winner = np.zeros(count), None
        else:
            shown = self._logits if showing_logits else self._values
            self._winner = int(np.argmax(self._values))
            top = float(self._values[self._winner])
            tied = np.count_nonzero(self._values == top) > 1  # a uniform softmax names no one
            if top >= max(self.threshold(), NEAR_ZERO) and not tied:
                self._answer = self._winner
        self._shown = np.array(shown, dtype=np.float64)
        self._update_axis(showing_logits, mode)
        self._update_bars()
        self._update_texts(showing_logits)
        self._update_headline()

    def _update_axis(self, showing_logits: bool, mode: str) -> None:
        if showing_logits:
            limit = _nice_ceiling(np.max(np.abs(self._shown)))
            y_range = (-limit, limit)
            label = "weighted sum z (logit)"
        else:
            y_range = (0.0, 1.0)
            label = "probability" if mode == SOFTMAX else "activation"
        if y_range != self._y_range:
            self._y_range = y_range
            low, high = y_range
            headroom = 0.14 * (high - low)  # space for the value labels above the bars
            # Below 0 a little margin lets the axis show its 0 tick.
            footroom = headroom if showing_logits else 0.03 * (high - low)
            self._plot.setYRange(low - footroom, high + headroom, padding=0)
            # Unit-range views get fixed ticks, so no "1.1" above the possible maximum.
            self._plot.getAxis("left").setTicks(
                None
                if showing_logits
                else [[(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)], []]
            )
        if self._axis_label != label:
            self._axis_label = label
            self._plot.setLabel("left", label)
        self._zero_line.setVisible(showing_logits)
        # The threshold is on the activation/probability scale, not the logits'.
        self._threshold_line.setVisible(not showing_logits)
        self._threshold_line.setValue(self.threshold())

    def _update_bars(self) -> None:
        muted = style.muted_color(self.palette())
        accent = QColor(style.ACCENT)
        brushes = [accent if i == self._answer else muted for i in range(len(self._shown))]
        self._bars.setOpts(
            x=np.arange(len(self._shown)), height=self._shown, width=0.7, brushes=brushes
        )

    def _update_texts(self, showing_logits: bool) -> None:
        low, high = self._y_range
        pad = 0.02 * (high - low)
        for i, (item, value) in enumerate(zip(self._texts, self._shown)):
            if self._values is None:
                label = ""
            elif showing_logits:
                label = f"{value:+.1f}"
            else:
                label = f"{value:.2f}"
            if label != self._text_cache[i]:
                item.setText(label)
                self._text_cache[i] = label
            below = bool(value < 0)
            if below != self._text_below[i]:
                # Negative bars hang down: their label goes below them.
                item.setAnchor((0.5, 0.0) if below else (0.5, 1.0))
                self._text_below[i] = below
            item.setPos(i, value - pad if below else value + pad)

    def _update_headline(self) -> None:
        if self._winner is None:
            self._headline.show_text(EMPTY, EMPTY_TEXT, "")
            return
        top = float(self._values[self._winner])
        confidence = confidence_text(top, self._activation)
        if self._answer is None:
            self._headline.show_text(UNSURE, UNSURE_TEXT, f"(best guess: {self._labels[self._winner]}, {confidence})")
            return
        is_none = self._winner == 10  # the 11th output: "none of these"
        self._headline.show_text(ANSWER, NONE_TEXT if is_none else self._labels[self._winner], confidence)

    # ----------------------------------------------------------------- theme
    def _restyle_texts(self) -> None:
        color = style.text_color(self.palette())
        for item in self._texts:
            item.setColor(color)

    def _restyle(self) -> None:
        style.style_plot(self._plot, self.palette())
        self._zero_line.setPen(pg.mkPen(style.text_color(self.palette()), width=1))
        self._threshold_line.setPen(
            pg.mkPen(style.muted_color(self.palette(), 0.8), width=1, style=Qt.PenStyle.DashLine)
        )
        self._headline.restyle()
        self._restyle_texts()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
            self._update_bars()
        super().changeEvent(event)
