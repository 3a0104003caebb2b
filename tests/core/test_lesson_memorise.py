"""The memorise lesson: shuffled labels are learned by heart, slower than true ones, and teach nothing."""

import argparse
import dataclasses
import json

import numpy as np
import pytest

from digitlab.core import datasets
from digitlab.core.lessons import base, get_lesson, lesson_names, memorise
from digitlab.core.lessons.base import LessonCancelled, json_safe


@pytest.fixture(scope="module")
def quick_result():
    """One --quick run (500 digits, 784-64-10), shared by the tests that only read it."""
    epochs = []
    result = memorise.run(memorise.Config.quick(), np.random.default_rng(0), on_epoch=epochs.append)
    return result, epochs


def test_the_lesson_is_registered_with_the_whole_interface():
    assert "memorise" in lesson_names()
    assert get_lesson("memorise") is memorise
    assert base.missing_attributes(memorise) == []
    assert memorise.USES_MODEL is False and memorise.NAME == "memorise"


def test_random_labels_are_memorised_but_predict_nothing(quick_result):
    result, _ = quick_result
    assert result.random.final("train_accuracy") >= 0.95
    # Chance is 1 in 10: the shuffled run learned nothing that carries over.
    assert result.random.final("val_accuracy") <= 0.2
    # The true labels teach the digits.
    assert result.true.final("val_accuracy") >= 0.8


def test_true_labels_fit_faster(quick_result):
    result, _ = quick_result
    assert result.true.epochs_to_fit is not None and result.random.epochs_to_fit is not None
    assert result.true.epochs_to_fit < result.random.epochs_to_fit
    assert result.slowdown == result.random.epochs_to_fit / result.true.epochs_to_fit >= 1.5


def test_epochs_to_fit_is_the_first_epoch_at_95_percent(quick_result):
    result, _ = quick_result
    for run in (result.true, result.random):
        fit = run.epochs_to_fit
        assert run.train_accuracy[fit - 1] >= 0.95
        assert np.all(run.train_accuracy[:fit - 1] < 0.95)
    never = memorise.RunHistory(*(np.array([0.5, 0.94]) for _ in range(4)))
    assert never.epochs_to_fit is None


def test_training_stops_a_few_epochs_after_both_fit(quick_result):
    result, _ = quick_result
    assert result.epochs == max(result.true.epochs_to_fit, result.random.epochs_to_fit) + memorise.EXTRA_EPOCHS
    for run in (result.true, result.random):
        assert all(getattr(run, key).shape == (result.epochs,)
                   for key in ("train_accuracy", "val_accuracy", "train_cost", "val_cost"))


def test_every_epoch_hands_over_the_history_so_far(quick_result):
    result, epochs = quick_result
    assert len(epochs) == result.epochs
    assert [snapshot.epochs for snapshot in epochs] == list(range(1, result.epochs + 1))
    assert not any(snapshot.finished for snapshot in epochs) and result.finished
    np.testing.assert_array_equal(epochs[-1].random.train_cost, result.random.train_cost)
    # Fresh arrays each time: a snapshot kept by another thread never changes under it.
    assert epochs[3].true.train_accuracy.size == 4


def test_the_shuffled_labels_are_a_permutation_of_the_true_ones():
    data = datasets.load_sample()
    images, true, shuffled = memorise.choose_digits(data, 2000, np.random.default_rng(3))
    assert images.shape == (2000, 28, 28) and true.shape == shuffled.shape == (2000,)
    np.testing.assert_array_equal(np.sort(true), np.sort(shuffled))  # every digit keeps its share
    # The true labels belong to the images chosen.
    index = [int(np.flatnonzero((data.train_images == images[i]).all(axis=(1, 2)))[0]) for i in (0, 999)]
    assert [data.train_labels[i] for i in index] == [true[0], true[999]]
    # Shuffled: they agree with the truth about as often as chance (1 in 10, binomial sd ~0.007).
    assert 0.06 < np.mean(true == shuffled) < 0.14


def test_same_seed_same_result():
    config = dataclasses.replace(memorise.Config.quick(), max_epochs=3)
    a = memorise.run(config, np.random.default_rng(7))
    b = memorise.run(config, np.random.default_rng(7))
    assert a.to_json() == b.to_json()
    np.testing.assert_array_equal(a.random.train_cost, b.random.train_cost)


