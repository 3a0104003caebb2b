"""The main window with real widgets and a real training thread: layout, drawing, training, closing, settings."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QScrollBar,
)

from digitlab.core import model_io, preprocess
from digitlab.core.network import Network
from digitlab.ui.main_window import MainWindow



@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Settings and downloaded data in tmp_path: the user's own are never touched."""
    monkeypatch.setenv("DIGITLAB_SETTINGS_PATH", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


def make_window(qtbot, network=None):
    window = MainWindow(network) if network is not None else MainWindow()
    qtbot.addWidget(window)
    window.errors = []
    window.show_error = lambda title, text: window.errors.append((title, text))
    window.ask_save_changes = lambda: "discard"
    window.resize(1366, 740)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot):
    win = make_window(qtbot)
    yield win
    # Close for real, so a running training thread is always stopped and joined.
    win.ask_save_changes = lambda: "discard"
    win.close()
    assert not win.training_panel.is_running()


@pytest.fixture
def random_window(qtbot):
    """A window showing an untrained network (for tests that need no trained model)."""
    win = make_window(qtbot, Network.create(rng=np.random.default_rng(5)))
    yield win
    win.ask_save_changes = lambda: "discard"
    win.close()


def stroke(qtbot, canvas, points, button=Qt.MouseButton.LeftButton):
    """Draw through ``points`` (fractions of the canvas) with real mouse events."""
    def at(p):
        return QPoint(int(p[0] * canvas.width()), int(p[1] * canvas.height()))

    QTest.mousePress(canvas, button, Qt.KeyboardModifier.NoModifier, at(points[0]))
    for a, b in zip(points, points[1:]):
        for t in np.linspace(0, 1, 8)[1:]:
            QTest.mouseMove(canvas, at((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))))
    QTest.mouseRelease(canvas, button, Qt.KeyboardModifier.NoModifier, at(points[-1]))


def draw_and_wait(qtbot, window, points):
    with qtbot.waitSignal(window.canvas.changed, timeout=2000):
        stroke(qtbot, window.canvas, points)
    qtbot.waitUntil(lambda: window.chart.winner() is not None, timeout=2000)


def has_default_model():
    return model_io.default_model_path().is_file()


# ------------------------------------------------------------------ layout


