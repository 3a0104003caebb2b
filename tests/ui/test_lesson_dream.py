"""The dream view: choices, dreaming off the GUI thread, dreams beside real digits, a dream on the canvas side."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import dream as lesson
from digitlab.core.network import Network
from digitlab.ui.lessons.dream import EXPLANATION, HINT, ZOOM, DreamView, image_pixmap, make_view
from tests.ui.lesson_helpers import registered_views, shipped_session, shown_view


@pytest.fixture
def session():
    return shipped_session("default")


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, DreamView(session, rng=np.random.default_rng(0)), 900, 700)


def dream(qtbot, view, click=True):
    with qtbot.waitSignal(view.dreamsFinished, timeout=30_000) as blocker:
        if click:
            QTest.mouseClick(view._dream_button, Qt.MouseButton.LeftButton)
        else:
            view.dream()
        assert view.is_running()  # the GUI thread is free while the worker dreams
        assert not view._dream_button.isEnabled() and view._cancel_button.isEnabled()
    return blocker.args[0]


def pixel(pixmap, row, column) -> int:
    return pixmap.toImage().pixelColor(column * ZOOM + 1, row * ZOOM + 1).red()


def test_registered_and_explains_itself(qtbot, session):
    widget, _other = registered_views(qtbot, "dream", make_view, DreamView, session, EXPLANATION, HINT)
    widget.shutdown()


def test_pixmaps_are_row_major_and_grey():
    image = np.zeros((28, 28))
    image[2, 20] = 1.0  # top right: a transposed picture would put it bottom left
    image[27, 0] = 0.5
    pixmap = image_pixmap(image)
    assert (pixmap.width(), pixmap.height()) == (28 * ZOOM, 28 * ZOOM)
    assert pixel(pixmap, 2, 20) == 255 and pixel(pixmap, 20, 2) == 0
    assert pixel(pixmap, 27, 0) == 128


def test_dreaming_all_digits_shows_each_beside_the_real_mean(qtbot, view, session):
    result = dream(qtbot, view)
    assert result is view.result() and not view.is_running()
    assert (result.start, result.prior) == ("noise", "none")
    cells = view.cells()
    assert [cell.dream.digit for cell in cells] == list(range(10))
    means = lesson.mean_images()
    for cell, shown in zip(cells, result.dreams):
        assert cell.dream is shown
        np.testing.assert_allclose(shown.mean_image, means[shown.digit], atol=1e-6)
        dream_pixmap, mean_pixmap = cell.dream_label.pixmap(), cell.mean_label.pixmap()
        for row, column in ((3, 25), (14, 14), (26, 2)):
            assert pixel(dream_pixmap, row, column) == int(shown.image[row, column] * 255 + 0.5)
            assert pixel(mean_pixmap, row, column) == int(shown.mean_image[row, column] * 255 + 0.5)
        assert f"{shown.confidence:.0%} sure" in cell.caption.text()
        assert f"r = {shown.similarity_to_mean:.2f}" in cell.caption.text()
        # The worker dreamt with the session's network: the confidences are its own.
        assert shown.confidence == pytest.approx(float(session.network.predict(shown.image)[shown.digit]), rel=1e-5)
    assert view.summary_text() == result.summary()
    columns = view.columns()
    assert 1 <= columns <= 5
    grid = view._grid
    positions = [grid.getItemPosition(grid.indexOf(cell))[:2] for cell in cells]
    assert positions == [(i // columns, i % columns) for i in range(10)]
    view.resize(330, 700)  # narrow: the grid reflows to fewer columns
    assert view.columns() < columns


def test_the_choices_reach_the_lesson(qtbot, view, session):
    view.set_choices(4, "blank", "smooth")
    config = view.config()
    assert (config.digits, config.start, config.prior) == ((4,), "blank", "smooth")
    assert config.network is not session.network  # the worker gets a copy
    np.testing.assert_array_equal(config.network.weights[0], session.network.weights[0])
    result = dream(qtbot, view, click=False)
    assert [d.digit for d in result.dreams] == [4] and (result.start, result.prior) == ("blank", "smooth")
    assert len(view.cells()) == 1
    with pytest.raises(ValueError):
        view.set_choices(None, "grey", "none")


def test_cancel_stops_dreaming(qtbot, view):
    view.dream()
    with qtbot.waitSignal(view.runner.cancelled, timeout=10_000):
        QTest.mouseClick(view._cancel_button, Qt.MouseButton.LeftButton)
    assert not view.is_running() and view.result() is None
    assert view.summary_text() == "Dreaming cancelled." and view._dream_button.isEnabled()


def test_a_changed_network_marks_the_dreams_stale_and_sets_the_digits(qtbot, view, session):
    view.set_choices(7, "noise", "none")
    dream(qtbot, view)
    session.set_network(Network.create((784, 8, 11), rng=np.random.default_rng(1)), "eleven")
    assert "changed since" in view.summary_text()
    combo = view._digit_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [None, *range(10)]  # "none" is no digit
    assert combo.currentData() == 7


@pytest.fixture
def window(open_window):
    return open_window()


def test_a_dream_on_the_canvas_side_lights_the_output_bars(qtbot, window):
    view = window.show_lesson("dream")
    assert isinstance(view, DreamView)
    view.set_choices(3, "noise", "none")
    dream(qtbot, view)
    cell = view.cells()[0]
    QTest.mouseClick(cell.show_button, Qt.MouseButton.LeftButton)
    image = window.session.current_input
    np.testing.assert_array_equal(image, cell.dream.image)
    np.testing.assert_array_equal(window.preview.image(), image)
    expected = window.session.network.predict(image)
    np.testing.assert_allclose(window.chart.displayed_values(), expected, rtol=1e-5, atol=1e-7)
    assert window.chart.winner() == 3


def test_closing_the_window_mid_dream_stops_it_cleanly(qtbot, window):
    view = window.show_lesson("dream")
    view.dream()
    assert view.is_running()
    window.close()
    assert not view.is_running()
