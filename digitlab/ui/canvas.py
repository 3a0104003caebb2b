"""The drawing canvas, and the small preview of what the network receives.

The canvas keeps every stroke as a list of points in *logical* coordinates (a
280x280 square, ten times MNIST's 28 pixels) and paints each new segment twice:
into a 280x280 image that :meth:`DrawingCanvas.image` hands out (so the result
does not depend on the window size or the screen's pixel density) and into an
on-screen image of the widget's size times its device pixel ratio (so strokes
stay sharp on high-DPI screens). Undo and resizing repaint both from the
stroke list.

Undo, Redo and Clear work on whole edits (:mod:`digitlab.ui.canvas_history`):
Clear can be undone. An image fed past the canvas (noise, a dream) is shown
on it as what the network sees; the first stroke starts a fresh drawing.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QImage, QInputDevice, QPainter, QPalette, QPen, QPointingDevice
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitlab.ui.canvas_history import DrawingHistory, DrawingState, Stroke
from digitlab.ui.canvas_paint import LOGICAL_SIZE, draw_background, draw_dot, draw_segment, draw_stroke, make_painter
from digitlab.ui.gray_images import BACKGROUND, INK, as_unit_gray, gray_to_qimage, qimage_to_gray

DEFAULT_BRUSH_SIZE = 20.0
MIN_BRUSH_SIZE = 1.0
MAX_BRUSH_SIZE = 80.0
#: One frame at 60 Hz: during a stroke ``changed`` fires at most this often.
FRAME_MS = 16

# Short private names for the shared helpers.
_INK, _BACKGROUND = INK, BACKGROUND
_gray_to_qimage, _qimage_to_gray, _as_unit_gray = gray_to_qimage, qimage_to_gray, as_unit_gray

__all__ = ["DEFAULT_BRUSH_SIZE", "LOGICAL_SIZE", "DrawingCanvas", "Stroke"]


class DrawingCanvas(QWidget):
    """A square surface to draw a digit on: white ink on black, like MNIST.

    Left button (or a pen) draws, right button (or a pen's eraser end, or
    eraser mode) erases. Every edit is recorded: :meth:`undo` takes back the
    last stroke, clear or loaded picture, :meth:`redo` puts it back. A tablet's pressure scales the brush between half and one and a
    half times its size (normal pressure gives the set size).

    Signals
    -------
    changed()
        The drawing changed; during a stroke at most once per frame (16 ms),
        and always once when the stroke ends.
    fileDropped(str)
        A local file was dropped on the canvas (its path).
    historyChanged()
        What :meth:`can_undo` or :meth:`can_redo` say may have changed.
    strokeEnded()
        The pen lifted: a stroke is over (after its ``changed``). Work held
        back while it was drawn may run now.
    """

    changed = Signal()
    fileDropped = Signal(str)
    historyChanged = Signal()
    strokeEnded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._background: QImage | None = None
        self._history = DrawingHistory()
        self._fed: QImage | None = None  # an image fed past the canvas, shown until drawing starts
        self._brush_size = DEFAULT_BRUSH_SIZE
        self._eraser = False
        self._hover: QPointF | None = None
        self._logical = QImage(LOGICAL_SIZE, LOGICAL_SIZE, QImage.Format.Format_Grayscale8)
        self._screen = QImage()
        self._render_all(self._logical, 1.0)

        self._changed_timer = QTimer(self)
        self._changed_timer.setSingleShot(True)
        self._changed_timer.setInterval(FRAME_MS)
        self._changed_timer.timeout.connect(self._emit_changed)

        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # for the brush outline that follows the pointer
        self.setAcceptDrops(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(
            "Draw a digit with the mouse or a pen.\n"
            "Right button erases, Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes, Delete clears.\n"
            "Drop an image file here to load it."
        )

    # ------------------------------------------------------------ public API
    def image(self) -> np.ndarray:
        """The drawing as float32 ``(280, 280)`` in [0, 1], ink = 1, background = 0."""
        return _qimage_to_gray(self._logical)

    def is_empty(self) -> bool:
        """True when no ink is on the canvas (nothing drawn, or everything erased)."""
        rows = np.frombuffer(self._logical.constBits(), dtype=np.uint8)
        return not rows.any()

    def can_undo(self) -> bool:
        """True when there is an edit (stroke, clear, picture) that :meth:`undo` would take back."""
        return self._current is not None or self._history.can_undo()

    def can_redo(self) -> bool:
        """True when :meth:`redo` would put an undone edit back."""
        return self._history.can_redo()

    def stroke_count(self) -> int:
        """Number of recorded strokes (erasing strokes included)."""
        return len(self._strokes)

    def brush_size(self) -> float:
        """Brush diameter in logical (280-pixel) units."""
        return self._brush_size

    def set_brush_size(self, px: float) -> None:
        """Set the brush diameter in logical units, clipped to [1, 80]; default 20."""
        px = float(px)
        if not math.isfinite(px) or px <= 0:
            raise ValueError(f"brush size must be a positive number, got {px}")
        self._brush_size = min(max(px, MIN_BRUSH_SIZE), MAX_BRUSH_SIZE)
        self.update()

    def is_eraser(self) -> bool:
        """True when the left button erases instead of drawing."""
        return self._eraser

    def set_eraser(self, enabled: bool) -> None:
        """Make the left button (and a pen tip) erase instead of draw."""
        self._eraser = bool(enabled)
        self.update()

    def has_background(self) -> bool:
        """True while a loaded picture lies under the strokes."""
        return self._background is not None

    def load_image(self, gray: np.ndarray) -> None:
        """Show a picture (2-D, ink = 1 on 0; float in [0, 1] or uint8) to draw over.

        It is fitted into the square keeping its aspect ratio and centred.
        Earlier strokes are dropped (a new picture starts a new drawing);
        :meth:`clear` removes the picture too.
        """
        background = _gray_to_qimage(_as_unit_gray(gray, "the loaded image"))
        self._current = None
        self._history.record(self._state())
        self._set_state(DrawingState((), background))

    @Slot()
    def undo(self) -> None:
        """Take back the last edit: a stroke, a clear (the whole drawing returns) or a loaded picture."""
        if self._current is not None:
            self._current = None  # a stroke in progress is what the user undoes
            self._redraw()
            self._emit_changed()
            self.historyChanged.emit()
            return
        state = self._history.undo(self._state())
        if state is not None:
            self._set_state(state)

    @Slot()
    def redo(self) -> None:
        """Put back the edit :meth:`undo` took back last."""
        state = self._history.redo(self._state())
        if state is not None:
            self._set_state(state)

    @Slot()
    def clear(self) -> None:
        """Remove every stroke and any loaded picture (and a fed image); :meth:`undo` brings them back."""
        self.show_fed_image(None)
        if not self._strokes and self._background is None and self._current is None:
            return
        self._current = None
        self._history.record(self._state())
        self._set_state(DrawingState())

    def fed_image(self) -> np.ndarray | None:
        """The image fed past the canvas that it shows (float32 28x28), or None."""
        return None if self._fed is None else _qimage_to_gray(self._fed)

    def show_fed_image(self, img28: np.ndarray | None) -> None:
        """Show an image the network was fed from elsewhere (noise, a dream), or None to stop.

        It is not part of the drawing (:meth:`image` and :meth:`is_empty`
        ignore it): the first stroke over it starts a fresh drawing.
        """
        fed = None if img28 is None else _gray_to_qimage(_as_unit_gray(img28, "the fed image"))
        if fed is None and self._fed is None:
            return
        self._fed = fed
        self.update()

    def _state(self) -> DrawingState:
        return DrawingState(tuple(self._strokes), self._background)

    def _set_state(self, state: DrawingState) -> None:
        self._strokes = list(state.strokes)
        self._background = state.background
        self._redraw()
        self._emit_changed()
        self.historyChanged.emit()

    # -------------------------------------------------------------- geometry
    def sizeHint(self):  # noqa: N802 (Qt API)
        return QSize(320, 320)

    def _content_rect(self) -> QRectF:
        """The centred square (widget coordinates) that shows the logical 280x280."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_widget(self, x: float, y: float) -> QPointF:
        """Widget position of logical canvas point (x, y), 0..280 (for scripted strokes)."""
        rect = self._content_rect()
        scale = rect.width() / LOGICAL_SIZE
        return QPointF(rect.x() + x * scale, rect.y() + y * scale)

    def _to_logical(self, pos: QPointF) -> QPointF:
        rect = self._content_rect()
        scale = LOGICAL_SIZE / max(rect.width(), 1.0)
        return QPointF((pos.x() - rect.x()) * scale, (pos.y() - rect.y()) * scale)

    def _screen_scale(self) -> float:
        """Painter scale for the on-screen image: its device-independent pixels per logical unit.

        The image carries the screen's devicePixelRatio, so a QPainter on it
        already works in device-independent pixels and maps them onto the
        ratio-times-larger pixel grid itself (crisp on high-DPI screens).
        """
        if self._screen.isNull():
            return 1.0
        return self._screen.width() / self._screen.devicePixelRatioF() / LOGICAL_SIZE

    def _ensure_screen_image(self) -> None:
        """(Re)make the on-screen image when the widget's size or pixel ratio changed."""
        ratio = self.devicePixelRatioF()
        side = max(1, round(min(self.width(), self.height()) * ratio))
        if (
            not self._screen.isNull()
            and self._screen.width() == side
            and self._screen.devicePixelRatioF() == ratio
        ):
            return
        self._screen = QImage(side, side, QImage.Format.Format_Grayscale8)
        self._screen.setDevicePixelRatio(ratio)
        self._render_all(self._screen, self._screen_scale())

    # ------------------------------------------------------------- rendering
    def _render_all(self, image: QImage, scale: float) -> None:
        """Repaint an image from scratch: background picture, then every stroke."""
        image.fill(_BACKGROUND)
        painter = make_painter(image, scale)
        try:
            if self._background is not None:
                draw_background(painter, self._background, scale)
            for stroke in self._strokes:
                draw_stroke(painter, stroke)
            if self._current is not None:
                draw_stroke(painter, self._current)
        finally:
            painter.end()

    def _paint_last_piece(self, stroke: Stroke) -> None:
        """Paint only the newest point or segment of a stroke into both images."""
        self._ensure_screen_image()
        color = _BACKGROUND if stroke.erase else _INK
        for image, scale in ((self._logical, 1.0), (self._screen, self._screen_scale())):
            painter = make_painter(image, scale)
            try:
                if len(stroke.points) == 1:
                    draw_dot(painter, stroke.points[0], color)
                else:
                    draw_segment(painter, stroke.points[-2], stroke.points[-1], color)
            finally:
                painter.end()

    def _redraw(self) -> None:
        self._render_all(self._logical, 1.0)
        if not self._screen.isNull():
            self._render_all(self._screen, self._screen_scale())
        self.update()

    # --------------------------------------------------------------- strokes
    def stroke_in_progress(self) -> bool:
        """True from the press that starts a stroke until its release."""
        return self._current is not None

    def _begin_stroke(self, pos: QPointF, erase: bool, width: float) -> None:
        if self._current is not None:
            self._end_stroke()
        self.show_fed_image(None)  # drawing over a fed image starts a fresh drawing
        self._current = Stroke(erase=erase)
        self._add_point(pos, width)

    def _add_point(self, pos: QPointF, width: float) -> None:
        point = self._to_logical(pos)
        if self._current.points:
            last = self._current.points[-1]
            # Sub-pixel moves add nothing visible but grow the stroke list.
            if abs(point.x() - last[0]) < 0.25 and abs(point.y() - last[1]) < 0.25:
                return
        self._current.points.append((point.x(), point.y(), width))
        self._paint_last_piece(self._current)
        self.update()
        if not self._changed_timer.isActive():
            self._changed_timer.start()

    def _end_stroke(self) -> None:
        if self._current is None:
            return
        self._history.record(self._state())
        self._strokes.append(self._current)
        self._current = None
        self._emit_changed()
        self.historyChanged.emit()
        self.strokeEnded.emit()

    @Slot()
    def _emit_changed(self) -> None:
        self._changed_timer.stop()
        self.changed.emit()

    # ---------------------------------------------------------- mouse & pen
    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        button = event.button()
        if button == Qt.MouseButton.LeftButton:
            self._begin_stroke(event.position(), self._eraser, self._brush_size)
        elif button == Qt.MouseButton.RightButton:
            self._begin_stroke(event.position(), True, self._brush_size)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._set_hover(event.position())
        if self._current is not None and event.buttons() & (
            Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton
        ):
            self._add_point(event.position(), self._brush_size)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            if self._current is not None:
                self._add_point(event.position(), self._brush_size)
            self._end_stroke()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event) -> None:  # noqa: N802 (Qt API)
        width = self._pressure_width(event)
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            erase = self._eraser or event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin_stroke(event.position(), erase, width)
        elif kind == QEvent.Type.TabletMove:
            self._set_hover(event.position())
            if self._current is not None:
                self._add_point(event.position(), width)
        elif kind == QEvent.Type.TabletRelease:
            self._end_stroke()
        # Accepting stops Qt from also sending synthesized mouse events.
        event.accept()

    def _pressure_width(self, event) -> float:
        """Brush width for a tablet event: 0.5x to 1.5x the size, if the pen senses pressure."""
        device = event.pointingDevice()
        if device is None or not (device.capabilities() & QInputDevice.Capability.Pressure):
            return self._brush_size
        pressure = min(max(event.pressure(), 0.0), 1.0)
        return self._brush_size * (0.5 + pressure)

    def _set_hover(self, pos: QPointF | None) -> None:
        self._hover = pos
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._set_hover(None)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        # Not Esc: it is pressed to close popups, and must not wipe a drawing.
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
            event.accept()
        else:
            super().keyPressEvent(event)

    # ---------------------------------------------------------- drag & drop
    @staticmethod
    def _dropped_path(event) -> str | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._dropped_path(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        path = self._dropped_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.fileDropped.emit(path)

    # --------------------------------------------------------------- painting
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._ensure_screen_image()
            self.update()
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._ensure_screen_image()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._ensure_screen_image()
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        rect = self._content_rect()
        painter.drawImage(rect, self._screen)
        if self._fed is not None and self._current is None:
            # Unsmoothed: each of the 28x28 values the network sees stays one square.
            painter.drawImage(rect, self._fed)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.is_empty() and self._current is None and self._fed is None:
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "draw a digit here")
        if self._hover is not None and rect.contains(self._hover):
            diameter = self._brush_size * rect.width() / LOGICAL_SIZE
            outline = QColor(255, 120, 120) if self._eraser else QColor(150, 150, 150)
            painter.setPen(QPen(outline, 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._hover, diameter / 2, diameter / 2)
        frame = QColor(self.palette().color(QPalette.ColorRole.Mid))
        if self.hasFocus():
            frame = self.palette().color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(frame, 1))
        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()
