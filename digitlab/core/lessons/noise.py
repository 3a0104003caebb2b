"""Overconfidence: the network answers even when shown pure noise.

The claim
---------
The network has one output per digit and no way to say "none of these":
every input, however meaningless, lights one of its outputs up most, and
the network then names that digit. Shown pure noise it still answers, and
often looks about as sure of itself as it does on real digits.

What is measured
----------------
``samples`` noise images (uniform, gaussian or salt-and-pepper, see
:func:`digitlab.core.preprocess.noise_image`; ``"all"`` takes the three in
turn) and up to ``samples`` real digits (by default the bundled sample's
validation part, 1,000 digits it was not trained on) go through the
network. For each image we keep its *top output*, the value of the winning
output neuron, and which output that is. An answer is "confident" when its
top output is at least ``threshold`` (0.5). Reported:

- the share of confident answers on noise and on digits;
- the median top output on each;
- the favourite digit: the one named most often for noise, and how often;
- the accuracy on the digits, as a check that the network does read digits.

For a sigmoid/MSE network the outputs are independent sigmoids in [0, 1];
for a cross-entropy network they are softmax probabilities summing to 1,
so the top one is at least 1/10. A network with an 11th "none of these"
output (the later "none" lesson) works too: its favourite can be "none".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, report
from digitlab.core.lessons.figure import Bars, Figure, Histogram, Panel, VLine
from digitlab.core.preprocess import NOISE_KINDS, noise_image

NAME = "noise"
CLAIM = "Shown pure noise, the network still names a digit, often as confidently as for real digits."
USES_MODEL = True

#: Choices of ``kind``: each kind, or ``"all"`` for the three in equal parts.
KINDS = ("all", *NOISE_KINDS)
DEFAULT_SAMPLES = 1000
QUICK_SAMPLES = 200
#: More would only take long; the medians and shares are settled long before.
MAX_SAMPLES = 1_000_000
HISTOGRAM_BINS = 20
# Noise images made and run per forward pass: bounds memory for huge runs
# and sets how often progress is reported and cancel() is polled.
_CHUNK = 500


def noise_batch(kind: str, count: int, rng: np.random.Generator, offset: int = 0) -> np.ndarray:
    """``count`` noise images, float32 ``(count, 28, 28)`` in [0, 1].

    Parameters
    ----------
    kind : str
        One of ``preprocess.NOISE_KINDS``, or ``"all"``: the kinds in turn,
        so each makes up an equal share.
    count : int
        Number of images (0 or more).
    rng : numpy.random.Generator
        Source of the noise.
    offset : int, optional
        Index of the first image in a longer series, so that batches made in
        turn continue the rotation of kinds.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(count, 28, 28)``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {', '.join(KINDS)}")
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    kinds = NOISE_KINDS if kind == "all" else (kind,)
    if count == 0:
        return np.zeros((0, 28, 28), dtype=np.float32)
    return np.stack([noise_image(kinds[(offset + i) % len(kinds)], rng) for i in range(count)])


@dataclass
class NoiseConfig:
    """One comparison of noise with real digits.

    Attributes
    ----------
    network : Network, optional
        The network to test; None means the model shipped with DigitLab.
    kind : str
        Noise kind, one of :data:`KINDS`.
    samples : int
        Noise images, and the most real digits, to use (1 to 1,000,000).
    threshold : float
        A top output at least this high counts as a confident answer.
    digits : (images, labels), optional
        Real digits, uint8 ``(n, 28, 28)`` and their labels; None means the
        bundled sample's validation part.
    """

    network: object = None
    kind: str = "all"
    samples: int = DEFAULT_SAMPLES
    threshold: float = 0.5
    digits: Optional[tuple] = field(default=None, repr=False)

    @classmethod
    def quick(cls) -> "NoiseConfig":
        """The --quick run: 200 noise images and 200 digits."""
        return cls(samples=QUICK_SAMPLES)


