"""The cost landscape: a 2-D slice of the real network's 13,002-dimensional cost.

The claim
---------
3Blue1Brown's video calls the cost "a function of all 13,002 weights and
biases", which no one can picture. A slice of it can be pictured: pick two
directions in weight space and draw the cost on the plane through the current
weights (Li et al. 2018, *Visualizing the Loss Landscape of Neural Nets*,
arXiv 1712.09913). For the trained network the current weights lie at the
bottom of a valley: the centre of the slice is its lowest point and the cost
rises towards every edge. Two networks trained from different seeds each sit
in their own valley; the straight line between them usually climbs over a
ridge (a barrier), partly because their hidden neurons come in a different
order.

What is measured
----------------
``cost(a, b) = C(w + a*d1 + b*d2)`` on a ``grid x grid`` lattice of
``a, b`` in ``[-span, span]``, where C is the network's own cost
(:meth:`Network.cost_value`: half the squared error summed over the outputs,
averaged over the digits, for the video's sigmoid network; cross-entropy for
a softmax one). Every grid point is one batched forward pass over a fixed
evaluation subset: the first ``n_examples`` (1,000) digits of the bundled
sample's **validation** part (digits the shipped model never trained on;
``part="train"`` takes the first digits of the training part instead).

Directions (``directions``):

- ``"random"``: filter-normalised random directions (Li et al.). A normal
  random direction is drawn for every weight matrix, then each row (one
  neuron's incoming weights) is rescaled to the length of the same row of
  the network's weights. A step of 1 along it therefore changes every neuron
  by as much as its own weights, whatever their scale, so slices of
  different networks are comparable. The biases' parts of both directions are
  zero, as in Li et al. (they add little and have no row to normalise by).
  ``span`` is in these units.
- ``"trajectory"``: the plane of a training path. A fresh network of the
  model's architecture is trained with the video recipe (mini-batches of 10,
  rate 3.0 for the squared error, 0.2 for cross-entropy) for ``epochs`` epochs
  on the bundled training part, keeping a snapshot of all its parameters at
  the start and after every epoch. The centre is its final weights (not the
  model's: the model's own path is not kept), the directions are the first
  two principal components of the snapshots minus the final weights (unit
  vectors over all weights and biases), and the path is drawn projected on
  the plane. ``span`` is then a plain Euclidean length; by default it covers
  the path with a margin.

The 1-D line (:func:`line_between`): two fresh networks trained with the
same recipe from two seeds, and the cost along ``(1 - t) * w_A + t * w_B``
for ``t`` in [-0.25, 1.25]. ``barrier`` is how far the line rises above the
straight line joining its two ends.

Measured here (2 cores, BLAS on one thread): a 21x21 grid on 1,000 digits
takes about 0.3 s. For the shipped model with seed 0 the centre is the
slice's minimum and the border's mean cost is several times the centre's
(about 4 to 8 times over 20 seeds at ``span`` 0.5). Why 0.5: at 0.25 the
border is only about 2.5 times the centre; from 0.5 on the grid is wide
enough to show the valley's walls and still fine enough (a step of 0.05) to
show its floor. On the training digits the centre is not quite the lowest
point (up to 2-3% lower a step away): the shipped model was trained with
weight decay, which holds the weights a little short of the training cost's
own minimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from digitlab.core.lessons.base import check_cancel, report
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
        Points per side of the square grid (odd, so the centre is on it).
    span : float, optional
        The grid covers ``[-span, span]`` along both directions; None for the
        default (0.5 for random directions, the path's extent for trajectory).
    directions : {"random", "trajectory"}
    n_examples : int
        Size of the fixed evaluation subset (the first digits of ``part``).
    part : {"val", "train"}
        Which part of the bundled sample the subset comes from.
    epochs : int
        Epochs of each fresh training run (the trajectory and the two line ends).
    train_size : int, optional
        Train those runs on only the first this-many training digits; None for all 9,000.
    line : bool
        Also train two networks and compute the 1-D line between them.
    line_points : int
        Points along that line.
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
    def whole(value, low, high, name):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")

    whole(config.grid, 3, MAX_GRID, "the grid size")
    if config.grid % 2 == 0:
        raise ValueError(f"the grid size must be odd, so the current weights are its centre; got {config.grid}")
    if config.span is not None and not (isinstance(config.span, (int, float)) and math.isfinite(config.span)
                                        and config.span > 0):
        raise ValueError(f"the span must be a positive number, got {config.span!r}")
    if config.directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, got {config.directions!r}")
    if config.part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {config.part!r}")
    whole(config.n_examples, 1, 1_000_000, "the number of examples")
    whole(config.epochs, 1, 1000, "the number of epochs")
    whole(config.line_points, 3, 1001, "the number of line points")
    if config.train_size is not None:
        whole(config.train_size, 10, 10_000_000, "the training size")


@dataclass(frozen=True)
class LandscapeResult:
    """A computed slice, and the line between two trained networks.

    Attributes
    ----------
    grid : int
    span : float
    directions : str
    n_examples : int
    part : str
    coords : numpy.ndarray
        The grid's ``grid`` coordinates along each direction, ``-span`` to ``span``.
    costs : numpy.ndarray
        ``(grid, grid)``; ``costs[i, j]`` is the cost at ``a = coords[j]``
        (first direction, across) and ``b = coords[i]`` (second, up).
    path : numpy.ndarray or None
        Trajectory mode: ``(snapshots, 2)``, the path's coordinates in the plane.
    explained : numpy.ndarray or None
        Trajectory mode: share of the path's variance along each of the two directions.
    line_t, line_costs : numpy.ndarray or None
        The 1-D line: positions ``t`` (0 = network A, 1 = network B) and costs.
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
        if self.line_t is None:
            return None
        inside = (self.line_t >= 0) & (self.line_t <= 1)
        t, c = self.line_t[inside], self.line_costs[inside]
        ends = np.interp(t, [t[0], t[-1]], [c[0], c[-1]])
        return float(np.max(c - ends))

    def to_json(self) -> dict:
        """The issue's keys, exactly."""
        return {
            "lesson": NAME,
            "grid": int(self.grid),
            "span": float(self.span),
            "directions": self.directions,
            "n_examples": int(self.n_examples),
            "center_cost": self.center_cost,
            "min_cost": self.min_cost,
            "edge_cost_mean": self.edge_cost_mean,
            "costs": self.costs.tolist(),
        }

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
            text += (f" Between two networks trained from different seeds the cost rises by {self.barrier:.4f} "
                     "above the straight line joining them" + (": a barrier separates their valleys."
                                                               if self.barrier > 0.01 * self.line_costs.min()
                                                               else ", so no barrier to speak of."))
        return text


