"""What networks DigitLab builds, saves and loads: the limits, in one place.

A digit model reads a 28x28 image (784 inputs) and has one output per class:
10 for the digits, or 11 for the "none of these" lesson, whose extra output
means "not a digit". Between them lie up to 8 hidden layers of 1 to 4096
neurons, with at most 50 million weights and biases in all (:data:`MAX_PARAMETERS`),
so that every network DigitLab can build also fits in a model file it can open
again. Model files, the training form and ``digitlab train --layers`` all
check layer sizes with :func:`sizes_problem`, so they agree on what is
allowed.

:func:`check_architecture` is looser: it is what any :class:`~digitlab.core.network.Network`
needs (tests use tiny networks such as 4-3-2 to check gradients by hand).
"""

from __future__ import annotations

__all__ = [
    "INPUT_SIZE",
    "DEFAULT_OUTPUTS",
    "ALLOWED_OUTPUTS",
    "MIN_LAYERS",
    "MAX_LAYERS",
    "MAX_HIDDEN_LAYERS",
    "MAX_LAYER_SIZE",
    "MAX_PARAMETERS",
    "DEFAULT_SIZES",
    "ACTIVATIONS",
    "COSTS",
    "ArchitectureError",
    "sizes_problem",
    "check_sizes",
    "check_architecture",
    "parse_layers",
    "parse_hidden_layers",
    "parameter_count",
]

INPUT_SIZE = 784  # 28 x 28 pixels
#: One output per digit.
DEFAULT_OUTPUTS = 10
#: 11 adds a "none of these" output (the lesson on saying "not a digit").
ALLOWED_OUTPUTS = (10, 11)
MIN_LAYERS = 2
MAX_LAYERS = 10
MAX_HIDDEN_LAYERS = MAX_LAYERS - 2
#: Large enough for any lesson; small enough that a hostile model file cannot
#: ask for gigabytes.
MAX_LAYER_SIZE = 4096
#: Weights and biases a model may have in all. Stored as float32 they take 4 bytes each:
#: 200 MB, plus at most 1 MiB of metadata, stays under the 200 MiB a model file may
#: unpack to (digitlab.core.model_io.MAX_FILE_BYTES), so what trains can be saved and
#: opened again. 8 hidden layers of 4096 (121 million, 485 MB) cannot; three of 4096 can.
MAX_PARAMETERS = 50_000_000
#: The network of 3Blue1Brown's video: two hidden layers of 16.
DEFAULT_SIZES = (INPUT_SIZE, 16, 16, DEFAULT_OUTPUTS)
ACTIVATIONS = ("sigmoid", "relu", "tanh")
#: "mse": sigmoid outputs with the squared error (the video);
#: "cross_entropy": softmax outputs with the cross-entropy cost.
COSTS = ("mse", "cross_entropy")


class ArchitectureError(ValueError):
    """Layer sizes, an activation or a cost DigitLab cannot build; the message is one line."""


def sizes_problem(sizes) -> str | None:
    """What is wrong with layer sizes for a digit model, or None if nothing.

    Parameters
    ----------
    sizes : list or tuple of int
        Neurons per layer, input first.

    Returns
    -------
    str or None
        A one-line message, or None when there are 2 to 10 layers of 1 to
        4096 neurons with 784 inputs and 10 or 11 outputs, and at most
        :data:`MAX_PARAMETERS` weights and biases.
    """
    if not isinstance(sizes, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in sizes
    ):
        return f"layer sizes must be a list of whole numbers, got {sizes!r}"
    if not MIN_LAYERS <= len(sizes) <= MAX_LAYERS:
        return f"a model needs {MIN_LAYERS} to {MAX_LAYERS} layers, got {len(sizes)}"
    if any(not 1 <= s <= MAX_LAYER_SIZE for s in sizes):
        return f"every layer must have 1 to {MAX_LAYER_SIZE} neurons, got {list(sizes)}"
    if sizes[0] != INPUT_SIZE:
        return f"the input layer must have {INPUT_SIZE} neurons (28x28 pixels), got {sizes[0]}"
    if sizes[-1] not in ALLOWED_OUTPUTS:
        allowed = " or ".join(str(n) for n in ALLOWED_OUTPUTS)
        return (
            f"the output layer must have {allowed} neurons (one per digit, "
            f"plus one for 'none of these'), got {sizes[-1]}"
        )
    return _too_many_parameters(sizes)


