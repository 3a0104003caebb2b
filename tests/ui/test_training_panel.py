"""The training panel: real widgets, real training runs on the worker thread."""

import csv

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from digitlab.core import datasets
from digitlab.core.network import Network
from digitlab.core.architecture import ArchitectureError, parse_hidden_layers
from digitlab.ui.panels.training_panel import TrainingPanel, format_duration



@pytest.fixture
def panel(qtbot):
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    widget.resize(480, 640)
    widget.show()
    widget.train_size_spin.setValue(500)
    widget.epochs_spin.setValue(1)
    widget.events = {"replaced": [], "snapshots": [], "ended": [], "errors": [], "states": []}
    widget.modelReplaced.connect(widget.events["replaced"].append)
    widget.snapshot.connect(widget.events["snapshots"].append)
    widget.runEnded.connect(widget.events["ended"].append)
    widget.errorOccurred.connect(lambda title, text: widget.events["errors"].append((title, text)))
    widget.stateChanged.connect(widget.events["states"].append)
    yield widget
    assert widget.shutdown(10_000)
    widget.close()


def run_to_end(qtbot, panel, click=True):
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        if click:
            qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    return panel.events["ended"][-1]


def test_the_panel_parses_layers_with_the_core_parser(panel):
    # The limits live in digitlab.core.architecture only; the panel refuses what it refuses.
    assert parse_hidden_layers("16,16") == (784, 16, 16, 10)
    assert parse_hidden_layers(" 32 ") == (784, 32, 10)
    assert parse_hidden_layers("") == (784, 10)
    for bad in ("16,,16", "a", "0", "16,-3", "5000", ",".join(["4"] * 9)):
        with pytest.raises(ArchitectureError):
            parse_hidden_layers(bad)
        panel.hidden_edit.setText(bad)
        with pytest.raises(ArchitectureError):
            panel.architecture()


def test_format_duration():
    assert [format_duration(s) for s in (0, 75, 3725)] == ["0:00", "1:15", "1:02:05"]
    assert format_duration(float("inf")) == "?"


def test_every_control_has_a_tooltip(panel):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    controls = panel.findChildren(QAbstractButton) + panel.findChildren(QAbstractSpinBox)
    controls += panel.findChildren(QComboBox) + panel.findChildren(QLineEdit)
    controls = [c for c in controls if c.parent() is not None and not c.objectName().startswith("qt_")]
    missing = [c for c in controls if not c.toolTip() and not c.parent().toolTip()]
    assert not missing


def test_start_trains_a_new_network_for_one_epoch(qtbot, panel):
    final = run_to_end(qtbot, panel)
    assert final.kind == "finished"
    assert final.samples_seen == 500
    # Start announced a fresh network, then streamed snapshots of its training.
    assert len(panel.events["replaced"]) == 1
    fresh = panel.events["replaced"][0]
    assert fresh.sizes == (784, 16, 16, 10)
    assert panel.events["snapshots"]
    assert not np.array_equal(fresh.weights[0], final.weights[0])
    # Curves: one loss per mini-batch and one accuracy point per epoch.
    assert panel.curves.batches() == 50
    assert panel.curves.epochs() == 1
    history = panel.curves.history()
    assert np.all(np.isfinite(history["loss"])) and len(history["smoothed_loss"]) == 50
    assert 0.0 <= history["val_accuracy"][0] <= 1.0
    # The trained network is the panel's model now.
    np.testing.assert_array_equal(panel.model().weights[0], final.weights[0])
    assert panel.events["states"] == ["running", "idle"]
    assert "Finished" in panel.status_label.text()


