"""Turn any picture of a digit into a 28x28 input the way MNIST was made.

The network only ever saw MNIST digits, so a user's drawing or photo is
recognised only if it is brought into the same form:

1. grayscale in [0, 1]; a grainy picture (a photo) is smoothed a little;
2. white ink on black: the background level is the median of the border
   pixels, and the ink is what stands out from it most, darker (ink on
   paper, inverted) or lighter (chalk, a canvas drawing). Under uneven light
   (a photo lit from one side, :mod:`digitlab.core.background`) the paper is
   a smooth surface fitted between the strokes, and ink is measured relative
   to it, since light scales paper and ink alike;
3. the background is subtracted and the ink stretched to reach 1 (a grey
   stroke core, from blur, is whitened as MNIST's are); faint noise below a
   threshold becomes 0, and isolated specks (dust, grain) are dropped;
4. the picture is cropped to the bounding box of the digit (dust well apart
   from it left out); strokes much
   thinner or thicker than MNIST's (2-3 px once scaled) are thickened or
   thinned, so a hairline or a fat marker reads like a pen (MNIST's own
   writers all used similar pens, so its recipe had no such step);
5. it is scaled, keeping its aspect ratio, so its larger side is 20 pixels
   (area averaging when shrinking, bilinear when enlarging: anti-aliased,
   as MNIST's gray edge pixels are);
6. it is placed in a 28x28 field with its centre of mass at pixel (14, 14),
   where MNIST put it (MNIST moved by whole pixels; here the move is part of
   the resampling, so it is exact and adds no blur).

Scaling and placing are one separable linear map, ``rows @ crop @ cols.T``,
so the whole step costs a few small matrix products.

Noise images, to show how the network answers nonsense, are made by
:mod:`digitlab.core.noise_images` (re-exported here); training-data
augmentation lives in :mod:`digitlab.core.augment`.
"""

from __future__ import annotations

import numpy as np

from digitlab.core.background import (
    background_surface,
    box_blur3,
    ink_polarity,
    main_extent,
    noise_level,
    without_specks,
)
# Noise images live in their own module; these names stay importable from here.
from digitlab.core.noise_images import NOISE_KINDS, noise_image

__all__ = [
    "FIELD_SIZE",
    "DIGIT_BOX",
    "DEFAULT_THRESHOLD",
    "STROKE_RANGE",
    "NOISE_KINDS",
    "EmptyImageError",
    "InvalidImageError",
    "to_grayscale",
    "prepare",
    "is_empty",
    "ink_on_black",
    "noise_image",
]

FIELD_SIZE = 28
"""Side of the network's input field, in pixels."""

DIGIT_BOX = 20
"""Larger side of the digit inside the field, in pixels (as in MNIST)."""

DEFAULT_THRESHOLD = 0.2
"""Ink below this fraction of the strongest ink is treated as noise."""


# Less contrast than this (on a 0..1 scale) between ink and background is
# no drawing at all: JPEG ringing, paper grain, a nearly blank canvas.
MIN_CONTRAST = 0.1

# Ink covering less than this fraction of the picture (counted in fully
# inked pixels) is a speck, not a digit; cropping to it would blow a single
# stray pixel up to a 20x20 blob.
MIN_INK_FRACTION = 0.001

# Ink separated from the digit by empty rows or columns this share of the
# picture wide is dust on a scan, not part of the digit.
_SPECK_GAP = 0.08
# Pictures noisier than this (standard deviation, 0..1 scale) are smoothed first.
_GRAINY = 0.01

STROKE_RANGE = (2.0, 3.0)
"""Stroke width, in pixels of the 28x28 result, that :func:`prepare` aims for."""

# Stroke widths are fixed at this many pixels per pixel of the final digit:
# fine enough for sub-pixel control, coarse enough to stay fast.
_MORPH_OVERSAMPLING = 4

