"""One neuron up close (its detail window), and the weights image export.

Split from the weights view so each module stays small; the view opens the
dialog and calls :func:`colorize` / :func:`write_png_atomic` to export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.projections import symmetric_limit
from digitlab.imageio import ImageWriteError, write_png
from digitlab.ui import style

#: Exported images are scaled up by a whole factor to about this many pixels.
EXPORT_TARGET_PX = 1200
_EXPORT_GAP_RGBA = (128, 128, 128, 255)


class ImageExportError(ValueError):
    """The weights image could not be written; the message names the file."""


class NeuronDetailDialog(QDialog):
    """One neuron up close: its picture with a colour bar, its numbers, its inputs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Neuron details")
        self.resize(460, 560)
        self._title = QLabel()
        font = self._title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self._title.setFont(font)
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setToolTip("The neuron's picture, on its own symmetric colour scale.")
        self._view_box = self._graphics.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self._view_box.setMenuEnabled(False)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._image.setLookupTable(style.diverging_lut())
        self._view_box.addItem(self._image)
        self._colorbar = pg.ColorBarItem(
            values=(-1.0, 1.0), colorMap=style.diverging_colormap(), interactive=False, width=16, colorMapMenu=False
        )
        self._graphics.addItem(self._colorbar, row=0, col=1)
        self._stats = QLabel()
        self._stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._stats.setToolTip("The neuron's own parameters: its incoming weights and its bias.")
        self._incoming = pg.PlotWidget()
        self._incoming.setMaximumHeight(150)
        self._incoming.setMenuEnabled(False)
        self._incoming.setMouseEnabled(x=False, y=False)
        self._incoming.hideButtons()
        self._incoming.setLabel("bottom", "neuron of the previous layer")
        self._incoming.setLabel("left", "weight")
        self._incoming.setToolTip("Which neurons of the previous layer this one listens to, and how strongly.")
        self._incoming_bars = pg.BarGraphItem(x=[0], height=[0], width=0.8, pen=pg.mkPen(None))
        self._incoming.addItem(self._incoming_bars)

        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._graphics, 1)
        layout.addWidget(self._stats)
        layout.addWidget(self._incoming)
        self._restyle()

    def title(self) -> str:
        return self._title.text()

    def stats_text(self) -> str:
        return self._stats.text()

    def show_neuron(
        self,
        layer: int,
        index: int,
        is_output: bool,
        image: np.ndarray | None,
        incoming: np.ndarray,
        bias: float,
        activation: float | None,
    ) -> None:
        """Fill the window for one neuron (called again on every live update)."""
        layer_name = "output layer" if is_output else f"layer {layer}"
        self._title.setText(f"Neuron {index} of {layer_name}")
        self.setWindowTitle(f"Neuron {index}, {layer_name}")
        if image is not None:
            limit = symmetric_limit(image)
            self._image.setImage(image.astype(np.float32), levels=(-limit, limit), autoLevels=False)
            self._colorbar.setLevels((-limit, limit))
            self._view_box.setRange(QRectF(0, 0, image.shape[1], image.shape[0]), padding=0.02)
        finite = incoming[np.isfinite(incoming)]
        summary = (
            (f"min {finite.min():.3f}, max {finite.max():.3f}, mean {finite.mean():.3f}, std {finite.std():.3f}")
            if finite.size
            else "not finite"
        )
        active = "—  (no drawing)" if activation is None else f"{activation:.3f}"
        self._stats.setText(
            f"<b>{incoming.size} incoming weights:</b> {summary}<br>"
            f"<b>bias:</b> {bias:.3f}<br>"
            f"<b>current activation:</b> {active}"
        )
        # The first layer's inputs are pixels: the picture already shows them.
        self._incoming.setVisible(layer > 1)
        if layer > 1:
            colors = [QColor(style.POSITIVE_COLOR) if w >= 0 else QColor(style.NEGATIVE_COLOR) for w in incoming]
            self._incoming_bars.setOpts(x=np.arange(incoming.size), height=incoming, width=0.8, brushes=colors)

    def _restyle(self) -> None:
        style.style_plot(self._graphics, self.palette())
        style.style_plot(self._incoming, self.palette())

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


# -------------------------------------------------------------------- export
def colorize(mosaic: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map values through the diverging colormap to RGBA uint8; NaN gaps become grey."""
    lut = style.diverging_lut(256)
    scaled = np.clip((np.nan_to_num(mosaic, nan=0.0) - low) / (high - low), 0.0, 1.0)
    rgba = lut[np.rint(scaled * 255).astype(np.intp)]
    rgba[np.isnan(mosaic)] = _EXPORT_GAP_RGBA
    return rgba


def write_png_atomic(path: Path, rgba: np.ndarray) -> None:
    """Write an RGBA array as a PNG file, atomically (via digitlab.imageio)."""
    try:
        write_png(path, rgba)
    except ImageWriteError as err:
        raise ImageExportError(str(err)) from None
