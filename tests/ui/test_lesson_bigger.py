"""The "bigger" view: both bundled networks read the current input live, side by side, and are measured off the
GUI thread; in the real window, drawing on the canvas changes both charts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core import model_io
from digitlab.core.drawing import draw_digit
from digitlab.core.lessons import bigger as lesson
from digitlab.core.preprocess import prepare
from digitlab.ui.lessons.bigger import EXPLANATION, HINT, BiggerView, make_view
from tests.ui.lesson_helpers import (  # noqa: F401 (the session fixture)
    draw_a_one, registered_views, shipped_session_fixture, shown_view,
)


@pytest.fixture
def view(qtbot, session):
    yield from shown_view(qtbot, BiggerView(session, rng=np.random.default_rng(0)), 430, 700)


def measured(qtbot, view):
    """The view's result, once the run it started on opening is over."""
    qtbot.waitUntil(lambda: view.result() is not None and not view.is_running(), timeout=30_000)
    return view.result()


def expected_outputs(view, image) -> dict:
    return {name: network.predict(image.reshape(-1)) for name, network in view.networks().items()}


def test_registered_and_explains_itself(qtbot, session):
    widget, other = registered_views(qtbot, "bigger", make_view, BiggerView, session, EXPLANATION, HINT)
    assert "play with the structure" in HINT and "98%" in HINT
    for made in (widget, other):
        assert set(made.networks()) == {"default", "bigger"}
        made.shutdown()


def test_opening_measures_both_networks_and_shows_the_figures(qtbot, view):
    result = measured(qtbot, view)
    assert isinstance(result, lesson.BiggerResult) and result.n_digits == 1000
    # The worker read copies of the view's own networks.
    config = view.config()
    assert config.networks["bigger"] is not view.networks()["bigger"]
    for name in lesson.MODELS:
        network = view.networks()[name]
        assert result.runs[name].sizes == network.sizes
        heading = view.heading(name)
        assert "-".join(map(str, network.sizes)) in heading and f"{network.n_parameters:,} parameters" in heading
        assert f"reads <b>{result.accuracy(name):.1%}</b> of 1,000 unseen digits" in heading
        misread = 100 * (1 - np.array(result.per_digit_accuracy(name)))
        np.testing.assert_allclose(view.per_digit_heights(name), misread)
    assert result.accuracy("bigger") > result.accuracy("default")
    assert view.summary_text() == result.reading_summary()
    assert view._run_button.text() == "Measure both again" and view._run_button.isEnabled()
    assert not view._cancel_button.isEnabled()


def test_the_run_button_measures_again(qtbot, view):
    first = measured(qtbot, view)
    with qtbot.waitSignal(view.runFinished, timeout=30_000) as blocker:
        QTest.mouseClick(view._run_button, Qt.MouseButton.LeftButton)
        assert view.is_running() and not view._run_button.isEnabled()
    again = blocker.args[0]
    assert again is view.result() and again is not first
    assert again.accuracy("bigger") == first.accuracy("bigger")  # the same networks, the same digits


def test_both_charts_follow_the_current_input(qtbot, session, view):
    for name in lesson.MODELS:
        assert not view.charts[name].values().any() and view.charts[name].answer() is None
    two = prepare(draw_digit(2, 0))
    session.set_input(two, "drawing")
    shown = {name: view.charts[name].values() for name in lesson.MODELS}
    for name, outputs in expected_outputs(view, two).items():
        np.testing.assert_allclose(shown[name], outputs, rtol=1e-6)
        best = int(np.argmax(outputs))
        assert view.charts[name].answer() == (best if outputs[best] >= 0.5 else None)
    # The two networks are really different: their outputs for one drawing differ.
    assert not np.allclose(shown["default"], shown["bigger"])
    seven = prepare(draw_digit(7, 0))
    session.set_input(seven, "drawing")
    for name, outputs in expected_outputs(view, seven).items():
        np.testing.assert_allclose(view.charts[name].values(), outputs, rtol=1e-6)
        assert not np.allclose(view.charts[name].values(), shown[name])
    session.set_input(None)
    assert all(not view.charts[name].values().any() for name in lesson.MODELS)
    assert view.charts["default"].answer_text() == "draw a digit"


def test_a_run_reads_the_current_input_as_its_drawing(qtbot, session, view):
    measured(qtbot, view)
    four = prepare(draw_digit(4, 0))
    session.set_input(four, "drawing")
    with qtbot.waitSignal(view.runFinished, timeout=30_000) as blocker:
        view.start()
    result = blocker.args[0]
    np.testing.assert_array_equal(result.drawing, four)
    assert result.drawing_digit is None
    for name, outputs in expected_outputs(view, four).items():
        np.testing.assert_allclose(result.runs[name].drawing_outputs, outputs, rtol=1e-6)


def test_unreadable_bundled_networks_are_said_in_the_view(qtbot, session, monkeypatch):
    monkeypatch.setitem(model_io.BUNDLED_MODELS, "bigger", "no_such_model.npz")
    widget = BiggerView(session)
    qtbot.addWidget(widget)
    assert widget.summary_text().startswith("The bundled networks could not be loaded: ")
    assert "no_such_model.npz" in widget.summary_text() and "\n" not in widget.summary_text()
    assert not widget.is_running() and not widget._run_button.isEnabled()
    session.set_input(prepare(draw_digit(3, 0)), "drawing")  # no networks: the charts stay empty, no error
    widget.start()
    assert not widget.is_running()


# ------------------------------------------------------------------- in the real window


def test_drawing_on_the_canvas_changes_both_charts(qtbot, open_window):
    window = open_window()
    view = window.show_lesson("bigger")
    assert isinstance(view, BiggerView)
    measured(qtbot, view)
    before = {name: view.charts[name].values() for name in lesson.MODELS}
    draw_a_one(qtbot, window.canvas)
    qtbot.waitUntil(lambda: window.session.current_input is not None, timeout=2000)
    image = window.session.current_input
    for name, outputs in expected_outputs(view, image).items():
        shown = view.charts[name].values()
        np.testing.assert_allclose(shown, outputs, rtol=1e-6)
        assert not np.allclose(shown, before[name])
    # A stroke down the middle is a 1 to both: their largest output is the 1's.
    assert int(np.argmax(view.charts["default"].values())) == int(np.argmax(view.charts["bigger"].values())) == 1
    window.close()  # shutdown: any run is stopped and waited for
    assert not view.is_running()


def test_output_bars_name_the_answer_only_when_sure(qtbot):
    from digitlab.ui.lessons.bigger import OutputBars

    bars = OutputBars()
    qtbot.addWidget(bars)
    sure = np.full(10, 0.05)
    sure[3] = 0.9
    bars.set_outputs(sure, "sigmoid")
    assert bars.answer() == 3 and "output 0.90" in bars.answer_text()
    assert bars._plot.getAxis("left").labelText == "activation"
    unsure = np.full(10, 0.1)
    unsure[6] = 0.3
    bars.set_outputs(unsure, "softmax")
    assert bars.answer() is None and bars.answer_text() == "I don't know (best guess: 6, 0.30)"
    assert bars._plot.getAxis("left").labelText == "probability"
    eleven = np.full(11, 0.01)
    eleven[10] = 0.9
    bars.set_outputs(eleven, "softmax")
    assert bars.answer() == 10 and "none" in bars.answer_text() and "90% confident" in bars.answer_text()
    np.testing.assert_allclose(bars.values(), eleven)
