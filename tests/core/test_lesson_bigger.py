"""The "bigger" lesson: two networks read the same digits; known answers from handmade networks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitlab.core.lessons import bigger
from digitlab.core.lessons.base import LessonCancelled, json_safe
from digitlab.core.model_io import load_bundled_model
from digitlab.core.network import Network

# The answer each handmade network gives for an image of digit k (pixel k lit): see pixel_networks().
DEFAULT_ANSWERS = [0, 1, 2, 3, 4, 0, 0, 1, 0, 9]   # 5, 6, 7 and 8 wrong
BIGGER_ANSWERS = [0, 1, 2, 3, 4, 5, 6, 1, 8, 8]    # 7 and 9 wrong
#: How many digits of each class the tiny data set holds: 1 zero, 2 ones, ... 10 nines (55 in all).
COUNTS = np.arange(1, 11)


def pixel_digits(counts=COUNTS) -> tuple[np.ndarray, np.ndarray]:
    """A tiny data set whose digit k is an image with only pixel k lit."""
    labels = np.repeat(np.arange(10), counts)
    images = np.zeros((labels.size, 28, 28), dtype=np.uint8)
    images.reshape(labels.size, -1)[np.arange(labels.size), labels] = 255
    return images, labels


def pixel_networks() -> dict:
    """Two networks whose answers for pixel k are DEFAULT_ANSWERS[k] and BIGGER_ANSWERS[k].

    "default": 784-10, sigmoid, squared error (7,850 parameters). "bigger": 784-10-10, ReLU hidden
    neurons copying pixels 0-9, softmax outputs (7,850 + 110 = 7,960 parameters).
    """
    small = Network.create((784, 10), "sigmoid", "mse", rng=np.random.default_rng(0))
    small.weights[0][:] = 0
    small.biases[0][:] = -10
    for pixel, answer in enumerate(DEFAULT_ANSWERS):
        small.weights[0][answer, pixel] = 20
    big = Network.create((784, 10, 10), "relu", "cross_entropy", rng=np.random.default_rng(0))
    big.weights[0][:] = 0
    big.weights[0][np.arange(10), np.arange(10)] = 1
    big.biases[0][:] = 0
    big.weights[1][:] = 0
    big.biases[1][:] = 0
    for pixel, answer in enumerate(BIGGER_ANSWERS):
        big.weights[1][answer, pixel] = 10
    return {"default": small, "bigger": big}


def known_config(**changes) -> bigger.BiggerConfig:
    return bigger.BiggerConfig(**{"networks": pixel_networks(), "digits": pixel_digits(), **changes})


@pytest.fixture(scope="module")
def known():
    return bigger.run(known_config(), np.random.default_rng(0))


@pytest.fixture(scope="module")
def bundled():
    """The real bundled pair on the bundled sample's 1,000 validation digits."""
    return bigger.run(bigger.BiggerConfig(), np.random.default_rng(0))


def test_accuracies_and_who_reads_what_are_the_known_ones(known):
    assert known.n_digits == 55
    assert known.accuracy("default") == pytest.approx((1 + 2 + 3 + 4 + 5 + 10) / 55)
    assert known.accuracy("bigger") == pytest.approx((1 + 2 + 3 + 4 + 5 + 6 + 7 + 9) / 55)
    assert known.per_digit_accuracy("default") == [1, 1, 1, 1, 1, 0, 0, 0, 0, 1]
    assert known.per_digit_accuracy("bigger") == [1, 1, 1, 1, 1, 1, 1, 0, 1, 0]
    assert known.only_bigger_right == 6 + 7 + 9  # the fives, sixes and eights
    assert known.only_default_right == 10        # the nines
    assert known.both_wrong == 8                 # the sevens


