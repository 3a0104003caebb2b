"""Draw a lesson's :class:`~digitlab.core.lessons.figure.Figure` to a PNG, with Qt alone.

``digitlab lesson NAME --plot F.png`` ends here. QPainter on a QImage does
the drawing, so no plotting library is needed and no window opens. Text
needs fonts, and Qt loads fonts only once a QGuiApplication exists:
:func:`ensure_gui_application` makes one when there is none, on the
"offscreen" platform when no display is available (a server, CI, ssh).
Sizes are in pixels and fonts have pixel sizes, so the picture does not
depend on the screen's DPI.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QGuiApplication, QImage, QPainter, QPainterPath, QPen

from digitlab.core.fileio import plain_reason, write_bytes_atomically
from digitlab.core.lessons.figure import PALETTE, Figure, Image, Panel
from digitlab.imageio import ImageWriteError

PANEL_WIDTH = 520
PANEL_HEIGHT = 360
TITLE_HEIGHT = 44
FONT_PIXELS = 13
# Room around a panel's plot area for its title, tick labels and axis labels.
_LEFT, _RIGHT, _TOP, _BOTTOM = 66, 18, 30, 48
# Viridis at five stops: dark is low, perceptually even, readable in grey.
_SEQUENTIAL = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)
# Diverging for weights (the project's rule): red negative, white 0, blue positive.
_NEGATIVE, _POSITIVE = np.array([178, 24, 43], float), np.array([33, 102, 172], float)

_application = None  # kept alive: Qt needs the one QGuiApplication for the whole process


def ensure_gui_application():
    """The running QGuiApplication, or a new one (offscreen when there is no display)."""
    global _application
    existing = QGuiApplication.instance()
    if existing is not None:
        return existing
    if "QT_QPA_PLATFORM" not in os.environ and not _has_display():
        # Without a display Qt would abort the process (exit 134) instead of failing.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    _application = QGuiApplication([sys.argv[0] if sys.argv else "digitlab"])
    return _application


def _has_display() -> bool:
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # Windows and macOS always have their window system


def figure_size(figure: Figure) -> tuple[int, int]:
    """The figure's size in pixels: its own, or from the panel grid and the notes."""
    rows, columns = figure.grid()
    width = figure.width or columns * PANEL_WIDTH
    height = figure.height or TITLE_HEIGHT + rows * PANEL_HEIGHT + _notes_height(figure.notes, width)
    return int(width), int(height)


