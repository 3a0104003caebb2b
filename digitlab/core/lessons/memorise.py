"""Memorisation: a network big enough can learn labels that mean nothing.

The claim
---------
"Networks can memorise random labels given enough capacity" (Zhang et al.
2016, *Understanding deep learning requires rethinking generalization*,
arXiv 1611.03530). Shuffle the labels of the training digits, so that a
picture of a 3 may be called "7" and another 3 "1": there is no rule left to
find, yet a network with enough weights still drives its training accuracy
to 100%, by learning each picture's label by heart. It learns nothing that
carries over: on digits it has not seen it is right one time in ten, chance.
With the true labels the same network fits faster, because one rule
("this shape is a 3") covers many pictures at once; 3Blue1Brown's video
shows this as "Randomly-labeled data" against "Properly-labeled data".

What is measured
----------------
The same network (the same starting weights, the same order of
mini-batches) is trained twice on the same ``train_size`` digits of the
bundled sample: once with their true labels, once with the labels shuffled
(a random permutation of the true ones, so every digit keeps its share and
chance stays at about 1 in 10). The two runs take turns, one epoch each, so
a live plot shows both growing together. After every epoch we record, for
each run, the accuracy and the mean cost on its own training labels and on
the bundled validation part (1,000 digits with their true labels, never
trained on).

- ``epochs_to_fit``: the first epoch whose training accuracy is at least
  95% (None if never);
- ``slowdown``: ``random.epochs_to_fit / true.epochs_to_fit``, how many
  times longer the arbitrary labels take to fit.

Training stops :data:`EXTRA_EPOCHS` epochs after both runs have fitted (so
the curves show what happens next: the true run's validation accuracy
levels off, the random run's stays at chance), or after ``max_epochs``.

Why this network
----------------
Memorising N arbitrary labels means storing N independent facts, which
needs weights to store them in. Measured here: 784-16-16-10 (13,002
weights) reached only 87-89% on 1,000 shuffled labels after 800 epochs,
while 784-256-10 (203,530 weights, ReLU with softmax and cross-entropy,
rate 0.1, mini-batches of 10) fits 2,000 shuffled labels in about 22 epochs,
a few seconds on two cores, and the true labels in 2 or 3 epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import numpy as np

from digitlab.core.architecture import parse_hidden_layers
from digitlab.core.lessons.base import check_cancel, check_whole, report
from digitlab.core.lessons.figure import Figure, Line, Panel, VLine

NAME = "memorise"
CLAIM = "A network with enough weights learns random labels by heart, more slowly than true ones, and learns nothing."
USES_MODEL = False

#: Training accuracy that counts as "fitted".
FIT_THRESHOLD = 0.95
#: Epochs trained on after both runs have fitted.
EXTRA_EPOCHS = 5
DEFAULT_TRAIN_SIZE = 2000
DEFAULT_LAYERS = (784, 256, 10)
DEFAULT_MAX_EPOCHS = 100
QUICK_TRAIN_SIZE = 500
QUICK_LAYERS = (784, 64, 10)
QUICK_MAX_EPOCHS = 60
#: The two runs, in the order they train each epoch.
RUNS = ("true", "random")


@dataclass
class MemoriseConfig:
    """One memorisation experiment.

    Attributes
    ----------
    train_size : int
        Training digits, drawn at random from the bundled sample's 9,000.
    layers : tuple of int
        Layer sizes, input first, e.g. ``(784, 256, 10)``.
    activation, cost : str
        Hidden activation and cost, as for :class:`~digitlab.core.network.Network`.
    learning_rate : float
        Step size of gradient descent.
    batch_size : int
        Digits per mini-batch.
    max_epochs : int
        Stop here even if a run has not fitted.
    extra_epochs : int
        Epochs to go on after both runs have fitted.
    data : DataSplit, optional
        Digits to use; None means the bundled sample (:func:`datasets.load_sample`).
    """

    train_size: int = DEFAULT_TRAIN_SIZE
    layers: tuple = DEFAULT_LAYERS
    activation: str = "relu"
    cost: str = "cross_entropy"
    learning_rate: float = 0.1
    batch_size: int = 10
    max_epochs: int = DEFAULT_MAX_EPOCHS
    extra_epochs: int = EXTRA_EPOCHS
    data: Optional[object] = field(default=None, repr=False)

    @classmethod
    def quick(cls) -> "MemoriseConfig":
        """The --quick run: 500 digits, 784-64-10, at most 60 epochs (under a second)."""
        return cls(train_size=QUICK_TRAIN_SIZE, layers=QUICK_LAYERS, max_epochs=QUICK_MAX_EPOCHS)


def check_config(config: MemoriseConfig, available: Optional[int] = None) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run.

    ``available`` is the number of training digits, when known.
    """
    from digitlab.core.architecture import check_architecture

    check_whole(config.train_size, "the training size", 10)
    if available is not None and config.train_size > available:
        raise ValueError(f"the training size can be at most {available:,}, got {config.train_size:,}")
    check_whole(config.batch_size, "the batch size", 1)
    check_whole(config.max_epochs, "the number of epochs", 1)
    check_whole(config.extra_epochs, "the extra epochs", 0)
    check_architecture(tuple(config.layers), config.activation, config.cost)
    if config.layers[0] != 784 or config.layers[-1] != 10:
        raise ValueError(f"the network needs 784 inputs and 10 outputs, got {list(config.layers)}")
    if not (isinstance(config.learning_rate, (int, float)) and math.isfinite(config.learning_rate)
            and config.learning_rate > 0):
        raise ValueError(f"the learning rate must be a positive number, got {config.learning_rate!r}")


