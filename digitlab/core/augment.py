"""Training-data augmentation: more varied digits from the same examples.

A network trained on a few thousand digits learns their exact positions,
sizes and slants. Changing each training digit a little at random, every
epoch, shows it the same digit in many plausible ways, so it learns the shape
and not the pixels. The changes copy how people's writing differs:

- position, size and a small turn (the writer's hand and paper);
- width (aspect ratio): tall narrow digits and wide round ones;
- slant (a shear): upright and italic hands;
- stroke thickness: fine pens and markers (a grey-level dilation or erosion,
  blended in partially so a 28x28 digit changes by a fraction of a pixel);
- elastic distortion (Simard, Steinkraus and Platt 2003, "Best practices for
  convolutional neural networks applied to visual document analysis"): every
  pixel moves by a random displacement field smoothed by a Gaussian of width
  ``sigma`` and scaled by ``alpha``, which wobbles the strokes the way a hand
  does without breaking them.

All of it runs on a whole batch at once: one affine map per digit plus its
displacement field gives every output pixel a source position, sampled
bilinearly; the Gaussian smoothing is a pair of matrix products.
"""

from __future__ import annotations

import numpy as np

from digitlab.core.preprocess import InvalidImageError

__all__ = ["augment"]


# Augmenting the full 60,000-image training set at once would need
# gigabytes of coordinate arrays; batches of this many keep it to ~50 MB.
_AUGMENT_CHUNK = 2048

# Erosion removes whole pixels of a 28x28 digit whose strokes are 2-3 px wide:
# blending in at most this much of it thins strokes without breaking them.
_MAX_ERODE = 0.4


def augment(
    images_uint8: np.ndarray,
    rng: np.random.Generator,
    max_shift: float = 2,
    max_rotation_deg: float = 10,
    max_scale: float = 0.1,
    *,
    aspect_range: tuple[float, float] = (0.7, 1.15),
    max_shear: float = 0.3,
    max_thickness: float = 0.6,
    elastic_alpha: float = 1.5,
    elastic_sigma: float = 3.0,
) -> np.ndarray:
    """Move, turn, resize, narrow, slant, thicken and wobble each digit, at random.

    Training on such copies teaches the network that a digit drawn a bit
    off-centre, tilted, narrower, slanted, with another pen or a less steady
    hand is still the same digit, which is what people's handwriting is like.
    Every parameter is drawn independently per image; zero (or an aspect
    range of ``(1, 1)``) switches that change off.

    Parameters
    ----------
    images_uint8 : numpy.ndarray
        uint8 images, shape (N, H, W) or flattened (N, H*W) with square
        images.
    rng : numpy.random.Generator
        Source of the random changes; the same seed gives the same result.
    max_shift : float, optional
        Largest shift along each axis, in pixels (uniform in +/- this).
    max_rotation_deg : float, optional
        Largest rotation about the image centre, in degrees.
    max_scale : float, optional
        Largest relative change of size (factor uniform in 1 +/- this).
    aspect_range : (float, float), optional
        Range of the extra horizontal stretch (log-uniform): below 1 makes
        the digit narrower, above 1 wider.
    max_shear : float, optional
        Largest slant: the top moves sideways by up to this times the
        height relative to the bottom, either way.
    max_thickness : float, optional
        Largest change of stroke thickness, as the share of a one-pixel
        dilation blended in (thicker) or of an erosion (thinner, at most
        40 % of it).
    elastic_alpha : float, optional
        Largest scale of the elastic displacement field: the root-mean-square
        move of a pixel, in pixels (0 turns it off). Each image draws its own
        scale uniformly in [0, alpha].
    elastic_sigma : float, optional
        Width of the Gaussian that smooths the field, in pixels: larger is
        a gentler, more global wobble.

    Returns
    -------
    numpy.ndarray
        uint8 array of the input's shape. Pixels are sampled bilinearly;
        parts moved in from outside the image are black.
    """
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8:
        raise InvalidImageError(f"augment: expected uint8 images, got {images.dtype}")
    low_aspect, high_aspect = aspect_range
    if not 0 < low_aspect <= high_aspect:
        raise ValueError(f"augment: aspect range must be 0 < low <= high, got {aspect_range}")
    square = _as_square_batch(images)
    count, side = square.shape[0], square.shape[1]
    # Draw every parameter up front so the result does not depend on the
    # chunk size.
    params = {
        "shifts": rng.uniform(-max_shift, max_shift, size=(count, 2)),
        "angles": np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg, size=count)),
        "scales": rng.uniform(1 - max_scale, 1 + max_scale, size=count),
        "aspects": np.exp(rng.uniform(np.log(low_aspect), np.log(high_aspect), size=count)),
        "shears": rng.uniform(-max_shear, max_shear, size=count),
        "thickness": rng.uniform(-max_thickness, max_thickness, size=count),
    }
    elastic = elastic_alpha > 0 and elastic_sigma > 0
    if elastic:
        params["fields"] = rng.uniform(-1, 1, size=(count, 2, side, side)).astype(np.float32)
        params["alphas"] = rng.uniform(0, elastic_alpha, size=count).astype(np.float32)
    smoother = _gaussian_matrix(side, elastic_sigma) if elastic else None
    out = np.empty_like(square)
    for start in range(0, count, _AUGMENT_CHUNK):
        part = slice(start, start + _AUGMENT_CHUNK)
        chunk = {key: value[part] for key, value in params.items()}
        out[part] = _distort_batch(square[part], chunk, smoother)
    return out.reshape(images.shape)


