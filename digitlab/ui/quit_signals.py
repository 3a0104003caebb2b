"""Ctrl+C, SIGTERM and SIGHUP end the window the way closing it does: cleanly, asking nothing.

Python runs a signal handler only when the interpreter gets control, and
inside Qt's event loop it may not get control for a long time (Ctrl+C used to
print a KeyboardInterrupt traceback from some slot and carry on). So the C
level handler is told, with :func:`signal.set_wakeup_fd`, to write the signal
number into a socket pair; a :class:`QSocketNotifier` on the other end wakes
the event loop at once, and its slot asks the application to leave.

The Python handler itself does nothing; it is installed only so that the
signal no longer kills the process (SIGTERM, SIGHUP) or raises
KeyboardInterrupt (SIGINT), also while the window shuts down.
"""

from __future__ import annotations

import signal
import socket
import threading
from typing import Callable

from PySide6.QtCore import QObject, QSocketNotifier, Slot

__all__ = ["QUIT_SIGNALS", "QuitOnSignals"]

#: The signals handled as "close the window", where the platform has them.
QUIT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _ignore(signum, frame) -> None:
    """The Python-level handler: the wake-up socket carries the news instead."""


class QuitOnSignals(QObject):
    """While installed, each of :data:`QUIT_SIGNALS` calls ``on_signal(signum)`` from the event loop.

    Use ``install()`` before ``app.exec()`` and ``uninstall()`` once the
    shutdown work after it is done (a second Ctrl+C during the shutdown is
    then still harmless).
    """

    def __init__(self, on_signal: Callable[[int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        self._previous_handlers: dict[int, object] = {}
        self._previous_fd = -1
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._notifier: QSocketNotifier | None = None

    def install(self) -> bool:
        """Take over the signals; False (and nothing changed) off the main thread."""
        if threading.current_thread() is not threading.main_thread() or self._reader is not None:
            return False
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)  # set_wakeup_fd needs a non-blocking writer
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_wake_up)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in QUIT_SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, _ignore)
        return True

    def uninstall(self) -> None:
        """Give the signals back to whoever had them; safe to call twice."""
        if self._reader is None:
            return
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._notifier.deleteLater()
        self._notifier = None
        self._reader.close()
        self._writer.close()
        self._reader = self._writer = None

    @Slot()
    def _on_wake_up(self) -> None:
        try:
            data = self._reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            if signum in QUIT_SIGNALS:
                self._on_signal(signum)
                return  # one request to leave is enough
