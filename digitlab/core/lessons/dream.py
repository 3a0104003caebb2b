"""Dream a digit: it knows how to read digits but not how to draw one.

The claim
---------
Ask the network "what does a perfect 3 look like to you?" by changing the
*input* until output 3 is as high as it goes: gradient ascent on the image,
with the weights held fixed. Started from random noise with nothing to keep
the picture natural, the network ends up at least 95% sure of every dream,
yet the dreams still look like noise: none resembles the average real digit
(correlation below 0.3). Started from a blank image, the same ascent grows
something more digit-like (correlations of roughly 0.35 to 0.65). So a
network can read digits without holding anything like a picture of one.

What is measured
----------------
For each digit ``d`` the lesson climbs the output neuron's weighted input,
its *logit* ``z^L_d`` (:meth:`digitlab.core.network.Network.logits`), not its
sigmoid output: where the sigmoid is near 0 or 1 its slope vanishes and the
climb would stall. One step is::

    g = d z^L_d / d x  -  smoothness * (d/dx) 1/2 sum (x_i - x_j)^2    (prior "smooth")
    x = clip(x + step_size * g / max|g|, 0, 1)

The gradient is divided by its largest entry, so the most sensitive pixel
moves by ``step_size`` whatever the network's scale (a bigger or ReLU network
has much larger logit gradients); clipping keeps every pixel in [0, 1], as a
drawing would be. The sum of the smoothness prior runs over pairs of
horizontally or vertically neighbouring pixels: it pulls neighbours together,
which penalises the salt-and-pepper patterns the network reacts to.

The climb starts from uniform noise in [0, 1] (``start="noise"``, as in
3Blue1Brown's own code) or from an all-black image (``start="blank"``) and
stops once the network is ``target`` sure (0.99) that it sees ``d`` and ``d``
is its top answer, or after ``max_steps`` steps. Reported per digit:

- ``confidence``: the network's output for ``d`` on the dream (for a softmax
  network, the probability);
- ``similarity_to_mean``: the Pearson correlation between the dream and the
  mean training image of ``d`` (the bundled sample's training part);
- ``steps``: the steps taken.

Measured with the shipped model (seed 0, 2026-12-02): from noise without a
prior, 0.972 to 0.990 sure of every dream with similarities 0.02 to 0.25;
from blank, 0.973 to 0.990 sure, similarities 0.39 to 0.59. A network whose
sigmoids saturate (very large weights) cannot be made sure of some dreams
from noise: the gradient vanishes and the climb stalls; one trained on many
smoothly varied copies of the digits dreams more digit-like pictures
(resources/default_model.md). The model shipped before (2026-12-01) gave,
from noise, similarities up to 0.27, reaching 0.31 once in 40 seeds; with
it, the smoothness prior raised the similarities (noise -0.08 to 0.60,
blank 0.42 to 0.81) and cost some confidence (from noise, the 1 reached
only 0.76).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, report
from digitlab.core.lessons.figure import Figure, Image, Line, Panel

NAME = "dream"
CLAIM = ("Climbing its own output from noise, the network becomes sure of 'digits' that look like noise: "
         "it can read digits but not draw one.")
USES_MODEL = True

STARTS = ("noise", "blank")
PRIORS = ("none", "smooth")
DEFAULT_STEP_SIZE = 0.01
DEFAULT_MAX_STEPS = 1000
DEFAULT_TARGET = 0.99
#: Weight of the smoothness penalty, in logit units per squared neighbour difference.
DEFAULT_SMOOTHNESS = 0.3
IMAGE_SIDE = 28


@dataclass
class DreamConfig:
    """One set of dreams.

    Attributes
    ----------
    network : Network, optional
        The network to dream with; None means the model shipped with DigitLab.
    digits : tuple of int, optional
        The digits to dream; None means every digit the network has an output
        for (0-9; an 11th "none of these" output is not a digit).
    start : {"noise", "blank"}
        Uniform noise in [0, 1], or an all-black image.
    prior : {"none", "smooth"}
        Nothing but the logit, or the logit minus a smoothness penalty.
    smoothness : float
        The penalty's weight with ``prior="smooth"``.
    step_size : float
        How far the most sensitive pixel moves per step.
    max_steps : int
        The most steps per digit.
    target : float
        Stop once the output for the digit is at least this and the top one.
    mean_images : ndarray, optional
        ``(10, 28, 28)`` mean image of each digit in [0, 1]; None means the
        means of the bundled sample's training part.
    """

    network: object = None
    digits: Optional[tuple] = None
    start: str = "noise"
    prior: str = "none"
    smoothness: float = DEFAULT_SMOOTHNESS
    step_size: float = DEFAULT_STEP_SIZE
    max_steps: int = DEFAULT_MAX_STEPS
    target: float = DEFAULT_TARGET
    mean_images: Optional[np.ndarray] = field(default=None, repr=False)

    # No quick() variant: the full run takes under a second, and fewer steps
    # would leave some dreams short of the confidence the lesson is about.


def check_config(config: DreamConfig, n_digits: int = 10) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run with ``n_digits`` digit outputs."""
    if config.start not in STARTS:
        raise ValueError(f"unknown start {config.start!r}; choose {' or '.join(STARTS)}")
    if config.prior not in PRIORS:
        raise ValueError(f"unknown prior {config.prior!r}; choose {' or '.join(PRIORS)}")
    for digit in config.digits or ():
        if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit < n_digits:
            raise ValueError(f"the digit must be a whole number from 0 to {n_digits - 1}, got {digit!r}")
    if isinstance(config.max_steps, bool) or not isinstance(config.max_steps, (int, np.integer)) \
            or not 1 <= config.max_steps <= 100_000:
        raise ValueError(f"max_steps must be a whole number from 1 to 100,000, got {config.max_steps}")
    for name in ("step_size", "target", "smoothness"):
        value = getattr(config, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not 0 < config.step_size <= 1:
        raise ValueError(f"step_size must be in (0, 1], got {config.step_size}")
    if not 0 < config.target <= 1:
        raise ValueError(f"target must be in (0, 1], got {config.target}")
    if config.smoothness < 0:
        raise ValueError(f"smoothness must be 0 or more, got {config.smoothness}")


@dataclass(frozen=True)
class Dream:
    """The image the network dreamt for one digit.

    Attributes
    ----------
    digit : int
        The output climbed.
    image : ndarray
        float32 ``(28, 28)`` in [0, 1].
    confidence : float
        The network's output for ``digit`` on ``image``.
    similarity_to_mean : float
        Pearson correlation of ``image`` with ``mean_image`` (NaN if either is flat).
    steps : int
        Ascent steps taken.
    logits : ndarray
        The climbed logit before the first step and after each step (``steps + 1`` values).
    mean_image : ndarray
        The mean training image of ``digit``, ``(28, 28)`` in [0, 1].
    """

    digit: int
    image: np.ndarray
    confidence: float
    similarity_to_mean: float
    steps: int
    logits: np.ndarray
    mean_image: np.ndarray

    def to_json(self) -> dict:
        similarity = self.similarity_to_mean
        return {"digit": int(self.digit), "confidence": float(self.confidence),
                "similarity_to_mean": similarity if math.isfinite(similarity) else None,
                "steps": int(self.steps)}


@dataclass(frozen=True)
class DreamResult:
    """Dreams of one start and prior, one per digit."""

    start: str
    prior: str
    output_activation: str
    target: float
    dreams: tuple

    def to_json(self) -> dict:
        """The issue's keys: lesson, start, prior, dreams [{digit, confidence, similarity_to_mean, steps}]."""
        return {"lesson": NAME, "start": self.start, "prior": self.prior,
                "dreams": [dream.to_json() for dream in self.dreams]}

    def summary(self) -> str:
        """Plain sentences for learners."""
        if not self.dreams:
            return "No dreams."
        confidence = [d.confidence for d in self.dreams]
        similarity = [d.similarity_to_mean for d in self.dreams]
        what = "probability" if self.output_activation == "softmax" else "output"
        start = "random noise" if self.start == "noise" else "a blank image"
        prior = "with a smoothness prior" if self.prior == "smooth" else "with nothing to keep it natural"
        if len(self.dreams) == 1:
            dream = self.dreams[0]
            text = (f"Started from {start} and climbed {prior}, the network's {what} for {dream.digit} "
                    f"reached {dream.confidence:.3f} after {dream.steps} steps; the dream's correlation "
                    f"with the average real {dream.digit} is {dream.similarity_to_mean:.2f}.")
        else:
            text = (f"Started from {start} and climbed {prior}, the network's {what} for the dreamt digit "
                    f"was {min(confidence):.3f} to {max(confidence):.3f}; the dreams' correlation with "
                    f"the average real digit was {np.nanmin(similarity):.2f} to {np.nanmax(similarity):.2f}.")
        if np.nanmax(similarity) < 0.3 and min(confidence) >= 0.95:
            text += " It is sure, yet the dreams look nothing like digits: it reads them but cannot draw them."
        return text


#: The contract's names for the lesson's config and result.
Config = DreamConfig
Result = DreamResult


def smoothness_penalty(images: np.ndarray) -> np.ndarray:
    """``1/2 * sum (x_i - x_j)^2`` over horizontally and vertically neighbouring pixels.

    Parameters
    ----------
    images : ndarray
        ``(28, 28)``, ``(784,)`` or a batch ``(n, 784)``.

    Returns
    -------
    ndarray or float
        One penalty per image.
    """
    grid = _as_grids(images)
    across = np.diff(grid, axis=-1)
    down = np.diff(grid, axis=-2)
    penalty = 0.5 * ((across ** 2).sum(axis=(-2, -1)) + (down ** 2).sum(axis=(-2, -1)))
    return float(penalty[0]) if _single(images) else penalty


def smoothness_gradient(images: np.ndarray) -> np.ndarray:
    """The gradient of :func:`smoothness_penalty`, shaped ``(n, 784)`` (or ``(784,)`` for one image).

    Each pixel gets ``sum over its neighbours (x_i - x_j)``: the graph
    Laplacian of the pixel grid applied to the image.
    """
    grid = _as_grids(images)
    gradient = np.zeros_like(grid)
    across = np.diff(grid, axis=-1)
    down = np.diff(grid, axis=-2)
    gradient[..., :, :-1] -= across
    gradient[..., :, 1:] += across
    gradient[..., :-1, :] -= down
    gradient[..., 1:, :] += down
    flat = gradient.reshape(len(grid), -1)
    return flat[0] if _single(images) else flat


def _single(images) -> bool:
    return np.ndim(images) == 1 or np.shape(images) == (IMAGE_SIDE, IMAGE_SIDE)


def _as_grids(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float64)
    return array.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def objective(network, images: np.ndarray, digits, smoothness: float = 0.0) -> np.ndarray:
    """What the ascent climbs: the digits' logits minus ``smoothness`` times the penalty.

    Parameters
    ----------
    network : Network
    images : ndarray
        A batch ``(n, 784)``.
    digits : int or array of int
        The output climbed, one per image.
    smoothness : float
        Weight of :func:`smoothness_penalty` (0: the logit alone).

    Returns
    -------
    ndarray
        ``(n,)``.
    """
    images = np.asarray(images)
    index = np.broadcast_to(np.asarray(digits), (len(images),))
    z = np.asarray(network.logits(images), dtype=np.float64)[np.arange(len(images)), index]
    if smoothness:
        z = z - smoothness * smoothness_penalty(images)
    return z


def objective_gradient(network, images: np.ndarray, digits, smoothness: float = 0.0) -> np.ndarray:
    """The gradient of :func:`objective` with respect to the images, ``(n, 784)``.

    The logit's part is backpropagation down to the input
    (:meth:`Network.input_gradient`), the prior's is :func:`smoothness_gradient`.
    """
    images = np.asarray(images)
    gradient = np.asarray(network.input_gradient(images, digits, of="logit"), dtype=np.float64)
    if smoothness:
        gradient = gradient - smoothness * smoothness_gradient(images)
    return gradient


def ascend(network, images: np.ndarray, digits, *, smoothness: float = 0.0, step_size: float = DEFAULT_STEP_SIZE,
           max_steps: int = DEFAULT_MAX_STEPS, target: float = DEFAULT_TARGET, progress=None, cancel=None):
    """Climb each image's digit logit by projected, normalised gradient ascent.

    Parameters
    ----------
    network : Network
    images : ndarray
        Start images, ``(n, 784)`` in [0, 1] (not changed).
    digits : array of int
        The output to climb for each image.
    smoothness, step_size, max_steps, target :
        As in :class:`DreamConfig`.
    progress, cancel : callable, optional
        As in :func:`run`; cancel is polled before every step.

    Returns
    -------
    images : ndarray
        float64 ``(n, 784)`` in [0, 1].
    steps : ndarray
        Steps taken per image.
    logits : list of ndarray
        Per image, its digit's logit before the first step and after each step.

    Raises
    ------
    LessonCancelled
        When ``cancel()`` becomes true.
    """
    x = np.clip(np.array(images, dtype=np.float64).reshape(len(images), -1), 0.0, 1.0)
    digits = np.asarray(digits, dtype=np.int64)
    steps = np.zeros(len(x), dtype=np.int64)
    active = np.ones(len(x), dtype=bool)
    trail = [[] for _ in range(len(x))]
    for step in range(max_steps + 1):
        check_cancel(cancel)
        rows = np.flatnonzero(active)
        z = np.asarray(network.logits(x[rows]), dtype=np.float64)
        mine = z[np.arange(len(rows)), digits[rows]]
        for row, value in zip(rows, mine):
            trail[row].append(float(value))
        outputs = _squash(network, z)
        confidence = outputs[np.arange(len(rows)), digits[rows]]
        done = (confidence >= target) & (outputs.argmax(axis=1) == digits[rows])
        if step == max_steps:
            break
        active[rows[done]] = False
        rows = rows[~done]
        if rows.size == 0:
            break
        gradient = objective_gradient(network, x[rows], digits[rows], smoothness)
        # Pixels held at 0 or 1 by the clip cannot follow their gradient outwards: leave them out
        # of the scale, or one stuck pixel would shrink every other pixel's step to nothing.
        stuck = ((x[rows] <= 0.0) & (gradient < 0)) | ((x[rows] >= 1.0) & (gradient > 0))
        gradient[stuck] = 0.0
        scale = np.abs(gradient).max(axis=1, keepdims=True)
        # A flat gradient (all hidden neurons saturated) gives no direction: such an image stays put.
        gradient = np.divide(gradient, scale, out=np.zeros_like(gradient), where=scale > 0)
        x[rows] = np.clip(x[rows] + step_size * gradient, 0.0, 1.0)
        steps[rows] += 1
        report(progress, (step + 1) / max_steps, f"step {step + 1:,} of at most {max_steps:,}")
    return x, steps, [np.asarray(t) for t in trail]


def _squash(network, z: np.ndarray) -> np.ndarray:
    if network.output_activation == "softmax":
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-z))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """The Pearson correlation of two images' pixels (NaN when either is flat)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / norm if norm > 0 else float("nan")


@functools.lru_cache(maxsize=1)
def _sample_means() -> np.ndarray:
    from digitlab.core.datasets import load_sample

    split = load_sample()
    means = np.stack([split.train_images[split.train_labels == d].mean(axis=0) for d in range(10)])
    means = (means / 255.0).astype(np.float32)
    means.flags.writeable = False  # shared by every caller
    return means


def mean_images() -> np.ndarray:
    """The mean image of each digit 0-9 in the bundled sample's training part, ``(10, 28, 28)`` in [0, 1]."""
    return _sample_means().copy()


