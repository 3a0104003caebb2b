"""The training worker thread and its GUI-thread controller, with real threads and a real child process."""

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QThread

from digitlab.core.datasets import load_sample
from digitlab.core.network import Network
from digitlab.core.datasets import DataSplit
from digitlab.core.training import TrainingConfig
from digitlab.core.training_process import TrainingProcess
from digitlab.ui.training_worker import TrainingController, TrainingWorker



@pytest.fixture(scope="module")
def data():
    split = load_sample()
    return DataSplit(split.train_images, split.train_labels, split.val_images[:300], split.val_labels[:300])


@pytest.fixture
def network():
    return Network.create(rng=np.random.default_rng(1))


@pytest.fixture
def controller(qtbot):
    ctrl = TrainingController()
    records, finals, errors, states, loaded, load_errors = [], [], [], [], [], []
    ctrl.progress.connect(records.append)
    ctrl.finished.connect(finals.append)
    ctrl.failed.connect(errors.append)
    ctrl.stateChanged.connect(states.append)
    ctrl.dataLoaded.connect(loaded.append)
    ctrl.loadFailed.connect(load_errors.append)
    ctrl.records, ctrl.finals, ctrl.errors, ctrl.states = records, finals, errors, states
    ctrl.loaded, ctrl.load_errors = loaded, load_errors
    yield ctrl
    # A test that fails mid-run must not leave a running QThread behind.
    assert ctrl.shutdown(10_000)


def test_worker_run_emits_progress_then_final_record(qtbot, data, network):
    config = TrainingConfig(epochs=2, train_size=200)
    process = TrainingProcess(network, data, config, min_interval=0)
    worker = TrainingWorker(process, network)
    records, finals, loaded = [], [], []
    worker.progress.connect(records.append)
    worker.finished.connect(finals.append)
    worker.loaded.connect(loaded.append)
    worker.run()  # synchronously, on this thread
    assert worker.parent() is None
    kinds = [r.kind for r in records]
    assert kinds.count("epoch") == 2 and "batch" in kinds
    assert len(finals) == 1 and finals[0].kind == "finished"
    assert finals[0].samples_seen == 400
    assert loaded[0].train_examples == 200 and loaded[0].run_samples == 400
    # Every record has its weights back, and the network holds the final ones.
    assert all(r.weights[0].shape == (16, 784) for r in records)
    np.testing.assert_array_equal(network.weights[0], finals[0].weights[0])
    assert process.exitcode() is None and not segment_exists(process.segment_name)  # closed, unlinked


def test_full_run_trains_the_network_on_the_worker_thread(qtbot, controller, data, network):
    before = network.weights[0].copy()
    gui_thread = QCoreApplication.instance().thread()
    threads_seen = []
    controller.progress.connect(lambda _record: threads_seen.append(QThread.currentThread()))
    with qtbot.waitSignal(controller.finished, timeout=20_000):
        controller.start(network, data, TrainingConfig(epochs=1, train_size=500))
        assert controller.is_running()
    final = controller.finals[0]
    assert final.kind == "finished"
    assert final.samples_seen == 500
    assert not np.array_equal(before, network.weights[0])
    np.testing.assert_array_equal(final.weights[0], network.weights[0])
    assert [r.kind for r in controller.records].count("epoch") == 1
    # Relayed records are delivered on the GUI thread.
    assert threads_seen and all(t is gui_thread for t in threads_seen)
    assert controller.states == ["running", "idle"]
    assert not controller.is_running() and controller.state() == "idle"


def test_records_are_read_only_copies(qtbot, controller, data, network):
    with qtbot.waitSignal(controller.finished, timeout=20_000):
        controller.start(network, data, TrainingConfig(epochs=1, train_size=100))
    record = controller.records[-1]
    assert not record.weights[0].flags.writeable
    with pytest.raises(ValueError):
        record.weights[0][0, 0] = 1.0


