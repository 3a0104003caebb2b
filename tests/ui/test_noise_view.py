"""The noise lesson's view, end to end in the real window with the shipped model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core import datasets
from digitlab.core.lessons import noise as lesson
from digitlab.core.network import Network
from digitlab.core.preprocess import NOISE_KINDS
import pyqtgraph as pg

from digitlab.ui import style
from digitlab.ui.lessons.noise import EMPTY_PLOT_HINT, EXPLANATION, HINT, NoiseView


@pytest.fixture
def window(open_window):
    """The window with the shipped model (or its untrained stand-in) and its noise view open."""
    return open_window()


@pytest.fixture
def view(window) -> NoiseView:
    view = window.show_lesson("noise")
    assert isinstance(view, NoiseView)
    return view


def compare(qtbot, view):
    with qtbot.waitSignal(view.comparisonFinished, timeout=20_000) as blocker:
        QTest.mouseClick(view._compare_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_the_view_explains_itself_and_offers_something_to_try(view):
    assert view._explanation.text() == EXPLANATION and len(EXPLANATION.splitlines()) == 2
    assert view._hint.text().startswith("Try this") and view._hint.text() == HINT
    assert view._explanation.isVisible() and view._hint.isVisible()


def test_comparing_fills_both_histograms_with_the_lessons_result(qtbot, window, view):
    result = compare(qtbot, view)
    assert result is view.result()
    samples = lesson.DEFAULT_SAMPLES
    assert result.noise_top.shape == (samples,)
    counts = view.histogram_counts()
    assert counts["noise"].sum() == samples and counts["digits"].sum() == len(result.digits_top) > 0
    # The bars are the histogram of the result (checked independently).
    expected, _ = np.histogram(result.noise_top, bins=view.bin_edges())
    np.testing.assert_array_equal(counts["noise"], expected)
    np.testing.assert_array_equal(view._noise_curve.getData()[1], expected)
    assert view._noise_median.value() == pytest.approx(np.median(result.noise_top))
    assert view.summary_text() == result.summary()
    # The worker questioned the window's network: the answers are the network's own.
    network = window.session.network
    assert result.n_outputs == network.sizes[-1] and result.output_activation == network.output_activation
    digits = datasets.load_sample()
    assert result.n_digits == min(samples, len(digits.val_labels))
    assert result.digits_accuracy > 0.6  # the shipped model reads digits
    assert not view.is_running() and not view._cancel_button.isEnabled()


def test_the_network_is_questioned_through_a_copy(qtbot, window, view):
    config = view.config()
    assert config.network is not window.session.network
    np.testing.assert_array_equal(config.network.weights[0], window.session.network.weights[0])
    assert config.kind == view.kind()


def test_a_changed_network_marks_the_result_stale(qtbot, window, view):
    compare(qtbot, view)
    window.session.set_network(Network.create(rng=np.random.default_rng(9)), "other")
    assert "changed since" in view.summary_text()
    compare(qtbot, view)
    assert "changed since" not in view.summary_text()


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_feed_one_noise_image_shows_it_in_the_window(qtbot, window, view, kind):
    view.set_kind(kind)
    QTest.mouseClick(view._feed_button, Qt.MouseButton.LeftButton)
    image = window.session.current_input
    assert image is not None and window.session.input_source == "noise"
    np.testing.assert_array_equal(window.preview.image(), image)
    assert window.canvas.is_empty()  # the noise replaced any drawing
    expected = window.session.network.predict(image)
    np.testing.assert_allclose(window.chart.displayed_values(), expected, rtol=1e-5, atol=1e-7)
    assert window.chart.winner() == int(np.argmax(expected))


def test_unknown_kinds_are_refused(view):
    with pytest.raises(ValueError):
        view.set_kind("pink")


def test_closing_the_window_mid_comparison_stops_it_cleanly(qtbot, window, view):
    view.compare()
    assert view.is_running()
    window.close()  # shutdown: cancel -> quit -> wait; a running QThread destroyed would abort
    assert not view.is_running()


def test_before_a_run_the_plot_shows_a_sensible_empty_range_and_says_what_to_do(view):
    # Issue 12: it showed -500 to 500, labelled "images (x0.001)".
    plot = view._plot.getPlotItem()
    (x_low, x_high), (y_low, y_high) = plot.viewRange()
    assert x_low <= 0 and 1 <= x_high < 1.1 and (y_low, y_high) == (0, 10)
    left = plot.getAxis("left")
    assert not left.autoSIPrefix and left.labelString() == left.labelString().split("(")[0]
    assert "images" in left.labelString() and "x0.001" not in left.labelString()
    assert view.empty_hint() == EMPTY_PLOT_HINT and view._empty_hint.isVisible()
    assert "top output" in plot.getAxis("bottom").labelText  # named before the first run too


def _scene_rect(item):
    return item.mapRectToScene(item.boundingRect())


def test_the_legend_sits_outside_the_data_and_the_median_labels_clear_of_each_other(qtbot, view):
    compare(qtbot, view)
    plot = view._plot.getPlotItem()
    assert view.empty_hint() == "" and not view._empty_hint.isVisible()
    # No legend box in the plot: its key is the title, above the data, in the curves' colours.
    assert not [item for item in plot.scene().items() if isinstance(item, pg.LegendItem)]
    title = plot.titleLabel.text
    for color, name in ((style.NOISE_COLOR, "noise images"), (style.REAL_COLOR, "real digits")):
        assert f"color:{color}'>\u25a0</span>&nbsp;{name}" in title
    data_area = _scene_rect(plot.getViewBox())
    assert _scene_rect(plot.titleLabel).bottom() <= data_area.top() + 1

    def labels():
        return [_scene_rect(line.label) for line in (view._noise_median, view._digits_median)]

    # The labels follow their lines once the plot has laid itself out: inside it, never cut off.
    qtbot.waitUntil(lambda: all(data_area.contains(label) for label in labels()), timeout=3000)
    assert not labels()[0].intersects(labels()[1])
    # Room above the tallest bar for the labels.
    assert plot.viewRange()[1][1] >= 1.2 * max(counts.max() for counts in view.histogram_counts().values())