@dataclass(frozen=True)
class RunHistory:
    """One run's measurements after each epoch (index 0 is epoch 1).

    Attributes
    ----------
    train_accuracy, val_accuracy : numpy.ndarray
        Share right on its own training labels, and on the validation digits.
    train_cost, val_cost : numpy.ndarray
        Mean cost on the same.
    """

    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    train_cost: np.ndarray
    val_cost: np.ndarray

    @property
    def epochs(self) -> int:
        return int(self.train_accuracy.size)

    @property
    def epochs_to_fit(self) -> Optional[int]:
        """The first epoch (counting from 1) with training accuracy >= 95%, or None."""
        fitted = np.flatnonzero(self.train_accuracy >= FIT_THRESHOLD)
        return int(fitted[0]) + 1 if fitted.size else None

    def final(self, name: str) -> float:
        values = getattr(self, name)
        return float(values[-1]) if values.size else float("nan")

    def to_json(self) -> dict:
        """``{"train_accuracy", "val_accuracy", "epochs_to_fit"}`` at the end of training."""
        return {
            "train_accuracy": _finite(self.final("train_accuracy")),
            "val_accuracy": _finite(self.final("val_accuracy")),
            "epochs_to_fit": self.epochs_to_fit,
        }


@dataclass(frozen=True)
class MemoriseResult:
    """Both runs' per-epoch history, and the recipe that made them.

    Attributes
    ----------
    train_size : int
    layers : tuple of int
    activation, cost : str
    learning_rate : float
    batch_size : int
    true, random : RunHistory
        The run with the true labels and the one with shuffled labels.
    finished : bool
        False for the snapshots handed to ``on_epoch`` while training.
    """

    train_size: int
    layers: tuple
    activation: str
    cost: str
    learning_rate: float
    batch_size: int
    true: RunHistory
    random: RunHistory
    finished: bool = True

    @property
    def epochs(self) -> int:
        """Epochs trained (both runs trained as many)."""
        return self.true.epochs

    @property
    def slowdown(self) -> Optional[float]:
        """``random.epochs_to_fit / true.epochs_to_fit``; None unless both fitted."""
        true_fit, random_fit = self.true.epochs_to_fit, self.random.epochs_to_fit
        if true_fit is None or random_fit is None:
            return None
        return random_fit / true_fit

    def to_json(self) -> dict:
        """The issue's keys: lesson, train_size, layers, epochs, true, random, slowdown."""
        return {
            "lesson": NAME,
            "train_size": int(self.train_size),
            "layers": [int(n) for n in self.layers],
            "epochs": self.epochs,
            "true": self.true.to_json(),
            "random": self.random.to_json(),
            "slowdown": self.slowdown,
        }

    def summary(self) -> str:
        """Three or four plain sentences for learners."""
        layers = "-".join(str(n) for n in self.layers)
        text = f"A {layers} network trained for {self.epochs} epochs on {self.train_size:,} digits, twice. "
        parts = []
        for run, words in ((self.true, "With the true labels"), (self.random, "With shuffled labels")):
            fit = run.epochs_to_fit
            when = (f"it reached {FIT_THRESHOLD:.0%} training accuracy after {fit} epoch{'s' * (fit != 1)}"
                    if fit is not None else f"it never reached {FIT_THRESHOLD:.0%} training accuracy")
            parts.append(f"{words} {when}, ending at {run.final('train_accuracy'):.0%} on its training "
                         f"digits and {run.final('val_accuracy'):.0%} on 1,000 new ones.")
        text += " ".join(parts)
        if self.slowdown is not None:
            text += (f" The random labels took {self.slowdown:.1f} times as long to learn by heart, "
                     f"and on new digits that network is right only about as often as a guess (10%).")
        return text


