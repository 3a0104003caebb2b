"""Weight projections against hand-made weights whose pictures are known."""

import numpy as np
import pytest

from digitlab.core.projections import activation_strength, pixel_space_images, symmetric_limit


def test_layer_one_is_the_weights_themselves():
    w1 = np.arange(12, dtype=np.float32).reshape(3, 4)
    images = pixel_space_images([w1, np.ones((2, 3))], 1)
    assert images.dtype == np.float64
    np.testing.assert_array_equal(images, w1)


def test_deeper_layers_are_weighted_sums_of_pixel_pictures():
    # Three first-layer neurons, each sensitive to single pixels of a 2x2 input.
    w1 = np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, -1.0, 0, 4.0]], np.float32)
    w2 = np.array([[0.5, 1.0, 2.0], [-1.0, 0.0, 1.0]], np.float32)
    w3 = np.array([[1.0, -2.0]], np.float32)
    # By hand: neuron 0 = 0.5*W1[0] + 1*W1[1] + 2*W1[2] = [0.5, 2 - 2, 0, 8].
    np.testing.assert_allclose(pixel_space_images([w1, w2, w3], 2), [[0.5, 0, 0, 8], [-1, -1, 0, 4]])
    # One layer more: 1*row0 - 2*row1.
    np.testing.assert_allclose(pixel_space_images([w1, w2, w3], 3), [[2.5, 2, 0, 0]])


def test_inputs_are_not_modified():
    w1 = np.ones((2, 3))
    w1.flags.writeable = False
    w2 = np.full((1, 2), 2.0)
    pixel_space_images([w1, w2], 2)
    np.testing.assert_array_equal(w2, 2.0)


@pytest.mark.parametrize("layer", [0, 3, -1])
def test_layers_out_of_range_are_refused(layer):
    with pytest.raises(ValueError, match="layer must be between 1 and 2"):
        pixel_space_images([np.ones((2, 3)), np.ones((1, 2))], layer)


@pytest.mark.parametrize(
    ("values", "limit"),
    [
        ([0.8734, -0.2], 0.88),  # rounded up to two significant digits
        ([-12.31, np.nan], 13.0),  # NaN ignored, sign ignored
        ([0.05, np.inf], 0.05),  # exact two-digit values stay
        ([0.0, 0.0], 1.0),  # nothing to scale: a unit range
        ([np.nan], 1.0),
    ],
)
def test_symmetric_limit(values, limit):
    assert symmetric_limit(np.array(values)) == pytest.approx(limit)


def test_activation_strength():
    np.testing.assert_allclose(activation_strength(np.array([0.0, 0.25, 1.0])), [0.0, 0.25, 1.0])
    # ReLU values above 1 are scaled by the layer's largest.
    np.testing.assert_allclose(activation_strength(np.array([4.0, 2.0, 0.0])), [1.0, 0.5, 0.0])
    # tanh's negative values and NaN count as off.
    np.testing.assert_allclose(activation_strength(np.array([-0.5, np.nan, 0.5])), [0.0, 0.0, 0.5])
