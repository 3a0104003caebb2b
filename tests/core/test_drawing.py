"""The stroke-drawing helper (digitlab.core.drawing) against hand-worked answers."""

import numpy as np
import pytest

from digitlab.core.drawing import DIGIT_STROKES, draw_strokes, random_drawn_digits, transform_strokes
from tests.core.test_preprocess import centre_of_mass

# --- the drawing helper -------------------------------------------------------------------------


def test_draw_strokes_line_has_the_area_of_a_round_capped_pen():
    image = draw_strokes([[(50.0, 100.0), (150.0, 100.0)]], size=280, width=20)
    assert image.dtype == np.float32 and image.shape == (280, 280)
    expected = 100 * 20 + np.pi * 10**2  # a rectangle and two half discs
    assert abs(image.sum() - expected) / expected < 0.01
    # Round caps reach 10 px past the ends (pixel c is centred on c + 0.5).
    assert image[100, 40] > 0.9 and image[100, 159] > 0.9
    assert image[100, 38] == 0 and image[100, 161] == 0 and image[89, 100] == 0


def test_draw_strokes_dot_is_a_disc():
    image = draw_strokes([[(20.0, 30.0)]], size=64, width=16)
    assert abs(image.sum() - np.pi * 8**2) < 2
    row, col = centre_of_mass(image)
    assert abs(row - 29.5) < 0.05 and abs(col - 19.5) < 0.05


def test_digit_strokes_cover_every_digit_inside_the_unit_square():
    assert sorted(DIGIT_STROKES) == list(range(10))
    for digit, variants in DIGIT_STROKES.items():
        assert len(variants) >= 2, digit
        for strokes in variants:
            points = np.array([point for stroke in strokes for point in stroke])
            assert points.min() >= -0.05 and points.max() <= 1.05, digit
            height = np.ptp(points[:, 1])
            assert height > 0.9, digit  # every digit is full height


def test_transform_strokes_slants_and_turns_about_the_centre():
    stroke = [[(0.5, 0.0), (0.5, 1.0)]]
    slanted = transform_strokes(stroke, shear=0.2)[0]
    assert slanted[0] == pytest.approx((0.6, 0.0)) and slanted[1] == pytest.approx((0.4, 1.0))
    turned = transform_strokes(stroke, rotation_deg=90)[0]
    assert turned[0] == pytest.approx((1.0, 0.5)) and turned[1] == pytest.approx((0.0, 0.5))


def test_random_drawn_digits_are_reproducible_and_whole():
    images, labels = random_drawn_digits(np.random.default_rng(9), 12, size=140)
    again, labels_again = random_drawn_digits(np.random.default_rng(9), 12, size=140)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert images.shape == (12, 140, 140) and labels.dtype == np.uint8
    assert labels.min() >= 0 and labels.max() <= 9
    for image in images:
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        assert border.max() == 0  # the whole digit, pen included, is on the canvas


# --- the styles ---------------------------------------------------------------------------------


def _extent(strokes):
    points = np.array([point for stroke in strokes for point in stroke])
    return np.ptp(points[:, 0]), np.ptp(points[:, 1])


def test_the_documented_styles_are_there():
    counts = {digit: len(variants) for digit, variants in DIGIT_STROKES.items()}
    assert counts == {0: 3, 1: 5, 2: 4, 3: 3, 4: 5, 5: 2, 6: 3, 7: 4, 8: 2, 9: 4}
    # Serif 1s: a foot, a horizontal stroke along the baseline.
    feet = [v for v in DIGIT_STROKES[1] if any(len(s) == 2 and s[0][1] == s[1][1] == 1.0 for s in v)]
    assert len(feet) == 2
    # Crossed 7s: a second stroke across the middle.
    crossed = [v for v in DIGIT_STROKES[7] if len(v) == 2 and all(0.4 < y < 0.6 for _, y in v[1])]
    assert len(crossed) == 2
    # Open and closed 4s: in an open 4 the diagonal does not meet the stem at the top.
    tops = [v[0][0] for v in DIGIT_STROKES[4]]
    stems = [v[1][0] for v in DIGIT_STROKES[4]]
    meets = [abs(top[0] - stem[0]) < 0.05 and top[1] == stem[1] == 0.0 for top, stem in zip(tops, stems)]
    assert True in meets and False in meets


def test_curly_two_loops_back_on_itself():
    curly = DIGIT_STROKES[2][2][0]
    xs = np.array([x for x, _ in curly])
    # Along the base the pen first runs left, back right, left again and out to the right.
    turns = np.count_nonzero(np.diff(np.sign(np.diff(xs[len(xs) // 2:]))) != 0)
    assert turns >= 2


def test_random_drawn_digits_come_narrow_and_wide():
    images, labels = random_drawn_digits(np.random.default_rng(4), 300, size=140)
    ratios = []
    for image in images[labels == 0]:
        rows, cols = np.nonzero(image > 0.5)
        ratios.append(np.ptp(cols) / np.ptp(rows))
    assert max(ratios) / min(ratios) > 1.8  # 0.6-1.3 as wide, slanted and turned
