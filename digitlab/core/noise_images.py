"""Noise images, to show how the network answers nonsense.

Kept apart from :mod:`digitlab.core.preprocess` (which re-exports both names)
because they are made, not prepared.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NOISE_KINDS", "noise_image"]

NOISE_KINDS = ("uniform", "gaussian", "salt_and_pepper")
"""The kinds :func:`noise_image` can make."""

FIELD_SIZE = 28  # the network's input field (preprocess.FIELD_SIZE)


def noise_image(kind: str, rng: np.random.Generator, size: int = FIELD_SIZE) -> np.ndarray:
    """A random image, to see how the network answers something that is no digit.

    Parameters
    ----------
    kind : {"uniform", "gaussian", "salt_and_pepper"}
        ``uniform``: every pixel uniform in [0, 1]. ``gaussian``: normal with
        mean 0.5 and standard deviation 0.25, clipped to [0, 1].
        ``salt_and_pepper``: a black field where a random 10-20 % of the
        pixels are hit, each hit set to 1 (salt) or 0 (pepper) at random; on
        MNIST's black ground only the salt shows.
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same image.
    size : int, optional
        Side of the square image.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (size, size) in [0, 1].
    """
    shape = (size, size)
    if kind == "uniform":
        image = rng.random(shape, dtype=np.float32)
    elif kind == "gaussian":
        image = np.clip(rng.normal(0.5, 0.25, shape), 0.0, 1.0).astype(np.float32)
    elif kind == "salt_and_pepper":
        hit_fraction = rng.uniform(0.10, 0.20)
        hit = rng.random(shape) < hit_fraction
        salt = rng.random(shape) < 0.5
        image = (hit & salt).astype(np.float32)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}")
    return image
