"""Many minima: different seeds find different weights of the same quality.

The claim
---------
"The local minima found on structured data are of similar quality"
(Choromanska et al. 2015, *The loss surfaces of multilayer networks*,
arXiv 1412.0233). Train the same network with the same recipe from
different random starts: each run ends in its own minimum of the cost, with
its own weights, yet all of them read digits about equally well. There is
no single "right" set of weights to find.

What is measured
----------------
``seeds`` runs (default 8) of one recipe on the bundled sample's 9,000
training digits: the network of 3Blue1Brown's video (784-16-16-10, sigmoid
with the squared error, mini-batches of 10) for 10 epochs, at rate 3.0
shrinking by a factor 0.8 each epoch (to 0.40 in the last). The shrinking
rate lets each run settle into its minimum instead of rattling around it:
measured here, the eight runs' test accuracies spread by 1.2 to 2.1 points
over seven lesson seeds, against 1.3 to 2.7 at a constant rate (and 2.0 at
a constant rate for 20 epochs). The spread cannot go much lower: with 1,000
test digits one run's accuracy alone is uncertain by about 0.8 points. Each run draws its own seed
from the lesson's generator: it sets the starting weights and the order of
the mini-batches. Reported per run: accuracy and mean cost on the
bundled validation part (1,000 digits never trained on; "test" below), and

- ``accuracy_spread``: best minus worst test accuracy;
- ``weight_similarity``: how alike the first-layer weights are. Hidden
  neurons have no fixed order (swap two and the network computes the same
  thing), so neurons are first matched between two runs, one to one, so
  that the sum of ``|correlation|`` between matched weight images is as
  large as possible (:func:`best_matching`, the Hungarian algorithm). The
  figure is the mean ``|correlation|`` over matched pairs, then over all
  pairs of runs: 1.0 would mean the same minimum (up to order and sign),
  near 0 unrelated weights;
- ``weight_similarity_ink``: the same over the pixels that carry ink in at
  least :data:`INK_SHARE` of the training digits. A pixel that is always
  blank feeds 0 into every weight it has, so that weight gets no gradient
  and keeps its random start; those pixels pull the first figure down
  without saying anything about what was learned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, check_whole, report
from digitlab.core.lessons.figure import Figure, Histogram, Image, Panel

NAME = "minima"
CLAIM = "Different random starts end in different weights that read digits equally well."
USES_MODEL = False

DEFAULT_SEEDS = 8
MAX_SEEDS = 32
QUICK_SEEDS = 3
DEFAULT_EPOCHS = 10
QUICK_EPOCHS = 3
QUICK_TRAIN_SIZE = 3000
#: A pixel "carries ink" when at least this share of the training digits has ink there.
INK_SHARE = 0.01


@dataclass
class MinimaConfig:
    """K runs of one recipe from different random starts.

    Attributes
    ----------
    seeds : int
        Number of runs (2 to :data:`MAX_SEEDS`).
    layers : tuple of int
        Layer sizes, input first.
    activation, cost : str
        As for :class:`~digitlab.core.network.Network`.
    learning_rate : float
        The rate of the first epoch.
    lr_decay : float
        Each epoch's rate is the one before times this (1.0 keeps it constant).
    batch_size : int
    epochs : int
        Epochs per run.
    train_size : int, optional
        Use only this many training digits (the same ones for every run); None for all.
    data : DataSplit, optional
        Digits to use; None means the bundled sample.
    """

    seeds: int = DEFAULT_SEEDS
    layers: tuple = (784, 16, 16, 10)
    activation: str = "sigmoid"
    cost: str = "mse"
    learning_rate: float = 3.0
    lr_decay: float = 0.8
    batch_size: int = 10
    epochs: int = DEFAULT_EPOCHS
    train_size: Optional[int] = None
    data: Optional[object] = field(default=None, repr=False)

    @classmethod
    def quick(cls) -> "MinimaConfig":
        """The --quick run: 3 runs of 3 epochs on 3,000 digits."""
        return cls(seeds=QUICK_SEEDS, epochs=QUICK_EPOCHS, train_size=QUICK_TRAIN_SIZE)


def check_config(config: MinimaConfig) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run."""
    from digitlab.core.architecture import check_architecture

    check_whole(config.seeds, "the number of seeds", 2, MAX_SEEDS)
    check_whole(config.epochs, "the number of epochs", 1, 10_000)
    check_whole(config.batch_size, "the batch size", 1, 1_000_000)
    if config.train_size is not None:
        check_whole(config.train_size, "the training size", 10, 10_000_000)
    check_architecture(tuple(config.layers), config.activation, config.cost)
    if config.layers[0] != 784 or config.layers[-1] != 10 or len(config.layers) < 3:
        raise ValueError(f"the network needs 784 inputs, a hidden layer and 10 outputs, got {list(config.layers)}")
    if not (isinstance(config.learning_rate, (int, float)) and math.isfinite(config.learning_rate)
            and config.learning_rate > 0):
        raise ValueError(f"the learning rate must be a positive number, got {config.learning_rate!r}")
    if not (isinstance(config.lr_decay, (int, float)) and 0 < config.lr_decay <= 1):
        raise ValueError(f"the rate's decay must be in (0, 1], got {config.lr_decay!r}")