#: The contract's names for the lesson's config and result.
Config = MemoriseConfig
Result = MemoriseResult


def choose_digits(data, train_size: int, rng: np.random.Generator):
    """``train_size`` training digits at random, with their true labels and shuffled ones.

    Parameters
    ----------
    data : DataSplit
    train_size : int
    rng : numpy.random.Generator

    Returns
    -------
    images : numpy.ndarray
        ``(train_size, 28, 28)``, in their order in ``data``.
    true_labels, random_labels : numpy.ndarray
        int64; ``random_labels`` is a random permutation of ``true_labels``,
        so every digit keeps its share of the labels and chance stays at
        about 1 in 10.
    """
    chosen = np.sort(rng.choice(len(data.train_labels), size=train_size, replace=False))
    true_labels = np.asarray(data.train_labels[chosen], dtype=np.int64)
    return data.train_images[chosen], true_labels, rng.permutation(true_labels)


def run(config: MemoriseConfig, rng: np.random.Generator, progress=None, cancel=None,
        on_epoch: Optional[Callable[[MemoriseResult], None]] = None) -> MemoriseResult:
    """Train one network on true labels and a copy of it on shuffled labels, an epoch each in turn.

    Parameters
    ----------
    config : MemoriseConfig
    rng : numpy.random.Generator
        Picks the digits, shuffles the labels, starts the weights and orders
        the mini-batches; one seed gives one result.
    progress : callable, optional
        ``progress(fraction, message)`` after each epoch.
    cancel : callable, optional
        Polled before each run's epoch; when true, LessonCancelled is raised.
    on_epoch : callable, optional
        ``on_epoch(snapshot)`` after each epoch, with a MemoriseResult of the
        history so far (``finished=False``; fresh arrays each time, safe to
        keep on another thread). Called before ``progress``.

    Returns
    -------
    MemoriseResult
    """
    from digitlab.core.datasets import load_sample, one_hot, to_inputs
    from digitlab.core.network import Network

    data = config.data if config.data is not None else load_sample()
    check_config(config, available=len(data.train_labels))
    images, true_labels, random_labels = choose_digits(data, config.train_size, rng)
    inputs = to_inputs(images)
    labels = {"true": true_labels, "random": random_labels}
    val_inputs, val_labels = to_inputs(data.val_images), np.asarray(data.val_labels, dtype=np.int64)
    first = Network.create(tuple(config.layers), config.activation, config.cost, rng=rng)
    # The same starting weights for both, so labels are the only difference.
    networks = {"true": first, "random": first.copy()}
    targets = {name: one_hot(labels[name], 10).astype(first.dtype) for name in RUNS}
    history = {name: {key: [] for key in ("train_accuracy", "val_accuracy", "train_cost", "val_cost")}
               for name in RUNS}
    fitted: dict[str, Optional[int]] = {name: None for name in RUNS}

    def snapshot(finished: bool) -> MemoriseResult:
        runs = {name: RunHistory(**{key: np.array(values) for key, values in history[name].items()})
                for name in RUNS}
        return MemoriseResult(
            train_size=config.train_size, layers=tuple(int(n) for n in config.layers),
            activation=config.activation, cost=config.cost, learning_rate=float(config.learning_rate),
            batch_size=config.batch_size, true=runs["true"], random=runs["random"], finished=finished,
        )

    for epoch in range(1, config.max_epochs + 1):
        # The same order for both runs: fair, and one permutation per epoch.
        order = rng.permutation(config.train_size)
        for name in RUNS:
            check_cancel(cancel)
            network, x, t = networks[name], inputs[order], targets[name][order]
            for start in range(0, config.train_size, config.batch_size):
                network.train_step(x[start:start + config.batch_size], t[start:start + config.batch_size],
                                   config.learning_rate)
            train_cost, train_accuracy = network.evaluate(inputs, labels[name])
            val_cost, val_accuracy = network.evaluate(val_inputs, val_labels)
            for key, value in (("train_accuracy", train_accuracy), ("val_accuracy", val_accuracy),
                               ("train_cost", train_cost), ("val_cost", val_cost)):
                history[name][key].append(value)
            if fitted[name] is None and train_accuracy >= FIT_THRESHOLD:
                fitted[name] = epoch
        if on_epoch is not None:
            on_epoch(snapshot(finished=False))
        report(progress, epoch / config.max_epochs,
               f"epoch {epoch}: training accuracy {history['true']['train_accuracy'][-1]:.0%} (true labels), "
               f"{history['random']['train_accuracy'][-1]:.0%} (shuffled)")
        if all(fit is not None for fit in fitted.values()) \
                and epoch >= max(fitted.values()) + config.extra_epochs:
            break
    report(progress, 1.0, "done")
    return snapshot(finished=True)


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson memorise``."""
    hidden = ",".join(str(n) for n in DEFAULT_LAYERS[1:-1])
    parser.add_argument("--train-size", type=int, default=DEFAULT_TRAIN_SIZE, metavar="N",
                        help=f"training digits from the bundled sample (default: {DEFAULT_TRAIN_SIZE}; "
                        f"--quick: {QUICK_TRAIN_SIZE})")
    parser.add_argument("--hidden", default=None, metavar="SIZES",
                        help=f"hidden layer sizes, e.g. 256 or 64,64 (default: {hidden}; --quick: "
                        f"{','.join(str(n) for n in QUICK_LAYERS[1:-1])}); fewer weights memorise slower")
    parser.add_argument("--max-epochs", type=int, default=DEFAULT_MAX_EPOCHS, metavar="E",
                        help=f"stop here even if a run has not fitted (default: {DEFAULT_MAX_EPOCHS}; "
                        f"--quick: {QUICK_MAX_EPOCHS})")


def config_from_args(args, network) -> MemoriseConfig:
    """A checked MemoriseConfig from the parsed options; ValueError (one line) if invalid."""
    config = MemoriseConfig(train_size=args.train_size, max_epochs=args.max_epochs)
    if getattr(args, "hidden", None) is not None:
        config = replace(config, layers=parse_hidden_layers(args.hidden))
    check_config(config, available=9000)
    return config


def figure(result: MemoriseResult) -> Figure:
    """Accuracy and cost per epoch of both runs, training solid and validation dashed."""
    epochs = np.arange(1, result.epochs + 1)
    colors = {"true": "#0072b2", "random": "#d55e00"}
    words = {"true": "true labels", "random": "shuffled labels"}
    accuracy, cost = [], []
    for name in RUNS:
        run_history = getattr(result, name)
        accuracy.append(Line(f"{words[name]}: training", epochs, run_history.train_accuracy, color=colors[name]))
        accuracy.append(Line(f"{words[name]}: validation", epochs, run_history.val_accuracy,
                             color=colors[name], dashed=True))
        cost.append(Line(f"{words[name]}: training", epochs, run_history.train_cost, color=colors[name]))
        cost.append(Line(f"{words[name]}: validation", epochs, run_history.val_cost,
                         color=colors[name], dashed=True))
    marks = [VLine(fit, f"{words[name]} fit") for name in RUNS
             if (fit := getattr(result, name).epochs_to_fit) is not None]
    layers = "-".join(str(n) for n in result.layers)
    return Figure(
        f"Memorising {result.train_size:,} digits with a {layers} network: true against shuffled labels",
        [Panel("Accuracy", xlabel="epoch", ylabel="share right", lines=accuracy, vlines=marks, ylim=(0.0, 1.02)),
         Panel("Cost", xlabel="epoch", ylabel="mean cost", lines=cost, vlines=marks)],
        notes=[result.summary()],
    )


def _finite(value: float):
    return value if math.isfinite(value) else None
