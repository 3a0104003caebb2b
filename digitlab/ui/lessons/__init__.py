"""The one list of lesson views: the window builds its Lessons menu and tabs from it.

Each lesson view lives in ``digitlab/ui/lessons/NAME.py`` and exposes
``make_view(session) -> QWidget``; its maths is the Qt-free
``digitlab.core.lessons.NAME``. To add a lesson, write its view module and add
one :class:`LessonView` to :data:`LESSONS`; no window code changes.

A view may define ``shutdown()`` (stop its worker thread); the lesson area
calls it when its tab is closed and when the window closes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from PySide6.QtWidgets import QWidget

from digitlab.ui.session import ModelSession


@dataclass(frozen=True)
class LessonView:
    """One entry of the Lessons menu.

    Attributes
    ----------
    name : str
        The lesson's name, as in ``digitlab lesson NAME``.
    title : str
        Menu entry and tab title.
    create : callable
        ``create(session) -> QWidget``: a new view following ``session``.
    open_at_start : bool
        Shown in a tab when the window opens (and after View > Reset layout).
    """

    name: str
    title: str
    create: Callable[[ModelSession], QWidget]
    open_at_start: bool = False


def _view_of(name: str) -> Callable[[ModelSession], QWidget]:
    """``make_view`` of ``digitlab.ui.lessons.NAME``, imported on first use (fast start-up)."""

    def create(session: ModelSession) -> QWidget:
        return importlib.import_module(f"digitlab.ui.lessons.{name}").make_view(session)

    create.__name__ = f"create_{name}_view"
    return create


LESSONS: tuple[LessonView, ...] = (
    LessonView("noise", "Noise test", _view_of("noise"), open_at_start=True),
    LessonView("diagram", "The network diagram", _view_of("diagram")),
    LessonView("descent", "Gradient descent in 1-D and 2-D", _view_of("descent")),
    LessonView("dream", "Dream a digit", _view_of("dream")),
    LessonView("mistakes", "Its mistakes", _view_of("mistakes")),
    LessonView("memorise", "Memorising random labels", _view_of("memorise")),
    LessonView("minima", "Many minima", _view_of("minima")),
    LessonView("nudges", "One example's nudges", _view_of("nudges")),
    LessonView("landscape", "The cost landscape", _view_of("landscape")),
    LessonView("overfit", "Overfitting and its cures", _view_of("overfit")),
    LessonView("none", "Saying \"none of these\"", _view_of("none")),
    LessonView("bigger", "A bigger network reads better", _view_of("bigger")),
)


def lesson_view(name: str) -> LessonView:
    """The registered view called ``name``; KeyError names the known ones."""
    for lesson in LESSONS:
        if lesson.name == name:
            return lesson
    raise KeyError(f"no lesson view {name!r}; known: {', '.join(lesson.name for lesson in LESSONS)}")


__all__ = ["LESSONS", "LessonView", "lesson_view"]
