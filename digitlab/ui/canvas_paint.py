"""Painting the canvas's strokes and loaded picture into an image (in logical 280-unit coordinates)."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

from digitlab.ui.canvas_history import Stroke
from digitlab.ui.gray_images import BACKGROUND, INK

#: Side of the logical drawing square (the canvas's image() has this shape).
LOGICAL_SIZE = 280


def make_painter(image: QImage, scale: float) -> QPainter:
    """A smooth painter on ``image`` whose units are logical canvas units times ``scale``."""
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.scale(scale, scale)
    return painter


def draw_background(painter: QPainter, source: QImage, scale: float) -> None:
    """A loaded picture, fitted into the logical square keeping its aspect ratio, centred."""
    fit = LOGICAL_SIZE / max(source.width(), source.height())
    width, height = source.width() * fit, source.height() * fit
    target = QRectF((LOGICAL_SIZE - width) / 2, (LOGICAL_SIZE - height) / 2, width, height)
    # Pre-scaling with Qt's smooth scaler averages areas when shrinking a
    # large photo, where drawing it scaled would only sample it.
    device_scale = scale * painter.device().devicePixelRatioF()
    pixels = source.scaled(
        max(1, round(width * device_scale)),
        max(1, round(height * device_scale)),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    painter.drawImage(target, pixels)


def draw_dot(painter: QPainter, point: tuple[float, float, float], color: QColor) -> None:
    x, y, width = point
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(color))
    painter.drawEllipse(QPointF(x, y), width / 2, width / 2)


def draw_segment(painter: QPainter, start, end, color: QColor) -> None:
    # Round caps and joins make consecutive segments one smooth line.
    width = (start[2] + end[2]) / 2
    pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawLine(QLineF(start[0], start[1], end[0], end[1]))


def draw_stroke(painter: QPainter, stroke: Stroke) -> None:
    color = BACKGROUND if stroke.erase else INK
    draw_dot(painter, stroke.points[0], color)
    for start, end in zip(stroke.points, stroke.points[1:]):
        draw_segment(painter, start, end, color)
