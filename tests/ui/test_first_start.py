"""The first start: the window sized to the screen, panels in proportion, nothing clipped, no blank bands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect

from digitlab.ui import window_layout
from digitlab.ui.output_headline import EMPTY_TEXT


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (QRect(0, 0, 1920, 1080), QRect(96, 54, 1728, 972)),  # 90%, centred
        (QRect(0, 0, 2560, 1400), QRect(128, 70, 2304, 1260)),
        (QRect(0, 0, 1366, 728), QRect(3, 4, 1360, 720)),  # small screens keep the usable size...
        (QRect(0, 0, 1024, 600), QRect(0, 0, 1024, 600)),  # ... as far as the screen allows
        (QRect(1920, 30, 1600, 870), QRect(1920 + 80, 30 + 43, 1440, 783)),  # a second screen, a top panel
    ],
)
def test_first_geometry_is_nine_tenths_of_the_screen_centred(available, expected):
    assert window_layout.first_geometry(available) == expected


def test_first_geometry_without_a_screen_is_the_fixed_size():
    frame = window_layout.first_geometry(None)
    assert frame.size() == window_layout.FIRST_SIZE


def test_the_first_window_fits_its_screen_centred(qtbot, tmp_path, monkeypatch):
    from digitlab.ui.main_window import MainWindow

    monkeypatch.setenv("DIGITLAB_SETTINGS_PATH", str(tmp_path / "settings.ini"))
    window = MainWindow()
    qtbot.addWidget(window)
    try:
        available = window.screen().availableGeometry()
        assert window.geometry() == window_layout.first_geometry(available)
    finally:
        window.ask_save_changes = lambda: "discard"
        window.close()


def _visible_in_window(window, widget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


@pytest.mark.parametrize("size", [(1366, 740), (1920, 1050)])
def test_draw_a_digit_is_whole_and_the_canvas_square_at_common_sizes(qtbot, open_window, size):
    window = open_window()
    window.resize(*size)
    window.reset_layout()  # the first-start arrangement, for this size
    qtbot.waitUntil(lambda: abs(window.canvas.width() - window.canvas.height()) <= 4, timeout=2000)
    label = window.chart._headline.digit_label
    assert label.text() == EMPTY_TEXT
    assert label.width() >= label.fontMetrics().horizontalAdvance(EMPTY_TEXT)
    assert window.rect().contains(_visible_in_window(window, label))
    assert _visible_in_window(window, window.output_dock).contains(_visible_in_window(window, label))
    # The columns share the width in proportion: a large screen gets larger panels.
    width = window.width()
    for dock, share in zip((window.draw_dock, window.weights_dock, window.training_dock),
                           window_layout.COLUMN_SHARES):
        assert dock.width() == pytest.approx(width * share, abs=0.06 * width), dock.objectName()
