"""The 28x28 input the network receives, enlarged (beside the canvas).

It follows the model session: whatever the network looks at (a drawing, a
picture, a noise image) is what it shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSize, Qt, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QWidget

from digitlab.ui.gray_images import BACKGROUND as _BACKGROUND, as_unit_gray as _as_unit_gray, gray_to_qimage as _gray_to_qimage


class DigitPreview(QWidget):
    """The 28x28 input the network receives, enlarged with square pixels and a faint grid."""

    CAPTION = "network input, 28x28"
    EMPTY_TEXT = "draw a digit"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        # Wide enough for the caption, so it is never cut off.
        self.setMinimumSize(max(112, self.fontMetrics().horizontalAdvance(self.CAPTION) + 8), 130)
        self.setToolTip(
            "Your drawing after MNIST-style preprocessing: cropped, scaled to fit 20x20,\n"
            "centred by its centre of mass in a 28x28 field. These 784 numbers are the input layer."
        )

    def image(self) -> np.ndarray | None:
        """The image shown (float32 28x28 in [0, 1]), or None."""
        return None if self._image is None else self._image.copy()

    def set_image(self, img28: np.ndarray | None) -> None:
        """Show a 28x28 image (float in [0, 1] or uint8), or None for the empty look."""
        if img28 is None:
            self._image = self._qimage = None
        else:
            image = _as_unit_gray(img28, "the preview image")
            if image.shape != (28, 28):
                raise ValueError(f"the preview image must be 28x28, got shape {image.shape}")
            self._image = image
            self._qimage = _gray_to_qimage(image)
        self.update()

    def follow(self, session) -> None:
        """Show ``session``'s current input from now on (a :class:`~digitlab.ui.session.ModelSession`)."""
        self._session = session
        session.inputChanged.connect(self._on_input_changed)
        self._on_input_changed()

    @Slot()
    def _on_input_changed(self) -> None:
        self.set_image(self._session.current_input)

    def sizeHint(self):  # noqa: N802 (Qt API)
        return QSize(140, 160)

    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 6

    def image_rect(self) -> QRectF:
        """Where the 28x28 square is drawn, in widget coordinates."""
        available_height = self.height() - self._caption_height()
        side = max(28, min(self.width(), available_height))
        return QRectF((self.width() - side) / 2, 0, side, side)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        palette = self.palette()
        rect = self.image_rect()
        if self._qimage is None:
            painter.fillRect(rect, _BACKGROUND)
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.EMPTY_TEXT)
        else:
            # No smooth transform: each input value stays one crisp square.
            painter.drawImage(rect, self._qimage)
            self._draw_grid(painter, rect)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        caption = QRectF(0, rect.bottom() + 2, self.width(), self._caption_height())
        painter.drawText(caption, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.CAPTION)
        painter.end()

    @staticmethod
    def _draw_grid(painter: QPainter, rect: QRectF) -> None:
        painter.setPen(QPen(QColor(128, 128, 128, 55), 0))  # cosmetic hairline
        cell = rect.width() / 28
        for i in range(1, 28):
            offset = i * cell
            painter.drawLine(QLineF(rect.left() + offset, rect.top(), rect.left() + offset, rect.bottom()))
            painter.drawLine(QLineF(rect.left(), rect.top() + offset, rect.right(), rect.top() + offset))
