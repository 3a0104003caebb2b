"""The descent lesson: exact gradients, known answers for the bowl, named outcomes."""

import argparse
import json

import numpy as np
import pytest

from digitlab.core.lessons import descent
from digitlab.core.lessons.base import LessonCancelled

ALL = sorted(descent.FUNCTIONS)
RNG = np.random.default_rng(0)


def _points(function, rng, count=40):
    """Random points over the domain plus its corners and centre."""
    lo, hi = np.array(function.domain).T
    corners = np.array(np.meshgrid(*zip(lo, (lo + hi) / 2, hi))).reshape(function.dim, -1).T
    return np.concatenate([rng.uniform(lo, hi, size=(count, function.dim)), corners])


@pytest.mark.parametrize("name", ALL)
def test_gradient_matches_central_differences(name):
    function = descent.FUNCTIONS[name]
    points = _points(function, np.random.default_rng(1))
    h = 1e-6
    numeric = np.stack(
        [(function.value(points + h * e) - function.value(points - h * e)) / (2 * h) for e in np.eye(function.dim)],
        axis=-1,
    )
    np.testing.assert_allclose(function.gradient(points), numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_listed_minima_are_valley_floors_and_the_first_is_lowest(name):
    function = descent.FUNCTIONS[name]
    minima = np.array(function.minima)
    assert np.all(np.linalg.norm(function.gradient(minima), axis=-1) < 1e-5)
    # A floor: every nearby point costs more.
    for m in minima:
        around = m + 1e-3 * np.random.default_rng(2).normal(size=(20, function.dim))
        assert np.all(function.value(around) > function.value(m))
    *_, grid_costs = function.grid(301)
    assert function.value(minima[0]) <= grid_costs.min() + 1e-9
    assert function.contains(np.array(function.start))


def test_vectorised_evaluation_has_the_grid_shape():
    xs, ys, costs = descent.FUNCTIONS["bumps2d"].grid(31)
    assert costs.shape == (31, 31)
    # costs[row = y, column = x]
    assert costs[3, 7] == pytest.approx(float(descent.FUNCTIONS["bumps2d"].value(np.array([xs[7], ys[3]]))))


def test_bowl_with_rate_0_1_converges_to_zero():
    result = descent.run(descent.Config(function="bowl", lr=0.1, start=(2.5,), steps=200), RNG)
    # x <- x - 0.1 * 2x = 0.8 x
    taken = len(result.positions) - 1
    np.testing.assert_allclose(result.positions[:, 0], 2.5 * 0.8 ** np.arange(taken + 1))
    assert result.converged and not result.diverged and result.outcome == "converged"
    assert abs(result.positions[-1, 0]) < 5e-5  # |f'(x)| = 2|x| < 1e-4
    assert abs(result.positions[-2, 0]) >= 5e-5  # it stopped at the first flat enough point
    assert result.minimum == 0


def test_bowl_with_rate_1_jumps_across_forever():
    result = descent.run(descent.Config(function="bowl", lr=1.0, steps=50), RNG)
    np.testing.assert_array_equal(result.positions[:, 0], 2.5 * (-1.0) ** np.arange(51))  # x -> -x
    assert not result.converged and not result.diverged
    assert result.outcome == "overshooting"


def test_bowl_with_rate_1_1_diverges_past_ten_times_the_domain():
    result = descent.run(descent.Config(function="bowl", lr=1.1, steps=200), RNG)
    xs = result.positions[:, 0]
    np.testing.assert_allclose(xs, 2.5 * (-1.2) ** np.arange(len(xs)))
    assert result.diverged and not result.converged and result.outcome == "diverged"
    # The highest cost on [-3, 3] is 9: it stops at the first cost over 90.
    assert result.costs[-1] > 90 >= result.costs[-2]


def test_a_non_finite_step_diverges_and_keeps_the_trail_json_safe():
    result = descent.run(descent.Config(function="bowl", lr=1e300, steps=5), RNG)
    assert result.diverged and result.outcome == "diverged"
    assert np.all(np.isfinite(result.positions)) and np.all(np.isfinite(result.costs))
    json.dumps(result.to_json(), allow_nan=False)


def test_a_tiny_rate_crawls_and_a_modest_one_still_rolls():
    crawl = descent.run(descent.Config(function="bowl", lr=0.001, steps=200), RNG)
    assert crawl.outcome == "crawling" and not crawl.converged
    roll = descent.run(descent.Config(function="bowl", lr=0.05, steps=20), RNG)
    assert roll.outcome == "rolling" and not roll.converged


def test_bumpy_from_the_right_hand_valley_ends_in_a_local_minimum():
    bumpy = descent.FUNCTIONS["bumpy"]
    result = descent.run(descent.Config(function="bumpy", start=(3.5,)), RNG)
    assert result.converged and result.outcome == "converged"
    assert result.positions[-1, 0] == pytest.approx(1.94295, abs=1e-3)
    assert result.minimum not in (None, 0)
    assert result.costs[-1] > float(bumpy.value(np.array(bumpy.minima[0]))) + 1.0
    assert "local minimum" in result.summary()


def test_momentum_carries_the_ball_over_the_hill_into_the_lowest_valley():
    plain = descent.run(descent.Config(function="bumpy", steps=2000), RNG)
    rolling = descent.run(descent.Config(function="bumpy", steps=2000, momentum=0.9), RNG)
    assert plain.minimum == 2 and rolling.converged and rolling.minimum == 0


def test_momentum_follows_the_formula_by_hand():
    result = descent.run(descent.Config(function="bowl", lr=0.1, start=(2.5,), steps=3, momentum=0.5), RNG)
    # v <- 0.5 v - 0.1 * 2x;  x <- x + v, from x = 2.5, v = 0
    x, v, expected = 2.5, 0.0, [2.5]
    for _ in range(3):
        v = 0.5 * v - 0.1 * 2 * x
        x = x + v
        expected.append(x)
    assert expected == pytest.approx([2.5, 2.0, 1.35, 0.755])
    np.testing.assert_allclose(result.positions[:, 0], expected, rtol=1e-12)


def test_a_2d_step_goes_against_the_gradient():
    valley = descent.FUNCTIONS["valley"]
    start = np.array([-2.5, 1.0])
    result = descent.run(descent.Config(function="valley", lr=0.05, start=tuple(start), steps=1), RNG)
    np.testing.assert_allclose(result.positions[1], start - 0.05 * valley.gradient(start))
    assert result.costs[1] < result.costs[0]


def test_random_balls_on_bumps2d_end_in_different_minima():
    bumps = descent.FUNCTIONS["bumps2d"]
    starts = bumps.random_starts(8, np.random.default_rng(3))
    assert all(bumps.contains(s) for s in starts)
    ends = set()
    for start in starts:
        result = descent.run(descent.Config(function="bumps2d", start=tuple(start), steps=2000), RNG)
        assert result.converged
        ends.add(result.minimum)
    assert None not in ends and len(ends) >= 2


def test_json_has_exactly_the_issue_keys():
    keys = {"lesson", "function", "domain", "lr", "start", "steps", "positions", "costs", "final", "converged", "diverged"}
    one = descent.run(descent.Config(function="bowl"), RNG).to_json()
    two = descent.run(descent.Config(function="valley", steps=5), RNG).to_json()
    for data in (one, two):
        assert set(data) == keys and data["lesson"] == "descent"
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        assert data["final"] == data["positions"][-1] and len(data["costs"]) == len(data["positions"])
    assert one["domain"] == [-3.0, 3.0] and one["start"] == [2.5] and one["lr"] == 0.1
    assert two["domain"] == [[-3.0, 3.0], [-3.0, 3.0]] and two["steps"] == 5 and len(two["positions"]) == 6
    assert isinstance(one["converged"], bool) and one["converged"] and not two["diverged"]


def test_cancel_raises_lesson_cancelled():
    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(LessonCancelled):
        descent.run(descent.Config(function="bowl", lr=0.001, steps=1000), RNG, cancel=cancel)
    assert len(polls) == 4


def test_progress_ends_at_one():
    reports = []
    descent.run(descent.Config(), RNG, progress=lambda fraction, message: reports.append((fraction, message)))
    assert reports[-1] == (1.0, "converged")
    assert all(0 <= fraction <= 1 for fraction, _ in reports)


def _args(*argv):
    parser = argparse.ArgumentParser()
    descent.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_arguments_make_a_config():
    config = descent.config_from_args(_args("--function", "valley", "--lr", "0.1", "--start", "1", "-2",
                                            "--steps", "30", "--momentum", "0.5"), None)
    assert config == descent.Config(function="valley", lr=0.1, start=(1.0, -2.0), steps=30, momentum=0.5)
    assert descent.config_from_args(_args(), None) == descent.Config()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "0"], "learning rate"),
        (["--lr", "nan"], "learning rate"),
        (["--momentum", "1"], "momentum"),
        (["--steps", "-1"], "steps"),
        (["--start", "1", "2"], "takes 1 start value"),
        (["--function", "valley", "--start", "1"], "takes 2 start value"),
        (["--start", "7"], "outside"),
    ],
)
def test_bad_arguments_give_one_line_errors(argv, message):
    with pytest.raises(ValueError, match=message) as caught:
        descent.config_from_args(_args(*argv), None)
    assert "\n" not in str(caught.value)


