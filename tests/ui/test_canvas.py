"""The drawing canvas and the 28x28 preview, driven by real (synthetic) input events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QInputDevice,
    QMouseEvent,
    QPointingDevice,
    QTabletEvent,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from digitlab.core.drawing import DIGIT_STROKES, draw_strokes, place_strokes
from digitlab.ui.canvas import LOGICAL_SIZE, DrawingCanvas
from digitlab.ui.preview import DigitPreview

LEFT = Qt.MouseButton.LeftButton
RIGHT = Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def canvas(qtbot):
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(LOGICAL_SIZE, LOGICAL_SIZE)  # widget pixels == logical units
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def stroke(widget, points, button=LEFT):
    """Press at the first point, move through the rest, release at the last."""
    points = [QPoint(int(x), int(y)) for x, y in points]
    QTest.mousePress(widget, button, NO_MOD, points[0])
    for point in points[1:]:
        QTest.mouseMove(widget, point)
    QTest.mouseRelease(widget, button, NO_MOD, points[-1])


def line(x0, y0, x1, y1, steps=12):
    return [(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for i in range(steps + 1)]


def vertical_extent(image, column, threshold=0.5):
    """Rows of ink in one column: the stroke's width for a horizontal line."""
    return int(np.count_nonzero(image[:, column] > threshold))


def test_new_canvas_is_empty(canvas):
    image = canvas.image()
    assert image.shape == (LOGICAL_SIZE, LOGICAL_SIZE)
    assert image.dtype == np.float32
    assert canvas.is_empty()
    assert not canvas.can_undo()
    assert image.max() == 0.0


def test_stroke_puts_ink_under_its_path_and_emits_changed(canvas, qtbot):
    with qtbot.waitSignal(canvas.changed, timeout=2000):
        stroke(canvas, line(60, 140, 220, 140))
    image = canvas.image()
    assert not canvas.is_empty()
    assert canvas.can_undo()
    # Ink along the path, nothing far away from it.
    for x in (60, 100, 140, 180, 220):
        assert image[140, x] == pytest.approx(1.0)
    assert image[60, 140] == 0.0 and image[220, 140] == 0.0
    assert image.min() >= 0.0 and image.max() <= 1.0


def test_single_click_draws_a_dot(canvas):
    stroke(canvas, [(140, 140)])
    image = canvas.image()
    assert image[140, 140] == pytest.approx(1.0)
    assert vertical_extent(image, 140) == pytest.approx(canvas.brush_size(), abs=2)


def test_changed_is_coalesced_during_a_stroke_and_sent_at_its_end(canvas, qtbot):
    emitted, ended = [], []
    canvas.changed.connect(lambda: emitted.append(1))
    canvas.strokeEnded.connect(lambda: ended.append(len(emitted)))
    # Events sent directly (no event loop runs in between, so the frame timer cannot fire).
    position = QPointF(50, 50)
    press = QMouseEvent(QEvent.Type.MouseButtonPress, position, position, LEFT, LEFT, NO_MOD)
    QApplication.sendEvent(canvas, press)
    for i in range(1, 31):
        position = QPointF(50 + 5 * i, 50 + 2 * i)
        move = QMouseEvent(QEvent.Type.MouseMove, position, position, Qt.MouseButton.NoButton, LEFT, NO_MOD)
        QApplication.sendEvent(canvas, move)
    assert emitted == []  # 30 moves, nothing sent yet: one update per frame at most
    assert canvas.stroke_in_progress()  # the window's curves wait for the pen to lift
    qtbot.waitUntil(lambda: len(emitted) == 1, timeout=2000)  # the frame timer fired once
    release = QMouseEvent(QEvent.Type.MouseButtonRelease, position, position, LEFT, Qt.MouseButton.NoButton, NO_MOD)
    QApplication.sendEvent(canvas, release)
    assert len(emitted) == 2  # the stroke's end is always reported, at once
    assert not canvas.stroke_in_progress()
    assert ended == [2]  # once, after the last changed: held redraws may come now


def test_undo_removes_only_the_last_stroke(canvas, qtbot):
    stroke(canvas, line(40, 80, 240, 80))
    stroke(canvas, line(40, 200, 240, 200))
    assert canvas.stroke_count() == 2
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        canvas.undo()
    image = canvas.image()
    assert image[80, 140] == pytest.approx(1.0)  # first stroke kept
    assert image[200, 140] == 0.0  # second stroke gone
    assert canvas.stroke_count() == 1
    canvas.undo()
    assert canvas.is_empty() and not canvas.can_undo()
    canvas.undo()  # nothing left: harmless
    assert canvas.is_empty()


