"""Training in a child process, driven from a worker QThread: the Qt side of a run.

The run itself trains in a child process (:mod:`digitlab.core.training_process`):
Python's GIL would make a training thread in the window's process stall the
window and run at a third of its speed. Two objects here split the Qt work:

- :class:`TrainingWorker` lives on the worker thread. Its :meth:`~TrainingWorker.run`
  starts the child, waits for its messages, rebuilds each progress record with
  the weights from shared memory (read-only copies, the same
  :class:`~digitlab.core.training.Progress` as ever) and emits it. It never
  touches a widget. When the run ends it copies the last weights into the
  network it was given, and it ends the child however the run ends.
- :class:`TrainingController` lives on the GUI thread. It owns the QThread,
  sends pause, step, stop, learning-rate and speed changes to the child
  (which acts on them between mini-batches), and relays the worker's signals
  through ``@Slot`` methods to its own, so everything connected to the
  controller runs on the GUI thread (and tests can ``waitSignal`` on it).
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from digitlab.core.datasets import DataSplit
from digitlab.core.fileio import error_text
from digitlab.core.network import Network
from digitlab.core.training import Progress, TrainingConfig, TrainingControl
from digitlab.core.training_process import (
    BATCH_RATE, FAILED, FINAL_KINDS, HYPERPARAMETERS, LOAD_FAILED, PAUSE, READY, RECORD, RESUME, STEP, STOP,
    ChildGone, TrainingProcess,
)

IDLE, RUNNING, PAUSED = "idle", "running", "paused"

#: How often the worker looks up from waiting for the child (s): how soon it hears a shutdown.
POLL_SECONDS = 0.05

#: Said when the child died without a final record (killed, out of memory, crashed).
DIED_TEXT = ("Training stopped unexpectedly: {reason}. The model keeps the weights of its last update; "
             "you can start a new run.")


def _frozen(arrays) -> tuple[np.ndarray, ...]:
    copies = tuple(np.array(a) for a in arrays)
    for copy in copies:
        copy.flags.writeable = False
    return copies


class TrainingWorker(QObject):
    """Drives one :class:`~digitlab.core.training_process.TrainingProcess` from the thread it was moved to.

    Created without a parent (``moveToThread`` refuses objects that have one).

    Signals
    -------
    loaded(object)
        The child loaded the data: a :class:`~digitlab.core.training_process.RunInfo`.
    loadFailed(str)
        The child could not load the data; the text says why (one line).
    progress(object)
        Every non-final :class:`~digitlab.core.training.Progress` record, with weights
        ("batch" at most ``1/min_interval`` times a second, "epoch", "paused").
    finished(object)
        The final record ("finished", "stopped" or "diverged"); the network holds its weights.
    failed(str)
        The run ended with an error, or the child died; the network holds the last weights received.
    """

    loaded = Signal(object)
    loadFailed = Signal(str)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, process: TrainingProcess, network: Network) -> None:
        super().__init__()
        self._process = process
        self._network = network
        self._abandon = threading.Event()
        self._last: Progress | None = None  # the newest record with weights

    def abandon(self) -> None:
        """Any thread: end the run now (stop, terminate, kill the child) and emit nothing more."""
        self._abandon.set()

    @Slot()
    def run(self) -> None:
        """Start the child and relay its messages until the run ends; called on the worker thread."""
        try:
            self._process.start()
        except OSError as err:
            self._process.close()
            self._hand_back()
            self.failed.emit(f"Training could not start: {error_text(err)}")
            return
        try:
            ending = self._relay()
        except Exception as err:  # noqa: BLE001 - any failure must reach the user, not kill the thread
            ending = (self.failed, f"Training failed: {type(err).__name__}: {err}")
        self._process.finish()
        self._keep_last_weights()
        self._process.close()
        self._hand_back()
        if ending is not None:
            signal, value = ending
            signal.emit(value)

    def _relay(self):
        """Emit records until the run ends; returns (signal, value) to emit last, or None if abandoned."""
        while not (self._abandon.is_set() or QThread.currentThread().isInterruptionRequested()):
            try:
                message = self._process.receive(POLL_SECONDS)
            except ChildGone as gone:
                return self.failed, DIED_TEXT.format(reason=gone)
            if message is None:
                continue
            kind, payload = message
            if kind == RECORD:
                record = self._with_weights(payload)
                if record.kind in FINAL_KINDS:
                    return self.finished, record
                self.progress.emit(record)
            elif kind == READY:
                self.loaded.emit(payload)
            elif kind == LOAD_FAILED:
                return self.loadFailed, payload
            elif kind == FAILED:
                return self.failed, payload
        self._abandon_run()
        return None

    def _abandon_run(self) -> None:
        # Shutdown: the child gets a moment to stop by itself (a "stopped" record
        # then brings its last weights), then it is terminated or killed.
        for kind, payload in self._process.finish():
            if kind == RECORD:
                self._with_weights(payload)

    def _with_weights(self, record: Progress) -> Progress:
        full = self._process.with_weights(record)
        if full is None:  # lock unavailable (a writer killed mid-write): the previous weights
            before = self._last or self._network
            full = dataclasses.replace(record, weights=_frozen(before.weights), biases=_frozen(before.biases))
        self._last = full
        return full

    def _keep_last_weights(self) -> None:
        if self._last is not None:
            self._network.set_parameters(self._last.weights, self._last.biases)

    def _hand_back(self) -> None:
        # Give the worker back to the GUI thread before the run ends, so the
        # controller may delete it there once the thread has stopped.
        self.moveToThread(QCoreApplication.instance().thread())


class TrainingController(QObject):
    """Starts, steers and stops training runs from the GUI thread.

    Signals
    -------
    dataLoaded(object)
        The run's data is loaded (in the child): a :class:`~digitlab.core.training_process.RunInfo`
        with the digits it trains on and the samples it will see.
    loadFailed(str)
        The data could not be loaded; the run is over (no ``finished``/``failed``).
    progress(object)
        Non-final progress records, delivered on the GUI thread.
    finished(object)
        The run's final record; the trained network is safe to use again.
    failed(str)
        The run ended with an error message (also when the child died).
    stateChanged(str)
        ``"idle"``, ``"running"`` or ``"paused"``.
    """

    dataLoaded = Signal(object)
    loadFailed = Signal(str)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    stateChanged = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: TrainingWorker | None = None
        self._worker_thread: QThread | None = None
        self._process: TrainingProcess | None = None
        self._state = IDLE

    # ----------------------------------------------------------------- state
    def state(self) -> str:
        """``"idle"``, ``"running"`` or ``"paused"``."""
        return self._state

    def is_running(self) -> bool:
        """True from :meth:`start` until the final record arrived (paused counts as running)."""
        return self._state != IDLE

    def child_pid(self) -> int | None:
        """Process id of the current run's child (None before it started or when idle)."""
        return self._process.pid if self._process is not None else None

    def segment_name(self) -> str | None:
        """Name of the current run's shared-memory segment (None when idle)."""
        return self._process.segment_name if self._process is not None else None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # -------------------------------------------------------------- commands
    def start(
        self,
        network: Network,
        data: str | DataSplit,
        config: TrainingConfig,
        paused: bool = False,
        min_interval: float = 1 / 30,
        batch_rate: float | None = None,
    ) -> None:
        """Train from ``network``'s weights in a child process; the result comes back into ``network``.

        ``data`` is a data set's name ("sample", "mnist"; the child loads it) or
        the data itself. Until :attr:`finished` (or :attr:`failed`, :attr:`loadFailed`)
        is emitted only the worker may touch ``network``. ``paused=True`` starts
        paused (for single steps); ``batch_rate`` limits the speed from the first
        batch on (see :meth:`set_batch_rate`).

        Raises
        ------
        RuntimeError
            If a run is already under way.
        ValueError
            If ``config`` is invalid (checked here, before any process starts).
        OSError
            If no shared memory can be had for the weights.
        """
        if self.is_running():
            raise RuntimeError("a training run is already under way")
        config.validate()
        TrainingControl().set_batch_rate(batch_rate)  # refuses a bad rate here, not in the child
        self._join_thread()
        self._process = TrainingProcess(network, data, config, paused, batch_rate, min_interval)
        self._worker = TrainingWorker(self._process, network)
        self._worker_thread = QThread()
        self._worker_thread.setObjectName("digitlab-training")
        self._worker.moveToThread(self._worker_thread)
        self._worker_thread.started.connect(self._worker.run)
        self._worker.loaded.connect(self._relay_loaded)
        self._worker.loadFailed.connect(self._relay_load_failed)
        self._worker.progress.connect(self._relay_progress)
        self._worker.finished.connect(self._relay_finished)
        self._worker.failed.connect(self._relay_failed)
        self._set_state(PAUSED if paused else RUNNING)
        self._worker_thread.start()

    def _send(self, *command) -> bool:
        return self._process is not None and self.is_running() and self._process.send(*command)

    def pause(self) -> None:
        """Pause before the next mini-batch."""
        if self._send(PAUSE):
            self._set_state(PAUSED)

    def resume(self) -> None:
        """Carry on after a pause or steps."""
        if self._send(RESUME):
            self._set_state(RUNNING)

    def step(self, batches: int = 1) -> None:
        """Train ``batches`` more mini-batches, then stay paused."""
        if self._send(STEP, int(batches)):
            self._set_state(PAUSED)

    def stop(self) -> None:
        """Ask the run to stop before the next mini-batch (wakes a paused run).

        The run ends with a "stopped" record through :attr:`finished`.
        """
        self._send(STOP)

    def set_learning_rate(self, learning_rate: float) -> None:
        """Use ``learning_rate`` from the next mini-batch on."""
        self.set_hyperparameters(learning_rate=learning_rate)

    def set_hyperparameters(self, **values: float) -> None:
        """Hand ``learning_rate``, ``momentum`` or ``weight_decay`` to the running loop.

        Raises ValueError for any other name (as :class:`~digitlab.core.training.TrainingControl` does).
        """
        TrainingControl().set_hyperparameters(**values)  # the same check as the loop's, here
        self._send(HYPERPARAMETERS, {key: float(value) for key, value in values.items()})

    def set_batch_rate(self, rate: float | None) -> None:
        """Train at most ``rate`` mini-batches a second from the next batch on (None: full speed)."""
        TrainingControl().set_batch_rate(rate)
        self._send(BATCH_RATE, rate)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """End any run now and wait for its thread; safe to call repeatedly.

        The child is asked to stop, then terminated, then killed: it is gone
        within about :attr:`TrainingProcess.STOP_GRACE` + 1 s, even in the middle
        of one long mini-batch. Records still queued are dropped; the network
        holds the newest weights that reached the worker. Returns False if the
        thread did not end within ``timeout_ms``.
        """
        if self._worker is not None:
            self._worker.abandon()
        stopped = self._join_thread(timeout_ms)
        if stopped:
            self._process = None
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

    def _end_run(self) -> None:
        self._join_thread()
        self._process = None
        self._set_state(IDLE)

    @Slot(object)
    def _relay_loaded(self, info) -> None:
        if self._from_current_worker():
            self.dataLoaded.emit(info)

    @Slot(str)
    def _relay_load_failed(self, message: str) -> None:
        if self._from_current_worker():
            self._end_run()
            self.loadFailed.emit(message)

    @Slot(object)
    def _relay_progress(self, record: Progress) -> None:
        if self._from_current_worker():
            self.progress.emit(record)

    @Slot(object)
    def _relay_finished(self, record: Progress) -> None:
        if self._from_current_worker():
            self._end_run()
            self.finished.emit(record)

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        if self._from_current_worker():
            self._end_run()
            self.failed.emit(message)
