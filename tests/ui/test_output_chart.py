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
    chart.set_threshold(0.0)  # a random network is unsure; here the headline's wording is tested
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
    assert chart.winner() == chart.answer() == 10 and chart.headline()[0] == "none of these"
    assert window.weights_view.output_label_texts()[-1] == "none"


def test_updates_reuse_the_plot_items(chart):
    bars, texts = chart._bars, list(chart._texts)
    rng = np.random.default_rng(0)
    for _ in range(30):
        chart.set_outputs(rng.random(10), "sigmoid")
    assert chart._bars is bars and chart._texts == texts
    assert len(chart._plot.getPlotItem().items) == 13  # bars, zero and threshold lines, ten labels


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


# ------------------------------------------------------------ "I don't know"
def _known_outputs_session(biases_out, cost="mse"):
    """A real ModelSession whose outputs are known: zero weights, so outputs = f(biases)."""
    from digitlab.ui.session import ModelSession

    network = Network.create((784, 8, len(biases_out)), cost=cost, rng=np.random.default_rng(1))
    weights = [np.zeros_like(w) for w in network.weights]
    biases = [np.zeros_like(b) for b in network.biases]
    biases[-1][...] = np.asarray(biases_out, dtype=biases[-1].dtype).reshape(biases[-1].shape)
    network.set_parameters(weights, biases)
    session = ModelSession(network, "known")
    session.set_input(np.random.default_rng(2).random((28, 28), dtype=np.float32))
    return session


def _logit(p):
    return float(np.log(p / (1 - p)))


def _highlighted(chart):
    return [i for i, brush in enumerate(chart.bar_brushes()) if brush == QColor(style.ACCENT)]


def test_a_confident_network_is_named_and_highlighted(chart):
    biases = [_logit(0.05)] * 10
    biases[3] = _logit(0.8)
    session = _known_outputs_session(biases)
    chart.follow(session)
    assert chart.threshold() == 0.5
    assert chart.answer() == chart.winner() == 3
    assert chart.headline() == ("3", "output 0.80")
    assert _highlighted(chart) == [3]


def test_below_the_threshold_it_says_i_dont_know(chart):
    biases = [_logit(0.05)] * 10
    biases[4] = _logit(0.23)
    chart.follow(_known_outputs_session(biases))
    assert chart.answer() is None and chart.winner() == 4  # the best guess, not announced
    big, line = chart.headline()
    assert big == "I don't know" and line == "(best guess: 4, output 0.23)"
    assert _highlighted(chart) == []


def test_all_outputs_near_zero_announce_no_winner_even_at_threshold_zero(chart):
    # sigmoid(-12..-9.3) ~ 6e-6..9e-5: an all-zero output, though 9 is (tinily) the largest.
    chart.follow(_known_outputs_session(-12.0 + 0.3 * np.arange(10)))
    np.testing.assert_allclose(chart.displayed_values(), 0.0, atol=1e-4)
    assert chart.winner() == 9
    for threshold in (0.5, 0.0):
        chart.set_threshold(threshold)
        assert chart.answer() is None and chart.headline()[0] == "I don't know"
        assert _highlighted(chart) == []


def test_a_tie_names_no_winner(chart):
    chart.set_threshold(0.05)
    chart.follow(_known_outputs_session(np.zeros(10), cost="cross_entropy"))  # softmax: ten times 0.1
    np.testing.assert_allclose(chart.displayed_values(), 0.1)
    assert chart.answer() is None and chart.headline()[0] == "I don't know" and _highlighted(chart) == []


def test_moving_the_control_moves_the_line_and_flips_the_verdict(chart, qtbot):
    biases = [_logit(0.05)] * 10
    biases[6] = _logit(0.6)
    chart.follow(_known_outputs_session(biases))
    assert chart.answer() == 6 and chart.threshold_line_position() == pytest.approx(0.5)
    with qtbot.waitSignal(chart.thresholdChanged, timeout=1000) as blocker:
        chart._threshold_box.setValue(0.7)  # as the user's spin box would
    assert blocker.args == [pytest.approx(0.7)]
    assert chart.threshold_line_position() == pytest.approx(0.7)
    assert chart.answer() is None and chart.headline() == ("I don't know", "(best guess: 6, output 0.60)")
    assert _highlighted(chart) == []
    chart.set_threshold(0.55)
    assert chart._threshold_box.value() == pytest.approx(0.55)
    assert chart.answer() == 6 and chart.headline()[0] == "6" and _highlighted(chart) == [6]


def test_softmax_threshold_applies_to_the_probability_and_hides_in_the_logit_view(chart):
    logits = np.zeros(10)
    logits[2] = np.log(9 * 0.4 / 0.6)  # probability of 2 is exactly 0.4
    session = _known_outputs_session(logits, cost="cross_entropy")
    chart.follow(session)
    assert session.network.output_activation == "softmax"
    assert chart.winner() == 2 and chart.answer() is None
    # One wording everywhere: a softmax output is a probability, "40% confident".
    assert chart.headline() == ("I don't know", "(best guess: 2, 40% confident)")
    chart.set_threshold(0.35)
    assert chart.answer() == 2 and chart.headline() == ("2", "40% confident")
    chart.set_mode("raw")
    assert chart.threshold_line_position() is None  # logits are not on the probability scale
    assert chart.answer() == 2  # the verdict still uses the probability


def test_the_none_output_winning_says_none_of_these(chart):
    biases = [_logit(0.02)] * 11
    biases[10] = _logit(0.9)
    chart.follow(_known_outputs_session(biases))
    assert chart.answer() == 10 and chart.headline() == ("none of these", "output 0.90")
    assert _highlighted(chart) == [10]


def test_one_wording_of_confidence_for_each_kind_of_output():
    from digitlab.ui.output_chart import confidence_text

    assert confidence_text(0.96, "softmax") == "96% confident"
    assert confidence_text(0.96, "sigmoid") == "output 0.96"  # an activation, not a probability


@pytest.mark.parametrize("width", [200, 300, 415])
def test_the_empty_headline_is_never_cut_off(qtbot, width):
    chart = OutputChart()
    qtbot.addWidget(chart)
    chart.resize(width, 300)
    chart.show()
    qtbot.waitExposed(chart)
    label = chart._headline.digit_label
    assert label.text() == EMPTY_TEXT
    needed = label.fontMetrics().horizontalAdvance(EMPTY_TEXT)
    assert label.width() >= needed, (label.width(), needed)
    # The panel cannot be made narrower than the headline needs.
    assert chart.minimumSizeHint().width() >= needed
