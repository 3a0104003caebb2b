"""Saying "none of these": noise exposure teaches the network not to answer noise.

The claim
---------
A network trained only on digits names a digit for anything, pure noise
included, and often confidently (the "noise" lesson). Show it noise while
it trains, with the target "no output lit" (outlier exposure, Hendrycks et
al. 2018), and it learns to keep every output low for noise, while reading
digits almost as well as before.

What is measured
----------------
The same network (784-16-16-10, sigmoid, squared error: the video's), the
same recipe (rate 3.0, mini-batches of 10, :data:`DEFAULT_EPOCHS` epochs on
the bundled sample's 9,000 training digits) and the same seed are trained
twice: without noise ("before") and with ``none_class="exposure"``
("after", see :mod:`digitlab.core.none_class`: 15% of each epoch's examples
are noise images with an all-zero target). Each network then meets fresh
noise images of all kinds, not trained on, measured as in the noise lesson
(:func:`digitlab.core.lessons.noise.run`):

- ``noise_confident_share``: the share of noise images whose top output is at least 0.5;
- ``test_accuracy``: the accuracy on the bundled validation part (1,000 digits).

Measured (lesson seeds 0-3, 10 epochs, about 3 s a seed on a shared core): the
share fell from 0.51, 0.86, 0.84, 0.42 to at most 0.004, and the accuracy
changed by -1.3, -1.3, +0.8, -1.0 points. With 5 epochs the untrained share
was lower and less steady (0.20-0.82), so the lesson trains 10. Why this
recipe: it is the video's network and trains in well under a second an epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, check_whole, report
from digitlab.core.lessons.figure import Figure, Histogram, Panel, VLine

NAME = "none"
CLAIM = "Trained with noise towards 'no output lit', the network stops answering noise and still reads digits."
USES_MODEL = False

LAYERS = (784, 16, 16, 10)
DEFAULT_EPOCHS = 10
QUICK_EPOCHS = 2
DEFAULT_NOISE_SAMPLES = 1000
QUICK_NOISE_SAMPLES = 300
THRESHOLD = 0.5
#: The two runs, in order.
RUNS = ("before", "after")


@dataclass
class NoneConfig:
    """One comparison of training without and with noise exposure.

    Attributes
    ----------
    epochs : int
        Epochs of each run.
    noise_samples : int
        Fresh noise images each network is measured on.
    method : str
        ``"exposure"`` (the only method compared here: it keeps 10 outputs).
    data : DataSplit, optional
        Digits; None means the bundled sample.
    """

    epochs: int = DEFAULT_EPOCHS
    noise_samples: int = DEFAULT_NOISE_SAMPLES
    method: str = "exposure"
    data: Optional[object] = field(default=None, repr=False)

    @classmethod
    def quick(cls) -> "NoneConfig":
        """The --quick run: 2 epochs, 300 noise images."""
        return cls(epochs=QUICK_EPOCHS, noise_samples=QUICK_NOISE_SAMPLES)


def check_config(config: NoneConfig) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run."""
    check_whole(config.epochs, "epochs", 1)
    check_whole(config.noise_samples, "noise samples", 1)
    if config.method != "exposure":
        raise ValueError(f"the lesson compares noise exposure only, got method {config.method!r}")


@dataclass(frozen=True)
class NoneResult:
    """Both runs' top outputs on noise, and their measurements."""

    method: str
    epochs: int
    before_noise_top: np.ndarray
    after_noise_top: np.ndarray
    before_accuracy: float
    after_accuracy: float
    threshold: float = THRESHOLD

    def share(self, run: str) -> float:
        """Share of noise images with a top output >= threshold, for ``run`` in :data:`RUNS`."""
        top = getattr(self, f"{run}_noise_top")
        return float(np.mean(top >= self.threshold)) if top.size else float("nan")

    def accuracy(self, run: str) -> float:
        return getattr(self, f"{run}_accuracy")

    def to_json(self) -> dict:
        return {"lesson": NAME, "method": self.method,
                **{run: {"noise_confident_share": _finite(self.share(run)),
                         "test_accuracy": _finite(self.accuracy(run))} for run in RUNS}}

    def summary(self) -> str:
        drop = 100 * (self.before_accuracy - self.after_accuracy)
        return (f"Without noise in training, {self.share('before'):.0%} of fresh noise images got a confident "
                f"answer (top output at least {self.threshold:g}); trained with noise towards 'no output lit', "
                f"{self.share('after'):.1%} did. Accuracy on the 1,000 validation digits went from "
                f"{self.before_accuracy:.1%} to {self.after_accuracy:.1%} "
                f"({abs(drop):.1f} points {'lost' if drop >= 0 else 'gained'}).")


