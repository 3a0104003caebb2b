"""Weight pictures: mosaics against known weights, projections, outlines, clicks, export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from digitlab.core.network import Network
from digitlab.ui import style
from digitlab.core.projections import pixel_space_images, symmetric_limit
from digitlab.ui.weights_view import ImageExportError, MosaicLayout, WeightsView


def ramp_network(sizes=(784, 16, 16, 10)) -> Network:
    """A network whose every weight is known: neuron j of layer 1 holds (j+1) * ramp."""
    ramp = np.linspace(-1.0, 1.0, 784, dtype=np.float32)
    weights = [np.stack([(j + 1) * ramp for j in range(sizes[1])])]
    rng = np.random.default_rng(7)
    for n_in, n_out in zip(sizes[1:-1], sizes[2:]):
        weights.append(rng.standard_normal((n_out, n_in)).astype(np.float32))
    biases = [np.arange(n, dtype=np.float32) / 10 for n in sizes[1:]]
    return Network(tuple(sizes), "sigmoid", "mse", weights, biases)


@pytest.fixture
def view(qtbot):
    widget = WeightsView()
    qtbot.addWidget(widget)
    widget.resize(520, 560)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    if widget.details_dialog() is not None:
        widget.details_dialog().close()


def test_layer_one_mosaic_holds_the_weights(view):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    layout = view.layout_of(1)
    assert (layout.cols, layout.rows) == (4, 4)
    mosaic = view.mosaic(1)
    assert mosaic.shape == (4 * 29 - 1, 4 * 29 - 1)
    for j in range(16):
        top, left = layout.origin(j)
        np.testing.assert_allclose(mosaic[top : top + 28, left : left + 28], network.weights[0][j].reshape(28, 28))
    # The 1-pixel gaps are NaN, drawn transparent.
    assert np.isnan(mosaic[28, :]).all() and np.isnan(mosaic[:, 28]).all()
    # The image item shows exactly this mosaic, with shared symmetric levels.
    image_item = view._layers[1].image
    np.testing.assert_array_equal(image_item.image, mosaic)
    assert tuple(image_item.levels) == (-16.0, 16.0)  # max |w| = 16 * 1.0
    assert view.levels(1) == (-16.0, 16.0)


def test_layer_two_is_the_weighted_sum_of_layer_one_pictures(view):
    # Three first-layer neurons, each sensitive to a single pixel.
    w1 = np.zeros((3, 784), np.float32)
    w1[0, 0] = 1.0  # pixel (0, 0)
    w1[1, 29] = 2.0  # pixel (1, 1)
    w1[2, 29] = -1.0  # pixel (1, 1) too
    w1[2, 783] = 4.0  # pixel (27, 27)
    w2 = np.array([[0.5, 1.0, 2.0], [-1.0, 0.0, 1.0]], np.float32)
    w3 = np.ones((10, 2), np.float32)
    biases = [np.zeros(3, np.float32), np.zeros(2, np.float32), np.zeros(10, np.float32)]
    view.set_parameters([w1, w2, w3], biases)
    view.set_current_layer(2)
    tiles = view.tile_images(2)
    assert tiles.shape == (2, 28, 28)
    # By hand: neuron 0 = 0.5*W1[0] + 1*W1[1] + 2*W1[2].
    assert tiles[0, 0, 0] == pytest.approx(0.5)
    assert tiles[0, 1, 1] == pytest.approx(1.0 * 2.0 + 2.0 * -1.0)  # 0: the two cancel
    assert tiles[0, 27, 27] == pytest.approx(8.0)
    # Neuron 1 = -1*W1[0] + 0*W1[1] + 1*W1[2].
    assert tiles[1, 0, 0] == pytest.approx(-1.0)
    assert tiles[1, 1, 1] == pytest.approx(-1.0)
    assert tiles[1, 27, 27] == pytest.approx(4.0)
    assert np.count_nonzero(tiles[0]) == 2 and np.count_nonzero(tiles[1]) == 3
    np.testing.assert_allclose(tiles.reshape(2, 784), w2 @ w1, atol=1e-6)
    # The output layer chains one more product.
    np.testing.assert_allclose(pixel_space_images([w1, w2, w3], 3), w3 @ w2 @ w1, atol=1e-5)
    assert view.levels(2) == (-8.0, 8.0)


@pytest.mark.parametrize(("count", "cols", "rows"), [(16, 4, 4), (37, 7, 6), (100, 10, 10), (300, 18, 17)])
def test_tiles_for_any_neuron_count(view, count, cols, rows):
    network = Network.create((784, count, 10), rng=np.random.default_rng(count))
    view.set_parameters(network.weights, network.biases)
    layout = view.layout_of(1)
    assert (layout.cols, layout.rows, layout.count) == (cols, rows, count)
    mosaic = view.mosaic(1)
    assert mosaic.shape == (rows * 29 - 1, cols * 29 - 1)
    assert len(view.highlight_pens(1)) == count
    top, left = layout.origin(count - 1)
    np.testing.assert_allclose(mosaic[top : top + 28, left : left + 28], network.weights[0][-1].reshape(28, 28))
    if count < cols * rows:  # the unused places of the last row stay empty
        top, left = layout.origin(count)
        assert np.isnan(mosaic[top : top + 28, left : left + 28]).all()


def test_tabs_follow_the_architecture(view):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    assert view.layer_count() == 3
    assert [view._tabs.tabText(i) for i in range(3)] == ["Layer 1 (16)", "Layer 2 (16)", "Output (10)"]
    other = Network.create((784, 37, 10), rng=np.random.default_rng(1))
    view.set_parameters(other.weights, other.biases)
    assert view.layer_count() == 2
    assert [view._tabs.tabText(i) for i in range(2)] == ["Layer 1 (37)", "Output (10)"]
    view._tabs.setCurrentIndex(1)  # the user picks a tab
    assert view.current_layer() == 2
    assert view._layers[2].image.isVisible() and not view._layers[1].image.isVisible()


def test_updates_reuse_the_plot_items(view):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    items = view._layers[1]
    image, rects = items.image, list(items.rects)
    for scale in (0.5, 2.0, 3.0):
        view.set_parameters([w * scale for w in network.weights], network.biases)
    assert view._layers[1] is items and items.image is image and items.rects == rects
    np.testing.assert_allclose(view.mosaic(1)[:28, :28], 3.0 * network.weights[0][0].reshape(28, 28))


def test_read_only_parameters_are_never_written(view, tmp_path):
    network = ramp_network()
    weights = [w.copy() for w in network.weights]
    biases = [b.copy() for b in network.biases]
    for array in weights + biases:
        array.flags.writeable = False  # as in the training worker's records
    view.set_parameters(weights, biases)
    view.set_activations(network.forward(np.ones(784, np.float32)))
    for layer in (1, 2, 3):
        view.set_current_layer(layer)
        view.export_image(tmp_path / f"layer{layer}.png")
    view.show_neuron_details(2, 1)
    for given, original in zip(weights + biases, network.weights + network.biases):
        np.testing.assert_array_equal(given, original)


def test_activations_change_the_outline_pens(view):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    idle = view.highlight_pens(1)
    assert len({(p.color().name(), p.widthF()) for p in idle}) == 1  # all alike without a drawing

    activations = network.forward(np.zeros(784, np.float32))
    activations[1] = np.zeros(16, np.float32)
    activations[1][5] = 1.0
    activations[1][9] = 0.5
    view.set_activations(activations)
    pens = view.highlight_pens(1)
    assert pens[5].color().name() == QColor(style.ACCENT).name()
    assert pens[5].widthF() > pens[9].widthF() > pens[0].widthF()
    assert pens[5].color().alpha() > pens[9].color().alpha()
    assert pens[0].widthF() == idle[0].widthF()

    view.set_activations(None)
    assert all(p.widthF() == idle[0].widthF() for p in view.highlight_pens(1))


def test_activations_of_another_architecture_are_refused(view):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    with pytest.raises(ValueError):
        view.set_activations([np.zeros(784), np.zeros(30), np.zeros(10)])


def test_click_on_a_tile_emits_its_index_and_opens_details(view, qtbot):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    view.set_activations(network.forward(np.full(784, 0.5, np.float32)))
    for index in (6, 13):
        with qtbot.waitSignal(view.neuronClicked, timeout=2000) as blocker:
            QTest.mouseClick(view.graphics_viewport(), Qt.MouseButton.LeftButton, pos=view.tile_viewport_pos(index))
        assert blocker.args == [1, index]
    dialog = view.details_dialog()
    assert dialog is not None and dialog.isVisible()
    assert dialog.title() == "Neuron 13 of layer 1"
    assert "bias:</b> 1.300" in dialog.stats_text()  # biases are arange / 10
    assert "784 incoming weights" in dialog.stats_text()
    activation = view._activations[1][13]
    assert f"{activation:.3f}" in dialog.stats_text()


def test_click_on_the_output_layer(view, qtbot):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    view.set_current_layer(3)
    with qtbot.waitSignal(view.neuronClicked, timeout=2000) as blocker:
        QTest.mouseClick(view.graphics_viewport(), Qt.MouseButton.LeftButton, pos=view.tile_viewport_pos(7))
    assert blocker.args == [3, 7]
    assert view.details_dialog().title() == "Neuron 7 of output layer"


def test_click_beside_the_tiles_emits_nothing(view, qtbot):
    network = ramp_network((784, 10, 10))  # 4 x 3 grid: two empty places
    view.set_parameters(network.weights, network.biases)
    layout = view.layout_of(1)
    assert layout.index_at(3 * 29 + 5, 2 * 29 + 5) is None  # the empty 12th place
    assert layout.index_at(-20, 5) is None
    assert layout.index_at(29 + 5, 29 + 5) == 5


def test_export_writes_the_mosaic_as_png(view, tmp_path):
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    path = view.export_image(tmp_path / "weights.png")
    image = QImage(str(path))
    assert not image.isNull()
    scale = image.width() // (4 * 29 - 1)
    assert scale >= 2 and image.width() == scale * (4 * 29 - 1)
    # Neuron 15's last pixel holds the largest positive weight: full red.
    top, left = view.layout_of(1).origin(15)
    red = image.pixelColor((left + 27) * scale + scale // 2, (top + 27) * scale + scale // 2)
    assert red.name() == QColor(style.POSITIVE_COLOR).name()
    blue = image.pixelColor(left * scale + scale // 2, top * scale + scale // 2)
    assert blue.name() == QColor(style.NEGATIVE_COLOR).name()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_export_errors_name_the_file(view, tmp_path):
    target = tmp_path / "missing-folder" / "weights.png"
    with pytest.raises(ImageExportError, match="weights.png"):
        view.export_image(target)  # nothing to export yet
    network = ramp_network()
    view.set_parameters(network.weights, network.biases)
    with pytest.raises(ImageExportError, match="missing-folder"):
        view.export_image(target)


def test_non_square_inputs_show_a_message(view):
    network = Network.create((10, 4, 3), rng=np.random.default_rng(0))
    view.set_parameters(network.weights, network.biases)
    assert view._message.isVisible() and "10 inputs" in view._message.text()
    square = ramp_network()
    view.set_parameters(square.weights, square.biases)
    assert not view._message.isVisible()


def test_mismatched_shapes_are_refused(view):
    with pytest.raises(ValueError, match="layer 2"):
        view.set_parameters([np.zeros((16, 784)), np.zeros((10, 15))], [np.zeros(16), np.zeros(10)])


def test_helpers():
    assert symmetric_limit(np.array([0.8734, -0.2])) == pytest.approx(0.88)
    assert symmetric_limit(np.array([-12.31, np.nan])) == pytest.approx(13.0)
    assert symmetric_limit(np.zeros(4)) == 1.0
    layout = MosaicLayout.for_count(5, side=2)
    tiles = np.arange(20, dtype=np.float32).reshape(5, 2, 2)
    mosaic = layout.assemble(tiles)
    assert mosaic.shape == (5, 8)  # 2 rows x 3 columns of 2x2 tiles with 1-px gaps
    np.testing.assert_array_equal(mosaic[3:5, 0:2], tiles[3])
    assert np.isnan(mosaic[3:5, 6:8]).all()


def test_output_tiles_are_labelled_and_the_outlines_explained(view):
    view.set_parameters(*_parameters(Network.create((784, 16, 11), rng=np.random.default_rng(2))))
    view.set_current_layer(1)
    assert "Outlines" in view.caption_text() and "active" in view.caption_text()
    assert view.output_label_texts() == [str(d) for d in range(10)] + ["none"]
    view.set_current_layer(2)
    assert "labelled" in view.caption_text() and "Outlines" in view.caption_text()
    # Only the output layer's tiles carry labels.
    assert all(not items.labels for layer, items in view._layers.items() if layer != 2)
    view.set_parameters(*_parameters(Network.create((784, 16, 16, 10), rng=np.random.default_rng(2))))
    assert view.output_label_texts() == [str(d) for d in range(10)]


def _parameters(network):
    return network.weights, network.biases
