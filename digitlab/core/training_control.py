"""Thread-safe steering of a running training loop (:func:`digitlab.core.training.train`).

Pause, resume, single steps, stop, hyperparameter changes and the speed limit are
flags and values behind one condition variable: the loop reads them between
mini-batches, so any thread may set them at any time.
"""

from __future__ import annotations

import math
import threading


class TrainingControl:
    """Thread-safe steering of a running :func:`train` loop.

    Every method may be called from any thread; the loop reads the state between mini-batches
    (a queued Qt slot would never run while the loop is busy, hence flags and a condition).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop = False
        self._step_credits = 0
        self._pending: dict[str, float] = {}
        self._batch_interval = 0.0

    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._condition.notify_all()

    def step(self, batches: int = 1) -> None:
        """Train ``batches`` more mini-batches, then pause (pauses if running)."""
        with self._condition:
            self._paused = True
            self._step_credits += batches
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def set_hyperparameters(self, **values: float) -> None:
        """Hand new ``learning_rate``, ``momentum`` or ``weight_decay`` to the loop."""
        unknown = set(values) - {"learning_rate", "momentum", "weight_decay"}
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} during a run")
        with self._condition:
            self._pending.update(values)

    def set_batch_rate(self, rate: float | None) -> None:
        """Train at most ``rate`` mini-batches a second (None or 0: full speed); any thread, any time."""
        if rate is not None and not (rate >= 0 and math.isfinite(rate)):
            raise ValueError(f"batch rate must be a positive number or None, got {rate}")
        with self._condition:
            self._batch_interval = 1.0 / rate if rate else 0.0

    def batch_interval(self) -> float:
        """Seconds the loop keeps between the starts of two batches (0: no limit); loop side."""
        with self._condition:
            return self._batch_interval

    def take_hyperparameters(self) -> dict[str, float]:
        """The changes handed over since the last call (loop side)."""
        if not self._pending:  # unlocked peek: the common case costs nothing
            return {}
        with self._condition:
            pending, self._pending = self._pending, {}
        return pending

    def must_wait(self) -> bool:
        """True if the loop should pause before the next batch (loop side)."""
        if not self._paused:  # unlocked read of a bool: the common case costs nothing
            return False
        with self._condition:
            if self._stop or not self._paused:
                return False
            if self._step_credits > 0:
                self._step_credits -= 1
                return False
            return True

    def wait_while_paused(self) -> None:
        """Block until resumed, stepped or stopped (loop side)."""
        with self._condition:
            while self._paused and not self._stop and self._step_credits == 0:
                self._condition.wait()
            if self._step_credits > 0 and self._paused:
                self._step_credits -= 1
