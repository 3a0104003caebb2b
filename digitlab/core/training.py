"""Mini-batch gradient descent as a generator of progress records.

:func:`train` runs the loop and yields a :class:`Progress` record now and then; whoever
iterates it (the command line, a test, or the window's worker thread) decides what to show.
Pause, resume, stop, single steps and changes of the learning rate arrive through a
:class:`TrainingControl`, which the loop reads between batches, so they are safe to call
from another thread.

Records carry each batch's loss and the lengths of its gradient and step: steps shrink as
the slope does. A speed limit (``set_batch_rate``) slows the loop to a few batches a second.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from digitlab.core.datasets import DataSplit
from digitlab.core.network import Network
from digitlab.core import none_class as nc
from digitlab.core import training_warnings as tw
# Re-exported: callers steer a run with digitlab.core.training.TrainingControl.
from digitlab.core.training_control import TrainingControl  # noqa: F401

#: Slow motion sleeps in slices this long (s): stop and pause are heard within one.
SLEEP_SLICE = 0.05
MAX_STEP_IMAGES = 32  # images of a stepped batch a record carries, at most

#: Weights larger than this mean the run has blown up even if the loss is finite
#: (a healthy MNIST network keeps its weights within about +-10).
EXPLODED_WEIGHT = 1e4


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters and options of one training run.

    The defaults are Nielsen's for the video's network (sigmoid, squared error): rate 3.0, batches of 10.
    """

    learning_rate: float = 3.0
    batch_size: int = 10
    epochs: int = 10
    momentum: float = 0.0
    weight_decay: float = 0.0
    seed: int = 0
    #: Train on only this many examples (None: all); a seeded random subset.
    train_size: int | None = None
    #: Give every training image a random label: the memorisation experiment.
    shuffle_labels: bool = False
    #: Vary the training digits each epoch as handwriting varies (position, size, turn, width,
    #: slant, pen thickness, elastic wobble; digitlab.core.augment).
    augment: bool = False
    #: Chance that a hidden neuron is silenced in a training step (inverted dropout, see
    #: :func:`dropout_masks`); prediction always uses every neuron.
    dropout: float = 0.0
    #: Teach "none of these" with noise images: None, "exposure" or "eleventh" (see core/none_class.py).
    none_class: str | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning rate must be a positive number, got {self.learning_rate}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight decay must be zero or positive, got {self.weight_decay}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"training-set size must be at least 1, got {self.train_size}")
        nc.check_method(self.none_class)


@dataclass(frozen=True)
class EpochStats:
    """Measurements at the end of one epoch (``epoch`` counts from 1).

    ``seconds``: time spent on the epoch's mini-batches, not on the evaluation that follows.
    """

    epoch: int
    seconds: float
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "seconds": round(self.seconds, 4)}


_EMPTY = np.zeros(0, dtype=np.float64)
_EMPTY.flags.writeable = False  # shared by records that carry no norms: must stay empty


@dataclass(frozen=True)
class StepBatch:
    """A single step's mini-batch: number in the run (from 1), loss, first inputs as the
    network saw them ((n, 28, 28) float32 in [0, 1]) and labels (int64), read-only."""

    number: int
    loss: float
    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Progress:
    """One progress record. Arrays in it are read-only copies, safe to keep.

    ``kind`` is one of:

    - ``"batch"``: training goes on;
    - ``"epoch"``: an epoch ended, ``epoch_stats`` is set;
    - ``"paused"``: the loop now waits for resume, step or stop;
    - ``"finished"``: all epochs done;
    - ``"stopped"``: stopped on request;
    - ``"diverged"``: the loss became NaN/inf or the weights exploded; the
      network holds the last good weights again and ``message`` says why.
    """

    kind: str
    epoch: int  # 0-based epoch under way (for "epoch": the one just finished)
    batch: int  # batches done in this epoch
    batches_per_epoch: int
    samples_seen: int
    elapsed: float  # seconds of training so far, pauses excluded
    #: Loss of every batch since the previous record, in order.
    batch_losses: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    learning_rate: float
    epoch_stats: EpochStats | None = None
    message: str = ""
    #: Per batch of ``batch_losses``: L2 norms of the whole gradient (with weight decay, of
    #: the decayed cost) and of the step (lr * |gradient|, or |velocity| with momentum).
    grad_norms: np.ndarray = field(default_factory=lambda: _EMPTY)
    step_norms: np.ndarray = field(default_factory=lambda: _EMPTY)
    #: In the "paused" record after a single step: what that batch was.
    step: StepBatch | None = None
    #: A plain-words problem with a suggestion, set while it lasts: saturated neurons
    #: (:mod:`digitlab.core.training_warnings`) or, in a "diverged" record, the blow-up.
    warning: str = ""

    @property
    def total_batches(self) -> int:
        return self.epoch * self.batches_per_epoch + self.batch