def test_structures_are_reported(known):
    default, big = known.runs["default"], known.runs["bigger"]
    assert (default.sizes, default.parameters, default.activation, default.cost) == ((784, 10), 7850, "sigmoid", "mse")
    assert (big.sizes, big.parameters, big.activation, big.cost) == ((784, 10, 10), 7960, "relu", "cross_entropy")
    assert default.describe() == "784-10, sigmoid, squared error, 7,850 parameters"
    assert big.structure == "784-10-10" and "cross-entropy" in big.describe()


def test_a_given_drawing_gets_both_networks_outputs():
    drawing = np.zeros((28, 28), dtype=np.float32)
    drawing.reshape(-1)[5] = 1.0  # a "5": the default network answers 0, the bigger one 5
    result = bigger.run(known_config(drawing=drawing), np.random.default_rng(0))
    np.testing.assert_array_equal(result.drawing, drawing)
    assert result.drawing_digit is None
    assert (result.answer("default"), result.answer("bigger")) == (0, 5)
    sigmoid = 1 / (1 + np.exp(-np.array([10.0, -10.0])))
    expected = np.full(10, sigmoid[1])
    expected[0] = sigmoid[0]
    np.testing.assert_allclose(result.runs["default"].drawing_outputs, expected, rtol=1e-3)  # float32
    softmax = np.ones(10)
    softmax[5] = np.exp(10.0)
    np.testing.assert_allclose(result.runs["bigger"].drawing_outputs, softmax / softmax.sum(), rtol=1e-4, atol=1e-9)
    data = result.to_json()["drawing"]
    assert data["digit"] is None and data["answers"] == {"default": 0, "bigger": 5}
    assert "On the drawing, the video's network answers 0 and the bigger one 5." in result.summary()


def test_json_keys_are_exact_and_carry_the_numbers(known):
    data = known.to_json()
    json.dumps(json_safe(data), allow_nan=False)
    assert set(data) == {"lesson", "n_digits", "models", "only_bigger_right", "only_default_right", "both_wrong",
                         "drawing"}
    assert data["lesson"] == "bigger" and data["n_digits"] == 55
    assert list(data["models"]) == ["default", "bigger"]
    for name in bigger.MODELS:
        model = data["models"][name]
        assert set(model) == {"layers", "parameters", "activation", "cost", "accuracy", "per_digit_accuracy"}
        assert model["accuracy"] == known.accuracy(name)
        assert model["per_digit_accuracy"] == known.per_digit_accuracy(name)
    assert data["models"]["bigger"]["layers"] == [784, 10, 10] and data["models"]["default"]["parameters"] == 7850
    assert (data["only_bigger_right"], data["only_default_right"], data["both_wrong"]) == (22, 10, 8)
    assert set(data["drawing"]) == {"digit", "outputs", "answers"}
    assert data["drawing"]["digit"] == bigger.DEFAULT_DIGIT
    assert all(len(data["drawing"]["outputs"][name]) == 10 for name in bigger.MODELS)


def test_a_digit_missing_from_the_data_has_no_accuracy():
    counts = COUNTS.copy()
    counts[3] = 0
    result = bigger.run(known_config(digits=pixel_digits(counts)), np.random.default_rng(0))
    assert np.isnan(result.per_digit_accuracy("default")[3])
    data = result.to_json()
    assert data["models"]["default"]["per_digit_accuracy"][3] is None
    json.dumps(data, allow_nan=False)


def test_the_drawn_digit_is_repeatable_and_follows_the_config():
    first = bigger.run(known_config(digit=7), np.random.default_rng(4))
    again = bigger.run(known_config(digit=7), np.random.default_rng(4))
    np.testing.assert_array_equal(first.drawing, again.drawing)
    assert first.drawing.shape == (28, 28) and first.drawing.max() == pytest.approx(1.0)
    other = bigger.run(known_config(digit=1), np.random.default_rng(4))
    assert not np.array_equal(first.drawing, other.drawing)
    assert first.drawing_digit == 7 and "On a drawn 7," in first.summary()


