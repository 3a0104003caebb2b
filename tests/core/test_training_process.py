"""Training in a real child process: records, commands, shared weights, faults and clean-up."""

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab.core.datasets import DataSplit, load_sample
from digitlab.core.network import Network
from digitlab.core.flat_parameters import split_parameters
from digitlab.core.shared_weights import SharedWeights
from digitlab.core.training import TrainingConfig, train
from digitlab.core.training_process import (
    FINAL_KINDS, ChildGone, RunInfo, TrainingProcess, without_weights,
)

SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def data():
    split = load_sample()
    return DataSplit(split.train_images[:1000], split.train_labels[:1000], split.val_images[:200],
                     split.val_labels[:200], name="small")


@pytest.fixture
def network():
    return Network.create(rng=np.random.default_rng(1))


@pytest.fixture
def runs():
    """Makes TrainingProcess objects and closes every one of them at the end."""
    made = []

    def make(*args, **kwargs):
        process = TrainingProcess(*args, **kwargs)
        made.append(process)
        process.start()
        return process

    yield make
    for process in made:
        process.close()


def next_message(process, kinds=None, timeout=30.0):
    """The next message (of one of ``kinds``), failing the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = process.receive(0.05)
        if message is not None and (kinds is None or message[0] in kinds):
            return message
    pytest.fail(f"no {kinds or 'message'} from the child within {timeout} s")


def next_record(process, predicate=lambda record: True, timeout=30.0):
    while True:
        record = next_message(process, ("record",), timeout)[1]
        if predicate(record):
            return record


def wait_until_computing(pid, seconds=0.3):
    """Return once the process ``pid`` has used ``seconds`` more CPU time (Linux), or after a pause."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        time.sleep(1.0)
        return

    def used():  # utime + stime, fields 14 and 15, after the parenthesised command name
        fields = stat.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    start = used()
    deadline = time.monotonic() + 60
    while used() - start < seconds and time.monotonic() < deadline:
        time.sleep(0.02)


def segment_exists(name):
    return (SHM / name).exists()


def test_a_run_in_the_child_matches_the_same_run_in_process(runs, data, network):
    config = TrainingConfig(epochs=2, train_size=300, seed=3)
    expected = network.copy()
    in_process = list(train(expected, data, config))
    process = runs(network, data, config)
    kind, info = next_message(process)
    assert kind == "ready" and info == RunInfo("small", 300, 600)
    records = []
    while not records or records[-1].kind not in FINAL_KINDS:
        records.append(next_record(process))
    final = process.with_weights(records[-1])
    assert final.kind == "finished" and final.samples_seen == 600
    assert [r.kind for r in records].count("epoch") == 2
    # Same seed, same data, same arithmetic: the child's network is the in-process one.
    for got, want in zip(final.weights + final.biases, expected.weights + expected.biases):
        np.testing.assert_array_equal(got, want)
    assert all(not a.flags.writeable for a in final.weights + final.biases)
    np.testing.assert_array_equal(records[-1].batch_losses, in_process[-1].batch_losses)
    # The caller's network is only the starting point: the child trains its own.
    np.testing.assert_array_equal(network.weights[0], Network.create(rng=np.random.default_rng(1)).weights[0])


def test_records_travel_without_weights(runs, data, network):
    process = runs(network, data, TrainingConfig(epochs=1, train_size=100))
    record = next_record(process)
    assert record.weights == () and record.biases == ()
    assert len(record.batch_losses) >= 1


def test_the_child_loads_a_named_data_set_itself(runs, network):
    process = runs(network, "sample", TrainingConfig(epochs=1, train_size=50))
    kind, info = next_message(process)
    assert kind == "ready" and info.data_name == "sample" and info.train_examples == 50


