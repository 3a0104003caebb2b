"""The nudges view: a drawn digit's nudges and gradient, one step on a copy, Undo, following the session.

And ``digitlab lesson nudges`` run in a child process on PNG files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.datasets import load_sample
from digitlab.core.lessons import base
from digitlab.core.lessons import nudges as lesson
from digitlab.core.model_io import load_default_model
from digitlab.core.network import Network
from digitlab.ui.lessons import lesson_view
from digitlab.ui.lessons.nudges import EXPLANATION, HINT, NudgesView, make_view
from digitlab.ui.session import ModelSession

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = {"lesson", "label", "predicted_before", "predicted_after", "cost_before", "cost_after",
        "output_before", "output_after", "grad_norm_by_layer"}


@pytest.fixture(scope="module")
def digits():
    split = load_sample()
    return split.val_images.astype(np.float32) / 255, split.val_labels.astype(int)


@pytest.fixture
def session():
    return ModelSession(load_default_model()[0], "default")


@pytest.fixture
def view(qtbot, session):
    widget = NudgesView(session, rng=np.random.default_rng(0))
    qtbot.addWidget(widget)
    widget.resize(1100, 720)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click(button):
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_registered_and_explains_itself(qtbot, session):
    widget = lesson_view("nudges").create(session)
    qtbot.addWidget(widget)
    assert isinstance(widget, NudgesView) and isinstance(make_view(session), NudgesView)
    assert widget._explanation.text() == EXPLANATION and len(EXPLANATION.splitlines()) == 2
    assert widget._hint.text() == HINT and HINT.startswith("Try this")


def test_without_an_input_it_asks_for_one(view):
    assert view.nudges() is None
    assert not view._step_button.isEnabled() and not view._undo_button.isEnabled()
    assert "Draw a digit" in view.cost_text()
    assert view.shown_bars()["now"].size == 0


def test_shows_this_examples_cost_nudges_and_gradient(view, session, digits):
    images, labels = digits
    session.set_input(images[0])
    click(view._label_group.button(3))
    assert view.label == 3
    expected = lesson.analyse(session.network, images[0], 3)
    seen = view.nudges()
    assert seen.cost == pytest.approx(expected.cost)
    bars = view.shown_bars()
    np.testing.assert_array_equal(bars["wanted"], np.eye(10)[3])
    np.testing.assert_allclose(bars["now"], expected.outputs)
    assert bars["before"].size == 0  # no step yet
    np.testing.assert_allclose(bars["norms"], expected.grad_norm_by_layer)
    # The mosaic is minus the gradient (the step's direction), with levels symmetric around 0.
    mosaic = view.shown_gradient()
    np.testing.assert_allclose(mosaic, lesson.gradient_mosaic(-expected.first_layer_images()))
    low, high = view.gradient_levels()
    assert low == -high and high == pytest.approx(np.abs(mosaic).max())
    assert f"{expected.cost:.4f}" in view.cost_text()


def test_step_lowers_the_cost_raises_the_bar_and_undo_restores(view, session, digits):
    images, labels = digits
    original = session.network.parameters.copy()
    session.set_input(images[1])
    wrong = (int(labels[1]) + 4) % 10
    view.set_label(wrong)
    start = view.nudges()
    assert view.rate == 3.0  # training's rate for the video's MSE network
    click(view._step_button)
    after = view.nudges()
    assert view.steps == 1
    assert after.cost < start.cost
    bars = view.shown_bars()
    np.testing.assert_allclose(bars["before"], start.outputs)  # the bars before and after
    assert bars["now"][wrong] > bars["before"][wrong]
    assert "as the nudges asked" in view.outcome_text()
    # Repeating teaches the digit.
    for _ in range(49):
        if view.nudges().predicted == wrong:
            break
        click(view._step_button)
    assert view.nudges().predicted == wrong
    assert view.nudges().outputs[wrong] >= after.outputs[wrong]
    # The session's network was never touched.
    np.testing.assert_array_equal(session.network.parameters, original)
    assert view.network is not session.network
    # Undo goes back one step at a time, to the exact parameters.
    steps = view.steps
    click(view._undo_button)
    assert view.steps == steps - 1
    while view.steps:
        click(view._undo_button)
    np.testing.assert_array_equal(view.network.parameters, original)
    assert view.nudges().cost == pytest.approx(start.cost)
    np.testing.assert_allclose(view.shown_bars()["now"], start.outputs)
    assert view.shown_bars()["before"].size == 0
    assert not view._undo_button.isEnabled()


def test_rate_spin_box_sets_the_step(view, session, digits):
    images, _ = digits
    session.set_input(images[2])
    view.set_label(5)
    view.set_rate(0.25)
    view.take_step()
    expected = lesson.analyse(lesson.step(session.network, images[2], 5, 0.25), images[2], 5)
    assert view.nudges().cost == pytest.approx(expected.cost)


def test_input_change_refreshes(qtbot, view, session, digits):
    images, _ = digits
    session.set_input(images[0])
    view.set_label(2)
    first = view.nudges().cost
    with qtbot.waitSignal(view.refreshed, timeout=1000):
        session.set_input(images[7])
    assert view.nudges().cost == pytest.approx(lesson.analyse(session.network, images[7], 2).cost)
    assert view.nudges().cost != first
    session.set_input(None)
    assert view.nudges() is None


def test_network_change_resets_the_steps_and_the_rate(view, session, digits):
    images, _ = digits
    session.set_input(images[0])
    view.take_step()
    assert view.steps == 1
    other = Network.create((784, 8, 11), cost="cross_entropy", rng=np.random.default_rng(1))
    session.set_network(other, "other")
    assert view.steps == 0
    assert view.rate == 0.2
    assert len(view._label_group.buttons()) == 11
    assert view.shown_bars()["norms"].size == 2
    assert view.nudges().cost == pytest.approx(lesson.analyse(other, images[0], view.label).cost)


def test_pick_a_digit_from_the_data(view, session, digits):
    images, labels = digits
    index = view.pick_digit()
    np.testing.assert_allclose(session.current_input, images[index])
    assert view.label == labels[index]
    assert view.nudges() is not None


# ------------------------------------------------------------ command line
# Here, not in tests/core: the picture files are written and read with Qt (digitlab.imageio).


@pytest.fixture(scope="module")
def shipped():
    return load_default_model()[0]


def digitlab(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("DIGITLAB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "digitlab", "lesson", "nudges", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("digitlab: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def seven_png(tmp_path_factory):
    from digitlab.core.drawing import draw_digit
    from digitlab.imageio import write_png

    path = tmp_path_factory.mktemp("nudges") / "seven.png"
    write_png(path, draw_digit(7, size=280, width=22))
    return path


def test_cli_json_in_a_child_process_matches_run_on_the_predict_preparation(seven_png, shipped):
    from digitlab.core.preprocess import prepare
    from digitlab.imageio import read_image

    done = digitlab("--json", "--image", str(seven_png), "--label", "3")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(data) == KEYS
    # The picture is prepared as `digitlab predict` prepares it.
    image = prepare(read_image(seven_png))
    expected = lesson.run(lesson.Config(network=shipped, image=image, label=3), np.random.default_rng(0))
    assert data == base.json_safe(expected.to_json())
    assert data["predicted_before"] == 7
    assert data["cost_after"] < data["cost_before"]
    assert data["output_after"][3] > data["output_before"][3]


def test_cli_rate_and_validation_index(shipped, digits):
    done = digitlab("--json", "--index", "4", "--label", "1", "--lr", "0.5")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout.strip().splitlines()[-1])
    images, _ = digits
    expected = lesson.run(lesson.Config(network=shipped, image=images[4], label=1, learning_rate=0.5),
                          np.random.default_rng(0))
    assert data == base.json_safe(expected.to_json())


@pytest.mark.parametrize("args,fragments", [
    (["--label", "3"], ["--image"]),
    (["--image", "IMAGE", "--label", "10"], ["label", "0 to 9", "10"]),
    (["--image", "IMAGE", "--label", "seven"], ["--label", "whole number"]),
    (["--image", "IMAGE", "--label", "-1"], ["--label"]),
    (["--image", "IMAGE"], ["--label"]),
    (["--image", "missing.png", "--label", "1"], ["missing.png"]),
    (["--image", "IMAGE", "--label", "1", "--lr", "0"], ["--lr"]),
    (["--index", "1000", "--label", "1"], ["--index", "999"]),
])
def test_cli_bad_arguments_give_one_line_errors(seven_png, args, fragments):
    args = [str(seven_png) if a == "IMAGE" else a for a in args]
    assert_one_line_error(digitlab(*args), *fragments)


def test_cli_blank_image_is_a_one_line_error(tmp_path):
    from digitlab.imageio import write_png

    blank = tmp_path / "blank.png"
    write_png(blank, np.zeros((50, 50), dtype=np.uint8))
    assert_one_line_error(digitlab("--image", str(blank), "--label", "1"), "no ink")
