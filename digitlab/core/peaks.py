"""A long series kept short enough to plot: each bucket's lowest and highest value.

A run at mini-batches of 10 records about 15,000 losses a second; after a
minute the loss curve has a million points. A plot 600 pixels wide shows no
more than a few thousand of them, yet handing it all million costs the window
tens of milliseconds on every redraw, and more the longer the run goes.

:class:`PeakSeries` keeps, instead, consecutive buckets of ``width`` values,
each remembered by its minimum and maximum (the "peak" decimation plotting
libraries use: every spike stays visible). When there are more than
``max_buckets``, neighbouring buckets merge in pairs and ``width`` doubles, so
the series never holds more than ``2 * max_buckets`` points and adding to it
costs time in proportion to what is added, whatever the length of the run.
Until the first merge, :meth:`points` gives the values themselves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PeakSeries"]


class PeakSeries:
    """Minimum and maximum of each bucket of ``width`` consecutive values (NaN values are skipped).

    Parameters
    ----------
    max_buckets : int
        At most this many buckets (an even number, at least 2): at most twice
        as many points to plot.
    """

    def __init__(self, max_buckets: int = 2048) -> None:
        if max_buckets < 2 or max_buckets % 2:
            raise ValueError(f"max_buckets must be an even number of at least 2, got {max_buckets}")
        self.max_buckets = max_buckets
        self.clear()

    def clear(self) -> None:
        """Forget every value."""
        self.width = 1  # values per bucket (a power of 2)
        self.count = 0  # values added in all
        self._lows = np.empty(self.max_buckets + 1, dtype=np.float64)
        self._highs = np.empty(self.max_buckets + 1, dtype=np.float64)
        self._buckets = 0

    def extend(self, values) -> None:
        """Append ``values`` (float), in order."""
        values = np.asarray(values, dtype=np.float64).ravel()
        values = self._fill_last_bucket(values)
        while len(values):
            space = self.max_buckets + 1 - self._buckets
            if space == 0:
                self._merge_pairs()  # the last bucket is now half full: it takes values first
                values = self._fill_last_bucket(values)
                continue
            part, values = values[: space * self.width], values[space * self.width :]
            # Whole buckets at once; the last one may stay partly empty (NaN is "no value").
            new = -(-len(part) // self.width)
            padded = np.full(new * self.width, np.nan)
            padded[: len(part)] = part
            rows = padded.reshape(new, self.width)
            # fmin and fmax skip NaN (a batch whose value is unknown) unless all are NaN.
            self._lows[self._buckets : self._buckets + new] = np.fmin.reduce(rows, axis=1)
            self._highs[self._buckets : self._buckets + new] = np.fmax.reduce(rows, axis=1)
            self._buckets += new
            self.count += len(part)

    def _fill_last_bucket(self, values: np.ndarray) -> np.ndarray:
        """Put values into the last bucket while it has room; return the rest."""
        room = self._buckets * self.width - self.count
        if room == 0 or len(values) == 0:
            return values
        part = values[:room]
        last = self._buckets - 1
        self._lows[last] = np.fmin(self._lows[last], np.fmin.reduce(part))
        self._highs[last] = np.fmax(self._highs[last], np.fmax.reduce(part))
        self.count += len(part)
        return values[room:]

    def _merge_pairs(self) -> None:
        # max_buckets + 1 buckets, the last one full: pairs merge into
        # max_buckets / 2 buckets of twice the width, and the last one stays
        # on its own as the first (half full) bucket of the new width.
        pairs = self.max_buckets // 2
        lows, highs = self._lows[: 2 * pairs].reshape(pairs, 2), self._highs[: 2 * pairs].reshape(pairs, 2)
        last_low, last_high = self._lows[2 * pairs], self._highs[2 * pairs]
        self._lows[:pairs] = np.fmin(lows[:, 0], lows[:, 1])
        self._highs[:pairs] = np.fmax(highs[:, 0], highs[:, 1])
        self._lows[pairs], self._highs[pairs] = last_low, last_high
        self._buckets = pairs + 1
        self.width *= 2

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The series to plot as (x, y): positions numbered from 1, as batches are.

        While each bucket holds one value these are the values themselves
        (NaN kept). After that each bucket gives two points at its middle,
        its minimum then its maximum, so the drawn line spans the bucket's
        range; a bucket with no known value is left out.
        """
        buckets = self._buckets
        if self.width == 1:
            return np.arange(1, buckets + 1, dtype=np.float64), self._lows[:buckets].copy()
        starts = np.arange(buckets, dtype=np.float64) * self.width + 1
        ends = np.minimum(starts + self.width - 1, self.count)
        middles = (starts + ends) / 2
        lows, highs = self._lows[:buckets], self._highs[:buckets]
        known = ~np.isnan(lows)
        x = np.repeat(middles[known], 2)
        y = np.column_stack((lows[known], highs[known])).ravel()
        return x, y