# ITU-R BT.601 luma weights, the usual RGB -> gray conversion.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# The centre of mass of an MNIST digit sits at pixel index 14 (measured on
# the bundled sample: 14.0 +/- 0.3 on both axes). Pixel i spans [i, i+1) in
# the continuous coordinates used below, so its centre is i + 0.5.
_TARGET_CENTRE = 14.0 + 0.5


class EmptyImageError(ValueError):
    """The image holds no ink to recognise (blank, constant or a speck)."""


class InvalidImageError(ValueError):
    """The array cannot be read as an image (wrong shape, dtype or range)."""


def to_grayscale(image) -> np.ndarray:
    """Convert an image array to float32 gray levels in [0, 1].

    Parameters
    ----------
    image : array_like
        2-D gray, or 3-D with 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)
        channels last, of any size. ``uint8`` and ``uint16`` use their full
        range; other integer types must hold 0..255 (or 0..65535); floats
        are read as 0..1, or as 0..255 when their maximum exceeds 1; ``bool``
        is 0/1.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (H, W) in [0, 1]. Colour is reduced to luma
        (BT.601). Transparent pixels become background: the image is
        composited over white when its visible pixels are mostly dark
        (dark ink on a transparent sheet) and over black otherwise.

    Raises
    ------
    InvalidImageError
        For an unsupported shape, an empty array, NaN/inf or values out of
        range.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"image array: expected 1-4 channels last, got shape {array.shape}"
        )
    if array.ndim not in (2, 3):
        raise InvalidImageError(
            f"image array: expected 2-D gray or 3-D colour, got shape {array.shape}"
        )
    if array.size == 0:
        raise InvalidImageError(f"image array: no pixels (shape {array.shape})")
    values = _unit_range(array)
    if values.ndim == 2:
        return values
    channels = values.shape[2]
    if channels <= 2:
        gray = values[..., 0]
    else:
        gray = values[..., :3] @ _LUMA
    if channels in (2, 4):
        gray = _composite(gray, values[..., -1])
    gray = np.ascontiguousarray(gray, dtype=np.float32)
    return np.clip(gray, 0.0, 1.0, out=gray)


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Scale any supported dtype to float32 in [0, 1]."""
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1 / 255)
    if array.dtype == np.uint16:
        return array.astype(np.float32) * np.float32(1 / 65535)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise InvalidImageError(
                f"image array: integer values must lie in 0..65535, got {low}..{high}"
            )
        full_scale = 255 if high <= 255 else 65535
        return array.astype(np.float32) * np.float32(1 / full_scale)
    if np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        low, high = float(values.min()), float(values.max())
        # NaN and infinity show up in the extremes; no separate pass needed.
        if not (np.isfinite(low) and np.isfinite(high)):
            raise InvalidImageError("image array: contains NaN or infinity")
        # A little overshoot is resampling ringing, not a 0..255 image.
        tolerance = 1e-3
        if low < -tolerance or high > 255 + tolerance:
            raise InvalidImageError(
                f"image array: float values must lie in 0..1 or 0..255, got {low:g}..{high:g}"
            )
        if high > 1 + tolerance:
            values *= np.float32(1 / 255)
        return np.clip(values, 0.0, 1.0, out=values)
    raise InvalidImageError(f"image array: unsupported dtype {array.dtype}")


