"""Plain-words warnings while a network trains: saturated neurons and divergence.

Why a run can stop learning without any error
---------------------------------------------
A sigmoid neuron's slope ``sigmoid'(z) = a * (1 - a)`` is almost 0 once its
output ``a`` is near 0 or 1 (tanh: near -1 or 1; ReLU: a neuron whose
weighted input is negative for every image has slope 0). A far too large
learning rate takes one huge step and pushes the weighted inputs there for
every image: the neurons are *saturated*. Backpropagation multiplies the
error by those slopes on its way back (BP2 in :mod:`digitlab.core.network`),
so almost nothing reaches the first layer and the network stops learning.
The cost then sits at what guessing gives (0.5 for the squared error, every
output stuck at 0) and the accuracy at chance, about 10%, with no NaN and no
error to show for it.

What is measured
----------------
After every mini-batch (no extra work: the numbers come with the step):

- the length of the gradient that reaches the first layer's weights;
- the batch's cost, against the cost of guessing (:func:`guess_cost`).

A batch is *stuck* when the first number is below :data:`FLAT_GRADIENT`
and the cost is no better than guessing. On the bundled sample (784-16-16-10,
batches of 10, 600 batches) the first layer's gradient measured (median)
1e-7 at learning rate 100 (sigmoid, squared error), 1e-9 (tanh), exactly 0
(ReLU) and 7e-6 (sigmoid hidden layers, cross-entropy), while healthy runs
at the default rates measured 1e-2 to 2 from the first batch on.
:class:`SaturationWatch` turns these per-batch facts into a warning that
neither flickers nor lags.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = [
    "FLAT_GRADIENT",
    "STUCK_BATCHES",
    "GUESS_MARGIN",
    "guess_cost",
    "suggested_rate",
    "SaturationWatch",
    "saturation_warning",
    "divergence_advice",
]

#: A first-layer gradient shorter than this carries no learning (healthy runs: 1e-2 and more).
FLAT_GRADIENT = 1e-4
#: The last this many batches decide whether the warning starts or ends.
STUCK_BATCHES = 20
#: A cost above this share of the guessing cost counts as "no better than guessing".
GUESS_MARGIN = 0.95
#: A rate this many times the default is "far too high", not just "too high".
FAR_TOO_HIGH = 10

# Where each hidden activation gets stuck, in a learner's words.
_STUCK_AT = {"sigmoid": "stuck at 0 or 1", "tanh": "stuck at -1 or 1", "relu": "stuck at 0"}


def guess_cost(cost: str, outputs: int) -> float:
    """The cost per image of a network that has learned nothing and answers 1/outputs everywhere.

    Parameters
    ----------
    cost : {"mse", "cross_entropy"}
    outputs : int
        Output neurons (10, or 11 with "none of these").

    Returns
    -------
    float
        ``0.5 * (1 - 1/outputs)`` for the squared error (0.45 for 10 outputs),
        ``log(outputs)`` for cross-entropy (2.30 for 10).
    """
    if cost == "cross_entropy":
        return math.log(outputs)
    return 0.5 * (1 - 1 / outputs)


def suggested_rate(learning_rate: float, default_rate: float) -> float:
    """A learning rate worth trying instead: the default if the rate is above it, else a tenth of it."""
    if learning_rate > default_rate:
        return default_rate
    return float(f"{learning_rate / 10:.2g}")


class SaturationWatch:
    """Decides, batch by batch, whether a run's neurons are saturated (see the module notes).

    The warning starts when at least 3 of the last :data:`STUCK_BATCHES` batches
    in 4 were stuck and ends when at most 1 in 4 was: single odd batches (an
    image that happens to reach an unsaturated neuron) change nothing.

    Parameters
    ----------
    cost : {"mse", "cross_entropy"}
    outputs : int
        Output neurons; with :func:`guess_cost` they set the cost of guessing.
    """

    def __init__(self, cost: str, outputs: int) -> None:
        self._stuck_cost = GUESS_MARGIN * guess_cost(cost, outputs)
        self.saturated = False
        self._recent: deque[bool] = deque(maxlen=STUCK_BATCHES)
        self._stuck_count = 0  # True values in _recent, kept up to date: no sum per batch

    def note(self, loss: float, first_layer_gradient: float) -> None:
        """Take one batch's cost and first-layer gradient length into account."""
        stuck = loss >= self._stuck_cost and first_layer_gradient < FLAT_GRADIENT
        if len(self._recent) == STUCK_BATCHES:
            self._stuck_count -= self._recent[0]
        self._recent.append(stuck)
        self._stuck_count += stuck
        if len(self._recent) < STUCK_BATCHES:
            return
        if self._stuck_count * 4 >= 3 * STUCK_BATCHES:
            self.saturated = True
        elif self._stuck_count * 4 <= STUCK_BATCHES:
            self.saturated = False


def saturation_warning(activation: str, learning_rate: float, default_rate: float) -> str:
    """The one-line warning a saturated run shows, with a learning rate to try.

    Examples
    --------
    >>> saturation_warning("sigmoid", 100, 3.0)
    'The neurons are saturated (stuck at 0 or 1, so they no longer learn): the learning rate 100 is far too high. Stop and try 3 or lower.'
    """
    why = f"The neurons are saturated ({_STUCK_AT.get(activation, 'stuck')}, so they no longer learn)"
    return f"{why}: {_rate_advice(learning_rate, default_rate)}"


def divergence_advice(learning_rate: float, default_rate: float) -> str:
    """What to do after a run blew up (NaN or exploding weights): one sentence.

    Examples
    --------
    >>> divergence_advice(1000, 0.2)
    'The learning rate 1000 is far too high: try 0.2 or lower.'
    """
    how, try_rate = _how_high(learning_rate, default_rate)
    return f"The learning rate {learning_rate:g} {how}: try {try_rate:g} or lower."


def _rate_advice(learning_rate: float, default_rate: float) -> str:
    how, try_rate = _how_high(learning_rate, default_rate)
    if learning_rate > default_rate:
        return f"the learning rate {learning_rate:g} {how}. Stop and try {try_rate:g} or lower."
    # At or below the usual rate the cause may also be depth (the gradient fades layer by layer).
    return f"the learning rate {learning_rate:g} {how}. Stop and try {try_rate:g} or lower, or fewer hidden layers."


def _how_high(learning_rate: float, default_rate: float) -> tuple[str, float]:
    """How the rate compares with the usual one, in words, and a rate to try."""
    if learning_rate >= FAR_TOO_HIGH * default_rate:
        how = "is far too high"
    elif learning_rate > default_rate:
        how = "is too high"
    else:
        how = "may be too high for this network"
    return how, suggested_rate(learning_rate, default_rate)