def test_a_data_set_that_cannot_load_gives_one_clear_line(runs, network, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path))  # no MNIST there; the child inherits it
    process = runs(network, "mnist", TrainingConfig(epochs=1))
    kind, message = next_message(process)
    assert kind == "load_failed"
    assert isinstance(message, str) and message and "\n" not in message and "Traceback" not in message


def test_an_exception_in_the_child_is_reported(runs, data, network):
    # A label of 12 has no one-hot target among 10 outputs: the loop raises.
    bad = DataSplit(data.train_images[:20], np.full(20, 12), data.val_images[:5], data.val_labels[:5])
    process = runs(network, bad, TrainingConfig(epochs=1))
    kind, message = next_message(process, ("failed", "record"))
    assert kind == "failed" and message.startswith("Training failed: IndexError")


def test_pause_step_resume_rate_and_stop_act_between_batches(runs, data, network):
    process = runs(network, data, TrainingConfig(epochs=500, batch_size=10), paused=True)
    paused = next_record(process)
    assert paused.kind == "paused" and paused.samples_seen == 0
    process.send("step", 2)
    stepped = next_record(process, lambda r: r.kind == "paused")
    assert stepped.samples_seen == 20 and stepped.step is not None and stepped.step.number == 2
    process.send("hyper", {"learning_rate": 0.125})
    process.send("resume")
    assert next_record(process, lambda r: r.learning_rate == 0.125).samples_seen > 20
    process.send("pause")
    frozen = next_record(process, lambda r: r.kind == "paused").samples_seen
    process.send("rate", 1000.0)
    process.send("stop")
    stopped = next_record(process, lambda r: r.kind in FINAL_KINDS)
    assert stopped.kind == "stopped" and stopped.samples_seen == frozen


def test_a_closed_command_pipe_stops_the_child(runs, data, network):
    # What the child sees when the window's process dies: it must not train on as an orphan.
    process = runs(network, data, TrainingConfig(epochs=500))
    next_record(process)
    process._commands.close()
    assert next_record(process, lambda r: r.kind in FINAL_KINDS).kind == "stopped"
    process._process.join(10)
    assert process.exitcode() == 0


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_the_child_runs_at_the_lowest_priority(runs, data, network):
    process = runs(network, data, TrainingConfig(epochs=500))
    next_record(process)
    assert os.getpriority(os.PRIO_PROCESS, process.pid) == 19


def test_sigkill_mid_run_is_reported_and_leaves_no_segment(runs, data, network):
    process = runs(network, data, TrainingConfig(epochs=500))
    next_record(process)
    name, pid = process.segment_name, process.pid
    assert segment_exists(name) or not SHM.is_dir()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ChildGone, match="signal 9"):
        for _ in range(100_000):
            process.receive(0.05)
    assert process.weights() is not None  # the last published weights are still readable
    process.close()
    assert not segment_exists(name)
    assert process.exitcode() is None  # closed


