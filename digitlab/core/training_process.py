"""Training in a child process: the window stays smooth and training runs at full speed.

Python runs one thread at a time (the GIL): a training loop on a thread of the
window's process makes the window stutter and itself runs at a third of its
speed. In a child process at low OS priority it does neither. So the window
runs :func:`digitlab.core.training.train` here, unchanged, in a child started
with the "spawn" method on every OS (fork would copy the window's Qt state).

Three channels connect the two processes:

- a command pipe, parent to child: pause, resume, step, stop, new
  hyperparameters, a speed limit; a listener thread in the child hands them
  to the loop's thread-safe :class:`~digitlab.core.training.TrainingControl`,
  which acts on them between mini-batches;
- a record pipe, child to parent: the :class:`~digitlab.core.training.Progress`
  records without their weights (curves, counts, messages), and a few
  messages (data loaded, data not loadable, failure);
- shared memory (:mod:`digitlab.core.shared_weights`): the current weights,
  written with each record (about 30 times a second, the loop's throttle).

:class:`TrainingProcess` is the parent's handle. It imports no Qt; the
window's worker thread (``digitlab.ui.training_worker``) drives it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from digitlab.core import datasets
from digitlab.core.datasets import DataSplit
from digitlab.core.network import Network
from digitlab.core.none_class import noise_count
from digitlab.core.flat_parameters import split_parameters
from digitlab.core.shared_weights import SharedWeights
from digitlab.core.training import Progress, TrainingConfig, TrainingControl, train

#: Records that end a run.
FINAL_KINDS = ("finished", "stopped", "diverged")

#: Records whose weights the window must get exactly: the run's result, a paused (stepped) state.
_EXACT_KINDS = (*FINAL_KINDS, "paused")

#: Messages from the child: (kind, payload).
READY, RECORD, LOAD_FAILED, FAILED = "ready", "record", "load_failed", "failed"

#: Commands to the child: (name, *arguments).
PAUSE, RESUME, STEP, STOP, HYPERPARAMETERS, BATCH_RATE = "pause", "resume", "step", "stop", "hyper", "rate"

#: Windows' BELOW_NORMAL_PRIORITY_CLASS (winbase.h).
_BELOW_NORMAL_PRIORITY_CLASS = 0x00004000


@dataclass(frozen=True)
class RunInfo:
    """What the child found once it loaded the data: sent before the first record.

    Attributes
    ----------
    data_name : str
        The data set's name ("sample", "mnist", a folder's name).
    train_examples : int
        Digits the run trains on (``train_size`` applied).
    run_samples : int
        Samples the whole run will see: all epochs, noise images included.
    """

    data_name: str
    train_examples: int
    run_samples: int


@dataclass(frozen=True)
class ChildSpec:
    """Everything the child needs besides the weights (which wait in shared memory)."""

    sizes: tuple[int, ...]
    activation: str
    cost: str
    dtype: str
    #: A data set's name for :func:`digitlab.core.datasets.load_named`, or the data itself.
    data: str | DataSplit
    config: TrainingConfig
    paused: bool = False
    batch_rate: float | None = None
    min_interval: float = 1 / 30


def lower_priority() -> None:
    """Make this process yield the CPU to the window: nice 19, or below-normal priority on Windows."""
    try:
        if sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), _BELOW_NORMAL_PRIORITY_CLASS)
        else:
            os.nice(19)
    except (OSError, AttributeError):  # a lower priority is a courtesy, not a condition
        pass


def without_weights(record: Progress) -> Progress:
    """``record`` with empty weights and biases: they travel through shared memory."""
    return dataclasses.replace(record, weights=(), biases=())


def run_info(network: Network, split: DataSplit, config: TrainingConfig) -> RunInfo:
    """How many digits the run trains on and how many samples it will see in all."""
    available = len(split.train_labels)
    examples = min(config.train_size or available, available)
    per_epoch = examples + noise_count(network, config.none_class, examples)
    return RunInfo(split.name, examples, per_epoch * config.epochs)


# ---------------------------------------------------------------------------
# The child
# ---------------------------------------------------------------------------


def child_main(spec: ChildSpec, commands: Connection, records: Connection, segment: str, lock) -> None:
    """The child's entry point: load the data, train, send records, publish weights.

    Parameters
    ----------
    spec : ChildSpec
    commands : Connection
        Read end of the command pipe.
    records : Connection
        Write end of the record pipe.
    segment : str
        Name of the shared-memory segment holding the initial weights.
    lock : multiprocessing lock
        Guards the segment.
    """
    # Ctrl+C in a terminal reaches the whole process group: the window handles it
    # and ends this child itself (a KeyboardInterrupt here would print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority()
    n_parameters = sum(a * b + b for a, b in zip(spec.sizes[:-1], spec.sizes[1:]))
    shared = SharedWeights.attach(segment, n_parameters, spec.dtype, lock)
    try:
        _train_and_report(spec, commands, records, shared)
    except (BrokenPipeError, EOFError, ConnectionError):
        pass  # the parent is gone or stopped listening: nobody is left to tell
    finally:
        shared.close()
        records.close()


def _train_and_report(spec: ChildSpec, commands: Connection, records: Connection, shared: SharedWeights) -> None:
    control = TrainingControl()
    if spec.paused:
        control.pause()
    control.set_batch_rate(spec.batch_rate)
    # Started before the data loads, so a stop during a slow load is heard.
    threading.Thread(target=_listen, args=(commands, control), name="digitlab-commands", daemon=True).start()
    try:
        network = _initial_network(spec, shared)
        try:
            split = spec.data if isinstance(spec.data, DataSplit) else datasets.load_named(spec.data)
        except (OSError, ValueError) as err:  # IdxError is a ValueError
            records.send((LOAD_FAILED, str(err)))
            return
        records.send((READY, run_info(network, split, spec.config)))
        for record in train(network, split, spec.config, control, spec.min_interval):
            # train() restores the last good weights before a "diverged" record: the
            # network always holds the record's weights here. Those of a final or
            # paused record must arrive; a running one's may wait for the next.
            shared.write(network.parameters, wait=record.kind in _EXACT_KINDS)
            records.send((RECORD, without_weights(record)))
    except (BrokenPipeError, EOFError, ConnectionError):
        raise
    except Exception as err:  # noqa: BLE001 - any failure must reach the user as one line
        records.send((FAILED, f"Training failed: {type(err).__name__}: {err}"))


def _initial_network(spec: ChildSpec, shared: SharedWeights) -> Network:
    initial = shared.read()
    if initial is None:
        raise RuntimeError("the initial weights could not be read")
    weights, biases = split_parameters(initial[0], spec.sizes)
    return Network(spec.sizes, spec.activation, spec.cost, list(weights), list(biases), np.dtype(spec.dtype).type)


def _listen(commands: Connection, control: TrainingControl) -> None:
    """Child's listener thread: apply each command to ``control`` until the pipe closes."""
    actions = {
        PAUSE: control.pause,
        RESUME: control.resume,
        STEP: control.step,
        STOP: control.stop,
        HYPERPARAMETERS: lambda values: control.set_hyperparameters(**values),
        BATCH_RATE: control.set_batch_rate,
    }
    while True:
        try:
            name, *arguments = commands.recv()
        except (EOFError, OSError):
            # The parent closed the pipe or died: an orphan must not train on.
            control.stop()
            return
        try:
            actions[name](*arguments)
        except (KeyError, TypeError, ValueError):
            pass  # the parent checks commands before sending; a bad one changes nothing


