"""The cost landscape: a 2-D slice of the real network's 13,002-dimensional cost.

The claim
---------
The video's cost is "a function of all 13,002 weights and biases", which no
one can picture; a slice of it can be (Li et al. 2018, *Visualizing the Loss
Landscape of Neural Nets*, arXiv 1712.09913). The trained weights sit at the
bottom of a valley: the slice's centre is its lowest point and the cost rises
towards every edge. Two seeds end in two valleys with a ridge (a barrier)
between them on the straight line, mostly because their hidden neurons come
in a different order: reordered to match, the ridge shrinks several times.

What is measured
----------------
``C(w + a*d1 + b*d2)`` on a ``grid x grid`` lattice of ``a, b`` in
``[-span, span]``; C is the network's own cost (:meth:`Network.cost_value`:
half the squared error summed over the outputs, averaged over the digits,
for the sigmoid network; cross-entropy for softmax). Each grid point is one
batched forward pass, through the flat parameter buffer, over a fixed subset:
the first ``n_examples`` (1,000) digits of the bundled sample's **validation**
part, never trained on (``part="train"``: the training part's first digits).

- ``"random"`` directions are filter-normalised (Li et al.): a normal random
  direction per weight matrix, each row (one neuron's incoming weights)
  rescaled to the length of that row of the weights, so a step of 1 moves
  every neuron by as much as its own weights. The biases' parts are zero, as
  in Li et al. ``span`` is in these units.
- ``"trajectory"``: a fresh network of the model's architecture is trained
  with the video recipe (mini-batches of 10, rate 3.0 for the squared error,
  0.2 for cross-entropy) for ``epochs`` epochs on the training part, with a
  snapshot at the start and after each epoch. The centre is its final
  weights (the model's own path was not kept), the directions the first two
  principal components of the snapshots minus the final weights (unit
  vectors over all parameters), and the path is drawn on the plane. ``span``
  is a Euclidean length, by default the path's extent with a margin.

The 1-D line: two fresh networks of that recipe from two seeds, the cost on
``(1 - t) * w_A + t * w_B`` for t in [-0.25, 1.25], and again with B's
neurons reordered to match A's (:func:`align_neurons`). ``barrier``: the
line's largest rise above the chord joining its ends at t = 0 and 1.

Measured here (BLAS on one thread): a 21x21 grid on 1,000 digits takes 0.2-0.3 s,
the whole run with the two 8-epoch trainings under 2 s. Shipped model, seed 0:
the centre is the minimum, the border's mean 6.9 times the centre. Over 20
seeds at ``span`` 0.5 the border is 4 to 8 times the centre, and a point a
step away is at most 1.6% lower. Why 0.5: at 0.25 the border is only ~2.5 times
the centre; 0.5 shows the valley's walls with a step (0.05) fine enough for its
floor. On the training digits the centre is up to 2-3% above the lowest point:
the model was trained with weight decay, which holds the weights a little short
of the training cost's own minimum. The line's barrier, 4 seeds: 0.30-0.36
straight, 0.05-0.11 with the neurons matched.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, check_whole, report
from digitlab.core.lessons.figure import Figure, Image, Line, Panel, VLine

NAME = "landscape"
CLAIM = "A slice of the real network's cost: the trained weights sit at the bottom of a valley."
USES_MODEL = True

DIRECTIONS = ("random", "trajectory")
PARTS = ("val", "train")
DEFAULT_GRID = 21
QUICK_GRID = 9
MAX_GRID = 201
#: In filter-normalised units (see the module's notes for why 0.5).
DEFAULT_SPAN = 0.5
DEFAULT_EXAMPLES = 1000
QUICK_EXAMPLES = 500
DEFAULT_EPOCHS = 8
QUICK_EPOCHS = 3
QUICK_TRAIN_SIZE = 2000
#: The trajectory plane's default span is the path's extent times this.
PATH_MARGIN = 1.25
#: The 1-D line runs over t in [LINE_RANGE[0], LINE_RANGE[1]] (0 = network A, 1 = network B).
LINE_RANGE = (-0.25, 1.25)
DEFAULT_LINE_POINTS = 31


@dataclass
class LandscapeConfig:
    """One slice of the cost.

    Attributes
    ----------
    network : Network, optional
        The model whose cost is sliced; None means the shipped model.
    grid : int
        Points per side, odd (the current weights are the centre).
    span : float, optional
        The grid covers ``[-span, span]`` both ways; None: 0.5 (random), the path's extent (trajectory).
    directions : {"random", "trajectory"}
    n_examples : int
        The evaluation subset: the first this-many digits of ``part`` ("val" or "train").
    epochs, train_size : int
        Epochs of each fresh training run, on the first ``train_size`` training digits (None: all).
    line, line_points : bool, int
        Also train two networks and compute the 1-D line between them, at this many points.
    data : DataSplit, optional
        Digits to use; None means the bundled sample.
    """

    network: Optional[object] = field(default=None, repr=False)
    grid: int = DEFAULT_GRID
    span: Optional[float] = None
    directions: str = "random"
    n_examples: int = DEFAULT_EXAMPLES
    part: str = "val"
    epochs: int = DEFAULT_EPOCHS
    train_size: Optional[int] = None
    line: bool = True
    line_points: int = DEFAULT_LINE_POINTS
    data: Optional[object] = field(default=None, repr=False)

    @classmethod
    def quick(cls) -> "LandscapeConfig":
        """The --quick run: a 9x9 grid on 500 digits, training runs of 3 epochs on 2,000 digits."""
        return cls(grid=QUICK_GRID, n_examples=QUICK_EXAMPLES, epochs=QUICK_EPOCHS, train_size=QUICK_TRAIN_SIZE)


def check_config(config: LandscapeConfig) -> None:
    """Raise ValueError (one line) if ``config`` cannot be run."""
    check_whole(config.grid, "the grid size", 3, MAX_GRID)
    if config.grid % 2 == 0:
        raise ValueError(f"the grid size must be odd, so the current weights are its centre; got {config.grid}")
    span = config.span
    if span is not None and not (isinstance(span, (int, float)) and math.isfinite(span) and span > 0):
        raise ValueError(f"the span must be a positive number, got {config.span!r}")
    for name, value, choices in (("directions", config.directions, DIRECTIONS), ("part", config.part, PARTS)):
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    check_whole(config.n_examples, "the number of examples", 1, 1_000_000)
    check_whole(config.epochs, "the number of epochs", 1, 1000)
    check_whole(config.line_points, "the number of line points", 3, 1001)
    if config.train_size is not None:
        check_whole(config.train_size, "the training size", 10, 10_000_000)


@dataclass(frozen=True)
class LandscapeResult:
    """A computed slice, and the line between two trained networks.

    Attributes
    ----------
    grid, span, directions, n_examples, part
        As run (``span`` the one used).
    coords : numpy.ndarray
        The ``grid`` coordinates along each direction, ``-span`` to ``span``.
    costs : numpy.ndarray
        ``(grid, grid)``; ``costs[i, j]`` is the cost at ``a = coords[j]`` (across), ``b = coords[i]`` (up).
    path, explained : numpy.ndarray or None
        Trajectory mode: the path's ``(snapshots, 2)`` coordinates, and its variance's share per direction.
    line_t, line_costs, aligned_costs : numpy.ndarray or None
        The 1-D line's ``t`` (0: network A, 1: network B), its costs, and those with B's neurons matched to A's.
    seconds : float
        Time spent on the grid alone.
    """

    grid: int
    span: float
    directions: str
    n_examples: int
    part: str
    coords: np.ndarray
    costs: np.ndarray
    path: Optional[np.ndarray] = None
    explained: Optional[np.ndarray] = None
    line_t: Optional[np.ndarray] = None
    line_costs: Optional[np.ndarray] = None
    aligned_costs: Optional[np.ndarray] = None
    seconds: float = 0.0

    @property
    def center_cost(self) -> float:
        middle = self.grid // 2
        return float(self.costs[middle, middle])

    @property
    def min_cost(self) -> float:
        return float(np.min(self.costs))

    @property
    def edge_cost_mean(self) -> float:
        """Mean cost over the grid's border (each border point once)."""
        c = self.costs
        border = np.concatenate([c[0], c[-1], c[1:-1, 0], c[1:-1, -1]])
        return float(border.mean())

    @property
    def barrier(self) -> Optional[float]:
        """Highest rise of the line, for t in [0, 1], above the straight line joining its ends."""
        return None if self.line_t is None else _rise(self.line_t, self.line_costs)

    @property
    def aligned_barrier(self) -> Optional[float]:
        """The same for the line to network B with its neurons matched to A's."""
        return None if self.aligned_costs is None else _rise(self.line_t, self.aligned_costs)

    def to_json(self) -> dict:
        """The issue's keys, exactly."""
        return {"lesson": NAME, "grid": int(self.grid), "span": float(self.span), "directions": self.directions,
                "n_examples": int(self.n_examples), "center_cost": self.center_cost, "min_cost": self.min_cost,
                "edge_cost_mean": self.edge_cost_mean, "costs": self.costs.tolist()}

    def summary(self) -> str:
        """A few plain sentences for learners."""
        where = "validation digits (never trained on)" if self.part == "val" else "training digits"
        how = ("two random directions, each neuron's part scaled to that neuron's weights"
               if self.directions == "random" else "the plane of a training run's path")
        text = (f"A {self.grid}x{self.grid} slice of the cost on {self.n_examples:,} {where}, along {how}, "
                f"{self.span:.3g} each way. The cost at the centre is {self.center_cost:.4f}; "
                f"the lowest on the slice is {self.min_cost:.4f}, the border's mean {self.edge_cost_mean:.4f} "
                f"({self.edge_cost_mean / self.center_cost:.1f} times the centre).")
        if self.center_cost <= self.min_cost * 1.01:
            text += " The weights sit at the bottom of the valley."
        if self.barrier is not None:
            text += (f" On the straight line between two networks trained from different seeds the cost rises "
                     f"{self.barrier:.4f} above the line joining their costs"
                     + (": a barrier separates their valleys." if self.barrier > 0.01 * self.line_costs.min()
                        else ", so no barrier to speak of."))
            text += (f" With the second network's neurons put in the first one's order (the same function) "
                     f"it rises only {self.aligned_barrier:.4f}.")
        return text


