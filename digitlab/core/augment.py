"""Training-data augmentation: more varied digits from the same examples.

A network trained on a few thousand digits learns their exact positions,
sizes and slants. Moving each training digit a little at random, every epoch,
shows it the same digit in many plausible ways, so it learns the shape and
not the pixels (Simard et al. 2003 used such distortions on MNIST).
"""

from __future__ import annotations

import numpy as np

from digitlab.core.preprocess import InvalidImageError

__all__ = ["augment"]


# Augmenting the full 60,000-image training set at once would need
# gigabytes of coordinate arrays; batches of this many keep it to ~50 MB.
_AUGMENT_CHUNK = 2048


def augment(
    images_uint8: np.ndarray,
    rng: np.random.Generator,
    max_shift: float = 2,
    max_rotation_deg: float = 12,
    max_scale: float = 0.1,
) -> np.ndarray:
    """Move, turn and resize each digit a little, at random.

    Training on such copies teaches the network that a digit drawn a bit
    off-centre, tilted or bigger than usual is still the same digit, which
    is what users' drawings are like.

    Parameters
    ----------
    images_uint8 : numpy.ndarray
        uint8 images, shape (N, H, W) or flattened (N, H*W) with square
        images.
    rng : numpy.random.Generator
        Source of the random moves; the same seed gives the same result.
    max_shift : float, optional
        Largest shift along each axis, in pixels (uniform in +/- this).
    max_rotation_deg : float, optional
        Largest rotation about the image centre, in degrees.
    max_scale : float, optional
        Largest relative change of size (factor uniform in 1 +/- this).

    Returns
    -------
    numpy.ndarray
        uint8 array of the input's shape. Pixels are sampled bilinearly;
        parts moved in from outside the image are black.
    """
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8:
        raise InvalidImageError(f"augment: expected uint8 images, got {images.dtype}")
    square = _as_square_batch(images)
    count = square.shape[0]
    # Draw every parameter up front so the result does not depend on the
    # chunk size.
    shifts = rng.uniform(-max_shift, max_shift, size=(count, 2))
    angles = np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg, size=count))
    scales = rng.uniform(1 - max_scale, 1 + max_scale, size=count)
    out = np.empty_like(square)
    for start in range(0, count, _AUGMENT_CHUNK):
        part = slice(start, start + _AUGMENT_CHUNK)
        out[part] = _affine_batch(square[part], shifts[part], angles[part], scales[part])
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


def _affine_batch(
    images: np.ndarray, shifts: np.ndarray, angles: np.ndarray, scales: np.ndarray
) -> np.ndarray:
    """Bilinearly resample each image under its own rotation, scale and shift."""
    count, height, width = images.shape
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    # Output pixel p comes from source s = R(-angle) (p - centre - shift) / scale + centre.
    dy = grid_y[None] - np.float32(centre_y) - shifts[:, 0, None, None].astype(np.float32)
    dx = grid_x[None] - np.float32(centre_x) - shifts[:, 1, None, None].astype(np.float32)
    cos = (np.cos(angles) / scales).astype(np.float32)[:, None, None]
    sin = (np.sin(angles) / scales).astype(np.float32)[:, None, None]
    source_y = cos * dy - sin * dx + np.float32(centre_y)
    source_x = sin * dy + cos * dx + np.float32(centre_x)
    return _bilinear_sample(images, source_y, source_x)


def _bilinear_sample(images: np.ndarray, source_y: np.ndarray, source_x: np.ndarray) -> np.ndarray:
    """Sample ``images[n]`` at fractional positions; outside the image is 0."""
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
    values = top * (1 - fy) + bottom * fy
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
