"""Preparing photographed and scanned pictures: uneven light, grey paper, grain, dust (core/background.py)."""

import numpy as np
import pytest

from digitlab.core.preprocess import prepare
from tests.core.test_preprocess import assert_mnist_form, glyph, ink_box  # noqa: F401 (glyph is a fixture)


# --- photographed and scanned paper ------------------------------------------------------------
# A phone photo of a sheet: grey paper, light falling off across it, grain; a scan: dust.
# Each picture is made from the glyph fixture's clean drawing, so the answer is its prepared form.


def _gradient(size, angle_deg, low, high):
    """Paper brightness falling linearly from ``high`` to ``low`` across the picture."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = np.deg2rad(angle_deg)
    along = (np.cos(angle) * xx + np.sin(angle) * yy - min(0, np.cos(angle)) - min(0, np.sin(angle)))
    along /= abs(np.cos(angle)) + abs(np.sin(angle))
    return (high - (high - low) * along).astype(np.float32)


def _close_to(result, reference, mean_tol, box_tol=1):
    """Nearly the same pixels (mean difference; a prepared digit's mean is about 0.13) and box."""
    assert_mnist_form(result)
    assert np.abs(result - reference).mean() < mean_tol, np.abs(result - reference).mean()
    assert np.abs(np.subtract(ink_box(result), ink_box(reference))).max() <= box_tol


@pytest.mark.parametrize("angle", [0, 60, 135, 270])
def test_unevenly_lit_paper_reads_like_even_paper(glyph, angle):
    image, reference = glyph
    paper = _gradient(280, angle, 0.45, 0.95)  # one side half as bright: a lamp to one side
    photo = paper * (1 - 0.85 * image)  # dark ink: light multiplies both paper and ink
    _close_to(prepare(photo), reference, 0.02)


def test_dim_paper_darker_than_mid_grey_still_has_dark_ink(glyph):
    image, reference = glyph
    dim = 0.38 - 0.3 * image  # paper 0.38, ink 0.08: a photo in poor light
    np.testing.assert_allclose(prepare(dim), reference, atol=1e-4)


def test_dim_unevenly_lit_paper_whose_bright_corner_outshines_the_ink(glyph):
    image, reference = glyph
    paper = _gradient(280, 0, 0.2, 0.9)
    photo = paper * (1 - 0.3 * image)  # the ink is less dark than the paper's range is wide
    _close_to(prepare(photo), reference, 0.03)


def test_chalk_on_an_unevenly_lit_board(glyph):
    image, reference = glyph
    board = _gradient(280, 200, 0.08, 0.35)
    photo = board * (1 + 2.5 * image)  # light ink on a dark ground, lit as unevenly
    _close_to(prepare(photo), reference, 0.02)


@pytest.mark.parametrize("contrast, grain", [(0.25, 0.04), (0.3, 0.1)])
def test_camera_grain_on_grey_paper_is_not_ink(glyph, contrast, grain):
    image, reference = glyph
    rng = np.random.default_rng(0)
    photo = 0.6 - contrast * image + rng.normal(0, grain, image.shape)  # faint ink, grainy sensor
    result = prepare(np.clip(photo, 0, 1))
    # Grain on the strokes themselves stays, and makes them look a little thinner to the
    # stroke-width estimate (so a pixel thicker after it).
    _close_to(result, reference, 0.07, box_tol=1 if grain < 0.05 else 2)
    # No grain survives away from the digit (more than a pixel from its strokes).
    near = np.pad(reference > 0, 1)
    near = near[:-2, 1:-1] | near[2:, 1:-1] | near[1:-1, :-2] | near[1:-1, 2:] | near[1:-1, 1:-1]
    near = np.pad(near, 1)
    near = near[:-2, 1:-1] | near[2:, 1:-1] | near[1:-1, :-2] | near[1:-1, 2:] | near[1:-1, 1:-1]
    assert result[~near].sum() < 0.01 * result.sum()


def test_dust_specks_on_a_scan_do_not_shrink_the_digit(glyph):
    image, reference = glyph
    clean = (image < 0.5).astype(np.float32)
    scan = clean.copy()
    for y, x in [(4, 5), (3, 260), (270, 20), (150, 8), (268, 268), (2, 140)]:
        scan[y : y + 3, x : x + 3] = 0.0  # 3x3 specks, 8 % of the picture or more from the digit
    # The digit, not the dust, fills the 20-pixel box.
    _close_to(prepare(scan), prepare(clean), 0.01)


def test_noise_level_measures_the_grain():
    from digitlab.core.background import noise_level

    rng = np.random.default_rng(1)
    assert noise_level(np.full((100, 100), 0.5, dtype=np.float32)) == 0.0
    grainy = (0.5 + rng.normal(0, 0.02, (200, 200))).astype(np.float32)
    assert noise_level(grainy) == pytest.approx(0.02, rel=0.1)


def test_without_specks_removes_dust_and_keeps_lines():
    from digitlab.core.background import without_specks

    mask = np.zeros((30, 30), dtype=bool)
    mask[3:5, 3:5] = True  # a 2x2 speck
    mask[10, 5:25] = True  # a one-pixel line
    mask[20:26, 20:26] = True  # a blob
    kept = without_specks(mask)
    assert not kept[3:5, 3:5].any()
    assert kept[10, 7:23].all() and kept[20:26, 20:26].all()


def test_main_extent_picks_the_run_with_most_ink():
    from digitlab.core.background import main_extent

    profile = np.zeros(40)
    profile[2:4] = 1  # a speck
    profile[10:30] = 5  # the digit
    profile[31] = 1  # a gap of 1: part of the digit
    profile[37] = 2  # another speck
    assert main_extent(profile, gap=3) == (10, 31)
