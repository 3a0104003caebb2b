"""The training generator: learning, reproducibility, steering, divergence."""

import threading

import numpy as np
import pytest

from digitlab.core.datasets import DataSplit, load_sample
from digitlab.core.network import Network
from digitlab.core.training import TrainingConfig, TrainingControl, train


@pytest.fixture(scope="module")
def sample():
    return load_sample()



def new_net(seed=0, **kwargs):
    return Network.create(rng=np.random.default_rng(seed), **kwargs)


def run(net, data, control=None, **config):
    return list(train(net, data, TrainingConfig(**config), control, min_interval=0))


def test_two_epochs_learn_the_sample(sample):
    net = new_net()
    records = run(net, sample, epochs=2, train_size=3000)
    epochs = [r.epoch_stats for r in records if r.kind == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2]
    assert epochs[-1].val_accuracy > 0.8
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert records[-1].kind == "finished"
    # every batch's loss is reported exactly once, in some record
    losses = np.concatenate([r.batch_losses for r in records])
    assert len(losses) == 2 * 300
    assert records[-1].samples_seen == 6000


def test_records_carry_read_only_copies(sample):
    net = new_net()
    record = next(r for r in train(net, sample, TrainingConfig(epochs=1, train_size=100), min_interval=0))
    assert not np.shares_memory(record.weights[0], net.weights[0])
    with pytest.raises(ValueError):
        record.weights[0][0, 0] = 1.0
    with pytest.raises(ValueError):
        record.batch_losses[0] = 1.0


def test_same_seed_gives_bit_identical_weights(sample):
    nets = [new_net(seed=3) for _ in range(3)]
    for net, seed in zip(nets, (7, 7, 8)):
        run(net, sample, epochs=1, train_size=1000, seed=seed, momentum=0.5)
    assert np.array_equal(nets[0].parameters, nets[1].parameters)
    assert not np.array_equal(nets[0].parameters, nets[2].parameters)


def test_pause_step_resume_and_stop_from_another_thread(sample):
    net = new_net()
    control = TrainingControl()
    control.pause()
    records = []
    loop = threading.Thread(
        target=lambda: records.extend(
            train(net, sample, TrainingConfig(epochs=50, train_size=500), control, min_interval=0)
        )
    )
    loop.start()
    wait_for(lambda: len(records) == 1)
    assert records[0].kind == "paused" and records[0].samples_seen == 0
    control.step()
    wait_for(lambda: len(records) > 1 and records[-1].kind == "paused")
    assert records[-1].samples_seen == 10  # exactly one mini-batch
    assert sum(len(r.batch_losses) for r in records) == 1
    control.resume()
    wait_for(lambda: any(r.kind == "epoch" for r in records))
    control.stop()
    loop.join(timeout=10)
    assert not loop.is_alive()
    assert records[-1].kind == "stopped"
    assert records[-1].epoch < 49


def test_stop_wakes_a_paused_loop(sample):
    control = TrainingControl()
    control.pause()
    records = []
    loop = threading.Thread(target=lambda: records.extend(train(new_net(), sample, TrainingConfig(), control)))
    loop.start()
    wait_for(lambda: records)
    control.stop()
    loop.join(timeout=10)
    assert [r.kind for r in records] == ["paused", "stopped"]


def test_learning_rate_change_applies_from_the_next_batch(sample):
    control = TrainingControl()
    net = new_net()
    seen = []
    for record in train(net, sample, TrainingConfig(epochs=1, train_size=200, learning_rate=3.0), control, 0):
        seen.append(record.learning_rate)
        if len(seen) == 3:
            control.set_hyperparameters(learning_rate=0.5)
    assert seen[:3] == [3.0, 3.0, 3.0]
    assert seen[3] == 0.5 and seen[-1] == 0.5
    with pytest.raises(ValueError, match="batch_size"):
        control.set_hyperparameters(batch_size=3)


