"""The paper behind the ink: its level, its polarity, uneven light and specks on it.

A drawing on the canvas has a perfectly even background, but a photographed
sheet does not: a lamp or a window lights one side more, so the paper is
brighter there than the ink is on the dark side. Subtracting a single
background level then leaves a grey wedge that reads as ink. This module
estimates the background as a smooth surface instead, from the paper seen
between the strokes, for :func:`digitlab.core.preprocess.prepare`.

The estimate: split the picture into blocks; in each block the paper is its
brightest pixels (its darkest for light ink on a dark ground), since ink
covers only part of a block; fit a quadratic surface to those levels, robustly,
so blocks that are mostly ink do not pull it; if the surface is nearly flat,
the light is even and a single level (the border's median) is used, exactly as
for a canvas drawing. So is it when the border itself is even (uneven light
shows along the edges), so a fat pen filling most blocks is never mistaken
for paper.

Dust and specks on a scan, apart from the digit, are left out of the crop
(:func:`main_extent`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ink_polarity", "noise_level", "background_surface", "box_blur3", "main_extent", "without_specks"]

# Blocks per side of the picture: fine enough to follow a lighting gradient,
# coarse enough that most blocks hold some paper between the strokes.
_BLOCKS = 8
# The paper level of a block: this percentile of its pixels (from the paper's side).
_PAPER_PERCENTILE = 80
# A surface varying less than this (0..1 scale) across the picture is even light.
_FLAT = 0.04
# Blocks further than this many robust deviations from the surface are ink, not paper.
_OUTLIER = 2.5


def ink_polarity(gray: np.ndarray, background: float) -> bool:
    """Whether the ink is darker than the paper (True) or lighter (False).

    Ink is what stands out from the background most strongly. Comparing the
    two extremes tells dark ink on grey paper from light ink on a dark
    ground, even when the paper itself is darker than mid-grey, as in a dim
    photo (a grainy picture is smoothed before this, so single noisy pixels
    do not decide). Under uneven light the comparison is with the paper's
    median surface: a bright corner of the sheet may be further from the
    mean than the ink is.
    """
    if _uneven_border(gray):
        reference = _fitted_surface(gray, 50)
        return float(np.max(reference - gray)) > float(np.max(gray - reference))
    return background - float(gray.min()) > float(gray.max()) - background


def noise_level(gray: np.ndarray) -> float:
    """Standard deviation of the picture's pixel noise (0 for a clean drawing).

    From the second differences along rows: on paper they are pure noise,
    and the few large ones at ink edges do not move their median.
    """
    # Second differences ignore a lighting gradient (a first difference would
    # count its slope as noise); for white noise their spread is sqrt(6) sigma.
    # Every sixth row is plenty for a median, and six times cheaper.
    rows = gray[::6]
    curvature = np.abs(rows[:, 2:] - 2 * rows[:, 1:-1] + rows[:, :-2])
    return float(1.4826 * np.median(curvature) / np.sqrt(6))


def background_surface(gray: np.ndarray, dark_ink: bool, level: float, noise: float = 0.0) -> np.ndarray | float:
    """The background behind the ink: ``level`` if the light is even, else a smooth surface.

    Parameters
    ----------
    gray : numpy.ndarray
        float32 (H, W) in [0, 1].
    dark_ink : bool
        As :func:`ink_polarity` decided.
    level : float
        The single background level to use when the light is even (the
        border's median).
    noise : float, optional
        The pixel noise (:func:`noise_level`): a block's bright percentile
        lies above its paper's mean by a share of it, which is taken off.

    Returns
    -------
    float or numpy.ndarray
        ``level``, or a float32 (H, W) array of the background at each pixel.
    """
    if not _uneven_border(gray):
        # Uneven light shows along the edges too; an even border (a canvas, a
        # scan) keeps the single level, however much of the inside is ink.
        return level
    percentile = _PAPER_PERCENTILE if dark_ink else 100 - _PAPER_PERCENTILE
    # The 80th percentile of normal noise is 0.84 standard deviations above its mean.
    bias = -0.84 * noise if dark_ink else 0.84 * noise
    surface = _refined_surface(gray, _fitted_surface(gray, percentile) + bias, dark_ink)
    if float(surface.max() - surface.min()) < _FLAT:
        return level
    return surface.astype(np.float32)


def _uneven_border(gray: np.ndarray) -> bool:
    """Whether the picture is big enough to fit a surface to and its border is unevenly lit."""
    height, width = gray.shape
    if min(height, width) < 4 * _BLOCKS:
        return False  # too small to see a gradient in
    # Medians of stretches of the border: grain averages out, a gradient stays.
    # The border is walked round in order, so each stretch is one piece of an edge.
    border = np.concatenate((gray[0], gray[1:, -1], gray[-1, -2::-1], gray[-2:0:-1, 0]))
    levels = [float(np.median(part)) for part in np.array_split(border, 4 * _BLOCKS)]
    return max(levels) - min(levels) >= _FLAT


def _refined_surface(gray: np.ndarray, surface: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Refit the surface to the median of each block's paper, ink left out.

    A block's bright percentile lies above its mean paper wherever the light
    changes across the block; measured against the first surface the paper
    is flat, so its median is unbiased.
    """
    height, width = gray.shape
    residual = gray - surface
    ink_side = -residual if dark_ink else residual
    paper = ink_side < 0.3 * float(ink_side.max())
    edges_y = np.linspace(0, height, _BLOCKS + 1).astype(int)
    edges_x = np.linspace(0, width, _BLOCKS + 1).astype(int)
    centres_y, centres_x, levels = [], [], []
    for top, bottom in zip(edges_y[:-1], edges_y[1:]):
        for left, right in zip(edges_x[:-1], edges_x[1:]):
            block = (slice(top, bottom), slice(left, right))
            mine = paper[block]
            if mine.mean() < 0.2:
                continue  # mostly ink: no paper to measure
            cy, cx = (top + bottom) // 2, (left + right) // 2
            levels.append(surface[cy, cx] + float(np.median(residual[block][mine])))
            centres_y.append(cy + 0.5)
            centres_x.append(cx + 0.5)
    if len(levels) < 12:
        return surface
    coefficients = _robust_quadratic_fit(np.array(centres_y) / height, np.array(centres_x) / width,
                                         np.array(levels))
    return _surface_from(coefficients, height, width)


def _surface_from(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    return _quadratic(ys[:, None], xs[None, :], coefficients)


def _fitted_surface(gray: np.ndarray, percentile: float) -> np.ndarray:
    """A quadratic surface through the blocks' ``percentile`` levels, float64 (H, W)."""
    height, width = gray.shape
    centres_y, centres_x, levels = _block_levels(gray, percentile)
    coefficients = _robust_quadratic_fit(centres_y / height, centres_x / width, levels)
    return _surface_from(coefficients, height, width)


def box_blur3(gray: np.ndarray) -> np.ndarray:
    """Mean over each pixel's 3x3 neighbourhood (edges repeated), float32."""
    padded = np.pad(gray, 1, mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    return ((rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9).astype(np.float32)


def _block_levels(gray: np.ndarray, percentile: float):
    """Centre (y, x) and ``percentile`` level of each block of an even grid."""
    height, width = gray.shape
    edges_y = np.linspace(0, height, _BLOCKS + 1).astype(int)
    edges_x = np.linspace(0, width, _BLOCKS + 1).astype(int)
    centres_y, centres_x, levels = [], [], []
    for top, bottom in zip(edges_y[:-1], edges_y[1:]):
        for left, right in zip(edges_x[:-1], edges_x[1:]):
            levels.append(np.percentile(gray[top:bottom, left:right], percentile))
            centres_y.append((top + bottom) / 2)
            centres_x.append((left + right) / 2)
    return np.array(centres_y), np.array(centres_x), np.array(levels)


def _design(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(y), y, x, y * y, x * x, y * x], axis=-1)


def _quadratic(y: np.ndarray, x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    return _design(*np.broadcast_arrays(y, x)) @ coefficients


def _robust_quadratic_fit(y: np.ndarray, x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Least squares of a quadratic surface, refitted without the blocks it fits worst."""
    design = _design(y, x)
    keep = np.ones(len(levels), dtype=bool)
    coefficients = np.zeros(design.shape[1])
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(design[keep], levels[keep], rcond=None)
        residual = levels - design @ coefficients
        spread = 1.4826 * float(np.median(np.abs(residual[keep]))) + 0.01
        keep = np.abs(residual) <= _OUTLIER * spread
        if keep.sum() < design.shape[1] + 2:
            break
    return coefficients


def main_extent(profile: np.ndarray, gap: int) -> tuple[int, int]:
    """The run of ``profile`` (ink per row or column) holding the most ink.

    Runs are separated by at least ``gap`` empty entries. A digit's rows (and
    columns) form one run, while dust and specks on a scan, away from it,
    form runs of their own; cropping to all of them would shrink the digit.

    Returns
    -------
    (first, last) : tuple of int
        Indices of the run's first and last non-empty entries.
    """
    filled = np.flatnonzero(profile > 0)
    breaks = np.flatnonzero(np.diff(filled) > gap)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(filled) - 1]])
    masses = [float(profile[filled[s] : filled[e] + 1].sum()) for s, e in zip(starts, ends)]
    best = int(np.argmax(masses))
    return int(filled[starts[best]]), int(filled[ends[best]])


def without_specks(mask: np.ndarray) -> np.ndarray:
    """``mask`` without isolated specks: inked pixels with fewer than 5 inked in their 5x5 square.

    A speck of dust up to 2x2 pixels goes; any stroke, even a one-pixel line,
    keeps all but its last pixel or two.
    """
    padded = np.pad(mask.view(np.uint8), 2)
    # Separable 5x5 box sum in uint8 (at most 25): cheaper than an integral image.
    rows = padded[:-4] + padded[1:-3] + padded[2:-2] + padded[3:-1] + padded[4:]
    box = rows[:, :-4] + rows[:, 1:-3] + rows[:, 2:-2] + rows[:, 3:-1] + rows[:, 4:]
    return mask & (box >= 5)
