"""One example's nudges: what backpropagation wants to change for one digit, and one step of it.

The claim
---------
3Blue1Brown draws one training example with the outputs the network gives
and the outputs it *should* give (1 for the right digit, 0 for the others):
the difference is a list of nudges, "this output up, those down".
Backpropagation turns them into a gradient: how much, and in which
direction, each of the 13,002 weights and biases should move to make this
one example's cost fall fastest. One small step against that gradient, on
this example alone, lowers its cost and raises the output of the wanted
digit; repeating the step "teaches" the network this digit.

What is computed
----------------
For an image ``x`` (28x28 in [0, 1]) and a wanted label ``D``:

- the wanted outputs ``y`` (one-hot: 1 at ``D``) and the actual ones ``a``;
- the nudges ``y - a``. For the video's sigmoid outputs with the squared
  error ``C = 1/2 sum (a_j - y_j)^2`` they are ``-dC/da_j``; for softmax with
  cross-entropy they are ``-dC/dz_j``; either way, how far and which way each
  output should move;
- this example's cost ``C`` (:meth:`Network.cost_value`);
- the gradient of ``C`` with respect to every weight and bias, by the
  network's own backpropagation (:meth:`Network.gradients`). Row ``i`` of
  the first layer's weight gradient has one entry per pixel: reshaped to
  28x28 it is the picture of how neuron ``i``'s weights would change;
- the length (Euclidean norm) of each weight layer's gradient (biases not
  included), to compare how much each layer is asked to change;
- one gradient-descent step ``w <- w - lr * dC/dw`` (and likewise for the
  biases) on a *copy* of the network (:meth:`Network.train_step` with a
  batch of one), and the outputs and cost after it. The learning rate
  defaults to the one training uses for the network's cost
  (:data:`digitlab.core.training.DEFAULT_LEARNING_RATES`: 3.0 for MSE, 0.2
  for cross-entropy).

Everything here takes microseconds to a few milliseconds (one forward and
one backward pass of one image), so the window calls it directly.

Measured with the model shipped until 2026-12-01 (784-16-16-10, sigmoid,
MSE, rate 3.0; today's is checked for the same before it ships, see
``digitlab.core.recipes.check_claims``) on the first 200 validation digits: with the right label, one step lowered
the cost and raised the wanted output for 198 (digit 68, already 0.987 sure,
lost 0.00004 of it while its cost fell; for digit 144 the step overshot and
the cost rose). With the runner-up as the wanted label (the highest output
that is not the right digit), all 200. With any wrong label, about 3 in 4:
where the wanted output is saturated near 0 its sigmoid slope ``a (1 - a)``
is tiny, so the step mostly pushes the confident wrong output down (the
cost falls) while the wanted output barely moves or even falls, and at
rate 3.0 a single example's step sometimes overshoots. Repeating the step
taught 196 of 200 digits a wrong label within 50 steps (median 2 steps).
The summary says which case happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, report
from digitlab.core.lessons.figure import Bars, Figure, Image, Panel

NAME = "nudges"
CLAIM = ("One gradient step on one example, against backprop's gradient, lowers that example's cost "
         "and raises the wanted output.")
USES_MODEL = True

IMAGE_SIDE = 28


@dataclass
class NudgesConfig:
    """One example, its wanted label, and the step to take.

    Attributes
    ----------
    network : Network, optional
        The network to nudge (never changed: the step is taken on a copy);
        None means the model shipped with DigitLab.
    image : ndarray, optional
        The example, 28x28 (or 784 values) in [0, 1], prepared as
        ``digitlab predict`` prepares a picture; None means digit ``index``
        of the bundled sample's validation part.
    index : int
        The validation digit used when ``image`` is None.
    label : int
        The output that should be 1.
    learning_rate : float, optional
        The step's rate; None takes the training default for the network's cost.
    source : str
        Where the image came from (a file name), for the summary.
    """

    network: object = None
    image: Optional[np.ndarray] = field(default=None, repr=False)
    index: int = 0
    label: int = 0
    learning_rate: Optional[float] = None
    source: str = ""

    # No quick() variant: the whole lesson is one forward and backward pass.


def default_learning_rate(network) -> float:
    """The rate training uses for ``network``'s cost (3.0 for MSE, 0.2 for cross-entropy)."""
    from digitlab.core.training import DEFAULT_LEARNING_RATES

    return float(DEFAULT_LEARNING_RATES[network.cost])


def check_label(network, label) -> int:
    """``label`` as an int, or ValueError (one line) if the network has no such output."""
    outputs = int(network.sizes[-1])
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < outputs:
        raise ValueError(f"the label must be a whole number from 0 to {outputs - 1}, got {label!r}")
    return int(label)


