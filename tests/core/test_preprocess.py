"""Preprocessing against hand-made images with known answers.

The images are drawn here the way users draw (thick round-capped strokes on
a big canvas, off-centre) or built pixel by pixel, so each expected result
can be worked out by hand.
"""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitlab.core.drawing import (
    DIGIT_STROKES,
    draw_digit,
    draw_strokes,
    place_strokes,
    random_drawn_digits,
)
from digitlab.core import preprocess
from digitlab.core.preprocess import (
    NOISE_KINDS,
    EmptyImageError,
    InvalidImageError,
    is_empty,
    noise_image,
    prepare,
    to_grayscale,
)
from digitlab.paths import resource

# --- helpers -----------------------------------------------------------------


def centre_of_mass(image):
    """(row, column) centre of mass in pixel-index coordinates, as MNIST uses."""
    image = np.asarray(image, dtype=np.float64)
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return (rows * image).sum() / mass, (cols * image).sum() / mass


def ink_box(image):
    """Height and width of the bounding box of all non-zero pixels."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def assert_mnist_form(result):
    assert result.shape == (28, 28)
    assert result.dtype == np.float32
    assert result.min() >= 0.0 and result.max() <= 1.0
    assert result.max() > 0.5


def assert_centred(result):
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5, (row, col)


def load_sample_digits(count):
    """The first ``count`` bundled MNIST digits, read straight from the IDX file."""
    with gzip.open(resource("data/images-idx3-ubyte.gz")) as stream:
        raw = stream.read(16 + count * 28 * 28)
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 28, 28)


# --- geometry: size and centre -----------------------------------------------------


def test_square_known_answer():
    # A 10x10 square scaled to 20x20 with its centre (14.5 in continuous
    # coordinates, pixel 14 in index coordinates) at pixel 14: it covers
    # [4.5, 24.5) on both axes, so pixels 5..23 are full and 4 and 24 half.
    image = np.zeros((100, 100), dtype=np.float32)
    image[60:70, 15:25] = 1.0
    expected_axis = np.zeros(28, dtype=np.float32)
    expected_axis[5:24] = 1.0
    expected_axis[[4, 24]] = 0.5
    expected = np.outer(expected_axis, expected_axis)
    for stroke_range in (None, (2.0, 3.0)):
        result = prepare(image, stroke_range=stroke_range)
        np.testing.assert_allclose(result, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("size", "top", "left", "side"),
    [
        (280, 10, 170, 90),  # big canvas, top-right corner
        (280, 200, 5, 60),  # bottom-left corner
        (28, 2, 3, 6),  # small image: enlarged bilinearly
        (64, 40, 40, 17),  # odd size, enlarged by a non-integer factor
        (500, 37, 123, 333),  # large, shrunk by a non-integer factor
    ],
)
def test_filled_square_off_centre_is_centred_and_20_px(size, top, left, side):
    image = np.zeros((size, size), dtype=np.uint8)
    image[top : top + side, left : left + side] = 255
    result = prepare(image)
    assert_mnist_form(result)
    assert_centred(result)
    height, width = ink_box(result)
    assert abs(max(height, width) - 20) <= 1


@pytest.mark.parametrize("digit", range(10))
def test_drawn_digits_end_up_centred_with_20_px_larger_side(digit):
    for variant in range(len(DIGIT_STROKES[digit])):
        # Off-centre, smallish and large, thin and fat pens.
        for box, width in (((20, 130, 120), 18), ((60, 10, 250), 28), ((150, 150, 100), 24)):
            result = prepare(draw_digit(digit, variant, size=280, width=width, box=box))
            assert_mnist_form(result)
            assert_centred(result)
            height, box_width = ink_box(result)
            assert abs(max(height, box_width) - 20) <= 1


def test_tall_thin_bar_keeps_its_aspect_ratio():
    image = np.zeros((280, 280), dtype=np.float32)
    image[30:230, 200:216] = 1.0  # 200 high, 16 wide
    result = prepare(image)
    height, width = ink_box(result)
    assert abs(height - 20) <= 1
    assert width <= 5
    assert height >= 4 * width


def test_wide_bar_keeps_its_aspect_ratio():
    image = np.zeros((200, 300), dtype=np.float32)  # not square either
    image[150:164, 20:260] = 1.0
    result = prepare(image, stroke_range=None)
    height, width = ink_box(result)
    assert abs(width - 20) <= 1
    assert height <= 3


def test_lopsided_digit_is_moved_only_as_far_as_the_field_allows():
    # A long hairline stem with a heavy blob at its foot: centring the mass
    # exactly would lift the stem's top off the field.
    image = np.zeros((280, 280), dtype=np.float32)
    image[20:260, 139:141] = 1.0
    image[200:260, 110:170] = 1.0
    result = prepare(image, stroke_range=None)
    height, _ = ink_box(result)
    assert abs(height - 20) <= 1  # nothing fell off
    assert result[0].max() > 0.1  # the hairline's top lifted right up to the edge
    row, col = centre_of_mass(result)
    assert row > 15 and abs(col - 14) <= 0.5


def test_mnist_digit_comes_back_almost_unchanged():
    # MNIST digits are already in the form prepare makes.
    correlations = []
    for digit in load_sample_digits(40):
        result = prepare(digit, stroke_range=None)
        original = digit / 255.0
        correlations.append(np.corrcoef(result.ravel(), original.ravel())[0, 1])
    # Exact sub-pixel centring blurs thin strokes a little, nothing more.
    assert min(correlations) > 0.8 and np.median(correlations) > 0.95


# --- stroke width -----------------------------------------------------------------


def mean_stroke_width(field):
    """Independent estimate: ink area over half the outline (marching squares)."""
    binary = np.pad(field > 0.5, 1)
    outline = np.count_nonzero(binary[1:] != binary[:-1]) + np.count_nonzero(binary[:, 1:] != binary[:, :-1])
    if outline == 0:
        return 0.0  # so faint that no pixel is even half inked
    return 2 * binary.sum() / (outline * np.pi / 4)


@pytest.mark.parametrize("pen", [2, 6, 60])
def test_hairline_and_fat_pens_come_out_with_mnist_like_strokes(pen):
    image = draw_digit(2, 0, size=280, width=pen)
    plain = mean_stroke_width(prepare(image, stroke_range=None))
    fixed = mean_stroke_width(prepare(image))
    assert 1.5 <= fixed <= 3.6, (plain, fixed)
    assert abs(fixed - 2.5) < abs(plain - 2.5)


def test_strokes_already_in_range_are_left_alone():
    image = draw_digit(5, 0, size=280, width=24)  # 24 px of 196 -> 2.45 px of 20
    np.testing.assert_array_equal(prepare(image), prepare(image, stroke_range=None))


# --- polarity, colour and transparency -------------------------------------------------


@pytest.fixture(scope="module")
def glyph():
    """A 7 with a bar drawn white on black, off-centre, and its prepared form."""
    image = draw_digit(7, 1, size=280, width=22, box=(90, 40, 170))
    return image, prepare(image)


def test_dark_ink_on_paper_equals_light_ink_on_black(glyph):
    image, reference = glyph
    np.testing.assert_allclose(prepare(1.0 - image), reference, atol=1e-5)


def test_gray_background_and_gray_ink_are_stretched(glyph):
    image, reference = glyph
    pencil_on_paper = 0.9 - 0.5 * image  # paper 0.9, pencil 0.4
    np.testing.assert_allclose(prepare(pencil_on_paper), reference, atol=1e-4)


def test_uint8_rgb_dark_ink_on_white(glyph):
    image, reference = glyph
    gray = np.rint((1.0 - image) * 255).astype(np.uint8)
    rgb = np.dstack([gray, gray, gray])
    np.testing.assert_allclose(prepare(rgb), reference, atol=0.02)


def test_coloured_ink_on_white(glyph):
    image, reference = glyph
    blue = np.array([30, 60, 200], dtype=np.float32)
    paper = np.array([255, 255, 255], dtype=np.float32)
    rgb = paper + image[..., None] * (blue - paper)
    result = prepare(np.rint(rgb).astype(np.uint8))
    np.testing.assert_allclose(result, reference, atol=0.03)


def test_rgba_dark_ink_on_transparent_sheet(glyph):
    image, reference = glyph
    alpha = np.rint(image * 255).astype(np.uint8)
    rgba = np.zeros(image.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = alpha  # black ink; transparent elsewhere
    np.testing.assert_allclose(prepare(rgba), reference, atol=0.02)


def test_rgba_light_ink_on_transparent_sheet(glyph):
    image, reference = glyph
    rgba = np.full(image.shape + (4,), 255, dtype=np.uint8)
    rgba[..., 3] = np.rint(image * 255).astype(np.uint8)
    np.testing.assert_allclose(prepare(rgba), reference, atol=0.02)


def test_rgba_transparent_pixels_are_background_whatever_their_colour(glyph):
    image, reference = glyph
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=image.shape + (4,), dtype=np.uint8)  # garbage colour
    inked = image > 0
    rgba[inked, :3] = 0
    rgba[..., 3] = np.rint(image * 255).astype(np.uint8)
    np.testing.assert_allclose(prepare(rgba), reference, atol=0.02)


def test_opaque_rgba_equals_rgb(glyph):
    image, _ = glyph
    gray = np.rint((1.0 - image) * 255).astype(np.uint8)
    rgb = np.dstack([gray, gray, gray])
    rgba = np.dstack([rgb, np.full_like(gray, 255)])
    np.testing.assert_allclose(prepare(rgba), prepare(rgb), atol=1e-6)


def test_to_grayscale_luma_and_dtypes():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(to_grayscale(rgb), [[0.299, 0.587, 0.114, 1.0]], atol=1e-6)
    np.testing.assert_allclose(to_grayscale(np.array([[0, 65535]], dtype=np.uint16)), [[0, 1]])
    np.testing.assert_allclose(to_grayscale(np.array([[0.0, 127.5, 255.0]])), [[0, 0.5, 1]])
    np.testing.assert_allclose(to_grayscale(np.array([[0.0, 0.25, 1.0]])), [[0, 0.25, 1]])
    np.testing.assert_allclose(to_grayscale(np.array([[0, 51, 255]], dtype=np.int64)), [[0, 0.2, 1]])
    np.testing.assert_allclose(to_grayscale(np.array([[False, True]])), [[0, 1]])
    gray_alpha = np.array([[[0, 255], [0, 0]]], dtype=np.uint8)  # black ink, then transparent
    np.testing.assert_allclose(to_grayscale(gray_alpha), [[0, 1]])
    for result in (to_grayscale(rgb), to_grayscale(np.zeros((3, 5), dtype=np.uint8))):
        assert result.dtype == np.float32 and result.flags.c_contiguous


def test_to_grayscale_does_not_modify_its_input():
    image = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    before = image.copy()
    prepare(image)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 4, 4)),
        np.zeros((10, 10, 5)),
        np.zeros(10),
        np.zeros((0, 10)),
        np.array([[0.0, np.nan]]),
        np.array([[0.0, np.inf]]),
        np.array([[-5.0, 1.0]]),
        np.array([[0.0, 300.0]]),
        np.array([[0, 70000]], dtype=np.int32),
        np.array([["a", "b"]]),
    ],
)
def test_invalid_arrays_raise_a_clear_error(bad):
    with pytest.raises(InvalidImageError) as caught:
        prepare(bad)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("image array:")
    assert issubclass(InvalidImageError, ValueError)


def test_threshold_must_be_a_fraction(glyph):
    image, _ = glyph
    with pytest.raises(ValueError, match="threshold"):
        prepare(image, threshold=1.5)


def test_threshold_removes_faint_noise(glyph):
    image, reference = glyph
    rng = np.random.default_rng(3)
    noisy = np.clip(image + rng.uniform(0, 0.15, image.shape).astype(np.float32), 0, 1)
    result = prepare(noisy)
    # The background around the glyph stays black.
    assert np.count_nonzero(result[reference == 0] > 0.2) == 0
    assert np.corrcoef(result.ravel(), reference.ravel())[0, 1] > 0.97


# --- empty images -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280), dtype=np.float32),
        np.ones((280, 280), dtype=np.float32),
        np.full((50, 80), 0.5),
        np.full((28, 28), 200, dtype=np.uint8),
        np.full((30, 30, 3), (10, 200, 30), dtype=np.uint8),
        np.zeros((30, 30, 4), dtype=np.uint8),  # fully transparent
    ],
)
def test_constant_images_are_empty(blank):
    assert is_empty(blank)
    with pytest.raises(EmptyImageError, match="empty"):
        prepare(blank)


def test_faint_smudge_is_empty():
    rng = np.random.default_rng(0)
    paper = (0.8 + rng.uniform(-0.03, 0.03, (280, 280))).astype(np.float32)
    paper[100:150, 100:150] -= 0.05
    assert is_empty(paper)
    with pytest.raises(EmptyImageError):
        prepare(paper)


def test_single_speck_is_empty():
    canvas = np.zeros((280, 280), dtype=np.float32)
    canvas[140, 140] = 1.0
    canvas[10:13, 200:203] = 1.0
    assert is_empty(canvas)
    with pytest.raises(EmptyImageError):
        prepare(canvas)


def test_a_real_dot_is_not_empty():
    # A single click with a 20 px pen is small but deliberate.
    dot = draw_strokes([[(100.0, 80.0)]], size=280, width=20)
    assert not is_empty(dot)
    assert_mnist_form(prepare(dot))


def test_empty_error_is_one_line_value_error():
    with pytest.raises(ValueError) as caught:
        prepare(np.zeros((28, 28)))
    assert isinstance(caught.value, EmptyImageError)
    assert "\n" not in str(caught.value)


def test_drawn_digits_are_not_empty():
    images, _ = random_drawn_digits(np.random.default_rng(1), 10)
    assert not any(is_empty(image) for image in images)


# --- property: any inked image comes out in MNIST form ----------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(20, 200),
    strokes=st.lists(
        st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=5),
        min_size=1,
        max_size=4,
    ),
    pen=st.floats(2, 30),
    dark_on_light=st.booleans(),
)
def test_any_drawing_comes_out_in_mnist_form(size, strokes, pen, dark_on_light):
    image = draw_strokes(place_strokes(strokes, 0.1 * size, 0.1 * size, 0.8 * size), size, pen * size / 200)
    if dark_on_light:
        image = 1.0 - image
    if is_empty(image):
        with pytest.raises(EmptyImageError):
            prepare(image)
        return
    result = prepare(image)
    assert_mnist_form(result)
    height, width = ink_box(result)
    assert 19 <= max(height, width) <= 21


# --- noise -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_is_reproducible_by_seed_and_differs_between_seeds(kind):
    first = noise_image(kind, np.random.default_rng(42))
    again = noise_image(kind, np.random.default_rng(42))
    other = noise_image(kind, np.random.default_rng(43))
    assert first.shape == (28, 28) and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_noise_statistics():
    rng = np.random.default_rng(0)
    uniform = noise_image("uniform", rng, size=200)
    assert abs(uniform.mean() - 0.5) < 0.02 and abs(uniform.std() - 0.2887) < 0.02
    gaussian = noise_image("gaussian", rng, size=200)
    assert abs(gaussian.mean() - 0.5) < 0.02 and 0.2 < gaussian.std() < 0.26
    salt = noise_image("salt_and_pepper", rng, size=200)
    assert set(np.unique(salt)) <= {0.0, 1.0}
    assert 0.04 < salt.mean() < 0.11  # 10-20 % hit, half of them white


def test_noise_size_and_unknown_kind():
    assert noise_image("uniform", np.random.default_rng(0), size=10).shape == (10, 10)
    with pytest.raises(ValueError, match="unknown noise kind"):
        noise_image("perlin", np.random.default_rng(0))
# --- ink on black (for showing a loaded picture) ----------------------------------------------


def test_ink_on_black_inverts_dark_ink_on_paper_and_stretches_it():
    paper = np.full((10, 10), 0.9, dtype=np.float32)
    paper[3:7, 4:6] = 0.5  # gray ink on light paper
    ink = preprocess.ink_on_black(paper)
    assert ink.dtype == np.float32 and ink.shape == (10, 10)
    np.testing.assert_allclose(ink[3:7, 4:6], 1.0, atol=1e-6)  # the ink, stretched to reach 1
    assert ink[0, 0] == 0.0 and ink.sum() == pytest.approx(8.0, abs=1e-5)
    assert paper[0, 0] == np.float32(0.9)  # the caller's picture is untouched


def test_ink_on_black_of_a_blank_picture_is_black():
    np.testing.assert_array_equal(preprocess.ink_on_black(np.full((6, 6), 0.7)), np.zeros((6, 6)))
