"""What every lesson module shares: cancelling, progress reports, JSON-safe results.

A lesson is a module of :mod:`digitlab.core.lessons` with this interface
(the command line and the window rely on it, and nothing else)::

    NAME: str                 the name on the command line, "noise"
    CLAIM: str                the claim it tests, one line
    USES_MODEL: bool          whether run() needs a trained network
    Config                    dataclass; its defaults are the full run;
                              a ``quick()`` classmethod gives the --quick run
    Result                    dataclass with to_json() -> dict and summary() -> str
    run(config, rng, progress=None, cancel=None) -> Result
    add_arguments(parser)     its own options for ``digitlab lesson NAME``
    config_from_args(args, network) -> Config
    figure(result) -> digitlab.core.lessons.figure.Figure

``progress(fraction, message)`` takes a fraction in [0, 1] and a short
message; ``cancel()`` returns True once the caller wants the run to stop,
and the lesson then raises :class:`LessonCancelled`. Both are optional.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Optional

import numpy as np

#: ``progress(fraction, message)``.
Progress = Callable[[float, str], None]
#: ``cancel() -> bool``.
Cancel = Callable[[], bool]

#: The names a lesson module must define (checked by :func:`missing_attributes`).
REQUIRED_ATTRIBUTES = (
    "NAME", "CLAIM", "USES_MODEL", "Config", "Result",
    "run", "add_arguments", "config_from_args", "figure",
)


class LessonCancelled(Exception):
    """The caller asked a running lesson to stop (its ``cancel()`` returned True)."""


def check_cancel(cancel: Optional[Cancel]) -> None:
    """Raise :class:`LessonCancelled` if ``cancel`` is given and returns True.

    Parameters
    ----------
    cancel : callable or None
        The run's cancel callback.

    Raises
    ------
    LessonCancelled
        When ``cancel()`` is true.
    """
    if cancel is not None and cancel():
        raise LessonCancelled


def check_whole(value, name: str, low: int, high: Optional[int] = None) -> None:
    """Raise a one-line ValueError unless ``value`` is a whole number in [low, high].

    Every lesson's config check uses it, so the messages read alike; a bool
    (``True`` is an int in Python) is refused.
    """
    whole = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if high is None:
        if not (whole and value >= low):
            raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")
    elif not (whole and low <= value <= high):
        raise ValueError(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")


def report(progress: Optional[Progress], fraction: float, message: str = "") -> None:
    """Call ``progress(fraction, message)`` if given, with ``fraction`` clipped to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: lists, dicts, str, int, float, bool, None.

    NumPy scalars and arrays become Python numbers and (nested) lists, tuples
    become lists, dataclasses become dicts, and NaN or infinity, which JSON
    cannot hold, become None.

    Parameters
    ----------
    value : object
        A number, string, array, sequence, mapping or dataclass instance.

    Returns
    -------
    object
        Something ``json.dumps`` accepts with ``allow_nan=False``.

    Raises
    ------
    TypeError
        For a value with no JSON form.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    raise TypeError(f"no JSON form for {type(value).__name__}")


def missing_attributes(module) -> list[str]:
    """The names of :data:`REQUIRED_ATTRIBUTES` that ``module`` lacks (empty when complete)."""
    return [name for name in REQUIRED_ATTRIBUTES if not hasattr(module, name)]


def quick_config(module, config):
    """The --quick variant of ``config``, keeping what the user chose.

    A Config with a ``quick`` field gets ``quick=True``. Otherwise, with a
    ``Config.quick()`` classmethod, every field still at its default takes
    the quick run's value, and fields set otherwise (options the user gave,
    the network) stay. A Config with neither runs in full.

    Parameters
    ----------
    module : module
        The lesson module.
    config : dataclass instance
        The full run's config, e.g. from ``config_from_args``.

    Returns
    -------
    dataclass instance
        A new config (``config`` itself when there is no quick variant).
    """
    names = {f.name for f in dataclasses.fields(config)}
    if "quick" in names:
        return dataclasses.replace(config, quick=True)
    maker = getattr(type(config), "quick", None)
    if maker is None:
        return config
    quick = maker()
    changes = {}
    for field in dataclasses.fields(config):
        default = _default_of(field)
        if default is dataclasses.MISSING:
            continue
        current = getattr(config, field.name)
        if _same(current, default):
            changes[field.name] = getattr(quick, field.name)
    return dataclasses.replace(config, **changes)


def _default_of(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _same(a, b) -> bool:
    if a is b:
        return True
    # Only plain values compare safely (an array's == is elementwise).
    plain = (bool, int, float, str, tuple, type(None))
    return isinstance(a, plain) and isinstance(b, plain) and type(a) is type(b) and a == b
