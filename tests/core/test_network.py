"""The network against trusted references: finite differences, known shapes."""

import numpy as np
import pytest

from digitlab.core.network import ACTIVATIONS, COSTS, Network, parse_layers, sigmoid, softmax

ACTIVATION_FUNCTIONS = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}


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
    assert net.weights[0].shape == (16, 784)


def test_a_hidden_neurons_weights_are_an_image_of_what_it_looks_for():
    """Row j of the first weights, reshaped to 28x28, weighs pixel (r, c) of the image (row-major)."""
    net = Network.create(rng=np.random.default_rng(0))
    image = np.zeros((28, 28), dtype=np.float32)
    image[5, 20] = 1.0  # one lit pixel, off the diagonal: a transposed layout would pick another weight
    j = 3
    expected = sigmoid(np.array([net.weights[0][j].reshape(28, 28)[5, 20] + net.biases[0][j]]))[0]
    assert net.forward(image)[1][j] == pytest.approx(expected, rel=1e-6)
    assert net.weights[0][j].reshape(28, 28)[5, 20] != net.weights[0][j].reshape(28, 28)[20, 5]


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


def test_sigmoid_is_the_logistic_function():
    # sigmoid(z) = 1 / (1 + e^-z) = (1 + tanh(z / 2)) / 2
    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-13, atol=1e-15)
    z32 = z.astype(np.float32)
    np.testing.assert_allclose(sigmoid(z32.copy(), out=z32), 1 / (1 + np.exp(-z)), rtol=1e-6, atol=1e-7)


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


def test_momentum_step_by_hand():
    """v = m v - lr g; w = w + v: two steps computed by hand from the gradients."""
    net = small_network("sigmoid", "mse")
    x, targets = batch()
    lr, m = 0.5, 0.9
    start = net.parameters.copy()
    _, gw, gb = net.gradients(x, targets)
    g1 = np.concatenate([g.ravel() for g in gw + gb])  # weights first, then biases, as in the buffer
    v1 = -lr * g1
    net.train_step(x, targets, lr, momentum=m)
    np.testing.assert_allclose(net.parameters, start + v1, rtol=1e-12)
    _, gw, gb = net.gradients(x, targets)  # the gradient at the new weights
    g2 = np.concatenate([g.ravel() for g in gw + gb])
    v2 = m * v1 - lr * g2
    net.train_step(x, targets, lr, momentum=m)
    np.testing.assert_allclose(net.parameters, start + v1 + v2, rtol=1e-12)
    net.reset_momentum()  # forgotten: the next step is plain gradient descent again
    before = net.parameters.copy()
    _, gw, gb = net.gradients(x, targets)
    net.train_step(x, targets, lr, momentum=m)
    np.testing.assert_allclose(net.parameters, before - lr * np.concatenate([g.ravel() for g in gw + gb]),
                               rtol=1e-12)


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


@pytest.mark.parametrize("cost", COSTS)
def test_logits_are_the_output_layers_weighted_inputs(cost):
    net = small_network("relu", cost)
    x, _ = batch()
    layers = net.forward(x)
    z = net.logits(x)
    np.testing.assert_allclose(z, layers[-2] @ net.weights[-1].T + net.biases[-1], rtol=1e-12)
    squash = softmax if cost == "cross_entropy" else (lambda v: 1 / (1 + np.exp(-v)))
    np.testing.assert_allclose(squash(z), net.predict(x), rtol=1e-12)
    assert net.logits(x[0]).shape == (3,)
    np.testing.assert_allclose(net.logits(x[0]), z[0], rtol=1e-12)
    with pytest.raises(ValueError, match="expects 7"):
        net.logits(np.zeros(5))


