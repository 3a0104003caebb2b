"""Shared look of DigitLab's widgets: colours, the diverging colormap, plot theming.

Everything that draws should take its text and background colours from the
widget's palette (so light and dark system themes both stay readable) and its
data colours from here (so the same thing has the same colour everywhere).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette  # PySide6 before pyqtgraph: picks the binding

import numpy as np
import pyqtgraph as pg

#: Highlight for "the answer": the winning output bar, active neurons.
#: An orange that reads on both white and near-black backgrounds.
ACCENT = "#f76707"
#: Real MNIST digits in comparisons (blue) versus noise images (orange-red).
REAL_COLOR = "#1c7ed6"
NOISE_COLOR = "#e8590c"
#: The diverging colormap's ends and centre: negative weights blue, zero
#: white, positive red (ColorBrewer's RdBu, reversed so "more" is warm).
NEGATIVE_COLOR = "#2166ac"
ZERO_COLOR = "#f7f7f7"
POSITIVE_COLOR = "#b2182b"

_configured = False
_diverging: pg.ColorMap | None = None


def configure_pyqtgraph() -> None:
    """Set pyqtgraph's global options once, before any plot is made.

    Row-major image order makes ``array[row, col]`` show as it prints (without
    it every weight image comes out transposed). Safe to call repeatedly.
    """
    global _configured
    if _configured:
        return
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    _configured = True


def diverging_colormap() -> pg.ColorMap:
    """Blue - white - red colormap for signed values (weights), shared by all views."""
    global _diverging
    if _diverging is None:
        _diverging = pg.ColorMap(
            pos=np.array([0.0, 0.5, 1.0]),
            color=[QColor(NEGATIVE_COLOR), QColor(ZERO_COLOR), QColor(POSITIVE_COLOR)],
            name="digitlab-diverging",
        )
    return _diverging


def diverging_lut(n_colors: int = 256) -> np.ndarray:
    """The diverging colormap as an ``(n_colors, 4)`` uint8 RGBA lookup table."""
    return diverging_colormap().getLookupTable(0.0, 1.0, n_colors, alpha=True)


def text_color(palette: QPalette) -> QColor:
    """Colour for text and axis lines on the palette's window background."""
    return palette.color(QPalette.ColorRole.WindowText)


def plot_background(palette: QPalette) -> QColor:
    """Background colour for plots, so they blend with the surrounding window."""
    return palette.color(QPalette.ColorRole.Base)


def muted_color(palette: QPalette, amount: float = 0.45) -> QColor:
    """A neutral colour between the text and the background (``amount`` towards text).

    Used for the ordinary, non-highlighted bars: it adapts to light and dark
    themes and leaves the accent colour to stand out.
    """
    fg = text_color(palette)
    bg = plot_background(palette)
    return QColor.fromRgbF(
        bg.redF() + (fg.redF() - bg.redF()) * amount,
        bg.greenF() + (fg.greenF() - bg.greenF()) * amount,
        bg.blueF() + (fg.blueF() - bg.blueF()) * amount,
    )


def with_alpha(color: str | QColor, alpha: int) -> QColor:
    """A copy of ``color`` with the given alpha (0-255)."""
    result = QColor(color)
    result.setAlpha(alpha)
    return result


def style_plot(plot: pg.PlotWidget | pg.GraphicsLayoutWidget, palette: QPalette) -> None:
    """Give a pyqtgraph widget the palette's background, and its axes the text colour.

    Call it again on ``QEvent.PaletteChange`` so a theme switch repaints the plot.
    """
    plot.setBackground(plot_background(palette))
    fg = text_color(palette)
    items = [plot.getPlotItem()] if isinstance(plot, pg.PlotWidget) else plot.ci.items
    for item in items:
        if not isinstance(item, pg.PlotItem):
            continue
        for name in ("left", "bottom", "right", "top"):
            axis = item.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)
        if item.titleLabel.text:
            item.titleLabel.setText(item.titleLabel.text, color=fg)
