"""The mistakes view with the shipped model: confusion matrix, its cells' digits, the galleries, the canvas side."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab import bench
from digitlab.core import datasets, evaluation
from digitlab.core.lessons.base import LessonCancelled
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network
from digitlab.ui.lessons import lesson_view
from digitlab.ui.lessons import mistakes
from digitlab.ui.lessons.mistakes import EXPLANATION, GALLERY_COUNT, HINT, INPUT_SOURCE, MistakesView
from digitlab.ui.session import ModelSession
from tests.ui.lesson_helpers import draw_a_one


@pytest.fixture(scope="module")
def sample():
    """The bundled validation part and the shipped model's answers on it, computed here, not by the view."""
    network = load_default_model()[0]
    split = datasets.load_sample()
    images, labels = split.val_images, split.val_labels.astype(np.int64)
    outputs = network.predict(images.reshape(len(images), -1) / np.float32(255))
    return network, images, labels, outputs


@pytest.fixture
def session(sample):
    return ModelSession(sample[0], "default")


def evaluated(qtbot, view, action):
    with qtbot.waitSignal(view.evaluated, timeout=30_000) as blocker:
        action()
    return blocker.args[0]


@pytest.fixture
def view(qtbot, session):
    widget = MistakesView(session, start=False)
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    evaluated(qtbot, widget, widget.evaluate)
    yield widget
    widget.shutdown()


def click_cell(view, row, column):
    rect = view.table.visualItemRect(view.table.item(row, column))
    QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())


def click_thumbnail(gallery, position):
    gallery.scrollToItem(gallery.item(position))
    rect = gallery.visualItemRect(gallery.item(position))
    QTest.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())


def shown_indices(gallery):
    return [int(gallery.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(gallery.count())]


def table_counts(view):
    table = view.table
    return np.array([[int(table.item(r, c).text()) for c in range(table.columnCount())]
                     for r in range(table.rowCount())])


def test_registered_explains_itself_and_evaluates_off_the_gui_thread(qtbot, session):
    widget = lesson_view("mistakes").create(session)
    qtbot.addWidget(widget)
    assert isinstance(widget, MistakesView)
    assert widget.is_running()  # it starts at once, on the worker thread
    assert widget._explanation.text() == EXPLANATION and len(EXPLANATION.splitlines()) == 2
    assert widget._hint.text() == HINT and HINT.startswith("Try this")
    qtbot.waitUntil(lambda: widget.result() is not None, timeout=30_000)
    assert not widget.is_running() and widget._evaluate_button.isEnabled()
    widget.shutdown()


def test_the_matrix_counts_every_digit_and_its_diagonal_is_the_accuracy(view, sample):
    _, images, labels, outputs = sample
    result = view.result()
    counts = table_counts(view)
    assert counts.shape == (10, 10) and result.evaluation.n == len(labels) == 1000
    assert counts.sum() == result.evaluation.n
    assert np.trace(counts) == round(result.evaluation.accuracy * result.evaluation.n)
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (labels, outputs.argmax(axis=1)), 1)
    np.testing.assert_array_equal(counts, expected)
    assert np.trace(counts) == np.sum(outputs.argmax(axis=1) == labels) > 900  # the shipped model reads digits
    assert f"{np.trace(counts)} of 1,000 right" in view.summary_text()
    assert view.galleries_beside_matrix()  # 1100 pixels: room for both side by side
    # Right answers and mistakes in different colours.
    right, wrong = view.table.item(1, 1).background().color(), view.table.item(2, 8).background().color()
    assert right.blue() > right.red() and wrong.red() > wrong.blue()


def test_clicking_a_cell_shows_exactly_its_digits(qtbot, view, sample):
    _, images, labels, outputs = sample
    answers = outputs.argmax(axis=1)
    confusion = table_counts(view)
    np.fill_diagonal(confusion, -1)
    label, predicted = np.unravel_index(np.argmax(confusion), confusion.shape)  # the commonest mistake
    click_cell(view, label, predicted)
    assert view.tabs.currentWidget() is view.cell_gallery
    shown = shown_indices(view.cell_gallery)
    assert sorted(shown) == list(np.flatnonzero((labels == label) & (answers == predicted)))
    assert len(shown) == confusion[label, predicted] > 0
    assert f"({len(shown)})" in view.tabs.tabText(2)
    top = outputs[shown].max(axis=1)
    assert list(top) == sorted(top, reverse=True)  # the surest first
    # A diagonal cell: the right answers for that digit.
    click_cell(view, 3, 3)
    assert sorted(shown_indices(view.cell_gallery)) == list(np.flatnonzero((labels == 3) & (answers == 3)))
    thumbnail = view.cell_gallery.item(0).icon().pixmap(56, 56).toImage()
    assert thumbnail.width() == 56


