"""The landscape lesson: slices against direct computations, the directions' construction, the shipped model's valley."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from digitlab.core import datasets
from digitlab.core.lessons import base, get_lesson, landscape
from digitlab.core.lessons.base import LessonCancelled, json_safe
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network

KEYS = {"lesson", "grid", "span", "directions", "n_examples", "center_cost", "min_cost", "edge_cost_mean", "costs"}


@pytest.fixture(scope="module")
def sample():
    return datasets.load_sample()


@pytest.fixture(scope="module")
def shipped():
    return load_default_model()[0]


@pytest.fixture(scope="module")
def quick_result(shipped, sample):
    config = landscape.Config.quick()
    return landscape.run(dataclasses.replace(config, network=shipped, data=sample, line=False), np.random.default_rng(0))


def test_module_has_the_lesson_interface():
    assert get_lesson("landscape") is landscape
    assert base.missing_attributes(landscape) == []
    assert landscape.USES_MODEL


def _textbook_cost(network: Network, parameters: np.ndarray, x: np.ndarray, targets: np.ndarray) -> float:
    """The squared-error cost computed from scratch, layer by layer (float64)."""
    probe = Network(network.sizes, network.activation, network.cost,
                    [w.astype(np.float64) for w in network.weights],
                    [b.astype(np.float64) for b in network.biases], dtype=np.float64)
    probe.parameters[:] = parameters
    a = x.astype(np.float64)
    for w, b in zip(probe.weights, probe.biases):
        a = 1 / (1 + np.exp(-(a @ w.T + b)))
    return float(0.5 * np.sum((a - targets) ** 2) / len(x))


def test_a_slice_point_is_the_cost_at_that_point(sample):
    network = Network.create((784, 5, 10), rng=np.random.default_rng(1))
    x, t = landscape.evaluation_subset(sample, 50, "val")
    rng = np.random.default_rng(2)
    d1, d2 = (landscape.filter_normalised_direction(network, rng) for _ in range(2))
    center = network.parameters.astype(np.float64)
    coords = np.linspace(-0.8, 0.8, 5)
    costs = landscape.slice_costs(network.copy(), center, d1, d2, coords, x, t)
    for i, j in ((0, 0), (1, 3), (4, 2), (2, 2)):
        expected = _textbook_cost(network, center + coords[j] * d1 + coords[i] * d2, x, t)
        assert costs[i, j] == pytest.approx(expected, rel=1e-4)
    assert costs[2, 2] == pytest.approx(network.evaluate(x, np.argmax(t, axis=1))[0], rel=1e-6)


def test_along_one_output_bias_the_cost_is_known_in_closed_form(sample):
    # All weights zero: every output is sigmoid(its bias), whatever the digit. Moving only
    # output 0's bias by s gives C(s) = 1/2 [ mean((sigmoid(s) - y0)^2) + 9 * mean((1/2 - yk)^2) ].
    network = Network.create((784, 4, 10), rng=np.random.default_rng(0))
    network.parameters[:] = 0
    x, t = landscape.evaluation_subset(sample, 200, "train")
    d1 = np.zeros(network.parameters.size)
    d1[network.parameters.size - 10] = 1.0  # output 0's bias: the first of the last layer's biases
    coords = np.linspace(-3, 3, 7)
    costs = landscape.slice_costs(network.copy(), np.zeros_like(d1), d1, np.zeros_like(d1), coords, x, t)
    share = t.mean(axis=0)
    rest = sum(share[k] * 0.25 + (1 - share[k]) * 0.25 for k in range(1, 10))
    for s, cost in zip(coords, costs[0]):
        a = 1 / (1 + np.exp(-s))
        expected = 0.5 * (share[0] * (a - 1) ** 2 + (1 - share[0]) * a ** 2 + rest)
        assert cost == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(costs, np.broadcast_to(costs[0], costs.shape))  # d2 = 0: all rows alike


def test_filter_normalised_rows_have_the_weights_norms_and_biases_stay(shipped):
    d = landscape.filter_normalised_direction(shipped, np.random.default_rng(3))
    assert d.shape == shipped.parameters.shape
    offset = 0
    for w in shipped.weights:
        part = d[offset:offset + w.size].reshape(w.shape)
        np.testing.assert_allclose(np.linalg.norm(part, axis=1), np.linalg.norm(w, axis=1), rtol=1e-5)
        # A random direction, not the weights themselves.
        assert abs(np.corrcoef(part.ravel(), w.ravel())[0, 1]) < 0.2
        offset += w.size
    np.testing.assert_array_equal(d[offset:], 0.0)  # the biases' part
    other = landscape.filter_normalised_direction(shipped, np.random.default_rng(4))
    assert not np.allclose(d, other)


def test_the_pca_plane_contains_a_flat_path():
    rng = np.random.default_rng(5)
    last = rng.standard_normal(300)
    e1, e2 = rng.standard_normal(300), rng.standard_normal(300)
    u, v = rng.standard_normal(7) * 3, rng.standard_normal(7)
    u[-1] = v[-1] = 0.0
    snapshots = last + u[:, None] * e1 + v[:, None] * e2
    d1, d2, coords, explained = landscape.path_plane(snapshots)
    assert d1 @ d1 == pytest.approx(1) and d2 @ d2 == pytest.approx(1) and abs(d1 @ d2) < 1e-12
    np.testing.assert_allclose(last + coords @ np.stack([d1, d2]), snapshots, atol=1e-9)
    np.testing.assert_allclose(coords[-1], 0.0, atol=1e-12)
    assert explained.sum() == pytest.approx(1.0) and explained[0] >= explained[1]


def test_a_path_off_the_plane_is_not_reconstructed():
    rng = np.random.default_rng(6)
    snapshots = rng.standard_normal((6, 50))  # five independent offsets: no plane holds them
    d1, d2, coords, explained = landscape.path_plane(snapshots)
    assert explained.sum() < 0.95
    assert not np.allclose(snapshots[-1] + coords @ np.stack([d1, d2]), snapshots, atol=1e-3)


def test_shipped_model_sits_at_the_bottom_of_its_valley(quick_result, shipped, sample):
    r = quick_result
    assert r.grid == landscape.QUICK_GRID and r.costs.shape == (r.grid, r.grid)
    x, t = landscape.evaluation_subset(sample, landscape.QUICK_EXAMPLES, "val")
    # The centre is the model's own cost on the subset: the first 500 validation digits.
    assert r.center_cost == pytest.approx(shipped.evaluate(x, np.argmax(t, axis=1))[0], rel=1e-9)
    assert r.center_cost <= 1.01 * r.min_cost
    assert r.edge_cost_mean >= 2 * r.center_cost
    np.testing.assert_allclose(r.coords, np.linspace(-landscape.DEFAULT_SPAN, landscape.DEFAULT_SPAN, r.grid))


def test_json_has_exactly_the_issues_keys(quick_result):
    data = json.loads(json.dumps(json_safe(quick_result.to_json()), allow_nan=False))
    assert set(data) == KEYS
    assert data["lesson"] == "landscape" and data["directions"] == "random"
    assert data["grid"] == 9 and data["n_examples"] == 500 and data["span"] == landscape.DEFAULT_SPAN
    assert np.array(data["costs"]).shape == (9, 9)
    assert data["min_cost"] == min(min(row) for row in data["costs"])


def test_trajectory_plane_holds_the_path_and_the_line_joins_two_networks(sample, shipped):
    config = dataclasses.replace(landscape.Config.quick(), network=shipped, data=sample, directions="trajectory",
                                 epochs=4, train_size=1000)
    r = landscape.run(config, np.random.default_rng(1))
    assert r.path.shape == (5, 2) and r.explained.sum() > 0.8
    np.testing.assert_allclose(r.path[-1], 0.0, atol=1e-9)  # the centre is the run's final weights
    assert r.span == pytest.approx(landscape.PATH_MARGIN * np.max(np.abs(r.path)))
    # The path starts high up (random weights) and ends at the centre, below it.
    start = np.unravel_index(np.argmin(np.hypot(*np.meshgrid(r.coords - r.path[0, 0], r.coords - r.path[0, 1]))),
                             r.costs.shape)
    assert r.costs[start] > 2 * r.center_cost
    assert r.line_t[0] == -0.25 and r.line_t[-1] == 1.25 and len(r.line_costs) == landscape.DEFAULT_LINE_POINTS
    # t = 0 is network A, the trajectory's last point: the slice's centre.
    zero = int(np.argmin(np.abs(r.line_t)))
    assert r.line_t[zero] == pytest.approx(0, abs=1e-12) and r.line_costs[zero] == pytest.approx(r.center_cost)
    assert r.barrier is not None and r.barrier > 0  # two seeds' minima: a ridge between them
    assert "barrier" in r.summary()


def test_line_between_ends_at_both_networks(sample):
    a = Network.create((784, 6, 10), rng=np.random.default_rng(7))
    b = Network.create((784, 6, 10), rng=np.random.default_rng(8))
    x, t = landscape.evaluation_subset(sample, 100, "val")
    ts, costs = landscape.line_between(a.copy(), a.parameters.astype(float), b.parameters.astype(float), x, t,
                                       points=5, t_range=(0.0, 1.0))
    np.testing.assert_allclose(ts, [0, 0.25, 0.5, 0.75, 1])
    assert costs[0] == pytest.approx(a.evaluate(x, t.argmax(1))[0], rel=1e-5)
    assert costs[-1] == pytest.approx(b.evaluate(x, t.argmax(1))[0], rel=1e-5)


def test_cancel_stops_between_grid_rows(shipped, sample):
    rows = []
    config = dataclasses.replace(landscape.Config.quick(), network=shipped, data=sample, line=False)

    def progress(fraction, message):
        if message.startswith("grid row"):
            rows.append(message)

    with pytest.raises(LessonCancelled):
        landscape.run(config, np.random.default_rng(0), progress=progress, cancel=lambda: len(rows) >= 3)
    assert len(rows) == 3  # polled before every row: stopped before the fourth
    before = shipped.parameters.copy()
    landscape.run(config, np.random.default_rng(0))
    np.testing.assert_array_equal(shipped.parameters, before)  # the model itself is never moved


def test_config_checks():
    for bad in (dict(grid=8), dict(grid=1), dict(span=0.0), dict(span=float("nan")), dict(directions="pca"),
                dict(part="test"), dict(n_examples=0)):
        with pytest.raises(ValueError):
            landscape.check_config(landscape.Config(**bad))
    landscape.check_config(landscape.Config())


def test_the_command_prints_the_json_on_its_last_line(capsys):
    from digitlab import cli

    assert cli.main(["lesson", "landscape", "--json", "--quick", "--grid", "5", "--span", "0.3"]) == 0
    data = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(data) == KEYS and data["grid"] == 5 and data["span"] == 0.3
    assert data["center_cost"] <= 1.01 * data["min_cost"]


def test_aligning_a_shuffled_copy_gives_back_the_same_weights():
    a = Network.create((784, 8, 6, 10), rng=np.random.default_rng(9))
    rng = np.random.default_rng(10)
    first, second = rng.permutation(8), rng.permutation(6)
    weights = [a.weights[0][first], a.weights[1][second][:, first], a.weights[2][:, second]]
    biases = [a.biases[0][first], a.biases[1][second], a.biases[2]]
    shuffled = a.copy()
    shuffled.set_parameters(weights, biases)
    assert not np.allclose(shuffled.parameters, a.parameters)
    x = np.random.default_rng(11).random((5, 784)).astype(np.float32)
    np.testing.assert_allclose(shuffled.predict(x), a.predict(x), rtol=1e-5)  # the same function
    aligned = landscape.align_neurons(a, shuffled)
    np.testing.assert_array_equal(aligned.parameters, a.parameters)
    np.testing.assert_array_equal(shuffled.weights[0], weights[0])  # the original is left alone


def test_matched_neurons_lower_the_barrier(sample, shipped):
    config = dataclasses.replace(landscape.Config.quick(), network=shipped, data=sample, grid=3, epochs=3)
    r = landscape.run(config, np.random.default_rng(2))
    assert r.aligned_costs.shape == r.line_costs.shape
    assert r.aligned_costs[np.argmin(np.abs(r.line_t))] == pytest.approx(r.line_costs[np.argmin(np.abs(r.line_t))])
    # At t = 1 the matched network computes what B does: the same cost.
    one = int(np.argmin(np.abs(r.line_t - 1)))
    assert r.aligned_costs[one] == pytest.approx(r.line_costs[one], rel=1e-4)
    assert r.aligned_barrier < 0.5 * r.barrier
