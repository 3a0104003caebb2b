"""The nudges lesson: one example's gradient by backprop, checked against finite differences, and one step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab.core.datasets import load_sample
from digitlab.core.lessons import base, get_lesson, nudges
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network
from digitlab.core.training import DEFAULT_LEARNING_RATES

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = {"lesson", "label", "predicted_before", "predicted_after", "cost_before", "cost_after",
        "output_before", "output_after", "grad_norm_by_layer"}


def tiny_network(cost: str = "mse", activation: str = "sigmoid", seed: int = 0) -> Network:
    """A small float64 network, so finite differences are precise."""
    made = Network.create((784, 5, 4, 10), activation=activation, cost=cost, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    biases = [rng.normal(0, 0.5, b.shape) for b in made.biases]
    return Network(made.sizes, activation, cost, [w.astype(np.float64) * 3 for w in made.weights], biases,
                   dtype=np.float64)


def example(seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28))


def cost_of(network: Network, image: np.ndarray, label: int) -> float:
    outputs = network.predict(image.reshape(-1))
    return network.cost_value(outputs[None, :], nudges.wanted_outputs(network, label)[None, :])


@pytest.fixture(scope="module")
def shipped():
    return load_default_model()[0]


@pytest.fixture(scope="module")
def validation():
    split = load_sample()
    return split.val_images.astype(np.float32) / 255, split.val_labels.astype(int)


# ----------------------------------------------------------------- gradient


@pytest.mark.parametrize("cost,activation", [("mse", "sigmoid"), ("cross_entropy", "tanh")])
def test_first_layer_images_are_the_cost_gradient_by_finite_differences(cost, activation):
    network = tiny_network(cost, activation)
    image, label = example(), 3
    seen = nudges.analyse(network, image, label)
    images = seen.first_layer_images()
    assert images.shape == (5, 28, 28)
    # The network's own backprop, row i reshaped, is what is shown.
    _, grad_w, _ = network.gradients(image.reshape(1, -1), seen.wanted[None, :])
    np.testing.assert_array_equal(images, grad_w[0].reshape(5, 28, 28))
    # And it is the derivative of this example's cost, weight by weight.
    rng = np.random.default_rng(5)
    h = 1e-6
    for _ in range(25):
        neuron, row, col = int(rng.integers(5)), int(rng.integers(28)), int(rng.integers(28))
        weight = network.weights[0][neuron, 28 * row + col]
        network.weights[0][neuron, 28 * row + col] = weight + h
        up = cost_of(network, image, label)
        network.weights[0][neuron, 28 * row + col] = weight - h
        down = cost_of(network, image, label)
        network.weights[0][neuron, 28 * row + col] = weight
        assert images[neuron, row, col] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


def test_grad_norm_per_weight_layer_matches_finite_differences():
    network = tiny_network()
    image, label = example(3), 7
    seen = nudges.analyse(network, image, label)
    norms = seen.grad_norm_by_layer
    assert norms.shape == (len(network.weights),) == (3,)
    h = 1e-6
    for layer in (1, 2):  # the small layers, every weight
        w = network.weights[layer]
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            keep = w[index]
            w[index] = keep + h
            up = cost_of(network, image, label)
            w[index] = keep - h
            down = cost_of(network, image, label)
            w[index] = keep
            numeric[index] = (up - down) / (2 * h)
        assert norms[layer] == pytest.approx(np.linalg.norm(numeric), rel=1e-6)
    assert norms[0] == pytest.approx(np.linalg.norm(seen.first_layer_images()), rel=1e-12)


def test_wanted_outputs_nudges_and_cost():
    network = tiny_network()
    image = example()
    seen = nudges.analyse(network, image, 4)
    np.testing.assert_array_equal(seen.wanted, np.eye(10)[4])
    np.testing.assert_allclose(seen.outputs, network.predict(image.reshape(-1)))
    np.testing.assert_allclose(seen.nudges, np.eye(10)[4] - seen.outputs)
    # The video's cost: half the sum of the squared nudges.
    assert seen.cost == pytest.approx(0.5 * float(np.sum(seen.nudges ** 2)), rel=1e-12)
    assert seen.predicted == int(np.argmax(seen.outputs))


def test_step_is_minus_rate_times_gradient_on_a_copy():
    network = tiny_network()
    before = network.parameters.copy()
    image, label = example(), 2
    seen = nudges.analyse(network, image, label)
    stepped = nudges.step(network, image, label, learning_rate=0.7)
    np.testing.assert_array_equal(network.parameters, before)  # the given network is untouched
    assert stepped is not network
    for layer in range(3):
        np.testing.assert_allclose(stepped.weights[layer], network.weights[layer] - 0.7 * seen.grad_w[layer],
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(stepped.biases[layer], network.biases[layer] - 0.7 * seen.grad_b[layer],
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
def test_default_rate_is_trainings_for_the_cost(cost):
    network = tiny_network(cost)
    result = nudges.run(nudges.Config(network=network, image=example(), label=1), np.random.default_rng(0))
    assert result.learning_rate == DEFAULT_LEARNING_RATES[cost]
    given = nudges.run(nudges.Config(network=network, image=example(), label=1, learning_rate=0.05),
                       np.random.default_rng(0))
    assert given.learning_rate == 0.05
    expected = nudges.analyse(nudges.step(network, example(), 1, 0.05), example(), 1)
    assert given.after.cost == expected.cost


# ------------------------------------------------------ the shipped network


def test_one_step_lowers_the_cost_and_raises_the_wanted_output(shipped, validation):
    images, labels = validation
    before = shipped.parameters.copy()
    for index in range(20):
        image, right = images[index], int(labels[index])
        outputs = shipped.predict(image.reshape(-1))
        runner_up = next(int(d) for d in np.argsort(outputs)[::-1] if d != right)
        for label in (right, runner_up):
            result = nudges.run(nudges.Config(network=shipped, image=image, label=label), np.random.default_rng(0))
            assert result.learning_rate == 3.0
            if result.before.outputs[label] > 0.999:
                # Already all but 1: what one step adds is below float32's resolution there.
                assert result.after.outputs[label] > 0.999, (index, label)
                continue
            assert result.after.cost < result.before.cost, (index, label)
            assert result.after.outputs[label] > result.before.outputs[label], (index, label)
            assert "as the nudges asked" in result.summary()
    np.testing.assert_array_equal(shipped.parameters, before)


def test_repeated_steps_teach_a_wrong_label_and_undo_goes_back(shipped, validation):
    images, labels = validation
    for index in range(5):
        image = images[index]
        wrong = (int(labels[index]) + 3) % 10
        stepper = nudges.Stepper(shipped)
        snapshots = [stepper.network.parameters.copy()]
        while nudges.analyse(stepper.network, image, wrong).predicted != wrong:
            assert stepper.steps < 50, index
            stepper.step(image, wrong)
            snapshots.append(stepper.network.parameters.copy())
        assert stepper.steps >= 1
        for _ in range(stepper.steps):
            assert stepper.undo()
            np.testing.assert_array_equal(stepper.network.parameters, snapshots[stepper.steps])
        assert not stepper.undo()
        np.testing.assert_array_equal(stepper.network.parameters, shipped.parameters)
        assert stepper.network is not shipped


def test_step_outcome_names_saturation_and_overshoot():
    network = tiny_network()
    seen = nudges.analyse(network, example(), 0)

    def changed(cost, output):
        outputs = seen.outputs.copy()
        outputs[0] = output
        return nudges.Nudges(0, outputs, seen.wanted, cost, seen.grad_w, seen.grad_b)

    low = changed(0.9, 0.01)
    assert "as the nudges asked" in nudges.step_outcome(low, changed(0.8, 0.02))
    assert "overshot" in nudges.step_outcome(low, changed(0.95, 0.02))
    assert "flat" in nudges.step_outcome(low, changed(0.8, 0.005))
    high = changed(0.1, 0.6)
    assert "other outputs" in nudges.step_outcome(high, changed(0.09, 0.59))


# ----------------------------------------------------- result and checks


def test_json_has_exactly_the_issue_keys(shipped, validation):
    images, _ = validation
    result = nudges.run(nudges.Config(network=shipped, image=images[0], label=6), np.random.default_rng(0))
    data = base.json_safe(result.to_json())
    assert set(data) == KEYS
    json.dumps(data, allow_nan=False)
    assert data["lesson"] == "nudges" and data["label"] == 6
    assert len(data["output_before"]) == len(data["output_after"]) == 10
    assert len(data["grad_norm_by_layer"]) == 3
    assert data["cost_before"] == pytest.approx(result.before.cost)
    assert data["predicted_before"] == int(np.argmax(data["output_before"]))


def test_the_module_has_the_lesson_interface_and_is_registered():
    assert base.missing_attributes(nudges) == []
    assert get_lesson("nudges") is nudges
    assert nudges.USES_MODEL


def test_bad_label_rate_and_image_are_one_line_value_errors():
    network = tiny_network()
    for label in (10, -1, 2.0, True):
        with pytest.raises(ValueError, match="from 0 to 9"):
            nudges.analyse(network, example(), label)
    with pytest.raises(ValueError, match="positive"):
        nudges.step(network, example(), 1, learning_rate=-1.0)
    with pytest.raises(ValueError, match="784 pixels"):
        nudges.analyse(network, np.zeros((10, 10)), 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nudges.analyse(network, example() * 255, 1)


def test_the_default_config_runs_on_a_validation_digit(shipped, validation):
    # The benchmark runs every lesson's Config() with the shipped network.
    images, _ = validation
    result = nudges.run(nudges.Config(network=shipped, index=3), np.random.default_rng(0))
    expected = nudges.run(nudges.Config(network=shipped, image=images[3]), np.random.default_rng(0))
    assert result.to_json() == expected.to_json()
    assert result.label == 0 and result.source == "validation digit 3"
    assert nudges.run(nudges.Config(), np.random.default_rng(0)).source == "validation digit 0"


def test_figure_shows_bars_mosaic_and_norms(shipped, validation):
    images, _ = validation
    result = nudges.run(nudges.Config(network=shipped, image=images[1], label=2), np.random.default_rng(0))
    fig = nudges.figure(result)
    outputs, gradient, sizes = fig.panels
    np.testing.assert_array_equal(outputs.bars[1].heights, result.before.outputs)
    np.testing.assert_array_equal(outputs.bars[2].heights, result.after.outputs)
    assert gradient.image.diverging
    assert gradient.image.data.shape == (4 * 29 - 1, 4 * 29 - 1)  # 16 neurons in a 4x4 grid
    np.testing.assert_array_equal(gradient.image.data[29:57, 0:28], result.before.first_layer_images()[4])
    np.testing.assert_array_equal(sizes.bars[0].heights, result.before.grad_norm_by_layer)


def test_core_module_imports_no_qt():
    code = ("import sys, digitlab.core.lessons.nudges as n; "
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr

