"""The overfit view: runs off the GUI thread, plots four runs live, ends with the figures and a verdict."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import overfit as lesson
from digitlab.ui.lessons.overfit import EXPLANATION, HINT, OverfitView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    registered_views, shown_view, untrained_session_fixture,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, OverfitView(session, quick=True, rng=np.random.default_rng(0)), 900, 650)


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "overfit", make_view, OverfitView, session, EXPLANATION, HINT)
    assert not widget.quick() and widget.config() == lesson.Config()
    assert "1,000 digits" in widget._run_button.text() and "784-30-10" in widget._run_button.text()
    widget.shutdown()
    other.shutdown()


def test_quick_box_chooses_the_quick_run(view):
    assert view.quick() and view.config() == lesson.Config.quick()
    assert "200 digits" in view._run_button.text()
    view.set_quick(False)
    assert view.config() == lesson.Config() and "200 epochs" in view._run_button.text()


def test_a_run_plots_four_runs_live_and_ends_with_figures_and_a_verdict(qtbot, view):
    drawn = []  # epochs on screen each time the view redraws during the run
    view.runner.progress.connect(lambda *_: drawn.append(view.curve_data("augment", "test")[0].size))
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running()  # off the GUI thread: the click returned at once
        assert not view._run_button.isEnabled() and view._cancel_button.isEnabled()
    result = blocker.args[0]
    assert result is view.result() and result.finished
    assert view.live_updates >= 2 and len(set(drawn)) >= 2
    epochs = np.arange(1, result.epochs + 1)
    for run in lesson.RUNS:
        for part in ("train", "test"):
            x, y = view.curve_data(run, part)
            np.testing.assert_array_equal(x, epochs)
            np.testing.assert_allclose(y, getattr(result.runs[run], f"{part}_accuracy"))
    figures = view.figures_text()
    for run in lesson.RUNS:
        assert f"{result.runs[run].final('test_accuracy'):.1%} of the new ones" in figures
    verdict = view.verdict_text()
    assert f"{100 * result.runs['plain'].gap:.1f} points" in verdict
    for sentence in result.verdicts():
        assert sentence in verdict
    if result.gain(result.best_cure) >= 1.0:
        assert f"{lesson.TITLES[result.best_cure]} helped most" in verdict
    assert not view.is_running() and view._run_button.isEnabled()
    view.grab().save("/tmp/overfit_view_quick.png")


def test_cancel_stops_the_run_and_says_so(qtbot, view):
    view.set_quick(False)  # long enough to cancel mid-way
    with qtbot.waitSignal(view.runner.cancelled, timeout=30_000):
        view.start()
        qtbot.waitUntil(lambda: view.live_updates >= 1, timeout=30_000)
        QTest.mouseClick(view._cancel_button, Qt.MouseButton.LeftButton)
    assert view.verdict_text() == "Training cancelled."
    assert view.result() is None and not view.is_running() and view._run_button.isEnabled()


def test_shutdown_mid_run_stops_cleanly(qtbot, view):
    view.start()
    assert view.is_running()
    view.shutdown()
    assert not view.is_running()
