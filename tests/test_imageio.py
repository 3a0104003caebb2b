"""Image files and QImages <-> arrays, with real files and real Qt images.

No QApplication is created here on purpose: reading and writing pictures
must work without one (the command line `digitlab predict` has none).
"""

import os
import stat

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from digitlab.core.preprocess import InvalidImageError, prepare
from digitlab.imageio import (
    ImageReadError,
    ImageWriteError,
    array_to_qimage,
    qimage_to_array,
    read_image,
    write_png,
)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# --- round trips through PNG ----------------------------------------------------------


def test_png_round_trip_gray(tmp_path, rng):
    # An odd width makes Qt pad every row: the stride must be handled.
    gray = rng.integers(0, 256, size=(17, 13), dtype=np.uint8)
    path = tmp_path / "gray.png"
    write_png(path, gray)
    result = read_image(path)
    assert result.dtype == np.uint8 and result.shape == (17, 13)
    np.testing.assert_array_equal(result, gray)


def test_png_round_trip_float_gray(tmp_path):
    levels = np.linspace(0.0, 1.0, 5 * 7, dtype=np.float32).reshape(5, 7)
    write_png(tmp_path / "float.png", levels)
    np.testing.assert_array_equal(read_image(tmp_path / "float.png"), np.rint(levels * 255))


def test_png_round_trip_rgb(tmp_path, rng):
    rgb = rng.integers(0, 256, size=(9, 11, 3), dtype=np.uint8)
    path = tmp_path / "colour.png"
    write_png(path, rgb)
    result = read_image(path)
    assert result.dtype == np.uint8 and result.shape == (9, 11, 4)
    np.testing.assert_array_equal(result[..., :3], rgb)
    assert (result[..., 3] == 255).all()


