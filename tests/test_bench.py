"""``digitlab bench``: the structure of its results (never its timings) and the pieces it is made of."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

import numpy as np
import pytest

from digitlab import bench, cli
from digitlab.core.datasets import load_sample, to_inputs
from digitlab.core.model_io import load_bundled_model, load_default_model
from digitlab.core.network import Network

ROW_KEYS = {"name", "value", "unit", "target", "ok", "note"}


@pytest.fixture(scope="module")
def quick_results():
    """One ``digitlab bench --quick --json`` run, shared by the structure tests."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(["bench", "--quick", "--json"])
    assert status == 0
    return json.loads(out.getvalue().splitlines()[-1])  # the JSON object is stdout's last line


def test_bench_json_structure(quick_results):
    results = quick_results
    assert results["quick"] is True
    assert results["digitlab_version"] and results["numpy_version"] and results["python"]
    assert results["blas"] and all("num_threads" in pool and "internal_api" in pool for pool in results["blas"])
    for row in results["rows"]:
        assert set(row) == ROW_KEYS
        assert row["ok"] in (True, False, None)
        if row["target"] is not None and row["value"] is not None:
            assert isinstance(row["ok"], bool)
    names = [row["name"] for row in results["rows"]]
    for batch_size in (10, 32, 128):
        assert f"epoch of 10,000, batch {batch_size} (DigitLab)" in names
        assert f"epoch of 10,000, batch {batch_size} (plain NumPy reference)" in names
    for expected in ("full-batch gradient step over 10,000", "forward pass, one image, all activations",
                     "prepare a 280x280 canvas drawing", "default model, drawn digits (200)",
                     "bigger model, drawn digits (200)",
                     "default model, noise answered with top output >= 0.5 (200)",
                     "default model, digits answered with top output >= 0.5 (200)"):
        assert expected in names
    for model in ("default", "bigger"):
        assert any(name.startswith(f"{model} model, official MNIST test set") for name in names)
    from digitlab.core.lessons import lesson_names

    for lesson in lesson_names():  # every registered lesson is timed in quick mode
        assert f"lesson {lesson}, quick mode" in names
    timings = [row["value"] for row in results["rows"] if row["unit"] in ("s", "us", "ms")]
    assert all(isinstance(v, float) and v > 0 for v in timings)


def test_bench_runs_single_threaded_blas(quick_results):
    # The command limits BLAS to one thread before measuring anything.
    assert all(pool["num_threads"] == 1 for pool in quick_results["blas"] if pool["user_api"] == "blas")


def test_bench_table_shows_every_row(quick_results):
    table = bench.format_table(quick_results)
    assert table.splitlines()[1].startswith("BLAS: ")
    lines = table.splitlines()
    for row in quick_results["rows"]:
        (line,) = [line for line in lines if line.startswith(row["name"] + " ")]
        verdict = {True: "pass", False: "FAIL", None: None}[row["ok"]]
        if verdict is None:
            assert "pass" not in line.split() and "FAIL" not in line.split()
        else:
            assert verdict in line.split()  # each row's own verdict, on its own line


def test_bench_text_output(capsys, monkeypatch, quick_results):
    # The text path, without measuring everything a second time.
    monkeypatch.setattr(bench, "run", lambda **kwargs: quick_results)
    assert cli.main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == bench.format_table(quick_results)


def test_ui_rows_skipped_with_a_note_when_qt_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "digitlab.ui.bench_ui", None)  # importing it now fails
    rows, note = bench._ui_rows(quick=True)
    assert rows == [] and note.startswith("UI benchmark skipped")


def test_the_reference_loop_is_the_textbooks():
    from digitlab.core import textbook

    assert bench.reference_epoch is textbook.reference_epoch  # tested in tests/core/test_textbook.py


def test_our_epoch_counts_the_accuracy_step_only_in_the_whole_epoch(monkeypatch):
    """The "with end-of-epoch accuracy" time includes evaluating; the loop time (like the reference's) does not."""
    split = load_sample()
    images, labels = split.train_images[:1000], split.train_labels[:1000]
    real_evaluate = Network.evaluate
    delay = 0.05

    def slow_evaluate(self, *args, **kwargs):  # the real evaluation, made measurably slow
        time.sleep(delay / 2)  # called twice per epoch: training and validation sets
        return real_evaluate(self, *args, **kwargs)

    fast_loop, fast_whole = bench.our_epoch(images, labels, 32, seed=0)
    monkeypatch.setattr(Network, "evaluate", slow_evaluate)
    loop, whole = bench.our_epoch(images, labels, 32, seed=0)
    assert 0 < loop < delay / 2 and 0 < fast_loop < delay / 2
    assert whole >= delay and whole >= loop + delay * 0.9
    assert fast_whole < whole