#: Learning rate a run starts with, by cost, unless the user chooses one (the window and
#: `digitlab train` both read this). 3.0 is Nielsen's value for the video's sigmoid/MSE network;
#: softmax with cross-entropy has larger gradients at the output (no sigmoid' factor) and did best
#: at 0.2 (10 epochs, batch size 10, 5 seeds; 0.1, 0.5 and 1.0 were worse; resources/default_model.md).
DEFAULT_LEARNING_RATES = {"mse": 3.0, "cross_entropy": 0.2}


def _as_inputs(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), int(np.prod(images.shape[1:])))  # -1 fails for 0 images
    if flat.dtype == np.uint8:
        return flat.astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(flat, dtype=np.float32)


def select_training_set(
    images: np.ndarray, labels: np.ndarray, config: TrainingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``train_size`` (a random subset) and ``shuffle_labels``."""
    if config.train_size is not None and config.train_size < len(labels):
        chosen = np.sort(rng.choice(len(labels), size=config.train_size, replace=False))
        images, labels = images[chosen], labels[chosen]
    if config.shuffle_labels:
        # Random labels with the same class balance: nothing to learn but memorisation.
        labels = rng.permutation(labels)
    return images, labels


def _read_only(arrays, dtype=None) -> tuple[np.ndarray, ...]:
    copies = tuple(np.array(a, dtype=dtype) for a in arrays)
    for a in copies:
        a.flags.writeable = False
    return copies


def train(
    network: Network,
    data: DataSplit,
    config: TrainingConfig,
    control: TrainingControl | None = None,
    min_interval: float = 1 / 30,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Progress]:
    """Train ``network`` in place, yielding :class:`Progress` records.

    A ``"batch"`` record comes at most every ``min_interval`` seconds (0: after
    every batch; under a speed limit slower than that, too: curves move batch by
    batch), however fast training runs; ``"epoch"``, ``"paused"`` and the
    final record always come.

    Parameters
    ----------
    network : Network
        Trained in place; only the iterating thread may touch it meanwhile. With
        ``config.none_class`` each epoch adds noise images (:mod:`digitlab.core.none_class`).
    data : DataSplit
        Training and validation images (n, 28, 28) and labels.
    config : TrainingConfig
    control : TrainingControl, optional
        Pause / resume / step / stop and hyperparameter hand-off.
    min_interval : float
        Throttle for batch records, in seconds.
    clock : callable, optional
        Seconds now, for the throttle, the speed limit, ``elapsed`` and ``EpochStats.seconds``.
    sleep : callable, optional
        Waits the given seconds, for the speed limit (:meth:`TrainingControl.set_batch_rate`).
    """
    config.validate()
    control = control or TrainingControl()
    rng = np.random.default_rng(config.seed)
    images, labels = select_training_set(data.train_images, data.train_labels, config, rng)
    labels = np.asarray(labels, dtype=np.intp)
    val_x = _as_inputs(data.val_images)
    val_labels = np.asarray(data.val_labels, dtype=np.intp)
    train_x = None if config.augment else _as_inputs(images)
    eye = np.eye(network.sizes[-1], dtype=network.dtype)
    extra = nc.noise_count(network, config.none_class, len(labels))  # noise images per epoch
    n = len(labels) + extra
    batches_per_epoch = math.ceil(n / config.batch_size)
    hyper = {"learning_rate": config.learning_rate, "momentum": config.momentum,
             "weight_decay": config.weight_decay}

    state = _LoopState(network, clock)
    last_start = float("-inf")
    targets = eye[labels]
    for epoch in range(config.epochs):
        epoch_start = clock()
        epoch_x = train_x if train_x is not None else _augmented_inputs(images, rng)
        epoch_x, epoch_t, epoch_labels = nc.mix_noise(
            epoch_x, targets, labels, extra, network, config.none_class, rng)
        # Each mini-batch is gathered when it is needed: a shuffled copy of the
        # whole set per epoch (31 MB for 10,000 digits) measured twice as slow,
        # as it is written out of the cache and read back in again.
        order = rng.permutation(n)
        size = config.batch_size
        for batch in range(batches_per_epoch):
            interval = control.batch_interval()
            if interval:
                _wait_until(last_start + interval, clock, sleep, control)
            if control.must_wait():
                yield state.record("paused", epoch, batch, batches_per_epoch, hyper)
                control.wait_while_paused()
                state.resume_clock()
            last_start = clock()
            if control.stop_requested:
                yield state.record("stopped", epoch, batch, batches_per_epoch, hyper)
                return
            hyper.update(control.take_hyperparameters())
            chosen = order[batch * size : (batch + 1) * size]
            # No masks, no extra work, and the random stream of a run without dropout is unchanged.
            masks = dropout_masks(network, len(chosen), config.dropout, rng) if config.dropout else None
            loss = network.train_step(epoch_x[chosen], epoch_t[chosen], **hyper, masks=masks)
            state.note_batch(loss, len(chosen), hyper["learning_rate"])
            if control.paused:  # a single step: the next "paused" record shows this batch
                few = chosen[:MAX_STEP_IMAGES]
                state.note_step(epoch * batches_per_epoch + batch + 1, loss, epoch_x[few], epoch_labels[few])
            # Checked after every batch, so the message names the batch that blew up.
            problem = "the loss became " + str(loss) if not math.isfinite(loss) else state.exploded()
            if problem:
                yield state.diverged(epoch, batch + 1, batches_per_epoch, hyper, problem)
                return
            if interval >= min_interval or state.due(min_interval):  # slow motion: every batch
                yield state.record("batch", epoch, batch + 1, batches_per_epoch, hyper)
        train_seconds = clock() - epoch_start
        train_loss, train_acc = network.evaluate(epoch_x[: len(labels)], labels)
        val_loss, val_acc = network.evaluate(val_x, val_labels)
        stats = EpochStats(epoch + 1, train_seconds, train_loss, train_acc, val_loss, val_acc)
        yield state.record("epoch", epoch, batches_per_epoch, batches_per_epoch, hyper, stats)
    yield state.record("finished", config.epochs - 1, batches_per_epoch, batches_per_epoch, hyper)


def _wait_until(deadline: float, clock, sleep, control: TrainingControl) -> None:
    """Sleep until ``deadline`` (clock seconds), in slices, returning early on stop or pause."""
    while not (control.stop_requested or control.paused):
        left = deadline - clock()
        if left <= 0:
            return
        sleep(min(left, SLEEP_SLICE))


def update_norms(network: Network, learning_rate: float) -> tuple[float, float, float]:
    """L2 norms of the last ``train_step``'s mean gradient (all parameters), of
    its change of the parameters (with momentum not ``learning_rate`` times the former)
    and of the mean gradient of the first layer's weights alone."""
    scaled, step = network.last_update  # scaled = learning_rate * gradient
    first = network.sizes[0] * network.sizes[1]  # the first weights lead the flat buffer
    first_sq = float(np.vdot(scaled[:first], scaled[:first]))
    scaled_norm = math.sqrt(first_sq + float(np.vdot(scaled[first:], scaled[first:])))
    step_norm = scaled_norm if step is scaled else math.sqrt(float(np.vdot(step, step)))
    return scaled_norm / learning_rate, step_norm, math.sqrt(first_sq) / learning_rate


def dropout_masks(network: Network, n: int, rate: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Random inverted-dropout masks, one ``(n, sizes[l])`` array per hidden layer, for ``train_step``.

    Each hidden neuron of each example is dropped (mask 0) with probability ``rate`` (in [0, 1))
    and otherwise kept with mask ``1 / (1 - rate)``. The scaling keeps every neuron's expected
    activation what it is without dropout, so prediction uses the network as it is, all neurons.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    scale = network.dtype(1 / (1 - rate))
    return [(rng.random((n, size)) >= rate).astype(network.dtype) * scale for size in network.sizes[1:-1]]


def _augmented_inputs(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # Imported here: only runs that augment need it.
    from digitlab.core.augment import augment

    return _as_inputs(augment(images.reshape(-1, 28, 28), rng))


@dataclass
class _LoopState:
    """Bookkeeping of :func:`train`: losses since the last record, timing, last good weights."""

    network: Network
    clock: Callable[[], float] = time.perf_counter
    samples_seen: int = 0
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    step_norms: list[float] = field(default_factory=list)
    step_batch: StepBatch | None = None
    elapsed_before: float = 0.0
    clock_start: float = 0.0
    last_record: float = float("-inf")

    def __post_init__(self) -> None:
        self.clock_start = self.clock()
        self.good_weights = _read_only(self.network.weights)
        self.good_biases = _read_only(self.network.biases)
        self.watch = tw.SaturationWatch(self.network.cost, self.network.sizes[-1])
        self.default_rate = DEFAULT_LEARNING_RATES[self.network.cost]
        # An upper bound of the largest weight magnitude: the last measured peak plus
        # the lengths of all steps since (no weight moves further than a whole step).
        self.weight_bound = self.peak_weight()

    def note_batch(self, loss: float, size: int, learning_rate: float) -> None:
        self.losses.append(loss)
        grad_norm, step_norm, first_norm = update_norms(self.network, learning_rate)
        self.grad_norms.append(grad_norm)
        self.step_norms.append(step_norm)
        self.samples_seen += size
        self.weight_bound += step_norm
        self.watch.note(loss, first_norm)

    def note_step(self, number: int, loss: float, inputs: np.ndarray, labels: np.ndarray) -> None:
        images = np.array(inputs, dtype=np.float32).reshape(len(inputs), 28, 28)
        labels = np.array(labels, dtype=np.int64)
        images.flags.writeable = labels.flags.writeable = False
        self.step_batch = StepBatch(number, float(loss), images, labels)

    def due(self, min_interval: float) -> bool:
        return self.clock() - self.last_record >= min_interval

    def elapsed(self) -> float:
        return self.elapsed_before + self.clock() - self.clock_start

    def resume_clock(self) -> None:
        self.clock_start = self.clock()

    def peak_weight(self) -> float:
        return float(np.max(np.abs(self.network.parameters)))

    def exploded(self) -> str:
        """A description of the problem if the weights blew up, else ''.

        Cheap after every batch: the weights are only looked at once the bound could pass the limit.
        """
        if self.weight_bound <= EXPLODED_WEIGHT:  # False for NaN: then look
            return ""
        peak = self.peak_weight()
        if not math.isfinite(peak) or peak > EXPLODED_WEIGHT:
            return f"the weights exploded (largest magnitude {peak:.3g})"
        self.weight_bound = peak
        return ""

    def warning(self, learning_rate: float) -> str:
        """The saturation warning while the run is saturated, else ''."""
        if not self.watch.saturated:
            return ""
        return tw.saturation_warning(self.network.activation, learning_rate, self.default_rate)

    def record(self, kind, epoch, batch, batches_per_epoch, hyper, stats=None, message="", warning=None) -> Progress:
        """A record with copies of the current weights, which also become the last good ones."""
        self.good_weights = _read_only(self.network.weights)
        self.good_biases = _read_only(self.network.biases)
        columns = (self.losses, self.grad_norms, self.step_norms)
        losses, grad_norms, step_norms = _read_only(columns, np.float64)
        for column in columns:
            column.clear()
        # The stepped batch waits for the "paused" record ("batch" or "epoch" ones may come first).
        step, self.step_batch = (self.step_batch, None) if kind == "paused" else (None, self.step_batch)
        self.last_record = self.clock()
        if kind == "paused":  # freeze the clock while waiting
            self.elapsed_before = self.elapsed()
            self.clock_start = self.clock()
        return Progress(
            kind, epoch, batch, batches_per_epoch, self.samples_seen, self.elapsed(), losses,
            self.good_weights, self.good_biases, hyper["learning_rate"], stats, message,
            grad_norms, step_norms, step, self.warning(hyper["learning_rate"]) if warning is None else warning,
        )

    def diverged(self, epoch, batch, batches_per_epoch, hyper, problem: str) -> Progress:
        """Restore the last good weights and describe what happened."""
        self.network.set_parameters(self.good_weights, self.good_biases)
        advice = tw.divergence_advice(hyper["learning_rate"], self.default_rate)
        message = (
            f"Training diverged in epoch {epoch + 1}, batch {batch}: {problem}; "
            f"the last good weights were restored. {advice}"
        )
        warning = f"The training blew up (its numbers grew too large). {advice}"
        return self.record("diverged", epoch, batch, batches_per_epoch, hyper, message=message, warning=warning)