def test_logits_of_a_28x28_image():
    net = Network.create(rng=np.random.default_rng(0))
    image = np.random.default_rng(2).random((28, 28)).astype(np.float32)
    assert net.logits(image).shape == (10,)
    np.testing.assert_allclose(net.logits(image), net.logits(image.reshape(1, 784))[0], rtol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("of", ["logit", "output"])
def test_input_gradient_matches_central_finite_differences(activation, cost, of):
    net = small_network(activation, cost)
    if activation == "relu":  # keep away from the kink at 0
        for b in net.biases:
            b += 0.05
    x, _ = batch(n=4)
    index = np.array([0, 2, 1, 2])  # one output per image of the batch

    def value(inputs):
        out = net.logits(inputs) if of == "logit" else net.predict(inputs)
        return out[np.arange(len(inputs)), index]

    analytic = net.input_gradient(x, index, of=of)
    assert analytic.shape == x.shape
    eps = 1e-6
    numeric = np.zeros_like(x)
    for k in range(x.shape[1]):  # one pixel of every image at a time
        shift = np.zeros_like(x)
        shift[:, k] = eps
        numeric[:, k] = (value(x + shift) - value(x - shift)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(net.input_gradient(x[1], 2, of=of), analytic[1], rtol=1e-12)


def test_input_gradient_of_one_logit_is_a_28x28_picture_for_one_image():
    net = Network.create(rng=np.random.default_rng(0))
    image = np.random.default_rng(3).random((28, 28)).astype(np.float32)
    assert net.input_gradient(image, 7).shape == (784,)
    many = net.input_gradient(np.stack([image.ravel()] * 2), 7)
    np.testing.assert_allclose(many[1], net.input_gradient(image, 7), rtol=1e-4, atol=1e-8)
    for bad in (10, -1, 2.5):
        with pytest.raises(ValueError, match="output_index"):
            net.input_gradient(image, bad)
    with pytest.raises(ValueError, match="of must be"):
        net.input_gradient(image, 1, of="cost")


def test_parse_layers():
    assert parse_layers("784, 16,16,10") == (784, 16, 16, 10)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_layers("784,sixteen,10")
    with pytest.raises(ValueError, match="two positive"):
        parse_layers("784")


# ---------------------------------------------------------------- dropout
def fixed_masks(net, n, rate, seed=4):
    from digitlab.core.training import dropout_masks

    return dropout_masks(net, n, rate, np.random.default_rng(seed))


def masked_cost_by_hand(net, x, targets, masks):
    """The thinned network's cost, written out independently of network.py's loops."""
    f = ACTIVATION_FUNCTIONS[net.activation]
    a = x
    for w, b, m in zip(net.weights[:-1], net.biases[:-1], masks):
        a = f(a @ w.T + b) * m
    z = a @ net.weights[-1].T + net.biases[-1]
    if net.cost == "cross_entropy":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return float(-np.sum(targets * np.log(e / e.sum(axis=1, keepdims=True))) / len(x))
    return float(0.5 * np.sum((1 / (1 + np.exp(-z)) - targets) ** 2) / len(x))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
def test_dropout_gradient_matches_finite_differences_of_the_masked_network(activation, cost):
    net = small_network(activation, cost)
    if activation == "relu":
        for b in net.biases:
            b += 0.05
    x, targets = batch()
    masks = fixed_masks(net, len(x), 0.4)
    assert any((m == 0).any() for m in masks) and any((m > 0).any() for m in masks)
    loss, grad_w, grad_b = net.gradients(x, targets, masks)
    assert loss == pytest.approx(masked_cost_by_hand(net, x, targets, masks), rel=1e-10)
    assert loss != pytest.approx(net.gradients(x, targets)[0], rel=1e-3)  # the masks do thin it
    eps = 1e-6
    for analytic, params in zip(grad_w + grad_b, net.weights + net.biases):
        numeric = np.zeros_like(params)
        for index in np.ndindex(params.shape):
            original = params[index]
            params[index] = original + eps
            up = masked_cost_by_hand(net, x, targets, masks)
            params[index] = original - eps
            down = masked_cost_by_hand(net, x, targets, masks)
            params[index] = original
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_masks_drop_at_the_rate_and_keep_the_expected_activation():
    net = Network.create((784, 100, 50, 10), rng=np.random.default_rng(0))
    masks = fixed_masks(net, 2000, 0.3)
    assert [m.shape for m in masks] == [(2000, 100), (2000, 50)]
    assert all(m.dtype == np.float32 for m in masks)
    for m in masks:
        assert set(np.unique(m)) == {0.0, np.float32(1 / 0.7)}
        assert np.mean(m == 0) == pytest.approx(0.3, abs=0.01)
    # Inverted scaling: averaged over masks, a masked hidden layer is the plain one.
    x = np.random.default_rng(1).random((1, 784)).astype(np.float32)
    plain = net.forward(x)[1][0]
    masked = net.forward(x)[1] * masks[0]  # 2000 masks of one example's layer
    np.testing.assert_allclose(masked.mean(axis=0), plain, rtol=0.07)  # ~5 standard errors
    assert fixed_masks(net, 3, 0.0)[0].min() == 1.0


def test_a_dropout_step_is_a_gradient_step_of_the_masked_network_and_prediction_uses_all_neurons():
    from digitlab.core import textbook

    net = small_network("sigmoid", "cross_entropy")
    x, targets = batch()
    masks = fixed_masks(net, len(x), 0.5)
    _, grad_w, grad_b = net.gradients(x, targets, masks)
    expected = [p - 0.3 * g for p, g in zip(net.weights + net.biases, grad_w + grad_b)]
    net.train_step(x, targets, 0.3, masks=masks)
    for got, want in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # No mask is left behind: prediction is the plain forward pass, the same every time.
    _, activations = textbook.forward(net.weights, net.biases, x, "sigmoid", "cross_entropy")
    np.testing.assert_allclose(net.predict(x), activations[-1], rtol=1e-12)
    np.testing.assert_array_equal(net.predict(x), net.predict(x))


def test_no_masks_is_the_plain_step_bit_for_bit():
    nets = [small_network("relu", "mse", dtype=np.float32) for _ in range(2)]
    x, targets = batch()
    x, targets = x.astype(np.float32), targets.astype(np.float32)
    nets[0].train_step(x, targets, 0.5, momentum=0.5)
    nets[1].train_step(x, targets, 0.5, momentum=0.5, masks=None)
    ones = [np.ones((len(x), s), np.float32) for s in nets[0].sizes[1:-1]]
    third = small_network("relu", "mse", dtype=np.float32)
    third.train_step(x, targets, 0.5, momentum=0.5, masks=ones)
    np.testing.assert_array_equal(nets[0].parameters, nets[1].parameters)
    np.testing.assert_allclose(third.parameters, nets[0].parameters, rtol=1e-6)
