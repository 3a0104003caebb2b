"""The main window with training in a child process: closing mid-run, a killed child, a long batch."""

import os
import signal
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from digitlab.core.training_process import TrainingProcess
from tests.core.test_training_process import wait_until_computing
from tests.ui.test_training_worker import pid_gone, segment_exists


def start_long_run(qtbot, window, hidden="16,16", batch=10):
    panel = window.training_panel
    panel.refresh_data_choices(select="sample")
    panel.hidden_edit.setText(hidden)
    panel.batch_spin.setValue(batch)
    panel.epochs_spin.setValue(500)
    panel.train_size_spin.setValue(0)
    snapshots = []
    panel.snapshot.connect(snapshots.append)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.is_running(), window.errors
    return panel, snapshots


def test_closing_the_window_mid_run_ends_the_child_and_its_shared_memory(qtbot, open_window):
    window = open_window()
    panel, snapshots = start_long_run(qtbot, window)
    qtbot.waitUntil(lambda: len(snapshots) > 2, timeout=30_000)
    pid, segment = panel.controller.child_pid(), panel.controller.segment_name()
    assert pid != os.getpid() and (segment_exists(segment) or not Path("/dev/shm").is_dir())
    window.close()
    assert not panel.is_running()
    assert pid_gone(pid), "the training child outlived the window"
    assert not segment_exists(segment), "the shared-memory segment leaked"
    assert window.errors == []


def test_closing_during_one_long_batch_ends_cleanly(qtbot, open_window, monkeypatch):
    # Issue 13: a batch of 4,500 through wide layers takes seconds; closing must not wait for it.
    window = open_window()
    ends = []
    original = TrainingProcess.finish

    def finish(process, *args, **kwargs):
        messages = original(process, *args, **kwargs)
        ends.append(process.exitcode())
        return messages

    monkeypatch.setattr(TrainingProcess, "finish", finish)  # records how the child ended; the real finish runs
    # Two batches an epoch, so no evaluation sits between the first batch and the second.
    panel, snapshots = start_long_run(qtbot, window, hidden="2048,2048,2048", batch=4500)
    qtbot.waitUntil(lambda: panel.history.batches >= 1, timeout=120_000)
    pid, segment = panel.controller.child_pid(), panel.controller.segment_name()
    wait_until_computing(pid)  # the second long batch is under way
    window.close()
    assert pid_gone(pid) and not segment_exists(segment)
    assert ends and ends[0] == -signal.SIGTERM  # it could not stop by itself in time: terminated
    assert not panel.is_running()


def test_a_killed_child_leaves_the_window_usable_with_its_last_weights(qtbot, open_window):
    window = open_window()
    panel, snapshots = start_long_run(qtbot, window)
    qtbot.waitUntil(lambda: len(snapshots) > 2, timeout=30_000)
    os.kill(panel.controller.child_pid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=30_000)
    assert window.errors and window.errors[-1][0] == "Training failed"
    assert "stopped unexpectedly" in window.errors[-1][1]
    # The window shows (and predicts with) the last weights that reached it.
    np.testing.assert_array_equal(window.session.network.weights[0], snapshots[-1].weights[0])
    np.testing.assert_array_equal(panel.model().weights[0], snapshots[-1].weights[0])
    # And a new run starts and ends as usual.
    panel.epochs_spin.setValue(1)
    panel.train_size_spin.setValue(200)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000) as ended:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].kind == "finished" and ended.args[0].samples_seen == 200


def test_the_final_records_weights_become_the_windows_model(qtbot, open_window):
    window = open_window()
    panel = window.training_panel
    panel.train_size_spin.setValue(300)
    panel.epochs_spin.setValue(1)
    ended = []
    panel.runEnded.connect(ended.append)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert ended[0].kind == "finished"
    np.testing.assert_array_equal(window.session.network.weights[0], ended[0].weights[0])
    np.testing.assert_array_equal(panel.model().weights[-1], ended[0].weights[-1])


def test_the_app_trains_in_a_child_when_started_as_python_m_digitlab(tmp_path):
    # The path the packaged app's smoke test takes: a real start of the app, spawn from
    # `python -m digitlab`, records printed by digitlab.ui.selftest, then the timed quit.
    import re
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIGITLAB_SMOKE_TRAIN": "1",
           "DIGITLAB_QUIT_AFTER_MS": "15000", "DIGITLAB_SETTINGS_PATH": str(tmp_path / "settings.ini"),
           "DIGITLAB_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "digitlab"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("digitlab smoke-train:")]
    assert lines[0] == "digitlab smoke-train: started"
    assert any(" progress " in line for line in lines)
    assert lines[-1] == "digitlab smoke-train: ended finished 2,000 samples", done.stderr
    pids = {int(p) for p in re.findall(r"child pid (\d+)", done.stderr)}
    assert len(pids) == 1 and pid_gone(pids.pop())
    assert "Traceback" not in done.stderr
