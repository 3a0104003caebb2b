"""Small pieces every lesson view uses: its text labels, and the newest live snapshot.

Each lesson view opens with two lines of plain explanation and an italic
"Try this" hint, and ends with the measured result in words; they all wrap
to the dock's width. Views that plot a run live take the worker's newest
snapshot through a :class:`LatestValue`, so a slow repaint skips snapshots
instead of queueing them.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class WrappedLabel(QLabel):
    """A word-wrapped label of ignored width (long text must not widen the dock) that keeps
    the height of all its lines: a plain one asks for one line and a short dock cuts the rest."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()


def text_label(text: str = "", italic: bool = False, selectable: bool = False) -> QLabel:
    """A word-wrapped label that follows the dock's width instead of widening it."""
    label = WrappedLabel(text)
    if italic:
        label.setStyleSheet("font-style: italic;")
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def lesson_texts(explanation: str, hint: str) -> tuple[QLabel, QLabel]:
    """The explanation and the italic "Try this" hint at the top of a lesson view."""
    return text_label(explanation), text_label(hint, italic=True)


class LatestValue:
    """The newest value put by the worker thread, taken (once) by the GUI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = None

    def put(self, value) -> None:
        with self._lock:
            self._value = value

    def take(self):
        """The newest value since the last take, or None."""
        with self._lock:
            value, self._value = self._value, None
        return value


__all__ = ["LatestValue", "WrappedLabel", "lesson_texts", "text_label"]
