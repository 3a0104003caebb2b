"""The shipped networks read handwriting they were not made from, and show the video's claims.

The handwriting comes from tests/handwriting_proxy.py: machine fonts rendered by Qt and an
independent Bezier pen with pressure, photographed (uneven light, blur, tilt, grain, JPEG-like)
or scanned (thresholded, dust), either polarity, anywhere on a larger sheet, prepared as a
user's picture is. None of it passes through the training pipeline (MNIST, augment.py,
drawing.py). The floors sit below the figures of all five recipe seeds by a margin (see
resources/default_model.md) and above what the models shipped before issue 12 reached.
Tall, narrow digits (the issue's weak 2s) are tested on their own.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from digitlab import cli
from digitlab.core.datasets import load_test_set, to_inputs
from digitlab.core.model_io import bundled_model_path, load_bundled_model
from tests import handwriting_proxy as proxy

PROXY_COUNT = 200  # digits per set, 20 of each
PROXY_SEED = 2026  # not a seed the figures in default_model.md were developed on
SETS = ("font_photo", "font_scan", "pen_photo", "pen_scan")

#: Accuracy floors on the proxy sets, per shipped model ("all": the four sets together).
#: Five recipe seeds measured (min-max): default font_photo 0.78-0.885, font_scan 0.83-0.90,
#: pen_photo 0.98-0.99, pen_scan 0.99-1.0, all 0.905-0.938; bigger 0.985-0.995, 0.97-0.985,
#: 0.99-0.995, 1.0, 0.988-0.991. The models shipped before issue 12 fail them: the old default
#: read 0.775 / 0.79 / 0.96 / 0.945 / all 0.868, the old bigger 0.895 / 0.92 / 0.98 / 0.985 / 0.945.
FLOORS = {
    "default": {"font_photo": 0.72, "font_scan": 0.78, "pen_photo": 0.965, "pen_scan": 0.97, "all": 0.89},
    "bigger": {"font_photo": 0.95, "font_scan": 0.95, "pen_photo": 0.98, "pen_scan": 0.985, "all": 0.975},
}
OFFICIAL_FLOORS = {"default": 0.925, "bigger": 0.975}


@pytest.fixture(scope="module")
def proxy_sets(qapp):
    """The four proxy sets: name -> (inputs (n, 784), labels); fonts need the QApplication."""
    sets = {}
    for index, name in enumerate(SETS):
        source, paper = name.split("_")
        sets[name] = proxy.handwriting_set(source, paper, PROXY_COUNT, PROXY_SEED + index)
    return sets


def proxy_accuracies(network, sets) -> dict:
    """Accuracy per set and over all of them."""
    scores = {name: proxy.accuracy(network, *data) for name, data in sets.items()}
    inputs = np.concatenate([data[0] for data in sets.values()])
    labels = np.concatenate([data[1] for data in sets.values()])
    scores["all"] = proxy.accuracy(network, inputs, labels)
    return scores


@pytest.mark.parametrize("name", ["default", "bigger"])
def test_shipped_model_reads_handwriting_unlike_its_training(proxy_sets, name):
    network, _ = load_bundled_model(name)
    scores = proxy_accuracies(network, proxy_sets)
    short = {key: (round(scores[key], 3), floor) for key, floor in FLOORS[name].items() if scores[key] < floor}
    assert not short, f"{name} model below its floors (accuracy, floor): {short}"


def test_tall_narrow_digits_are_read():
    """The issue's finding: tall, narrow 2s were read as 1 or 8 (the old model: 2s 70 %, all 78.7 %)."""
    inputs, labels = proxy.narrow_set(300, seed=77, aspect=0.6)
    network, _ = load_bundled_model("default")
    predicted = network.predict(inputs).argmax(axis=1)
    # The five seeds of the augmented recipe read 0.947-0.97, the shipped one (no augmented
    # copies, see recipes.DEFAULT_RECIPE) 0.887; the old model 0.787.
    assert np.mean(predicted == labels) >= 0.85
    assert np.mean(predicted[labels == 2] == 2) >= 0.9  # all five: 1.0


@pytest.mark.parametrize("name", ["default", "bigger"])
def test_shipped_model_reads_the_official_test_set(official_test_dir, name):
    network, _ = load_bundled_model(name)
    images, labels = load_test_set(official_test_dir)
    assert network.evaluate(to_inputs(images), labels)[1] >= OFFICIAL_FLOORS[name]


def _lesson_json(*args) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["lesson", *args, "--json"]) == 0
    return json.loads(out.getvalue().splitlines()[-1])


def test_noise_lesson_shows_the_videos_claim_with_the_shipped_model():
    """`digitlab lesson noise`, full run: confident on noise for at least half, on digits for 9 in 10."""
    data = _lesson_json("noise")
    assert data["noise_confident_share"] >= 0.5
    assert data["digits_confident_share"] >= 0.9


def test_the_videos_network_and_a_bigger_one_under_a_megabyte():
    default, _ = load_bundled_model("default")
    assert default.sizes == (784, 16, 16, 10) and default.activation == "sigmoid" and default.cost == "mse"
    bigger, _ = load_bundled_model("bigger")
    assert bigger.n_parameters > 5 * default.n_parameters
    assert bigger.activation == "relu" and bigger.cost == "cross_entropy"
    assert bundled_model_path("bigger").stat().st_size < 1_000_000


def test_predict_reads_jpeg_photos_of_handwriting(qapp, tmp_path):
    """The whole path a user's photo takes: a real JPEG file, `digitlab predict --model bigger`."""
    from PySide6.QtGui import QImage

    rng = np.random.default_rng(11)
    paths, digits = [], list(range(10))
    for digit in digits:
        picture = proxy.photographed(proxy.pen_digit(digit, rng), rng, dark_ink=digit % 3 != 0)
        picture = np.ascontiguousarray(picture)
        image = QImage(picture.data, picture.shape[1], picture.shape[0], picture.shape[1],
                       QImage.Format_Grayscale8)
        path = tmp_path / f"photo{digit}.jpg"
        assert image.save(str(path), "JPG", int(rng.integers(40, 90)))
        paths.append(str(path))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["predict", "--model", "bigger", "--json", *paths])
    answers = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    read = [answer.get("digit") for answer in answers]
    assert sum(r == d for r, d in zip(read, digits)) >= 9, read