def _as_example(network, image) -> np.ndarray:
    """``image`` as one ``(1, 784)`` row of the network's dtype, checked."""
    x = np.asarray(image, dtype=np.float64)
    if x.size != network.sizes[0]:
        raise ValueError(f"the image must have {network.sizes[0]} pixels (28x28), got shape {x.shape}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ValueError("the image's pixels must be finite values in [0, 1]")
    return x.reshape(1, -1).astype(network.dtype)


def wanted_outputs(network, label: int) -> np.ndarray:
    """The one-hot outputs the network should give: 1 at ``label``, 0 elsewhere."""
    wanted = np.zeros(int(network.sizes[-1]))
    wanted[check_label(network, label)] = 1.0
    return wanted


@dataclass(frozen=True, eq=False)  # array fields: compare the fields themselves
class Nudges:
    """One example seen by one network: outputs, cost and gradient.

    Attributes
    ----------
    label : int
        The wanted output.
    outputs : ndarray
        The actual outputs ``a`` (float64).
    wanted : ndarray
        The one-hot wanted outputs ``y``.
    cost : float
        This example's cost.
    grad_w, grad_b : tuple of ndarray
        The cost's gradient for each layer's weights and biases (float64).
    """

    label: int
    outputs: np.ndarray
    wanted: np.ndarray
    cost: float
    grad_w: tuple = field(repr=False)
    grad_b: tuple = field(repr=False)

    @property
    def nudges(self) -> np.ndarray:
        """``wanted - outputs``: which way, and how far, each output should move."""
        return self.wanted - self.outputs

    @property
    def predicted(self) -> int:
        """The network's answer: its highest output."""
        return int(np.argmax(self.outputs))

    @property
    def grad_norm_by_layer(self) -> np.ndarray:
        """The length of each weight layer's gradient (biases not included)."""
        return np.array([float(np.linalg.norm(g)) for g in self.grad_w])

    def first_layer_images(self) -> np.ndarray:
        """The gradient of each first-layer neuron's 784 weights as a 28x28 image, ``(neurons, 28, 28)``.

        Pixel ``(r, c)`` of image ``i`` is ``dC/dw^1_{i, 28 r + c}``: the
        weight from that pixel to neuron ``i``. A step moves the weight the
        other way (by ``lr`` times it).
        """
        return self.grad_w[0].reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def analyse(network, image, label: int) -> Nudges:
    """This example's outputs, wanted outputs, cost and gradient, by the network's backpropagation.

    Parameters
    ----------
    network : Network
        Not changed.
    image : ndarray
        28x28 (or 784 values) in [0, 1].
    label : int
        The wanted output.

    Returns
    -------
    Nudges
    """
    x = _as_example(network, image)
    wanted = wanted_outputs(network, label)
    cost, grad_w, grad_b = network.gradients(x, wanted[None, :].astype(network.dtype))
    outputs = np.asarray(network.predict(x[0]), dtype=np.float64)
    return Nudges(int(label), outputs, wanted, float(cost),
                  tuple(np.asarray(g, dtype=np.float64) for g in grad_w),
                  tuple(np.asarray(g, dtype=np.float64) for g in grad_b))


def step(network, image, label: int, learning_rate: Optional[float] = None):
    """One gradient-descent step on this example alone, taken on a copy of ``network``.

    Parameters
    ----------
    network : Network
        Not changed.
    image : ndarray
        28x28 (or 784 values) in [0, 1].
    label : int
        The wanted output.
    learning_rate : float, optional
        Default :func:`default_learning_rate`.

    Returns
    -------
    Network
        The copy after ``w <- w - lr * dC/dw`` for every weight and bias.
    """
    rate = default_learning_rate(network) if learning_rate is None else check_rate(learning_rate)
    x = _as_example(network, image)
    stepped = network.copy()
    stepped.train_step(x, wanted_outputs(network, label)[None, :].astype(network.dtype), rate)
    return stepped


def check_rate(learning_rate) -> float:
    """``learning_rate`` as a float, or ValueError (one line) unless it is finite and positive."""
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {learning_rate!r}")
    return float(learning_rate)


class Stepper:
    """Steps on one example, each on a fresh copy, with Undo: the view's state, kept Qt-free.

    The network given is never changed. :attr:`network` is the one after the
    steps taken so far; :meth:`undo` goes back one step by returning to the
    parameters kept from before it.

    Parameters
    ----------
    network : Network
        The starting network (copied).
    """

    def __init__(self, network) -> None:
        self._networks = [network.copy()]

    @property
    def network(self):
        """The network after the steps taken (do not change it in place)."""
        return self._networks[-1]

    @property
    def previous(self):
        """The network before the last step, or None before the first one."""
        return self._networks[-2] if len(self._networks) > 1 else None

    @property
    def steps(self) -> int:
        """Steps taken and not undone."""
        return len(self._networks) - 1

    def step(self, image, label: int, learning_rate: Optional[float] = None):
        """Take one step on ``image`` towards ``label``; return the new network."""
        self._networks.append(step(self.network, image, label, learning_rate))
        return self.network

    def undo(self) -> bool:
        """Go back to the parameters before the last step; False if there was none."""
        if len(self._networks) == 1:
            return False
        self._networks.pop()
        return True

    def reset(self, network=None) -> None:
        """Forget the steps: start again from ``network`` (default: the first one)."""
        self._networks = [(network if network is not None else self._networks[0]).copy()]


@dataclass(frozen=True)
class NudgesResult:
    """One example before and after one step.

    Attributes
    ----------
    label : int
    learning_rate : float
    before, after : Nudges
        The example as the network sees it before the step and after it.
    source : str
        Where the image came from.
    """

    label: int
    learning_rate: float
    before: Nudges
    after: Nudges
    source: str = ""

    def to_json(self) -> dict:
        """The issue's keys: lesson, label, predicted_before/after, cost_before/after, output_before/after,
        grad_norm_by_layer."""
        return {"lesson": NAME, "label": int(self.label),
                "predicted_before": self.before.predicted, "predicted_after": self.after.predicted,
                "cost_before": float(self.before.cost), "cost_after": float(self.after.cost),
                "output_before": [float(v) for v in self.before.outputs],
                "output_after": [float(v) for v in self.after.outputs],
                "grad_norm_by_layer": [float(v) for v in self.before.grad_norm_by_layer]}

    def summary(self) -> str:
        """Plain sentences for learners."""
        before, after, d = self.before, self.after, self.label
        what = f"the image {self.source}" if self.source else "the image"
        text = (f"The network read {what} as {before.predicted}; you want {d}. Its output for {d} was "
                f"{before.outputs[d]:.4f} (wanted 1) and this example's cost {before.cost:.4f}. "
                f"One gradient step on this example alone (rate {self.learning_rate:g}) moved the output "
                f"for {d} to {after.outputs[d]:.4f} and the cost to {after.cost:.4f}; "
                f"the network now reads it as {after.predicted}.")
        text += " " + step_outcome(before, after)
        norms = before.grad_norm_by_layer
        biggest = int(np.argmax(norms)) + 1
        text += (" The gradient's length per weight layer was "
                 + ", ".join(f"{v:.3g}" for v in norms) + f": layer {biggest} was asked to change most.")
        return text


def step_outcome(before: Nudges, after: Nudges) -> str:
    """One sentence on what a step did to the example's cost and wanted output, and why when it failed."""
    d = before.label
    cost_fell = after.cost < before.cost
    output_rose = after.outputs[d] > before.outputs[d]
    if cost_fell and output_rose:
        return f"The cost fell and the output for {d} rose, as the nudges asked."
    if not cost_fell:
        return ("The cost rose: the step was too long for this one example and overshot. "
                "Try a smaller learning rate.")
    if before.outputs[d] < 0.05:
        return (f"The cost fell, but the output for {d} did not rise: it sits near 0, where the sigmoid is "
                f"flat, so the step mostly pushed the wrong outputs down. Step again.")
    return (f"The cost fell, but the output for {d} did not rise: the step served the other outputs' "
            f"nudges more.")


#: The contract's names for the lesson's config and result.
Config = NudgesConfig
Result = NudgesResult


def run(config: NudgesConfig, rng: np.random.Generator, progress=None, cancel=None) -> NudgesResult:
    """The example's nudges and gradient, and the same after one step on it.

    Parameters
    ----------
    config : NudgesConfig
    rng : numpy.random.Generator
        Unused: nothing here is random (the parameter is the lessons' contract).
    progress, cancel : callable, optional
        As for every lesson; the run is one step, so cancel is polled once.

    Returns
    -------
    NudgesResult
    """
    del rng  # deterministic
    check_cancel(cancel)
    image, source = config.image, config.source
    if image is None:
        image, source = validation_digit(config.index), source or f"validation digit {config.index}"
    network = config.network if config.network is not None else _shipped_network()
    label = check_label(network, config.label)
    rate = default_learning_rate(network) if config.learning_rate is None else check_rate(config.learning_rate)
    before = analyse(network, image, label)
    after = analyse(step(network, image, label, rate), image, label)
    report(progress, 1.0, "done")
    return NudgesResult(label, rate, before, after, source)


def _shipped_network():
    from digitlab.core.model_io import load_default_model

    return load_default_model()[0]


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson nudges``."""
    from digitlab.cli.common import number, whole_number

    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--image", metavar="IMAGE",
                       help="the example: a picture file, prepared as `digitlab predict` prepares it")
    given.add_argument("--index", type=whole_number(0), metavar="N",
                       help="the example: digit N of the bundled sample's validation part (0-999)")
    parser.add_argument("--label", type=whole_number(0), required=True, metavar="D",
                        help="the digit the example should be read as")
    parser.add_argument("--lr", type=number(0, low_inclusive=False), default=None, metavar="X",
                        help="the step's learning rate (default: training's, 3.0 for MSE, 0.2 for cross-entropy)")


def config_from_args(args, network) -> NudgesConfig:
    """The config for parsed ``digitlab lesson nudges`` options; ValueError (one line) for a bad one."""
    check_label(network, args.label)
    if args.image is not None:
        image, source = read_prepared(args.image), args.image
    else:
        image, source = validation_digit(args.index), f"validation digit {args.index}"
    return NudgesConfig(network=network, image=image, index=args.index or 0, label=args.label,
                        learning_rate=args.lr, source=source)


def read_prepared(path: str) -> np.ndarray:
    """A picture file brought into MNIST's form, exactly as ``digitlab predict`` does.

    Only the command line calls this: reading image files goes through Qt's
    image plugins (:mod:`digitlab.imageio`), so that module is imported here,
    on use, and the rest of this module stays Qt-free.

    Raises
    ------
    ValueError
        One line: unreadable file, not an image, or no ink in it.
    """
    from digitlab.core.preprocess import EmptyImageError, prepare
    from digitlab.imageio import read_image

    try:
        return prepare(read_image(path))
    except EmptyImageError:
        raise ValueError(f"{path}: empty image: no ink found") from None


def validation_digit(index: int) -> np.ndarray:
    """Digit ``index`` of the bundled sample's validation part, 28x28 float32 in [0, 1]."""
    from digitlab.core.datasets import load_sample

    split = load_sample()
    if not 0 <= index < len(split.val_images):
        raise ValueError(f"--index must be from 0 to {len(split.val_images) - 1}, got {index}")
    return split.val_images[index].astype(np.float32) / np.float32(255)


def gradient_mosaic(images: np.ndarray, columns: Optional[int] = None, gap: int = 1) -> np.ndarray:
    """Images ``(n, 28, 28)`` tiled into one picture, row by row, 0 in the gaps.

    Returns
    -------
    ndarray
        ``(rows * (28 + gap) - gap, columns * (28 + gap) - gap)``.
    """
    images = np.asarray(images, dtype=float).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    count = len(images)
    columns = columns or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / columns))
    size = IMAGE_SIDE + gap
    mosaic = np.zeros((rows * size - gap, columns * size - gap))
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        mosaic[r * size:r * size + IMAGE_SIDE, c * size:c * size + IMAGE_SIDE] = image
    return mosaic


