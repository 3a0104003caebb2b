"""Grayscale pictures between NumPy and Qt, shared by the canvas and the preview."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

#: Ink and paper, as MNIST has them: white on black.
INK = QColor(255, 255, 255)
BACKGROUND = QColor(0, 0, 0)


def gray_to_qimage(gray: np.ndarray) -> QImage:
    """A Grayscale8 QImage owning a copy of a 2-D array in [0, 1]."""
    data = np.ascontiguousarray(np.round(np.clip(gray, 0.0, 1.0) * 255.0).astype(np.uint8))
    height, width = data.shape
    # QImage only borrows the buffer; .copy() makes it own its pixels.
    return QImage(data.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


def qimage_to_gray(image: QImage) -> np.ndarray:
    """A Grayscale8 QImage as float32 in [0, 1] (rows may be padded in memory)."""
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, :width].astype(np.float32) / 255.0


def as_unit_gray(gray, what: str) -> np.ndarray:
    """Validate a 2-D picture and scale it to float in [0, 1] (uint8 is divided by 255)."""
    array = np.asarray(gray)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return np.clip(array, 0.0, 1.0)