def test_architecture_is_locked_while_running_but_learning_rate_is_not(qtbot, panel):
    panel.epochs_spin.setValue(50)
    panel.train_size_spin.setValue(0)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.is_running()
    assert not panel.hidden_edit.isEnabled()
    assert not panel.activation_combo.isEnabled()
    assert not panel.start_button.isEnabled() and not panel.reset_button.isEnabled()
    assert panel.learning_rate_spin.isEnabled() and panel.stop_button.isEnabled()
    assert panel.model() is None  # the worker owns it now

    qtbot.waitUntil(lambda: len(panel.events["snapshots"]) > 0, timeout=10_000)
    panel.learning_rate_spin.setValue(0.5)
    qtbot.waitUntil(lambda: panel.events["snapshots"][-1].learning_rate == 0.5, timeout=10_000)

    with qtbot.waitSignal(panel.runEnded, timeout=10_000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert panel.events["ended"][-1].kind == "stopped"
    assert panel.hidden_edit.isEnabled() and panel.start_button.isEnabled()
    assert panel.model() is not None


def test_pause_resume_and_step_buttons(qtbot, panel):
    panel.epochs_spin.setValue(50)
    panel.train_size_spin.setValue(0)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.events["snapshots"]) > 0, timeout=10_000)

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Resume"
    assert panel.step_button.isEnabled()
    qtbot.waitUntil(lambda: panel.events["snapshots"][-1].kind == "paused", timeout=10_000)
    seen = panel.events["snapshots"][-1].samples_seen
    batches = panel.curves.batches()

    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: panel.events["snapshots"][-1].kind == "paused"
        and panel.events["snapshots"][-1].samples_seen == seen + 10,
        timeout=10_000,
    )
    assert panel.curves.batches() == batches + 1

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: panel.events["snapshots"][-1].samples_seen > seen + 200, timeout=10_000)
    assert panel.events["states"] == ["running", "paused", "running"]


def test_step_when_idle_trains_exactly_one_batch_of_a_new_network(qtbot, panel):
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert panel.controller.state() == "paused"
    qtbot.waitUntil(
        lambda: bool(panel.events["snapshots"]) and panel.events["snapshots"][-1].samples_seen == 10,
        timeout=10_000,
    )
    assert panel.curves.batches() == 1
    assert len(panel.events["replaced"]) == 1


def test_continue_extends_the_history_and_start_restarts_it(qtbot, panel):
    run_to_end(qtbot, panel)
    first = panel.model().weights[0].copy()
    assert panel.continue_check.isEnabled()  # the architecture matches the model

    panel.continue_check.setChecked(True)
    run_to_end(qtbot, panel)
    assert len(panel.events["replaced"]) == 1  # no new network
    assert panel.curves.batches() == 100 and panel.curves.epochs() == 2
    assert list(panel.curves.history()["epoch"]) == [1, 2]
    assert not np.array_equal(first, panel.model().weights[0])

    panel.continue_check.setChecked(False)
    run_to_end(qtbot, panel)
    assert len(panel.events["replaced"]) == 2
    assert panel.curves.batches() == 50 and panel.curves.epochs() == 1


def test_continue_is_unavailable_when_the_architecture_differs(qtbot, panel):
    panel.set_network(Network.create((784, 16, 16, 10), rng=np.random.default_rng(0)))
    assert panel.continue_check.isEnabled()
    panel.hidden_edit.setText("32")
    assert not panel.continue_check.isEnabled()


