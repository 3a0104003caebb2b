"""The minima lesson: the Hungarian matching against brute force, similarity on known weights, the runs."""

import argparse
import dataclasses
import itertools
import json

import numpy as np
import pytest

from digitlab.core import datasets
from digitlab.core.lessons import base, get_lesson, lesson_names, minima
from digitlab.core.lessons.base import LessonCancelled, json_safe


@pytest.fixture(scope="module")
def quick_result():
    """One --quick run (3 seeds, 3 epochs on 3,000 digits), shared by the tests that only read it."""
    snapshots = []
    result = minima.run(minima.Config.quick(), np.random.default_rng(0), on_run=snapshots.append)
    return result, snapshots


def brute_force_best(score):
    n, m = score.shape
    return max(sum(score[i, c[i]] for i in range(n)) for c in itertools.permutations(range(m), n))


def test_the_lesson_is_registered_with_the_whole_interface():
    assert "minima" in lesson_names() and get_lesson("minima") is minima
    assert base.missing_attributes(minima) == [] and minima.USES_MODEL is False


@pytest.mark.parametrize("trial", range(60))
def test_best_matching_finds_the_best_total_of_all_permutations(trial):
    rng = np.random.default_rng(trial)
    n = int(rng.integers(1, 7))
    m = int(rng.integers(n, 8))
    # Ties (small whole numbers) are the hard case for an assignment algorithm.
    score = rng.random((n, m)) if trial % 2 else rng.integers(0, 3, (n, m)).astype(float)
    matched = minima.best_matching(score)
    assert matched.shape == (n,) and len(set(matched.tolist())) == n and matched.max() < m
    assert score[np.arange(n), matched].sum() == pytest.approx(brute_force_best(score))


def test_best_matching_beats_greedy_where_greedy_fails():
    # Greedy takes 0.9 first and is left with 0.0; the best matching is 0.8 + 0.8.
    score = np.array([[0.9, 0.8], [0.8, 0.0]])
    np.testing.assert_array_equal(minima.best_matching(score), [1, 0])


def test_best_matching_undoes_a_shuffle_of_16_neurons():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(16, 784))
    order = rng.permutation(16)
    similarity, matching = minima.matched_similarity(weights, -weights[order])  # signs flipped too
    assert similarity == pytest.approx(1.0)
    np.testing.assert_array_equal(order[matching], np.arange(16))


def test_best_matching_refuses_bad_scores():
    with pytest.raises(ValueError):
        minima.best_matching(np.zeros((3, 2)))
    with pytest.raises(ValueError):
        minima.best_matching(np.array([[np.nan]]))


def test_correlations_of_known_weights():
    x = np.linspace(-1, 1, 784)
    a = np.stack([x, x**2])
    b = np.stack([3 * x + 1, -(x**2), np.ones(784)])
    c = minima.abs_correlations(a, b)
    assert c.shape == (2, 3)
    assert c[0, 0] == pytest.approx(1.0) and c[1, 1] == pytest.approx(1.0)
    assert c[0, 1] == pytest.approx(0.0, abs=1e-9)  # odd against even
    assert c[0, 2] == 0.0  # a constant image has no correlation with anything
    # Unrelated random weights: |correlation| near 0 (sd ~ 1/sqrt(784)).
    rng = np.random.default_rng(2)
    assert minima.abs_correlations(rng.normal(size=(16, 784)), rng.normal(size=(16, 784))).mean() < 0.06


def test_ink_pixels_are_where_enough_digits_have_ink():
    images = np.zeros((200, 28, 28), dtype=np.uint8)
    images[:, 14, 14] = 255        # every digit
    images[:2, 0, 0] = 255         # exactly 1%
    images[:1, 0, 1] = 255         # 0.5%: too rare
    mask = minima.ink_pixels(images)
    assert mask.shape == (784,) and set(np.flatnonzero(mask)) == {14 * 28 + 14, 0}


def test_blank_pixels_pull_the_similarity_down_and_the_ink_figure_leaves_them_out():
    rng = np.random.default_rng(3)
    pattern = rng.normal(size=(16, 784))
    ink = np.zeros(784, dtype=bool)
    ink[:300] = True
    a, b = pattern.copy(), pattern.copy()
    # Off the ink each run keeps its own random start.
    a[:, ~ink] = rng.normal(size=(16, 484))
    b[:, ~ink] = rng.normal(size=(16, 484))
    everywhere, _ = minima.matched_similarity(a, b)
    on_ink, _ = minima.matched_similarity(a, b, ink)
    assert on_ink == pytest.approx(1.0) and everywhere < 0.6


def test_runs_are_equally_good_with_different_weights(quick_result):
    result, _ = quick_result
    assert len(result.runs) == minima.QUICK_SEEDS
    assert all(run.test_accuracy >= 0.8 for run in result.runs)
    assert result.accuracy_spread <= 0.05
    # Different minima: far from identical weights, far from unrelated ones.
    assert 0.3 < result.weight_similarity < 0.8
    assert 0.3 < result.weight_similarity_ink < 0.85
    assert len({run.seed for run in result.runs}) == len(result.runs)


