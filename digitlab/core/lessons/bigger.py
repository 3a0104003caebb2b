"""A bigger network reads better: the video's small network against a larger one.

The claim
---------
The video's network, 784-16-16-10 with sigmoid neurons and the squared
error, reads most digits it has never seen. Give the network more neurons
(and, as today's networks do, ReLU hidden neurons and softmax outputs with
the cross-entropy cost) and it reads more of the *same* unseen digits.
3Blue1Brown: "play with the structure" of the hidden layers, and the
accuracy climbs to about 98%.

What is measured
----------------
The two networks DigitLab ships (:data:`digitlab.core.model_io.BUNDLED_MODELS`),
"default" (the video's) and "bigger", read the same digits: by default the
bundled sample's validation part, its last 1,000 digits, which neither
network was trained on (both learned from the sample's other 9,000). For
each network:

- its structure: the layer sizes, the number of parameters (weights and
  biases), the hidden activation and the cost;
- its accuracy, and its accuracy on each digit 0-9 separately.

Digit by digit, the two answers are then compared: how many digits only the
bigger network reads right, how many only the default one, and how many
both get wrong. Finally both networks look at one drawing (the current
input of the window, or a digit drawn with :func:`digitlab.core.drawing.draw_digit`
and prepared as the window prepares a drawing), and their outputs for it
are reported side by side.

JSON
----
:meth:`BiggerResult.to_json` gives (keys fixed)::

    {"lesson": "bigger", "n_digits": 1000,
     "models": {"default": {"layers": [784, 16, 16, 10], "parameters": 13002,
                            "activation": "sigmoid", "cost": "mse",
                            "accuracy": 0.93, "per_digit_accuracy": [10 numbers]},
                "bigger": {... the same keys ...}},
     "only_bigger_right": 44, "only_default_right": 9, "both_wrong": 23,
     "drawing": {"digit": 2, "outputs": {"default": [10 numbers], "bigger": [10 numbers]},
                 "answers": {"default": 2, "bigger": 2}}}

``per_digit_accuracy[d]`` is None when no digit ``d`` was read;
``drawing.digit`` is the digit drawn, or None for a drawing given by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, check_whole, report
from digitlab.core.lessons.figure import Bars, Figure, Image, Panel

NAME = "bigger"
CLAIM = "A bigger network reads more of the same unseen digits than the video's small 784-16-16-10."
# It compares the two bundled networks, so a --model would have no place in it.
USES_MODEL = False
#: Why --model is refused: the lesson always compares the two bundled networks.
NO_MODEL_REASON = "compares the two bundled networks"

#: The two networks compared, smaller first; the keys of ``models`` in the JSON.
MODELS = ("default", "bigger")
#: Words for each network in summaries and titles.
TITLES = {"default": "the video's network", "bigger": "the bigger network"}
#: The digit drawn for the drawing when the caller gives none.
DEFAULT_DIGIT = 2
COLORS = {"default": "#cc79a7", "bigger": "#0072b2"}
# Digits run per forward pass: how often progress is reported and cancel() polled.
_CHUNK = 250


@dataclass
class BiggerConfig:
    """One comparison of two networks on the same digits.

    Attributes
    ----------
    networks : dict, optional
        ``{"default": Network, "bigger": Network}``; None means the two
        bundled models. Each takes 784 inputs and has at least 10 outputs.
    digits : (images, labels), optional
        uint8 ``(n, 28, 28)`` digits and their labels; None means the bundled
        sample's validation part (its last 1,000 digits).
    drawing : numpy.ndarray, optional
        A 28x28 input in [0, 1] (the window's current input) that both
        networks read; None means ``digit`` drawn as a user would.
    digit : int
        The digit drawn when ``drawing`` is None (0-9).
    """

    networks: Optional[dict] = field(default=None, repr=False)
    digits: Optional[tuple] = field(default=None, repr=False)
    drawing: Optional[np.ndarray] = field(default=None, repr=False)
    digit: int = DEFAULT_DIGIT

    @classmethod
    def quick(cls) -> "BiggerConfig":
        """The --quick run: the full run already takes well under a second, so it is the same."""
        return cls()


def check_config(config: BiggerConfig) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run."""
    check_whole(config.digit, "the digit to draw", 0, 9)
    if config.networks is not None:
        missing = [name for name in MODELS if name not in config.networks]
        if missing:
            raise ValueError(f"networks needs both {' and '.join(MODELS)}; missing: {', '.join(missing)}")
        for name in MODELS:
            sizes = config.networks[name].sizes
            if sizes[0] != 784 or sizes[-1] < 10:
                raise ValueError(f"the {name} network must take 784 inputs and have at least 10 outputs, "
                                 f"got {'-'.join(map(str, sizes))}")
    if config.drawing is not None and np.shape(config.drawing) != (28, 28):
        raise ValueError(f"the drawing must be a 28x28 image, got shape {np.shape(config.drawing)}")


@dataclass(frozen=True)
class ModelRun:
    """One network's structure and its answers.

    Attributes
    ----------
    sizes : tuple of int
        Neurons per layer, input first.
    parameters : int
        Weights and biases.
    activation, cost : str
        Hidden activation, and ``"mse"`` or ``"cross_entropy"``.
    predictions : numpy.ndarray
        The answer per digit (the largest output).
    drawing_outputs : numpy.ndarray
        Its outputs for the drawing.
    """

    sizes: tuple
    parameters: int
    activation: str
    cost: str
    predictions: np.ndarray
    drawing_outputs: np.ndarray

    @property
    def structure(self) -> str:
        """``"784-16-16-10"``."""
        return "-".join(str(size) for size in self.sizes)

    @property
    def output_activation(self) -> str:
        return "softmax" if self.cost == "cross_entropy" else "sigmoid"

    def describe(self) -> str:
        """``"784-16-16-10, sigmoid, squared error, 13,002 parameters"``."""
        cost = "cross-entropy (softmax outputs)" if self.cost == "cross_entropy" else "squared error"
        return f"{self.structure}, {self.activation}, {cost}, {self.parameters:,} parameters"


@dataclass(frozen=True)
class BiggerResult:
    """Both networks' answers on the same digits and on one drawing.

    Attributes
    ----------
    labels : numpy.ndarray
        The true digit of each digit read.
    runs : dict
        ``{"default": ModelRun, "bigger": ModelRun}``.
    drawing : numpy.ndarray
        The 28x28 drawing both read.
    drawing_digit : int or None
        The digit drawn, or None when the caller gave the drawing.
    """

    labels: np.ndarray
    runs: dict
    drawing: np.ndarray
    drawing_digit: Optional[int]

    @property
    def n_digits(self) -> int:
        return int(self.labels.size)

    def right(self, name: str) -> np.ndarray:
        """Which digits network ``name`` read right (a boolean per digit)."""
        return self.runs[name].predictions == self.labels

    def accuracy(self, name: str) -> float:
        """Share of the digits network ``name`` read right (NaN without digits)."""
        right = self.right(name)
        return float(np.mean(right)) if right.size else float("nan")

    def per_digit_accuracy(self, name: str) -> list[float]:
        """Accuracy of network ``name`` on each digit 0-9 (NaN for a digit absent from the data)."""
        right = self.right(name)
        return [float(np.mean(right[self.labels == digit])) if np.any(self.labels == digit) else float("nan")
                for digit in range(10)]

    @property
    def only_bigger_right(self) -> int:
        return int(np.sum(self.right("bigger") & ~self.right("default")))

    @property
    def only_default_right(self) -> int:
        return int(np.sum(self.right("default") & ~self.right("bigger")))

    @property
    def both_wrong(self) -> int:
        return int(np.sum(~self.right("default") & ~self.right("bigger")))

    def answer(self, name: str) -> int:
        """Network ``name``'s answer for the drawing."""
        return int(np.argmax(self.runs[name].drawing_outputs))

    def to_json(self) -> dict:
        """The keys documented in the module docstring (NaN -> None)."""
        models = {}
        for name in MODELS:
            run = self.runs[name]
            models[name] = {
                "layers": list(run.sizes), "parameters": run.parameters,
                "activation": run.activation, "cost": run.cost,
                "accuracy": _finite(self.accuracy(name)),
                "per_digit_accuracy": [_finite(value) for value in self.per_digit_accuracy(name)],
            }
        return {
            "lesson": NAME,
            "n_digits": self.n_digits,
            "models": models,
            "only_bigger_right": self.only_bigger_right,
            "only_default_right": self.only_default_right,
            "both_wrong": self.both_wrong,
            "drawing": {
                "digit": self.drawing_digit,
                "outputs": {name: [float(v) for v in self.runs[name].drawing_outputs] for name in MODELS},
                "answers": {name: self.answer(name) for name in MODELS},
            },
        }

    def reading_summary(self) -> str:
        """Two plain sentences on the digits read: both accuracies, and where the two differ."""
        small, big = self.runs["default"], self.runs["bigger"]
        if not self.n_digits:
            return "There were no digits to read."
        return (f"On the same {self.n_digits:,} digits, neither network trained on, the video's "
                f"{small.structure} ({small.parameters:,} parameters) read {self.accuracy('default'):.1%} "
                f"and the bigger {big.structure} ({big.parameters:,} parameters) "
                f"{self.accuracy('bigger'):.1%}. Only the bigger one read {self.only_bigger_right:,} of "
                f"them right, only the small one {self.only_default_right:,}, and both missed "
                f"{self.both_wrong:,}.")

    def summary(self) -> str:
        """:meth:`reading_summary`, and what each network answers for the drawing."""
        drawn = "the drawing" if self.drawing_digit is None else f"a drawn {self.drawing_digit}"
        return (f"{self.reading_summary()} On {drawn}, the video's network answers {self.answer('default')} "
                f"and the bigger one {self.answer('bigger')}.")


#: The contract's names for the lesson's config and result.
Config = BiggerConfig
Result = BiggerResult


def run(config: BiggerConfig, rng: np.random.Generator, progress=None, cancel=None) -> BiggerResult:
    """Let both networks read the same digits, and the same drawing.

    Parameters
    ----------
    config : BiggerConfig
        The networks, the digits, the drawing.
    rng : numpy.random.Generator
        Picks which of the drawn digit's styles is drawn (used only without
        a given drawing); one seed gives one result.
    progress : callable, optional
        ``progress(fraction, message)`` after each chunk of digits.
    cancel : callable, optional
        Polled between chunks; when it returns True, LessonCancelled is raised.

    Returns
    -------
    BiggerResult
    """
    check_config(config)
    networks = config.networks if config.networks is not None else bundled_networks()
    images, labels = _digits(config)
    drawing = _drawing(config, rng)
    runs = {}
    for index, name in enumerate(MODELS):
        network = networks[name]
        predictions = np.empty(len(images), dtype=np.int64)
        for start in range(0, len(images), _CHUNK):
            check_cancel(cancel)
            outputs = np.asarray(network.predict(_inputs(images[start:start + _CHUNK])))
            predictions[start:start + len(outputs)] = outputs.argmax(axis=1)
            done = (index + (start + len(outputs)) / len(images)) / len(MODELS)
            report(progress, done, f"{name}: {start + len(outputs):,} of {len(images):,} digits")
        check_cancel(cancel)
        runs[name] = ModelRun(
            sizes=tuple(int(s) for s in network.sizes), parameters=int(network.n_parameters),
            activation=network.activation, cost=network.cost, predictions=predictions,
            drawing_outputs=np.asarray(network.predict(drawing.reshape(-1)), dtype=np.float64),
        )
    report(progress, 1.0, "done")
    return BiggerResult(labels=labels, runs=runs, drawing=drawing,
                        drawing_digit=None if config.drawing is not None else int(config.digit))


def bundled_networks() -> dict:
    """``{"default": Network, "bigger": Network}``: the two networks DigitLab ships.

    Raises
    ------
    ModelFileError
        If a bundled file is missing or damaged (one line).
    """
    from digitlab.core.model_io import load_bundled_model

    return {name: load_bundled_model(name)[0] for name in MODELS}


def _digits(config: BiggerConfig) -> tuple[np.ndarray, np.ndarray]:
    if config.digits is None:
        from digitlab.core.datasets import load_sample

        split = load_sample()
        images, labels = split.val_images, split.val_labels
    else:
        images, labels = config.digits
    images, labels = np.asarray(images), np.asarray(labels).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"digits must be (n, 28, 28) images with n labels, got {images.shape} and {labels.shape}")
    return images, labels


