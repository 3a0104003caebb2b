"""How a network's weights and biases lie in one flat array.

Every layer's weight matrix comes first, in layer order and row by row, then
every bias vector: the layout of ``Network.parameters``, which the training
child's shared memory (core/shared_weights.py) uses too. One flat array lets a
gradient step update all 13,002 numbers with one NumPy operation.
"""

from __future__ import annotations

import numpy as np


def split_parameters(flat: np.ndarray, sizes) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Per-layer weight and bias views into ``flat``, laid out as ``Network.parameters`` is.

    Views of a read-only ``flat`` are read-only too, and cannot be made writable.
    """
    shapes = [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    weights, biases, offset = [], [], 0
    for rows, cols in shapes:
        weights.append(flat[offset : offset + rows * cols].reshape(rows, cols))
        offset += rows * cols
    for rows, _ in shapes:
        biases.append(flat[offset : offset + rows])
        offset += rows
    if offset != flat.size:
        raise ValueError(f"{flat.size} parameters do not fit the layer sizes {tuple(sizes)}")
    return tuple(weights), tuple(biases)