def test_title_and_four_panels_visible_together_on_1366x768(window):
    assert window.windowTitle() == "DigitLab"
    window.resize(1366, 740)
    QTest.qWait(50)
    frame = window.rect()
    rects = {}
    for dock in (window.draw_dock, window.output_dock, window.weights_dock, window.training_dock):
        assert dock.isVisible() and not dock.isFloating()
        rect = QRect(dock.mapTo(window, QPoint(0, 0)), dock.size())
        assert frame.contains(rect), dock.objectName()
        assert rect.width() >= 200 and rect.height() >= 150, (dock.objectName(), rect)
        rects[dock.objectName()] = rect
    names = list(rects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not rects[a].intersects(rects[b]), (a, b)
    # The lessons (the noise test open, as before) share the hidden-neuron area as a tab.
    assert window.lessons_dock in window.tabifiedDockWidgets(window.weights_dock)
    assert window.lesson_area.current_name() == "noise"
    assert window.lesson_area.tabText(0) == "Noise test"
    assert window.canvas.width() >= 200 and window.canvas.height() >= 200


def test_every_control_has_a_tooltip(window):
    controls = []
    for kind in (QAbstractButton, QAbstractSpinBox, QAbstractSlider, QComboBox, QLineEdit):
        controls += window.findChildren(kind)
    # Scroll bars explain themselves; Qt's own internals are named qt_*.
    controls = [c for c in controls if c.isVisibleTo(window) and not c.objectName().startswith("qt_")
                and not isinstance(c, QScrollBar)]
    missing = [c for c in controls if not (c.toolTip() or (c.parent() and c.parent().toolTip()))]
    assert not missing, [type(c).__name__ + ":" + getattr(c, "text", lambda: "")() for c in missing]
    for action in window.findChildren(type(window.save_action)):
        if action.text() and not action.isSeparator():
            assert action.toolTip(), action.text()


def test_status_bar_names_model_parameters_data_and_state(window):
    text = window.model_label.text()
    assert f"{window.display.n_parameters:,} parameters" in text
    assert "sample" in window.data_label.text().lower()
    assert window.state_label.text() == "idle"


# Floating docks are top-level windows; the offscreen platform cannot raise() them.
def test_reset_layout_brings_every_panel_back(window):
    window.output_dock.hide()
    window.training_dock.setFloating(True)
    window.reset_layout_action.trigger()
    QTest.qWait(20)
    for dock in (window.draw_dock, window.output_dock, window.weights_dock, window.training_dock):
        assert dock.isVisible() and not dock.isFloating()


# -------------------------------------------------------------- prediction


def test_empty_canvas_shows_draw_a_digit(random_window):
    window = random_window
    assert window.canvas.is_empty()
    assert window.chart.winner() is None
    assert "draw a digit" in " ".join(window.chart.headline()).lower()
    assert window.preview.image() is None


def test_strokes_change_the_prediction_and_the_preview(qtbot, random_window):
    window = random_window
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    first_outputs = window.chart.displayed_values()
    first_preview = window.preview.image()
    assert first_preview is not None and first_preview.shape == (28, 28)
    assert first_preview.max() == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(first_outputs, window.display.predict(first_preview), rtol=1e-5, atol=1e-6)

    with qtbot.waitSignal(window.canvas.changed, timeout=2000):
        stroke(qtbot, window.canvas, [(0.2, 0.5), (0.8, 0.5)])
    qtbot.waitUntil(lambda: not np.array_equal(window.preview.image(), first_preview), timeout=2000)
    assert not np.allclose(window.chart.displayed_values(), first_outputs)
    # The hidden-neuron outlines follow the drawing too: idle outlines are 1 px, active ones wider.
    assert any(pen.widthF() > 1 for pen in window.weights_view.highlight_pens())


def test_a_vertical_stroke_is_a_one_for_the_default_model(qtbot, window):
    if not has_default_model():
        pytest.skip("resources/default_model.npz is not there yet")
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    assert window.chart.winner() == 1


def test_undo_and_clear_actions(qtbot, random_window):
    window = random_window
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    with qtbot.waitSignal(window.canvas.changed, timeout=2000):
        stroke(qtbot, window.canvas, [(0.2, 0.5), (0.8, 0.5)])
    two_strokes = window.current_input()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: not np.array_equal(window.current_input(), two_strokes), timeout=2000)
    assert window.canvas.stroke_count() == 1
    window.clear_action.trigger()
    assert window.canvas.is_empty()
    assert window.current_input() is None and window.chart.winner() is None


def test_escape_keeps_the_drawing_and_undo_brings_a_cleared_one_back(qtbot, random_window):
    window = random_window
    assert not window.undo_action.isEnabled() and not window.redo_button.isEnabled()
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    drawn = window.current_input()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)  # closing a popup must not wipe the drawing
    assert not window.canvas.is_empty()
    assert all(k.toString() != "Esc" for k in window.clear_action.shortcuts())
    window.clear_action.trigger()
    assert window.canvas.is_empty() and window.current_input() is None
    assert window.undo_action.isEnabled() and window.undo_button.isEnabled()
    window.undo_action.trigger()  # the whole drawing, and its prediction, come back
    np.testing.assert_array_equal(window.current_input(), drawn)
    assert window.chart.winner() is not None
    assert window.redo_action.isEnabled() and window.redo_button.isEnabled()
    shortcuts = {k.toString() for k in window.redo_action.shortcuts()}
    assert shortcuts == {"Ctrl+Shift+Z", "Ctrl+Y"}
    qtbot.mouseClick(window.redo_button, Qt.MouseButton.LeftButton)
    assert window.canvas.is_empty() and window.current_input() is None
    assert not window.redo_action.isEnabled()