def test_clear_empties_and_delete_clears_but_escape_does_not(canvas, qtbot):
    stroke(canvas, line(40, 80, 240, 80))
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        canvas.clear()
    assert canvas.is_empty() and canvas.can_undo()  # a clear is an edit Undo takes back

    canvas.setFocus()
    stroke(canvas, line(40, 80, 240, 80))
    QTest.keyClick(canvas, Qt.Key.Key_Escape)  # pressed to close popups: the drawing stays
    assert not canvas.is_empty()
    for key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
        stroke(canvas, line(40, 80, 240, 80))
        QTest.keyClick(canvas, key)
        assert canvas.is_empty()


def test_undo_after_clear_brings_the_whole_drawing_back_and_redo_clears_again(canvas, qtbot):
    stroke(canvas, line(40, 80, 240, 80))
    stroke(canvas, line(40, 200, 240, 200))
    drawing = canvas.image()
    canvas.clear()
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        canvas.undo()
    np.testing.assert_array_equal(canvas.image(), drawing)
    assert canvas.stroke_count() == 2 and canvas.can_redo()
    canvas.redo()
    assert canvas.is_empty() and not canvas.can_redo()
    canvas.undo()
    canvas.undo()  # then the strokes one by one
    assert canvas.stroke_count() == 1 and canvas.image()[200, 140] == 0.0
    canvas.redo()
    np.testing.assert_array_equal(canvas.image(), drawing)


def test_a_new_stroke_ends_redo(canvas):
    stroke(canvas, line(40, 80, 240, 80))
    stroke(canvas, line(40, 200, 240, 200))
    canvas.undo()
    assert canvas.can_redo()
    stroke(canvas, line(140, 40, 140, 240))
    assert not canvas.can_redo()
    canvas.redo()  # nothing to redo: harmless
    assert canvas.stroke_count() == 2 and canvas.image()[200, 60] == 0.0


def test_history_is_bounded(canvas):
    from digitlab.ui.canvas_history import MAX_UNDO

    for i in range(MAX_UNDO + 5):
        stroke(canvas, [(20 + i % 240, 140)])
    for _ in range(MAX_UNDO + 5):
        canvas.undo()
    # The oldest edits are forgotten: the first strokes stay.
    assert canvas.stroke_count() == 5 and not canvas.can_undo()


def test_history_changed_tells_when_undo_and_redo_become_possible(canvas, qtbot):
    states = []
    canvas.historyChanged.connect(lambda: states.append((canvas.can_undo(), canvas.can_redo())))
    stroke(canvas, line(40, 80, 240, 80))
    canvas.undo()
    canvas.redo()
    assert states == [(True, False), (False, True), (True, False)]


def test_a_fed_image_shows_on_the_canvas_until_drawing_starts_afresh(canvas, qtbot):
    fed = np.zeros((28, 28), np.float32)
    fed[:, :14] = 1.0  # left half white
    canvas.show_fed_image(fed)
    assert canvas.is_empty()  # not part of the drawing
    np.testing.assert_array_equal(canvas.fed_image(), fed)
    shown = canvas.grab().toImage()
    rect = canvas._content_rect()
    left = shown.pixelColor(int(rect.left() + rect.width() * 0.25), int(rect.center().y()))
    right = shown.pixelColor(int(rect.left() + rect.width() * 0.75), int(rect.center().y()))
    assert left.value() > 200 and right.value() < 50
    stroke(canvas, line(140, 40, 140, 240))  # the first stroke starts a fresh drawing
    assert canvas.fed_image() is None
    image = canvas.image()
    assert image[140, 140] == pytest.approx(1.0) and image[140, 60] == 0.0
    with pytest.raises(ValueError):
        canvas.show_fed_image(np.full((28, 28), np.nan))


def test_right_button_erases(canvas):
    stroke(canvas, line(40, 140, 240, 140))
    stroke(canvas, line(140, 60, 140, 220), button=RIGHT)
    image = canvas.image()
    assert image[140, 140] == 0.0  # erased where the strokes cross
    assert image[140, 60] == pytest.approx(1.0)  # untouched elsewhere
    assert image[140, 220] == pytest.approx(1.0)
    assert canvas.stroke_count() == 2
    canvas.undo()  # undoing the erasure brings the ink back
    assert canvas.image()[140, 140] == pytest.approx(1.0)


def test_eraser_mode_makes_the_left_button_erase(canvas):
    stroke(canvas, line(40, 140, 240, 140))
    canvas.set_eraser(True)
    assert canvas.is_eraser()
    stroke(canvas, line(140, 60, 140, 220))
    assert canvas.image()[140, 140] == 0.0
    canvas.set_eraser(False)
    stroke(canvas, line(140, 60, 140, 220))
    assert canvas.image()[140, 140] == pytest.approx(1.0)


