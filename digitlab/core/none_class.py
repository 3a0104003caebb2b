"""Teaching a network to say "none of these": noise mixed into every epoch.

A network with one output per digit always names a digit, even for pure
noise. Two remedies, chosen by ``TrainingConfig.none_class``:

- ``"exposure"``, outlier exposure (Hendrycks, Mazeika and Dietterich 2018,
  *Deep anomaly detection with outlier exposure*, arXiv 1812.04606): noise
  images are trained towards "no output lit". For sigmoid outputs (squared
  error) the target is all zeros; softmax outputs must sum to 1, so their
  target is uniform, 1/k on each of the k outputs, the least sure answer a
  softmax can give.
- ``"eleventh"``: noise images are labelled 10, the 11th "not a digit"
  output of an 11-output network (a 10-output network is refused).

Each epoch draws fresh noise from the training generator: the kinds of
:data:`digitlab.core.preprocess.NOISE_KINDS` in turn, :data:`NOISE_SHARE` of
the epoch's examples (the digits keep their number; noise is added).
"""

from __future__ import annotations

import numpy as np

from digitlab.core.preprocess import NOISE_KINDS, noise_image

#: Choices of ``TrainingConfig.none_class`` (None: no noise, a plain run).
METHODS = ("exposure", "eleventh")
#: The label of noise images with the "eleventh" method.
NONE_LABEL = 10
#: Share of each epoch's examples that are noise images.
NOISE_SHARE = 0.15


def method_problem(method) -> str | None:
    """A one-line description of why ``method`` is not a choice, or None."""
    if method is None or method in METHODS:
        return None
    return f"none_class must be one of {', '.join(METHODS)} or None, got {method!r}"


def check_method(method) -> None:
    """Raise ValueError (one line) unless ``method`` is None or one of :data:`METHODS`."""
    problem = method_problem(method)
    if problem:
        raise ValueError(problem)


def noise_count(network, method: str | None, n_digits: int) -> int:
    """How many noise images join each epoch of ``n_digits`` digits (0 without a method).

    Raises
    ------
    ValueError
        For an unknown method, or ``"eleventh"`` on a network without an 11th output.
    """
    check_method(method)
    if method is None:
        return 0
    outputs = network.sizes[-1]
    if method == "eleventh" and outputs <= NONE_LABEL:
        raise ValueError(
            f"the eleventh 'none of these' class needs a network with 11 outputs; this one has {outputs}")
    return max(1, round(n_digits * NOISE_SHARE / (1 - NOISE_SHARE)))


def noise_targets(network, method: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets ``(count, outputs)`` and labels ``(count,)`` of noise images.

    Exposure: zero targets for sigmoid outputs, uniform ``1/outputs`` for
    softmax; the labels are -1 (no digit). Eleventh: one-hot on output 10,
    labels 10.
    """
    outputs = network.sizes[-1]
    if method == "eleventh":
        targets = np.zeros((count, outputs), dtype=network.dtype)
        targets[:, NONE_LABEL] = 1
        return targets, np.full(count, NONE_LABEL, dtype=np.intp)
    value = 1 / outputs if network.output_activation == "softmax" else 0.0
    return np.full((count, outputs), value, dtype=network.dtype), np.full(count, -1, dtype=np.intp)


def noise_inputs(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` flat noise inputs ``(count, 784)`` float32, the kinds in turn."""
    if count == 0:
        return np.zeros((0, 784), dtype=np.float32)
    images = [noise_image(NOISE_KINDS[i % len(NOISE_KINDS)], rng) for i in range(count)]
    return np.stack(images).reshape(count, -1)


def mix_noise(inputs, targets, labels, count: int, network, method, rng: np.random.Generator):
    """One epoch's examples: the digits, then ``count`` fresh noise images.

    With ``count`` 0 the arrays come back unchanged and ``rng`` is not used,
    so a run without noise draws the same random numbers as before.

    Returns
    -------
    (inputs, targets, labels)
        Digits first: ``inputs[:len(labels)]`` are the digits as given.
    """
    if not count:
        return inputs, targets, labels
    noise_t, noise_l = noise_targets(network, method, count)
    x = np.concatenate([inputs, noise_inputs(count, rng).astype(inputs.dtype, copy=False)])
    return x, np.concatenate([targets, noise_t.astype(targets.dtype)]), np.concatenate([labels, noise_l])