def test_divergence_stops_and_restores_the_last_good_weights(sample):
    net = new_net(activation="relu", cost="cross_entropy")
    records = run(net, sample, epochs=3, learning_rate=1e3, train_size=500)
    last = records[-1]
    assert last.kind == "diverged"
    assert "diverged" in last.message and "learning rate" in last.message
    assert np.all(np.isfinite(net.parameters))
    assert np.max(np.abs(net.parameters)) <= 1e4
    np.testing.assert_array_equal(net.parameters, np.concatenate([np.ravel(a) for a in last.weights + last.biases]))


def test_shuffled_labels_are_memorised_but_do_not_generalise(sample):
    net = Network.create((784, 256, 10), "relu", "cross_entropy", rng=np.random.default_rng(0))
    records = run(net, sample, epochs=25, train_size=300, shuffle_labels=True,
                  learning_rate=0.05, batch_size=10, momentum=0.9)
    stats = [r.epoch_stats for r in records if r.kind == "epoch"][-1]
    assert stats.train_accuracy > 0.9  # it memorised the random labels
    assert stats.val_accuracy < 0.2  # and learned nothing about digits


def test_train_size_subset_is_seeded(sample):
    first = run(new_net(), sample, epochs=1, train_size=123, seed=5)
    assert first[-1].samples_seen == 123
    assert first[-1].batches_per_epoch == 13


@pytest.mark.parametrize("bad", [dict(learning_rate=0), dict(batch_size=0), dict(epochs=0),
                                 dict(momentum=1.0), dict(weight_decay=-1), dict(train_size=0),
                                 dict(dropout=1.0), dict(dropout=-0.1)])
def test_bad_configs_are_refused(sample, bad):
    with pytest.raises(ValueError):
        next(train(new_net(), sample, TrainingConfig(**bad)))


