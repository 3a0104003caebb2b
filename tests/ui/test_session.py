"""ModelSession: the displayed network and input, and the signals views follow."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.core.network import Network, softmax
from digitlab.ui.session import ModelSession, output_labels


@pytest.fixture
def network():
    return Network.create((784, 16, 10), cost="cross_entropy", rng=np.random.default_rng(1))


@pytest.fixture
def session(qtbot, network):
    return ModelSession(network, "first", "/tmp/first.npz")


def record(signal):
    calls = []
    signal.connect(lambda: calls.append(1))
    return calls


def test_the_session_keeps_its_own_copy(session, network):
    assert session.network is not network
    np.testing.assert_array_equal(session.network.weights[0], network.weights[0])
    network.weights[0][...] = 0  # a worker training the original changes nothing shown
    assert np.any(session.network.weights[0] != 0)
    assert session.name == "first" and session.path.name == "first.npz" and not session.dirty


def test_set_network_emits_both_signals_and_resets_the_file_state(session):
    changed, info, inputs = record(session.networkChanged), record(session.infoChanged), record(session.inputChanged)
    session.set_dirty(True)
    assert session.dirty and info == [1]
    other = Network.create((784, 8, 11), rng=np.random.default_rng(2))
    session.set_network(other, "other")
    assert changed == [1] and len(info) == 2 and inputs == []
    assert session.name == "other" and session.path is None and not session.dirty
    assert session.n_outputs == 11
    session.set_dirty(False)  # no change, no signal
    assert len(info) == 2


def test_input_signals_and_predictions(session):
    inputs = record(session.inputChanged)
    assert session.predict() is None and session.prediction() is None
    x = np.random.default_rng(3).random((28, 28), dtype=np.float32)
    session.set_input(x, "drawing")
    assert inputs == [1] and session.input_source == "drawing"
    np.testing.assert_array_equal(session.current_input, x)
    x[0, 0] = 5.0  # the caller's array is copied
    assert session.current_input[0, 0] != 5.0
    prediction = session.prediction()
    np.testing.assert_allclose(session.predict(), session.network.predict(session.current_input), rtol=1e-6)
    # The logits are the output layer's weighted sums: softmax of them gives the outputs.
    np.testing.assert_allclose(softmax(prediction.logits), prediction.outputs, rtol=1e-5)
    assert session.prediction() is prediction  # computed once per input and weights
    session.set_input(None)
    assert inputs == [1, 1] and session.predict() is None and session.input_source == ""


def test_bad_inputs_are_refused(session):
    with pytest.raises(ValueError, match="28x28"):
        session.set_input(np.zeros(784))


def test_new_weights_change_the_prediction_with_or_without_a_signal(session):
    changed = record(session.networkChanged)
    session.set_input(np.random.default_rng(4).random((28, 28)))
    before = session.predict().copy()
    weights = [w * 2 for w in session.network.weights]
    session.set_parameters(weights, session.network.biases, notify=False)
    assert changed == []
    after = session.predict()
    assert not np.allclose(before, after)  # predictions use the newest weights at once
    np.testing.assert_array_equal(session.network.weights[0], weights[0])
    session.notify_network_changed()
    assert changed == [1]


def test_set_saved_names_the_model_after_its_file(session):
    session.set_dirty(True)
    session.set_saved("/tmp/trained-3.npz")
    assert session.name == "trained-3" and session.path.name == "trained-3.npz" and not session.dirty


def test_output_labels():
    assert output_labels(10) == [str(d) for d in range(10)]
    assert output_labels(11)[-1] == "none" and output_labels(11)[:10] == output_labels(10)


def test_the_baseline_is_the_network_as_last_set_or_saved(session, network, tmp_path):
    trained = [w + 1.0 for w in network.weights]
    session.set_parameters(trained, network.biases)  # a training snapshot
    np.testing.assert_array_equal(session.baseline.weights[0], network.weights[0])  # what the run started from
    session.set_saved(tmp_path / "saved.npz")
    np.testing.assert_array_equal(session.baseline.weights[0], trained[0])
    session.baseline.weights[0][...] = 0  # a copy: the baseline itself stays
    np.testing.assert_array_equal(session.baseline.weights[0], trained[0])
    other = Network.create((784, 8, 10), rng=np.random.default_rng(4))
    session.set_network(other, "other")
    assert session.baseline.sizes == (784, 8, 10)


def test_bundled_names_the_shipped_model_only_while_it_is_unchanged(network, qtbot, tmp_path):
    session = ModelSession(network, "default model", bundled="default")
    assert session.bundled == "default"
    session.set_dirty(True)  # trained
    assert session.bundled is None
    session.set_network(network, "bigger model", bundled="bigger")
    assert session.bundled == "bigger"
    session.set_saved(tmp_path / "mine.npz")  # a file of the user's now
    assert session.bundled is None
    session.set_network(network, "untitled")
    assert session.bundled is None
