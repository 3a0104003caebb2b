"""Spin boxes that say so when a typed number is out of range, instead of dropping keys.

A plain Qt spin box with a maximum of 100 refuses the last key of "1000": the
field shows 100 and the user never learns that their number was not taken.
These spin boxes accept the whole number while it is typed, set the nearest
allowed value when editing ends, and emit :attr:`~_NotingMixin.clamped` with a
plain-words note for the form to show.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox


class _NotingMixin:
    """What both spin boxes share; ``name`` is the field's caption, used in the note."""

    def _setup(self, name: str) -> None:
        self.name = name
        self.last_clamp = 0.0  # the value the last correction set

    def _typed_number(self, text: str) -> float | None:
        """The number in ``text`` (prefix, suffix and group separators removed), or None."""
        text = text.strip()
        if self.prefix() and text.startswith(self.prefix()):
            text = text[len(self.prefix()):]
        if self.suffix() and text.endswith(self.suffix()):
            text = text[: -len(self.suffix())]
        text = text.strip().replace(self.locale().groupSeparator(), "")
        number, ok = self.locale().toDouble(text)
        return number if ok and text else None

    def _out_of_range(self, text: str) -> float | None:
        number = self._typed_number(text)
        if number is None or self.minimum() <= number <= self.maximum():
            return None
        return number

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid and self._out_of_range(text) is not None:
            # Keep the key: the number is corrected, and explained, when editing ends.
            state = QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        number = self._out_of_range(text)
        if number is None:
            return super().fixup(text)
        bound = self.maximum() if number > self.maximum() else self.minimum()
        side = "more than the largest" if number > self.maximum() else "less than the smallest"
        self.last_clamp = bound
        self.clamped.emit(f"{self.name}: {number:g} is {side} value allowed, so it was set to {bound:g}.")
        return self.prefix() + self.textFromValue(bound) + self.suffix()


class NotingDoubleSpinBox(_NotingMixin, QDoubleSpinBox):
    """A QDoubleSpinBox that emits ``clamped(note)`` when it corrects a typed number to its range."""

    clamped = Signal(str)

    def __init__(self, name: str, parent=None) -> None:
        super().__init__(parent)
        self._setup(name)


class NotingSpinBox(_NotingMixin, QSpinBox):
    """A QSpinBox that emits ``clamped(note)`` when it corrects a typed number to its range."""

    clamped = Signal(str)

    def __init__(self, name: str, parent=None) -> None:
        super().__init__(parent)
        self._setup(name)