def test_the_cli_offers_exactly_the_issue_functions():
    with pytest.raises(SystemExit):
        _args("--function", "bowl2d")
    assert descent.CLI_FUNCTIONS == ("bowl", "bumpy", "valley", "bumps2d")


def test_ball_takes_live_rate_changes():
    ball = descent.Ball(descent.FUNCTIONS["bowl"], (2.0,), lr=0.1)
    assert ball.outcome() == "ready"
    ball.step()
    ball.lr = 0.25
    ball.step()
    np.testing.assert_allclose([p[0] for p in ball.positions], [2.0, 1.6, 0.8])
    ball.lr = 1.5
    while ball.step():
        pass
    assert ball.outcome() == "diverged" and not ball.step()


def test_figure_shows_the_trail_on_the_curve_or_the_heat_map():
    from digitlab.core.lessons.figure import Figure

    one = descent.run(descent.Config(function="bumpy"), RNG)
    picture = descent.figure(one)
    assert isinstance(picture, Figure) and len(picture.panels) == 2 and picture.notes == [one.summary()]
    curve, trail = picture.panels[0].lines
    np.testing.assert_array_equal(trail.x, one.positions[:, 0])
    np.testing.assert_array_equal(trail.y, one.costs)
    assert curve.x.min() == -4 and curve.x.max() == 4 and picture.panels[0].image is None
    np.testing.assert_array_equal(picture.panels[1].lines[0].y, one.costs)

    two = descent.run(descent.Config(function="bumps2d"), RNG)
    surface = descent.figure(two).panels[0]
    assert surface.image is not None and surface.image.extent == (-3.0, 3.0, -3.0, 3.0)
    assert surface.image.origin == "lower" and surface.equal_aspect
    np.testing.assert_array_equal(surface.lines[0].y, two.positions[:, 1])


def test_the_command_prints_the_json_on_its_last_line(capsys):
    from digitlab.cli import main

    status = main(["lesson", "descent", "--json", "--function", "bumpy", "--lr", "0.05", "--start", "3.5"])
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 0
    data = json.loads(out[-1])
    assert data["function"] == "bumpy" and data["start"] == [3.5] and data["converged"]
    assert data["final"][0] == pytest.approx(1.94295, abs=1e-3)  # the right-hand valley, not the lowest


def test_the_command_reports_a_bad_start_in_one_line(capsys):
    from digitlab.cli import main

    assert main(["lesson", "descent", "--function", "valley", "--start", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "takes 2 start value" in err[0]
