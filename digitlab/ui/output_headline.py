"""The output chart's headline: the network's answer in large type and its confidence in words.

:func:`confidence_text` is the one wording of "how sure" for the whole
window (the chart, the status bar after a noise feed): a softmax output is a
probability ("96% confident"), a sigmoid output is not ("output 0.96").
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from digitlab.ui import style

EMPTY_TEXT = "draw a digit"
UNSURE_TEXT = "I don't know"
NONE_TEXT = "none of these"
#: The headline's looks: nothing to show, an answer, or "I don't know".
EMPTY, ANSWER, UNSURE = "empty", "answer", "unsure"


def confidence_text(value: float, output_activation: str) -> str:
    """How sure an output is, in the window's one wording.

    A softmax output is a probability: "96% confident". A sigmoid output is
    an activation in [0, 1], not a probability: "output 0.96".
    """
    if output_activation == "softmax":
        return f"{value:.0%} confident"
    return f"output {value:.2f}"


class OutputHeadline(QWidget):
    """The answer ("7", "I don't know", "draw a digit") and a line beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._look: str | None = None
        self._is_digit = False
        self._big_font = QFont(self.font())
        self._big_font.setPointSizeF(self.font().pointSizeF() * 3.5)
        self._big_font.setBold(True)
        # Words ("none of these", "I don't know") are larger than the text, smaller than a digit.
        self._word_font = QFont(self.font())
        self._word_font.setPointSizeF(self.font().pointSizeF() * 1.4)

        self.digit_label = QLabel()
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # The headline never gets narrower than its widest text (minimumSizeHint),
        # so none is ever cut off; the label itself is as wide as the look in use.
        self._widest = self._widest_answer() + 8
        self.digit_label.setMinimumWidth(self._widest)
        self.digit_label.setMinimumHeight(QFontMetrics(self._big_font).height())
        self.digit_label.setToolTip("The network's answer: the output neuron with the largest value.")
        self.confidence_label = QLabel()
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # A fixed width: text changes at 60 updates/s must not re-run the layout.
        self.confidence_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("(best guess: none, 0.00)") + 8)
        self.confidence_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.confidence_label.setToolTip("For sigmoid outputs: the winning neuron's activation (not a "
                                         "probability).\nFor softmax outputs: the probability of the answer.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.digit_label)
        layout.addWidget(self.confidence_label, 1)

    def _widest_answer(self) -> int:
        big, words = QFontMetrics(self._big_font), QFontMetrics(self._word_font)
        digits = max(big.horizontalAdvance(str(d)) for d in range(10))
        return max(digits, *(words.horizontalAdvance(t) for t in (EMPTY_TEXT, UNSURE_TEXT, NONE_TEXT)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        hint = super().minimumSizeHint()
        return QSize(self._widest + self.confidence_label.minimumWidth() + 16, hint.height())

    def look(self) -> str | None:
        return self._look

    def show_text(self, look: str, answer: str, line: str) -> None:
        """Show ``answer`` and ``line`` in ``look`` (:data:`EMPTY`, :data:`ANSWER` or :data:`UNSURE`)."""
        is_digit = look == ANSWER and answer != NONE_TEXT
        if (look, is_digit) != (self._look, self._is_digit):
            # Fonts and colours change only between looks
            # (style sheets are too slow to set at every update).
            self._look, self._is_digit = look, is_digit
            font = self._big_font if is_digit else self._word_font
            self.digit_label.setFont(font)
            # A digit needs less room than the words: the confidence follows it closely.
            digit_width = max(QFontMetrics(font).horizontalAdvance(str(d)) for d in range(10)) + 12
            self.digit_label.setMinimumWidth(digit_width if is_digit else self._widest)
            self.restyle()
        self.digit_label.setText(answer)
        self.confidence_label.setText(line)

    def text(self) -> tuple[str, str]:
        return self.digit_label.text(), self.confidence_label.text()

    def restyle(self) -> None:
        palette = self.palette()
        color = {ANSWER: style.ACCENT, UNSURE: style.text_color(palette).name()}.get(
            self._look, style.muted_color(palette, 0.7).name())
        self.digit_label.setStyleSheet(f"color: {color};")
