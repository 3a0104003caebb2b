"""The landscape view: runs off the GUI thread, draws the slice, the path and the line between two minima."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import landscape as lesson
from digitlab.ui.lessons.landscape import EXPLANATION, HINT, LandscapeView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    registered_views, shipped_session_fixture, shown_view,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, LandscapeView(session, quick=True, rng=np.random.default_rng(0)), 900, 600)


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "landscape", make_view, LandscapeView, session, EXPLANATION, HINT)
    assert not widget.quick() and widget.config().grid == lesson.DEFAULT_GRID
    widget.shutdown()
    other.shutdown()


def _run(qtbot, view):
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running()  # off the GUI thread: the click returned at once
        assert not view._run_button.isEnabled() and view._cancel_button.isEnabled()
    return blocker.args[0]


def test_random_slice_is_drawn_with_the_line_between_two_minima(qtbot, view, session):
    result = _run(qtbot, view)
    assert result is view.result() and result.directions == "random" and result.grid == lesson.QUICK_GRID
    # The slice is the displayed network's: its centre is that network's cost.
    assert result.center_cost == pytest.approx(result.min_cost, rel=0.01)
    np.testing.assert_allclose(view.image_data(), np.log10(result.costs))
    assert view.heatmap.isVisible() and view.heatmap.width() == lesson.QUICK_GRID
    assert view.path_data()[0].size == 0  # no path for random directions
    t, costs = view.line_data()
    np.testing.assert_allclose(t, result.line_t)
    np.testing.assert_allclose(costs, result.line_costs)
    assert costs.max() > costs[np.argmin(np.abs(t))]  # a ridge between the two minima
    t_aligned, aligned = view.line_data(aligned=True)
    np.testing.assert_allclose(t_aligned, result.line_t)
    np.testing.assert_allclose(aligned, result.aligned_costs)
    assert f"{result.barrier:.3f}" in view._line_title.text()
    assert view.summary_text() == result.summary()
    assert view._run_button.isEnabled() and not view._cancel_button.isEnabled()
    view.grab().save("/tmp/landscape.png")


def test_trajectory_mode_draws_the_path_on_the_map(qtbot, view):
    view.set_directions("trajectory")
    result = _run(qtbot, view)
    assert result.directions == "trajectory" and result.path is not None
    x, y = view.path_data()
    np.testing.assert_allclose(x, result.path[:, 0])
    np.testing.assert_allclose(y, result.path[:, 1])
    assert abs(x[-1]) < 1e-9 and abs(y[-1]) < 1e-9  # the path ends at the map's centre
    assert "training path" in view._map_title.text()
    view.grab().save("/tmp/landscape_trajectory.png")


def test_cancel_stops_the_run(qtbot, view):
    view.set_quick(False)
    view.set_directions("trajectory")
    with qtbot.waitSignal(view.runner.cancelled, timeout=60_000):
        view.start()
        assert view.is_running()
        QTest.mouseClick(view._cancel_button, Qt.MouseButton.LeftButton)
    assert not view.is_running() and view.result() is None
    assert view.summary_text() == "Cancelled."