# ---------------------------------------------------------------------------
# The parent's handle
# ---------------------------------------------------------------------------


class ChildGone(Exception):
    """The child ended without a final record (killed, crashed)."""


class TrainingProcess:
    """Starts, steers and ends one training child; the parent side.

    Nothing here blocks for long: :meth:`receive` waits at most its timeout and
    :meth:`finish` a bounded time. :meth:`send` may be called from one thread
    while another calls :meth:`receive`.

    Parameters
    ----------
    network : Network
        Its weights are the run's starting point; the network itself is not
        touched (the caller copies the run's result into it if it wants).
    data : str or DataSplit
        A name for :func:`digitlab.core.datasets.load_named`, loaded in the child,
        or the data itself (sent to the child once).
    config : TrainingConfig
    paused : bool
        Start paused (for single steps).
    batch_rate : float, optional
        Speed limit from the first batch on (mini-batches a second).
    min_interval : float
        Throttle for batch records, in seconds.

    Raises
    ------
    digitlab.core.shared_weights.SharedWeightsError
        If no shared memory can be had for the weights.
    """

    #: Seconds :meth:`finish` lets the child stop by itself before terminating it.
    STOP_GRACE = 1.0
    #: Seconds to wait for a terminated or killed child to be gone.
    KILL_WAIT = 0.4

    def __init__(
        self,
        network: Network,
        data: str | DataSplit,
        config: TrainingConfig,
        paused: bool = False,
        batch_rate: float | None = None,
        min_interval: float = 1 / 30,
    ) -> None:
        config.validate()
        context = multiprocessing.get_context("spawn")  # never the global start method
        self.sizes = network.sizes
        self._shared = SharedWeights.create(network.parameters, context.Lock())
        child_commands, self._commands = context.Pipe(duplex=False)
        self._records, child_records = context.Pipe(duplex=False)
        spec = ChildSpec(network.sizes, network.activation, network.cost, np.dtype(network.dtype).str,
                         data, config, paused, batch_rate, min_interval)
        self._process = context.Process(
            target=child_main, args=(spec, child_commands, child_records, self._shared.name, self._shared.lock),
            name="digitlab-training", daemon=True,  # daemon: ended with the parent's interpreter
        )
        self._child_ends = (child_commands, child_records)
        self._send_lock = threading.Lock()
        self._closed = False
        self._records_ended = False

    # --------------------------------------------------------------- facts
    @property
    def segment_name(self) -> str:
        """Name of the shared-memory segment (``/dev/shm/<name>`` on Linux)."""
        return self._shared.name

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def is_alive(self) -> bool:
        return not self._closed and self._process.is_alive()

    def exitcode(self) -> int | None:
        """The child's exit code (negative: the signal that ended it), None while it runs."""
        return None if self._closed else self._process.exitcode

    # ------------------------------------------------------------ commands
    def start(self) -> None:
        """Start the child (about half a second until it trains: a new interpreter)."""
        self._process.start()
        # Only the child may keep its ends open: then a dead child means EOF here.
        for end in self._child_ends:
            end.close()

    def send(self, name: str, *arguments) -> bool:
        """Send one command (see the module's constants); False if the child is gone."""
        with self._send_lock:
            if self._closed:
                return False
            try:
                self._commands.send((name, *arguments))
            except (OSError, ValueError):  # broken pipe, or closed by finish()
                return False
        return True

    # ------------------------------------------------------------- results
    def receive(self, timeout: float) -> tuple[str, object] | None:
        """The next message from the child, or None if none came within ``timeout`` s.

        Raises
        ------
        ChildGone
            If the child has ended and every message it sent has been read.
        """
        try:
            if self._records.poll(timeout):
                return self._records.recv()
        except (EOFError, OSError) as err:
            raise ChildGone(self._death_text()) from err
        return None

    def weights(self, timeout: float = 1.0) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None:
        """Read-only copies of the latest published weights and biases, or None if unreadable."""
        if self._closed:
            return None
        got = self._shared.read(timeout)
        return None if got is None else split_parameters(got[0], self.sizes)

    def with_weights(self, record: Progress, timeout: float = 1.0) -> Progress | None:
        """``record`` (received without weights) with the latest published weights, or None."""
        got = self.weights(timeout)
        return None if got is None else dataclasses.replace(record, weights=got[0], biases=got[1])

    def _death_text(self) -> str:
        self._process.join(self.KILL_WAIT)  # reap it, so the exit code is known
        code = self._process.exitcode
        if code is not None and code < 0:
            return f"the training process was ended by signal {-code}"
        return f"the training process ended unexpectedly (exit code {code})"

    # ---------------------------------------------------------------- end
    def finish(self, grace: float = STOP_GRACE) -> list[tuple[str, object]]:
        """Stop the child and wait until it is gone: ask, then terminate, then kill.

        Returns the messages that arrived meanwhile (a final record among them
        if the child stopped in time). The shared weights stay readable until
        :meth:`close`.
        """
        if self._closed:
            return []
        messages = []
        if self._process.pid is not None:
            self.send(STOP)
            deadline = time.monotonic() + grace
            while self._process.is_alive() and time.monotonic() < deadline:
                if self._records_ended:
                    self._process.join(0.02)
                else:
                    messages += self._drain(0.02)  # a child blocked on a full pipe could not exit
            for end_it in (self._process.terminate, self._process.kill):
                if not self._process.is_alive():
                    break
                end_it()
                self._process.join(self.KILL_WAIT)
            self._process.join(self.KILL_WAIT)
        return messages + self._drain(0)

    def _drain(self, timeout: float) -> list[tuple[str, object]]:
        messages = []
        try:
            while not self._records_ended and self._records.poll(timeout):
                messages.append(self._records.recv())
                timeout = 0
        except (EOFError, OSError):
            self._records_ended = True  # from now on poll() would return at once, forever
        return messages

    def close(self) -> None:
        """End the child if it still runs, close the pipes and unlink the shared memory; idempotent."""
        if self._closed:
            return
        if self._process.pid is not None and self._process.is_alive():
            self.finish(grace=0)
        with self._send_lock:
            self._closed = True
            self._commands.close()
        self._records.close()
        for end in self._child_ends:  # still open if the child never started
            end.close()
        self._shared.close()
        if self._process.pid is not None:
            try:
                self._process.close()
            except ValueError:  # survived SIGKILL (in uninterruptible I/O): let multiprocessing reap it
                pass
