"""The "none" view: runs off the GUI thread, shows the noise histograms before and after, and the figures."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import none as lesson
from digitlab.ui.lessons.none import EXPLANATION, HINT, NoneView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    registered_views, shown_view, untrained_session_fixture,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, NoneView(session, quick=True, rng=np.random.default_rng(0)), 900, 600)


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "none", make_view, NoneView, session, EXPLANATION, HINT)
    assert not widget.quick() and widget.config() == lesson.Config()
    assert f"{lesson.DEFAULT_EPOCHS} epochs" in widget._run_button.text()
    widget.shutdown()
    other.shutdown()


def test_a_run_shows_both_histograms_and_the_figures(qtbot, view):
    assert view.config() == lesson.Config.quick()
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running() and not view._run_button.isEnabled()
    result = blocker.args[0]
    assert result is view.result() and not view.is_running()
    for run in lesson.RUNS:
        edges, counts = view.histogram(run)
        expected, expected_edges = np.histogram(getattr(result, f"{run}_noise_top"), bins=20, range=(0, 1))
        np.testing.assert_allclose(edges, expected_edges)
        np.testing.assert_array_equal(counts, expected)
        assert f"{result.share(run):.1%} confident on noise" in view._plots[run].plotItem.titleLabel.text
    # The direction, in the histograms: fewer noise images right of the threshold after exposure.
    assert view.histogram("after")[1][10:].sum() < view.histogram("before")[1][10:].sum()
    assert view.summary_text() == result.summary() and " points " in view.summary_text()
    view.grab().save("/tmp/none.png")