def test_reset_replaces_the_model_with_seeded_random_weights(qtbot, panel):
    run_to_end(qtbot, panel)
    panel.seed_spin.setValue(7)
    with qtbot.waitSignal(panel.modelReplaced) as blocker:
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    expected = Network.create((784, 16, 16, 10), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(blocker.args[0].weights[0], expected.weights[0])
    np.testing.assert_array_equal(panel.model().weights[0], expected.weights[0])
    assert panel.curves.batches() == 0


def test_new_architecture_from_the_fields(qtbot, panel):
    panel.hidden_edit.setText("20")
    panel.activation_combo.setCurrentIndex(panel.activation_combo.findData("relu"))
    panel.cost_combo.setCurrentIndex(panel.cost_combo.findData("cross_entropy"))
    final = run_to_end(qtbot, panel)
    model = panel.model()
    assert (model.sizes, model.activation, model.cost) == ((784, 20, 10), "relu", "cross_entropy")
    assert final.weights[0].shape == (20, 784)


def test_bad_hidden_layers_give_an_error_and_no_run(qtbot, panel):
    panel.hidden_edit.setText("16,,16")
    assert "border" in panel.hidden_edit.styleSheet()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running()
    assert panel.events["errors"] and "hidden layers" in panel.events["errors"][0][1]


def test_set_network_adopts_its_architecture_and_clears_the_curves(qtbot, panel):
    run_to_end(qtbot, panel)
    network = Network.create((784, 30, 10), activation="tanh", cost="cross_entropy", rng=np.random.default_rng(3))
    panel.set_network(network)
    assert panel.hidden_edit.text() == "30"
    assert panel.activation_combo.currentData() == "tanh"
    assert panel.cost_combo.currentData() == "cross_entropy"
    assert panel.curves.batches() == 0
    np.testing.assert_array_equal(panel.model().weights[0], network.weights[0])
    assert panel.model() is not network  # the panel keeps its own copy


def test_export_csv_and_png(qtbot, panel, tmp_path):
    run_to_end(qtbot, panel)
    csv_path = tmp_path / "curves.csv"
    panel.curves.export_csv(csv_path)
    with open(csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 50
    assert [r["batch"] for r in rows[:3]] == ["1", "2", "3"]
    history = panel.curves.history()
    assert float(rows[7]["loss"]) == pytest.approx(history["loss"][7])
    assert rows[-1]["epoch"] == "1" and float(rows[-1]["val_accuracy"]) == pytest.approx(history["val_accuracy"][0])
    assert rows[0]["epoch"] == ""

    png_path = tmp_path / "curves.png"
    panel.curves.export_png(png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(png_path))
    assert image.width() > 100 and image.height() > 100
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_config_dict_round_trips_through_an_ini_file(qtbot, panel, tmp_path):
    panel.hidden_edit.setText("32,8")
    panel.learning_rate_spin.setValue(0.75)
    panel.batch_spin.setValue(32)
    panel.epochs_spin.setValue(4)
    panel.momentum_spin.setValue(0.5)
    panel.weight_decay_spin.setValue(0.001)
    panel.seed_spin.setValue(42)
    panel.train_size_spin.setValue(1500)
    panel.shuffle_labels_check.setChecked(True)
    panel.cost_combo.setCurrentIndex(panel.cost_combo.findData("cross_entropy"))
    saved = panel.config_dict()

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.beginGroup("training")
    for key, value in saved.items():
        settings.setValue(key, value)
    settings.endGroup()
    settings.sync()
    reread = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    reread.beginGroup("training")
    restored = {key: reread.value(key) for key in reread.childKeys()}

    other = TrainingPanel()
    qtbot.addWidget(other)
    other.set_config_dict(restored)
    assert other.config_dict() == saved
    # Garbage is ignored rather than raising.
    other.set_config_dict({"epochs": "many", "hidden": "x,y", "activation": "nope", "shuffle_labels": "false"})
    assert other.epochs_spin.value() == 4 and other.hidden_edit.text() == "32,8"
    assert not other.shuffle_labels_check.isChecked()


def test_full_mnist_is_offered_once_downloaded(qtbot, panel, tmp_path, monkeypatch):
    assert [panel.data_combo.itemData(i) for i in range(panel.data_combo.count())] == ["sample"]
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path))
    sample = datasets.load_sample()
    folder = tmp_path / "mnist"
    folder.mkdir()
    datasets.write_idx(folder / "train-images-idx3-ubyte.gz", sample.train_images[:300])
    datasets.write_idx(folder / "train-labels-idx1-ubyte.gz", sample.train_labels[:300])
    datasets.write_idx(folder / "t10k-images-idx3-ubyte.gz", sample.val_images[:100])
    datasets.write_idx(folder / "t10k-labels-idx1-ubyte.gz", sample.val_labels[:100])
    panel.refresh_data_choices(select="mnist")
    assert panel.data_name() == "mnist"
    panel.train_size_spin.setValue(0)
    final = run_to_end(qtbot, panel)
    assert final.samples_seen == 300


def test_replace_guard_can_veto_start_and_reset(qtbot, panel):
    run_to_end(qtbot, panel)
    trained = panel.model().weights[0].copy()
    asked = []
    panel.replace_guard = lambda: asked.append(True) or False
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 2
    assert not panel.is_running()
    assert len(panel.events["replaced"]) == 1  # only the first run's network
    np.testing.assert_array_equal(panel.model().weights[0], trained)
    # Continuing replaces nothing, so it is not asked.
    panel.continue_check.setChecked(True)
    run_to_end(qtbot, panel)
    assert len(asked) == 2


def test_eleven_outputs_train_end_to_end(qtbot, panel):
    panel.outputs_combo.setCurrentIndex(panel.outputs_combo.findData(11))
    final = run_to_end(qtbot, panel)
    assert final.kind == "finished"
    assert panel.events["replaced"][0].sizes == (784, 16, 16, 11)
    assert final.weights[-1].shape == (11, 16)
    assert panel.model().sizes == (784, 16, 16, 11)
    assert panel.continue_check.isEnabled()  # the 11-output model matches the form
    panel.outputs_combo.setCurrentIndex(panel.outputs_combo.findData(10))
    assert not panel.continue_check.isEnabled()
    # Opening a 10-output model sets the form back to 10.
    panel.set_network(Network.create((784, 16, 16, 10), rng=np.random.default_rng(0)))
    assert panel.config_dict()["outputs"] == 10