def _inputs(images: np.ndarray) -> np.ndarray:
    """uint8 digits (0-255 ink) as network inputs in [0, 1]; float digits are taken as in [0, 1] already."""
    from digitlab.core.datasets import to_inputs

    if images.dtype == np.uint8:
        return to_inputs(images)
    return images.reshape(len(images), -1).astype(np.float32)


def _drawing(config: BiggerConfig, rng: np.random.Generator) -> np.ndarray:
    """The 28x28 drawing both networks read: the given one, or the digit drawn in one of its styles."""
    if config.drawing is not None:
        return np.clip(np.asarray(config.drawing, dtype=np.float32), 0.0, 1.0)
    from digitlab.core.drawing import DIGIT_STROKES, draw_digit
    from digitlab.core.preprocess import prepare

    variant = int(rng.integers(len(DIGIT_STROKES[config.digit])))
    return prepare(draw_digit(config.digit, variant)).astype(np.float32)


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson bigger``."""
    parser.add_argument("--digit", type=int, default=DEFAULT_DIGIT, metavar="D",
                        help=f"the digit drawn for both networks to read (0-9, default: {DEFAULT_DIGIT}; "
                        "--seed picks its style)")


def config_from_args(args, network) -> BiggerConfig:
    """A checked BiggerConfig from the parsed options; ValueError (one line) if invalid."""
    config = BiggerConfig(digit=args.digit)
    check_config(config)
    return config


def figure(result: BiggerResult) -> Figure:
    """The drawing, both networks' outputs for it, the share of each digit they misread, and who read what."""
    digits = np.arange(10)
    panels = [Panel("The drawing both read", image=Image(result.drawing, vmin=0.0, vmax=1.0), axes=False,
                    legend=False, equal_aspect=True)]
    for name in MODELS:
        run = result.runs[name]
        outputs = run.drawing_outputs
        what = "probability" if run.output_activation == "softmax" else "output"
        panels.append(Panel(
            f"{run.structure}: {result.accuracy(name):.1%} right; answers {result.answer(name)}",
            xlabel="output neuron", ylabel=what, ylim=(0.0, 1.0), legend=False,
            bars=[Bars(name, np.arange(outputs.size), outputs, color=COLORS[name],
                       tick_labels=[str(i) if i < 10 else "none" for i in range(outputs.size)])]))
    # Misread rather than read right: bars of 85-100% look alike, the 0-15% they miss do not.
    misread = {name: 100 * (1 - np.nan_to_num(result.per_digit_accuracy(name), nan=1.0)) for name in MODELS}
    per_digit = [Bars(f"{name} ({result.runs[name].structure})", digits + offset, misread[name], width=0.4,
                      color=COLORS[name])
                 for name, offset in zip(MODELS, (-0.2, 0.2))]
    # Head-room above the bars keeps the legend off them.
    top = max(1.0, max(float(values.max()) for values in misread.values()))
    panels.append(Panel("Misread, digit by digit", xlabel="digit", ylabel="% misread", ylim=(0.0, 1.4 * top),
                        bars=[_digit_ticks(), *per_digit]))
    both_right = int(np.sum(result.right("default") & result.right("bigger")))
    counts = [result.only_bigger_right, result.only_default_right, result.both_wrong]
    panels.append(Panel(f"Where they differ (both read {both_right:,} of {result.n_digits:,} right)",
                        ylabel="digits", legend=False,
                        bars=[Bars("digits", np.arange(3), counts, color="#009e73",
                                   tick_labels=["only bigger right", "only default right", "both wrong"])]))
    return Figure("A bigger network reads better", panels, columns=3, notes=[result.summary()])


def _digit_ticks() -> Bars:
    # Grouped bars sit either side of each digit; these empty bars put the
    # labels 0-9 under the middle of each pair (the figure labels ticks by bars).
    return Bars("", np.arange(10), np.zeros(10), width=0.0, color="#ffffff",
                tick_labels=[str(digit) for digit in range(10)])


def _finite(value: float):
    return value if math.isfinite(value) else None