def check_config(config: NoiseConfig) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run."""
    if config.kind not in KINDS:
        raise ValueError(f"unknown noise kind {config.kind!r}; choose one of {', '.join(KINDS)}")
    if isinstance(config.samples, bool) or not isinstance(config.samples, (int, np.integer)) \
            or not 1 <= config.samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be a whole number from 1 to {MAX_SAMPLES:,}, got {config.samples}")
    if not (isinstance(config.threshold, (int, float)) and math.isfinite(config.threshold)
            and 0 < config.threshold <= 1):
        raise ValueError(f"the threshold must be in (0, 1], got {config.threshold}")


@dataclass(frozen=True)
class NoiseResult:
    """Top outputs of the network on noise images and on real digits.

    Attributes
    ----------
    kind : str
        The noise kind used.
    output_activation : str
        ``"sigmoid"`` or ``"softmax"``.
    threshold : float
        The confidence threshold.
    n_outputs : int
        The network's number of outputs (10, or 11 with "none of these").
    noise_top, digits_top : numpy.ndarray
        The top output per image.
    noise_predictions, digits_predictions : numpy.ndarray
        The winning output per image.
    digit_labels : numpy.ndarray
        The true digit of each real digit.
    """

    kind: str
    output_activation: str
    threshold: float
    n_outputs: int
    noise_top: np.ndarray
    noise_predictions: np.ndarray
    digits_top: np.ndarray
    digits_predictions: np.ndarray
    digit_labels: np.ndarray

    @property
    def n_noise(self) -> int:
        return int(self.noise_top.size)

    @property
    def n_digits(self) -> int:
        return int(self.digits_top.size)

    @property
    def noise_confident_share(self) -> float:
        """Share of noise images with a top output >= threshold."""
        return _share(self.noise_top >= self.threshold)

    @property
    def digits_confident_share(self) -> float:
        """Share of real digits with a top output >= threshold (NaN without digits)."""
        return _share(self.digits_top >= self.threshold)

    @property
    def noise_top_median(self) -> float:
        return _median(self.noise_top)

    @property
    def digits_top_median(self) -> float:
        return _median(self.digits_top)

    @property
    def digits_accuracy(self) -> float:
        """Share of real digits named correctly (NaN without digits)."""
        return _share(self.digits_predictions == self.digit_labels)

    @property
    def favourite_digit(self) -> tuple[int, float]:
        """The output named most often for noise, and the share of noise images it won."""
        counts = self.noise_counts()
        digit = int(np.argmax(counts))
        return digit, float(counts[digit] / max(1, self.n_noise))

    def noise_counts(self) -> np.ndarray:
        """How many noise images each output won, one count per output."""
        return np.bincount(self.noise_predictions, minlength=self.n_outputs)

    def output_name(self, index: int) -> str:
        """``"7"`` for a digit, ``"none"`` for an 11th "none of these" output."""
        return str(index) if index < 10 else "none"

    def to_json(self) -> dict:
        """The issue's keys: lesson, n_noise, n_digits, threshold, the shares,
        the medians, and favourite_digit as ``{"digit", "share"}`` (NaN -> None)."""
        digit, share = self.favourite_digit
        return {
            "lesson": NAME,
            "n_noise": self.n_noise,
            "n_digits": self.n_digits,
            "threshold": float(self.threshold),
            "noise_confident_share": _finite(self.noise_confident_share),
            "digits_confident_share": _finite(self.digits_confident_share),
            "noise_top_median": _finite(self.noise_top_median),
            "digits_top_median": _finite(self.digits_top_median),
            "favourite_digit": {"digit": digit, "share": share},
        }

    def summary(self) -> str:
        """Two or three plain sentences for learners."""
        what = "top probability" if self.output_activation == "softmax" else "top output"
        digit, share = self.favourite_digit
        named = "'none of these'" if digit >= 10 else f"the digit {digit}"
        text = (
            f"On {self.n_noise:,} noise images the network's {what} was at least {self.threshold:g} "
            f"for {self.noise_confident_share:.0%} of them (median {self.noise_top_median:.2f}). "
            f"Its favourite answer for noise was {named}, {share:.0%} of the time."
        )
        if self.n_outputs <= 10:
            text += " It cannot say 'none of these': it always names a digit."
        if self.n_digits:
            text += (
                f" On {self.n_digits:,} real digits: at least {self.threshold:g} for "
                f"{self.digits_confident_share:.0%} (median {self.digits_top_median:.2f}), "
                f"{self.digits_accuracy:.0%} read correctly."
            )
        return text


#: The contract's names for the lesson's config and result.
Config = NoiseConfig
Result = NoiseResult


def run(config: NoiseConfig, rng: np.random.Generator, progress=None, cancel=None) -> NoiseResult:
    """Feed noise and real digits through the network and compare its top outputs.

    Parameters
    ----------
    config : NoiseConfig
        Network, noise kind, number of samples, threshold, real digits.
    rng : numpy.random.Generator
        Makes the noise and picks the real digits when there are more than
        ``samples``; one seed gives one result.
    progress : callable, optional
        ``progress(fraction, message)`` after each batch of noise.
    cancel : callable, optional
        Polled between batches; when it returns True, LessonCancelled is raised.

    Returns
    -------
    NoiseResult
    """
    check_config(config)
    network = config.network if config.network is not None else _shipped_network()
    n_outputs = int(network.sizes[-1])
    noise_top = np.empty(config.samples, dtype=np.float64)
    noise_predictions = np.empty(config.samples, dtype=np.int64)
    for start in range(0, config.samples, _CHUNK):
        check_cancel(cancel)
        count = min(_CHUNK, config.samples - start)
        batch = noise_batch(config.kind, count, rng, offset=start).reshape(count, -1)
        outputs = np.asarray(network.predict(batch))
        noise_top[start:start + count] = outputs.max(axis=1)
        noise_predictions[start:start + count] = outputs.argmax(axis=1)
        report(progress, 0.95 * (start + count) / config.samples, f"noise {start + count:,} of {config.samples:,}")
    check_cancel(cancel)
    digits_top, digits_predictions, labels = _run_digits(network, config, rng)
    report(progress, 1.0, "done")
    return NoiseResult(
        kind=config.kind, output_activation=network.output_activation, threshold=float(config.threshold),
        n_outputs=n_outputs, noise_top=noise_top, noise_predictions=noise_predictions,
        digits_top=digits_top, digits_predictions=digits_predictions, digit_labels=labels,
    )


def _run_digits(network, config: NoiseConfig, rng: np.random.Generator):
    from digitlab.core.datasets import load_sample, to_inputs

    if config.digits is None:
        split = load_sample()
        images, labels = split.val_images, split.val_labels
    else:
        images, labels = config.digits
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} digit images but {len(labels)} labels")
    if len(images) == 0:
        empty = np.zeros(0)
        return empty, empty.astype(np.int64), empty.astype(np.int64)
    if len(images) > config.samples:
        chosen = np.sort(rng.choice(len(images), size=config.samples, replace=False))
        images, labels = images[chosen], labels[chosen]
    outputs = np.concatenate([
        np.asarray(network.predict(to_inputs(images[i:i + 10_000]))) for i in range(0, len(images), 10_000)
    ])
    return outputs.max(axis=1).astype(np.float64), outputs.argmax(axis=1), labels.astype(np.int64)


def _shipped_network():
    from digitlab.core.model_io import load_default_model

    return load_default_model()[0]


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson noise``."""
    parser.add_argument("--kind", choices=KINDS, default="all",
                        help="noise kind: uniform, gaussian, salt_and_pepper, or all three mixed (default: all)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, metavar="N",
                        help=f"noise images, and the most real digits, to use (default: {DEFAULT_SAMPLES}; "
                        f"--quick: {QUICK_SAMPLES})")
    parser.add_argument("--threshold", type=float, default=0.5, metavar="T",
                        help="a top output at least this high counts as confident (default: 0.5)")


