"""What the subcommands share: errors, argument types, model loading, output lines.

Nothing here imports NumPy or Qt at module level, so ``digitlab --version``
stays fast.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time

PROG = "digitlab"

#: Seconds: a progress line changes at most 10 times a second.
PROGRESS_INTERVAL = 0.1


class CommandError(Exception):
    """A problem to report as one ``digitlab: error:`` line, with exit status 1."""


def print_error(message: str) -> None:
    """``digitlab: error: MESSAGE`` on stderr, on one line, in plain words."""
    print(f"{PROG}: error: {plain_words(message)}", file=sys.stderr)


# "[Errno 13] Permission denied: '/x/m.npz'", as str() of an OSError reads.
_RAW_OS_ERROR_WITH_FILE = re.compile(r"\[(?:Errno|WinError) (-?\d+)\] ([^:\]]+): '([^']*)'(?: -> '([^']*)')?")
_RAW_OS_ERROR = re.compile(r"\[(?:Errno|WinError) (-?\d+)\] ([^:\]]+)")


def plain_words(message: str) -> str:
    """``message`` on one line, any raw ``[Errno 13] Permission denied`` put in words.

    A last guard for the one-line errors: our own messages already say
    "permission denied" (digitlab.core.fileio.plain_reason), but an OSError
    that reaches the command's top level unexplained reads like
    ``[Errno 13] Permission denied: '/x'``; it becomes ``/x: permission denied``.
    """
    from digitlab.core.fileio import plain_reason

    def reason(match) -> str:
        return plain_reason(OSError(int(match[1]), match[2].strip()))

    text = " ".join(message.split())
    def with_file(match) -> str:
        files = f"{match[3]} -> {match[4]}" if match[4] is not None else match[3]
        return f"{files}: {reason(match)}"

    text = _RAW_OS_ERROR_WITH_FILE.sub(with_file, text)
    return _RAW_OS_ERROR.sub(reason, text)


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type: an int of at least ``minimum`` (and at most ``maximum``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value:,}")
        return value

    return parse


def number(low: float, high: float | None = None, low_inclusive: bool = True):
    """An argparse type: a finite float in ``[low, high)`` (or ``(low, high)``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value < low if low_inclusive else value <= low
        if not math.isfinite(value) or too_low or (high is not None and value >= high):
            bracket = "[" if low_inclusive else "("
            upper = f"{high:g})" if high is not None else "inf)"
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {upper}, got {text}")
        return value

    return parse


def layers(text: str) -> tuple[int, ...]:
    """An argparse type: layer sizes such as ``784,16,16,10``, checked."""
    from digitlab.core.architecture import check_sizes, parse_layers

    try:
        sizes = parse_layers(text)
        check_sizes(sizes)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return sizes


def path_argument(text: str) -> str:
    """An argparse type: a non-empty path.

    ``--model ""`` (an unset shell variable, say) must not quietly mean
    "the default"; leaving the option out does that.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file (leave the option out for the default)")
    return text


def model_option(command) -> None:
    """The ``--model PATH`` option."""
    command.add_argument(
        "--model",
        metavar="PATH|bigger",
        type=path_argument,
        help="model file (.npz), or 'bigger' for the bundled larger network; "
        "default: the model shipped with DigitLab",
    )


# ---------------------------------------------------------------------------
# Models and output
# ---------------------------------------------------------------------------


def load_model(path: str | None):
    """The network and metadata from ``path``, a bundled model's name ("bigger"), or the shipped model.

    A bundled name wins over a file of that name in the current folder; ``./bigger`` names the file.
    """
    from digitlab.core.model_io import BUNDLED_MODELS, load_bundled_model, load_default_model, load_model as load

    if path is None:
        return load_default_model()
    if not path.strip():
        raise CommandError("--model: an empty path names no file (leave the option out for the default)")
    if path in BUNDLED_MODELS:
        return load_bundled_model(path)
    return load(path)


def describe_network(network) -> str:
    """``784-16-16-10, sigmoid, mse``."""
    sizes = "-".join(str(s) for s in network.sizes)
    return f"{sizes}, {network.activation}, {network.cost}"


def finite_or_none(value):
    """JSON has no NaN: report an undefined value (e.g. no validation set) as null."""
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def json_line(obj) -> None:
    """``obj`` as one line of JSON on stdout, flushed (scripts read it line by line)."""
    print(json.dumps(obj), flush=True)


def without_prefix(message: str, path: str) -> str:
    """The problem alone, when the message already starts with the path."""
    message = " ".join(message.split())
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


class ProgressLine:
    """A single self-overwriting status line on stderr, only when stderr is a terminal."""

    def __init__(self, stream=None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self._stream)
        self._width = 0
        self._last = float("-inf")

    def update(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        padding = " " * max(0, self._width - len(text))
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._width = len(text)

    def clear(self) -> None:
        if self.enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0


def is_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal (False for pipes, files and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(fraction: float, width: int = 24) -> str:
    """``[#########---------------]  38%``."""
    fraction = min(1.0, max(0.0, fraction))
    filled = int(round(fraction * width))
    return f"[{'#' * filled}{'-' * (width - filled)}] {100 * fraction:3.0f}%"
