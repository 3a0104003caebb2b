"""Where the tiles of a weights mosaic sit: one layer's neurons as one image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF

#: Pixels between tiles in a mosaic.
GAP = 1


@dataclass(frozen=True)
class MosaicLayout:
    """Where each of ``count`` square tiles of ``side`` pixels sits in a near-square grid."""

    count: int
    side: int
    cols: int
    rows: int

    @classmethod
    def for_count(cls, count: int, side: int = 28) -> "MosaicLayout":
        cols = max(1, math.ceil(math.sqrt(count)))
        rows = max(1, math.ceil(count / cols))
        return cls(count, side, cols, rows)

    @property
    def pitch(self) -> int:
        """Distance from one tile's start to the next one's."""
        return self.side + GAP

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the mosaic image."""
        return self.rows * self.pitch - GAP, self.cols * self.pitch - GAP

    def origin(self, index: int) -> tuple[int, int]:
        """(row, column) of the tile's top-left pixel."""
        row, col = divmod(index, self.cols)
        return row * self.pitch, col * self.pitch

    def tile_rect(self, index: int) -> QRectF:
        """The tile's outline in image coordinates, centred in the gap around it."""
        top, left = self.origin(index)
        return QRectF(left - GAP / 2, top - GAP / 2, self.side + GAP, self.side + GAP)

    def index_at(self, x: float, y: float) -> int | None:
        """The tile under image coordinates ``(x, y)`` (gaps count as the tile before), or None."""
        col = math.floor((x + GAP / 2) / self.pitch)
        row = math.floor((y + GAP / 2) / self.pitch)
        if not (0 <= col < self.cols and 0 <= row < self.rows):
            return None
        index = row * self.cols + col
        return index if index < self.count else None

    def assemble(self, tiles: np.ndarray) -> np.ndarray:
        """Tiles ``(count, side, side)`` as one float32 image, NaN (transparent) between them."""
        padded = np.full((self.rows * self.cols, self.pitch, self.pitch), np.nan, dtype=np.float32)
        padded[: self.count, : self.side, : self.side] = tiles
        grid = padded.reshape(self.rows, self.cols, self.pitch, self.pitch).transpose(0, 2, 1, 3)
        height, width = self.shape
        return grid.reshape(self.rows * self.pitch, self.cols * self.pitch)[:height, :width]
