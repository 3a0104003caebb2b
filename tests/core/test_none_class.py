"""Noise mixed into training: zero / uniform targets for exposure, label 10 for the eleventh class."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.core import none_class
from digitlab.core.datasets import DataSplit, load_sample
from digitlab.core.network import Network
from digitlab.core.training import TrainingConfig, train


def _network(outputs=10, cost="mse"):
    return Network.create((784, 12, outputs), "sigmoid", cost, rng=np.random.default_rng(0))


def _digits(n=40):
    sample = load_sample()
    x = sample.train_images[:n].reshape(n, -1).astype(np.float32) / 255
    labels = sample.train_labels[:n].astype(np.intp)
    return x, np.eye(10, dtype=np.float32)[labels], labels


def test_config_validates_the_method():
    TrainingConfig(none_class="exposure").validate()
    TrainingConfig(none_class=None).validate()
    with pytest.raises(ValueError, match="none_class must be one of exposure, eleventh"):
        TrainingConfig(none_class="eleven").validate()


@pytest.mark.parametrize("cost, value", [("mse", 0.0), ("cross_entropy", 0.1)])
def test_exposure_targets_light_no_output(cost, value):
    network = _network(cost=cost)
    x, t, labels = _digits()
    count = none_class.noise_count(network, "exposure", len(labels))
    assert count == round(40 * 0.15 / 0.85)
    mx, mt, ml = none_class.mix_noise(x, t, labels, count, network, "exposure", np.random.default_rng(1))
    assert mx.shape == (40 + count, 784) and mx.dtype == np.float32
    np.testing.assert_array_equal(mx[:40], x)
    np.testing.assert_array_equal(mt[:40], t)
    np.testing.assert_allclose(mt[40:], value, rtol=1e-6)
    np.testing.assert_allclose(mt[40:].sum(axis=1), 10 * value, rtol=1e-6)
    assert (ml[40:] == -1).all() and (mx[40:] >= 0).all() and (mx[40:] <= 1).all()
    assert mx[40:].std() > 0.1  # noise, not blanks


def test_eleventh_labels_noise_10_and_needs_eleven_outputs():
    network = _network(outputs=11)
    x, _, labels = _digits()
    t = np.eye(11, dtype=np.float32)[labels]
    count = none_class.noise_count(network, "eleventh", len(labels))
    _, mt, ml = none_class.mix_noise(x, t, labels, count, network, "eleventh", np.random.default_rng(1))
    assert (ml[40:] == 10).all() and (ml[:40] < 10).all()
    np.testing.assert_array_equal(mt[40:], np.eye(11, dtype=np.float32)[np.full(count, 10)])
    with pytest.raises(ValueError, match="needs a network with 11 outputs; this one has 10"):
        none_class.noise_count(_network(outputs=10), "eleventh", 40)


def test_without_a_method_nothing_changes_and_no_randomness_is_used():
    network = _network()
    x, t, labels = _digits()
    rng = np.random.default_rng(3)
    assert none_class.noise_count(network, None, 40) == 0
    mx, mt, ml = none_class.mix_noise(x, t, labels, 0, network, None, rng)
    assert mx is x and mt is t and ml is labels
    assert rng.random() == np.random.default_rng(3).random()


def _trained(method, outputs=10):
    sample = load_sample()
    data = DataSplit(sample.train_images[:300], sample.train_labels[:300], sample.val_images[:100],
                     sample.val_labels[:100], "small")
    network = _network(outputs=outputs)
    records = list(train(network, data, TrainingConfig(epochs=2, none_class=method, seed=4), min_interval=1e9))
    return network, records


def test_training_with_exposure_quiets_noise_and_reports_digit_accuracy():
    plain, plain_records = _trained(None)
    exposed, records = _trained("exposure")
    assert records[-1].kind == "finished"
    # More batches per epoch: the noise joins the 300 digits.
    assert records[-1].batches_per_epoch == -(-(300 + none_class.noise_count(exposed, "exposure", 300)) // 10)
    assert plain_records[-1].batches_per_epoch == 30
    noise = none_class.noise_inputs(90, np.random.default_rng(9))
    assert exposed.predict(noise).max(axis=1).mean() < plain.predict(noise).max(axis=1).mean()
    stats = [r.epoch_stats for r in records if r.kind == "epoch"]
    assert 0 <= stats[-1].train_accuracy <= 1


def test_training_eleventh_on_ten_outputs_is_refused():
    with pytest.raises(ValueError, match="11 outputs"):
        _trained("eleventh", outputs=10)
    network, _ = _trained("eleventh", outputs=11)
    noise = none_class.noise_inputs(30, np.random.default_rng(9))
    assert (network.predict(noise).argmax(axis=1) == 10).mean() > 0.5
