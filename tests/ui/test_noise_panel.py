"""The noise-versus-digits comparison, on a real trained network and the bundled digits."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from digitlab.core.datasets import load_sample, one_hot, to_inputs
from digitlab.core.network import Network
from digitlab.core.preprocess import NOISE_KINDS
from digitlab.ui.noise_panel import SAMPLES, NoisePanel, compare, noise_batch


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def network(sample):
    """The shipped model, or (until it exists) a small network trained here in a second."""
    try:
        from digitlab.core.model_io import load_default_model

        return load_default_model()[0]
    except (ImportError, OSError, ValueError):
        pass
    net = Network.create((784, 16, 16, 10), rng=np.random.default_rng(0))
    x = to_inputs(sample.train_images)
    y = one_hot(sample.train_labels)
    for start in range(0, len(x), 10):
        net.train_step(x[start : start + 10], y[start : start + 10], learning_rate=3.0)
    assert net.evaluate(to_inputs(sample.val_images), sample.val_labels)[1] > 0.6
    return net


@pytest.fixture
def panel(qtbot):
    widget = NoisePanel(rng=np.random.default_rng(123))
    qtbot.addWidget(widget)
    widget.resize(560, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_comparison_on_a_trained_network_fills_both_histograms(panel, network, sample, qtbot):
    panel.set_network(network)
    panel.set_real_digits(sample.val_images, sample.val_labels)
    with qtbot.waitSignal(panel.comparisonFinished, timeout=5000) as blocker:
        QTest.mouseClick(panel._compare_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result is panel.result()
    assert result.noise_top.shape == (SAMPLES,) and result.real_top.shape == (SAMPLES,)
    counts = panel.histogram_counts()
    assert counts["noise"].sum() == SAMPLES and counts["real"].sum() == SAMPLES
    # The plotted bars are the histogram of the results (checked independently).
    expected, _ = np.histogram(result.noise_top, bins=panel.bin_edges())
    np.testing.assert_array_equal(counts["noise"], expected)
    np.testing.assert_array_equal(panel._noise_curve.getData()[1], expected)
    # The trained network is usually right on real digits and sure of itself.
    assert result.real_accuracy > 0.6
    assert result.real_median > 0.5
    assert result.noise_above == pytest.approx(np.mean(result.noise_top > 0.5))
    text = panel.summary_text()
    assert f"above 0.5 for {result.noise_above:.0%} of images" in text
    assert "none of these" in text
    assert f"{result.real_accuracy:.0%} correct" in text
    assert panel._noise_median.value() == pytest.approx(np.median(result.noise_top))


def test_the_top_outputs_are_the_networks_own(network, sample):
    rng = np.random.default_rng(5)
    result = compare(network, "uniform", rng, sample.val_images[:50], sample.val_labels[:50], samples=50)
    outputs = network.predict(to_inputs(sample.val_images[:50]))
    np.testing.assert_allclose(result.real_top, outputs.max(axis=1))
    np.testing.assert_array_equal(result.real_predictions, outputs.argmax(axis=1))
    replay = noise_batch("uniform", 50, np.random.default_rng(5)).reshape(50, -1)
    np.testing.assert_allclose(result.noise_top, network.predict(replay).max(axis=1))


def test_the_same_seed_gives_the_same_comparison(network, sample, qtbot):
    results = []
    for _ in range(2):
        widget = NoisePanel(rng=np.random.default_rng(42))
        qtbot.addWidget(widget)
        widget.set_network(network)
        widget.set_real_digits(sample.val_images, sample.val_labels)
        results.append(widget.run_comparison())
    np.testing.assert_array_equal(results[0].noise_top, results[1].noise_top)
    np.testing.assert_array_equal(results[0].real_labels, results[1].real_labels)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_each_noise_kind(panel, network, kind):
    panel.set_network(network)
    panel.set_kind(kind)
    assert panel.kind() == kind
    result = panel.run_comparison()
    assert result.kind == kind
    assert panel.histogram_counts()["noise"].sum() == SAMPLES
    assert panel.histogram_counts()["real"].sum() == 0  # no real digits given
    assert "real digits" not in panel.summary_text()
    assert not panel._real_median.isVisible()


def test_mixed_noise_takes_the_kinds_in_turn():
    images = noise_batch("all", 9, np.random.default_rng(0))
    assert images.shape == (9, 28, 28) and images.dtype == np.float32
    salt = images[2::3]  # salt and pepper: only 0 and 1
    assert np.isin(salt, (0.0, 1.0)).all()
    assert not np.isin(images[0::3], (0.0, 1.0)).all()  # uniform: anything in between
    with pytest.raises(ValueError):
        noise_batch("pink", 3, np.random.default_rng(0))


def test_fewer_real_digits_than_samples_uses_them_all(panel, network, sample):
    panel.set_network(network)
    panel.set_real_digits(sample.val_images[:300], sample.val_labels[:300])
    panel.run_comparison()
    assert panel.histogram_counts()["real"].sum() == 300
    assert panel.result().real_labels.shape == (300,)


def test_without_a_network_nothing_runs(panel):
    assert not panel._compare_button.isEnabled()
    assert panel.run_comparison() is None
    assert "network first" in panel.summary_text()


def test_a_changed_network_marks_the_result_stale(panel, network):
    panel.set_network(network)
    panel.run_comparison()
    panel.set_network(network.copy())
    assert "changed since" in panel.summary_text()
    panel.run_comparison()
    assert "changed since" not in panel.summary_text()


def test_feed_one_noise_image_requests_a_kind(panel, qtbot):
    panel.set_kind("gaussian")
    with qtbot.waitSignal(panel.noiseRequested, timeout=1000) as blocker:
        QTest.mouseClick(panel._feed_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["gaussian"]
    panel.set_kind("all")
    with qtbot.waitSignal(panel.noiseRequested, timeout=1000) as blocker:
        panel._feed_button.click()
    assert blocker.args[0] in NOISE_KINDS


def test_bad_real_digits_are_refused(panel):
    with pytest.raises(ValueError):
        panel.set_real_digits(np.zeros((5, 28, 28), np.float32), np.zeros(5))
    with pytest.raises(ValueError):
        panel.set_real_digits(np.zeros((5, 28, 28), np.uint8), np.zeros(4))
    with pytest.raises(ValueError):
        panel.set_kind("pink")