def test_pause_step_resume_stop(qtbot, controller, data, network):
    config = TrainingConfig(epochs=50, batch_size=10)
    controller.start(network, data, config)
    qtbot.waitUntil(lambda: len(controller.records) > 0, timeout=10_000)

    controller.pause()
    assert controller.state() == "paused"
    qtbot.waitUntil(lambda: controller.records[-1].kind == "paused", timeout=10_000)
    frozen = controller.records[-1].samples_seen
    qtbot.wait(100)
    assert controller.records[-1].samples_seen == frozen  # really paused

    controller.step()
    # One mini-batch later the loop pauses again (a "batch" record may come first).
    qtbot.waitUntil(
        lambda: controller.records[-1].kind == "paused" and controller.records[-1].samples_seen == frozen + 10,
        timeout=10_000,
    )
    assert controller.state() == "paused"

    controller.resume()
    assert controller.state() == "running"
    qtbot.waitUntil(lambda: controller.records[-1].samples_seen > frozen + 100, timeout=10_000)

    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()
    assert controller.finals[-1].kind == "stopped"
    assert controller.states == ["running", "paused", "running", "idle"]


def test_stop_wakes_a_paused_run(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=50), paused=True)
    qtbot.waitUntil(lambda: bool(controller.records) and controller.records[-1].kind == "paused", timeout=10_000)
    assert controller.records[-1].samples_seen == 0
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()
    assert controller.finals[-1].kind == "stopped"


def test_learning_rate_change_applies_during_the_run(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=50, learning_rate=3.0))
    qtbot.waitUntil(lambda: len(controller.records) > 0, timeout=10_000)
    assert controller.records[0].learning_rate == 3.0
    controller.set_learning_rate(0.25)
    qtbot.waitUntil(lambda: controller.records[-1].learning_rate == 0.25, timeout=10_000)


def test_shutdown_mid_run_ends_the_thread_and_silences_late_records(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=50))
    qtbot.waitUntil(lambda: len(controller.records) > 2, timeout=10_000)
    pid, segment = controller.child_pid(), controller.segment_name()
    assert controller.shutdown(10_000)
    assert not controller.is_running()
    assert pid_gone(pid) and not segment_exists(segment)  # no orphan, no leaked shared memory
    seen = len(controller.records)
    qtbot.wait(100)  # let any queued records arrive: they must be ignored
    assert len(controller.records) == seen
    assert controller.finals == []
    # The controller can run again afterwards.
    with qtbot.waitSignal(controller.finished, timeout=20_000):
        controller.start(network, data, TrainingConfig(epochs=1, train_size=100))
    assert controller.finals[-1].kind == "finished"


def test_a_second_start_while_running_is_refused(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=50))
    with pytest.raises(RuntimeError):
        controller.start(network.copy(), data, TrainingConfig(epochs=1))


def test_invalid_config_is_refused_before_any_thread_starts(qtbot, controller, data, network):
    with pytest.raises(ValueError, match="learning rate"):
        controller.start(network, data, TrainingConfig(learning_rate=-1.0))
    assert not controller.is_running()


def test_an_exception_in_training_is_reported(qtbot, controller, data, network):
    # A label of 12 has no one-hot target among 10 outputs: the loop raises.
    bad = DataSplit(data.train_images[:20], np.full(20, 12), data.val_images[:5], data.val_labels[:5])
    with qtbot.waitSignal(controller.failed, timeout=10_000):
        controller.start(network, bad, TrainingConfig(epochs=1))
    assert "Training failed" in controller.errors[0]
    assert not controller.is_running()


def segment_exists(name):
    return (Path("/dev/shm") / name).exists()


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_training_runs_in_a_child_process_that_loads_the_data_by_name(qtbot, controller, network):
    with qtbot.waitSignal(controller.finished, timeout=30_000):
        controller.start(network, "sample", TrainingConfig(epochs=1, train_size=100))
        pid = controller.child_pid()
        assert pid is None or pid != os.getpid()
    assert controller.loaded[0].data_name == "sample" and controller.loaded[0].train_examples == 100
    assert controller.finals[0].samples_seen == 100
    assert controller.child_pid() is None and controller.segment_name() is None