def test_erasing_everything_counts_as_empty(canvas):
    stroke(canvas, [(140, 140)])
    canvas.set_brush_size(60)
    stroke(canvas, [(140, 140)], button=RIGHT)
    assert canvas.is_empty()
    assert canvas.can_undo()


@pytest.mark.parametrize("size", [8.0, 20.0, 36.0])
def test_brush_size_sets_the_stroke_width(canvas, size):
    canvas.set_brush_size(size)
    assert canvas.brush_size() == size
    stroke(canvas, line(40, 140, 240, 140))
    assert vertical_extent(canvas.image(), 140) == pytest.approx(size, abs=2)


def test_brush_size_is_validated_and_clipped(canvas):
    with pytest.raises(ValueError):
        canvas.set_brush_size(0)
    with pytest.raises(ValueError):
        canvas.set_brush_size(float("nan"))
    canvas.set_brush_size(1000)
    assert canvas.brush_size() == 80.0


def test_load_image_shows_under_strokes_and_clear_removes_it(canvas, qtbot):
    picture = np.zeros((28, 28), np.uint8)
    picture[10:18, 4:8] = 255  # a block: rows 100-180, columns 40-80 once scaled x10
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        canvas.load_image(picture)
    assert canvas.has_background() and not canvas.is_empty()
    image = canvas.image()
    assert image[140, 60] == pytest.approx(1.0)
    assert image[140, 200] == 0.0 and image[50, 60] == 0.0

    stroke(canvas, line(150, 40, 250, 40))  # strokes draw over the picture
    image = canvas.image()
    assert image[40, 200] == pytest.approx(1.0) and image[140, 60] == pytest.approx(1.0)
    canvas.undo()  # undo removes the stroke, the picture stays
    assert canvas.image()[140, 60] == pytest.approx(1.0)

    canvas.clear()
    assert not canvas.has_background() and canvas.is_empty()
    canvas.undo()  # the clear is undone: picture and all
    assert canvas.has_background() and canvas.image()[140, 60] == pytest.approx(1.0)


def test_load_image_fits_wide_pictures_keeping_their_aspect(canvas):
    picture = np.ones((10, 40), np.float32)  # 4:1 -> 280 wide, 70 high, centred
    canvas.load_image(picture)
    rows = np.flatnonzero(canvas.image()[:, 140] > 0.5)
    assert rows.min() == pytest.approx(105, abs=1) and rows.max() == pytest.approx(174, abs=1)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4, 3)), np.zeros((0, 5)), np.array([[np.nan, 0.0]]), np.array([["a"]])]
)
def test_load_image_rejects_bad_input(canvas, bad):
    with pytest.raises(ValueError):
        canvas.load_image(bad)


