"""What a neuron responds to, drawn in the input's pixels.

A first-layer neuron has one weight per pixel, so its weights already are a
picture. A neuron deeper in the network sees the pixels only through the
layers before it; multiplying the weight matrices together gives the linear
part of that view (layer 2 neuron ``k``: ``sum_j W2[k, j] * W1[j]``). The
squashing functions in between are left out, so such a picture is a rough
guide to what the neuron looks for, not an exact template.

The weights view and the lessons use these functions; they are plain NumPy so
they can be tested without a window.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["activation_strength", "pixel_space_images", "symmetric_limit"]


def pixel_space_images(weights: Sequence[np.ndarray], layer: int) -> np.ndarray:
    """Each neuron of ``layer`` as a weighted sum over the input pixels.

    Parameters
    ----------
    weights : sequence of ndarray
        The network's weight matrices, ``weights[i]`` of shape
        ``(neurons in layer i+1, neurons in layer i)``. Never modified.
    layer : int
        1 is the first hidden layer, ``len(weights)`` the output layer.

    Returns
    -------
    ndarray
        float64 of shape ``(neurons in layer, inputs)``: ``weights[0]`` for
        layer 1, ``weights[layer-1] @ ... @ weights[0]`` deeper.

    Raises
    ------
    ValueError
        If ``layer`` is not between 1 and ``len(weights)``.
    """
    if not 1 <= layer <= len(weights):
        raise ValueError(f"layer must be between 1 and {len(weights)}, got {layer}")
    projection = np.asarray(weights[0], dtype=np.float64)
    for w in weights[1:layer]:
        projection = np.asarray(w, dtype=np.float64) @ projection
    return projection


def symmetric_limit(values: np.ndarray) -> float:
    """The ``m`` of symmetric colour levels ``-m .. +m`` for ``values``.

    Parameters
    ----------
    values : ndarray
        Any shape; NaN and infinite values are ignored.

    Returns
    -------
    float
        The largest finite absolute value rounded up to two significant
        digits, or 1.0 when there is none (or all are 0). The rounding keeps a
        colour bar still while training nudges the largest weight at every
        update.
    """
    values = np.asarray(values)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size else 0.0
    if limit <= 0:
        return 1.0
    step = 10.0 ** (math.floor(math.log10(limit)) - 1)
    return math.ceil(limit / step * (1 - 1e-12)) * step


def activation_strength(values: np.ndarray) -> np.ndarray:
    """Activations mapped to [0, 1], for drawing how active each neuron is.

    Parameters
    ----------
    values : ndarray
        One layer's activations.

    Returns
    -------
    ndarray
        float64 of the same shape. Values in [0, 1] (sigmoid) stay as they
        are; when the largest exceeds 1 (ReLU) all are divided by it;
        negative values (tanh) and NaN count as off (0).
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    scale = max(1.0, float(values.max(initial=0.0)))
    return np.clip(values / scale, 0.0, 1.0)
