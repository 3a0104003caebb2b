"""The memorise view: runs off the GUI thread, plots both runs live, ends with the measured figures."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import memorise as lesson
from digitlab.ui.lessons.memorise import EXPLANATION, HINT, MemoriseView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    registered_views, shown_view, untrained_session_fixture,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, MemoriseView(session, quick=True, rng=np.random.default_rng(0)), 900, 600)


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "memorise", make_view, MemoriseView, session, EXPLANATION, HINT)
    assert not widget.quick() and widget.config() == lesson.Config()
    assert "784-256-10" in widget._run_button.text()
    widget.shutdown()


def test_quick_box_chooses_the_quick_run(view):
    assert view.quick() and view.config() == lesson.Config.quick()
    assert "500 digits" in view._run_button.text() and "784-64-10" in view._run_button.text()
    view.set_quick(False)
    assert view.config() == lesson.Config() and "2,000 digits" in view._run_button.text()


def test_a_run_plots_both_runs_live_and_ends_with_the_measured_figures(qtbot, view):
    drawn = []  # the number of epochs on screen each time the view redraws during the run
    view.runner.progress.connect(lambda *_: drawn.append(view.curve_data("random", "train")[0].size))
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running()  # off the GUI thread: the click returned at once
        assert not view._run_button.isEnabled() and view._cancel_button.isEnabled()
        assert not view._quick_box.isEnabled()
    result = blocker.args[0]
    assert result is view.result() and result.finished
    # Live: the curves grew during the run, several times, not only at the end.
    assert view.live_updates >= 2 and len(set(drawn)) >= 2
    # In the end the curves are the result's history, for both runs and both measures.
    epochs = np.arange(1, result.epochs + 1)
    for run in lesson.RUNS:
        history = getattr(result, run)
        for part in ("train", "val"):
            x, y = view.curve_data(run, part, "accuracy")
            np.testing.assert_array_equal(x, epochs)
            np.testing.assert_allclose(y, getattr(history, f"{part}_accuracy"))
            _, cost = view.curve_data(run, part, "cost")
            np.testing.assert_allclose(cost, getattr(history, f"{part}_cost"))
        assert view._fit_lines[run].isVisible() and view._fit_lines[run].value() == history.epochs_to_fit
    # The effect, in direction, and in plain words.
    assert result.random.final("train_accuracy") >= 0.95 and result.random.final("val_accuracy") <= 0.2
    assert result.true.epochs_to_fit < result.random.epochs_to_fit
    assert view.summary_text() == result.summary()
    assert f"{result.slowdown:.1f} times as long" in view.summary_text()
    assert not view.is_running() and view._run_button.isEnabled() and not view._cancel_button.isEnabled()


def test_cancel_stops_the_run_and_says_so(qtbot, view):
    view.set_quick(False)  # long enough to cancel mid-way
    with qtbot.waitSignal(view.runner.cancelled, timeout=30_000):
        view.start()
        qtbot.waitUntil(lambda: view.live_updates >= 1, timeout=30_000)
        QTest.mouseClick(view._cancel_button, Qt.MouseButton.LeftButton)
    assert view.summary_text() == "Training cancelled."
    assert view.result() is None and not view.is_running() and view._run_button.isEnabled()


def test_shutdown_mid_run_stops_cleanly(qtbot, view):
    view.start()
    assert view.is_running()
    view.shutdown()  # cancel -> quit -> wait; a running QThread destroyed would abort
    assert not view.is_running()
