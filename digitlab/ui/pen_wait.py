"""Updates that keep out of the way of the pen: throttled, and held while a stroke is drawn.

While a network trains, its progress arrives about 30 times a second. Redrawing
the learning curves or the pictures of the weights on every record would take
the GUI thread's time from the user's stroke, which must feel instant. So a
:class:`ThrottledUpdate`

- runs its update at most once every ``interval_ms``, always with the latest
  data (requests in between are merged into one);
- while ``defer_while()`` is true (the window sets it to "a stroke is being
  drawn"), holds a due update back, checking again every
  :data:`CHECK_MS`, and runs it as soon as :meth:`pen_lifted` is called
  (the canvas's ``strokeEnded``), but never holds it longer than
  :data:`MAX_WAIT_MS`, so a stroke that never ends still sees progress;
- never runs within :data:`SPACING_MS` of another throttled update (the
  curves and the network views): each costs a frame's worth of drawing, and
  two in one frame are felt as one long pause.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Slot

__all__ = ["CHECK_MS", "MAX_WAIT_MS", "SPACING_MS", "ThrottledUpdate"]

#: How often a held update looks again whether the pen has lifted.
CHECK_MS = 50
#: The longest an update is held for the pen, counted from the previous update.
#: Longer than one stroke takes (a digit's stroke lasts about 0.3-1 s), so the
#: update lands between strokes rather than in one.
MAX_WAIT_MS = 1500
#: Least time between two throttled updates, whichever they are: a frame and a bit.
SPACING_MS = 25

# When any throttled update last ran (shared: they all draw in the same window).
_last_update = QElapsedTimer()


class ThrottledUpdate(QObject):
    """Calls ``update()`` at most every ``interval_ms``, the pen permitting.

    Parameters
    ----------
    interval_ms : int
        Least time between two updates (an attribute: tests may change it).
    update : callable
        Does the work; takes no arguments.
    parent : QObject, optional
    """

    def __init__(self, interval_ms: int, update: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.max_wait_ms = MAX_WAIT_MS
        #: Returns True while a due update should wait (set by the window: the pen is down).
        self.defer_while: Callable[[], bool] | None = None
        self._update = update
        self._since = QElapsedTimer()  # since the last update
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._due)

    def request(self) -> None:
        """Run the update soon: now if the last one is long enough ago, else when it is due."""
        if self._timer.isActive():
            return  # one is already waiting: it will show the latest data
        elapsed = self._elapsed()
        if elapsed >= self.interval_ms:
            self._due()
        else:
            self._timer.start(self.interval_ms - elapsed)

    def now(self) -> None:
        """Run the update at once (whatever is waiting is done by it)."""
        self._timer.stop()
        self._since.start()
        _last_update.start()
        self._update()

    def cancel(self) -> None:
        """Forget a waiting update."""
        self._timer.stop()

    def pending(self) -> bool:
        """True while an update waits for its turn or for the pen."""
        return self._timer.isActive()

    @Slot()
    def pen_lifted(self) -> None:
        """The stroke is over: an update held for it runs next, from the event loop.

        Not in the caller's stack: the stroke's own last work (the prediction
        and its paint) comes first, and the two are not felt as one pause.
        """
        if self._timer.isActive() and self._elapsed() >= self.interval_ms:
            self._timer.start(0)

    @Slot()
    def _due(self) -> None:
        held = self.defer_while is not None and self.defer_while()
        if held and self._elapsed() < self.max_wait_ms:
            self._timer.start(CHECK_MS)
            return
        spacing = SPACING_MS - _last_update.elapsed() if _last_update.isValid() else 0
        if spacing > 0:  # another update has just drawn: this one goes in a later frame
            self._timer.start(spacing)
            return
        self.now()

    def _elapsed(self) -> int:
        # Before the first update nothing has been shown: any request is due.
        return self._since.elapsed() if self._since.isValid() else max(self.interval_ms, self.max_wait_ms)
