"""The same network, written plainly: the reference the fast code is checked against.

:mod:`digitlab.core.network` is fast because it works in place, in one flat
buffer, and folds constants together. This module is what a learner would
write after Nielsen's chapter 2: each equation on its own line, new arrays
everywhere, every weighted input ``z`` kept. It is slower and easier to
trust, and the tests require one step of the fast code to equal one step
here, for every activation and cost.

:func:`reference_epoch` is the plain vectorised training loop (sigmoid and
squared error, as in the video) that ``digitlab bench`` times beside
DigitLab's own loop.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["activate", "activation_slope", "forward", "backprop", "train_step", "reference_epoch"]


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """``f(z)`` for "sigmoid" ``1 / (1 + e^-z)``, "tanh", "relu" ``max(z, 0)`` or "softmax"."""
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # the shift changes nothing but avoids overflow
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def activation_slope(name: str, z: np.ndarray) -> np.ndarray:
    """``f'(z)`` for the hidden-layer activations and the sigmoid."""
    if name == "sigmoid":
        s = activate("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown activation {name!r}")


def forward(weights, biases, x, activation: str, cost: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weighted inputs ``zs`` and activations ``activations`` of every layer, for a batch ``x`` (n, inputs)."""
    output = "softmax" if cost == "cross_entropy" else "sigmoid"
    activations, zs = [x], []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = activations[-1] @ w.T + b
        zs.append(z)
        last = layer == len(weights) - 1
        activations.append(activate(output if last else activation, z))
    return zs, activations


def backprop(weights, biases, x, targets, activation: str, cost: str):
    """Mean cost over the batch and its gradient, by Nielsen's equations BP1-BP4.

    Returns
    -------
    loss : float
    grad_w, grad_b : list of ndarray
        Derivatives of the mean cost, shaped like ``weights`` and ``biases``.
    """
    n = len(x)
    zs, activations = forward(weights, biases, x, activation, cost)
    a = activations[-1]
    if cost == "cross_entropy":
        loss = -np.sum(targets * np.log(a)) / n
        delta = a - targets  # BP1 for softmax with cross-entropy
    else:
        loss = 0.5 * np.sum((a - targets) ** 2) / n
        delta = (a - targets) * activation_slope("sigmoid", zs[-1])  # BP1
    grad_w = [None] * len(weights)
    grad_b = [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        grad_b[layer] = delta.sum(axis=0) / n  # BP3, averaged over the batch
        grad_w[layer] = delta.T @ activations[layer] / n  # BP4
        if layer > 0:
            delta = (delta @ weights[layer]) * activation_slope(activation, zs[layer - 1])  # BP2
    return float(loss), grad_w, grad_b


def train_step(weights, biases, x, targets, activation: str, cost: str, learning_rate: float,
               momentum: float = 0.0, velocity=None, weight_decay: float = 0.0):
    """One step of gradient descent, returning new parameters (the given ones are not changed).

    ``g = dC/dw + weight_decay * w`` (biases get no decay); with momentum
    ``m``: ``v = m * v - learning_rate * g`` and ``w = w + v``; without it,
    ``w = w - learning_rate * g``.

    Returns
    -------
    loss : float
        The batch's mean cost before the step.
    weights, biases : list of ndarray
    velocity : list of ndarray
        One per weight matrix, then one per bias vector (pass it to the next step).
    """
    loss, grad_w, grad_b = backprop(weights, biases, x, targets, activation, cost)
    grads = [g + weight_decay * w for g, w in zip(grad_w, weights)] + grad_b
    params = list(weights) + list(biases)
    if velocity is None:
        velocity = [np.zeros_like(p) for p in params]
    velocity = [momentum * v - learning_rate * g for v, g in zip(velocity, grads)]
    params = [p + v for p, v in zip(params, velocity)]
    return loss, params[: len(weights)], params[len(weights):], velocity


def reference_epoch(
    x: np.ndarray, labels: np.ndarray, batch_size: int, rng: np.random.Generator,
    sizes=(784, 16, 16, 10), learning_rate: float = 3.0,
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """One epoch of the textbook vectorised NumPy loop (sigmoid, squared error), timed.

    No flat buffers, no in-place tricks: what a learner would write after
    Nielsen's chapter 2, vectorised over the mini-batch, in float32. The
    clock covers what one epoch costs: drawing the shuffled order, gathering
    each mini-batch and the steps (not making the weights or the one-hot
    targets, which a training run does once).

    Returns
    -------
    seconds : float
        Duration of the epoch: shuffle, gathers and steps.
    weights, biases : list of numpy.ndarray
        The trained parameters (so a test can check that it really learns).
    """
    weights = [(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(n_out, dtype=np.float32) for n_out in sizes[1:]]
    targets = np.eye(sizes[-1], dtype=np.float32)[labels]
    start = time.perf_counter()
    order = rng.permutation(len(labels))
    for first in range(0, len(labels), batch_size):
        batch = order[first : first + batch_size]
        activations = [x[batch]]
        for w, b in zip(weights, biases):
            activations.append(1 / (1 + np.exp(-(activations[-1] @ w.T + b))))
        out = activations[-1]
        delta = (out - targets[batch]) * out * (1 - out)  # BP1
        step = np.float32(learning_rate / len(batch))
        for layer in range(len(weights) - 1, -1, -1):
            grad_w, grad_b = delta.T @ activations[layer], delta.sum(axis=0)  # BP4, BP3
            if layer > 0:
                a = activations[layer]
                delta = (delta @ weights[layer]) * a * (1 - a)  # BP2
            weights[layer] -= step * grad_w
            biases[layer] -= step * grad_b
    return time.perf_counter() - start, weights, biases