def _as_square_batch(images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        return images
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side == images.shape[1]:
            return images.reshape(images.shape[0], side, side)
    raise InvalidImageError(
        f"augment: expected images of shape (N, H, W) or (N, side*side), got {images.shape}"
    )


def _gaussian_matrix(side: int, sigma: float) -> np.ndarray:
    """Matrix G with ``G @ f @ G.T`` a Gaussian blur of an (side, side) field.

    Rows are normalised, so near the edges the blur averages only what is
    inside (a field that is constant stays constant).
    """
    positions = np.arange(side, dtype=np.float64)
    weights = np.exp(-0.5 * ((positions[:, None] - positions[None, :]) / sigma) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


def _distort_batch(images: np.ndarray, params: dict, smoother: np.ndarray | None) -> np.ndarray:
    """Resample each image under its own affine map and displacement field, then re-pen it."""
    count, height, width = images.shape
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    inverse = _inverse_affine(params)  # (count, 2, 2): output offset -> source offset, in (y, x)
    # Output pixel p comes from source s = A^-1 (p - centre - shift) + centre.
    dy = grid_y[None] - np.float32(centre_y) - params["shifts"][:, 0, None, None].astype(np.float32)
    dx = grid_x[None] - np.float32(centre_x) - params["shifts"][:, 1, None, None].astype(np.float32)
    source_y = inverse[:, 0, 0, None, None] * dy + inverse[:, 0, 1, None, None] * dx + np.float32(centre_y)
    source_x = inverse[:, 1, 0, None, None] * dy + inverse[:, 1, 1, None, None] * dx + np.float32(centre_x)
    if smoother is not None:
        displacement = _elastic_displacement(params["fields"], params["alphas"], smoother)
        source_y += displacement[:, 0]
        source_x += displacement[:, 1]
    values = _bilinear_sample(images, source_y, source_x)
    values = _change_thickness(values, params["thickness"].astype(np.float32))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _inverse_affine(params: dict) -> np.ndarray:
    """Per image, the inverse of rotation @ shear @ scale, as float32 (count, 2, 2) in (y, x).

    The forward map widens x by ``scale * aspect`` and y by ``scale``, slants
    (x += -shear * y, so with y pointing down a positive shear leans the top
    to the right), then turns.
    """
    angles, shears = params["angles"], params["shears"]
    scale_y = params["scales"]
    scale_x = params["scales"] * params["aspects"]
    cos, sin = np.cos(angles), np.sin(angles)
    # Columns: coefficient of (y, x) of the source offset. Forward maps, in (y, x):
    # scale: (y, x) -> (sy*y, sx*x); shear: (y, x) -> (y, x - shear*y);
    # rotation: (y, x) -> (cos*y + sin*x, -sin*y + cos*x).
    forward = np.empty((len(angles), 2, 2))
    forward[:, 0, 0] = (cos - sin * shears) * scale_y
    forward[:, 0, 1] = sin * scale_x
    forward[:, 1, 0] = (-sin - cos * shears) * scale_y
    forward[:, 1, 1] = cos * scale_x
    return np.linalg.inv(forward).astype(np.float32)


def _elastic_displacement(fields: np.ndarray, alphas: np.ndarray, smoother: np.ndarray) -> np.ndarray:
    """Simard et al.'s displacement: uniform noise, Gaussian-smoothed, scaled to ``alpha``.

    The smoothed field is normalised to unit root-mean-square before scaling,
    so ``alpha`` is the typical displacement in pixels whatever ``sigma`` is
    (Simard's raw alpha of 34 with sigma 4 moves pixels by about 1.4 px).
    """
    smooth = smoother @ fields @ smoother.T  # (count, 2, side, side), blurred along both axes
    rms = np.sqrt(np.mean(smooth**2, axis=(1, 2, 3), keepdims=True)) + np.float32(1e-6)
    return smooth * (alphas[:, None, None, None] / rms)


def _change_thickness(values: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Blend in a 3x3 grey-level dilation (amount > 0) or erosion (amount < 0)."""
    thicker = amounts > 0
    thinner = amounts < 0
    result = values
    if thicker.any():
        grown = _cross_filter(values[thicker], np.maximum)
        share = amounts[thicker, None, None]
        result[thicker] = values[thicker] + share * (grown - values[thicker])
    if thinner.any():
        shrunk = _cross_filter(values[thinner], np.minimum)
        share = -_MAX_ERODE * amounts[thinner, None, None]
        result[thinner] = values[thinner] + share * (shrunk - values[thinner])
    return result


def _cross_filter(images: np.ndarray, op: np.ufunc) -> np.ndarray:
    """Max or min over each pixel and its four neighbours (outside counts as 0)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    middle = padded[:, 1:-1, 1:-1]
    result = op(middle, padded[:, :-2, 1:-1])
    op(result, padded[:, 2:, 1:-1], out=result)
    op(result, padded[:, 1:-1, :-2], out=result)
    op(result, padded[:, 1:-1, 2:], out=result)
    return result


def _bilinear_sample(images: np.ndarray, source_y: np.ndarray, source_x: np.ndarray) -> np.ndarray:
    """Sample ``images[n]`` at fractional positions, as float32; outside the image is 0."""
    count, height, width = images.shape
    # One zero pixel of padding all round makes "outside" read as black
    # without masking every corner separately.
    padded = np.zeros((count, height + 2, width + 2), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    flat = padded.reshape(-1)
    y = np.clip(source_y + 1, 0, height + 1 - 1e-3)
    x = np.clip(source_x + 1, 0, width + 1 - 1e-3)
    y0 = np.floor(y).astype(np.intp)
    x0 = np.floor(x).astype(np.intp)
    fy = y - y0
    fx = x - x0
    y1 = np.minimum(y0 + 1, height + 1)
    x1 = np.minimum(x0 + 1, width + 1)
    base = (np.arange(count, dtype=np.intp) * (height + 2) * (width + 2))[:, None, None]
    row0 = base + y0 * (width + 2)
    row1 = base + y1 * (width + 2)
    top = flat[row0 + x0] * (1 - fx) + flat[row0 + x1] * fx
    bottom = flat[row1 + x0] * (1 - fx) + flat[row1 + x1] * fx
    return top * (1 - fy) + bottom * fy