def _composite(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Blend gray over a background chosen so transparent pixels are background."""
    if float(alpha.min()) >= 1.0:
        return gray  # Fully opaque, the usual case: nothing to blend.
    visible = float(alpha.sum())
    if visible == 0.0:
        return np.zeros_like(gray)
    ink_level = float(np.vdot(gray, alpha)) / visible
    if ink_level >= 0.5:
        return gray * alpha  # Light ink: over black.
    # Dark ink: over white, 1 - alpha * (1 - gray).
    blended = np.subtract(1.0, gray, dtype=np.float32)
    blended *= alpha
    return np.subtract(1.0, blended, out=blended)


def _ink_map(gray: np.ndarray, threshold: float) -> np.ndarray | None:
    """White-on-black ink in [0, 1] with noise removed, or None if there is none."""
    noise = noise_level(gray)
    if noise > _GRAINY:
        # Grain on the strokes would fool the stroke-width estimate; a 3x3 mean
        # cuts it to a third and blurs no more than a camera already does.
        gray, noise = box_blur3(gray), noise / 3
    border = np.concatenate((gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]))
    background = float(np.median(border))
    # Which way the ink stands out, not how bright the paper is: a dim photo's
    # paper may be darker than mid-grey and still carry darker ink.
    dark_ink = ink_polarity(gray, background)
    # Uneven light (a photo) makes the paper a smooth surface, not one level.
    paper = background_surface(gray, dark_ink, background, noise)
    # Dark ink on paper is inverted so ink is bright.
    ink = np.asarray(paper - gray if dark_ink else gray - paper, dtype=np.float32)
    if isinstance(paper, np.ndarray):
        # Light multiplies: under half the light, paper and ink are both half as
        # bright, so ink is measured relative to its paper, the same all over.
        ink /= np.maximum(paper, np.float32(0.05))
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return None
    ink *= np.float32(1 / peak)
    ink *= ink >= threshold
    # Dust on a scan, and grain that passes the threshold, are isolated specks.
    ink *= without_specks(ink > 0)
    if float(ink.sum()) < MIN_INK_FRACTION * ink.size:
        return None
    # Blur and uneven ink leave a stroke's core grey where MNIST's is white.
    inked = np.count_nonzero(ink)
    if np.count_nonzero(ink >= 0.999) < 0.1 * inked:  # else the core is white already (a canvas)
        core = float(np.percentile(ink[ink > 0], 90))
        np.minimum(ink * np.float32(1 / core), 1.0, out=ink)
    return ink


def ink_on_black(gray: np.ndarray) -> np.ndarray:
    """A grayscale picture as white ink on black in [0, 1], the way step 2 sees it.

    For showing a loaded picture as the network's kind of image: background
    from the border's median, inverted for dark ink on paper, stretched to
    reach 1. All black when there is no ink.
    """
    gray = np.asarray(gray, dtype=np.float32)
    ink = _ink_map(gray.copy(), 0.0)
    return np.zeros_like(gray) if ink is None else np.clip(ink, 0.0, 1.0)


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    return threshold


def is_empty(image, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Whether :func:`prepare` would find no ink in ``image``.

    Parameters
    ----------
    image : array_like
        Any image :func:`to_grayscale` accepts.
    threshold : float, optional
        As in :func:`prepare`.

    Returns
    -------
    bool
        True for a blank or constant image, ink too faint to tell from the
        background, or a speck smaller than 0.1 % of the picture.
    """
    return _ink_map(to_grayscale(image), _check_threshold(threshold)) is None


def prepare(
    image,
    threshold: float = DEFAULT_THRESHOLD,
    stroke_range: tuple[float, float] | None = STROKE_RANGE,
) -> np.ndarray:
    """Bring a picture of a digit into MNIST's form: 28x28, white on black.

    Parameters
    ----------
    image : array_like
        Any image :func:`to_grayscale` accepts: a canvas drawing, a scan or
        photo of dark ink on paper, light ink on a dark ground, RGB or RGBA.
    threshold : float, optional
        After the ink is stretched to reach 1, values below this are set to
        0, removing paper grain and compression noise.
    stroke_range : (float, float) or None, optional
        Pen width, in pixels of the final 28x28 image, that strokes are
        brought within before scaling: thinner strokes are thickened
        (grayscale dilation) and thicker ones thinned (erosion). MNIST's
        strokes are 1.7-3.9 px wide (5-95 %, median 2.5); a hairline drawn
        in a big image, or a fat pen on a small digit, is read far better
        once brought into that range. None keeps strokes as they are, as
        MNIST's own recipe did.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (28, 28) in [0, 1]: ink 1, background 0, the
        digit's larger side 20 pixels and its centre of mass at (14, 14)
        (moved less far if that would push ink off the field).

    Raises
    ------
    EmptyImageError
        If the image holds no ink (see :func:`is_empty`).
    InvalidImageError
        If the array is not an image (see :func:`to_grayscale`).
    """
    ink = _ink_map(to_grayscale(image), _check_threshold(threshold))
    if ink is None:
        raise EmptyImageError("image is empty: no ink to recognise")
    crop = _crop_to_ink(ink, despeckle=True)
    if stroke_range is not None:
        crop = _normalise_stroke_width(crop, *stroke_range)
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    centre_y, centre_x = _centre_of_mass(crop)
    rows = _placement_matrix(height, scale, centre_y)
    cols = _placement_matrix(width, scale, centre_x)
    field = rows @ crop @ cols.T
    return np.clip(field, 0.0, 1.0, out=field)


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels, from ink area and outline length.

    A stroke of width w and length L has area w*L and an outline of about
    2*L. The outline is measured as the total variation of the image
    (summed absolute steps along rows and columns), which overcounts a
    line at a random angle by 4/pi on average.
    """
    area = float(ink.sum())
    steps = (
        float(np.abs(np.diff(ink, axis=0)).sum())
        + float(np.abs(np.diff(ink, axis=1)).sum())
        # The crop touches its own border; count the steps out to black there.
        + float(ink[0].sum() + ink[-1].sum() + ink[:, 0].sum() + ink[:, -1].sum())
    )
    outline = steps * np.pi / 4
    return 2 * area / outline


def _normalise_stroke_width(crop: np.ndarray, low: float, high: float) -> np.ndarray:
    """Thicken or thin strokes so they come out ``low``-``high`` px wide in the field."""
    width = _stroke_width(crop) * DIGIT_BOX / max(crop.shape)
    if low <= width <= high:
        return crop
    target = low if width < low else high
    # Work where the digit is 80 px: a big crop would need many slow
    # one-pixel steps, and in a small one a single step is too coarse.
    crop = _resize(crop, _MORPH_OVERSAMPLING * DIGIT_BOX / max(crop.shape))
    # Growing strokes by k pixels a side also grows the digit by 2k, and the
    # digit is then scaled back to 20 px. Solving
    # (w + 2k) * 20 / (H + 2k) = target for k, in crop pixels:
    side = max(crop.shape)
    steps = int(round(side * (target - width) / (2 * (DIGIT_BOX - target))))
    if steps > 0:
        # Pad first so growing strokes are not cut at the crop's edge.
        return _morphology(np.pad(crop, steps), steps, np.maximum)
    if steps < 0:
        thinned = _morphology(crop, -steps, np.minimum)
        # Thinning must never erase the digit or fade it (blobs and odd
        # shapes can fool the width estimate); keep the original then.
        if float(thinned.max()) >= 0.9 * float(crop.max()):
            return _crop_to_ink(thinned)
    return crop


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resample ``image`` by ``scale``, anti-aliased, keeping every bit of ink."""
    weights = _box_weights if scale <= 1.0 else _bilinear_weights
    height, width = image.shape
    # The tolerance stops float error from adding an all-but-empty row.
    rows = weights(height, int(np.ceil(height * scale - 1e-6)), scale, 0.0)
    cols = weights(width, int(np.ceil(width * scale - 1e-6)), scale, 0.0)
    return rows @ image @ cols.T


def _morphology(image: np.ndarray, steps: int, op: np.ufunc) -> np.ndarray:
    """Grayscale dilation (op=np.maximum) or erosion (np.minimum) by ``steps`` px.

    Alternating 3x3 square and cross neighbourhoods grow an octagon, close
    enough to a round pen. Outside the image counts as background (0).
    """
    result = image
    for step in range(steps):
        padded = np.pad(result, 1)
        if step % 2 == 0:
            rows = op(op(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
            result = op(op(rows[:-2], rows[1:-1]), rows[2:])
        else:
            across = op(op(padded[1:-1, :-2], padded[1:-1, 1:-1]), padded[1:-1, 2:])
            result = op(op(padded[:-2, 1:-1], padded[2:, 1:-1]), across)
    return result


def _crop_to_ink(ink: np.ndarray, despeckle: bool = False) -> np.ndarray:
    """The bounding box of the ink; with ``despeckle``, of the digit only (see main_extent)."""
    if not despeckle:
        rows = np.flatnonzero(ink.any(axis=1))
        cols = np.flatnonzero(ink.any(axis=0))
        return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    gap = max(3, int(_SPECK_GAP * max(ink.shape)))
    top, bottom = main_extent(ink.sum(axis=1), gap)
    left, right = main_extent(ink[top : bottom + 1].sum(axis=0), gap)
    top, bottom = main_extent(ink[:, left : right + 1].sum(axis=1), gap)
    return ink[top : bottom + 1, left : right + 1]


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Centre of mass in continuous coordinates (pixel i spans [i, i+1))."""
    mass = float(image.sum())
    row_mass = image.sum(axis=1)
    col_mass = image.sum(axis=0)
    centre_y = float(row_mass @ np.arange(0.5, image.shape[0], dtype=np.float32)) / mass
    centre_x = float(col_mass @ np.arange(0.5, image.shape[1], dtype=np.float32)) / mass
    return centre_y, centre_x


def _placement_matrix(n_in: int, scale: float, centre: float) -> np.ndarray:
    """Matrix taking one axis of the crop into the field, scaled and centred.

    Input coordinate y lands at ``offset + scale * y`` in the field. The
    offset puts ``centre`` (the crop's centre of mass) on the field's centre,
    clamped so the scaled crop stays wholly inside the field.
    """
    extent = n_in * scale
    offset = _TARGET_CENTRE - centre * scale
    offset = min(max(offset, 0.0), FIELD_SIZE - extent)
    if scale <= 1.0:
        return _box_weights(n_in, FIELD_SIZE, scale, offset)
    return _bilinear_weights(n_in, FIELD_SIZE, scale, offset)


def _box_weights(n_in: int, n_out: int, scale: float, offset: float) -> np.ndarray:
    """Area averaging: each output pixel is the mean of the input it covers.

    Input coordinate y lands at ``offset + scale * y`` in the output.
    """
    # Output pixel i covers [lo_i, lo_i + 1/scale) of the input.
    low = (np.arange(n_out, dtype=np.float64) - offset) / scale
    high = low + 1.0 / scale
    edges = np.arange(n_in, dtype=np.float64)
    overlap = np.minimum(high[:, None], edges + 1.0) - np.maximum(low[:, None], edges)
    return (np.clip(overlap, 0.0, None) * scale).astype(np.float32)


def _bilinear_weights(n_in: int, n_out: int, scale: float, offset: float) -> np.ndarray:
    """Bilinear enlarging, confined to the scaled crop's own box.

    Sample positions are clamped to the outer pixel centres (edge pixels
    repeat rather than fade into black) and each field pixel is weighted by
    how much of it the box covers, so the digit is exactly ``n_in * scale``
    pixels long, like the area-averaged case.
    """
    field = np.arange(n_out, dtype=np.float64)
    position = (field + 0.5 - offset) / scale
    position = np.clip(position, 0.5, n_in - 0.5)
    centres = np.arange(n_in, dtype=np.float64) + 0.5
    weights = np.clip(1.0 - np.abs(position[:, None] - centres), 0.0, None)
    coverage = np.clip(np.minimum(field + 1, offset + n_in * scale) - np.maximum(field, offset), 0.0, 1.0)
    return (weights * coverage[:, None]).astype(np.float32)
