"""Run a core lesson off the GUI thread, so the window stays responsive.

:class:`LessonRunner` lives in the GUI thread. Each :meth:`LessonRunner.start`
makes a worker QObject *without a parent* (``moveToThread`` refuses objects
with one) and a fresh ``QThread``; the worker calls the lesson's
``run(config, rng, progress, cancel)`` there. The worker never touches a
widget: its signals reach the runner's ``@Slot`` methods in the GUI thread
(queued), and the runner re-emits them as its own ``progress``, ``finished``
and ``failed`` signals, safe to connect to anything.

Cancelling sets a ``threading.Event`` that the lesson polls through
``cancel()``; a queued slot could not do it, because the worker's thread is
busy inside ``run`` and would only run the slot afterwards. Shutdown is
cancel -> quit -> wait: a QThread destroyed while running aborts the process.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

#: The GUI hears about progress at most this often (seconds between updates).
PROGRESS_INTERVAL = 1 / 30


def _cancelled_error() -> type[BaseException]:
    """The exception a core lesson raises when cancelled (imported late: core may still be growing)."""
    try:
        from digitlab.core.lessons.base import LessonCancelled
    except ImportError:  # pragma: no cover - only before core.lessons exists
        return KeyboardInterrupt
    return LessonCancelled


class _LessonWorker(QObject):
    """Calls the lesson on the worker thread; reports through signals only."""

    progressed = Signal(int, float, str)
    done = Signal(int, object)
    error = Signal(int, str)
    stopped = Signal(int)

    def __init__(self, run_fn: Callable, config: Any, seed: int, stop: threading.Event, generation: int) -> None:
        super().__init__()  # no parent: it moves to its own thread
        self._run_fn = run_fn
        self._config = config
        self._seed = int(seed)
        self._stop = stop
        self._generation = generation
        self._last_progress = 0.0

    def _progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL or fraction >= 1.0:
            self._last_progress = now
            self.progressed.emit(self._generation, float(fraction), str(message))

    @Slot()
    def run(self) -> None:
        rng = np.random.default_rng(self._seed)
        try:
            result = self._run_fn(self._config, rng, progress=self._progress, cancel=self._stop.is_set)
        except _cancelled_error():
            self.stopped.emit(self._generation)
            return
        except Exception as err:  # noqa: BLE001 - any lesson error is shown, not raised in a thread
            if self._stop.is_set():
                self.stopped.emit(self._generation)
            else:
                self.error.emit(self._generation, f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
            return
        if self._stop.is_set():
            self.stopped.emit(self._generation)
        else:
            self.done.emit(self._generation, result)


class LessonRunner(QObject):
    """Runs one lesson at a time on a worker thread.

    Signals
    -------
    progress(float, str)
        Fraction done in [0, 1] and a message; at most ~30 a second.
    finished(object)
        The lesson's result.
    failed(str)
        One line saying what went wrong.
    cancelled()
        The run stopped because :meth:`cancel` (or :meth:`shutdown`) was called.
    """

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker_thread: QThread | None = None  # never "thread": that would hide QObject.thread()
        self._worker: _LessonWorker | None = None
        self._stop = threading.Event()
        self._generation = 0  # results of a run that was shut down are ignored

    def is_running(self) -> bool:
        return self._worker_thread is not None

    def start(self, run_fn: Callable, config: Any, seed: int) -> None:
        """Run ``run_fn(config, numpy.random.default_rng(seed), progress, cancel)``.

        A run still under way is stopped first (and waited for).
        """
        self.shutdown()
        self._generation += 1
        self._stop = threading.Event()
        worker = _LessonWorker(run_fn, config, seed, self._stop, self._generation)
        worker_thread = QThread()
        worker.moveToThread(worker_thread)
        worker_thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.error.connect(self._on_error)
        worker.stopped.connect(self._on_stopped)
        self._worker, self._worker_thread = worker, worker_thread
        worker_thread.start()

    @Slot()
    def cancel(self) -> None:
        """Ask the running lesson to stop (it polls between steps); ``cancelled`` follows."""
        self._stop.set()

    def shutdown(self) -> None:
        """Cancel, quit and wait for the worker thread; safe to call twice or when idle."""
        worker_thread = self._worker_thread
        if worker_thread is None:
            return
        self._stop.set()
        worker_thread.requestInterruption()
        worker_thread.quit()  # the event loop ends as soon as run() returns
        worker_thread.wait()
        self._generation += 1  # queued signals of that run are ignored from now on
        self._release()
        self.cancelled.emit()

    def _release(self) -> None:
        self._worker_thread = None
        self._worker = None

    def _current(self, generation: int) -> bool:
        return generation == self._generation and self._worker_thread is not None

    def _finish_thread(self) -> None:
        worker_thread = self._worker_thread
        if worker_thread is not None:
            worker_thread.quit()
            worker_thread.wait()
        self._release()

    @Slot(int, float, str)
    def _on_progress(self, generation: int, fraction: float, message: str) -> None:
        if self._current(generation):
            self.progress.emit(fraction, message)

    @Slot(int, object)
    def _on_done(self, generation: int, result: object) -> None:
        if self._current(generation):
            self._finish_thread()
            self.finished.emit(result)

    @Slot(int, str)
    def _on_error(self, generation: int, message: str) -> None:
        if self._current(generation):
            self._finish_thread()
            self.failed.emit(message)

    @Slot(int)
    def _on_stopped(self, generation: int) -> None:
        if self._current(generation):
            self._finish_thread()
            self.cancelled.emit()