def test_feed_noise_shows_the_noise_and_a_confident_answer(qtbot, random_window):
    window = random_window
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    window.noise_actions["gaussian"].trigger()
    expected = preprocess.noise_image("gaussian", np.random.default_rng(0))
    np.testing.assert_array_equal(window.preview.image(), expected)
    np.testing.assert_array_equal(window.current_input(), expected)
    assert window.canvas.is_empty()
    np.testing.assert_allclose(window.canvas.fed_image(), expected, atol=1 / 255)  # shown on the canvas too
    assert window.chart.winner() == int(np.argmax(window.display.predict(expected)))
    QTest.qWait(50)  # the canvas's cleared signal must not wipe the noise
    np.testing.assert_array_equal(window.preview.image(), expected)
    # The toolbar button feeds uniform noise, with the next seed.
    qtbot.mouseClick(window.noise_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(window.preview.image(), preprocess.noise_image("uniform", np.random.default_rng(1)))
    assert "no digit" in window.statusBar().currentMessage()
    assert "(output 0." in window.statusBar().currentMessage()  # a sigmoid network: the chart's wording
    assert set(window.noise_actions) == set(preprocess.NOISE_KINDS)


def test_undo_after_noise_brings_the_drawing_back_and_a_stroke_starts_afresh(qtbot, random_window):
    window = random_window
    draw_and_wait(qtbot, window, [(0.5, 0.15), (0.5, 0.85)])
    drawn = window.current_input()
    window.noise_actions["uniform"].trigger()
    assert window.canvas.fed_image() is not None
    window.undo_action.trigger()
    np.testing.assert_array_equal(window.current_input(), drawn)
    assert window.canvas.fed_image() is None
    window.noise_actions["uniform"].trigger()
    with qtbot.waitSignal(window.canvas.changed, timeout=2000):
        stroke(qtbot, window.canvas, [(0.2, 0.5), (0.8, 0.5)])  # drawing over noise: a fresh drawing
    assert window.canvas.fed_image() is None and window.session.input_source == "drawing"


def test_softmax_noise_feed_says_confident_as_the_chart_does(qtbot):
    network = Network.create((784, 30, 10), "sigmoid", "cross_entropy", rng=np.random.default_rng(2))
    window = make_window(qtbot, network)
    try:
        window.noise_actions["uniform"].trigger()
        line = window.chart.headline()[1]
        message = window.statusBar().currentMessage()
        assert "confident" in line or "best guess" in line
        assert "confident)" in message and "output 0." not in message
    finally:
        window.close()


# ---------------------------------------------------------------- training


def test_training_one_epoch_grows_the_curves_and_changes_the_weight_images(qtbot, window):
    panel = window.training_panel
    panel.train_size_spin.setValue(1000)
    panel.epochs_spin.setValue(1)
    before = window.weights_view.mosaic(1).copy()
    window.noise_actions["uniform"].trigger()  # something to predict while training
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert window.state_label.text() == "training"
        assert not window.open_model_action.isEnabled()
    assert panel.curves.batches() == 100 and panel.curves.epochs() == 1
    after = window.weights_view.mosaic(1)
    assert after.shape == before.shape and not np.allclose(after, before)
    # The display network holds the trained weights and predicts with them.
    np.testing.assert_array_equal(window.display.weights[0], panel.model().weights[0])
    np.testing.assert_allclose(window.chart.displayed_values(), window.display.predict(window.current_input()),
                               rtol=1e-5, atol=1e-6)
    assert window.is_dirty() and window.state_label.text() == "idle"
    assert window.open_model_action.isEnabled()
    assert "*" in window.model_label.text()


def test_pause_step_resume_and_stop_from_the_window(qtbot, window):
    panel = window.training_panel
    panel.epochs_spin.setValue(50)
    snapshots = []
    panel.snapshot.connect(snapshots.append)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(snapshots) > 0, timeout=10_000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert window.state_label.text() == "paused"
    qtbot.waitUntil(lambda: snapshots[-1].kind == "paused", timeout=10_000)
    seen = snapshots[-1].samples_seen
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: snapshots[-1].kind == "paused" and snapshots[-1].samples_seen == seen + 10,
                    timeout=10_000)
    # Snapshots reach the display network.
    np.testing.assert_array_equal(window.display.weights[0], snapshots[-1].weights[0])
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert window.state_label.text() == "training"
    with qtbot.waitSignal(panel.runEnded, timeout=10_000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert window.state_label.text() == "idle"


def test_diverging_run_is_reported(qtbot, window):
    panel = window.training_panel
    panel.learning_rate_spin.setValue(100.0)
    panel.cost_combo.setCurrentIndex(panel.cost_combo.findData("cross_entropy"))
    panel.activation_combo.setCurrentIndex(panel.activation_combo.findData("relu"))
    panel.hidden_edit.setText("64")
    panel.epochs_spin.setValue(3)
    panel.train_size_spin.setValue(2000)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000) as ended:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    # Seeded and single-threaded: a learning rate of 100 blows this network up every time.
    assert ended.args[0].kind == "diverged"
    assert window.errors and window.errors[-1][0] == "Training diverged"
    assert all(np.isfinite(w).all() for w in window.display.weights)


