"""Augmentation (digitlab.core.augment) of real MNIST digits: shifts, turns, scales, width, slant,
pen thickness and elastic distortion."""

import numpy as np
import pytest

from digitlab.core.augment import augment
from digitlab.core.preprocess import InvalidImageError
from tests.core.test_preprocess import centre_of_mass, load_sample_digits

# --- augmentation -------------------------------------------------------------------------------

#: Every change switched off: augment must then return its input unchanged.
NOTHING = {"max_shift": 0, "max_rotation_deg": 0, "max_scale": 0, "aspect_range": (1, 1), "max_shear": 0,
           "max_thickness": 0, "elastic_alpha": 0}


@pytest.fixture(scope="module")
def sample_digits():
    return load_sample_digits(200)


def test_augment_keeps_shape_dtype_and_mass(sample_digits):
    result = augment(sample_digits, np.random.default_rng(0))
    assert result.shape == sample_digits.shape and result.dtype == np.uint8
    assert not np.array_equal(result, sample_digits)
    ratio = result.reshape(200, -1).sum(axis=1) / sample_digits.reshape(200, -1).sum(axis=1)
    # Size, width and pen change the ink's area (a thinner, narrower, smaller digit has less),
    # but no digit loses most of its ink or gains a blob, and typically the area stays.
    assert ratio.min() > 0.35 and ratio.max() < 2.5
    assert abs(np.median(ratio) - 1) < 0.1


def test_augment_is_reproducible_and_seed_dependent(sample_digits):
    first = augment(sample_digits[:20], np.random.default_rng(5))
    np.testing.assert_array_equal(first, augment(sample_digits[:20], np.random.default_rng(5)))
    assert not np.array_equal(first, augment(sample_digits[:20], np.random.default_rng(6)))


def test_augment_with_no_movement_is_identity(sample_digits):
    result = augment(sample_digits, np.random.default_rng(0), **NOTHING)
    np.testing.assert_array_equal(result, sample_digits)


def test_augment_shift_only_moves_the_centre_of_mass_by_at_most_the_shift(sample_digits):
    result = augment(sample_digits[:50], np.random.default_rng(1), **{**NOTHING, "max_shift": 2})
    moved = []
    for before, after in zip(sample_digits[:50], result):
        (r0, c0), (r1, c1) = centre_of_mass(before), centre_of_mass(after)
        assert abs(r1 - r0) <= 2.1 and abs(c1 - c0) <= 2.1
        moved.append(np.hypot(r1 - r0, c1 - c0))
    assert np.mean(moved) > 0.5  # and they really did move


def test_augment_rotation_turns_a_bar():
    bar = np.zeros((1, 28, 28), dtype=np.uint8)
    bar[0, 4:24, 13:15] = 255  # vertical
    turned = augment(bar, np.random.default_rng(0), **{**NOTHING, "max_rotation_deg": 30})[0]
    rows, cols = np.nonzero(turned > 100)
    slope = np.polyfit(rows, cols, 1)[0]  # columns change along the rows once tilted
    assert abs(slope) > 0.05


def test_augment_accepts_flat_images_and_rejects_other_input(sample_digits):
    flat = sample_digits[:10].reshape(10, 784)
    result = augment(flat, np.random.default_rng(0))
    assert result.shape == (10, 784) and result.dtype == np.uint8
    np.testing.assert_array_equal(
        result.reshape(10, 28, 28), augment(sample_digits[:10], np.random.default_rng(0))
    )
    with pytest.raises(InvalidImageError):
        augment(sample_digits.astype(np.float32), np.random.default_rng(0))
    with pytest.raises(InvalidImageError):
        augment(np.zeros((3, 10), dtype=np.uint8), np.random.default_rng(0))
