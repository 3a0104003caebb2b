"""The noise lesson against networks whose answers are known by construction."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from digitlab.core.datasets import load_sample
from digitlab.core.lessons import noise
from digitlab.core.lessons.base import LessonCancelled
from digitlab.core.network import Network, sigmoid
from digitlab.core.preprocess import NOISE_KINDS, noise_image

JSON_KEYS = {"lesson", "n_noise", "n_digits", "threshold", "noise_confident_share", "digits_confident_share",
             "noise_top_median", "digits_top_median", "favourite_digit"}


def constant_network(biases, cost: str = "mse") -> Network:
    """A one-layer network that ignores its input: zero weights, the given output biases."""
    biases = np.asarray(biases, dtype=float)
    network = Network.create((784, biases.size), cost=cost, rng=np.random.default_rng(0))
    network.weights[0][:] = 0
    network.biases[0][:] = biases
    return network


@pytest.fixture(scope="module")
def digits():
    split = load_sample()
    return split.val_images[:300], split.val_labels[:300]


def test_a_large_bias_on_one_output_makes_every_answer_confident(digits):
    biases = np.full(10, -8.0)
    biases[3] = 8.0
    config = noise.NoiseConfig(constant_network(biases), samples=400, digits=digits)
    result = noise.run(config, np.random.default_rng(1))
    top = float(sigmoid(np.array([8.0]))[0])
    assert result.n_noise == 400 and result.n_digits == 300
    assert result.noise_confident_share == 1.0 and result.digits_confident_share == 1.0
    assert result.noise_top_median == pytest.approx(top, rel=1e-6)
    assert result.digits_top_median == pytest.approx(top, rel=1e-6)
    assert result.favourite_digit == (3, 1.0)
    # Always answering 3 is right exactly for the threes.
    assert result.digits_accuracy == pytest.approx(np.mean(digits[1] == 3))
    assert "the digit 3, 100%" in result.summary()


def test_confident_means_at_least_the_threshold(digits):
    # Zero weights and biases: every output is sigmoid(0) = 0.5 exactly, and output 0 wins ties.
    network = constant_network(np.zeros(10))
    at = noise.run(noise.NoiseConfig(network, samples=50, threshold=0.5, digits=digits), np.random.default_rng(0))
    above = noise.run(noise.NoiseConfig(network, samples=50, threshold=0.51, digits=digits),
                      np.random.default_rng(0))
    assert at.noise_confident_share == 1.0 and at.digits_confident_share == 1.0
    assert above.noise_confident_share == 0.0 and above.digits_confident_share == 0.0
    assert at.favourite_digit == (0, 1.0)


def test_an_eleventh_output_can_be_the_favourite(digits):
    biases = np.full(11, -6.0)
    biases[10] = 6.0
    result = noise.run(noise.NoiseConfig(constant_network(biases), samples=60, digits=digits),
                       np.random.default_rng(0))
    assert result.n_outputs == 11
    assert result.noise_counts().tolist() == [0] * 10 + [60]
    assert result.favourite_digit == (10, 1.0)
    assert result.to_json()["favourite_digit"] == {"digit": 10, "share": 1.0}
    assert "'none of these'" in result.summary()
    assert "cannot say 'none of these'" not in result.summary()
    assert result.digits_accuracy == 0.0  # no label is 10


def test_counts_cover_every_output_even_unused_ones(digits):
    biases = np.full(11, -5.0)
    biases[2] = 5.0
    result = noise.run(noise.NoiseConfig(constant_network(biases), samples=30, digits=digits),
                       np.random.default_rng(0))
    assert result.noise_counts().tolist() == [0, 0, 30] + [0] * 8
    assert result.favourite_digit == (2, 1.0)
    assert len(noise.figure(result).panels[1].bars[0].tick_labels) == 11


def test_softmax_network_top_output_is_a_probability(digits):
    biases = np.zeros(10)
    biases[7] = math.log(9.0)  # softmax: 9 / (9 + 9) = 0.5 for output 7
    result = noise.run(noise.NoiseConfig(constant_network(biases, "cross_entropy"), samples=40, digits=digits),
                       np.random.default_rng(0))
    assert result.output_activation == "softmax"
    assert result.noise_top_median == pytest.approx(0.5, rel=1e-5)
    assert "top probability" in result.summary()


def test_results_match_a_direct_forward_pass_across_batches():
    """Noise is made in batches; the kinds must keep rotating and the seed must decide everything."""
    network = Network.create((784, 12, 10), rng=np.random.default_rng(5))
    samples = 1234  # more than two internal batches, not a multiple of them
    result = noise.run(noise.NoiseConfig(network, samples=samples, digits=(np.zeros((0, 28, 28)), np.zeros(0))),
                       np.random.default_rng(9))
    images = noise.noise_batch("all", samples, np.random.default_rng(9))
    outputs = network.predict(images.reshape(samples, -1))
    np.testing.assert_allclose(result.noise_top, outputs.max(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(result.noise_predictions, outputs.argmax(axis=1))
    again = noise.run(noise.NoiseConfig(network, samples=samples, digits=(np.zeros((0, 28, 28)), np.zeros(0))),
                      np.random.default_rng(9))
    np.testing.assert_array_equal(result.noise_top, again.noise_top)


def test_noise_batch_takes_the_kinds_in_turn():
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    batch = noise.noise_batch("all", 5, rng_a, offset=1)
    expected = [noise_image(NOISE_KINDS[(1 + i) % 3], rng_b) for i in range(5)]
    np.testing.assert_array_equal(batch, np.stack(expected))
    assert batch.dtype == np.float32 and batch.shape == (5, 28, 28)
    assert noise.noise_batch("uniform", 0, rng_a).shape == (0, 28, 28)
    with pytest.raises(ValueError, match="unknown noise kind"):
        noise.noise_batch("pink", 3, rng_a)


def test_real_digits_are_a_random_subset_when_there_are_more(digits):
    network = constant_network(np.zeros(10))
    result = noise.run(noise.NoiseConfig(network, samples=40, digits=digits), np.random.default_rng(0))
    assert result.n_digits == 40
    few = noise.run(noise.NoiseConfig(network, samples=500, digits=(digits[0][:7], digits[1][:7])),
                    np.random.default_rng(0))
    assert few.n_digits == 7


def test_default_digits_are_the_bundled_validation_part():
    network = constant_network(np.zeros(10))
    result = noise.run(noise.NoiseConfig(network, samples=2000), np.random.default_rng(0))
    assert result.n_digits == 1000
    np.testing.assert_array_equal(np.sort(result.digit_labels), np.sort(load_sample().val_labels))


def test_json_has_exactly_the_issue_keys_and_no_nan():
    network = constant_network(np.zeros(10))
    result = noise.run(noise.NoiseConfig(network, samples=20, digits=(np.zeros((0, 28, 28), np.uint8), np.zeros(0))),
                       np.random.default_rng(0))
    data = result.to_json()
    assert set(data) == JSON_KEYS
    assert data["lesson"] == "noise" and data["threshold"] == 0.5 and data["n_digits"] == 0
    assert data["digits_confident_share"] is None and data["digits_top_median"] is None
    json.dumps(data, allow_nan=False)
    assert math.isnan(result.digits_accuracy)


def test_progress_and_cancel(digits):
    network = constant_network(np.zeros(10))
    seen = []
    noise.run(noise.NoiseConfig(network, samples=1200, digits=digits), np.random.default_rng(0),
              progress=lambda fraction, message: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3
    calls = []

    def cancel_on_second_poll():
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(LessonCancelled):
        noise.run(noise.NoiseConfig(network, samples=5000, digits=digits), np.random.default_rng(0),
                  cancel=cancel_on_second_poll)
    assert len(calls) == 2


@pytest.mark.parametrize("changes, fragment", [
    ({"samples": 0}, "samples"), ({"samples": noise.MAX_SAMPLES + 1}, "samples"), ({"samples": 2.5}, "samples"),
    ({"threshold": 0.0}, "threshold"), ({"threshold": float("nan")}, "threshold"), ({"kind": "pink"}, "kind"),
])
def test_bad_configs_are_refused_in_one_line(changes, fragment):
    config = noise.NoiseConfig(constant_network(np.zeros(10)), **changes)
    with pytest.raises(ValueError, match=fragment) as caught:
        noise.run(config, np.random.default_rng(0))
    assert "\n" not in str(caught.value)


def test_the_shipped_model_is_fooled_by_noise_less_than_digits():
    """The measured claim on the shipped model: confident on most digits, median far lower on noise."""
    result = noise.run(noise.NoiseConfig(), np.random.default_rng(0))
    assert result.digits_confident_share > 0.85
    assert result.noise_top_median < result.digits_top_median
    assert result.digits_accuracy > 0.85


def test_figure_holds_both_histograms_and_the_answers(digits):
    result = noise.run(noise.NoiseConfig(constant_network(np.zeros(10)), samples=100, digits=digits),
                       np.random.default_rng(0))
    figure = noise.figure(result)
    tops, answers = figure.panels
    assert [h.counts.sum() for h in tops.histograms] == [100, 100]
    assert tops.vlines[0].x == 0.5
    assert answers.bars[0].heights.tolist() == result.noise_counts().tolist()
    assert answers.bars[0].tick_labels == [str(d) for d in range(10)]
    assert figure.notes == [result.summary()]


def test_quick_config_keeps_the_network():
    from digitlab.core.lessons.base import quick_config

    network = constant_network(np.zeros(10))
    quick = quick_config(noise, noise.NoiseConfig(network, kind="uniform"))
    assert quick.samples == noise.QUICK_SAMPLES and quick.network is network and quick.kind == "uniform"
    # A sample count the user chose stays.
    assert quick_config(noise, noise.NoiseConfig(network, samples=77)).samples == 77