def test_json_has_exactly_the_issues_keys(quick_result):
    result, _ = quick_result
    data = result.to_json()
    assert list(data) == ["lesson", "train_size", "layers", "epochs", "true", "random", "slowdown"]
    assert data["lesson"] == "memorise" and data["train_size"] == 500 and data["layers"] == [784, 64, 10]
    for name in ("true", "random"):
        assert list(data[name]) == ["train_accuracy", "val_accuracy", "epochs_to_fit"]
        assert isinstance(data[name]["epochs_to_fit"], int)
    assert data["epochs"] == result.epochs
    assert json.loads(json.dumps(data, allow_nan=False)) == json_safe(data)


def test_slowdown_is_null_when_a_run_never_fits():
    config = dataclasses.replace(memorise.Config.quick(), max_epochs=2)
    data = memorise.run(config, np.random.default_rng(1)).to_json()
    assert data["epochs"] == 2
    assert data["random"]["epochs_to_fit"] is None and data["slowdown"] is None
    json.dumps(data, allow_nan=False)


def test_cancel_stops_the_run_before_the_next_runs_epoch():
    calls, epochs = [], []

    def cancel():
        calls.append(1)
        return len(calls) >= 4  # polled before each run's epoch: true in the middle of epoch 2

    with pytest.raises(LessonCancelled):
        memorise.run(memorise.Config.quick(), np.random.default_rng(0), cancel=cancel, on_epoch=epochs.append)
    assert len(calls) == 4 and len(epochs) == 1
    with pytest.raises(LessonCancelled):
        memorise.run(memorise.Config.quick(), np.random.default_rng(0), cancel=lambda: True,
                     on_epoch=epochs.append)
    assert len(epochs) == 1


def test_progress_goes_up_to_one(quick_result):
    fractions = []
    config = dataclasses.replace(memorise.Config.quick(), max_epochs=3)
    memorise.run(config, np.random.default_rng(0), progress=lambda f, m: fractions.append((f, m)))
    values = [f for f, _ in fractions]
    assert values == sorted(values) and values[-1] == 1.0 and len(values) == 4
    assert "epoch 1" in fractions[0][1]


def test_summary_says_what_was_measured(quick_result):
    result, _ = quick_result
    text = result.summary()
    assert "784-64-10" in text and "500 digits" in text
    assert f"after {result.random.epochs_to_fit} epochs" in text
    assert f"{result.slowdown:.1f} times" in text


def test_figure_has_both_runs_per_epoch(quick_result):
    result, _ = quick_result
    fig = memorise.figure(result)
    accuracy, cost = fig.panels
    assert len(accuracy.lines) == 4 and len(cost.lines) == 4
    np.testing.assert_array_equal(accuracy.lines[2].y, result.random.train_accuracy)
    np.testing.assert_array_equal(accuracy.lines[0].x, np.arange(1, result.epochs + 1))
    assert sorted(v.x for v in accuracy.vlines) == sorted([result.true.epochs_to_fit, result.random.epochs_to_fit])
    assert fig.notes == [result.summary()]


def test_quick_config_keeps_what_the_user_chose():
    parser = argparse.ArgumentParser()
    memorise.add_arguments(parser)
    args = parser.parse_args(["--train-size", "300", "--hidden", "32,32"])
    config = memorise.config_from_args(args, None)
    assert config.train_size == 300 and config.layers == (784, 32, 32, 10)
    quick = base.quick_config(memorise, config)
    assert quick.train_size == 300 and quick.layers == (784, 32, 32, 10)
    assert quick.max_epochs == memorise.QUICK_MAX_EPOCHS
    default = base.quick_config(memorise, memorise.config_from_args(parser.parse_args([]), None))
    assert default == memorise.Config.quick()


@pytest.mark.parametrize("options", [["--train-size", "5"], ["--train-size", "9001"], ["--max-epochs", "0"],
                                     ["--hidden", "abc"]])
def test_bad_options_are_one_line_errors(options):
    parser = argparse.ArgumentParser()
    memorise.add_arguments(parser)
    with pytest.raises(ValueError) as info:
        memorise.config_from_args(parser.parse_args(options), None)
    assert "\n" not in str(info.value)


def test_the_command_prints_the_json_on_its_last_line(capsys):
    from digitlab import cli

    assert cli.main(["lesson", "memorise", "--json", "--quick", "--seed", "2", "--train-size", "400"]) == 0
    data = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert list(data) == ["lesson", "train_size", "layers", "epochs", "true", "random", "slowdown"]
    assert data["train_size"] == 400 and data["layers"] == list(memorise.QUICK_LAYERS)
    assert data["random"]["val_accuracy"] <= 0.2 and data["slowdown"] >= 1.5
    expected = memorise.run(base.quick_config(memorise, memorise.Config(train_size=400)), np.random.default_rng(2))
    assert data == json_safe(expected.to_json())
