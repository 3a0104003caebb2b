"""The minima view: runs off the GUI thread, shows each run as it finishes, ends with the measured figures."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import minima as lesson
from digitlab.ui.lessons.minima import EXPLANATION, HINT, MinimaView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    registered_views, shown_view, untrained_session_fixture,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, MinimaView(session, quick=True, rng=np.random.default_rng(0)), 1000, 650)


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "minima", make_view, MinimaView, session, EXPLANATION, HINT)
    assert not widget.quick() and widget.config() == lesson.Config()
    assert "8 seeds of 784-16-16-10" in widget._run_button.text()
    widget.set_quick(True)
    assert widget.config() == lesson.Config.quick() and "3 seeds" in widget._run_button.text()
    widget.shutdown()


def test_a_run_shows_each_run_as_it_finishes_and_ends_with_the_figures(qtbot, view):
    shown = []  # how many runs were on screen at each progress report
    view.runner.progress.connect(lambda *_: shown.append(len(view.shown_mosaics())))
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running()  # off the GUI thread: the click returned at once
        assert not view._run_button.isEnabled() and view._cancel_button.isEnabled()
    result = blocker.args[0]
    assert result is view.result() and result.finished
    # Live: runs appeared one by one, before the end.
    assert view.live_updates >= 2 and any(0 < count < len(result.runs) for count in shown)
    mosaics = view.shown_mosaics()
    assert len(mosaics) == len(result.runs) == lesson.QUICK_SEEDS
    for index, mosaic in enumerate(mosaics):
        expected = np.nan_to_num(lesson.weight_mosaic(result.aligned_weights(index)), nan=0.0)
        np.testing.assert_allclose(mosaic, expected)
        assert f"{result.runs[index].test_accuracy:.1%}" in view._mosaics[index][2].text
    counts = view.histogram_counts()
    assert counts["accuracy"].sum() == counts["cost"].sum() == len(result.runs)
    assert view.summary_text() == result.summary()
    assert f"{result.weight_similarity:.2f}" in view.summary_text()
    assert not view.is_running() and view._run_button.isEnabled() and not view._cancel_button.isEnabled()


def test_cancel_stops_the_run_and_says_so(qtbot, view):
    view.set_quick(False)
    with qtbot.waitSignal(view.runner.cancelled, timeout=30_000):
        view.start()
        qtbot.waitUntil(lambda: view._progress.value() > 0, timeout=30_000)
        QTest.mouseClick(view._cancel_button, Qt.MouseButton.LeftButton)
    assert view.summary_text() == "Training cancelled."
    assert view.result() is None and not view.is_running() and view._run_button.isEnabled()


def test_shutdown_mid_run_stops_cleanly(qtbot, view):
    view.start()
    assert view.is_running()
    view.shutdown()
    assert not view.is_running()