def config_from_args(args, network) -> NoiseConfig:
    """A checked NoiseConfig from the parsed options; ValueError (one line) if invalid."""
    config = NoiseConfig(network=network, kind=args.kind, samples=args.samples, threshold=args.threshold)
    check_config(config)
    return config


def figure(result: NoiseResult) -> Figure:
    """Two histograms of the top output (noise, digits) and the answers given to noise."""
    what = "top probability" if result.output_activation == "softmax" else "top output"
    histograms = [Histogram.of(result.noise_top, f"noise ({result.n_noise:,})", HISTOGRAM_BINS, (0.0, 1.0),
                               color="#d55e00")]
    if result.n_digits:
        histograms.append(Histogram.of(result.digits_top, f"real digits ({result.n_digits:,})",
                                       HISTOGRAM_BINS, (0.0, 1.0), color="#0072b2"))
    top = Panel(
        f"How sure the network looks: its {what} per image", xlabel=what, ylabel="images",
        histograms=histograms, vlines=[VLine(result.threshold, f"threshold {result.threshold:g}")],
        xlim=(0.0, 1.0),
    )
    counts = result.noise_counts()
    answers = Panel(
        "What it calls noise", xlabel="answer", ylabel="noise images",
        bars=[Bars("noise images", np.arange(counts.size), counts, color="#d55e00",
                   tick_labels=[result.output_name(i) for i in range(counts.size)])],
        legend=False,
    )
    return Figure(f"Noise versus real digits ({result.kind} noise)", [top, answers],
                  notes=[result.summary()])


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if mask.size else float("nan")


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else float("nan")


def _finite(value: float):
    return value if math.isfinite(value) else None