def test_the_run_uses_the_rate_of_the_chosen_cost(qtbot, panel):
    panel.cost_combo.setCurrentIndex(panel.cost_combo.findData("cross_entropy"))
    final = run_to_end(qtbot, panel)
    assert final.learning_rate == pytest.approx(0.2)
    panel.learning_rate_spin.setValue(0.05)  # the user's own
    panel.cost_combo.setCurrentIndex(panel.cost_combo.findData("mse"))
    final = run_to_end(qtbot, panel)
    assert final.learning_rate == pytest.approx(0.05)


def test_the_history_is_the_panels_and_counts_continued_epochs(qtbot, panel):
    run_to_end(qtbot, panel)
    history = panel.history
    assert panel.curves.source is history
    assert history.batches == 50 and history.epochs == 1
    np.testing.assert_array_equal(panel.curves.shown_data()["raw"][1], history.losses())
    panel.continue_check.setChecked(True)
    run_to_end(qtbot, panel)
    assert list(history.epoch_table()["epoch"]) == [1, 2]
    assert panel.curves.shown_data()["validation"][0].tolist() == [1, 2]
    panel.reset_model()
    assert history.batches == 0 and len(panel.curves.shown_data()["raw"][1]) == 0


def choose_speed(panel, rate):
    panel.speed_combo.setCurrentIndex(panel.speed_combo.findData(rate))


def test_the_gradient_and_step_plot_shows_what_the_history_holds(qtbot, panel):
    panel.momentum_spin.setValue(0.5)  # with momentum the step is not lr * |gradient|
    run_to_end(qtbot, panel)
    history = panel.history
    grads, steps = history.grad_norms(), history.step_norms()
    assert len(grads) == len(steps) == 50 and np.all(grads > 0) and np.all(steps > 0)
    assert not np.allclose(steps, 3.0 * grads)
    shown = panel.curves.shown_data()
    np.testing.assert_array_equal(shown["grad_norm"][0], history.batch_numbers())
    np.testing.assert_array_equal(shown["grad_norm"][1], grads)
    np.testing.assert_array_equal(shown["step_norm"][1], steps)


def batches_during(qtbot, panel, seconds):
    """Batches the run trains while the event loop runs for ``seconds`` (waitUntil: qWait keeps the GIL)."""
    import time

    before, start = panel.history.batches, time.perf_counter()
    qtbot.waitUntil(lambda: time.perf_counter() - start >= seconds, timeout=int(1000 * seconds) + 10_000)
    return panel.history.batches - before, time.perf_counter() - start


def test_the_speed_control_slows_a_real_run_and_acts_during_it(qtbot, panel):
    panel.epochs_spin.setValue(500)  # 25,000 batches: the run outlasts the test
    choose_speed(panel, 20.0)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.history.batches > 0, timeout=10_000)
    slow, slow_time = batches_during(qtbot, panel, 0.6)
    # The loop keeps 1/20 s between batch starts: no machine goes faster (a record may lag a batch).
    assert 1 <= slow <= 20 * slow_time + 3
    assert all(len(r.batch_losses) == 1 for r in panel.events["snapshots"][1:])  # every batch shown
    choose_speed(panel, None)  # full speed, mid-run
    fast, fast_time = batches_during(qtbot, panel, 0.6)
    assert fast / fast_time > 5 * slow / slow_time
    choose_speed(panel, 2.0)
    # Records of the fast phase may still be queued: wait until two in a row are 1/2 s apart by the loop's clock.
    qtbot.waitUntil(lambda: slowed_down(panel.events["snapshots"], 0.5), timeout=10_000)
    crawl, crawl_time = batches_during(qtbot, panel, 1.0)
    assert crawl <= 2 * crawl_time + 2
    with qtbot.waitSignal(panel.runEnded, timeout=10_000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)


