"""digitlab.plotting draws core Figures: read the PNG back and look at its pixels."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor, QImage  # noqa: E402

from digitlab import plotting  # noqa: E402
from digitlab.core.lessons import noise  # noqa: E402
from digitlab.core.lessons.figure import Bars, Figure, Histogram, Image, Line, Panel, VLine  # noqa: E402
from digitlab.core.network import Network  # noqa: E402
from digitlab.imageio import ImageWriteError, read_image  # noqa: E402


def pixels(image: QImage) -> np.ndarray:
    """RGB uint8 (height, width, 3) of a QImage."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(converted.constBits(), np.uint8).reshape(converted.height(), converted.bytesPerLine())
    return raw[:, : 3 * converted.width()].reshape(converted.height(), converted.width(), 3).copy()


def near(rgb: np.ndarray, colour: str, tolerance: int = 12) -> np.ndarray:
    """Where ``rgb`` is within ``tolerance`` of ``colour`` in every channel."""
    c = QColor(colour)
    target = np.array([c.red(), c.green(), c.blue()])
    return np.all(np.abs(rgb.astype(int) - target) <= tolerance, axis=-1)


@pytest.fixture
def noise_result():
    network = Network.create((784, 16, 10), rng=np.random.default_rng(1))
    return noise.run(noise.NoiseConfig(network, samples=300), np.random.default_rng(0))


def test_noise_figure_png_is_readable_and_not_blank(qapp, tmp_path, noise_result):
    figure = noise.figure(noise_result)
    path = tmp_path / "noise.png"
    plotting.write_png(figure, path)
    back = QImage(str(path))
    assert not back.isNull()
    assert (back.width(), back.height()) == plotting.figure_size(figure)
    rgb = pixels(back)
    white = np.all(rgb == 255, axis=-1)
    assert 0.03 < 1 - white.mean() < 0.6  # ink, but mostly paper
    # Both histograms are there in their own colours, and text (near-black) too.
    assert near(rgb, "#d55e00").sum() > 500
    assert near(rgb, "#0072b2").sum() > 100
    assert near(rgb, "#111111", 40).sum() > 200
    # digitlab.imageio reads it as well (grey or colour, the same size).
    assert read_image(path).shape[:2] == (back.height(), back.width())


def test_a_bar_lands_where_its_data_coordinates_say(qapp):
    panel = Panel(bars=[Bars("b", [1.0], [2.0], width=1.0, color="#009e73")], xlim=(0, 4), ylim=(0, 4),
                  legend=False)
    rgb = pixels(plotting.render(Figure("", [panel], width=600, height=500)))
    green = near(rgb, "#009e73", 4)
    rows, columns = np.nonzero(green)
    assert green.sum() > 1000
    # The bar spans x in [0.5, 1.5] of [0, 4] and y in [0, 2]: a quarter of the plot
    # wide, half of it high, in the left half, standing on the bottom.
    left_edge, right_edge = columns.min(), columns.max()
    plot_left, plot_right = plotting._LEFT, 600 - plotting._RIGHT
    scale = (plot_right - plot_left) / 4
    assert left_edge == pytest.approx(plot_left + 0.5 * scale, abs=2)
    assert right_edge == pytest.approx(plot_left + 1.5 * scale, abs=2)
    plot_bottom = 500 - plotting._BOTTOM
    assert rows.max() == pytest.approx(plot_bottom, abs=2)
    plot_top = plotting.TITLE_HEIGHT + plotting._TOP
    assert rows.min() == pytest.approx(plot_bottom - (plot_bottom - plot_top) / 2, abs=2)


def test_heat_map_with_a_trail_and_an_equal_aspect(qapp):
    xs = np.linspace(-3, 3, 61)
    surface = xs[None, :] ** 2 + xs[:, None] ** 2
    trail = Line("ball", [2.5, 1.0, 0.2], [1.5, 0.6, 0.1], color="#d55e00", points=True)
    panel = Panel("bowl", "x", "y", lines=[trail], image=Image(surface, extent=(-3, 3, -3, 3), origin="lower"),
                  equal_aspect=True)
    rgb = pixels(plotting.render(Figure("descent", [panel, Panel("cost", lines=[Line("c", [0, 1, 2], [3, 2, 1])])])))
    assert near(rgb, "#d55e00", 20).sum() > 30
    dark, light = plotting._SEQUENTIAL[0], plotting._SEQUENTIAL[-1]
    assert near(rgb, QColor(*dark.astype(int)).name(), 10).sum() > 20  # the valley floor
    assert near(rgb, QColor(*light.astype(int)).name(), 10).sum() > 20  # the rim


def test_colours_diverge_around_zero_and_lower_origin_flips():
    image = Image(np.array([[-2.0, 0.0, 2.0], [1.0, np.nan, -1.0]]), diverging=True)
    rgb = plotting.colour_array(image)
    assert tuple(rgb[0, 0]) == tuple(plotting._NEGATIVE.astype(np.uint8))  # most negative: red
    assert tuple(rgb[0, 1]) == (255, 255, 255)  # zero: white
    assert tuple(rgb[0, 2]) == tuple(plotting._POSITIVE.astype(np.uint8))  # most positive: blue
    assert tuple(rgb[1, 1]) == (200, 200, 200)  # no value: grey
    assert image.limits() == (-2.0, 2.0)
    lower = plotting.colour_array(Image(np.array([[0.0], [1.0]]), origin="lower"))
    assert tuple(lower[0, 0]) == tuple(plotting._SEQUENTIAL[-1].astype(np.uint8))  # high row drawn on top


def test_weight_grid_layout():
    panels = [Panel(str(d), image=Image(np.zeros((28, 28)), diverging=True), axes=False) for d in range(10)]
    assert Figure("weights", panels).grid() == (3, 4)
    assert Figure("two", panels[:2]).grid() == (1, 2)
    assert Figure("set", panels, columns=5).grid() == (2, 5)


def test_nice_ticks():
    np.testing.assert_allclose(plotting.nice_ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(plotting.nice_ticks(0, 470), [0, 100, 200, 300, 400])
    assert plotting.nice_ticks(2.0, 2.0).tolist() == [2.0]


def test_limits_of_counts_start_at_zero():
    panel = Panel(histograms=[Histogram.of([0.1, 0.2, 0.2], "h", bins=4, range=(0, 1))],
                  vlines=[VLine(0.5)])
    (x0, x1), (y0, y1) = panel.data_limits()
    assert (x0, x1) == (0.0, 1.0) and y0 == 0.0 and y1 == pytest.approx(3 * 1.08)  # three values in the first bin


def test_bad_figure_data_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        Line("l", [1, 2], [1])
    with pytest.raises(ValueError, match="one more edge"):
        Histogram("h", [0, 1], [1, 2])
    with pytest.raises(ValueError, match="2-D"):
        Image(np.zeros(5))
    with pytest.raises(ValueError, match="one label per bar"):
        Bars("b", [0, 1], [1, 1], tick_labels=["a"])


def test_write_to_a_missing_folder_is_one_line(qapp, tmp_path, noise_result):
    with pytest.raises(ImageWriteError) as caught:
        plotting.write_png(noise.figure(noise_result), tmp_path / "no" / "f.png")
    assert "\n" not in str(caught.value) and "f.png" in str(caught.value)
