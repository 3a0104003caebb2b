"""The step strip: what the last Step trained on (the batch's number, loss and first digits)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from digitlab.core.training import StepBatch


class StepStrip(QWidget):
    """What the last Step trained: the batch's number and loss, and its first digits with their labels."""

    MAX_DIGITS = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("The mini-batch the last Step trained on: what gradient descent just learned from.")
        self.caption = QLabel()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.caption, 0, 0, 1, self.MAX_DIGITS + 1)
        self.images = [QLabel() for _ in range(self.MAX_DIGITS)]
        self.labels = [QLabel() for _ in range(self.MAX_DIGITS)]
        for col, (image, label) in enumerate(zip(self.images, self.labels)):
            grid.addWidget(image, 1, col, Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(label, 2, col, Qt.AlignmentFlag.AlignCenter)
        grid.setColumnStretch(self.MAX_DIGITS, 1)
        self.step: StepBatch | None = None  # the batch shown
        self.hide()

    def show_step(self, step: StepBatch, number: int) -> None:
        """Show ``step``, the history's mini-batch ``number``."""
        self.step = step
        self.caption.setText(f"Step: mini-batch {number}, loss {step.loss:.4f}")
        for i, (image, label) in enumerate(zip(self.images, self.labels)):
            shown = i < len(step.labels)
            image.setVisible(shown)
            label.setVisible(shown)
            if shown:
                # Dark ink on white, twice the size: the digits as a page shows them.
                ink = np.ascontiguousarray(255 - np.clip(step.images[i] * 255, 0, 255).astype(np.uint8))
                picture = QImage(ink.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
                image.setPixmap(QPixmap.fromImage(picture).scaled(56, 56))
                label.setText(str(int(step.labels[i])))
        self.show()


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``; ``"?"`` when unknown (infinite)."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
