"""How well a network reads a set of digits: accuracy, confusion matrix, mistakes.

Everything here works on a network's *outputs* for a set of images, one row
per image (:func:`network_outputs` computes them in chunks), and the true
labels. The number of outputs is whatever the network has (10, or 11 with a
"none of these" output).

Two kinds of mistake are worth a look:

- the *most confidently wrong*: wrong answers with the highest top output,
  where the network was sure and mistaken (often a badly written digit, or
  a wrong label in MNIST itself);
- the *most ambiguous*: the smallest margin between the top two outputs,
  right or wrong, where the network could hardly decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Digits per forward pass, to bound memory on the full MNIST.
CHUNK = 10_000


@dataclass(frozen=True)
class Mistake:
    """One example picked out of an evaluation.

    Attributes
    ----------
    index : int
        Position of the example in the evaluated set (in the IDX file).
    label : int
        The true digit.
    predicted : int
        The network's answer (the output with the largest value).
    confidence : float
        That largest output.
    margin : float
        Largest minus second-largest output (0 = a tie).
    """

    index: int
    label: int
    predicted: int
    confidence: float
    margin: float

    def to_json(self) -> dict:
        """``{"index", "label", "predicted", "confidence"}``, the CLI's keys."""
        return {"index": self.index, "label": self.label, "predicted": self.predicted,
                "confidence": self.confidence}


def network_outputs(network, images: np.ndarray, chunk: int = CHUNK, progress=None, cancel=None) -> np.ndarray:
    """The network's outputs for uint8 digits ``(n, 28, 28)``, ``(n, outputs)``.

    Computed ``chunk`` digits at a time, so the full MNIST needs little memory
    beyond the result, and a caller on another thread can follow and stop it.

    Parameters
    ----------
    progress : callable, optional
        ``progress(fraction, message)`` after each chunk.
    cancel : callable, optional
        Polled before each chunk; when it returns True,
        :class:`digitlab.core.lessons.base.LessonCancelled` is raised.
    """
    from digitlab.core.datasets import to_inputs
    from digitlab.core.lessons.base import LessonCancelled

    n_outputs = int(network.sizes[-1])
    if len(images) == 0:
        return np.zeros((0, n_outputs))
    chunks = []
    for start in range(0, len(images), chunk):
        if cancel is not None and cancel():
            raise LessonCancelled()
        chunks.append(np.asarray(network.predict(to_inputs(images[start:start + chunk]))))
        if progress is not None:
            progress(min(1.0, (start + chunk) / len(images)), "evaluating")
    return np.concatenate(chunks)


def predictions(outputs: np.ndarray) -> np.ndarray:
    """The answer per example: the index of its largest output (the first on a tie)."""
    return np.asarray(outputs).argmax(axis=1)


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Share of examples whose largest output is at the true label; NaN for none."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    return float(np.mean(predictions(outputs) == labels))


def confusion_matrix(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts of (true digit, answer) pairs.

    Parameters
    ----------
    outputs : numpy.ndarray
        ``(n, k)`` network outputs.
    labels : numpy.ndarray
        ``(n,)`` true digits, each below ``k``.

    Returns
    -------
    numpy.ndarray
        int64 ``(k, k)``: row = true digit, column = the network's answer.
    """
    outputs = np.asarray(outputs)
    labels = np.asarray(labels).astype(np.intp)
    n_classes = outputs.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be from 0 to {n_classes - 1} for a network with {n_classes} outputs")
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions(outputs)), 1)
    return confusion


def _top_two(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ordered = np.sort(outputs, axis=1)
    second = ordered[:, -2] if outputs.shape[1] > 1 else np.zeros(len(outputs))
    return ordered[:, -1], second


def _mistakes(outputs, labels, chosen) -> list[Mistake]:
    top, second = _top_two(outputs[chosen])
    answers = predictions(outputs[chosen])
    return [
        Mistake(int(i), int(labels[i]), int(p), float(t), float(t - s))
        for i, p, t, s in zip(chosen, answers, top, second)
    ]


def confidently_wrong(outputs: np.ndarray, labels: np.ndarray, count: int) -> list[Mistake]:
    """The ``count`` wrong answers with the largest top output, most confident first.

    Ties keep the order of the set (the lower index first). Fewer are
    returned when there are fewer wrong answers.
    """
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    wrong = np.flatnonzero(predictions(outputs) != labels)
    top = outputs[wrong].max(axis=1) if wrong.size else np.zeros(0)
    order = np.argsort(-top, kind="stable")[:count]
    return _mistakes(outputs, labels, wrong[order])


def most_ambiguous(outputs: np.ndarray, labels: np.ndarray, count: int) -> list[Mistake]:
    """The ``count`` examples, right or wrong, with the smallest top-two margin, smallest first.

    Ties keep the order of the set.
    """
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    if len(outputs) == 0:
        return []
    top, second = _top_two(outputs)
    order = np.argsort(top - second, kind="stable")[:count]
    return _mistakes(outputs, labels, order)


def cell_examples(outputs: np.ndarray, labels: np.ndarray, label: int, predicted: int) -> list[Mistake]:
    """Every example of true digit ``label`` answered ``predicted``, most confident first.

    One cell of the confusion matrix, as examples: their number is that
    cell's count. Ties keep the order of the set.
    """
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if len(outputs) == 0:
        return []
    chosen = np.flatnonzero((labels == label) & (predictions(outputs) == predicted))
    top = outputs[chosen].max(axis=1) if chosen.size else np.zeros(0)
    return _mistakes(outputs, labels, chosen[np.argsort(-top, kind="stable")])


@dataclass(frozen=True)
class Evaluation:
    """A network's outputs on a labelled set, and what follows from them."""

    outputs: np.ndarray
    labels: np.ndarray

    @property
    def n(self) -> int:
        return int(len(self.labels))

    @property
    def accuracy(self) -> float:
        return accuracy(self.outputs, self.labels)

    @property
    def correct(self) -> int:
        return int(np.sum(predictions(self.outputs) == np.asarray(self.labels)))

    def confusion_matrix(self) -> np.ndarray:
        return confusion_matrix(self.outputs, self.labels)

    def confidently_wrong(self, count: int) -> list[Mistake]:
        return confidently_wrong(self.outputs, self.labels, count)

    def most_ambiguous(self, count: int) -> list[Mistake]:
        return most_ambiguous(self.outputs, self.labels, count)

    def cell_examples(self, label: int, predicted: int) -> list[Mistake]:
        return cell_examples(self.outputs, self.labels, label, predicted)


def evaluate(network, images: np.ndarray, labels: np.ndarray, chunk: int = CHUNK,
             progress=None, cancel=None) -> Evaluation:
    """Run ``network`` on uint8 digits ``(n, 28, 28)`` with their ``labels``.

    ``progress`` and ``cancel`` as for :func:`network_outputs`.

    Returns
    -------
    Evaluation
        The outputs and labels; accuracy, confusion matrix and mistakes from them.
    """
    labels = np.asarray(labels).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return Evaluation(network_outputs(network, images, chunk, progress, cancel), labels)
