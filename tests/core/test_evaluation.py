"""core.evaluation against hand-made outputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitlab.core import evaluation
from digitlab.core.datasets import load_sample
from digitlab.core.network import Network

# Five examples, three outputs. Answers: 1, 0, 2, 0, 1.
OUTPUTS = np.array([
    [0.10, 0.90, 0.00],  # label 1: right, margin 0.80
    [0.80, 0.15, 0.05],  # label 2: wrong (0), confidence 0.80
    [0.30, 0.30, 0.40],  # label 2: right, margin 0.10
    [0.95, 0.02, 0.03],  # label 1: wrong (0), confidence 0.95
    [0.40, 0.45, 0.15],  # label 0: wrong (1), confidence 0.45, margin 0.05
])
LABELS = np.array([1, 2, 2, 1, 0])


def test_accuracy_and_confusion_matrix():
    assert evaluation.accuracy(OUTPUTS, LABELS) == pytest.approx(2 / 5)
    confusion = evaluation.confusion_matrix(OUTPUTS, LABELS)
    expected = np.zeros((3, 3), dtype=int)
    for label, answer in zip(LABELS, [1, 0, 2, 0, 1]):
        expected[label, answer] += 1
    np.testing.assert_array_equal(confusion, expected)
    assert confusion.dtype == np.int64 and confusion.sum() == 5
    assert math.isnan(evaluation.accuracy(np.zeros((0, 3)), np.zeros(0)))


def test_confusion_matrix_refuses_labels_beyond_the_outputs():
    with pytest.raises(ValueError, match="labels must be from 0 to 2"):
        evaluation.confusion_matrix(OUTPUTS, np.array([0, 1, 2, 3, 0]))


def test_most_confidently_wrong_first():
    wrong = evaluation.confidently_wrong(OUTPUTS, LABELS, 2)
    assert [(m.index, m.label, m.predicted) for m in wrong] == [(3, 1, 0), (1, 2, 0)]
    assert [m.confidence for m in wrong] == pytest.approx([0.95, 0.80])
    assert wrong[0].to_json() == {"index": 3, "label": 1, "predicted": 0, "confidence": pytest.approx(0.95)}
    # Asking for more than there are gives all three mistakes, and no right answer.
    assert [m.index for m in evaluation.confidently_wrong(OUTPUTS, LABELS, 10)] == [3, 1, 4]
    assert evaluation.confidently_wrong(OUTPUTS, LABELS, 0) == []


def test_ties_keep_the_order_of_the_set():
    outputs = np.array([[0.2, 0.7], [0.7, 0.2], [0.2, 0.7], [0.7, 0.2]])
    labels = np.array([0, 1, 0, 1])  # all wrong, all at 0.7
    assert [m.index for m in evaluation.confidently_wrong(outputs, labels, 4)] == [0, 1, 2, 3]


def test_most_ambiguous_has_the_smallest_margin_right_or_wrong():
    ambiguous = evaluation.most_ambiguous(OUTPUTS, LABELS, 3)
    assert [m.index for m in ambiguous] == [4, 2, 1]  # margins 0.05, 0.10, 0.65 (then 0.80, 0.92)
    assert [m.margin for m in ambiguous] == pytest.approx([0.05, 0.10, 0.65])
    assert ambiguous[1].predicted == ambiguous[1].label == 2  # a right answer can be ambiguous too
    assert evaluation.most_ambiguous(np.zeros((0, 3)), np.zeros(0), 5) == []


def test_evaluate_a_network_in_chunks_equals_one_pass():
    split = load_sample()
    images, labels = split.val_images[:250], split.val_labels[:250]
    network = Network.create((784, 11), rng=np.random.default_rng(2))  # 11 outputs work too
    result = evaluation.evaluate(network, images, labels, chunk=64)
    direct = network.predict(images.reshape(250, -1) / np.float32(255))
    np.testing.assert_allclose(result.outputs, direct, rtol=1e-6)
    assert result.n == 250 and result.confusion_matrix().shape == (11, 11)
    assert result.correct == int(np.sum(direct.argmax(axis=1) == labels))
    assert result.accuracy == pytest.approx(result.correct / 250)
    worst = result.confidently_wrong(5)
    assert [m.confidence for m in worst] == sorted((m.confidence for m in worst), reverse=True)
    for m in worst:
        assert direct[m.index].argmax() == m.predicted != labels[m.index]
        assert direct[m.index].max() == pytest.approx(m.confidence)


def test_cell_examples_are_one_confusion_cell_most_confident_first():
    outputs = np.vstack([OUTPUTS, [[0.60, 0.10, 0.30]], [[0.99, 0.00, 0.01]]])  # two more 1s read as 0
    labels = np.append(LABELS, [1, 1])
    cell = evaluation.cell_examples(outputs, labels, 1, 0)
    assert [m.index for m in cell] == [6, 3, 5]  # confidences 0.99, 0.95, 0.60
    assert all((m.label, m.predicted) == (1, 0) for m in cell)
    confusion = evaluation.confusion_matrix(outputs, labels)
    for label in range(3):
        for answer in range(3):
            assert len(evaluation.cell_examples(outputs, labels, label, answer)) == confusion[label, answer]
    assert evaluation.Evaluation(outputs, labels).cell_examples(2, 2)[0].index == 2
    assert evaluation.cell_examples(np.zeros((0, 3)), np.zeros(0), 0, 0) == []


def test_evaluation_reports_progress_per_chunk_and_stops_when_cancelled():
    from digitlab.core.lessons.base import LessonCancelled

    split = load_sample()
    images, labels = split.val_images[:250], split.val_labels[:250]
    network = Network.create((784, 10), rng=np.random.default_rng(1))
    seen = []
    result = evaluation.evaluate(network, images, labels, chunk=100, progress=lambda f, m: seen.append(f))
    assert seen == pytest.approx([0.4, 0.8, 1.0]) and result.n == 250
    polls = []

    def cancel_after_two():
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(LessonCancelled):
        evaluation.evaluate(network, images, labels, chunk=100, progress=lambda f, m: seen.append(f),
                            cancel=cancel_after_two)
    assert len(polls) == 3 and seen[3:] == pytest.approx([0.4, 0.8])  # stopped before the third chunk