def test_the_similarity_is_the_mean_over_pairs_of_runs(quick_result):
    result, _ = quick_result
    w = [run.weights for run in result.runs]
    pairs = [minima.matched_similarity(w[i], w[j])[0] for i, j in itertools.combinations(range(len(w)), 2)]
    assert result.weight_similarity == pytest.approx(np.mean(pairs))
    pairs_ink = [minima.matched_similarity(w[i], w[j], result.ink)[0] for i, j in itertools.combinations(range(len(w)), 2)]
    assert result.weight_similarity_ink == pytest.approx(np.mean(pairs_ink))


def test_aligned_weights_put_matched_neurons_in_run_ones_order(quick_result):
    result, _ = quick_result
    np.testing.assert_array_equal(result.aligned_weights(0), result.runs[0].weights)
    for index in range(1, len(result.runs)):
        aligned = result.aligned_weights(index)
        diagonal = np.diag(minima.abs_correlations(result.runs[0].weights, aligned))
        similarity, _ = minima.matched_similarity(result.runs[0].weights, result.runs[index].weights)
        assert diagonal.mean() == pytest.approx(similarity)
        # Signs matched for showing: every matched pair correlates positively.
        assert np.all(np.sum((aligned - aligned.mean(1, keepdims=True)) * result.runs[0].weights, axis=1) >= 0)


def test_each_run_is_handed_over_when_done(quick_result):
    result, snapshots = quick_result
    assert [len(s.runs) for s in snapshots] == [1, 2, 3]
    assert not any(s.finished for s in snapshots) and result.finished
    assert snapshots[-1].runs[2].test_accuracy == result.runs[2].test_accuracy
    np.testing.assert_array_equal(snapshots[1].aligned_weights(1), result.aligned_weights(1))


def test_a_run_is_repeatable_from_its_seed():
    config = dataclasses.replace(minima.Config.quick(), seeds=2, epochs=1, train_size=500)
    a = minima.run(config, np.random.default_rng(4))
    b = minima.run(config, np.random.default_rng(4))
    assert a.to_json() == b.to_json()


def test_the_ink_is_that_of_the_training_digits():
    config = dataclasses.replace(minima.Config.quick(), seeds=2, epochs=1, train_size=None)
    result = minima.run(config, np.random.default_rng(0))
    np.testing.assert_array_equal(result.ink, minima.ink_pixels(datasets.load_sample().train_images))
    assert 300 < result.ink.sum() < 700  # the border of the 28x28 frame stays blank


def test_json_has_exactly_the_issues_keys(quick_result):
    result, _ = quick_result
    data = result.to_json()
    assert list(data) == ["lesson", "runs", "accuracy_spread", "weight_similarity", "weight_similarity_ink"]
    assert data["lesson"] == "minima" and len(data["runs"]) == 3
    assert all(list(run) == ["seed", "test_accuracy", "test_cost"] for run in data["runs"])
    assert data["accuracy_spread"] == pytest.approx(max(r["test_accuracy"] for r in data["runs"])
                                                    - min(r["test_accuracy"] for r in data["runs"]))
    assert json.loads(json.dumps(data, allow_nan=False)) == json_safe(data)


def test_cancel_stops_the_run():
    snapshots = []
    with pytest.raises(LessonCancelled):
        minima.run(minima.Config.quick(), np.random.default_rng(0), cancel=lambda: bool(snapshots),
                   on_run=snapshots.append)
    assert len(snapshots) == 1  # stopped within the second run


def test_summary_and_figure(quick_result):
    result, _ = quick_result
    text = result.summary()
    assert "3 runs" in text and f"{result.weight_similarity:.2f}" in text
    fig = minima.figure(result)
    assert len(fig.panels) == 2 + len(result.runs)
    assert fig.panels[0].histograms[0].counts.sum() == len(result.runs)
    mosaic = fig.panels[2].image.data
    assert mosaic.shape == (4 * 29 - 1, 4 * 29 - 1)
    np.testing.assert_allclose(mosaic[:28, :28], result.runs[0].weights[0].reshape(28, 28))
    assert np.isnan(mosaic[28, 0])  # the gap


def test_options_and_quick():
    parser = argparse.ArgumentParser()
    minima.add_arguments(parser)
    config = minima.config_from_args(parser.parse_args(["--seeds", "6"]), None)
    assert config.seeds == 6 and config.epochs == minima.DEFAULT_EPOCHS
    quick = base.quick_config(minima, config)
    assert quick.seeds == 6 and quick.epochs == minima.QUICK_EPOCHS
    for bad in (["--seeds", "1"], ["--seeds", "99"], ["--epochs", "0"]):
        with pytest.raises(ValueError):
            minima.config_from_args(parser.parse_args(bad), None)


def test_the_command_prints_the_json_on_its_last_line(capsys):
    from digitlab import cli

    assert cli.main(["lesson", "minima", "--json", "--quick", "--seeds", "2", "--seed", "5"]) == 0
    data = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert list(data) == ["lesson", "runs", "accuracy_spread", "weight_similarity", "weight_similarity_ink"]
    assert len(data["runs"]) == 2
    expected = minima.run(base.quick_config(minima, minima.Config(seeds=2)), np.random.default_rng(5))
    assert data == json_safe(expected.to_json())
