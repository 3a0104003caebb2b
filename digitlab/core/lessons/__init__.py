"""The lessons: one Qt-free module per claim, each run headless or from the window.

Every lesson module has the interface described in
:mod:`digitlab.core.lessons.base`. :data:`LESSON_MODULES` is the one list of
them: the command line (``digitlab lesson --list``) iterates it, so adding a
lesson means adding its module and its name here, and nothing else.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: The lesson modules under digitlab.core.lessons, in the order they are listed.
LESSON_MODULES: tuple[str, ...] = ("noise", "descent", "dream", "memorise", "minima", "nudges", "landscape", "overfit", "none",
                                  "bigger")


def lesson_names() -> tuple[str, ...]:
    """The names of all lessons, as given on the command line."""
    return LESSON_MODULES


def get_lesson(name: str) -> ModuleType:
    """The lesson module called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`lesson_names`.

    Returns
    -------
    module
        ``digitlab.core.lessons.<name>``.

    Raises
    ------
    ValueError
        For an unknown name, with a one-line message listing the lessons.
    """
    if name not in LESSON_MODULES:
        choices = ", ".join(LESSON_MODULES) or "none yet"
        raise ValueError(f"unknown lesson {name!r}; the lessons are: {choices}")
    return importlib.import_module(f"{__name__}.{name}")