def test_galleries_are_in_the_order_of_core_evaluation(view, sample):
    _, _, labels, outputs = sample
    wrong = evaluation.confidently_wrong(outputs, labels, GALLERY_COUNT)
    assert shown_indices(view.wrong_gallery) == [m.index for m in wrong] and len(wrong) == GALLERY_COUNT
    confidences = [m.confidence for m in view.wrong_gallery.examples()]
    assert confidences == sorted(confidences, reverse=True)
    assert all(outputs[i].argmax() != labels[i] for i in shown_indices(view.wrong_gallery))
    first = view.wrong_gallery.item(0).text()
    assert first == f"{wrong[0].label}\u2192{wrong[0].predicted}\n{wrong[0].confidence:.0%}"
    ambiguous = evaluation.most_ambiguous(outputs, labels, GALLERY_COUNT)
    assert shown_indices(view.ambiguous_gallery) == [m.index for m in ambiguous]
    margins = [m.margin for m in view.ambiguous_gallery.examples()]
    assert margins == sorted(margins)


def test_clicking_a_confidently_wrong_digit_puts_it_on_the_canvas_side(qtbot, view, session, sample):
    _, images, _, _ = sample
    view.tabs.setCurrentWidget(view.wrong_gallery)
    index = shown_indices(view.wrong_gallery)[2]
    with qtbot.waitSignal(session.inputChanged, timeout=2000):
        click_thumbnail(view.wrong_gallery, 2)
    np.testing.assert_allclose(session.current_input, images[index] / 255.0, atol=1e-7)
    assert session.input_source == INPUT_SOURCE
    assert f"#{9000 + index} " in view._shown.text()  # the position in the sample's IDX file
    np.testing.assert_allclose(session.predict(), session.network.predict(images[index].reshape(-1) / 255.0),
                               rtol=1e-5)


def test_a_changed_network_marks_it_stale_until_evaluated_again(qtbot, view, session):
    session.set_network(Network.create(rng=np.random.default_rng(3)), "untrained")
    assert view.is_stale() and "changed since" in view.summary_text()
    result = evaluated(qtbot, view, lambda: QTest.mouseClick(view._evaluate_button, Qt.MouseButton.LeftButton))
    assert not view.is_stale() and "changed since" not in view.summary_text()
    assert result.evaluation.accuracy < 0.3  # the untrained network's answers, not the old ones


def test_the_test_set_choice_is_offered_only_when_it_is_here(qtbot, session, monkeypatch):
    monkeypatch.setattr(bench, "official_test_dir", lambda: None)
    monkeypatch.setattr(datasets, "mnist_available", lambda: False)
    widget = MistakesView(session, start=False)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.data_choices() == ["sample"]
    assert not widget._data_combo.isVisible() and not widget._data_label.isVisible()
    with pytest.raises(ValueError, match="no evaluation set 'official'"):
        widget.set_data("official")


@pytest.mark.skipif(bench.official_test_dir() is None, reason="the official MNIST test set is not here")
def test_evaluating_on_the_official_test_set(qtbot, view):
    assert view.data_choices() == ["sample", "official"] and view._data_combo.isVisible()
    result = evaluated(qtbot, view, lambda: view.set_data("official"))
    assert result.evaluation.n == 10_000 and result.first_index == 0
    assert table_counts(view).sum() == 10_000
    assert np.trace(table_counts(view)) == result.evaluation.correct
    assert 0.9 < result.evaluation.accuracy < 0.97


def test_run_reports_progress_and_stops_when_cancelled(sample):
    config = mistakes.MistakesConfig(sample[0], "sample")
    seen = []
    result = mistakes.run(config, np.random.default_rng(0), progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    np.testing.assert_allclose(result.evaluation.outputs, sample[3], rtol=1e-6)
    with pytest.raises(LessonCancelled):
        mistakes.run(config, np.random.default_rng(0), cancel=lambda: True)


def test_in_the_window_a_digit_replaces_the_drawing(qtbot, open_window):
    window = open_window()
    view = window.show_lesson("mistakes")
    assert isinstance(view, MistakesView)
    qtbot.waitUntil(lambda: view.result() is not None, timeout=30_000)
    qtbot.wait(10)  # layout requests
    assert window.width() == 1366  # the view fits the lessons dock of a 1366x768 screen
    assert not view.galleries_beside_matrix()  # a narrow dock: the galleries go below the matrix
    explanation = view._explanation
    assert explanation.height() >= explanation.heightForWidth(explanation.width())  # no line cut off
    canvas = window.canvas
    draw_a_one(qtbot, canvas)
    assert not canvas.is_empty() and window.session.input_source == "drawing"
    index = shown_indices(view.wrong_gallery)[0]
    click_thumbnail(view.wrong_gallery, 0)
    expected = view.result().images[index] / 255.0
    np.testing.assert_allclose(window.preview.image(), expected, atol=1e-7)
    assert window.canvas.is_empty()  # the drawing made way for the digit
    assert window.chart.winner() == int(np.argmax(window.session.network.predict(expected.reshape(-1))))


def test_a_none_output_gets_a_column_not_a_row(qtbot):
    session = ModelSession(Network.create((784, 16, 11), rng=np.random.default_rng(4)), "eleven")
    widget = MistakesView(session, start=False)
    qtbot.addWidget(widget)
    result = evaluated(qtbot, widget, widget.evaluate)
    assert (widget.table.rowCount(), widget.table.columnCount()) == (10, 11)
    assert widget.table.horizontalHeaderItem(10).text() == "\u2192none"
    assert table_counts(widget).sum() == result.evaluation.n == 1000
    np.testing.assert_array_equal(table_counts(widget), result.evaluation.confusion_matrix()[:10])
    widget.shutdown()
