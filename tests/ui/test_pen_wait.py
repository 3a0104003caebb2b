"""Training's redraws are throttled and keep out of the way of a stroke (digitlab.ui.pen_wait)."""

import time

import pytest

from digitlab.ui import pen_wait
from digitlab.ui.pen_wait import ThrottledUpdate


@pytest.fixture(autouse=True)
def no_update_just_ran():
    pen_wait._last_update.invalidate()  # the spacing is shared: no other test's update counts


@pytest.fixture
def counted(qapp):
    calls = []
    throttle = ThrottledUpdate(100, lambda: calls.append(1))
    yield throttle, calls
    throttle.cancel()
    throttle.deleteLater()


def test_the_first_request_runs_at_once_and_later_ones_merge_into_one(qtbot, counted):
    throttle, calls = counted
    throttle.request()
    assert calls == [1] and not throttle.pending()
    for _ in range(50):  # a fast run asks after every record
        throttle.request()
    assert calls == [1] and throttle.pending()
    qtbot.waitUntil(lambda: not throttle.pending(), timeout=1000)
    assert calls == [1, 1]


def test_now_runs_at_once_and_cancel_forgets(qtbot, counted):
    throttle, calls = counted
    throttle.request()
    throttle.request()
    throttle.cancel()
    qtbot.wait(250)
    assert calls == [1]
    throttle.now()
    assert calls == [1, 1]


def test_a_due_update_waits_for_the_pen_and_runs_as_it_lifts(qtbot, counted):
    throttle, calls = counted
    drawing = [True]
    throttle.defer_while = lambda: drawing[0]
    throttle.request()  # nothing shown yet: even with the pen down the first one comes
    throttle.request()
    qtbot.wait(300)  # due long ago, but the pen is still down
    assert calls == [1] and throttle.pending()
    drawing[0] = False
    throttle.pen_lifted()
    assert calls == [1]  # from the event loop, not inside the release handler ...
    qtbot.waitUntil(lambda: calls == [1, 1], timeout=pen_wait.CHECK_MS)  # ... at its next turn
    assert not throttle.pending()


def test_a_lifted_pen_does_not_hurry_an_update_that_is_not_due(qtbot, counted):
    throttle, calls = counted
    throttle.interval_ms = 400
    throttle.defer_while = lambda: False
    throttle.request()
    throttle.request()
    throttle.pen_lifted()
    qtbot.wait(100)
    assert calls == [1] and throttle.pending()


def test_a_stroke_that_never_ends_still_sees_updates(qtbot, counted):
    throttle, calls = counted
    throttle.max_wait_ms = 300
    throttle.defer_while = lambda: True
    throttle.request()
    throttle.request()
    qtbot.wait(150)
    assert calls == [1]
    qtbot.waitUntil(lambda: calls == [1, 1], timeout=1000)


def test_two_updates_due_together_are_drawn_in_different_frames(qtbot, qapp):
    times = {}
    curves = ThrottledUpdate(100, lambda: times.setdefault("curves", time.perf_counter()))
    views = ThrottledUpdate(100, lambda: times.setdefault("views", time.perf_counter()))
    curves.request()
    views.request()  # due as well, but the curves have just drawn
    assert list(times) == ["curves"] and views.pending()
    qtbot.waitUntil(lambda: "views" in times, timeout=1000)
    assert 1000 * (times["views"] - times["curves"]) >= pen_wait.SPACING_MS - 1
