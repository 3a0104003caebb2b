"""Where the main window's panels go: the Draw panel's widgets, the docks, the first size.

The window is three columns: Draw over Output | Hidden neurons (with the
Lessons as a tab) | Training. On first start it takes :data:`SCREEN_SHARE`
of the screen's available area, centred, and the columns and rows get
shares of it (:data:`COLUMN_SHARES`), so a large screen gets larger panels
instead of blank bands.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

#: Size of the first window when the screen is unknown.
FIRST_SIZE = QSize(1360, 720)
#: Share of the screen's available width and height the first window takes.
SCREEN_SHARE = 0.9
#: Widths of the three columns (draw and output | hidden neurons | training), as shares.
COLUMN_SHARES = (0.31, 0.32, 0.37)
#: The side column beside the canvas (preview, brush, buttons), in pixels.
SIDE_COLUMN_WIDTH = 150


def first_geometry(available: QRect | None) -> QRect:
    """The first window's frame: :data:`SCREEN_SHARE` of ``available``, centred in it.

    On a small screen it is :data:`FIRST_SIZE` rather than less, as far as
    the screen allows (at 1366x768, 90% would crowd the panels for nothing).
    Without a screen (``None``) it is :data:`FIRST_SIZE` at the origin.
    """
    if available is None or available.isEmpty():
        return QRect(0, 0, FIRST_SIZE.width(), FIRST_SIZE.height())
    width = min(available.width(), max(round(available.width() * SCREEN_SHARE), FIRST_SIZE.width()))
    height = min(available.height(), max(round(available.height() * SCREEN_SHARE), FIRST_SIZE.height()))
    left = available.x() + (available.width() - width) // 2
    top = available.y() + (available.height() - height) // 2
    return QRect(left, top, width, height)


def place_first_window(window: QMainWindow) -> None:
    """Size and centre ``window`` on its screen as on first start."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    frame = first_geometry(screen.availableGeometry() if screen is not None else None)
    window.resize(frame.size())
    window.move(frame.topLeft())


def draw_widget(window) -> QWidget:
    """The Draw panel: the canvas, and beside it the preview, brush and buttons."""
    side = QVBoxLayout()
    side.addWidget(window.preview, 1)
    brush_label = QLabel("Brush")
    brush_label.setToolTip(window.brush_slider.toolTip())
    side.addWidget(brush_label)
    side.addWidget(window.brush_slider)
    buttons = QHBoxLayout()
    for button in (window.undo_button, window.redo_button):
        buttons.addWidget(button)
    side.addLayout(buttons)
    side.addWidget(window.clear_button)
    side.addWidget(window.eraser_button)
    side.addStretch(0)
    side_widget = QWidget()
    side_widget.setLayout(side)
    side.setContentsMargins(0, 0, 0, 0)
    # The canvas is what the hand works on: give it the room, the preview a column.
    side_widget.setMaximumWidth(SIDE_COLUMN_WIDTH)
    row = QHBoxLayout()
    row.setContentsMargins(4, 4, 4, 4)
    row.addWidget(window.canvas, 1)
    row.addWidget(side_widget, 0)
    widget = QWidget()
    widget.setLayout(row)
    return widget


def make_dock(window: QMainWindow, title: str, name: str, widget: QWidget, tooltip: str) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)  # saveState/restoreState find docks by name
    dock.setWidget(widget)
    dock.setToolTip(tooltip)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    return dock


def build_docks(window) -> None:
    """Make the window's five docks (``window.draw_dock`` ... ``window.docks``) and arrange them."""
    window.draw_dock = make_dock(window, "Draw", "drawDock", draw_widget(window), "Draw a digit here.")
    window.output_dock = make_dock(
        window, "Output", "outputDock", window.chart, "The output layer: one neuron per digit."
    )
    window.weights_dock = make_dock(
        window, "Hidden neurons", "weightsDock", window.weights_view, "What each neuron responds to."
    )
    window.lessons_dock = make_dock(
        window, "Lessons", "lessonsDock", window.lesson_area, "Experiments with the network; more in the Lessons menu."
    )
    window.training_dock = make_dock(
        window, "Training", "trainingDock", window.training_panel, "Train the network and watch it learn."
    )
    window.docks = (window.draw_dock, window.output_dock, window.weights_dock, window.lessons_dock,
                    window.training_dock)
    arrange_docks(window)


def arrange_docks(window) -> None:
    """Three columns: draw over output | hidden neurons (lessons tabbed) | training."""
    for dock in window.docks:
        dock.setFloating(False)
        dock.show()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.draw_dock)
    window.splitDockWidget(window.draw_dock, window.weights_dock, Qt.Orientation.Horizontal)
    window.splitDockWidget(window.weights_dock, window.training_dock, Qt.Orientation.Horizontal)
    window.splitDockWidget(window.draw_dock, window.output_dock, Qt.Orientation.Vertical)
    window.tabifyDockWidget(window.weights_dock, window.lessons_dock)
    window.weights_dock.raise_()
    size_docks(window)


def size_docks(window) -> None:
    """Share the window's width among the columns and the first column's height between Draw and Output.

    The Draw panel gets the height that makes the canvas about square (a
    taller panel only adds blank bands above and below it); Output the rest.
    """
    width, height = window.width(), window.height()
    columns = [round(width * share) for share in COLUMN_SHARES]
    window.resizeDocks([window.draw_dock, window.weights_dock, window.training_dock], columns,
                       Qt.Orientation.Horizontal)
    canvas_side = columns[0] - SIDE_COLUMN_WIDTH - 16
    title = window.draw_dock.fontMetrics().height() + 8
    draw_height = min(canvas_side + title, round(height * 0.62))
    window.resizeDocks([window.draw_dock, window.output_dock], [draw_height, height - draw_height],
                       Qt.Orientation.Vertical)


def square_canvas(window) -> None:
    """Once the window is laid out: give the Draw panel the height that makes the canvas square.

    :func:`size_docks` can only estimate it before the panels have their
    real sizes; a canvas wider than tall would show blank bands beside it.
    """
    draw, output = window.draw_dock, window.output_dock
    if draw.isFloating() or output.isFloating() or not (draw.isVisible() and output.isVisible()):
        return
    extra = window.canvas.width() - window.canvas.height()
    total = draw.height() + output.height()
    wanted = min(draw.height() + extra, round(total * 0.62))
    if abs(wanted - draw.height()) > 2:
        window.resizeDocks([draw, output], [wanted, total - wanted], Qt.Orientation.Vertical)
