"""Gradient descent in one and two dimensions: a ball rolling downhill.

The claim, in the words of 3Blue1Brown's "Gradient descent, how neural networks
learn": to find a low point of a cost, start anywhere, find the slope, and step
downhill, against the slope; repeat. Steps proportional to the slope shrink as
the ground flattens, so the ball settles instead of overshooting. With two
inputs the gradient points uphill, so step along minus the gradient. Where the
ball settles depends on where it started: a local minimum need not be the
global one.

What is measured
----------------
A ball released at ``start`` takes up to ``steps`` steps on one of the cost
functions in :data:`FUNCTIONS`::

    x <- x - lr * f'(x)                        plain gradient descent
    v <- m * v - lr * f'(x);   x <- x + v      with momentum m (v starts at 0)

Every position and its cost are recorded. The run stops early once the ball has
converged or diverged; :func:`classify` then names what happened, checking
these rules in order (``g`` is the gradient, "recent" the last
:data:`WINDOW` steps):

``"diverged"``
    The position or its cost became non-finite, or the ball went past the
    domain by 10x: more than ten half-widths from the domain's centre on some
    axis, or a cost over ten times the highest cost on the domain.
``"converged"``
    The gradient norm fell below :data:`GRADIENT_TOLERANCE` (1e-4). With
    momentum the ball must also have stopped: its next step ``m v - lr g`` is
    shorter than ``lr * 1e-4``. (A hilltop is flat too; the summary says which
    valley floor, if any, the ball reached.)
``"overshooting"``
    At least half of the recent steps point back against the step before (the
    ball keeps jumping across the valley floor), or some recent step went
    uphill (it bounced past a valley floor and up the other side).
    For f(x) = x^2 steps reverse when lr > 0.5; at lr = 1 the ball jumps
    x -> -x forever, above 1 it flies off.
``"crawling"``
    The slope under the ball changes by less than :data:`CRAWL_CHANGE` (2%)
    per recent step, ``|g_new - g_old| < 0.02 |g_old|``. That change is about
    ``lr`` times the curvature, so the rate is tiny relative to the curvature.
``"rolling"``
    None of these yet: still going downhill at a useful pace. More steps help.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from digitlab.core.lessons.base import check_cancel, report
from digitlab.core.lessons.figure import Figure, Image, Line, Panel

NAME = "descent"
CLAIM = "Stepping against the slope rolls a ball downhill; the rate decides between crawling, converging, overshooting and diverging."
USES_MODEL = False

#: "Converged" when the gradient norm is below this (the issue's 1e-4).
GRADIENT_TOLERANCE = 1e-4
#: "Crawling" when the gradient changes by less than this fraction per step.
CRAWL_CHANGE = 0.02
#: Recent steps looked at by :func:`classify`.
WINDOW = 10
#: "Diverged" past this many times the domain (positions and costs).
DIVERGE_FACTOR = 10.0
OUTCOMES = ("converged", "diverged", "overshooting", "crawling", "rolling")
MAX_STEPS = 100_000


@dataclass(frozen=True)
class CostFunction:
    """A cost of one or two inputs, its exact gradient and where to draw it.

    ``value(p)`` and ``gradient(p)`` take ``p`` of shape ``(..., dim)`` and
    return shapes ``(...)`` and ``(..., dim)``, so one call evaluates a whole
    grid or many balls. ``minima`` lists the valley floors, the lowest first
    (found with Newton's method; the tests check that the gradient vanishes).
    """

    name: str
    title: str
    formula: str
    domain: tuple[tuple[float, float], ...]
    start: tuple[float, ...]
    lr: float
    minima: tuple[tuple[float, ...], ...]
    value: Callable[[np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]

    @property
    def dim(self) -> int:
        """Number of inputs: 1 (a curve) or 2 (a surface)."""
        return len(self.domain)

    def grid(self, n: int = 201) -> tuple[np.ndarray, ...]:
        """The function on an even grid: ``(xs, f)`` in 1-D, ``(xs, ys, f[y, x])`` in 2-D."""
        axes = [np.linspace(lo, hi, n) for lo, hi in self.domain]
        points = np.stack(np.meshgrid(*axes), axis=-1)  # meshgrid gives [y, x] order
        return (*axes, self.value(points))

    @cached_property
    def ceiling(self) -> float:
        """The highest cost on the domain (on a grid), the scale for "diverged"."""
        return float(np.max(self.grid(101)[-1]))

    def is_past_domain(self, p: np.ndarray, cost: float) -> bool:
        """Whether ``p`` lies 10x past the domain, or costs 10x its highest cost."""
        lo, hi = np.array(self.domain).T
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        far = bool(np.any(np.abs(p - centre) > DIVERGE_FACTOR * half))
        return far or cost > DIVERGE_FACTOR * abs(self.ceiling)

    def contains(self, p) -> bool:
        """Whether the point lies inside the domain (edges included)."""
        lo, hi = np.array(self.domain).T
        return bool(np.all((lo <= p) & (p <= hi)))

    def random_starts(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` starting points, uniform over the domain less a 5% margin, ``(count, dim)``."""
        lo, hi = np.array(self.domain).T
        margin = 0.05 * (hi - lo)
        return rng.uniform(lo + margin, hi - margin, size=(count, self.dim))

    def nearest_minimum(self, p, tolerance: float = 1e-2) -> int | None:
        """Index in ``minima`` of the valley floor within ``tolerance`` of ``p``, else None."""
        distances = np.linalg.norm(np.array(self.minima) - np.asarray(p), axis=1)
        best = int(np.argmin(distances))
        return best if distances[best] <= tolerance else None


def _sum_of_wells(p, wells, width):
    """Gaussian wells ``depth * exp(-r^2 / (2 width^2))`` and their gradient."""
    total, grad = np.zeros(p.shape[:-1]), np.zeros(p.shape)
    for cx, cy, depth in wells:
        offset = p - np.array([cx, cy])
        well = depth * np.exp(-np.sum(offset**2, axis=-1) / (2 * width**2))
        total += well
        grad -= (well / width**2)[..., None] * offset
    return total, grad


# Bumps: a shallow bowl with four Gaussian wells of different depths dug in.
_WELLS = ((-1.6, 1.1, 1.3), (1.4, 1.3, 1.0), (0.4, -1.5, 1.15), (-1.7, -1.5, 0.9))
_WELL_WIDTH = 0.65
# Valley: a quadratic steep across (curvature 12) and gentle along its floor
# (curvature 0.5), the floor tilted 30 degrees. Plain descent is stable only
# for lr < 2/12, and then creeps along the floor: the classic zigzag.
_FLOOR = np.array([math.cos(math.pi / 6), math.sin(math.pi / 6)])
_ACROSS = np.array([-_FLOOR[1], _FLOOR[0]])
_ALONG_CURVATURE, _ACROSS_CURVATURE = 0.5, 12.0


def _valley_value(p):
    return 0.5 * (_ALONG_CURVATURE * (p @ _FLOOR) ** 2 + _ACROSS_CURVATURE * (p @ _ACROSS) ** 2)


def _valley_gradient(p):
    along, across = p @ _FLOOR, p @ _ACROSS
    return _ALONG_CURVATURE * along[..., None] * _FLOOR + _ACROSS_CURVATURE * across[..., None] * _ACROSS


def _bumpy_value(p):
    x = p[..., 0]
    return 0.15 * x**2 + 0.35 * x + np.sin(2.2 * x) + 1.2


def _bumpy_gradient(p):
    x = p[..., 0]
    return (0.3 * x + 0.35 + 2.2 * np.cos(2.2 * x))[..., None]


#: The cost functions by name. The CLI offers :data:`CLI_FUNCTIONS`; "bowl2d"
#: is the heat-map twin of "bowl", for the view.
FUNCTIONS: dict[str, CostFunction] = {
    f.name: f
    for f in (
        CostFunction(
            "bowl", "Bowl", "f(x) = x²", ((-3.0, 3.0),), (2.5,), 0.1, ((0.0,),),
            lambda p: p[..., 0] ** 2, lambda p: 2.0 * p,
        ),
        CostFunction(
            "bumpy", "Bumpy curve", "f(x) = 0.15x² + 0.35x + sin(2.2x) + 1.2", ((-4.0, 4.0),), (3.5,), 0.05,
            ((-0.740433,), (-3.427535,), (1.94295,)), _bumpy_value, _bumpy_gradient,
        ),
        CostFunction(
            "bowl2d", "Bowl (2-D)", "f(x, y) = x² + y²", ((-3.0, 3.0), (-3.0, 3.0)), (2.5, 1.5), 0.1,
            ((0.0, 0.0),), lambda p: np.sum(p**2, axis=-1), lambda p: 2.0 * p,
        ),
        CostFunction(
            "valley", "Long narrow valley", "f = (0.5 u² + 12 w²) / 2, u along the floor, w across",
            ((-3.0, 3.0), (-3.0, 3.0)), (-2.5, 1.0), 0.15, ((0.0, 0.0),), _valley_value, _valley_gradient,
        ),
        CostFunction(
            "bumps2d", "Surface with several minima", "f = 0.08(x² + y²) - four Gaussian wells + 1.02",
            ((-3.0, 3.0), (-3.0, 3.0)), (0.0, 0.0), 0.1,
            ((-1.520025, 1.04427), (0.36792, -1.416244), (1.309628, 1.216099), (-1.55038, -1.390396)),
            lambda p: 0.08 * np.sum(p**2, axis=-1) - _sum_of_wells(p, _WELLS, _WELL_WIDTH)[0] + 1.02,
            lambda p: 0.16 * p - _sum_of_wells(p, _WELLS, _WELL_WIDTH)[1],
        ),
    )
}
CLI_FUNCTIONS = ("bowl", "bumpy", "valley", "bumps2d")


def get_function(name: str) -> CostFunction:
    """The cost function called ``name``; ValueError naming the choices otherwise."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}") from None


class Ball:
    """One ball on a cost function: where it has been, and its next step.

    ``lr`` and ``momentum`` may change between steps (the view's slider does).
    After it has converged or diverged, :meth:`step` leaves the ball where it is.
    """

    def __init__(self, function: CostFunction, start, lr: float, momentum: float = 0.0):
        self.function = function
        self.lr = float(lr)
        self.momentum = float(momentum)
        start = np.array(start, dtype=float).reshape(function.dim)
        self.positions = [start]
        self.costs = [float(function.value(start))]
        self.gradients = [function.gradient(start)]
        self.velocity = np.zeros(function.dim)
        self.diverged = False

    position = property(lambda self: self.positions[-1], doc="Where the ball is now.")
    gradient = property(lambda self: self.gradients[-1], doc="The gradient where the ball is now.")
    steps_taken = property(lambda self: len(self.positions) - 1, doc="Steps taken so far.")

    def next_step(self) -> np.ndarray:
        """The step the ball would take now: ``m v - lr g`` (``-lr g`` without momentum)."""
        return self.momentum * self.velocity - self.lr * self.gradient

    @property
    def converged(self) -> bool:
        """Gradient norm below 1e-4 and (with momentum) a next step below ``lr * 1e-4``."""
        return bool(
            np.linalg.norm(self.gradient) < GRADIENT_TOLERANCE
            and np.linalg.norm(self.next_step()) < self.lr * GRADIENT_TOLERANCE
        )

    @property
    def stopped(self) -> bool:
        return self.diverged or self.converged

    def step(self) -> bool:
        """Take one step; False when the ball had stopped or has just diverged."""
        if self.stopped:
            return False
        # Flying off overflows on purpose; the check below is what reports it.
        with np.errstate(over="ignore", invalid="ignore"):
            velocity = self.next_step()
            position = self.position + velocity
            cost = float(self.function.value(position))
            gradient = self.function.gradient(position)
        if not (np.all(np.isfinite(position)) and math.isfinite(cost) and np.all(np.isfinite(gradient))):
            self.diverged = True  # not recorded: the trail stays JSON-safe
            return False
        self.velocity = velocity
        self.positions.append(position)
        self.costs.append(cost)
        self.gradients.append(gradient)
        if self.function.is_past_domain(position, cost):
            self.diverged = True
            return False
        return True

    def outcome(self) -> str:
        """What happened so far, by the rules in the module notes; "ready" before any step."""
        return classify(self.positions, self.costs, self.gradients, self.converged, self.diverged)


def classify(positions, costs, gradients, converged: bool, diverged: bool) -> str:
    """Name a trail: one of :data:`OUTCOMES` (rules in the module notes), or "ready"."""
    if diverged:
        return "diverged"
    if converged:
        return "converged"
    if len(positions) < 2:
        return "ready"
    steps = np.diff(np.array(positions[-(WINDOW + 1):]), axis=0)
    reversing = len(steps) >= 2 and np.mean(np.sum(steps[1:] * steps[:-1], axis=1) < 0) >= 0.5
    recent_costs = np.array(costs[-(WINDOW + 1):])
    # A rise beyond rounding: any step uphill means the ball went past a floor.
    rising = np.any(np.diff(recent_costs) > 1e-12 * (1 + np.abs(recent_costs[:-1])))
    if reversing or rising:
        return "overshooting"
    recent = np.array(gradients[-(WINDOW + 1):])
    old = np.maximum(np.linalg.norm(recent[:-1], axis=1), np.finfo(float).tiny)
    change = np.linalg.norm(np.diff(recent, axis=0), axis=1) / old
    return "crawling" if np.mean(change) < CRAWL_CHANGE else "rolling"


@dataclass
class Config:
    """One ball's run. ``lr=None`` and ``start=None`` mean the function's own defaults.

    Defaults (``start``, ``lr``): bowl (2.5,) 0.1; bumpy (3.5,) 0.05 (the
    right-hand valley, which is not the lowest); bowl2d (2.5, 1.5) 0.1;
    valley (-2.5, 1.0) 0.15; bumps2d (0, 0) 0.1. There is no quicker
    ``--quick`` run: the full run takes milliseconds.
    """

    function: str = "bowl"
    lr: float | None = None
    start: tuple[float, ...] | None = None
    steps: int = 200
    momentum: float = 0.0


def check_config(config: Config) -> tuple[CostFunction, float, np.ndarray]:
    """The function, rate and start a config asks for; ValueError (one line) if invalid."""
    function = get_function(config.function)
    lr = function.lr if config.lr is None else float(config.lr)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {config.lr}")
    if not (isinstance(config.steps, int) and 1 <= config.steps <= MAX_STEPS):
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {config.steps}")
    if not (math.isfinite(config.momentum) and 0 <= config.momentum < 1):
        raise ValueError(f"momentum must be in [0, 1), got {config.momentum}")
    start = np.array(function.start if config.start is None else config.start, dtype=float).ravel()
    if start.size != function.dim:
        names = "X" if function.dim == 1 else "X Y"
        raise ValueError(f"{function.name} takes {function.dim} start value(s) ({names}), got {start.size}")
    if not function.contains(start):
        raise ValueError(f"start {_point(start)} lies outside {function.name}'s domain {_domain(function)}")
    return function, lr, start


@dataclass
class Result:
    """One ball's trail and what became of it (see the module notes)."""

    function: str
    domain: tuple[tuple[float, float], ...]
    lr: float
    start: np.ndarray
    steps: int
    momentum: float
    positions: np.ndarray
    costs: np.ndarray
    converged: bool
    diverged: bool
    outcome: str
    #: Index into the function's ``minima`` of the floor reached, or None.
    minimum: int | None

    def to_json(self) -> dict:
        """The issue's keys; ``steps`` as asked, ``positions``: the start, then one per step taken."""
        domain = [list(axis) for axis in self.domain]
        return {
            "lesson": NAME,
            "function": self.function,
            "domain": domain[0] if len(self.domain) == 1 else domain,
            "lr": float(self.lr),
            "start": [float(v) for v in self.start],
            "steps": int(self.steps),
            "positions": self.positions.tolist(),
            "costs": self.costs.tolist(),
            "final": self.positions[-1].tolist(),
            "converged": bool(self.converged),
            "diverged": bool(self.diverged),
        }

    def summary(self) -> str:
        """What happened, in plain English, with a hint for the next try."""
        function = FUNCTIONS[self.function]
        taken = len(self.positions) - 1
        head = f"{function.title}, lr {self.lr:g}"
        head += f", momentum {self.momentum:g}" if self.momentum else ""
        head += f", from {_point(self.start)}: {self.outcome} after {taken} of {self.steps} steps"
        where = f"at {_point(self.positions[-1])}, cost {self.costs[-1]:.4g}"
        if self.outcome == "converged":
            if self.minimum == 0:
                return f"{head}, {where}: the lowest point."
            if self.minimum is not None:
                best = function.minima[0]
                lowest = float(function.value(np.array(best)))
                return f"{head}, {where}: a local minimum; the lowest valley is at {_point(best)}, cost {lowest:.4g}."
            return f"{head}, {where}: a flat spot that is no valley floor."
        smaller = "Try a smaller --lr" + (" or --momentum." if self.momentum else ".")
        hint = {"diverged": f"the ball flew off, each step overshooting more than the last. {smaller}",
                "overshooting": f"the ball keeps jumping across the valley floor. {smaller}",
                "crawling": "the steps are too small to get anywhere. Try a larger --lr, or more --steps.",
                "rolling": "still rolling downhill. Try more --steps."}[self.outcome]
        return f"{head}, {where}: {hint}"


def run(config: Config, rng: np.random.Generator, progress=None, cancel=None) -> Result:
    """Roll one ball down ``config.function`` and name the outcome.

    Parameters
    ----------
    config : Config
        Function, rate, start, number of steps, momentum.
    rng : numpy.random.Generator
        Unused: one ball from a given start is deterministic. (Random starts:
        :meth:`CostFunction.random_starts`.)
    progress : callable, optional
        ``progress(fraction, message)``, called now and then.
    cancel : callable, optional
        Polled every step; when it returns True,
        :class:`~digitlab.core.lessons.base.LessonCancelled` is raised.

    Returns
    -------
    Result
    """
    function, lr, start = check_config(config)
    ball = Ball(function, start, lr, config.momentum)
    for k in range(config.steps):
        check_cancel(cancel)
        if not ball.step():
            break
        if k % 1000 == 0:
            report(progress, k / config.steps, f"step {k}")
    report(progress, 1.0, ball.outcome())
    return Result(
        function=function.name, domain=function.domain, lr=lr, start=start, steps=config.steps,
        momentum=config.momentum, positions=np.array(ball.positions), costs=np.array(ball.costs),
        converged=ball.converged, diverged=ball.diverged, outcome=ball.outcome(),
        minimum=function.nearest_minimum(ball.position) if ball.converged else None,
    )


def figure(result: Result) -> Figure:
    """The ball's trail on the curve or on the cost's heat map, and its cost per step."""
    function = FUNCTIONS[result.function]
    trail = Line("ball", result.positions[:, 0], result.costs if function.dim == 1 else result.positions[:, 1],
                 color="#d55e00", points=True)
    if function.dim == 1:
        xs, costs = function.grid(401)
        ball = Panel(function.formula, xlabel="x", ylabel="cost f(x)", lines=[Line("f(x)", xs, costs, "#000000"), trail],
                     legend=False, notes=["orange: the ball's trail, one dot per step"])
    else:
        xs, ys, costs = function.grid(201)
        (xlo, xhi), (ylo, yhi) = function.domain
        # Square root of the height: the floor, where the ball ends, is a small part of the range.
        shade = Image(np.sqrt(costs - costs.min()), extent=(xlo, xhi, ylo, yhi), origin="lower")
        ball = Panel(function.formula, xlabel="x", ylabel="y", lines=[trail], image=shade, equal_aspect=True,
                     legend=False, notes=["orange: the ball's trail; dark is low (square root of the height)"])
    steps = np.arange(len(result.costs))
    cost = Panel("Cost after each step", xlabel="step", ylabel="cost", lines=[Line("cost", steps, result.costs)],
                 legend=False)
    return Figure(f"Gradient descent: {function.title.lower()}, lr {result.lr:g}: {result.outcome}",
                  [ball, cost], notes=[result.summary()])


def add_arguments(parser) -> None:
    """The options of ``digitlab lesson descent``."""
    parser.add_argument("--function", choices=CLI_FUNCTIONS, default="bowl", help="the cost to roll down (default: bowl)")
    parser.add_argument("--lr", type=float, default=None, metavar="X", help="learning rate (default: the function's own)")
    parser.add_argument("--start", type=float, nargs="+", metavar=("X", "Y"), default=None,
                        help="where the ball starts: X, or X Y for valley and bumps2d (default: the function's own)")
    parser.add_argument("--steps", type=int, default=Config.steps, metavar="N", help=f"most steps to take (default: {Config.steps})")
    parser.add_argument("--momentum", type=float, default=0.0, metavar="M", help="momentum m in [0, 1) (default: 0, none)")


def config_from_args(args, network=None) -> Config:
    """A checked Config from the parsed options; ValueError with a one-line message if invalid."""
    config = Config(
        function=args.function, lr=args.lr, start=None if args.start is None else tuple(args.start),
        steps=args.steps, momentum=args.momentum,
    )
    check_config(config)
    return config


def _point(p) -> str:
    values = [f"{float(v):.4g}" for v in np.ravel(p)]
    return f"x = {values[0]}" if len(values) == 1 else f"(x, y) = ({', '.join(values)})"


def _domain(function: CostFunction) -> str:
    return " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in function.domain)