# ------------------------------------------------------------------ closing


def test_closing_mid_training_stops_the_thread_cleanly(qtbot, window):
    panel = window.training_panel
    panel.epochs_spin.setValue(100)
    panel.start()
    qtbot.waitUntil(lambda: panel.curves.batches() > 0, timeout=10_000)
    asked = []
    window.ask_save_changes = lambda: asked.append(True) or "cancel"
    assert not window.close()  # Cancel keeps the window and the run
    assert window.isVisible() and panel.is_running() and asked
    window.ask_save_changes = lambda: "discard"
    assert window.close()
    assert not panel.is_running()


def test_closing_mid_training_can_save_the_model_first(qtbot, window, tmp_path):
    panel = window.training_panel
    panel.epochs_spin.setValue(100)
    panel.start()
    qtbot.waitUntil(lambda: panel.curves.batches() > 5, timeout=10_000)
    path = tmp_path / "while-training.npz"
    window.ask_save_changes = lambda: "save"
    window.ask_save_path = lambda caption, file_filter, suggested: str(path)
    assert window.close()
    assert not panel.is_running()
    network, _ = model_io.load_model(path)
    np.testing.assert_array_equal(network.weights[0], panel.model().weights[0])


def answer_next_question(button_text, seen):
    """Click ``button_text`` in the next real message box (recording its text and buttons in ``seen``)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        buttons = {b.text(): b for b in box.buttons()}
        seen.append((box.text(), set(buttons)))
        buttons[button_text].click()

    QTimer.singleShot(20, click)


def test_closing_while_training_asks_one_question_that_says_so(qtbot, window):
    panel = window.training_panel
    panel.epochs_spin.setValue(100)
    panel.start()
    qtbot.waitUntil(lambda: panel.curves.batches() > 0, timeout=10_000)
    del window.ask_save_changes  # the real question, in a real message box
    seen = []
    try:
        answer_next_question("Cancel", seen)
        assert not window.close()
        assert panel.is_running() and window.isVisible()
        # No epoch finished yet: nothing worth saving, so only whether to stop and quit.
        assert seen == [("Training is running. Stop it and quit?", {"Stop and quit", "Cancel"})]
        answer_next_question("Stop and quit", seen)
        assert window.close()
        assert len(seen) == 2 and not panel.is_running()
    finally:
        window.ask_save_changes = lambda: "discard"  # a failed check must not leave a box to block teardown


def train_one_epoch(qtbot, panel, train_size=1000, **fields):
    panel.train_size_spin.setValue(train_size)
    panel.epochs_spin.setValue(1)
    for name, value in fields.items():
        getattr(panel, name).setChecked(value)
    with qtbot.waitSignal(panel.runEnded, timeout=60_000):
        assert panel.start()


def test_a_trained_model_better_than_where_it_started_is_worth_a_question(qtbot, window):
    panel = window.training_panel
    asked = []
    window.ask_save_changes = lambda: asked.append(True) or "discard"
    train_one_epoch(qtbot, panel, train_size=4000)  # a fresh network: it starts at chance
    assert asked == []  # the shipped model was not changed: Start asked nothing
    assert window.files.latest_val_accuracy() > 0.3 and window.files.worth_keeping()
    panel.reset_button.click()
    assert asked == [True]


def test_runs_that_leave_nothing_worth_keeping_ask_nothing(qtbot, window):
    panel = window.training_panel
    asked = []
    window.ask_save_changes = lambda: asked.append(True) or "cancel"
    # A few mini-batches with Step: no epoch finished.
    panel.step()
    panel.step()
    qtbot.waitUntil(lambda: panel.curves.batches() >= 2, timeout=10_000)
    with qtbot.waitSignal(panel.runEnded, timeout=10_000):
        panel.stop()
    assert window.is_dirty() and not window.files.worth_keeping()
    # Training the shipped model on shuffled labels: an epoch, but worse than the model it started from.
    window.open_bundled_model("default")
    train_one_epoch(qtbot, panel, continue_check=True, shuffle_labels_check=True)
    assert window.files.latest_val_accuracy() < window.files.baseline_accuracy()
    assert window.is_dirty() and not window.files.worth_keeping()
    panel.reset_button.click()  # Reset, Start, Step and close all ask nothing
    assert asked == [] and not window.is_dirty()
    assert window.close()
    assert asked == []


def test_the_save_question_names_what_is_at_stake():
    from digitlab.ui.questions import save_question

    running = save_question(running=True, worth_keeping=False, accuracy=None)
    assert running.text == "Training is running. Stop it and quit?"
    assert [a for a, _ in running.buttons] == ["discard", "cancel"]
    keep = save_question(running=True, worth_keeping=True, accuracy=0.912)
    assert keep.text.startswith("Training is running. Stop it and quit?") and "91.2%" in keep.text
    assert [a for a, _ in keep.buttons] == ["save", "discard", "cancel"]
    idle = save_question(running=False, worth_keeping=True, accuracy=0.8)
    assert "Save it first?" in idle.text and idle.buttons[0][0] == "save"


def test_closing_an_unchanged_window_asks_nothing(qtbot, random_window):
    asked = []
    random_window.ask_save_changes = lambda: asked.append(True) or "cancel"
    assert random_window.close()
    assert asked == []


# ------------------------------------------------------------------ settings


def test_settings_persist_across_two_windows(qtbot, tmp_path):
    first = make_window(qtbot, Network.create(rng=np.random.default_rng(1)))
    first.training_panel.learning_rate_spin.setValue(0.5)
    first.training_panel.epochs_spin.setValue(3)
    first.training_panel.hidden_edit.setText("24")
    first.brush_slider.setValue(31)
    first.chart.set_threshold(0.7)
    first.output_dock.hide()
    first.resize(1100, 650)
    assert first.close()
    assert (tmp_path / "settings.ini").is_file()

    second = make_window(qtbot, Network.create(rng=np.random.default_rng(1)))
    try:
        panel = second.training_panel
        assert panel.learning_rate_spin.value() == 0.5
        assert panel.epochs_spin.value() == 3
        assert panel.hidden_edit.text() == "24"
        assert second.brush_slider.value() == 31 and second.canvas.brush_size() == 31
        assert not second.output_dock.isVisible()
        assert second.chart.threshold() == pytest.approx(0.7)
        # Only keys that are read back are written.
        written = set(second.settings.allKeys())
        assert "last_model_path" not in written and "version" not in written
        assert {"geometry", "window_state", "brush_size", "training/epochs"} <= written
    finally:
        second.close()


def test_about_names_version_licences_and_mnist_authors(qtbot, window):
    window.about_action.trigger()
    dialog = window.about_dialog()
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    from digitlab import __version__

    for needle in (__version__, "MIT", "LGPL", "pyqtgraph", "NumPy", "BSD", "Yann LeCun", "Corinna Cortes",
                   "Christopher J.C. Burges", "mnist", "1.1.0"):
        assert needle in text, needle
    dialog.close()
