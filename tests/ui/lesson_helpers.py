"""What the lesson view tests share: their sessions, a shown view that is always shut down, the registry check.

A test module gets a ``session`` fixture by importing ``untrained_session_fixture`` or
``shipped_session_fixture`` (``# noqa: F401``: pytest finds it by its name, "session").
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from digitlab.core.network import Network
from digitlab.core.model_io import load_default_model
from digitlab.ui.lessons import lesson_view
from digitlab.ui.session import ModelSession


def untrained_session() -> ModelSession:
    """A session holding a fresh, seeded 784-16-16-10 network (for lessons that train their own)."""
    return ModelSession(Network.create(rng=np.random.default_rng(0)), "untrained")


def shipped_session(name: str = "shipped") -> ModelSession:
    """A session holding the shipped model (or its untrained stand-in)."""
    return ModelSession(load_default_model()[0], name)


@pytest.fixture(name="session")
def untrained_session_fixture() -> ModelSession:
    return untrained_session()


@pytest.fixture(name="session")
def shipped_session_fixture() -> ModelSession:
    return shipped_session()


def shown_view(qtbot, widget, width: int, height: int, stops: bool = True):
    """Yield ``widget`` shown at ``width`` x ``height``; shut it down afterwards (a fixture's body:
    ``yield from shown_view(...)``). ``stops``: also check its run is over after the shutdown."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()
    if stops:
        assert not widget.is_running()


def registered_views(qtbot, name: str, make_view, view_class, session, explanation: str, hint: str):
    """The view the registry makes for ``name`` and the one ``make_view`` makes, both checked to be
    ``view_class`` and to open with ``explanation`` (two lines) and the "Try this" ``hint``."""
    widget = lesson_view(name).create(session)
    qtbot.addWidget(widget)
    other = make_view(session)
    qtbot.addWidget(other)
    assert isinstance(widget, view_class) and isinstance(other, view_class)
    assert widget._explanation.text() == explanation and len(explanation.splitlines()) == 2
    assert widget._hint.text() == hint and hint.startswith("Try this")
    return widget, other


def draw_a_one(qtbot, canvas) -> None:
    """A stroke down the middle of the canvas: a drawn 1 (waits for canvas.changed)."""
    with qtbot.waitSignal(canvas.changed, timeout=2000):
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(canvas.width() // 2, canvas.height() // 5))
        for y in np.linspace(0.2, 0.8, 12):
            QTest.mouseMove(canvas, QPoint(canvas.width() // 2, int(y * canvas.height())))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           QPoint(canvas.width() // 2, 4 * canvas.height() // 5))
