"""Training on a worker QThread: a thin Qt adapter around :func:`digitlab.core.training.train`.

Two objects split the work across threads:

- :class:`TrainingWorker` lives on the worker thread. Its :meth:`~TrainingWorker.run`
  iterates the training generator and emits every record; it never touches a
  widget, and it is the only code that touches the network being trained.
- :class:`TrainingController` lives on the GUI thread. It owns the QThread and
  the :class:`~digitlab.core.training.TrainingControl`, and relays the worker's
  signals through ``@Slot`` methods to its own signals, so everything connected
  to the controller runs on the GUI thread (and tests can ``waitSignal`` on it).

Pause, step, stop, learning-rate and speed changes go through the thread-safe
``TrainingControl`` that the loop reads between mini-batches: a queued slot on
the worker would never run while its loop is busy.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer, Signal, Slot

from digitlab.core.network import Network
from digitlab.core.datasets import DataSplit
from digitlab.core.training import Progress, TrainingConfig, TrainingControl, train

#: Records that end a run; the worker emits them through ``finished``.
FINAL_KINDS = ("finished", "stopped", "diverged")

IDLE, RUNNING, PAUSED = "idle", "running", "paused"

#: GIL switch interval while a run trains, in seconds (Python's default: 0.005).
#: Every call from Qt into Python code (a slot, a paint override of a plot item)
#: must take the GIL back from the training thread, which holds it almost all
#: the time; each such hand-over can wait a whole switch interval. A painted
#: frame makes hundreds of them, so 5 ms intervals freeze the window for
#: seconds; 0.5 ms keeps it responsive at a small cost in training speed.
TRAINING_SWITCH_INTERVAL = 0.0005


class GuiPriority:
    """Lets the GUI thread ask the training thread to step aside for a moment.

    Python runs one thread at a time (the GIL). While the training thread
    computes, every stretch of Python in the GUI thread (a slot, each plot
    item's paint) has to win the GIL back, and the two threads take turns:
    a repaint that takes 8 ms alone takes 30-100 ms during training, and the
    window stutters. So before such work the GUI thread calls :meth:`claim`
    (and :meth:`release` once it is idle again); the training loop calls
    :meth:`step_aside` between mini-batches and sleeps, releasing the GIL,
    while a claim is active. Each pause is capped, and after one the loop
    trains for at least ``MIN_RUN`` seconds before it gives way again, so a
    busy window slows training down but never stops it.
    """

    #: The longest single pause of the training loop for the GUI, in seconds.
    #: Long enough to cover a whole repaint of the window: the window's
    #: smoothness comes first (measured with `digitlab bench --ui`: 0.03 s
    #: pauses with 0.01 s runs left 60-100 ms stalls, 0.1 s / 0.002 s 50-80 ms,
    #: at about half the training speed while the user draws).
    MAX_PAUSE = 0.1
    #: Training time guaranteed between two pauses, in seconds.
    MIN_RUN = 0.002

    def __init__(self) -> None:
        # perf_counter times; float stores are atomic under the GIL.
        self._until = 0.0
        self._resumed = 0.0

    def claim(self, seconds: float = MAX_PAUSE) -> None:
        """GUI thread: keep the training loop out of the way for up to ``seconds``."""
        self._until = max(self._until, time.perf_counter() + min(seconds, self.MAX_PAUSE))

    def release(self) -> None:
        """GUI thread: the work is done; training may go on at once."""
        self._until = 0.0

    def is_claimed(self) -> bool:
        """True while a claim is active."""
        return self._until > time.perf_counter()

    def step_aside(self) -> None:
        """Training thread: sleep while a claim is active (not again within MIN_RUN)."""
        now = time.perf_counter()
        remaining = self._until - now
        if remaining <= 0 or now - self._resumed < self.MIN_RUN:
            return
        deadline = now + remaining
        while now < deadline and self._until > now:
            time.sleep(min(0.002, deadline - now))  # wake early if released
            now = time.perf_counter()
        self._resumed = now


#: The one GuiPriority shared by the window's views and every training run.
GUI_PRIORITY = GuiPriority()


class GuiBusyFilter(QObject):
    """Claims :data:`GUI_PRIORITY` while watched widgets paint, releasing it once the GUI is idle.

    Install it on the widgets whose painting runs Python (pyqtgraph views'
    viewports, custom-painted widgets). A zero-interval timer releases the
    claim: it fires after the pending repaints have been done.
    """

    def __init__(self, parent: QObject | None = None, priority: GuiPriority = GUI_PRIORITY) -> None:
        super().__init__(parent)
        self._priority = priority
        self._idle_timer = QTimer(self)
        self._idle_timer.setSingleShot(True)
        self._idle_timer.setInterval(0)
        self._idle_timer.timeout.connect(self._on_idle)

    def watch(self, *widgets: QObject) -> None:
        for widget in widgets:
            widget.installEventFilter(self)

    def hold(self) -> None:
        """Claim priority until the event loop is idle again."""
        self._priority.claim()
        self._idle_timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint:
            self.hold()
        return False

    @Slot()
    def _on_idle(self) -> None:
        self._priority.release()


class _CourteousControl(TrainingControl):
    """A TrainingControl whose per-batch check also gives way to the GUI (see GuiPriority)."""

    def __init__(self, priority: GuiPriority) -> None:
        super().__init__()
        self._priority = priority

    def must_wait(self) -> bool:
        self._priority.step_aside()
        return super().must_wait()


class TrainingWorker(QObject):
    """Iterates :func:`~digitlab.core.training.train` on the thread it was moved to.

    Created without a parent (``moveToThread`` refuses objects that have one).

    Signals
    -------
    progress(object)
        Every non-final :class:`~digitlab.core.training.Progress` record
        ("batch" at most ``1/min_interval`` times a second, "epoch", "paused").
    finished(object)
        The final record ("finished", "stopped" or "diverged").
    failed(str)
        An unexpected exception ended the run; the text says what happened.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        network: Network,
        data: DataSplit,
        config: TrainingConfig,
        control: TrainingControl,
        min_interval: float = 1 / 30,
    ) -> None:
        super().__init__()
        self._network = network
        self._data = data
        self._config = config
        self._control = control
        self._min_interval = min_interval

    @Slot()
    def run(self) -> None:
        """Train until the generator ends; called on the worker thread."""
        last: Progress | None = None
        try:
            for record in train(self._network, self._data, self._config, self._control, self._min_interval):
                last = record
                if record.kind in FINAL_KINDS:
                    break
                self.progress.emit(record)
                # Closing the app interrupts the thread; the loop then yields "stopped".
                if QThread.currentThread().isInterruptionRequested():
                    self._control.stop()
        except Exception as err:  # noqa: BLE001 - any failure must reach the user, not kill the thread
            self._hand_back()
            self.failed.emit(f"Training failed: {type(err).__name__}: {err}")
            return
        self._hand_back()
        self.finished.emit(last)

    def _hand_back(self) -> None:
        # Give the worker back to the GUI thread before the run ends, so the
        # controller may delete it there once the thread has stopped.
        self.moveToThread(QCoreApplication.instance().thread())