def test_the_figure_shows_the_drawing_outputs_per_digit_accuracy_and_differences(known):
    figure = bigger.figure(known)
    drawing, small, big, per_digit, differ = figure.panels
    np.testing.assert_array_equal(drawing.image.data, known.drawing)
    np.testing.assert_allclose(small.bars[0].heights, known.runs["default"].drawing_outputs)
    np.testing.assert_allclose(big.bars[0].heights, known.runs["bigger"].drawing_outputs)
    assert "784-10-10" in big.title
    heights = {bars.label.split()[0]: bars.heights for bars in per_digit.bars if bars.label}
    np.testing.assert_array_equal(heights["default"], [0, 0, 0, 0, 0, 100, 100, 100, 100, 0])  # % misread
    np.testing.assert_array_equal(heights["bigger"], [0, 0, 0, 0, 0, 0, 0, 100, 0, 100])
    assert per_digit.bars[0].tick_labels == [str(d) for d in range(10)]
    np.testing.assert_array_equal(differ.bars[0].heights, [22, 10, 8])
    assert "both read 15 of 55 right" in differ.title
    assert figure.notes == [known.summary()]


def test_progress_reaches_one_and_cancel_stops():
    seen = []
    bigger.run(known_config(), np.random.default_rng(0), progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(LessonCancelled):
        bigger.run(known_config(), np.random.default_rng(0), cancel=lambda: True)


@pytest.mark.parametrize("changes, message", [
    ({"digit": 10}, "the digit to draw must be a whole number from 0 to 9"),
    ({"digit": True}, "the digit to draw must be a whole number"),
    ({"drawing": np.zeros((20, 20))}, "the drawing must be a 28x28 image"),
])
def test_bad_configs_are_refused_in_one_line(changes, message):
    with pytest.raises(ValueError, match=message):
        bigger.run(known_config(**changes), np.random.default_rng(0))


def test_bad_networks_are_refused_in_one_line():
    networks = pixel_networks()
    del networks["bigger"]
    with pytest.raises(ValueError, match="missing: bigger"):
        bigger.check_config(bigger.BiggerConfig(networks=networks))
    networks = pixel_networks()
    networks["bigger"] = Network.create((100, 10))
    with pytest.raises(ValueError, match="the bigger network must take 784 inputs.*got 100-10"):
        bigger.check_config(bigger.BiggerConfig(networks=networks))


# ------------------------------------------------------------ the real bundled pair


def test_the_bundled_bigger_network_reads_more_of_the_validation_digits(bundled):
    # The bigger file is replaced during development: relations and ranges, not exact figures.
    assert bundled.n_digits == 1000
    assert 0.85 <= bundled.accuracy("default") < bundled.accuracy("bigger") <= 1.0
    assert bundled.only_bigger_right > bundled.only_default_right
    assert bundled.only_bigger_right + bundled.both_wrong == round(1000 * (1 - bundled.accuracy("default")))
    default, big = bundled.runs["default"], bundled.runs["bigger"]
    assert (default.sizes, default.activation, default.cost) == ((784, 16, 16, 10), "sigmoid", "mse")
    assert default.parameters == 13_002 and big.parameters > default.parameters
    assert len(big.sizes) >= 3 and big.sizes[0] == 784 and big.sizes[-1] == 10
    outputs = big.drawing_outputs
    assert outputs.shape == (10,) and (big.cost != "cross_entropy" or outputs.sum() == pytest.approx(1.0))


def test_the_validation_digits_are_unseen_by_both_bundled_networks():
    # The lesson's comparison is fair only if neither learned the sample's last 1,000 digits:
    # both must have been trained on the bundled sample (its first 9,000), not on the full MNIST.
    for name in bigger.MODELS:
        metadata = load_bundled_model(name)[1]
        assert "sample" in str(metadata.get("data", "")), (name, metadata.get("data"))
        assert "mnist" not in str(metadata.get("data", "")).lower(), name


def test_quick_is_the_full_run():
    assert bigger.BiggerConfig.quick() == bigger.BiggerConfig()