Config = NoneConfig
Result = NoneResult


def run(config: NoneConfig, rng: np.random.Generator, progress=None, cancel=None) -> NoneResult:
    """Train the network twice, without and with noise exposure, and measure both on fresh noise.

    Parameters
    ----------
    config : NoneConfig
    rng : numpy.random.Generator
        Gives the seed shared by both runs (starting weights, batch order), then the fresh noise.
    progress, cancel : callable, optional
        As for every lesson; cancel is polled between epochs.
    """
    from digitlab.core.datasets import load_sample, to_inputs
    from digitlab.core.lessons import noise
    from digitlab.core.network import Network
    from digitlab.core.training import TrainingConfig, train

    check_config(config)
    data = config.data if config.data is not None else load_sample()
    seed = int(rng.integers(2**31))
    val_x, val_labels = to_inputs(data.val_images), np.asarray(data.val_labels, dtype=np.intp)
    tops, accuracies = {}, {}
    for index, name in enumerate(RUNS):
        network = Network.create(LAYERS, "sigmoid", "mse", rng=np.random.default_rng(seed))
        training = TrainingConfig(epochs=config.epochs, seed=seed,
                                  none_class=config.method if name == "after" else None)
        for record in train(network, data, training, min_interval=math.inf):
            check_cancel(cancel)
            if record.kind == "epoch":
                done = (index * config.epochs + record.epoch + 1) / (2 * config.epochs)
                report(progress, 0.95 * done, f"{name}: epoch {record.epoch + 1} of {config.epochs}")
        measured = noise.run(noise.NoiseConfig(network=network, samples=config.noise_samples,
                                               threshold=THRESHOLD, digits=(data.val_images[:1], data.val_labels[:1])), rng)
        # All 1,000 validation digits, also in --quick (noise.run takes at most ``samples`` of them).
        tops[name], accuracies[name] = measured.noise_top, network.evaluate(val_x, val_labels)[1]
    report(progress, 1.0, "done")
    return NoneResult(config.method, config.epochs, tops["before"], tops["after"],
                      accuracies["before"], accuracies["after"])


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson none``."""
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, metavar="E",
                        help=f"epochs of each run (default: {DEFAULT_EPOCHS}; --quick: {QUICK_EPOCHS})")


def config_from_args(args, network) -> NoneConfig:
    """A checked NoneConfig from the parsed options; ValueError (one line) if invalid."""
    config = NoneConfig(epochs=args.epochs)
    check_config(config)
    return config


def figure(result: NoneResult) -> Figure:
    """The top outputs on noise before and after, side by side."""
    colors = {"before": "#d55e00", "after": "#0072b2"}
    words = {"before": "trained on digits only", "after": "trained with noise exposure"}
    panels = [Panel(f"{words[run]}: {result.share(run):.1%} confident",
                    xlabel="top output on a noise image", ylabel="noise images",
                    histograms=[Histogram.of(getattr(result, f"{run}_noise_top"), words[run], bins=20,
                                             range=(0.0, 1.0), color=colors[run])],
                    vlines=[VLine(result.threshold, "confident")], xlim=(0.0, 1.0))
              for run in RUNS]
    return Figure("Saying 'none of these': the network's answers to noise", panels, notes=[result.summary()])


def _finite(value: float):
    return value if math.isfinite(value) else None
