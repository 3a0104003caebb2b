"""The descent view: click to drop a ball, Step by the formula, live rate, Run/Pause, outcomes."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from digitlab.core.lessons import descent
from digitlab.ui.lessons import descent as view_module
from digitlab.ui.lessons.descent import DescentView, make_view


@pytest.fixture
def view(qtbot):
    widget = DescentView(object(), rng=np.random.default_rng(0))  # any session: descent uses no model
    qtbot.addWidget(widget)
    widget.resize(800, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def _click_at(view, x, y):
    """Click the plot where the data point (x, y) is drawn."""
    scene_point = view.plot.getViewBox().mapViewToScene(QPointF(x, y))
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.plot.mapFromScene(scene_point))


def test_make_view_accepts_any_session(qtbot):
    widget = make_view(None)
    qtbot.addWidget(widget)
    assert isinstance(widget, DescentView) and widget.function.name == "bowl"


def test_clicking_the_plot_drops_a_ball_there(view):
    _click_at(view, -1.2, 1.44)
    assert len(view.balls) == 1 and view.balls[0].steps_taken == 0
    assert view.balls[0].position[0] == pytest.approx(-1.2, abs=0.03)
    view.set_function("bumps2d")
    _click_at(view, 1.0, -2.0)
    np.testing.assert_allclose(view.balls[0].position, [1.0, -2.0], atol=0.05)


def test_step_moves_the_ball_by_the_formula(view):
    assert view.lr == 0.1 and view.balls[0].position[0] == 2.5
    QTest.mouseClick(view.step_button, Qt.MouseButton.LeftButton)
    assert view.balls[0].position[0] == pytest.approx(2.5 - 0.1 * 2 * 2.5)  # x - lr f'(x)
    assert "Step 1" in view.status_label.text()
    QTest.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert view.balls[0].position[0] == 2.5 and view.balls[0].steps_taken == 0


def test_the_rate_slider_acts_live(view):
    view.step()
    view.rate_slider.setValue(view.rate_slider.value() + 20)  # half a decade up
    assert view.lr == pytest.approx(0.1 * 10**0.5)
    assert view.rate_label.text() == f"lr = {view.lr:.3g}"
    x = view.balls[0].position[0]
    view.step()
    assert view.balls[0].position[0] == pytest.approx(x - view.lr * 2 * x)


def test_momentum_toggle_follows_the_formula(view):
    view.momentum_box.setChecked(True)
    view.step()
    view.step()
    # v <- 0.9 v - 0.1 * 2x;  x <- x + v, from x = 2.5, v = 0
    v1 = -0.1 * 5.0
    x1 = 2.5 + v1
    v2 = 0.9 * v1 - 0.1 * 2 * x1
    assert view.balls[0].position[0] == pytest.approx(x1 + v2)


def test_run_toggles_to_pause_and_back(view, qtbot):
    view.set_rate(0.001)  # crawls: keeps going
    QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert view.run_button.text() == "Pause" and view.timer.isActive() and not view.step_button.isEnabled()
    qtbot.waitUntil(lambda: view.balls[0].steps_taken >= 3, timeout=3000)
    QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert view.run_button.text() == "Run" and not view.timer.isActive()
    taken = view.balls[0].steps_taken
    qtbot.wait(3 * view_module.STEP_MS)
    assert view.balls[0].steps_taken == taken


def test_run_stops_by_itself_once_converged(view, qtbot):
    view.set_rate(0.5)  # on x^2 one step lands on the bottom
    view.run_button.click()
    qtbot.waitUntil(lambda: not view.run_button.isChecked(), timeout=3000)
    assert view.balls[0].converged and view.outcome_label.text().startswith("converged")


def test_a_diverging_rate_is_named_on_screen(view):
    view.set_rate(1.5)
    assert view.lr > 1
    for _ in range(20):
        view.step_button.click()
    assert view.balls[0].diverged
    assert view.outcome_label.text().startswith("diverged")
    view.set_rate(0.001)
    view.reset()
    for _ in range(20):
        view.step()
    assert view.outcome_label.text().startswith("crawling")


def test_switching_to_a_2d_function_shows_the_heat_map(view):
    assert not view.heatmap.isVisible() and view.curve.isVisible()
    view.function_combo.setCurrentIndex(view.function_combo.findData("valley"))
    assert view.function.name == "valley" and view.heatmap.isVisible() and not view.curve.isVisible()
    assert view.heatmap.image.shape == (201, 201)
    assert view.balls[0].position.tolist() == list(descent.FUNCTIONS["valley"].start)
    assert view.lr == pytest.approx(descent.FUNCTIONS["valley"].lr, rel=0.03)
    start = view.balls[0].position.copy()
    view.step()
    np.testing.assert_allclose(view.balls[0].position, start - view.lr * descent.FUNCTIONS["valley"].gradient(start))


def test_random_balls_settle_in_different_minima(view):
    view.set_function("bumps2d")
    view.drop_button.click()
    assert len(view.balls) == view_module.RANDOM_BALLS == len(view.trails)
    for _ in range(2000):
        view.step()
        if all(ball.stopped for ball in view.balls):
            break
    assert all(ball.converged for ball in view.balls)
    assert len({view.function.nearest_minimum(ball.position) for ball in view.balls}) >= 2
    assert view.outcome_label.text().startswith("converged")