def render(figure: Figure) -> QImage:
    """The figure drawn on a white QImage of :func:`figure_size`."""
    ensure_gui_application()
    width, height = figure_size(figure)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        _draw_figure(painter, figure, width, height)
    finally:
        painter.end()
    return image


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG file content."""
    encoded = QByteArray()
    buffer = QBuffer(encoded)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    saved = render(figure).save(buffer, "PNG")
    buffer.close()
    if not saved:
        raise ImageWriteError("Qt could not encode the figure as PNG")
    return bytes(encoded.data())


def write_png(figure: Figure, path: str | os.PathLike) -> None:
    """Draw ``figure`` and save it at ``path`` as a PNG, atomically.

    Raises
    ------
    ImageWriteError
        One line naming the file, if it cannot be written.
    """
    path = Path(path)
    data = png_bytes(figure)
    try:
        write_bytes_atomically(path, data)
    except OSError as err:
        raise ImageWriteError(f"{path}: cannot write ({plain_reason(err)})") from None


# ----------------------------------------------------------------- layout


def _font(pixels: int = FONT_PIXELS, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


def _notes_height(notes, width: float) -> float:
    if not notes:
        return 0.0
    ensure_gui_application()
    metrics = QFontMetricsF(_font())
    total = 8.0
    for note in notes:
        box = metrics.boundingRect(QRectF(0, 0, width - 24, 10_000), _WRAP, note)
        total += box.height() + 4
    return total


_WRAP = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) | int(Qt.TextFlag.TextWordWrap)


def _draw_notes(painter: QPainter, notes, left: float, top: float, width: float) -> float:
    painter.setFont(_font())
    painter.setPen(QColor("#333333"))
    metrics = QFontMetricsF(painter.font())
    y = top + 4
    for note in notes:
        box = metrics.boundingRect(QRectF(left, y, width, 10_000), _WRAP, note)
        painter.drawText(QRectF(left, y, width, box.height() + 2), _WRAP, note)
        y += box.height() + 4
    return y - top


def _draw_figure(painter: QPainter, figure: Figure, width: int, height: int) -> None:
    painter.setPen(QColor("#111111"))
    painter.setFont(_font(17, bold=True))
    painter.drawText(QRectF(12, 0, width - 24, TITLE_HEIGHT), int(Qt.AlignmentFlag.AlignVCenter), figure.title)
    notes_height = _notes_height(figure.notes, width)
    rows, columns = figure.grid()
    cell_w = width / columns
    cell_h = (height - TITLE_HEIGHT - notes_height) / max(1, rows)
    for k, panel in enumerate(figure.panels):
        row, column = divmod(k, columns)
        _draw_panel(painter, panel, QRectF(column * cell_w, TITLE_HEIGHT + row * cell_h, cell_w, cell_h))
    if figure.notes:
        _draw_notes(painter, figure.notes, 12, height - notes_height, width - 24)


class _Axes:
    """Maps data coordinates into a plot rectangle (y grows upwards)."""

    def __init__(self, rect: QRectF, xlim, ylim) -> None:
        self.rect, (self.x0, self.x1), (self.y0, self.y1) = rect, xlim, ylim

    def x(self, value: float) -> float:
        return self.rect.left() + (value - self.x0) / (self.x1 - self.x0) * self.rect.width()

    def y(self, value: float) -> float:
        return self.rect.bottom() - (value - self.y0) / (self.y1 - self.y0) * self.rect.height()

    def point(self, x: float, y: float) -> QPointF:
        return QPointF(self.x(x), self.y(y))


def _draw_panel(painter: QPainter, panel: Panel, cell: QRectF) -> None:
    painter.save()
    painter.setPen(QColor("#111111"))
    painter.setFont(_font(14, bold=True))
    painter.drawText(QRectF(cell.left() + 8, cell.top(), cell.width() - 16, _TOP - 4),
                     int(Qt.AlignmentFlag.AlignCenter), panel.title)
    notes_height = _notes_height(panel.notes, cell.width()) if panel.notes else 0.0
    if panel.axes:
        plot = QRectF(cell.left() + _LEFT, cell.top() + _TOP, cell.width() - _LEFT - _RIGHT,
                      cell.height() - _TOP - _BOTTOM - notes_height)
    else:
        plot = QRectF(cell.left() + 8, cell.top() + _TOP, cell.width() - 16, cell.height() - _TOP - 8 - notes_height)
    xlim, ylim = panel.data_limits()
    if panel.equal_aspect or not panel.axes:
        plot = _keep_aspect(plot, (xlim[1] - xlim[0]) / (ylim[1] - ylim[0]))
    if plot.width() > 4 and plot.height() > 4:
        axes = _Axes(plot, xlim, ylim)
        if panel.axes:
            _draw_grid(painter, axes, panel)
        painter.setClipRect(plot)
        _draw_contents(painter, axes, panel)
        painter.setClipping(False)
        if panel.axes:
            painter.setPen(QPen(QColor("#333333"), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(plot)
            _draw_axis_labels(painter, plot, cell, panel)
        if panel.legend:
            _draw_legend(painter, plot, panel)
    if panel.notes:
        _draw_notes(painter, panel.notes, cell.left() + 12, cell.bottom() - notes_height, cell.width() - 24)
    painter.restore()


def _keep_aspect(plot: QRectF, data_ratio: float) -> QRectF:
    """The largest rectangle in ``plot`` with width/height = ``data_ratio``, centred."""
    if plot.height() <= 0 or data_ratio <= 0:
        return plot
    if plot.width() / plot.height() > data_ratio:
        width = plot.height() * data_ratio
        return QRectF(plot.center().x() - width / 2, plot.top(), width, plot.height())
    height = plot.width() / data_ratio
    return QRectF(plot.left(), plot.center().y() - height / 2, plot.width(), height)


def nice_ticks(low: float, high: float, count: int = 6) -> np.ndarray:
    """Round tick positions (1, 2 or 5 times a power of ten) covering [low, high]."""
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return np.array([low])
    raw = span / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return np.round(ticks / step) * step


def _tick_text(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    return f"{value:.6g}"


def _draw_grid(painter: QPainter, axes: _Axes, panel: Panel) -> None:
    painter.setFont(_font(12))
    metrics = QFontMetricsF(painter.font())
    grid_pen, text_pen = QPen(QColor("#e6e6e6"), 1), QPen(QColor("#333333"))
    labelled = [b for b in panel.bars if b.tick_labels is not None]
    if labelled:
        xticks = [(float(x), text) for b in labelled for x, text in zip(b.x, b.tick_labels)]
    else:
        xticks = [(float(t), _tick_text(t)) for t in nice_ticks(axes.x0, axes.x1)]
    for value, text in xticks:
        x = axes.x(value)
        painter.setPen(grid_pen)
        painter.drawLine(QPointF(x, axes.rect.top()), QPointF(x, axes.rect.bottom()))
        painter.setPen(text_pen)
        width = metrics.horizontalAdvance(text)
        painter.drawText(QPointF(x - width / 2, axes.rect.bottom() + metrics.ascent() + 4), text)
    for value in nice_ticks(axes.y0, axes.y1):
        y = axes.y(value)
        painter.setPen(grid_pen)
        painter.drawLine(QPointF(axes.rect.left(), y), QPointF(axes.rect.right(), y))
        painter.setPen(text_pen)
        text = _tick_text(value)
        width = metrics.horizontalAdvance(text)
        painter.drawText(QPointF(axes.rect.left() - width - 6, y + metrics.ascent() / 2 - 1), text)


def _draw_axis_labels(painter: QPainter, plot: QRectF, cell: QRectF, panel: Panel) -> None:
    painter.setPen(QColor("#111111"))
    painter.setFont(_font())
    if panel.xlabel:
        painter.drawText(QRectF(plot.left(), plot.bottom() + 20, plot.width(), 22),
                         int(Qt.AlignmentFlag.AlignCenter), panel.xlabel)
    if panel.ylabel:
        painter.save()
        painter.translate(max(cell.left() + 14, plot.left() - 52), plot.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-plot.height() / 2, -10, plot.height(), 20),
                         int(Qt.AlignmentFlag.AlignCenter), panel.ylabel)
        painter.restore()


class _Colours:
    """Gives each item its own colour, or the next one of the palette."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, colour: str | None) -> QColor:
        if colour is not None:
            return QColor(colour)
        chosen = PALETTE[self._next % len(PALETTE)]
        self._next += 1
        return QColor(chosen)