Config = LandscapeConfig
Result = LandscapeResult


def evaluation_subset(data, n_examples: int, part: str, outputs: int = 10):
    """The first ``n_examples`` digits of ``part`` as network inputs and one-hot targets (float32)."""
    from digitlab.core.datasets import one_hot, to_inputs

    images, labels = (data.val_images, data.val_labels) if part == "val" else (data.train_images, data.train_labels)
    if n_examples > len(labels):
        raise ValueError(f"the {part} part has only {len(labels):,} digits, asked for {n_examples:,}")
    return to_inputs(images[:n_examples]), one_hot(labels[:n_examples], outputs).astype(np.float32)


def cost_at(network, parameters: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> float:
    """The network's mean cost on ``inputs`` with its flat parameter buffer set to ``parameters``.

    ``network`` is changed (its parameters stay at ``parameters``): pass a copy.
    """
    np.copyto(network.parameters, parameters, casting="unsafe")
    return network.cost_value(network.forward(inputs)[-1], targets)


def filter_normalised_direction(network, rng: np.random.Generator) -> np.ndarray:
    """A random direction, shaped like ``network.parameters``, filter-normalised (Li et al. 2018).

    The part of weight matrix ``l``, row ``j`` has the length of
    ``network.weights[l][j]``; the biases' part is zero.
    """
    direction = np.zeros(network.parameters.shape, dtype=np.float64)
    offset = 0
    for w in network.weights:  # the flat buffer holds the weights first, layer by layer
        random = rng.standard_normal(w.shape)
        norms = np.linalg.norm(random, axis=1, keepdims=True)
        random *= np.linalg.norm(np.asarray(w, dtype=np.float64), axis=1, keepdims=True) / np.maximum(norms, 1e-300)
        direction[offset:offset + w.size] = random.ravel()
        offset += w.size
    return direction


def path_plane(snapshots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The plane of a path's first two principal components, through its last point.

    ``snapshots`` is ``(k, P)``, k >= 3 flat parameter vectors in the order
    visited. Returns orthonormal directions ``d1, d2`` (P,), the ``(k, 2)``
    coordinates of each snapshot minus the last on them, and the share of
    ``sum ||snapshot - last||^2`` along each.
    """
    snapshots = np.asarray(snapshots, dtype=np.float64)
    if snapshots.ndim != 2 or len(snapshots) < 3:
        raise ValueError("need at least three snapshots to find a plane")
    offsets = snapshots - snapshots[-1]
    # Centred on the final weights, as Li et al.: the plane must pass through the slice's centre.
    _, singular, vt = np.linalg.svd(offsets[:-1], full_matrices=False)
    d1, d2 = vt[0], vt[1]
    total = float(np.sum(singular ** 2))
    explained = singular[:2] ** 2 / total if total > 0 else np.zeros(2)
    return d1, d2, offsets @ np.stack([d1, d2], axis=1), explained


def train_run(sizes, activation: str, cost: str, data, epochs: int, rng: np.random.Generator,
              train_size: Optional[int] = None, cancel=None, progress=None) -> tuple[object, np.ndarray]:
    """A fresh network trained with the video recipe, and its flat parameters (float64) per epoch.

    Mini-batches of 10 at :data:`digitlab.core.training.DEFAULT_LEARNING_RATES`, on the
    first ``train_size`` training digits (all when None). The snapshots are
    ``(epochs + 1, P)``: the start, then after each epoch.
    """
    from digitlab.core.datasets import one_hot, to_inputs
    from digitlab.core.network import Network
    from digitlab.core.training import DEFAULT_LEARNING_RATES

    n = len(data.train_labels) if train_size is None else min(train_size, len(data.train_labels))
    x = to_inputs(data.train_images[:n])
    t = one_hot(data.train_labels[:n], sizes[-1]).astype(np.float32)
    network = Network.create(sizes, activation, cost, rng=rng)
    rate, batch = DEFAULT_LEARNING_RATES[cost], 10
    snapshots = [network.parameters.astype(np.float64)]
    for epoch in range(epochs):
        check_cancel(cancel)
        order = rng.permutation(n)
        for start in range(0, n, batch):
            chosen = order[start:start + batch]
            network.train_step(x[chosen], t[chosen], rate)
        snapshots.append(network.parameters.astype(np.float64))
        if progress is not None:
            progress((epoch + 1) / epochs)
    return network, np.stack(snapshots)


def slice_costs(network, center: np.ndarray, d1: np.ndarray, d2: np.ndarray, coords: np.ndarray,
                inputs: np.ndarray, targets: np.ndarray, cancel=None, progress=None) -> np.ndarray:
    """``costs[i, j] = C(center + coords[j] * d1 + coords[i] * d2)``, a row at a time.

    ``network`` is used as scratch (pass a copy). ``cancel()`` is polled
    before every row and ``progress(rows_done / rows)`` called after it.
    """
    g = len(coords)
    costs = np.empty((g, g))
    point = np.empty_like(center, dtype=np.float64)
    for i, b in enumerate(coords):
        check_cancel(cancel)
        row_base = center + b * d2
        for j, a in enumerate(coords):
            np.multiply(d1, a, out=point)
            point += row_base
            costs[i, j] = cost_at(network, point, inputs, targets)
        if progress is not None:
            progress((i + 1) / g)
    return costs


def line_between(network, a: np.ndarray, b: np.ndarray, inputs: np.ndarray, targets: np.ndarray,
                 points: int = DEFAULT_LINE_POINTS, t_range=LINE_RANGE, cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """The cost along the straight line ``(1 - t) * a + t * b`` between two flat parameter vectors.

    Returns ``t`` (``points`` positions in ``t_range``) and the cost at each.
    """
    t = np.linspace(t_range[0], t_range[1], points)
    costs = np.empty(points)
    for k, value in enumerate(t):
        check_cancel(cancel)
        costs[k] = cost_at(network, (1 - value) * a + value * b, inputs, targets)
    return t, costs


def align_neurons(reference, other):
    """A copy of ``other`` with its hidden neurons reordered to match ``reference``'s.

    Swapping two hidden neurons (rows in one layer, columns in the next)
    changes nothing the network computes. Layer by layer, neurons are matched
    one to one for the largest summed correlation of their incoming weights
    and bias (:func:`minima.best_matching`); the copy computes what ``other`` does.
    """
    from digitlab.core.lessons.minima import best_matching

    def standardised(w, b):
        rows = np.hstack([w, b[:, None]]).astype(np.float64)
        rows -= rows.mean(axis=1, keepdims=True)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-300)

    weights, biases = [w.copy() for w in other.weights], [b.copy() for b in other.biases]
    for layer in range(len(weights) - 1):
        score = standardised(reference.weights[layer], reference.biases[layer]) @ \
            standardised(weights[layer], biases[layer]).T
        order = best_matching(score)
        weights[layer], biases[layer] = weights[layer][order], biases[layer][order]
        weights[layer + 1] = weights[layer + 1][:, order]
    aligned = other.copy()
    aligned.set_parameters(weights, biases)
    return aligned


def run(config: LandscapeConfig, rng: np.random.Generator, progress=None, cancel=None) -> LandscapeResult:
    """Compute the slice (and the 1-D line) described by ``config``.

    ``rng`` draws the random directions (first) and seeds the training runs.
    ``progress(fraction, message)`` comes after every epoch and grid row;
    ``cancel()`` is polled before each epoch, grid row and line point.
    """
    from digitlab.core.datasets import load_sample

    check_config(config)
    network = config.network if config.network is not None else _shipped_network()
    data = config.data if config.data is not None else load_sample()
    inputs, targets = evaluation_subset(data, config.n_examples, config.part, network.sizes[-1])
    path = explained = None
    if config.directions == "random":
        # Drawn before any training, so the slice is the same with or without the line.
        center = network.parameters.astype(np.float64)
        d1 = filter_normalised_direction(network, rng)
        d2 = filter_normalised_direction(network, rng)
        span = DEFAULT_SPAN if config.span is None else float(config.span)
    recipe = (network.sizes, network.activation, network.cost)
    # Share of the work per stage, so the bar moves evenly: training runs, then grid rows.
    runs = 2 if config.line else int(config.directions == "trajectory")
    train_share = 0.3 * runs
    trained = []
    for index in range(runs):
        report(progress, train_share * index / runs, f"training network {index + 1} of {runs}")
        def epoch_done(fraction, index=index):
            report(progress, train_share * (index + fraction) / runs,
                   f"training network {index + 1} of {runs}: epoch {round(fraction * config.epochs)}")
        trained.append(train_run(*recipe, data, config.epochs, rng, config.train_size, cancel, epoch_done))

    scratch = network.copy()
    if config.directions == "trajectory":
        snapshots = trained[0][1]
        center = snapshots[-1]
        d1, d2, path, explained = path_plane(snapshots)
        span = float(config.span) if config.span is not None else PATH_MARGIN * float(np.max(np.abs(path)))

    coords = np.linspace(-span, span, config.grid)
    started = time.perf_counter()
    costs = slice_costs(scratch, center, d1, d2, coords, inputs, targets, cancel,
                        lambda f: report(progress, train_share + (1 - train_share) * f * (0.95 if config.line else 1),
                                         f"grid row {round(f * config.grid)} of {config.grid}"))
    seconds = time.perf_counter() - started
    line_t = line_costs = aligned_costs = None
    if config.line:
        (first, path_a), (second, _) = trained
        line_t, line_costs = line_between(scratch, path_a[-1], second.parameters.astype(np.float64), inputs,
                                          targets, config.line_points, cancel=cancel)
        aligned = align_neurons(first, second).parameters.astype(np.float64)
        _, aligned_costs = line_between(scratch, path_a[-1], aligned, inputs, targets, config.line_points,
                                        cancel=cancel)
    report(progress, 1.0, "done")
    return LandscapeResult(
        grid=config.grid, span=span, directions=config.directions, n_examples=config.n_examples, part=config.part,
        coords=coords, costs=costs, path=path, explained=explained, line_t=line_t, line_costs=line_costs,
        aligned_costs=aligned_costs, seconds=seconds,
    )


def _rise(t: np.ndarray, costs: np.ndarray) -> float:
    inside = (t >= 0) & (t <= 1)
    t, c = t[inside], costs[inside]
    return float(np.max(c - np.interp(t, [t[0], t[-1]], [c[0], c[-1]])))


def _shipped_network():
    from digitlab.core.model_io import load_default_model

    return load_default_model()[0]


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson landscape``."""
    parser.add_argument("--grid", type=int, default=DEFAULT_GRID, metavar="N",
                        help=f"points per side of the grid, odd (default: {DEFAULT_GRID}; --quick: {QUICK_GRID})")
    parser.add_argument("--span", type=float, default=None, metavar="S",
                        help=f"the grid covers -S..S along both directions (default: {DEFAULT_SPAN} for random "
                        "directions, in units of the filter-normalised direction; for trajectory, the path's extent)")
    parser.add_argument("--directions", choices=DIRECTIONS, default="random",
                        help="filter-normalised random directions, or the plane of a training path (default: random)")


def config_from_args(args, network) -> LandscapeConfig:
    """A checked LandscapeConfig from the parsed options; ValueError (one line) if invalid."""
    config = LandscapeConfig(network=network, grid=args.grid, span=args.span, directions=args.directions)
    check_config(config)
    return config


def figure(result: LandscapeResult) -> Figure:
    """The slice as a heat map of log10 cost (with the path in trajectory mode), and the 1-D line."""
    s = result.span
    step = (result.coords[1] - result.coords[0]) / 2  # pixels are centred on the grid points
    lines = [Line("current weights", [0.0], [0.0], color="#ffffff", points=True)]
    if result.path is not None:
        lines.insert(0, Line("training path", result.path[:, 0], result.path[:, 1], color="#e69f00", points=True))
    axis = "filter-normalised direction" if result.directions == "random" else "principal component"
    panels = [Panel("log10 of the cost", xlabel=f"{axis} 1", ylabel=f"{axis} 2", lines=lines,
                    image=Image(np.log10(result.costs), extent=(-s - step, s + step, -s - step, s + step),
                                origin="lower"), equal_aspect=True)]
    if result.line_t is not None:
        lines = [Line("cost along the line", result.line_t, result.line_costs),
                 Line("B's neurons reordered to match A's", result.line_t, result.aligned_costs, dashed=True)]
        panels.append(Panel("From one trained network to another", xlabel="t (0: seed A, 1: seed B)", ylabel="cost",
                            lines=lines, vlines=[VLine(0.0, "A"), VLine(1.0, "B")]))
    return Figure(f"The cost around the weights ({result.directions} directions)", panels, notes=[result.summary()])