def parameter_count(sizes) -> int:
    """Weights and biases of a fully connected network with these layer sizes (13,002 for 784-16-16-10)."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def _too_many_parameters(sizes) -> str | None:
    count = parameter_count(sizes)
    if count <= MAX_PARAMETERS:
        return None
    return (
        f"{'-'.join(str(s) for s in sizes)} has {count:,} weights and biases "
        f"({4 * count / 1e6:.0f} MB), over the limit of {MAX_PARAMETERS:,} "
        f"({4 * MAX_PARAMETERS / 1e6:.0f} MB) that a model file can hold; use fewer or smaller hidden layers"
    )


def check_sizes(sizes) -> None:
    """Raise :class:`ArchitectureError` unless ``sizes`` make a digit model (see :func:`sizes_problem`)."""
    problem = sizes_problem(list(sizes) if isinstance(sizes, tuple) else sizes)
    if problem:
        raise ArchitectureError(problem)


def check_architecture(sizes, activation: str, cost: str) -> None:
    """Raise :class:`ArchitectureError` for a network that cannot be built at all.

    Any two or more positive layer sizes pass (the digit limits are
    :func:`check_sizes`); the activation must be one of :data:`ACTIVATIONS`
    and the cost one of :data:`COSTS`.
    """
    if len(sizes) < MIN_LAYERS:
        raise ArchitectureError("a network needs at least an input and an output layer")
    if any(s < 1 for s in sizes):
        raise ArchitectureError(f"layer sizes must be positive, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ArchitectureError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if cost not in COSTS:
        raise ArchitectureError(f"unknown cost {cost!r}; choose one of {', '.join(COSTS)}")


def parse_layers(text: str) -> tuple[int, ...]:
    """Parse ``"784,16,16,10"`` into ``(784, 16, 16, 10)``.

    Only the form is checked here (two or more positive whole numbers); pass
    the result to :func:`check_sizes` for the digit-model limits.

    Raises
    ------
    ArchitectureError
        With a one-line message saying what is wrong.
    """
    parts = text.replace(" ", "").split(",")
    if "" in parts and parts != [""]:
        # "784,,10" is a typo, not a 784-10 network: never drop a part silently.
        raise ArchitectureError(f"layer sizes: empty size between commas in {text!r}")
    try:
        sizes = tuple(int(part) for part in parts if part)
    except ValueError:
        raise ArchitectureError(f"layer sizes must be comma-separated whole numbers, got {text!r}") from None
    if len(sizes) < MIN_LAYERS or any(s < 1 for s in sizes):
        raise ArchitectureError(f"need at least two positive layer sizes, got {text!r}")
    return sizes


def parse_hidden_layers(text: str, outputs: int = DEFAULT_OUTPUTS) -> tuple[int, ...]:
    """``"16, 16"`` -> ``(784, 16, 16, 10)``; an empty text means no hidden layer.

    Parameters
    ----------
    text : str
        Hidden-layer sizes separated by commas.
    outputs : int
        Output neurons, one of :data:`ALLOWED_OUTPUTS`.

    Raises
    ------
    ArchitectureError
        With a one-line message saying what is wrong.
    """
    if outputs not in ALLOWED_OUTPUTS:
        raise ArchitectureError(f"outputs: expected one of {ALLOWED_OUTPUTS}, got {outputs!r}")
    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        parts = []
    # isdecimal, not isdigit: "²" is a digit to Python but not to int().
    if any(not p.isdecimal() for p in parts):
        raise ArchitectureError(f"hidden layers: expected whole numbers separated by commas, got {text!r}")
    hidden = tuple(int(p) for p in parts)
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ArchitectureError(f"hidden layers: at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}")
    if any(not 1 <= n <= MAX_LAYER_SIZE for n in hidden):
        raise ArchitectureError(f"hidden layers: each needs 1 to {MAX_LAYER_SIZE} neurons, got {text!r}")
    sizes = (INPUT_SIZE, *hidden, outputs)
    too_many = _too_many_parameters(sizes)
    if too_many:
        raise ArchitectureError(f"hidden layers: {too_many}")
    return sizes
