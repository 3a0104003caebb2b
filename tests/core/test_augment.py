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


# --- the handwriting-like changes, one at a time ------------------------------------------------


def _bar(rows=slice(4, 24), cols=slice(13, 15)):
    bar = np.zeros((1, 28, 28), dtype=np.uint8)
    bar[0, rows, cols] = 255
    return bar


def _widths(images):
    """Width of each image's ink bounding box (pixels above half intensity)."""
    return np.array([np.ptp(np.nonzero(image > 127)[1]) + 1 for image in images])


def test_aspect_narrows_and_widens_the_digits(sample_digits):
    digits = sample_digits[:40]
    narrow = augment(digits, np.random.default_rng(2), **{**NOTHING, "aspect_range": (0.6, 0.6)})
    wide = augment(digits, np.random.default_rng(2), **{**NOTHING, "aspect_range": (1.3, 1.3)})
    ratio_narrow = _widths(narrow) / _widths(digits)
    ratio_wide = _widths(wide) / _widths(digits)
    assert 0.5 < np.median(ratio_narrow) < 0.7 and 1.15 < np.median(ratio_wide) < 1.45
    # Height stays: only the width changes.
    heights = lambda images: np.array([np.ptp(np.nonzero(im > 127)[0]) + 1 for im in images])  # noqa: E731
    assert np.abs(heights(narrow) - heights(digits)).max() <= 1


def test_shear_slants_a_vertical_bar_top_to_the_right():
    slanted = augment(_bar(), np.random.default_rng(0), **{**NOTHING, "max_shear": 0.4})[0]
    rows, cols = np.nonzero(slanted > 100)
    slope = np.polyfit(rows, cols, 1)[0]  # column change per row, rows pointing down
    assert 0.02 < abs(slope) <= 0.41
    # The drawn shear is uniform in +/-0.4; both signs occur over a few images.
    bars = np.repeat(_bar(), 12, axis=0)
    slopes = [np.polyfit(*np.nonzero(image > 100), 1)[0]
              for image in augment(bars, np.random.default_rng(1), **{**NOTHING, "max_shear": 0.4})]
    assert min(slopes) < -0.05 and max(slopes) > 0.05


def test_positive_shear_leans_the_top_right():
    from digitlab.core.augment import _inverse_affine

    params = {"angles": np.zeros(1), "shears": np.array([0.25]), "scales": np.ones(1), "aspects": np.ones(1)}
    inverse = _inverse_affine(params)[0]
    # A point one unit above the centre (y = -1, screen y down) ends up 0.25 to the right:
    # the output pixel at (-1, 0.25) samples the source at (-1, 0).
    np.testing.assert_allclose(inverse @ np.array([-1.0, 0.25]), [-1.0, 0.0], atol=1e-6)


def test_thickness_makes_strokes_thicker_or_thinner(sample_digits):
    digits = sample_digits[:60]
    mass = digits.reshape(60, -1).sum(axis=1).astype(float)
    changed = augment(digits, np.random.default_rng(4), **{**NOTHING, "max_thickness": 1.0})
    ratio = changed.reshape(60, -1).sum(axis=1) / mass
    assert ratio.max() > 1.3 and ratio.min() < 0.8  # some got a marker, some a fine pen
    # The ink stays where it was: thickening never moves the centre of mass far.
    for before, after in zip(digits, changed):
        (r0, c0), (r1, c1) = centre_of_mass(before), centre_of_mass(after)
        assert abs(r1 - r0) < 0.6 and abs(c1 - c0) < 0.6


def test_elastic_distortion_wobbles_strokes_smoothly(sample_digits):
    digits = sample_digits[:60]
    wobbled = augment(digits, np.random.default_rng(5), **{**NOTHING, "elastic_alpha": 2.0, "elastic_sigma": 3.0})
    assert not np.array_equal(wobbled, digits)
    mass = digits.reshape(60, -1).sum(axis=1)
    ratio = wobbled.reshape(60, -1).sum(axis=1) / mass
    assert 0.8 < np.median(ratio) < 1.2  # a smooth field moves ink, it does not create or erase it
    # A smooth field: the bar's column stays one connected run on every row (no tearing).
    bars = augment(np.repeat(_bar(cols=slice(12, 16)), 10, axis=0), np.random.default_rng(6),
                   **{**NOTHING, "elastic_alpha": 2.0, "elastic_sigma": 3.0})
    for bar in bars:
        for row in bar[10:18]:
            inked = np.flatnonzero(row > 60)
            assert len(inked) and np.all(np.diff(inked) == 1)


def test_elastic_displacement_has_the_asked_size():
    from digitlab.core.augment import _elastic_displacement, _gaussian_matrix

    rng = np.random.default_rng(0)
    fields = rng.uniform(-1, 1, size=(50, 2, 28, 28)).astype(np.float32)
    alphas = np.full(50, 1.5, dtype=np.float32)
    moves = _elastic_displacement(fields, alphas, _gaussian_matrix(28, 4.0))
    rms = np.sqrt(np.mean(moves**2, axis=(1, 2, 3)))
    np.testing.assert_allclose(rms, 1.5, rtol=1e-3)
    # Smoothed: neighbouring pixels move almost alike.
    assert np.abs(np.diff(moves, axis=-1)).mean() < 0.2 * np.abs(moves).mean()


def test_gaussian_matrix_keeps_constants_and_smooths():
    from digitlab.core.augment import _gaussian_matrix

    smoother = _gaussian_matrix(28, 3.0)
    np.testing.assert_allclose(smoother @ np.ones(28), 1, rtol=1e-5)
    spike = np.zeros(28)
    spike[14] = 1
    blurred = smoother @ spike
    assert blurred.argmax() == 14 and blurred.max() < 0.2


def test_result_does_not_depend_on_the_chunk_size(sample_digits, monkeypatch):
    from digitlab.core import augment as module

    whole = augment(sample_digits[:30], np.random.default_rng(7))
    monkeypatch.setattr(module, "_AUGMENT_CHUNK", 7)
    np.testing.assert_array_equal(augment(sample_digits[:30], np.random.default_rng(7)), whole)


def test_impossible_aspect_range_is_refused(sample_digits):
    with pytest.raises(ValueError, match="aspect range"):
        augment(sample_digits[:2], np.random.default_rng(0), aspect_range=(1.2, 0.8))
