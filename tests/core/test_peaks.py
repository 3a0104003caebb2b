"""PeakSeries keeps a long series plottable: each bucket's lowest and highest value."""

import numpy as np
import pytest

from digitlab.core.peaks import PeakSeries


def reference_points(values: np.ndarray, width: int):
    """The points PeakSeries should give, computed the slow, obvious way."""
    x, y = [], []
    for start in range(0, len(values), width):
        bucket = values[start : start + width]
        if np.all(np.isnan(bucket)):
            continue
        middle = (start + 1 + start + len(bucket)) / 2
        x += [middle, middle]
        y += [np.nanmin(bucket), np.nanmax(bucket)]
    return np.array(x), np.array(y)


@pytest.mark.parametrize("max_buckets", [2, 4, 16, 64])
def test_any_way_of_adding_gives_each_buckets_extremes(max_buckets):
    rng = np.random.default_rng(max_buckets)
    for _ in range(30):
        values = rng.random(int(rng.integers(0, 700)))
        values[rng.random(len(values)) < 0.1] = np.nan  # batches whose value is unknown
        series = PeakSeries(max_buckets)
        start = 0
        while start < len(values):  # in pieces of any size, as records bring them
            size = int(rng.integers(0, 60))
            series.extend(values[start : start + size])
            start += size
        assert series.count == len(values)
        buckets = -(-len(values) // series.width)
        assert buckets <= max_buckets + 1  # bounded ...
        assert series.width == 1 or -(-len(values) // (series.width // 2)) > max_buckets + 1  # ... not coarser than needed
        x, y = series.points()
        if series.width == 1:
            np.testing.assert_array_equal(x, np.arange(1, len(values) + 1))
            np.testing.assert_array_equal(y, values)  # the values themselves, NaN kept
        else:
            expected_x, expected_y = reference_points(values, series.width)
            np.testing.assert_array_equal(x, expected_x)
            np.testing.assert_array_equal(y, expected_y)


def test_a_million_values_stay_a_few_thousand_points():
    series = PeakSeries(2048)
    series.extend(np.sin(np.arange(1_000_000) / 1000.0))
    x, y = series.points()
    assert series.width == 512 and len(y) <= 2 * 2049
    assert y.max() == pytest.approx(1.0, abs=1e-6) and y.min() == pytest.approx(-1.0, abs=1e-6)
    assert x[0] > 1 and x[-1] < 1_000_000


def test_clear_and_bad_sizes():
    series = PeakSeries(4)
    series.extend(np.arange(100.0))
    series.clear()
    assert series.count == 0 and series.width == 1 and len(series.points()[0]) == 0
    for bad in (0, 3):
        with pytest.raises(ValueError, match="even number"):
            PeakSeries(bad)
