"""Plain-words warnings of the training loop: saturated neurons, and where a run blew up."""

import math

import numpy as np
import pytest

from digitlab.core.datasets import DataSplit, load_sample
from digitlab.core.network import Network
from digitlab.core.training import TrainingConfig, TrainingControl, train
from digitlab.core.training_warnings import (
    FLAT_GRADIENT,
    STUCK_BATCHES,
    SaturationWatch,
    divergence_advice,
    guess_cost,
    saturation_warning,
)


@pytest.fixture(scope="module")
def small():
    """500 training digits (50 batches of 10 an epoch) and 200 to validate on."""
    sample = load_sample()
    return DataSplit(sample.train_images[:500], sample.train_labels[:500], sample.val_images[:200],
                     sample.val_labels[:200])


def new_net(**kwargs):
    return Network.create(rng=np.random.default_rng(0), **kwargs)


def records_of(data, net=None, epochs=1, **config):
    return list(train(net or new_net(), data, TrainingConfig(epochs=epochs, **config), min_interval=0))


def test_an_absurd_learning_rate_warns_of_saturation_within_the_first_epoch(small):
    records = records_of(small, learning_rate=100)
    first_epoch = [r for r in records if r.epoch == 0 and r.kind == "batch"]
    warned = [r for r in first_epoch if r.warning]
    assert warned, "no warning in the first epoch at learning rate 100"
    assert warned[0].warning == (
        "The neurons are saturated (stuck at 0 or 1, so they no longer learn): "
        "the learning rate 100 is far too high. Stop and try 3 or lower."
    )
    # It holds while the run stays stuck: to the end of the epoch, whose figures show why.
    assert all(r.warning for r in first_epoch[len(first_epoch) - len(warned):])
    epoch = next(r for r in records if r.kind == "epoch")
    assert epoch.warning and epoch.epoch_stats.val_accuracy < 0.2
    assert epoch.epoch_stats.train_loss == pytest.approx(0.5, abs=0.01)  # every output stuck at 0


@pytest.mark.parametrize("activation, cost, rate, words", [
    ("tanh", "mse", 100, "stuck at -1 or 1"),
    ("relu", "mse", 100, "stuck at 0,"),
    ("sigmoid", "cross_entropy", 100, "try 0.2 or lower"),  # the cross-entropy default rate
])
def test_other_saturated_networks_are_named_in_their_own_words(small, activation, cost, rate, words):
    records = records_of(small, new_net(activation=activation, cost=cost), learning_rate=rate)
    warnings = {r.warning for r in records if r.kind == "batch"} - {""}
    assert len(warnings) == 1 and words in warnings.pop()


def test_the_default_learning_rate_never_warns():
    sample = load_sample()
    for activation in ("sigmoid", "tanh"):
        records = records_of(sample, new_net(activation=activation), epochs=2, learning_rate=3, train_size=2000)
        assert [r.warning for r in records if r.warning] == []
        assert records[-2].epoch_stats.val_accuracy > 0.6  # and it learned: nothing to warn about


def test_the_warning_needs_most_of_the_recent_batches_stuck_and_goes_when_they_recover():
    watch = SaturationWatch("mse", 10)
    stuck, healthy = (0.5, FLAT_GRADIENT / 10), (0.5, FLAT_GRADIENT * 10)
    for _ in range(STUCK_BATCHES - 1):
        watch.note(*stuck)
    assert not watch.saturated  # too few batches to tell
    watch.note(*healthy)  # 19 of 20 stuck
    assert watch.saturated
    for _ in range(STUCK_BATCHES // 2):
        watch.note(*healthy)
    assert watch.saturated  # half recovered: not yet
    for _ in range(STUCK_BATCHES // 2):
        watch.note(*healthy)
    assert not watch.saturated


def test_a_flat_gradient_with_a_low_cost_is_a_trained_network_not_a_stuck_one():
    watch = SaturationWatch("cross_entropy", 10)
    for _ in range(3 * STUCK_BATCHES):
        watch.note(0.05, 0.0)  # far below the cost of guessing, log(10)
    assert not watch.saturated


def test_the_cost_of_guessing():
    assert guess_cost("mse", 10) == pytest.approx(0.45)
    assert guess_cost("cross_entropy", 11) == pytest.approx(math.log(11))


def test_the_advice_scales_with_how_high_the_rate_is():
    assert "far too high. Stop and try 3 or lower." in saturation_warning("sigmoid", 30, 3.0)
    assert "rate 10 is too high. Stop and try 3 or lower." in saturation_warning("sigmoid", 10, 3.0)
    # At the usual rate the depth may be to blame as well.
    assert saturation_warning("sigmoid", 3, 3.0).endswith(
        "the learning rate 3 may be too high for this network. Stop and try 0.3 or lower, or fewer hidden layers.")
    assert divergence_advice(1000, 0.2) == "The learning rate 1000 is far too high: try 0.2 or lower."


def test_divergence_names_the_batch_where_the_weights_exploded(small):
    """Steps 17 batches, then takes one step at an absurd rate: batch 18 blows the weights up
    while the sigmoid keeps every later loss finite, so only the weights can tell."""
    net = new_net()
    control = TrainingControl()
    control.pause()
    control.step(17)
    records = []
    # No batch records at all: the old check, at records and epoch ends, named batch 50.
    for record in train(net, small, TrainingConfig(epochs=1), control, min_interval=float("inf")):
        records.append(record)
        if record.kind == "paused":
            assert record.total_batches == 17
            control.set_hyperparameters(learning_rate=1e9)
            control.resume()
    last = records[-1]
    assert last.kind == "diverged"
    assert last.batch == 18 and "batch 18:" in last.message
    assert "the weights exploded" in last.message
    assert last.message.endswith("The learning rate 1e+09 is far too high: try 3 or lower.")
    assert last.warning.startswith("The training blew up")
    # The weights of the last record (the pause after batch 17) are back.
    np.testing.assert_array_equal(net.parameters, np.concatenate([np.ravel(a) for a in records[-2].weights
                                                                  + records[-2].biases]))
    assert np.max(np.abs(net.parameters)) < 100