def test_png_round_trip_rgba_keeps_transparency_unpremultiplied(tmp_path, rng):
    rgba = rng.integers(0, 256, size=(6, 5, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0] = (200, 100, 50, 128)  # half transparent
    rgba[1, 1, 3] = 0
    rgba[1, 1, :3] = 0  # fully transparent pixels carry no colour in PNG
    write_png(tmp_path / "alpha.png", rgba)
    result = read_image(tmp_path / "alpha.png")
    np.testing.assert_array_equal(result, rgba)


def test_written_png_is_a_real_png_with_normal_permissions(tmp_path):
    path = tmp_path / "digit.png"
    write_png(path, np.zeros((28, 28), dtype=np.uint8))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not QImage(str(path)).isNull()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_write_png_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "out.png"
    write_png(path, np.zeros((4, 4), dtype=np.uint8))
    write_png(path, np.full((3, 8), 255, dtype=np.uint8))
    np.testing.assert_array_equal(read_image(path), np.full((3, 8), 255))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_write_png_into_a_missing_folder_is_a_one_line_error(tmp_path):
    path = tmp_path / "no" / "such" / "folder" / "out.png"
    with pytest.raises(ImageWriteError) as caught:
        write_png(path, np.zeros((4, 4), dtype=np.uint8))
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_write_png_rejects_arrays_that_are_not_images(tmp_path):
    for bad in (np.zeros((4, 4, 2), dtype=np.uint8), np.zeros(16), np.array([[np.nan]]),
                np.zeros((3, 3), dtype=np.int64)):
        with pytest.raises(InvalidImageError):
            write_png(tmp_path / "bad.png", bad)
    assert not (tmp_path / "bad.png").exists()


# --- other formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "tolerance"), [("bmp", 0), ("jpg", 12)])
def test_reads_bmp_and_jpeg_written_by_qt(tmp_path, suffix, tolerance):
    gray = np.zeros((40, 30), dtype=np.uint8)
    gray[10:30, 12:18] = 255
    path = tmp_path / f"bar.{suffix}"
    assert array_to_qimage(gray).save(str(path))
    result = read_image(path)
    assert result.dtype == np.uint8 and result.shape[:2] == (40, 30)
    as_gray = result if result.ndim == 2 else result[..., 0]
    assert np.abs(as_gray.astype(int) - gray).max() <= tolerance + 40  # JPEG rings at edges
    assert np.abs(as_gray.astype(int) - gray).mean() <= tolerance / 4 + 0.5


def test_paletted_gray_image_reads_as_gray(tmp_path):
    image = QImage(6, 4, QImage.Format.Format_Indexed8)
    image.setColorTable([QColor(level, level, level).rgb() for level in range(256)])
    image.fill(0)
    image.setPixel(5, 3, 200)
    path = tmp_path / "indexed.bmp"
    assert image.save(str(path))
    result = read_image(path)
    assert result.shape == (4, 6)
    assert result[3, 5] == 200 and result.sum() == 200


def test_photo_of_dark_digit_is_recognised_as_a_digit(tmp_path):
    # A scanned-looking digit: dark gray ink on light paper, saved as JPEG.
    paper = np.full((120, 90, 3), (235, 230, 220), dtype=np.uint8)
    paper[20:100, 40:52] = (40, 40, 60)
    assert array_to_qimage(paper).save(str(tmp_path / "scan.jpg"), "JPEG", 90)
    result = prepare(read_image(tmp_path / "scan.jpg"))
    rows = np.flatnonzero(result.any(axis=1))
    assert rows[-1] - rows[0] + 1 in (20, 21)  # the bar, upright and 20 px tall


# --- errors when reading --------------------------------------------------------------------


def test_text_file_renamed_png_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert str(caught.value) == f"{path}: not an image Qt can read"


def test_missing_file(tmp_path):
    path = tmp_path / "missing.png"
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "no such file" in message and "\n" not in message


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


# --- .npy -------------------------------------------------------------------------------------


def test_npy_2d_array_is_read_as_is(tmp_path):
    array = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    np.save(tmp_path / "digit.npy", array)
    result = read_image(tmp_path / "digit.npy")
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize(
    "content",
    [np.zeros((2, 28, 28)), np.array(["a", "b"]).reshape(1, 2), np.zeros((0, 5))],
)
def test_npy_that_is_not_a_2d_numeric_image(tmp_path, content):
    path = tmp_path / "bad.npy"
    np.save(path, content)
    with pytest.raises(ImageReadError, match="2-D numeric"):
        read_image(path)


def test_npy_holding_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([[{"x": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert str(caught.value).startswith(f"{path}: not a readable .npy array")


def test_corrupt_npy(tmp_path):
    path = tmp_path / "broken.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ImageReadError, match="not a readable .npy"):
        read_image(path)


# --- QImage <-> array -------------------------------------------------------------------------------


def test_array_to_qimage_orientation_and_formats():
    gray = np.zeros((3, 8), dtype=np.uint8)
    gray[2, 7] = 255  # row 2, column 7
    image = array_to_qimage(gray)
    assert image.format() == QImage.Format.Format_Grayscale8
    assert (image.width(), image.height()) == (8, 3)
    assert image.pixelColor(7, 2).red() == 255 and not image.valid(2, 7)

    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    rgb[1, 2] = (10, 20, 30)
    colour = array_to_qimage(rgb).pixelColor(2, 1)
    assert (colour.red(), colour.green(), colour.blue()) == (10, 20, 30)

    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 1] = (255, 0, 0, 128)
    pixel = array_to_qimage(rgba).pixelColor(1, 0)
    assert (pixel.red(), pixel.alpha()) == (255, 128)

    mask = array_to_qimage(np.array([[True, False]]))
    assert mask.pixelColor(0, 0).red() == 255 and mask.pixelColor(1, 0).red() == 0


def test_array_to_qimage_copies_the_pixels():
    gray = np.full((4, 4), 50, dtype=np.uint8)
    image = array_to_qimage(gray)
    gray[:] = 0
    del gray
    assert image.pixelColor(0, 0).red() == 50


def test_array_to_qimage_accepts_views_with_odd_strides():
    base = np.arange(10 * 12, dtype=np.uint8).reshape(10, 12)
    view = base[::2, 1::3]  # not contiguous
    np.testing.assert_array_equal(qimage_to_array(array_to_qimage(view)), view)


def test_qimage_to_array_ignores_row_padding():
    # Rows of 5 pixels stored 8 bytes apart, padding filled with junk.
    raw = np.full((3, 8), 99, dtype=np.uint8)
    raw[:, :5] = np.arange(15).reshape(3, 5)
    image = QImage(raw.data, 5, 3, 8, QImage.Format.Format_Grayscale8).copy()
    result = qimage_to_array(image)
    assert result.shape == (3, 5)
    np.testing.assert_array_equal(result, np.arange(15).reshape(3, 5))


def test_qimage_to_array_from_rgb32_and_premultiplied():
    image = QImage(4, 2, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 20, 30))
    result = qimage_to_array(image)
    assert result.shape == (2, 4, 4)
    assert (result == (10, 20, 30, 255)).all()

    translucent = QImage(3, 3, QImage.Format.Format_ARGB32_Premultiplied)
    translucent.fill(QColor(200, 100, 0, 128))
    pixel = qimage_to_array(translucent)[1, 1]
    assert abs(int(pixel[0]) - 200) <= 2 and abs(int(pixel[1]) - 100) <= 2 and pixel[3] == 128


def test_qimage_to_array_result_outlives_the_qimage():
    image = QImage(5, 5, QImage.Format.Format_Grayscale8)
    image.fill(77)
    result = qimage_to_array(image)
    del image
    assert result.flags.owndata or result.base is not None
    assert (result == 77).all()
    result[0, 0] = 1  # writable: a copy, not a view of Qt's memory


def test_qimage_to_array_rejects_a_null_image():
    with pytest.raises(InvalidImageError):
        qimage_to_array(QImage())


# --- hostile files (issue 13 items 4, 6, 7) ---------------------------------------------------


def npy_claiming(shape, dtype="<f8") -> bytes:
    """A .npy header declaring ``shape`` followed by no data at all."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    header = header.ljust(64 * ((len(header) + 10) // 64 + 1) - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def png_header_only(width, height) -> bytes:
    """A tiny RGBA PNG declaring ``width`` x ``height``: its IHDR and a short IDAT.

    A decoder learns the size from IHDR alone; the pixel data is missing.
    """
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64)))


def test_npy_declaring_80_gb_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_claiming((100_000, 100_000)))  # 80 GB of float64
    assert path.stat().st_size < 200
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "over the limit" in message and "\n" not in message


def test_npy_shorter_than_its_header_says(tmp_path):
    path = tmp_path / "short.npy"
    path.write_bytes(npy_claiming((28, 28)) + b"\x00" * 100)
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


def test_npz_renamed_npy_is_not_a_npy_array(tmp_path):
    path = tmp_path / "archive.npy"
    with open(path, "wb") as out:
        np.savez(out, a=np.zeros((28, 28)))
    with pytest.raises(ImageReadError, match="not a readable .npy array"):
        read_image(path)


def test_fortran_order_npy_keeps_its_values(tmp_path):
    array = np.asfortranarray(np.arange(28 * 30, dtype=np.float32).reshape(28, 30))
    np.save(tmp_path / "f.npy", array)
    np.testing.assert_array_equal(read_image(tmp_path / "f.npy"), array)


def test_png_declaring_too_many_pixels_is_refused_from_its_header(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(8000, 8000))
    with pytest.raises(ImageReadError, match="8000x8000 pixels, over the limit"):
        read_image(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
@pytest.mark.parametrize("name", ["digit.png", "digit.npy"])
def test_fifo_is_refused_without_blocking(tmp_path, name):
    from tests.core.test_hostile_files import assert_refused_promptly

    fifo = tmp_path / name
    os.mkfifo(fifo)
    assert_refused_promptly(fifo, read_image, ImageReadError, "fifo")


def test_file_name_that_is_not_utf8_is_read(tmp_path, rng):
    if os.name != "posix":
        pytest.skip("byte file names are POSIX")
    pixels = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    name = os.path.join(os.fsencode(tmp_path), b"d\xe9git.png")
    write_png(os.fsdecode(name), pixels)
    np.testing.assert_array_equal(read_image(os.fsdecode(name)), pixels)


def test_svg_is_read_when_a_gui_application_exists(tmp_path, qapp):
    # The window has one, so its Open image still reads SVG (text included);
    # without one, read_image refuses SVG (see tests/test_predict_batch.py).
    path = tmp_path / "seven.svg"
    path.write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
        b'<rect width="28" height="28" fill="black"/><text x="6" y="22" font-size="20" fill="white">7</text></svg>'
    )
    pixels = read_image(path)
    assert pixels.shape[:2] == (28, 28) and pixels.max() > 0
