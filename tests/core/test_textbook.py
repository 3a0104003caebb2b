"""The textbook loop is the oracle: one fast step must equal one plain step, for every activation and cost."""

import numpy as np
import pytest

from digitlab.core import textbook
from digitlab.core.architecture import ACTIVATIONS, COSTS
from digitlab.core.datasets import load_sample, to_inputs
from digitlab.core.network import Network


def float64_network(sizes, activation, cost, seed=0):
    net = Network.create(sizes, activation, cost, rng=np.random.default_rng(seed))
    net = Network(net.sizes, activation, cost, net.weights, net.biases, dtype=np.float64)
    for b in net.biases:  # non-zero biases, so a step that mixed them up would be caught
        b[:] = np.random.default_rng(seed + 1).normal(scale=0.1, size=b.shape)
    return net


def batch(n, inputs, outputs, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, inputs)), np.eye(outputs)[rng.integers(0, outputs, n)]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("sizes", [(7, 5, 4, 3), (9, 11), (784, 16, 16, 11)])
def test_one_fast_step_equals_one_textbook_step(sizes, activation, cost):
    net = float64_network(sizes, activation, cost)
    x, targets = batch(8, sizes[0], sizes[-1])
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    expected_loss, weights, biases, _ = textbook.train_step(weights, biases, x, targets, activation, cost, 0.7)
    loss = net.train_step(x, targets, 0.7)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for fast, plain in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_allclose(fast, plain, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
def test_steps_with_momentum_and_weight_decay_equal_the_textbook(activation, cost):
    net = float64_network((7, 5, 4, 3), activation, cost, seed=2)
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    velocity = None
    for step in range(3):  # the velocity carries over between steps
        x, targets = batch(6, 7, 3, seed=10 + step)
        _, weights, biases, velocity = textbook.train_step(
            weights, biases, x, targets, activation, cost, 0.3, momentum=0.8, velocity=velocity, weight_decay=0.05
        )
        net.train_step(x, targets, 0.3, momentum=0.8, weight_decay=0.05)
    for fast, plain in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_allclose(fast, plain, rtol=1e-11, atol=1e-14)


def test_the_textbook_equations_are_themselves_right():
    """BP1-BP4 as written plainly, against central finite differences of the cost."""
    net = float64_network((5, 4, 3), "tanh", "cross_entropy")
    x, targets = batch(4, 5, 3)
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    _, grad_w, _ = textbook.backprop(weights, biases, x, targets, "tanh", "cross_entropy")
    eps = 1e-6
    numeric = np.zeros_like(weights[0])
    for index in np.ndindex(weights[0].shape):
        original = weights[0][index]
        costs = []
        for shift in (eps, -eps):
            weights[0][index] = original + shift
            costs.append(textbook.backprop(weights, biases, x, targets, "tanh", "cross_entropy")[0])
        weights[0][index] = original
        numeric[index] = (costs[0] - costs[1]) / (2 * eps)
    np.testing.assert_allclose(grad_w[0], numeric, rtol=1e-6, atol=1e-9)


def test_reference_epoch_steps_like_the_network():
    """The benchmark's plain loop does the same maths as DigitLab's: one full batch, one step, same result."""
    split = load_sample(val_size=1)
    x, labels = to_inputs(split.train_images[:500]), split.train_labels[:500]
    _, weights, biases = textbook.reference_epoch(x, labels, 500, np.random.default_rng(4))
    # The same initial weights as reference_epoch draws them.
    rng = np.random.default_rng(4)
    sizes = (784, 16, 16, 10)
    start = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    net = Network(sizes, "sigmoid", "mse", start, [np.zeros(o, np.float32) for o in sizes[1:]])
    net.train_step(x, np.eye(10, dtype=np.float32)[labels], 3.0)
    assert not np.allclose(net.weights[-1], start[-1])  # it did move
    for fast, plain in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-6)


def test_reference_epoch_learns():
    # Comparing with a reference loop that does not really train would be meaningless.
    split = load_sample()
    x, labels = to_inputs(split.train_images[:3000]), split.train_labels[:3000]
    seconds, weights, biases = textbook.reference_epoch(x, labels, 10, np.random.default_rng(0))
    assert seconds > 0
    trained = Network((784, 16, 16, 10), "sigmoid", "mse", weights, biases)
    _, accuracy = trained.evaluate(to_inputs(split.val_images), split.val_labels)
    assert accuracy > 0.6


def test_unknown_activations_are_refused():
    with pytest.raises(ValueError):
        textbook.activate("swish", np.zeros(2))
    with pytest.raises(ValueError):
        textbook.activation_slope("softmax", np.zeros(2))
