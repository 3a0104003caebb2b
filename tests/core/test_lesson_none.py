"""The "none" lesson: trained with noise exposure, the network stops answering noise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitlab.core.lessons import none
from digitlab.core.lessons.base import LessonCancelled


@pytest.fixture(scope="module")
def quick_result():
    return none.run(none.NoneConfig.quick(), np.random.default_rng(0))


def test_quick_run_shows_the_direction(quick_result):
    result = quick_result
    assert result.share("after") < result.share("before")
    assert result.share("after") <= 0.05
    assert result.before_noise_top.size == result.after_noise_top.size == none.QUICK_NOISE_SAMPLES
    assert abs(result.before_accuracy - result.after_accuracy) < 0.05
    assert 0.8 < result.after_accuracy <= 1


def test_json_keys_are_exact(quick_result):
    data = quick_result.to_json()
    json.dumps(data, allow_nan=False)
    assert set(data) == {"lesson", "method", "before", "after"}
    assert data["lesson"] == "none" and data["method"] == "exposure"
    for run in ("before", "after"):
        assert set(data[run]) == {"noise_confident_share", "test_accuracy"}
    assert data["after"]["noise_confident_share"] == quick_result.share("after")
    assert " points " in quick_result.summary()


def test_figure_shows_both_histograms(quick_result):
    figure = none.figure(quick_result)
    assert len(figure.panels) == 2
    for panel, run in zip(figure.panels, none.RUNS):
        assert sum(panel.histograms[0].counts) == getattr(quick_result, f"{run}_noise_top").size


def test_config_errors_and_cancel():
    with pytest.raises(ValueError, match="epochs must be a whole number of at least 1"):
        none.check_config(none.NoneConfig(epochs=0))
    with pytest.raises(ValueError, match="exposure only"):
        none.check_config(none.NoneConfig(method="eleventh"))
    with pytest.raises(LessonCancelled):
        none.run(none.NoneConfig.quick(), np.random.default_rng(0), cancel=lambda: True)