def wait_for(condition, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_an_empty_validation_set_gives_nan_validation_figures(sample):
    data = DataSplit(sample.train_images, sample.train_labels, sample.val_images[:0], sample.val_labels[:0])
    stats = [r.epoch_stats for r in run(new_net(), data, epochs=1, train_size=200) if r.kind == "epoch"][0]
    assert np.isnan(stats.val_accuracy) and stats.train_accuracy > 0


class TickingClock:
    """A clock that moves on by ``tick`` seconds each time it is read: training time made exact."""

    def __init__(self, tick):
        self.tick = tick
        self.now = 0.0

    def __call__(self):
        self.now += self.tick
        return self.now


def test_batch_records_come_about_30_times_a_second_however_fast_training_runs(sample):
    clock = TickingClock(tick=1e-3)  # read about once per batch: ~1,000 batches a "second"
    records = list(train(new_net(), sample, TrainingConfig(epochs=2, train_size=3000), clock=clock))
    batch_times = [r.elapsed for r in records if r.kind == "batch"]
    gaps = np.diff(batch_times)
    assert len(batch_times) > 10
    assert gaps.min() >= 1 / 30 - 1e-9  # never more often than 30 a second
    # ... and not much less often either, outside the epoch ends (which evaluate and reset nothing)
    assert np.median(gaps) < 1 / 30 + 0.003
    every_batch = list(train(new_net(), sample, TrainingConfig(epochs=1, train_size=100), min_interval=0,
                             clock=TickingClock(1e-4)))
    assert sum(r.kind == "batch" for r in every_batch) == 10  # min_interval=0: one record per batch
    assert sum(len(r.batch_losses) for r in records) == 600  # the throttle drops no loss


def test_a_loss_that_becomes_nan_stops_the_run_and_restores_good_weights(sample):
    images = sample.train_images[:500] / np.float32(255)
    images[137, 14, 14] = np.nan  # one damaged pixel in a float data set
    data = DataSplit(images, sample.train_labels[:500], sample.val_images[:10], sample.val_labels[:10])
    net = new_net()
    records = list(train(net, data, TrainingConfig(epochs=1), min_interval=float("inf")))
    last = records[-1]
    assert last.kind == "diverged"
    assert "the loss became nan" in last.message and "batch " in last.message
    assert last.batch >= 2 and np.isnan(last.batch_losses[-1])  # noticed at the batch holding the pixel
    assert np.isfinite(net.parameters).all()
    good = records[-2]  # the record before: its weights are the last good ones
    np.testing.assert_array_equal(net.parameters, np.concatenate([np.ravel(a) for a in good.weights + good.biases]))


def test_augmentation_trains_on_new_variations_each_epoch(sample):
    # 3,000 digits: the handwriting-like variations (slant, width, pen, elastic) take more
    # examples to learn from than 1,000 in two epochs (measured: 15% on 1,000, 64% on 3,000).
    small = DataSplit(sample.train_images[:3000], sample.train_labels[:3000], sample.val_images[:200],
                      sample.val_labels[:200])
    plain, augmented, again = new_net(), new_net(), new_net()
    run(plain, small, epochs=2, seed=4)
    stats = [r.epoch_stats for r in run(augmented, small, epochs=2, seed=4, augment=True) if r.kind == "epoch"]
    run(again, small, epochs=2, seed=4, augment=True)
    assert not np.array_equal(plain.parameters, augmented.parameters)  # it really saw other images
    np.testing.assert_array_equal(augmented.parameters, again.parameters)  # seeded: repeatable
    assert stats[-1].val_accuracy > 0.4  # well above chance (0.1): still digits, however varied


def test_dropout_zero_is_the_run_without_dropout_and_a_seed_repeats_a_dropout_run(sample):
    nets = [new_net(seed=3) for _ in range(4)]
    for net, config in zip(nets, ({}, dict(dropout=0.0), dict(dropout=0.3), dict(dropout=0.3))):
        run(net, sample, epochs=1, train_size=500, seed=7, **config)
    assert np.array_equal(nets[0].parameters, nets[1].parameters)
    assert np.array_equal(nets[2].parameters, nets[3].parameters)
    assert not np.array_equal(nets[0].parameters, nets[2].parameters)


def test_dropout_training_still_learns_and_thins_the_hidden_layers(sample):
    from digitlab.core.training import dropout_masks

    net = new_net(seed=1, sizes=(784, 64, 10), activation="relu", cost="cross_entropy")
    records = run(net, sample, epochs=2, train_size=2000, learning_rate=0.1, dropout=0.5)
    assert records[-1].kind == "finished"
    assert [r.epoch_stats for r in records if r.kind == "epoch"][-1].val_accuracy > 0.8
    masks = dropout_masks(net, 10, 0.5, np.random.default_rng(0))
    assert len(masks) == 1 and masks[0].shape == (10, 64)


def small_split(sample, n=10):
    return DataSplit(sample.train_images[:n], sample.train_labels[:n], sample.val_images[:10],
                     sample.val_labels[:10])


def test_records_carry_the_gradient_and_step_lengths_of_every_batch(sample):
    data = small_split(sample)  # one batch of 10: the whole set, whatever the order
    net = new_net(seed=2)
    x = sample.train_images[:10].reshape(10, -1).astype(np.float32) / np.float32(255)
    _, grad_w, grad_b = net.gradients(x, np.eye(10, dtype=np.float32)[sample.train_labels[:10]])
    expected = np.linalg.norm(np.concatenate([g.ravel() for g in grad_w + grad_b]).astype(np.float64))
    before = net.parameters.copy()
    records = run(net, data, epochs=1, learning_rate=3.0)
    grads = np.concatenate([r.grad_norms for r in records])
    steps = np.concatenate([r.step_norms for r in records])
    assert len(grads) == len(steps) == 1
    np.testing.assert_allclose(grads[0], expected, rtol=1e-4)
    np.testing.assert_allclose(steps[0], np.linalg.norm(net.parameters - before), rtol=1e-4)
    np.testing.assert_allclose(steps[0], 3.0 * grads[0], rtol=1e-5)  # no momentum: lr * |grad|
    assert not records[0].grad_norms.flags.writeable


def test_with_momentum_the_step_is_the_velocity_not_lr_times_the_gradient(sample):
    net = new_net(seed=2)
    control = TrainingControl()
    gen = train(net, small_split(sample), TrainingConfig(epochs=3, momentum=0.9, learning_rate=1.0),
                control, min_interval=0)
    params, grads, steps = [net.parameters.copy()], [], []
    for record in gen:
        if record.kind == "batch":
            params.append(net.parameters.copy())
            grads.extend(record.grad_norms)
            steps.extend(record.step_norms)
    moved = [np.linalg.norm(b.astype(np.float64) - a) for a, b in zip(params, params[1:])]
    np.testing.assert_allclose(steps, moved, rtol=1e-3)
    np.testing.assert_allclose(steps[0], grads[0], rtol=1e-5)  # velocity starts at -lr * grad
    assert abs(steps[2] - grads[2]) > 0.05 * grads[2]  # then the past steps carry on


class SleepClock:
    """Time that passes only while the loop sleeps: waits measured exactly."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_speed_limit_spaces_batches_and_may_change_mid_run(sample):
    clock = SleepClock()
    control = TrainingControl()
    control.set_batch_rate(20)
    starts = []
    for record in train(new_net(), small_split(sample, 200), TrainingConfig(epochs=1), control,
                        clock=clock, sleep=clock.sleep):
        if record.kind == "batch":  # slow motion reports every batch, despite the 1/30 s throttle
            starts.append(clock.now)
            if len(starts) == 6:
                control.set_batch_rate(5)  # from another thread in the window: read at the next batch
    assert len(starts) == 20
    gaps = np.diff(starts)
    np.testing.assert_allclose(gaps[:5], 1 / 20)
    np.testing.assert_allclose(gaps[5:], 1 / 5)
    assert max(clock.sleeps) <= 0.05 + 1e-12  # sliced, so stop and pause are heard soon
    control.set_batch_rate(None)
    clock.sleeps.clear()
    records = list(train(new_net(), small_split(sample, 200), TrainingConfig(epochs=1), control,
                         clock=clock, sleep=clock.sleep))
    # full speed: no sleep, and the throttle lets only the first batch through while time stands still
    assert not clock.sleeps and sum(r.kind == "batch" for r in records) == 1
    with pytest.raises(ValueError):
        control.set_batch_rate(-1)


def test_stop_is_heard_during_a_slow_motion_wait(sample):
    clock = SleepClock()
    control = TrainingControl()
    control.set_batch_rate(0.5)  # 2 s between batches

    def sleep(seconds):
        clock.sleep(seconds)
        control.stop()

    records = list(train(new_net(), small_split(sample, 200), TrainingConfig(epochs=1), control,
                         clock=clock, sleep=sleep))
    assert records[-1].kind == "stopped" and records[-1].samples_seen == 10
    assert clock.now <= 0.05 + 1e-12


def test_the_paused_record_after_a_step_shows_that_batch(sample):
    control = TrainingControl()
    control.step()
    data = small_split(sample, 200)
    gen = train(new_net(), data, TrainingConfig(epochs=1, batch_size=12), control, min_interval=0)
    records = []
    for number in (1, 2):
        while not records or records[-1].kind != "paused":
            records.append(next(gen))
        step = records[-1].step
        assert step.number == number
        assert step.loss == np.concatenate([r.batch_losses for r in records])[-1]
        assert step.images.shape == (12, 28, 28) and not step.images.flags.writeable
        for image, label in zip(step.images, step.labels):  # each image is a training digit, with its label
            match = np.flatnonzero((np.abs(data.train_images / 255.0 - image) < 1e-6).all(axis=(1, 2)))
            assert len(match) == 1 and data.train_labels[match[0]] == label
        assert all(r.step is None for r in records[:-1])
        control.step()
        records = []
    control.stop()
    assert [r.kind for r in gen][-1] == "stopped"


def test_a_speed_limit_above_the_throttle_keeps_the_throttle(sample):
    clock = SleepClock()
    control = TrainingControl()
    control.set_batch_rate(100)  # faster than the window hears records: ~30 a second still
    records = list(train(new_net(), small_split(sample, 1000), TrainingConfig(epochs=1), control,
                         clock=clock, sleep=clock.sleep))
    times = [r.elapsed for r in records if r.kind == "batch"]
    assert np.diff(times).min() >= 1 / 30 - 1e-9
    assert sum(len(r.batch_losses) for r in records) == 100
    np.testing.assert_allclose(clock.now, 99 / 100)  # 100 batches, 99 waits