class TrainingController(QObject):
    """Starts, steers and stops training runs from the GUI thread.

    Signals
    -------
    progress(object)
        Non-final progress records, delivered on the GUI thread.
    finished(object)
        The run's final record; the trained network is safe to use again.
    failed(str)
        The run ended with an error message.
    stateChanged(str)
        ``"idle"``, ``"running"`` or ``"paused"``.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    stateChanged = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: TrainingWorker | None = None
        self._worker_thread: QThread | None = None
        self._control: TrainingControl | None = None
        self._state = IDLE
        self._saved_switch_interval: float | None = None

    # ----------------------------------------------------------------- state
    def state(self) -> str:
        """``"idle"``, ``"running"`` or ``"paused"``."""
        return self._state

    def is_running(self) -> bool:
        """True from :meth:`start` until the final record arrived (paused counts as running)."""
        return self._state != IDLE

    def _set_state(self, state: str) -> None:
        if state == IDLE:
            self._restore_switch_interval()
        else:
            self._shorten_switch_interval()
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def _shorten_switch_interval(self) -> None:
        if self._saved_switch_interval is None:
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch_interval, TRAINING_SWITCH_INTERVAL))

    def _restore_switch_interval(self) -> None:
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None

    # -------------------------------------------------------------- commands
    def start(
        self,
        network: Network,
        data: DataSplit,
        config: TrainingConfig,
        paused: bool = False,
        min_interval: float = 1 / 30,
        batch_rate: float | None = None,
    ) -> None:
        """Train ``network`` in place on a new worker thread.

        Until :attr:`finished` (or :attr:`failed`) is emitted only the worker
        may touch ``network``. ``paused=True`` starts paused (for single steps);
        ``batch_rate`` limits the speed from the first batch on (see :meth:`set_batch_rate`).

        Raises
        ------
        RuntimeError
            If a run is already under way.
        ValueError
            If ``config`` is invalid (checked here, before any thread starts).
        """
        if self.is_running():
            raise RuntimeError("a training run is already under way")
        config.validate()
        self._join_thread()
        self._control = _CourteousControl(GUI_PRIORITY)
        if paused:
            self._control.pause()
        self._control.set_batch_rate(batch_rate)
        self._worker = TrainingWorker(network, data, config, self._control, min_interval)
        self._worker_thread = QThread()
        self._worker_thread.setObjectName("digitlab-training")
        self._worker.moveToThread(self._worker_thread)
        self._worker_thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._relay_progress)
        self._worker.finished.connect(self._relay_finished)
        self._worker.failed.connect(self._relay_failed)
        self._set_state(PAUSED if paused else RUNNING)
        self._worker_thread.start()

    def pause(self) -> None:
        """Pause before the next mini-batch."""
        if self._control is not None and self.is_running():
            self._control.pause()
            self._set_state(PAUSED)

    def resume(self) -> None:
        """Carry on after a pause or steps."""
        if self._control is not None and self.is_running():
            self._control.resume()
            self._set_state(RUNNING)

    def step(self, batches: int = 1) -> None:
        """Train ``batches`` more mini-batches, then stay paused."""
        if self._control is not None and self.is_running():
            self._control.step(batches)
            self._set_state(PAUSED)

    def stop(self) -> None:
        """Ask the run to stop before the next mini-batch (wakes a paused run).

        The run ends with a "stopped" record through :attr:`finished`.
        """
        if self._control is not None:
            self._control.stop()

    def set_learning_rate(self, learning_rate: float) -> None:
        """Use ``learning_rate`` from the next mini-batch on."""
        self.set_hyperparameters(learning_rate=learning_rate)

    def set_hyperparameters(self, **values: float) -> None:
        """Hand ``learning_rate``, ``momentum`` or ``weight_decay`` to the running loop."""
        if self._control is not None and self.is_running():
            self._control.set_hyperparameters(**values)

    def set_batch_rate(self, rate: float | None) -> None:
        """Train at most ``rate`` mini-batches a second from the next batch on (None: full speed)."""
        if self._control is not None and self.is_running():
            self._control.set_batch_rate(rate)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop any run and wait for its thread to end; safe to call repeatedly.

        Returns False if the thread did not end within ``timeout_ms``.
        """
        if self._control is not None:
            self._control.stop()
        stopped = self._join_thread(timeout_ms)
        self._set_state(IDLE)
        return stopped

    def _join_thread(self, timeout_ms: int = 10_000) -> bool:
        """requestInterruption -> quit -> wait, then forget the thread and worker."""
        worker_thread = self._worker_thread
        if worker_thread is None:
            return True
        worker_thread.requestInterruption()
        worker_thread.quit()
        if not worker_thread.wait(timeout_ms):
            return False
        self._worker_thread = None
        self._worker = None
        return True

    # ---------------------------------------------------- relays (GUI thread)
    def _from_current_worker(self) -> bool:
        # Records of a run that was shut down may still sit in the event queue.
        sender = self.sender()
        return sender is not None and sender is self._worker

    @Slot(object)
    def _relay_progress(self, record: Progress) -> None:
        if self._from_current_worker():
            self.progress.emit(record)

    @Slot(object)
    def _relay_finished(self, record: Progress) -> None:
        if not self._from_current_worker():
            return
        self._join_thread()
        self._control = None
        self._set_state(IDLE)
        self.finished.emit(record)

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        if not self._from_current_worker():
            return
        self._join_thread()
        self._control = None
        self._set_state(IDLE)
        self.failed.emit(message)
