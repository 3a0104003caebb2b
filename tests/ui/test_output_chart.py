"""The output bar chart: winner, headline, raw/softmax views, in-place updates."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette

from digitlab.core.network import Network, softmax
from digitlab.ui import style
from digitlab.ui.output_chart import EMPTY_TEXT, OutputChart

SIGMOID_OUTPUTS = np.array([0.01, 0.02, 0.10, 0.05, 0.03, 0.20, 0.01, 0.93, 0.04, 0.30])
LOGITS = np.array([-3.0, 1.0, 2.0, -1.0, 0.5, 2.5, -4.0, 7.3, 0.0, 1.0])


@pytest.fixture
def chart(qtbot):
    widget = OutputChart()
    qtbot.addWidget(widget)
    widget.resize(480, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_sigmoid_outputs_highlight_the_argmax_and_name_it(chart):
    chart.set_outputs(SIGMOID_OUTPUTS, "sigmoid")
    assert chart.winner() == 7
    np.testing.assert_allclose(chart.displayed_values(), SIGMOID_OUTPUTS)
    big, line = chart.headline()
    assert big == "7"
    assert line == "output 0.93"  # a sigmoid output is not a probability
    brushes = chart.bar_brushes()
    assert brushes[7] == QColor(style.ACCENT)
    assert all(brush != QColor(style.ACCENT) for i, brush in enumerate(brushes) if i != 7)
    assert chart.y_range() == (0.0, 1.0)
    assert [t.toPlainText() for t in chart._texts][7] == "0.93"


def test_new_winner_moves_the_highlight(chart):
    chart.set_outputs(SIGMOID_OUTPUTS, "sigmoid")
    outputs = SIGMOID_OUTPUTS.copy()
    outputs[2] = 0.99
    chart.set_outputs(outputs, "sigmoid")
    assert chart.winner() == 2 and chart.headline()[0] == "2"
    brushes = chart.bar_brushes()
    assert brushes[2] == QColor(style.ACCENT) and brushes[7] != QColor(style.ACCENT)


def test_none_shows_empty_bars_and_asks_for_a_digit(chart):
    chart.set_outputs(SIGMOID_OUTPUTS, "sigmoid")
    chart.set_outputs(None, "sigmoid")
    assert chart.winner() is None
    assert chart.headline() == (EMPTY_TEXT, "")
    np.testing.assert_array_equal(chart.displayed_values(), np.zeros(10))
    assert all(brush != QColor(style.ACCENT) for brush in chart.bar_brushes())
    assert all(t.toPlainText() == "" for t in chart._texts)


def test_toggle_is_disabled_for_sigmoid_networks(chart):
    chart.set_mode("softmax")  # even when softmax was asked for
    chart.set_outputs(SIGMOID_OUTPUTS, "sigmoid", logits=LOGITS)
    assert not chart.toggle_enabled()
    assert chart.mode() == "raw"
    np.testing.assert_allclose(chart.displayed_values(), SIGMOID_OUTPUTS)
    assert "sigmoid" in chart._softmax_button.toolTip()


def test_softmax_network_toggles_between_probabilities_and_logits(chart, qtbot):
    probabilities = softmax(LOGITS)
    chart.set_outputs(probabilities, "softmax", logits=LOGITS)
    assert chart.toggle_enabled()
    assert chart.mode() == "softmax"  # probabilities first
    np.testing.assert_allclose(chart.displayed_values(), probabilities)
    assert chart.y_range() == (0.0, 1.0)
    assert chart.headline() == ("7", f"{probabilities[7]:.0%} confident")

    with qtbot.waitSignal(chart.modeChanged, timeout=1000) as blocker:
        chart._raw_button.click()  # the user clicks "Raw outputs"
    assert blocker.args == ["raw"]
    assert chart.mode() == "raw"
    np.testing.assert_allclose(chart.displayed_values(), LOGITS)
    low, high = chart.y_range()
    assert low == -high and high >= 7.3  # symmetric, covering the largest |z|
    assert chart.winner() == 7  # the same neuron wins in both views
    labels = [t.toPlainText() for t in chart._texts]
    assert labels[7] == "+7.3" and labels[6] == "-4.0"

    # The choice sticks across updates.
    chart.set_outputs(probabilities, "softmax", logits=LOGITS * 0.1)
    assert chart.mode() == "raw"
    assert chart.y_range() == (-1.0, 1.0)


def test_softmax_without_logits_shows_probabilities_only(chart):
    chart.set_mode("raw")
    probabilities = softmax(LOGITS)
    chart.set_outputs(probabilities, "softmax")
    assert not chart.toggle_enabled()
    assert chart.mode() == "softmax"
    np.testing.assert_allclose(chart.displayed_values(), probabilities)


def test_the_window_shows_a_softmax_networks_own_outputs_and_logits(open_window):
    network = Network.create((784, 16, 16, 10), cost="cross_entropy", rng=np.random.default_rng(3))
    window = open_window(network)
    chart = window.chart
    x = np.random.default_rng(4).random((28, 28), dtype=np.float32)
    window.session.set_input(x, "picture")
    expected = network.predict(x)
    chart.set_mode("softmax")
    np.testing.assert_allclose(chart.displayed_values(), expected, rtol=1e-5, atol=1e-7)
    assert chart.winner() == int(np.argmax(expected))
    assert chart.headline()[1] == f"{expected.max():.0%} confident"
    chart.set_mode("raw")
    raw = chart.displayed_values()
    assert not np.allclose(raw, expected)  # the weighted sums, not the probabilities
    # Logits are defined up to a constant; the softmax of the ones shown must be the outputs.
    np.testing.assert_allclose(softmax(raw), expected, rtol=1e-4, atol=1e-7)
    assert chart.winner() == int(np.argmax(expected))


def test_eleven_outputs_give_eleven_bars_the_last_one_none(open_window):
    network = Network.create((784, 16, 11), rng=np.random.default_rng(8))
    window = open_window(network)
    chart = window.chart
    assert chart.output_count() == 11 and chart.bar_labels()[-1] == "none"
    assert chart.bar_labels()[:10] == [str(d) for d in range(10)]
    weights = [w.copy() for w in network.weights]
    weights[-1][...] = 0
    biases = [b.copy() for b in network.biases]
    biases[-1][...] = -5
    biases[-1][10] = 5  # the "none" neuron wins for every input
    window.session.set_parameters(weights, biases)
    window.session.set_input(np.zeros((28, 28), np.float32))
    assert chart.displayed_values().shape == (11,)
    assert chart.winner() == 10 and chart.headline()[0] == "none"
    assert window.weights_view.output_label_texts()[-1] == "none"


def test_updates_reuse_the_plot_items(chart):
    bars, texts = chart._bars, list(chart._texts)
    rng = np.random.default_rng(0)
    for _ in range(30):
        chart.set_outputs(rng.random(10), "sigmoid")
    assert chart._bars is bars and chart._texts == texts
    assert len(chart._plot.getPlotItem().items) == 12  # bars, zero line, ten labels


@pytest.mark.parametrize(
    ("values", "activation", "logits"),
    [
        (np.zeros((2, 5)), "sigmoid", None),
        (np.array([0.1, np.nan]), "sigmoid", None),
        (np.zeros(10), "relu", None),
        (np.zeros(10), "softmax", np.zeros(9)),
    ],
)
def test_bad_input_is_refused(chart, values, activation, logits):
    with pytest.raises(ValueError):
        chart.set_outputs(values, activation, logits=logits)
    with pytest.raises(ValueError):
        chart.set_mode("probabilities")


def test_palette_change_restyles_the_plot(chart):
    palette = chart.palette()
    palette.setColor(QPalette.ColorRole.Base, QColor(20, 20, 20))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230))
    chart.setPalette(palette)
    assert chart._plot.backgroundBrush().color() == QColor(20, 20, 20)
    assert chart._plot.getAxis("left").textPen().color() == QColor(230, 230, 230)
    assert chart._texts[0].color == QColor(230, 230, 230)