def _assign_colours(panel: Panel) -> dict[int, QColor]:
    colours, chosen = _Colours(), {}
    for item in [*panel.histograms, *panel.bars, *panel.lines]:
        chosen[id(item)] = colours(item.color)
    return chosen


def _draw_contents(painter: QPainter, axes: _Axes, panel: Panel) -> None:
    colours = _assign_colours(panel)
    if panel.image is not None:
        _draw_image(painter, axes, panel.image)
    for histogram in panel.histograms:
        colour = colours[id(histogram)]
        path = QPainterPath(axes.point(histogram.edges[0], 0))
        for left, right, count in zip(histogram.edges[:-1], histogram.edges[1:], histogram.counts):
            path.lineTo(axes.point(left, count))
            path.lineTo(axes.point(right, count))
        path.lineTo(axes.point(histogram.edges[-1], 0))
        fill = QColor(colour)
        fill.setAlpha(70)
        painter.fillPath(path, QBrush(fill))
        painter.strokePath(path, QPen(colour, 2))
    for bars in panel.bars:
        colour = colours[id(bars)]
        painter.setPen(QPen(colour.darker(130), 1))
        painter.setBrush(QBrush(colour))
        for x, h in zip(bars.x, bars.heights):
            top, bottom = axes.y(max(h, 0.0)), axes.y(min(h, 0.0))
            painter.drawRect(QRectF(axes.x(x - bars.width / 2), top, axes.x(x + bars.width / 2) - axes.x(x - bars.width / 2),
                                    bottom - top))
    for line in panel.lines:
        _draw_line(painter, axes, line, colours[id(line)])
    painter.setFont(_font(12))
    for marker in panel.vlines:
        pen = QPen(QColor(marker.color), 1.5)
        if marker.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        x = axes.x(marker.x)
        painter.drawLine(QPointF(x, axes.rect.top()), QPointF(x, axes.rect.bottom()))
        if marker.label:
            painter.drawText(QPointF(x + 4, axes.rect.top() + 14), marker.label)


def _draw_line(painter: QPainter, axes: _Axes, line, colour: QColor) -> None:
    pen = QPen(colour, line.width)
    if line.dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    path, drawing = QPainterPath(), False
    finite = np.isfinite(line.x) & np.isfinite(line.y)
    for x, y, ok in zip(line.x, line.y, finite):
        if not ok:
            drawing = False  # a gap: the next finite point starts a new stroke
        elif drawing:
            path.lineTo(axes.point(x, y))
        else:
            path.moveTo(axes.point(x, y))
            drawing = True
    painter.strokePath(path, pen)
    if line.points:
        painter.setPen(QPen(colour.darker(150), 1))
        painter.setBrush(QBrush(colour))
        radius = max(2.0, line.width + 0.5)
        for x, y in zip(line.x[finite], line.y[finite]):
            painter.drawEllipse(axes.point(x, y), radius, radius)