def test_a_data_set_that_cannot_load_is_reported_and_ends_the_run(qtbot, controller, network, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path))  # no full MNIST there
    with qtbot.waitSignal(controller.loadFailed, timeout=30_000):
        controller.start(network, "mnist", TrainingConfig(epochs=1))
    assert controller.load_errors[0] and "\n" not in controller.load_errors[0]
    assert not controller.is_running() and controller.finals == [] and controller.errors == []


def test_a_child_killed_mid_run_keeps_the_last_weights_and_a_new_run_can_start(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=500))
    qtbot.waitUntil(lambda: len(controller.records) > 2, timeout=30_000)
    pid, segment = controller.child_pid(), controller.segment_name()
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(controller.errors), timeout=30_000)
    assert "stopped unexpectedly" in controller.errors[0] and "signal 9" in controller.errors[0]
    assert not controller.is_running() and controller.states[-1] == "idle"
    # The network holds what the last record showed; nothing is left behind.
    np.testing.assert_array_equal(network.weights[0], controller.records[-1].weights[0])
    assert pid_gone(pid) and not segment_exists(segment)
    with qtbot.waitSignal(controller.finished, timeout=30_000):
        controller.start(network, data, TrainingConfig(epochs=1, train_size=100))
    assert controller.finals[-1].kind == "finished"


def test_shutdown_ends_a_child_inside_one_long_batch(qtbot, controller):
    # Eight wide layers at a batch of 9,000 (the panel allows it): one batch takes many seconds.
    split = load_sample()
    big = Network.create((784, 1024, 1024, 1024, 10), rng=np.random.default_rng(0))
    controller.start(big, split, TrainingConfig(epochs=5, batch_size=len(split.train_labels)), min_interval=0)
    qtbot.waitUntil(lambda: len(controller.records) >= 1, timeout=120_000)  # batch 2 is under way
    pid, segment = controller.child_pid(), controller.segment_name()
    assert controller.shutdown(10_000)
    assert pid_gone(pid) and not segment_exists(segment)
    assert controller.finals == [] and controller.errors == []
    np.testing.assert_array_equal(big.weights[0], controller.records[-1].weights[0])


def batches_during(qtbot, controller, seconds):
    """Mini-batches the run trains while the GUI's event loop runs for ``seconds`` (not qWait: it keeps the GIL)."""
    def done():
        return sum(len(r.batch_losses) for r in controller.records)

    before, start = done(), time.perf_counter()
    qtbot.waitUntil(lambda: time.perf_counter() - start >= seconds, timeout=int(seconds * 1000) + 10_000)
    return done() - before, time.perf_counter() - start


def test_a_speed_limit_slows_a_real_run_and_changes_mid_run(qtbot, controller, data, network):
    controller.start(network, data, TrainingConfig(epochs=50), batch_rate=20)
    qtbot.waitUntil(lambda: len(controller.records) > 1, timeout=10_000)
    slow, slow_time = batches_during(qtbot, controller, 0.6)
    # The loop waits 1/20 s between batch starts, so no machine can go faster than that
    # (records may lag by a batch or two at either end).
    assert 1 <= slow <= 20 * slow_time + 3
    assert all(len(r.batch_losses) <= 1 for r in controller.records[1:])  # slow motion: every batch reported
    controller.set_batch_rate(None)
    fast, fast_time = batches_during(qtbot, controller, 0.6)
    assert fast / fast_time > 5 * slow / slow_time  # full speed is far faster, even on a loaded machine
    controller.set_batch_rate(2)
    # Records of the fast phase may still be queued: wait until two in a row are 1/2 s apart by the loop's clock.
    qtbot.waitUntil(lambda: slowed_down(controller.records, 0.5), timeout=10_000)
    crawl, crawl_time = batches_during(qtbot, controller, 1.0)
    assert crawl <= 2 * crawl_time + 2
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()


def slowed_down(records, interval):
    """True once the newest two records are single batches ``interval`` apart in the loop's own time."""
    last = records[-2:]
    return (len(last) == 2 and all(len(r.batch_losses) == 1 for r in last)
            and last[1].elapsed - last[0].elapsed >= 0.8 * interval)