Config = LandscapeConfig
Result = LandscapeResult


# ---------------------------------------------------------------------------
# The pieces
# ---------------------------------------------------------------------------


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
    """A random direction over the flat parameters, each weight row scaled to that row's norm.

    Parameters
    ----------
    network : Network
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        Shaped like ``network.parameters``. The part of weight matrix ``l``,
        row ``j`` has the length of ``network.weights[l][j]``; the biases'
        part is zero (Li et al. 2018).
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

    Parameters
    ----------
    snapshots : numpy.ndarray
        ``(k, P)``, k >= 3 flat parameter vectors in the order visited.

    Returns
    -------
    d1, d2 : numpy.ndarray
        Orthonormal directions, shape (P,).
    coords : numpy.ndarray
        ``(k, 2)``: each snapshot minus the last, projected on (d1, d2).
    explained : numpy.ndarray
        Share of ``sum ||snapshot - last||^2`` along d1 and d2.
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
    """Train a fresh network with the video recipe; return it and its flat parameters per epoch.

    Mini-batches of 10 at :data:`digitlab.core.training.DEFAULT_LEARNING_RATES` for the cost,
    on the first ``train_size`` training digits (all when None).

    Returns
    -------
    network : Network
    snapshots : numpy.ndarray
        ``(epochs + 1, P)`` float64: the start, then after each epoch.
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

    Returns
    -------
    t, costs : numpy.ndarray
        ``points`` positions in ``t_range`` (0 and 1 among them when the
        spacing allows) and the cost at each.
    """
    t = np.linspace(t_range[0], t_range[1], points)
    costs = np.empty(points)
    for k, value in enumerate(t):
        check_cancel(cancel)
        costs[k] = cost_at(network, (1 - value) * a + value * b, inputs, targets)
    return t, costs


# ---------------------------------------------------------------------------
# The lesson
# ---------------------------------------------------------------------------


def run(config: LandscapeConfig, rng: np.random.Generator, progress=None, cancel=None) -> LandscapeResult:
    """Compute the slice (and the 1-D line) described by ``config``.

    Parameters
    ----------
    config : LandscapeConfig
    rng : numpy.random.Generator
        Draws the random directions and seeds the training runs.
    progress : callable, optional
        ``progress(fraction, message)`` after every epoch and every grid row.
    cancel : callable, optional
        Polled before every epoch, grid row and line point.

    Returns
    -------
    LandscapeResult
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
    runs = (2 if config.line else 0) if config.directions == "random" else (2 if config.line else 1)
    train_share = 0.6 * runs / 2 if runs else 0.0
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
    line_t = line_costs = None
    if config.line:
        line_t, line_costs = line_between(scratch, trained[0][1][-1], trained[1][1][-1], inputs, targets,
                                          config.line_points, cancel=cancel)
    report(progress, 1.0, "done")
    return LandscapeResult(
        grid=config.grid, span=span, directions=config.directions, n_examples=config.n_examples, part=config.part,
        coords=coords, costs=costs, path=path, explained=explained, line_t=line_t, line_costs=line_costs,
        seconds=seconds,
    )


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
        panels.append(Panel("From one trained network to another", xlabel="t (0: seed A, 1: seed B)",
                            ylabel="cost", lines=[Line("cost along the line", result.line_t, result.line_costs)],
                            vlines=[VLine(0.0, "A"), VLine(1.0, "B")]))
    return Figure(f"The cost around the weights ({result.directions} directions)", panels, notes=[result.summary()])