# ---------------------------------------------------------------------------
# Matching neurons
# ---------------------------------------------------------------------------


def best_matching(score: np.ndarray) -> np.ndarray:
    """The one-to-one matching of rows to columns with the largest total score.

    The Hungarian algorithm (Kuhn 1955, Munkres 1957) in its O(n^2 m) form
    with potentials: rows are added one at a time, and each is placed by a
    shortest augmenting path (Dijkstra over the reduced costs
    ``cost[i, j] - u[i] - v[j]``, which the potentials keep non-negative),
    re-matching earlier rows along the path. After every row the matching is
    optimal for the rows placed so far, so after the last it is optimal.

    Parameters
    ----------
    score : array_like, shape (n, m), n <= m
        ``score[i, j]``: how good it is to match row i with column j.

    Returns
    -------
    numpy.ndarray
        int, shape (n,): row i is matched with column ``result[i]``; all
        different, and ``score[arange(n), result].sum()`` is the largest
        possible.
    """
    score = np.asarray(score, dtype=float)
    if score.ndim != 2 or score.shape[0] > score.shape[1]:
        raise ValueError(f"need an (n, m) score with n <= m, got shape {score.shape}")
    if not np.all(np.isfinite(score)):
        raise ValueError("the scores must be finite")
    n, m = score.shape
    cost = score.max(initial=0.0) - score  # minimising this maximises the score
    # 1-based as in the textbook form: column 0 is a virtual start, p[j] the row on column j (0 = none).
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=int)
    way = np.zeros(m + 1, dtype=int)
    for row in range(1, n + 1):
        p[0], j0 = row, 0
        min_reduced = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < min_reduced[1:])
            min_reduced[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, min_reduced[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[p[used]] += delta  # the rows on used columns are distinct
            v[used] -= delta
            min_reduced[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    matched = np.empty(n, dtype=int)
    for column in range(1, m + 1):
        if p[column]:
            matched[p[column] - 1] = column - 1
    return matched


def abs_correlations(a: np.ndarray, b: np.ndarray, pixels: Optional[np.ndarray] = None) -> np.ndarray:
    """``|correlation|`` between every weight image of ``a`` and every one of ``b``.

    Parameters
    ----------
    a, b : numpy.ndarray, shape (neurons, 784)
        First-layer weights of two runs, one row per hidden neuron.
    pixels : numpy.ndarray of bool, optional
        Use only these pixels.

    Returns
    -------
    numpy.ndarray
        ``(len(a), len(b))``, values in [0, 1]; 0 for a row without variation.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if pixels is not None:
        a, b = a[:, pixels], b[:, pixels]

    def standardise(w):
        w = w - w.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(w, axis=1, keepdims=True)
        return np.divide(w, norm, out=np.zeros_like(w), where=norm > 0)

    return np.clip(np.abs(standardise(a) @ standardise(b).T), 0.0, 1.0)


def matched_similarity(a: np.ndarray, b: np.ndarray, pixels: Optional[np.ndarray] = None) -> tuple[float, np.ndarray]:
    """Mean ``|correlation|`` of best-matched neurons of two runs, and the matching.

    Returns
    -------
    similarity : float
        Mean over the matched pairs.
    matching : numpy.ndarray
        Neuron i of ``a`` is matched with neuron ``matching[i]`` of ``b``.
    """
    score = abs_correlations(a, b, pixels)
    matching = best_matching(score)
    return float(score[np.arange(len(score)), matching].mean()), matching


def ink_pixels(images: np.ndarray, share: float = INK_SHARE) -> np.ndarray:
    """Pixels with ink (value > 0) in at least ``share`` of ``images``; bool, shape (784,)."""
    images = np.asarray(images)
    return ((images > 0).mean(axis=0) >= share).reshape(-1)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MinimaRun:
    """One run: its seed, test figures and first-layer weights (neurons x 784)."""

    seed: int
    test_accuracy: float
    test_cost: float
    weights: np.ndarray = field(repr=False)

    def to_json(self) -> dict:
        return {"seed": int(self.seed), "test_accuracy": _finite(self.test_accuracy),
                "test_cost": _finite(self.test_cost)}


@dataclass(frozen=True)
class MinimaResult:
    """All runs, and how alike their weights are after matching neurons.

    Attributes
    ----------
    layers : tuple of int
    epochs : int
    runs : tuple of MinimaRun
    ink : numpy.ndarray of bool
        The pixels that carry ink (shape (784,)).
    weight_similarity, weight_similarity_ink : float
        Mean matched ``|correlation|`` over all pairs of runs, over all
        pixels and over the inked ones (NaN with fewer than two runs).
    matchings : tuple of numpy.ndarray
        For each run, its neurons in the order matched to run 0's (run 0: 0, 1, 2, ...).
    finished : bool
        False for the snapshots handed to ``on_run`` while training.
    """

    layers: tuple
    epochs: int
    runs: tuple
    ink: np.ndarray = field(repr=False)
    weight_similarity: float = float("nan")
    weight_similarity_ink: float = float("nan")
    matchings: tuple = ()
    finished: bool = True

    @property
    def accuracies(self) -> np.ndarray:
        return np.array([run.test_accuracy for run in self.runs])

    @property
    def costs(self) -> np.ndarray:
        return np.array([run.test_cost for run in self.runs])

    @property
    def accuracy_spread(self) -> float:
        """Best minus worst test accuracy."""
        return float(np.ptp(self.accuracies)) if self.runs else float("nan")

    def aligned_weights(self, index: int) -> np.ndarray:
        """Run ``index``'s first-layer weights, neurons in the order matched to run 0's, for showing.

        A matched neuron whose weights correlate negatively with its partner
        is shown negated, so that alike images look alike (the matching
        scores ``|correlation|``: a neuron and its negative detect the same
        pattern, one lighting up where the other goes dark).
        """
        weights = self.runs[index].weights
        if index >= len(self.matchings):
            return weights
        aligned = weights[self.matchings[index]]
        reference = self.runs[0].weights
        dots = np.sum((aligned - aligned.mean(axis=1, keepdims=True))
                      * (reference - reference.mean(axis=1, keepdims=True)), axis=1)
        return aligned * np.where(dots < 0, -1.0, 1.0)[:, None]

    def to_json(self) -> dict:
        """The issue's keys: lesson, runs, accuracy_spread, weight_similarity, weight_similarity_ink."""
        return {
            "lesson": NAME,
            "runs": [run.to_json() for run in self.runs],
            "accuracy_spread": _finite(self.accuracy_spread),
            "weight_similarity": _finite(self.weight_similarity),
            "weight_similarity_ink": _finite(self.weight_similarity_ink),
        }

    def summary(self) -> str:
        """Three plain sentences for learners."""
        layers = "-".join(str(n) for n in self.layers)
        accuracies = self.accuracies
        text = (f"{len(self.runs)} runs of a {layers} network from different random starts, "
                f"{self.epochs} epochs each, read {accuracies.min():.1%} to {accuracies.max():.1%} "
                f"of 1,000 new digits right (a spread of {self.accuracy_spread * 100:.1f} points).")
        if math.isfinite(self.weight_similarity):
            text += (f" Yet their first-layer weights differ: even with neurons matched up as well as possible, "
                     f"the mean |correlation| is {self.weight_similarity:.2f} "
                     f"({self.weight_similarity_ink:.2f} over the pixels that carry ink), where 1.0 would "
                     "be the same weights. Equal quality, different minima.")
        return text


#: The contract's names for the lesson's config and result.
Config = MinimaConfig
Result = MinimaResult


def run(config: MinimaConfig, rng: np.random.Generator, progress=None, cancel=None,
        on_run: Optional[Callable[[MinimaResult], None]] = None) -> MinimaResult:
    """Train ``config.seeds`` networks from different starts and compare them.

    Parameters
    ----------
    config : MinimaConfig
    rng : numpy.random.Generator
        Draws each run's seed (and the training digits when ``train_size``
        is set); one seed gives one result.
    progress : callable, optional
        ``progress(fraction, message)`` after each epoch.
    cancel : callable, optional
        Polled every 100 mini-batches; when true, LessonCancelled is raised.
    on_run : callable, optional
        ``on_run(snapshot)`` after each run, with a MinimaResult of the runs
        so far and their matchings to run 0 (``finished=False``, no
        similarity yet; fresh objects each time, safe to keep on another thread).

    Returns
    -------
    MinimaResult
    """
    from digitlab.core.datasets import load_sample, one_hot, to_inputs
    from digitlab.core.network import Network

    check_config(config)
    data = config.data if config.data is not None else load_sample()
    images, labels = data.train_images, np.asarray(data.train_labels)
    if config.train_size is not None and config.train_size < len(labels):
        chosen = np.sort(rng.choice(len(labels), size=config.train_size, replace=False))
        images, labels = images[chosen], labels[chosen]
    inputs, targets = to_inputs(images), one_hot(labels, 10).astype(np.float32)
    val_inputs, val_labels = to_inputs(data.val_images), np.asarray(data.val_labels, dtype=np.int64)
    ink = ink_pixels(images)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=config.seeds)]
    n, size = len(labels), config.batch_size
    total_epochs = config.seeds * config.epochs
    layers = tuple(int(n) for n in config.layers)
    runs: list[MinimaRun] = []
    matchings: list[np.ndarray] = []  # each run's neurons in the order matched to run 0's
    for index, seed in enumerate(seeds):
        run_rng = np.random.default_rng(seed)
        network = Network.create(tuple(config.layers), config.activation, config.cost, rng=run_rng)
        targets = targets.astype(network.dtype, copy=False)
        for epoch in range(config.epochs):
            rate = config.learning_rate * config.lr_decay ** epoch
            order = run_rng.permutation(n)
            x, t = inputs[order], targets[order]
            for batch, start in enumerate(range(0, n, size)):
                if batch % 100 == 0:
                    check_cancel(cancel)
                network.train_step(x[start:start + size], t[start:start + size], rate)
            done = index * config.epochs + epoch + 1
            report(progress, 0.98 * done / total_epochs, f"run {index + 1} of {config.seeds}, epoch {epoch + 1}")
        test_cost, test_accuracy = network.evaluate(val_inputs, val_labels)
        weights = np.array(network.weights[0], dtype=np.float64)
        runs.append(MinimaRun(seed, float(test_accuracy), float(test_cost), weights))
        matchings.append(np.arange(len(weights)) if index == 0 else matched_similarity(runs[0].weights, weights)[1])
        if on_run is not None:
            on_run(MinimaResult(layers, config.epochs, tuple(runs), ink, matchings=tuple(matchings),
                                finished=False))
    check_cancel(cancel)
    report(progress, 0.99, "matching neurons")
    similarity, similarity_ink = _mean_pair_similarity(runs, ink)
    report(progress, 1.0, "done")
    return MinimaResult(layers, config.epochs, tuple(runs), ink, similarity, similarity_ink, tuple(matchings))


def _mean_pair_similarity(runs, ink) -> tuple[float, float]:
    """Mean matched |correlation| over all pairs of runs: over all pixels, and over inked ones."""
    pairs = [(a, b) for i, a in enumerate(runs) for b in runs[i + 1:]]
    if not pairs:
        return float("nan"), float("nan")
    every = [matched_similarity(a.weights, b.weights)[0] for a, b in pairs]
    inked = [matched_similarity(a.weights, b.weights, ink)[0] for a, b in pairs]
    return float(np.mean(every)), float(np.mean(inked))


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson minima``."""
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, metavar="K",
                        help=f"number of runs from different random starts (default: {DEFAULT_SEEDS}; "
                        f"--quick: {QUICK_SEEDS})")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, metavar="E",
                        help=f"epochs per run (default: {DEFAULT_EPOCHS}; --quick: {QUICK_EPOCHS})")


def config_from_args(args, network) -> MinimaConfig:
    """A checked MinimaConfig from the parsed options; ValueError (one line) if invalid."""
    config = MinimaConfig(seeds=args.seeds, epochs=args.epochs)
    check_config(config)
    return config


def weight_mosaic(weights: np.ndarray, columns: Optional[int] = None, gap: int = 1) -> np.ndarray:
    """Weight images (neurons x 784) tiled into one picture, NaN in the gaps.

    Returns
    -------
    numpy.ndarray
        ``(rows * (28 + gap) - gap, columns * (28 + gap) - gap)``.
    """
    weights = np.asarray(weights, dtype=float)
    count = len(weights)
    columns = columns or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / columns))
    step = 28 + gap
    mosaic = np.full((rows * step - gap, columns * step - gap), np.nan)
    for k, image in enumerate(weights.reshape(count, 28, 28)):
        r, c = divmod(k, columns)
        mosaic[r * step:r * step + 28, c * step:c * step + 28] = image
    return mosaic


def figure(result: MinimaResult) -> Figure:
    """Histograms of test accuracy and cost, then each run's first-layer weights, neurons matched to run 1."""
    accuracy = result.accuracies * 100
    low, high = float(accuracy.min()), float(accuracy.max())
    panels = [
        Panel("Test accuracy per run", xlabel="accuracy (%)", ylabel="runs",
              histograms=[Histogram.of(accuracy, "runs", bins=10, range=(low - 1, high + 1))], legend=False),
        Panel("Test cost per run", xlabel="mean cost", ylabel="runs",
              histograms=[Histogram.of(result.costs, "runs", bins=10, color="#d55e00")], legend=False),
    ]
    for index, run_result in enumerate(result.runs):
        panels.append(Panel(f"run {index + 1}: {run_result.test_accuracy:.1%}",
                            image=Image(weight_mosaic(result.aligned_weights(index)), diverging=True),
                            legend=False, axes=False, equal_aspect=True))
    return Figure("Many minima: equal quality, different weights (layer 1; neurons matched to run 1's, "
                  "in order and sign)",
                  panels, columns=min(5, len(panels)), notes=[result.summary()])


def _finite(value: float):
    return value if math.isfinite(value) else None