def test_finish_ends_a_child_stuck_in_one_long_batch(runs, network):
    # A batch of 4,500 digits through wide layers takes seconds: a stop during it is not
    # heard within a grace of 0.2 s (two batches an epoch: no evaluation between).
    split = load_sample()
    big = Network.create((784, 2048, 2048, 2048, 10), rng=np.random.default_rng(0))
    config = TrainingConfig(epochs=5, batch_size=len(split.train_labels) // 2)
    process = runs(big, split, config, min_interval=0)
    assert next_record(process, timeout=120).kind == "batch"
    name, pid = process.segment_name, process.pid
    wait_until_computing(pid)  # the second batch is under way now
    messages = process.finish(grace=0.2)
    assert process.exitcode() == -signal.SIGTERM, messages  # it had to be terminated
    assert all(kind != "record" or record.kind == "paused" for kind, record in messages)
    process.close()
    assert not segment_exists(name)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, reaped: no zombie, no orphan


def test_finish_after_a_normal_stop_does_not_terminate(runs, data, network):
    process = runs(network, data, TrainingConfig(epochs=500))
    next_record(process)
    messages = process.finish()
    finals = [record for kind, record in messages if kind == "record" and record.kind in FINAL_KINDS]
    assert [r.kind for r in finals] == ["stopped"] and process.exitcode() == 0


def test_close_before_start_and_twice_is_safe(data, network):
    process = TrainingProcess(network, data, TrainingConfig(epochs=1))
    name = process.segment_name
    process.close()
    process.close()
    assert not segment_exists(name)
    assert not process.send("stop")


def test_without_weights_keeps_everything_else(data, network):
    record = next(iter(train(network.copy(), data, TrainingConfig(epochs=1, train_size=20), min_interval=0)))
    light = without_weights(record)
    assert light.weights == () and light.biases == ()
    assert light.samples_seen == record.samples_seen and light.batch_losses is record.batch_losses


def test_split_parameters_lays_out_as_the_network_does(network):
    weights, biases = split_parameters(network.parameters, network.sizes)
    for got, want in zip(weights + biases, network.weights + network.biases):
        assert np.shares_memory(got, network.parameters)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        split_parameters(network.parameters[:-1], network.sizes)


def _write_constant_arrays(name, size, lock, rounds):
    shared = SharedWeights.attach(name, size, np.float64, lock)
    values = np.empty(size)
    for k in range(rounds):
        values.fill(k)
        shared.write(values)
    shared.close()


def test_a_reader_never_sees_half_written_weights():
    # A writer in another process fills the whole array with one number per write; a torn
    # read would show two numbers. Without the lock this fails within a few reads.
    context = multiprocessing.get_context("spawn")
    size = 1_000_000
    shared = SharedWeights.create(np.zeros(size), context.Lock())
    try:
        writer = context.Process(target=_write_constant_arrays, args=(shared.name, size, shared.lock, 400))
        writer.start()
        reads = 0
        while writer.is_alive() or reads == 0:
            got = shared.read()
            values, writes = got
            assert values.min() == values.max(), f"torn read after {writes} writes"
            reads += 1
        writer.join()
        assert writer.exitcode == 0 and reads > 10
        assert shared.read()[1] == 400 and shared.read()[0][0] == 399
    finally:
        shared.close()
    assert not segment_exists(shared.name)


def test_a_segment_too_big_for_dev_shm_is_refused_up_front(monkeypatch):
    from digitlab.core import shared_weights

    if not sys.platform.startswith("linux"):
        pytest.skip("the /dev/shm check is Linux's")

    class Tiny:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(shared_weights.os, "statvfs", lambda path: Tiny)
    with pytest.raises(shared_weights.SharedWeightsError, match="not enough shared memory"):
        SharedWeights.create(np.zeros(100_000), multiprocessing.get_context("spawn").Lock())


def test_ctrl_c_in_the_terminal_leaves_the_child_to_the_window(runs, data, network):
    # SIGINT reaches the whole process group; the window decides, the child trains on quietly.
    process = runs(network, data, TrainingConfig(epochs=500))
    before = next_record(process).samples_seen
    os.kill(process.pid, signal.SIGINT)
    assert next_record(process, lambda r: r.samples_seen > before + 1000).kind in ("batch", "epoch")
    assert process.is_alive()
    assert [r.kind for kind, r in process.finish() if kind == "record"][-1:] == ["stopped"]


def test_a_running_write_skips_rather_than_waits_for_a_reader():
    # The window's reader may hold the lock while its thread waits for the GIL: training goes on.
    context = multiprocessing.get_context("spawn")
    shared = SharedWeights.create(np.zeros(10), context.Lock())
    try:
        shared.lock.acquire()  # a reader in the middle of its copy
        assert shared.write(np.ones(10), wait=False) is False
        shared.lock.release()
        assert shared.read()[0].max() == 0.0
        assert shared.write(np.ones(10), wait=False) is True
        values, writes = shared.read()
        assert values.min() == 1.0 and writes == 1
    finally:
        shared.close()
