"""The overfit lesson: 1,000 digits learned too well, and what L2, dropout and augmentation do."""

import argparse
import dataclasses
import json

import numpy as np
import pytest

from digitlab.core import datasets
from digitlab.core.lessons import base, get_lesson, lesson_names, overfit
from digitlab.core.lessons.base import LessonCancelled, json_safe


@pytest.fixture(scope="module")
def quick_result():
    """One --quick run (200 digits, 20 epochs), shared by the tests that only read it."""
    snapshots = []
    result = overfit.run(overfit.Config.quick(), np.random.default_rng(0), on_epoch=snapshots.append)
    return result, snapshots


def test_the_lesson_has_the_whole_interface():
    assert base.missing_attributes(overfit) == []
    assert overfit.USES_MODEL is False and overfit.NAME == "overfit"


def test_registered():
    assert "overfit" in lesson_names() and get_lesson("overfit") is overfit


def test_json_has_exactly_the_issues_keys(quick_result):
    result, _ = quick_result
    data = json_safe(result.to_json())
    assert set(data) == {"lesson", "train_size", "layers", "epochs", "plain", "l2", "dropout", "augment"}
    assert data["lesson"] == "overfit" and data["train_size"] == 200 and data["layers"] == [784, 30, 10]
    assert data["epochs"] == 20
    for name in overfit.RUNS:
        assert set(data[name]) == {"train_accuracy", "test_accuracy"}
        assert 0 <= data[name]["test_accuracy"] <= 1
    json.dumps(data, allow_nan=False)


def test_the_plain_run_overfits(quick_result):
    plain = quick_result[0].runs["plain"]
    assert plain.final("train_accuracy") >= 0.99
    assert plain.gap >= 0.08  # learned the training digits far better than new ones


def test_augmentation_is_the_cure_that_helps_here(quick_result):
    result, _ = quick_result
    assert result.best_cure == "augment" and result.gain("augment") > 0
    # Trained on moved copies, it no longer knows its 200 originals perfectly.
    assert result.runs["augment"].final("train_accuracy") < result.runs["plain"].final("train_accuracy")


def test_the_first_digits_are_trained_on_and_scored_on_the_validation_part(quick_result):
    """The plain run's first epoch redone by hand: the first train_size digits, the validation part."""
    from digitlab.core.network import Network

    result, _ = quick_result
    config = overfit.Config.quick()
    data = datasets.load_sample()
    rng = np.random.default_rng(0)  # plain trains first: it follows the generator's stream exactly
    net = Network.create(config.layers, config.activation, config.cost, rng=rng)
    x = datasets.to_inputs(data.train_images[:config.train_size])
    targets = datasets.one_hot(data.train_labels[:config.train_size], 10).astype(np.float32)
    order = rng.permutation(config.train_size)
    for start in range(0, config.train_size, config.batch_size):
        chosen = order[start:start + config.batch_size]
        net.train_step(x[chosen], targets[chosen], config.learning_rate)
    test_accuracy = net.evaluate(datasets.to_inputs(data.val_images), data.val_labels)[1]
    train_accuracy = net.evaluate(x, data.train_labels[:config.train_size])[1]
    assert result.runs["plain"].test_accuracy[0] == test_accuracy
    assert result.runs["plain"].train_accuracy[0] == train_accuracy


def test_live_snapshots_grow_an_epoch_at_a_time(quick_result):
    result, snapshots = quick_result
    assert len(snapshots) == result.epochs
    assert [s.epochs for s in snapshots] == list(range(1, result.epochs + 1))
    assert not any(s.finished for s in snapshots) and result.finished
    np.testing.assert_array_equal(snapshots[-1].runs["l2"].test_accuracy, result.runs["l2"].test_accuracy)


def test_one_seed_repeats_the_run(quick_result):
    again = overfit.run(overfit.Config.quick(), np.random.default_rng(0))
    assert again.to_json() == quick_result[0].to_json()


def test_summary_names_the_gap_and_each_cures_verdict(quick_result):
    result, _ = quick_result
    text = result.summary()
    assert "100.0%" in text and "too well" in text
    for title in ("L2 weight decay", "Dropout", "Augmentation"):
        assert title in text
    assert len(result.verdicts()) == 3
    assert any("helped" in v or "hardly" in v or "hurt" in v for v in result.verdicts())


def test_progress_and_cancel():
    seen = []
    overfit.run(dataclasses.replace(overfit.Config.quick(), epochs=2), np.random.default_rng(1),
                progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(LessonCancelled):
        overfit.run(overfit.Config.quick(), np.random.default_rng(1), cancel=lambda: True)


@pytest.mark.parametrize("change", [dict(train_size=5), dict(epochs=0), dict(dropout=1.0), dict(weight_decay=-1),
                                    dict(learning_rate=0.0), dict(layers=(784, 30, 11))])
def test_bad_configs_are_refused(change):
    with pytest.raises(ValueError):
        overfit.check_config(dataclasses.replace(overfit.Config(), **change))


def test_sweep_scores_on_held_out_training_digits():
    config = dataclasses.replace(overfit.Config.quick(), epochs=3, train_size=100)
    found = overfit.sweep(config, 0, weight_decays=(0.0, 0.5), dropouts=(0.2,))
    assert set(found["weight_decay"]) == {0.0, 0.5} and set(found["dropout"]) == {0.2}
    # Far too much L2 shrinks the weights to nothing: near chance on the held-out digits.
    assert found["weight_decay"][0.5] < found["weight_decay"][0.0]


def test_command_line_options():
    parser = argparse.ArgumentParser()
    overfit.add_arguments(parser)
    config = overfit.config_from_args(parser.parse_args(["--epochs", "50", "--dropout", "0.5"]), None)
    assert (config.epochs, config.dropout, config.weight_decay) == (50, 0.5, overfit.L2_STRENGTH)
    with pytest.raises(ValueError):
        overfit.config_from_args(parser.parse_args(["--dropout", "1.5"]), None)
    quick = base.quick_config(overfit, overfit.config_from_args(parser.parse_args([]), None))
    assert (quick.train_size, quick.epochs) == (overfit.QUICK_TRAIN_SIZE, overfit.QUICK_EPOCHS)


def test_figure_has_a_training_and_a_test_line_per_run(quick_result):
    figure = overfit.figure(quick_result[0])
    lines = figure.panels[0].lines
    assert len(lines) == 8 and sum(line.dashed for line in lines) == 4