def colour_array(image: Image) -> np.ndarray:
    """The image's data as uint8 RGB ``(rows, columns, 3)``, row 0 at the top."""
    low, high = image.limits()
    data = image.data if image.origin == "upper" else image.data[::-1]
    missing = ~np.isfinite(data)
    data = np.where(missing, low, data)
    if image.diverging:
        bound = max(abs(low), abs(high))
        t = np.clip(data / bound, -1.0, 1.0)[..., None]
        white = np.full(3, 255.0)
        rgb = np.where(t >= 0, white + t * (_POSITIVE - white), white - t * (_NEGATIVE - white))
    else:
        t = np.clip((data - low) / (high - low), 0.0, 1.0) * (len(_SEQUENTIAL) - 1)
        index = np.minimum(t.astype(int), len(_SEQUENTIAL) - 2)
        frac = (t - index)[..., None]
        rgb = _SEQUENTIAL[index] * (1 - frac) + _SEQUENTIAL[index + 1] * frac
    rgb[missing] = 200.0  # grey where there is no value
    return np.ascontiguousarray(np.rint(rgb).astype(np.uint8))


def _draw_image(painter: QPainter, axes: _Axes, image: Image) -> None:
    rgb = colour_array(image)
    rows, columns = rgb.shape[:2]
    qimage = QImage(rgb.data, columns, rows, 3 * columns, QImage.Format.Format_RGB888).copy()
    x0, x1, y0, y1 = image.extent
    target = QRectF(QPointF(axes.x(x0), axes.y(y1)), QPointF(axes.x(x1), axes.y(y0)))
    # Small pictures (weights, 28x28) keep their pixels sharp; large ones are smoothed.
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, min(rows, columns) >= 64)
    painter.drawImage(target, qimage)


def _upper_left_is_emptier(panel: Panel) -> bool:
    """Whether less is drawn in the top-left than in the top-right of the plot (for the legend)."""
    (x0, x1), (y0, y1) = panel.data_limits()
    middle, high = (x0 + x1) / 2, y0 + 0.6 * (y1 - y0)
    xs = [np.asarray(line.x) for line in panel.lines] + [np.asarray(h.edges[:-1]) for h in panel.histograms]
    ys = [np.asarray(line.y) for line in panel.lines] + [np.asarray(h.counts) for h in panel.histograms]
    left = right = 0
    for x, y in zip(xs, ys):
        tall = y > high
        left += int(np.sum(tall & (x < middle)))
        right += int(np.sum(tall & (x >= middle)))
    return left < right


def _draw_legend(painter: QPainter, plot: QRectF, panel: Panel) -> None:
    colours = _assign_colours(panel)
    entries = [(item.label, colours[id(item)], "dashed" if getattr(item, "dashed", False) else kind)
               for kind, items in (("fill", panel.histograms), ("fill", panel.bars), ("line", panel.lines))
               for item in items if item.label]
    if not entries:
        return
    painter.setFont(_font(12))
    metrics = QFontMetricsF(painter.font())
    width = 34 + max(metrics.horizontalAdvance(label) for label, _, _ in entries)
    height = 8 + 18 * len(entries)
    # Below the labels of vertical markers, which sit at the top of the plot.
    top = plot.top() + (24 if any(v.label for v in panel.vlines) else 8)
    left = plot.left() + 8 if _upper_left_is_emptier(panel) else plot.right() - width - 8
    box = QRectF(left, top, width, height)
    painter.setPen(QPen(QColor("#bbbbbb"), 1))
    painter.setBrush(QBrush(QColor(255, 255, 255, 225)))
    painter.drawRect(box)
    for k, (label, colour, kind) in enumerate(entries):
        y = box.top() + 4 + 18 * k + 9
        if kind in ("line", "dashed"):
            pen = QPen(colour, 2.5)
            if kind == "dashed":
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(box.left() + 6, y), QPointF(box.left() + 24, y))
        else:
            fill = QColor(colour)
            fill.setAlpha(120)
            painter.setPen(QPen(colour, 1.5))
            painter.setBrush(QBrush(fill))
            painter.drawRect(QRectF(box.left() + 6, y - 5, 18, 10))
        painter.setPen(QColor("#222222"))
        painter.drawText(QPointF(box.left() + 30, y + metrics.ascent() / 2 - 1), label)
