"""The network diagram widget: what it draws is the network's own numbers, and redraws are coalesced."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from digitlab.core.datasets import load_sample
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network
from digitlab.core.projections import activation_strength
from digitlab.ui import style
from digitlab.ui.session import ModelSession
from digitlab.ui.widgets import network_diagram
from digitlab.ui.widgets.network_diagram import NetworkDiagram


@pytest.fixture(scope="module")
def digits():
    split = load_sample()
    return split.val_images[:5].reshape(-1, 28, 28).astype(np.float32) / 255


def make(qtbot, network, x=None):
    session = ModelSession(network, "test")
    if x is not None:
        session.set_input(x)
    diagram = NetworkDiagram(session)
    qtbot.addWidget(diagram)
    diagram.resize(900, 560)
    diagram.show()
    qtbot.waitExposed(diagram)
    diagram.refresh()  # the size is final now; no pending timer
    return session, diagram


def rgb(color: str) -> tuple[int, int, int]:
    c = QColor(color)
    return c.red(), c.green(), c.blue()


def test_node_fill_is_the_activations_of_the_input(qtbot, digits):
    network = load_default_model()[0]
    _, diagram = make(qtbot, network, digits[0])
    activations = network.forward(digits[0].reshape(-1))
    for layer in range(1, 4):
        np.testing.assert_allclose(diagram.node_fill(layer), activation_strength(activations[layer]), atol=1e-6)
    assert diagram.node_fill(1).std() > 0.1  # a real digit lights some neurons and not others
    # The painted circle of the most and least lit neurons of layer 1 has their fill's shade.
    image = diagram.grab().toImage()
    fills = diagram.node_fill(1)
    shades = [image.pixelColor(diagram.node_centre(1, int(i)).toPoint()).lightnessF() for i in (fills.argmax(), fills.argmin())]
    background = style.plot_background(diagram.palette()).lightnessF()
    text = style.text_color(diagram.palette()).lightnessF()
    for shade, fill in zip(shades, (fills.max(), fills.min())):
        assert shade == pytest.approx(background + (text - background) * fill, abs=0.03)


def test_without_an_input_nothing_is_lit_and_there_is_no_winner(qtbot):
    _, diagram = make(qtbot, load_default_model()[0])
    assert diagram.winner() is None
    assert all(not diagram.node_fill(layer).any() for layer in (1, 2, 3))


def test_edge_colour_follows_the_sign_of_the_weight(qtbot, digits):
    network = load_default_model()[0]
    _, diagram = make(qtbot, network, digits[1])
    for layer in range(1, 4):
        edges = diagram.edges(layer)
        w = network.weights[layer - 1]
        np.testing.assert_allclose(edges.values, w[edges.targets, edges.sources])
        positive, negative = edges.values > 0, edges.values < 0
        assert positive.any() and negative.any()
        assert (edges.rgba[positive, :3] == rgb(style.POSITIVE_COLOR)).all()
        assert (edges.rgba[negative, :3] == rgb(style.NEGATIVE_COLOR)).all()
        # Opacity grows with |w|.
        order = np.argsort(np.abs(edges.values))
        assert (np.diff(edges.rgba[order, 3].astype(int)) >= 0).all()
        # ... in proportion to |w| over the layer's largest weight, in ALPHA_STEPS steps.
        proportional = 255 * np.abs(edges.values) / np.abs(w).max()
        assert np.abs(edges.rgba[:, 3] - proportional).max() <= 255 / network_diagram.ALPHA_STEPS + 1
    # Into the first layer, each neuron gets its strongest pixels.
    edges = diagram.edges(1)
    for neuron in range(3):
        chosen = np.sort(edges.sources[edges.targets == neuron])
        strongest = np.sort(np.argsort(np.abs(network.weights[0][neuron]))[-len(chosen):])
        np.testing.assert_array_equal(chosen, strongest)


def test_contribution_mode_colours_by_weight_times_activation(qtbot, digits):
    network = load_default_model()[0]
    _, diagram = make(qtbot, network, digits[1])
    diagram.set_edge_mode("contribution")
    activations = network.forward(digits[1].reshape(-1))
    for layer in range(1, 4):
        edges = diagram.edges(layer)
        expected = network.weights[layer - 1][edges.targets, edges.sources] * activations[layer - 1][edges.sources]
        np.testing.assert_allclose(edges.values, expected, rtol=1e-6, atol=1e-9)
        assert (edges.rgba[edges.values > 0, :3] == rgb(style.POSITIVE_COLOR)).all()
        assert (edges.rgba[edges.values < 0, :3] == rgb(style.NEGATIVE_COLOR)).all()
    # Blank pixels carry nothing, so no drawn edge into layer 1 starts at one.
    assert (digits[1].reshape(-1)[diagram.edges(1).sources] > 0).all()
    with pytest.raises(ValueError, match="edge mode"):
        diagram.set_edge_mode("thickness")


def test_the_winner_box_is_on_the_largest_output(qtbot, digits):
    network = load_default_model()[0]
    session, diagram = make(qtbot, network, digits[2])
    for x in digits:
        session.set_input(x)
        diagram.refresh()
        outputs = network.forward(x.reshape(-1))[-1]
        assert diagram.winner() == int(np.argmax(outputs))
        # The box's left side is painted in the accent colour, beside the winner's circle only.
        image = diagram.grab().toImage()
        radius = diagram._radii[-1]
        for index in range(10):
            centre = diagram.node_centre(3, index)
            pixel = image.pixelColor(QPoint(round(centre.x() - radius - 4), round(centre.y())))
            is_accent = abs(pixel.hueF() - QColor(style.ACCENT).hueF()) < 0.03 and pixel.saturationF() > 0.5
            assert is_accent == (index == diagram.winner())


def test_an_input_change_gives_one_coalesced_redraw(qtbot, digits):
    session, diagram = make(qtbot, load_default_model()[0])
    painted = []
    diagram.refreshed.connect(lambda: painted.append(diagram.winner()))
    for x in digits:
        session.set_input(x)
    session.notify_network_changed()
    assert painted == []  # nothing recomputed yet: the timer coalesces the burst
    qtbot.waitUntil(lambda: len(painted) == 1, timeout=2000)
    qtbot.wait(3 * network_diagram.REFRESH_MS)
    assert len(painted) == 1
    assert painted[0] == int(np.argmax(session.predict()))  # the last input of the burst


def test_eleven_outputs_are_labelled_with_none(qtbot, digits):
    network = Network.create((784, 16, 16, 11), rng=np.random.default_rng(1))
    _, diagram = make(qtbot, network, digits[0])
    assert diagram.output_labels() == [str(d) for d in range(10)] + ["none"]
    assert diagram.shown(3) == 11 and len(diagram.node_fill(3)) == 11
    assert diagram.node_at(diagram.node_centre(3, 10)) == (3, 10)


def test_wide_layers_are_drawn_in_part_and_every_node_is_hit_where_drawn(qtbot, digits):
    network = Network.create((784, 128, 64, 10), rng=np.random.default_rng(2))
    _, diagram = make(qtbot, network, digits[0])
    assert diagram.shown(1) == network_diagram.MAX_NODES and diagram.shown(2) == 64
    for layer in range(1, 4):
        assert len(diagram.edges(layer).values) <= network_diagram.EDGE_BUDGET
        for index in range(diagram.shown(layer)):
            assert diagram.node_at(diagram.node_centre(layer, index)) == (layer, index)
    diagram.grab()  # paints


def test_a_new_architecture_is_followed(qtbot, digits):
    session, diagram = make(qtbot, load_default_model()[0], digits[0])
    diagram.select(3, 9)
    session.set_network(Network.create((784, 30, 10), rng=np.random.default_rng(3)), "small")
    qtbot.waitUntil(lambda: diagram.sizes == (784, 30, 10) and len(diagram.node_fill(2)) == 10, timeout=2000)
    qtbot.waitUntil(lambda: diagram.selected is None, timeout=2000)  # output 9 is now layer 2: not kept as (3, 9)
    assert diagram.winner() == int(np.argmax(session.predict()))


def test_edges_follow_new_weights_such_as_training_snapshots(qtbot, digits):
    session, diagram = make(qtbot, load_default_model()[0], digits[0])
    other = Network.create(rng=np.random.default_rng(5))
    count = diagram.refresh_count
    session.set_parameters(other.weights, other.biases)
    qtbot.waitUntil(lambda: diagram.refresh_count == count + 1, timeout=2000)
    for layer in range(1, 4):
        edges = diagram.edges(layer)
        np.testing.assert_allclose(edges.values, other.weights[layer - 1][edges.targets, edges.sources])
    np.testing.assert_allclose(diagram.node_fill(1), activation_strength(other.forward(digits[0].reshape(-1))[1]), atol=1e-6)
