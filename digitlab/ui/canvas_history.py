"""The canvas's strokes and its bounded undo/redo history.

Every edit of the drawing (a stroke, Clear, a loaded picture) records the
drawing as it was before, so Undo brings back exactly that, even a whole
drawing wiped by Clear, and Redo goes forward again. A state is a tuple of
finished strokes (never changed once finished) and the loaded picture, so
recording one copies references, not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QImage

#: Edits that Undo can take back; older ones are forgotten.
MAX_UNDO = 200


@dataclass
class Stroke:
    """One press-to-release gesture: points ``(x, y, width)`` in logical units."""

    erase: bool
    points: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class DrawingState:
    """The drawing at one moment: its finished strokes over an optional loaded picture."""

    strokes: tuple[Stroke, ...] = ()
    background: QImage | None = None

    def is_blank(self) -> bool:
        return not self.strokes and self.background is None


class DrawingHistory:
    """Undo and redo stacks of :class:`DrawingState`, at most ``limit`` edits deep."""

    def __init__(self, limit: int = MAX_UNDO) -> None:
        if limit < 1:
            raise ValueError(f"the undo limit must be at least 1, got {limit}")
        self._limit = limit
        self._undo: list[DrawingState] = []
        self._redo: list[DrawingState] = []

    def record(self, before: DrawingState) -> None:
        """An edit is about to change the drawing from ``before``; a new edit ends any redo."""
        self._undo.append(before)
        del self._undo[:-self._limit]
        self._redo.clear()

    def undo(self, current: DrawingState) -> DrawingState | None:
        """The state to go back to (``current`` becomes redoable), or None if there is none."""
        if not self._undo:
            return None
        self._redo.append(current)
        return self._undo.pop()

    def redo(self, current: DrawingState) -> DrawingState | None:
        """The state to go forward to (``current`` becomes undoable), or None if there is none."""
        if not self._redo:
            return None
        self._undo.append(current)
        return self._redo.pop()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def depth(self) -> int:
        """How many edits Undo can take back."""
        return len(self._undo)
