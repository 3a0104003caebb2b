"""The network diagram lesson's view: a clicked neuron's weights, w * x, z, b and a, following the session."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.datasets import load_sample
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network
from digitlab.ui.lessons import lesson_view
from digitlab.ui.lessons.diagram import EXPLANATION, HINT, DiagramView


@pytest.fixture(scope="module")
def digits():
    split = load_sample()
    return split.val_images[:4].reshape(-1, 28, 28).astype(np.float32) / 255


@pytest.fixture
def session():
    from digitlab.ui.session import ModelSession

    return ModelSession(load_default_model()[0], "default")


@pytest.fixture
def view(qtbot, session):
    widget = DiagramView(session)
    qtbot.addWidget(widget)
    widget.resize(900, 640)
    widget.show()
    qtbot.waitExposed(widget)
    widget.diagram.refresh()
    return widget


def click(view, layer, index):
    QTest.mouseClick(view.diagram, Qt.MouseButton.LeftButton, pos=view.diagram.node_centre(layer, index).toPoint())


def test_registered_and_explains_itself(qtbot, session):
    widget = lesson_view("diagram").create(session)
    qtbot.addWidget(widget)
    assert isinstance(widget, DiagramView)
    assert EXPLANATION.count("\n") == 1  # two lines of explanation
    assert "Draw a 3, then slowly extend it into an 8, and watch the second layer." in HINT


def test_clicking_a_first_layer_neuron_shows_its_weights_w_times_x_and_z_b_a(view, session, digits):
    session.set_input(digits[0])
    view.diagram.refresh()
    network, x = session.network, digits[0].astype(np.float64).reshape(-1)
    click(view, 1, 5)
    assert view.diagram.selected == (1, 5) and view.panel.neuron == (1, 5)
    w, b = network.weights[0][5].astype(np.float64), float(network.biases[0][5])
    np.testing.assert_allclose(view.panel.weights_image, w.reshape(28, 28))
    np.testing.assert_allclose(view.panel.product_image, (w * x).reshape(28, 28))
    z = float(w @ x + b)
    assert view.panel.values["z"] == pytest.approx(z, abs=1e-5)
    assert view.panel.values["b"] == pytest.approx(b)
    assert view.panel.values["a"] == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-5)
    assert f"{z:+.3f}" in view.panel.numbers.text()


def test_deeper_neurons_show_a_row_of_weights_and_the_outputs_z_is_the_logit(view, session, digits):
    session.set_input(digits[1])
    view.diagram.refresh()
    network, x = session.network, digits[1].reshape(-1)
    a1 = network.forward(x)[1].astype(np.float64)
    click(view, 2, 7)
    w, b = network.weights[1][7].astype(np.float64), float(network.biases[1][7])
    assert view.panel.weights_image.shape == (1, 16)
    np.testing.assert_allclose(view.panel.product_image, (w * a1).reshape(1, 16), rtol=1e-6)
    assert view.panel.values["z"] == pytest.approx(float(w @ a1 + b), abs=1e-5)
    assert view.panel.values["a"] == pytest.approx(float(network.forward(x)[2][7]), abs=1e-6)
    digit = int(np.argmax(network.predict(x)))
    click(view, 3, digit)
    assert view.panel.values["z"] == pytest.approx(float(network.logits(x)[digit]), abs=1e-4)
    assert view.panel.values["a"] == pytest.approx(float(network.predict(x)[digit]), abs=1e-6)
    assert "\u201c" + str(digit) + "\u201d output" in view.panel.title.text()


def test_the_panel_follows_a_new_input_and_new_weights(qtbot, view, session, digits):
    session.set_input(digits[2])
    view.diagram.refresh()
    click(view, 1, 0)
    before = view.panel.values["z"]
    session.set_input(digits[3])
    qtbot.waitUntil(lambda: view.panel.values["z"] != before, timeout=2000)
    network = session.network
    expected = float(network.weights[0][0].astype(np.float64) @ digits[3].reshape(-1) + network.biases[0][0])
    assert view.panel.values["z"] == pytest.approx(expected, abs=1e-5)
    other = Network.create(rng=np.random.default_rng(4))
    session.set_parameters(other.weights, other.biases)
    qtbot.waitUntil(lambda: np.allclose(view.panel.weights_image, other.weights[0][0].reshape(28, 28)), timeout=2000)
    session.set_input(None)
    qtbot.waitUntil(lambda: view.panel.values["z"] is None, timeout=2000)
    assert not view.panel.product_image.any()


def test_the_toggle_switches_the_edges_to_contributions(view):
    assert view.diagram.edge_mode == "weight"
    view.contribution_button.click()
    assert view.diagram.edge_mode == "contribution"
    view.weight_button.click()
    assert view.diagram.edge_mode == "weight"


def test_readable_in_the_lessons_dock_of_a_1366_window(qtbot, open_window, digits):
    window = open_window(load_default_model()[0])
    window.resize(1366, 768)
    window.session.set_input(digits[0])
    window.lesson_actions["diagram"].trigger()
    view = window.lesson_area.view("diagram")
    qtbot.wait(50)  # layout settles
    assert window.size().height() <= 768 and window.size().width() <= 1366  # not stretched past the screen
    assert view.diagram.width() >= 260 and view.diagram.height() >= 300
    assert view.panel.isVisible() and view.panel.width() >= 120
    # The whole panel lies inside the view (nothing cut off on the right or at the bottom).
    corner = view.panel.mapTo(view, view.panel.rect().bottomRight())
    assert corner.x() <= view.width() and corner.y() <= view.height()
    # ... and all of it shows without scrolling at this size.
    assert view.diagram.mapTo(view, view.diagram.rect().bottomLeft()).y() <= view.height()