def figure(result: NudgesResult) -> Figure:
    """Wanted against actual outputs before and after the step, the first-layer gradient, its size per layer."""
    n = len(result.before.outputs)
    x = np.arange(n, dtype=float)
    ticks = [str(i) for i in range(n)]
    outputs = Panel(f"Outputs for label {result.label}", xlabel="output", ylabel="activation",
                    bars=[Bars("wanted", x - 0.27, result.before.wanted, width=0.26, color="#999999"),
                          Bars("before", x, result.before.outputs, width=0.26, color="#0072b2", tick_labels=ticks),
                          Bars("after one step", x + 0.27, result.after.outputs, width=0.26, color="#e69f00")],
                    ylim=(0.0, 1.05),
                    notes=[f"cost {result.before.cost:.4f} -> {result.after.cost:.4f}"])
    gradient = Panel("First-layer weight gradient (one 28x28 image per neuron)",
                     image=Image(gradient_mosaic(result.before.first_layer_images()), diverging=True),
                     legend=False, equal_aspect=True, axes=False)
    norms = result.before.grad_norm_by_layer
    layers = np.arange(1, len(norms) + 1, dtype=float)
    sizes = Panel("Gradient length per weight layer", xlabel="weight layer", ylabel="norm",
                  bars=[Bars("gradient", layers, norms, tick_labels=[str(int(v)) for v in layers])], legend=False)
    return Figure("One example's nudges", [outputs, gradient, sizes], notes=[result.summary()])