def test_drop_of_a_file_url_emits_its_path(canvas, qtbot, tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"not really a png; the main window reads it")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(canvas, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    with qtbot.waitSignal(canvas.fileDropped, timeout=1000) as blocker:
        QApplication.sendEvent(canvas, drop)
    assert blocker.args == [str(path)]


def test_drag_without_a_file_is_refused(canvas):
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(canvas, enter)
    assert not enter.isAccepted()


@pytest.mark.parametrize("digit", [3, 7])
def test_replayed_digit_matches_the_reference_rasteriser(canvas, digit):
    """Strokes drawn with the mouse give the same picture as core.drawing's rasteriser."""
    strokes = place_strokes(DIGIT_STROKES[digit][0], 42, 42, 196)
    for points in strokes:
        # Events carry whole pixels; the reference gets the same rounded points.
        stroke(canvas, [(round(x), round(y)) for x, y in points])
    reference = draw_strokes([[(round(x), round(y)) for x, y in points] for points in strokes], 280, 20)
    drawn, expected = canvas.image() > 0.5, reference > 0.5
    overlap = np.count_nonzero(drawn & expected) / np.count_nonzero(drawn | expected)
    assert overlap > 0.95, overlap


def test_image_is_independent_of_the_widget_size(qtbot):
    images = []
    for width, height in ((280, 280), (560, 560), (700, 420)):
        widget = DrawingCanvas()
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        scale = side / LOGICAL_SIZE
        stroke(widget, [(left + x * scale, top + y * scale) for x, y in line(60, 60, 220, 200)])
        images.append(widget.image())
        widget.close()
    for other in images[1:]:
        assert other.shape == images[0].shape
        # Same stroke, same logical image (up to the sub-pixel rounding of event positions).
        assert np.mean(np.abs(other - images[0])) < 0.01
        assert np.count_nonzero((other > 0.5) != (images[0] > 0.5)) < 0.03 * np.count_nonzero(images[0] > 0.5)


def test_screen_backing_image_follows_size_and_pixel_ratio(canvas):
    canvas.resize(500, 300)
    canvas.grab()  # paints, making the backing image for the new size
    ratio = canvas.devicePixelRatioF()
    assert canvas._screen.width() == round(300 * ratio)
    assert canvas._screen.devicePixelRatioF() == ratio


def _tablet_event(kind, position, pressure, device, buttons):
    return QTabletEvent(
        kind, device, position, position, pressure, 0.0, 0.0, 0.0, 0.0, 0.0, NO_MOD, LEFT, buttons
    )


def test_tablet_pressure_scales_the_brush(canvas):
    device = QPointingDevice(
        "test pen",
        4242,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    widths = []
    for pressure, y in ((0.0, 80), (1.0, 200)):
        points = [QPointF(40 + 20 * i, y) for i in range(11)]
        QApplication.sendEvent(canvas, _tablet_event(QEvent.Type.TabletPress, points[0], pressure, device, LEFT))
        for point in points[1:]:
            QApplication.sendEvent(canvas, _tablet_event(QEvent.Type.TabletMove, point, pressure, device, LEFT))
        QApplication.sendEvent(
            canvas, _tablet_event(QEvent.Type.TabletRelease, points[-1], pressure, device, Qt.MouseButton.NoButton)
        )
        widths.append(vertical_extent(canvas.image(), 140))
        canvas.clear()
    size = canvas.brush_size()
    assert widths[0] == pytest.approx(0.5 * size, abs=2)  # light touch: half the size
    assert widths[1] == pytest.approx(1.5 * size, abs=2)  # full pressure: one and a half


# ---------------------------------------------------------------- preview
@pytest.fixture
def preview(qtbot):
    widget = DigitPreview()
    qtbot.addWidget(widget)
    widget.resize(200, 240)
    return widget


def test_preview_shows_each_input_value_as_a_square(preview):
    image = np.zeros((28, 28), np.float32)
    image[5, 20] = 1.0
    image[20, 3] = 0.5
    preview.set_image(image)
    np.testing.assert_array_equal(preview.image(), image)
    shot = preview.grab().toImage()
    rect = preview.image_rect()
    cell = rect.width() / 28

    def pixel_at(row, col):
        ratio = shot.devicePixelRatio()
        x = (rect.left() + (col + 0.5) * cell) * ratio
        y = (rect.top() + (row + 0.5) * cell) * ratio
        return shot.pixelColor(int(x), int(y))

    assert pixel_at(5, 20).value() > 240
    assert 110 < pixel_at(20, 3).value() < 145
    assert pixel_at(10, 10).value() < 30


def test_preview_none_shows_the_empty_look(preview):
    preview.set_image(np.ones((28, 28), np.uint8) * 255)
    preview.set_image(None)
    assert preview.image() is None
    preview.grab()  # paints without error


def test_preview_rejects_wrong_shapes(preview):
    with pytest.raises(ValueError):
        preview.set_image(np.zeros((20, 20)))


HIGH_DPI_SCRIPT = """
import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from digitlab.imageio import qimage_to_array
from digitlab.ui.canvas import DrawingCanvas

app = QApplication([])
canvas = DrawingCanvas()
canvas.resize(300, 300)
canvas.show()
QTest.qWaitForWindowExposed(canvas)
assert canvas.devicePixelRatioF() == 2.0, canvas.devicePixelRatioF()
start, end = canvas.to_widget(60, 140).toPoint(), canvas.to_widget(220, 140).toPoint()
QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
for step in range(1, 11):
    QTest.mouseMove(canvas, start + (end - start) * step / 10)
QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
canvas.repaint()
shot = qimage_to_array(canvas.grab().toImage())
shot = shot[..., :3].mean(axis=2) if shot.ndim == 3 else shot
# Along the stroke's row, inside the widget's 1-px frame:
middle = shot[shot.shape[0] // 2]
cols = np.flatnonzero(middle[4:-4] > 128) + 4
# The line spans logical x 60..220 of 280, i.e. 4/7 of the 300-px square,
# plus the round caps; at ratio 2 the grab has twice the pixels.
print(cols.min() / shot.shape[1], cols.max() / shot.shape[1])
"""


def test_strokes_are_drawn_where_the_mouse_is_on_a_high_dpi_screen(tmp_path):
    """At devicePixelRatio 2 the on-screen ink must not be drawn twice too large."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    result = subprocess.run([sys.executable, "-c", HIGH_DPI_SCRIPT], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    left, right = map(float, result.stdout.split())
    cap = 20 / 2 / 280  # half the default brush width, as a fraction of the square
    assert left == pytest.approx(60 / 280 - cap, abs=0.03)
    assert right == pytest.approx(220 / 280 + cap, abs=0.03)