def test_the_reference_clock_counts_its_shuffle(monkeypatch):
    """Both clocks start before the epoch's shuffle: the reference's must include drawing the order."""
    split = load_sample()
    x, labels = to_inputs(split.train_images[:200]), split.train_labels[:200]

    class SlowShuffle(np.random.Generator):
        def permutation(self, n):
            time.sleep(0.05)
            return super().permutation(n)

    seconds, _, _ = bench.reference_epoch(x, labels, 200, SlowShuffle(np.random.PCG64(0)))
    assert seconds >= 0.05
    # DigitLab's training draws its generator from its seed; give it the slow one too.
    monkeypatch.setattr(np.random, "default_rng", lambda seed=None: SlowShuffle(np.random.PCG64(seed)))
    loop, _ = bench.our_epoch(split.train_images[:200], labels, 200, seed=0)
    assert loop >= 0.05


def test_drawn_digit_inputs_look_like_mnist():
    inputs, labels = bench.drawn_digit_inputs(count=50, seed=1)
    assert inputs.shape == (50, 784) and inputs.dtype == np.float32
    assert labels.shape == (50,) and set(labels) <= set(range(10))
    assert 0 <= inputs.min() and inputs.max() <= 1
    again, _ = bench.drawn_digit_inputs(count=50, seed=1)
    np.testing.assert_array_equal(inputs, again)


def test_default_model_reads_drawn_digits():
    network, _ = load_default_model()
    assert bench.drawn_accuracy(network, count=500) >= bench.DRAWN_ACCURACY_TARGET


def test_bigger_model_reads_drawn_digits():
    network, _ = load_bundled_model("bigger")
    assert bench.drawn_accuracy(network, count=500) >= bench.DRAWN_ACCURACY_TARGETS["bigger"]


def test_model_rows_meet_their_targets(quick_results):
    """Every shipped-model row with a target passes (a worse model file turns one to FAIL)."""
    rows = [row for row in quick_results["rows"] if " model, " in row["name"] and row["target"]]
    assert len(rows) >= 6
    assert all(row["ok"] for row in rows if row["value"] is not None), rows


def test_bench_targets_are_the_issues():
    assert bench.TEST_ACCURACY_TARGETS == {"default": 0.925, "bigger": 0.975}
    assert bench.NOISE_CONFIDENT_TARGET == 0.5 and bench.DIGITS_CONFIDENT_TARGET == 0.9


def test_official_test_dir_honours_the_environment(tmp_path, monkeypatch, official_test_dir):
    monkeypatch.setenv("DIGITLAB_MNIST_TEST_DIR", str(official_test_dir))
    assert bench.official_test_dir() == official_test_dir
    monkeypatch.setenv("DIGITLAB_MNIST_TEST_DIR", str(tmp_path))  # empty: falls back to ../shared
    assert bench.official_test_dir() is not None


def test_mnist_style_preparation_is_what_makes_drawings_readable():
    """A plain resize of a drawing is read about 1 time in 5; MNIST-style preparation 19 in 20."""
    network, _ = load_default_model()
    prepared = bench.drawn_accuracy(network, 300)
    naive = bench.drawn_accuracy(network, 300, prepare=bench.plain_resize)
    assert prepared >= 0.95
    assert naive < 0.5


UI_ROWS = {
    "UI longest event-loop stall while training": "ms",
    "UI longest event-loop stall, same strokes, no training": "ms",
    "training throughput in the window while drawing": "samples/s",
    "training throughput, standalone": "samples/s",
    "start of a run to its first progress record": "ms",
}


def test_ui_rows_carry_the_names_and_units_of_issue_8(qapp):
    from digitlab.ui import bench_ui

    rows = {row["name"]: row for row in bench_ui.run(seconds=0.5, rounds=2)}
    for name, unit in UI_ROWS.items():
        assert rows[name]["unit"] == unit
        value = rows[name]["value"]
        assert isinstance(value, (int, float)) and value > 0, rows[name]  # measured, in the window and without
    for name in ("UI longest event-loop stall while training", "training throughput in the window while drawing",
                 "start of a run to its first progress record"):
        assert isinstance(rows[name]["ok"], bool) and rows[name]["target"]


def _measured(longest, idle, in_window, first_ms):
    # Three rounds each: the rows compare the medians (the middle values here).
    return {"longest": [longest + 30.0, longest, 1.0], "idle_longest": [idle, 1.0, idle + 9.0],
            "first_ms": first_ms, "throughput": in_window,
            "updates_per_s": 30.0, "latencies": [2.0, 3.0], "handler": [1.0]}


def test_ui_targets_compare_within_the_same_run():
    from digitlab.ui import bench_ui

    def oks(*args, standalone=1000.0):
        rows = {row["name"]: row for row in bench_ui._rows(_measured(*args), standalone, 1.0)}
        return [rows[name]["ok"] for name in ("UI longest event-loop stall while training",
                                               "training throughput in the window while drawing",
                                               "start of a run to its first progress record")]

    assert oks(50.0, 40.0, 800.0, 1000.0) == [True, True, True]  # 1.25x, 0.8x, 1 s: just within
    assert oks(50.1, 40.0, 799.0, 1001.0) == [False, False, False]
    assert oks(10.0, 40.0, 5000.0, 100.0) == [True, True, True]
    assert oks(10.0, 40.0, 800.0, 100.0, standalone=float("nan"))[1] is None  # nothing to compare with
