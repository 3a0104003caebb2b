"""LessonRunner: a lesson's run() on a worker thread, finished, failed, cancelled and shut down."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QThread

from digitlab.ui.lessons.runner import LessonRunner


class Cancelled(Exception):
    pass


def counting_run(config, rng, progress=None, cancel=None):
    """A stand-in lesson: ``config["steps"]`` steps of ``config["pause"]`` s, polling cancel."""
    config["thread"] = threading.get_ident()
    values = []
    for step in range(config["steps"]):
        if cancel is not None and cancel():
            raise Cancelled("stopped")
        values.append(rng.random())
        if progress is not None:
            progress((step + 1) / config["steps"], f"step {step + 1}")
        time.sleep(config["pause"])
    return np.array(values)


def failing_run(config, rng, progress=None, cancel=None):
    raise ValueError("the model has 11 outputs")


@pytest.fixture
def runner(qtbot):
    runner = LessonRunner()
    yield runner
    runner.shutdown()
    assert not runner.is_running()


def test_a_run_finishes_on_another_thread_with_a_seeded_rng(qtbot, runner):
    progress = []
    runner.progress.connect(lambda fraction, message: progress.append((fraction, message)))
    config = {"steps": 5, "pause": 0.01}
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start(counting_run, config, seed=7)
        assert runner.is_running()
    np.testing.assert_array_equal(blocker.args[0], np.random.default_rng(7).random(5))
    assert config["thread"] != threading.get_ident()  # not the GUI thread
    assert progress and progress[-1] == (1.0, "step 5")
    assert all(0 <= f <= 1 for f, _ in progress)
    assert not runner.is_running()


def test_progress_is_throttled(qtbot, runner):
    progress = []
    runner.progress.connect(lambda fraction, message: progress.append(fraction))
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(counting_run, {"steps": 2000, "pause": 0.0}, seed=0)
    # 2000 steps in well under a second; at most ~30 reports a second, plus the last one.
    assert 1 <= len(progress) < 100
    assert progress[-1] == 1.0


def test_an_error_is_reported_in_one_line(qtbot, runner):
    finished = []
    runner.finished.connect(finished.append)
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(failing_run, {}, seed=0)
    assert blocker.args == ["ValueError: the model has 11 outputs"]
    assert finished == [] and not runner.is_running()


def test_cancel_stops_the_run(qtbot, runner):
    finished = []
    runner.finished.connect(finished.append)
    config = {"steps": 10_000, "pause": 0.001}
    runner.start(counting_run, config, seed=0)
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel()
    assert not runner.is_running()
    qtbot.wait(50)
    assert finished == []


def test_shutdown_while_running_waits_for_the_thread(qtbot):
    runner = LessonRunner()
    config = {"steps": 10_000, "pause": 0.001}
    finished = []
    runner.finished.connect(finished.append)
    runner.start(counting_run, config, seed=0)
    worker_thread = runner._worker_thread
    qtbot.waitUntil(lambda: "thread" in config, timeout=5000)
    started = time.monotonic()
    runner.shutdown()
    assert time.monotonic() - started < 2.0
    assert not runner.is_running()
    assert isinstance(worker_thread, QThread) and worker_thread.isFinished()
    runner.shutdown()  # twice is fine
    qtbot.wait(50)  # late queued signals of the stopped run are ignored
    assert finished == []
    del runner, worker_thread  # destroying them now must not abort the process


def test_a_new_start_replaces_a_running_one(qtbot, runner):
    results = []
    runner.finished.connect(results.append)
    runner.start(counting_run, {"steps": 10_000, "pause": 0.001}, seed=0)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(counting_run, {"steps": 3, "pause": 0.0}, seed=1)
    assert len(results) == 1 and results[0].shape == (3,)
