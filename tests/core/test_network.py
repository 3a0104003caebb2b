"""The network against trusted references: finite differences, known shapes."""

import numpy as np
import pytest

from digitlab.core.network import ACTIVATIONS, COSTS, Network, parse_layers, sigmoid, softmax


def small_network(activation, cost, dtype=np.float64, seed=0):
    net = Network.create((7, 5, 4, 3), activation, cost, rng=np.random.default_rng(seed))
    # float64 copy so finite differences are precise enough to compare closely
    return Network(net.sizes, activation, cost, net.weights, net.biases, dtype=dtype)


def batch(seed=1, n=6, inputs=7, outputs=3):
    rng = np.random.default_rng(seed)
    x = rng.random((n, inputs))
    targets = np.eye(outputs)[rng.integers(0, outputs, n)]
    return x, targets


def test_default_network_is_the_videos():
    net = Network.create(rng=np.random.default_rng(0))
    assert net.sizes == (784, 16, 16, 10)
    assert net.n_parameters == 13_002
    assert (net.activation, net.cost) == ("sigmoid", "mse")
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)
    # layer-1 neuron j's weights reshape to a 28x28 image
    assert net.weights[0][3].reshape(28, 28).shape == (28, 28)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
def test_backprop_matches_central_finite_differences(activation, cost):
    net = small_network(activation, cost)
    if activation == "relu":  # keep away from the kink at 0, where the derivative jumps
        for b in net.biases:
            b += 0.05
    x, targets = batch()
    _, grad_w, grad_b = net.gradients(x, targets)
    eps = 1e-6
    for analytic, params in zip(grad_w + grad_b, net.weights + net.biases):
        numeric = np.zeros_like(params)
        for index in np.ndindex(params.shape):
            original = params[index]
            params[index] = original + eps
            up = net.cost_value(net.forward(x)[-1], targets)
            params[index] = original - eps
            down = net.cost_value(net.forward(x)[-1], targets)
            params[index] = original
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_forward_returns_every_layer_for_one_image_and_a_batch():
    net = Network.create(rng=np.random.default_rng(0))
    image = np.random.default_rng(2).random((28, 28)).astype(np.float32)
    layers = net.forward(image)
    assert [a.shape for a in layers] == [(784,), (16,), (16,), (10,)]
    batch_layers = net.forward(np.stack([image.ravel()] * 3))
    assert [a.shape for a in batch_layers] == [(3, 784), (3, 16), (3, 16), (3, 10)]
    np.testing.assert_allclose(batch_layers[-1][1], layers[-1], rtol=1e-6)


def test_softmax_outputs_sum_to_one_and_sigmoid_is_stable_for_huge_inputs():
    z = np.array([[1000.0, -1000.0, 0.0], [3.0, 2.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(softmax(z).sum(axis=1), 1, rtol=1e-6)
    s = sigmoid(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
    np.testing.assert_allclose(s, [0, 0.5, 1], atol=1e-7)


def test_train_step_lowers_the_cost_with_momentum_and_weight_decay():
    net = small_network("sigmoid", "mse", dtype=np.float32)
    x, targets = batch(n=20)
    before = net.cost_value(net.forward(x)[-1], targets)
    for _ in range(500):
        net.train_step(x.astype(np.float32), targets.astype(np.float32), 3.0, momentum=0.5, weight_decay=1e-4)
    after = net.cost_value(net.forward(x)[-1], targets)
    assert after < before * 0.5


def test_train_step_is_plain_gradient_descent():
    net = small_network("tanh", "cross_entropy")
    x, targets = batch()
    _, grad_w, grad_b = net.gradients(x, targets)
    expected = [p - 0.1 * g for p, g in zip(net.weights + net.biases, grad_w + grad_b)]
    net.train_step(x, targets, 0.1)
    for p, e in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(p, e, rtol=1e-12)


def test_weight_decay_shrinks_weights_but_not_biases():
    net = small_network("sigmoid", "mse")
    x, targets = batch()
    _, grad_w, grad_b = net.gradients(x, targets)
    w0, b0 = net.weights[0].copy(), net.biases[0].copy()
    net.train_step(x, targets, 0.1, weight_decay=0.5)
    np.testing.assert_allclose(net.weights[0], w0 - 0.1 * (grad_w[0] + 0.5 * w0), rtol=1e-12)
    np.testing.assert_allclose(net.biases[0], b0 - 0.1 * grad_b[0], rtol=1e-12)


def test_initialisation_scale_suits_the_activation():
    relu = Network.create((784, 400, 10), "relu", rng=np.random.default_rng(0))
    sig = Network.create((784, 400, 10), "sigmoid", rng=np.random.default_rng(0))
    assert relu.weights[0].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert sig.weights[0].std() == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    assert not np.any(sig.biases[0])


def test_copy_and_set_parameters_are_independent():
    net = Network.create(rng=np.random.default_rng(0))
    twin = net.copy()
    twin.weights[0][0, 0] += 1
    assert twin.weights[0][0, 0] != net.weights[0][0, 0]
    net.set_parameters(twin.weights, twin.biases)
    assert net.weights[0][0, 0] == twin.weights[0][0, 0]
    # weights stay views into the flat parameter buffer after set_parameters
    assert np.shares_memory(net.weights[0], net.parameters)
    with pytest.raises(ValueError, match="shapes"):
        net.set_parameters(twin.weights[:1], twin.biases)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sizes": (784,)}, "at least"),
        ({"sizes": (784, 0, 10)}, "positive"),
        ({"activation": "softsign"}, "unknown activation"),
        ({"cost": "hinge"}, "unknown cost"),
    ],
)
def test_impossible_networks_are_refused_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network.create(**kwargs)


def test_parse_layers():
    assert parse_layers("784, 16,16,10") == (784, 16, 16, 10)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_layers("784,sixteen,10")
    with pytest.raises(ValueError, match="two positive"):
        parse_layers("784")