def test_step_shows_the_batch_number_loss_and_digits_it_trained_on(qtbot, panel):
    strip = panel.step_strip
    assert strip.isHidden()  # nothing stepped yet
    split = panel.load_data()
    pixels = split.train_images.reshape(len(split.train_labels), -1).astype(np.float32) / 255
    for number in (1, 2):
        qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: strip.step is not None and strip.step.number == number, timeout=10_000)
        assert not strip.isHidden()
        loss = panel.history.losses()[-1]
        assert panel.history.batches == number and strip.step.loss == loss
        assert strip.caption.text() == f"Step: mini-batch {number}, loss {loss:.4f}"
        shown = [label.text() for label in strip.labels if not label.isHidden()]
        assert len(shown) == 10  # a batch of 10, all shown
        for text, image in zip(shown, strip.step.images):
            # Each thumbnail is a training digit, and the label under it is that digit's label.
            match = np.flatnonzero(np.abs(pixels - image.ravel()).max(axis=1) < 1e-6)
            assert len(match) >= 1 and {str(split.train_labels[i]) for i in match} == {text}
        assert not strip.images[0].pixmap().isNull()
    assert panel.shutdown(10_000)
    panel.continue_check.setChecked(True)  # a continued run: numbered as the curves go on counting
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: strip.step is not None and strip.step.number == 1, timeout=10_000)
    assert strip.caption.text().startswith("Step: mini-batch 3, loss")
    assert panel.shutdown(10_000)
    panel.reset_model()
    assert strip.isHidden()  # another model: its steps are gone


def slowed_down(records, interval):
    """True once the newest two records are single batches ``interval`` apart in the loop's own time."""
    last = records[-2:]
    return (len(last) == 2 and all(len(r.batch_losses) == 1 for r in last)
            and last[1].elapsed - last[0].elapsed >= 0.8 * interval)


def test_the_panel_hands_the_data_set_name_to_the_child_and_never_loads_it_itself(qtbot, panel, monkeypatch):
    def no_loading_here(name):
        raise AssertionError("the GUI process loaded the training data")

    # The spawned child imports its own digitlab.core.datasets: only this process is patched.
    monkeypatch.setattr(datasets, "load_named", no_loading_here)
    monkeypatch.setattr(datasets, "load_sample", no_loading_here)
    with qtbot.waitSignal(panel.controller.dataLoaded, timeout=30_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert panel.status_label.text().startswith("Loading the sample set")
    assert panel.status_label.text() == "Training on 500 digits of the sample set."
    assert panel.last_run_info.train_examples == 500 and panel.last_run_info.data_name == "sample"
    assert run_to_end(qtbot, panel, click=False).samples_seen == 500
    assert panel.progress_bar.value() == 1000


def test_data_the_child_cannot_load_gives_the_load_error_box(qtbot, panel, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path))
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(b"not an IDX file at all")
    panel.refresh_data_choices(select="mnist")
    assert panel.data_name() == "mnist"
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(panel.events["errors"]), timeout=30_000)
    title, text = panel.events["errors"][0]
    assert title == "Cannot load the training data" and text and "\n" not in text
    assert not panel.is_running() and panel.start_button.isEnabled()
    assert panel.model() is not None and panel.events["ended"] == []


def test_a_killed_child_is_reported_keeps_the_last_weights_and_a_new_run_starts(qtbot, panel):
    import os
    import signal

    failures = []
    panel.runFailed.connect(failures.append)
    panel.epochs_spin.setValue(500)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.events["snapshots"]) > 2, timeout=30_000)
    os.kill(panel.controller.child_pid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
    assert "stopped unexpectedly" in panel.status_label.text()
    assert panel.progress_bar.format() == "failed"
    np.testing.assert_array_equal(panel.model().weights[0], panel.events["snapshots"][-1].weights[0])
    assert panel.start_button.isEnabled()
    panel.epochs_spin.setValue(1)
    panel.continue_check.setChecked(True)  # carries on from the weights it kept
    assert run_to_end(qtbot, panel).kind == "finished"


def test_a_training_warning_shows_under_the_status(qtbot, panel):
    # A far too high rate saturates the sigmoid neurons: the records then carry a warning.
    panel.epochs_spin.setValue(500)
    panel.train_size_spin.setValue(0)
    panel.learning_rate_spin.setValue(100.0)
    assert panel.learning_rate_spin.value() == 100.0
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(r.warning for r in panel.events["snapshots"]), timeout=60_000)
    warnings = {r.warning for r in panel.events["snapshots"] if r.warning}
    qtbot.waitUntil(lambda: panel.status_label.text().partition("\nWarning: ")[2] in warnings, timeout=10_000)
    with qtbot.waitSignal(panel.runEnded, timeout=10_000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert "Warning" not in panel.status_label.text()  # the end of the run says how it ended