def start_images(start: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` start images ``(count, 784)``: uniform noise in [0, 1], or black."""
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r}; choose {' or '.join(STARTS)}")
    if start == "noise":
        return rng.random((count, IMAGE_SIDE * IMAGE_SIDE))
    return np.zeros((count, IMAGE_SIDE * IMAGE_SIDE))


def run(config: DreamConfig, rng: np.random.Generator, progress=None, cancel=None) -> DreamResult:
    """Dream each digit: climb its logit from noise or a blank image.

    Parameters
    ----------
    config : DreamConfig
    rng : numpy.random.Generator
        Makes the noise start images; one seed gives one result.
    progress : callable, optional
        ``progress(fraction, message)`` after each step.
    cancel : callable, optional
        Polled before every step; when it returns True, LessonCancelled is raised.

    Returns
    -------
    DreamResult
    """
    network = config.network if config.network is not None else _shipped_network()
    n_digits = min(10, int(network.sizes[-1]))
    check_config(config, n_digits)
    digits = np.array(config.digits if config.digits else range(n_digits), dtype=np.int64)
    means = np.asarray(config.mean_images if config.mean_images is not None else _sample_means(), dtype=np.float64)
    smoothness = float(config.smoothness) if config.prior == "smooth" else 0.0
    starts = start_images(config.start, len(digits), rng)
    images, steps, logits = ascend(network, starts, digits, smoothness=smoothness, step_size=config.step_size,
                                   max_steps=config.max_steps, target=config.target,
                                   progress=progress, cancel=cancel)
    outputs = np.asarray(network.predict(images.astype(np.float32)), dtype=np.float64)
    dreams = []
    for row, digit in enumerate(digits):
        image = images[row].reshape(IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)
        mean = means[digit].reshape(IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)
        dreams.append(Dream(int(digit), image, float(outputs[row, digit]), pearson(image, mean),
                            int(steps[row]), logits[row], mean))
    report(progress, 1.0, "done")
    return DreamResult(config.start, config.prior, network.output_activation, float(config.target), tuple(dreams))


def _shipped_network():
    from digitlab.core.model_io import load_default_model

    return load_default_model()[0]


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson dream``."""
    parser.add_argument("--digit", type=int, default=None, metavar="D",
                        help="dream only this digit (default: every digit)")
    parser.add_argument("--start", choices=STARTS, default="noise",
                        help="start from uniform noise or a black image (default: noise)")
    parser.add_argument("--prior", choices=PRIORS, default="none",
                        help="none: climb the logit alone; smooth: also keep neighbouring pixels alike "
                        "(default: none)")


def config_from_args(args, network) -> DreamConfig:
    """A checked DreamConfig from the parsed options; ValueError (one line) if invalid."""
    digits = None if args.digit is None else (args.digit,)
    config = DreamConfig(network=network, digits=digits, start=args.start, prior=args.prior)
    n_digits = 10 if network is None else min(10, int(network.sizes[-1]))
    check_config(config, n_digits)
    return config


def figure(result: DreamResult) -> Figure:
    """Each dream above the mean real image of its digit, and the climbed logits."""
    dreams = [Panel(f"dream {d.digit}: {d.confidence:.2f}", image=Image(d.image, vmin=0.0, vmax=1.0),
                    axes=False, notes=[f"r = {d.similarity_to_mean:.2f}"]) for d in result.dreams]
    means = [Panel(f"mean real {d.digit}", image=Image(d.mean_image, vmin=0.0, vmax=1.0), axes=False)
             for d in result.dreams]
    climb = Panel("The climbed logit", xlabel="step", ylabel="logit",
                  lines=[Line(str(d.digit), np.arange(d.logits.size), d.logits) for d in result.dreams])
    columns = max(1, len(result.dreams))
    panels = dreams + means + [climb]
    return Figure(f"Dreams from {result.start}, prior {result.prior}", panels, columns=columns,
                  notes=[result.summary()])
