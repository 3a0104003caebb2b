"""Image files and QImages <-> NumPy arrays.

Reading and writing go through Qt's image plugins (PNG, JPEG, BMP, GIF,
TIFF, WebP, ...), which need no QApplication. The arrays are plain ``uint8``:
``(H, W)`` for gray pictures, ``(H, W, 4)`` RGBA (not premultiplied) for
everything else, ready for :func:`digitlab.core.preprocess.to_grayscale`.
"""

from __future__ import annotations

import math
import os
import tokenize
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from numpy.lib import format as npy_format
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication, QImage, QImageReader

from digitlab.core.fileio import open_regular, plain_reason, write_bytes_atomically
from digitlab.core.preprocess import InvalidImageError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "ImageReadError",
    "UndecodableImageError",
    "ImageWriteError",
    "read_image",
    "write_png",
    "qimage_to_array",
    "array_to_qimage",
    "captured_qt_messages",
]

#: Image files larger than this are refused unread.
MAX_FILE_BYTES = 128 * 1024 * 1024
#: Pictures (and .npy arrays) with more pixels are refused before decoding:
#: 4096x4096 (16.8 megapixels) covers most phone photos, and its RGBA copies
#: plus the float conversion of preprocessing stay under 600 MB (measured: 440 MB peak).
MAX_PIXELS = 4096 * 4096
# What NumPy's .npy header parser raises on damaged or foreign bytes.
_NPY_HEADER_ERRORS = (ValueError, SyntaxError, tokenize.TokenError, EOFError, OverflowError, TypeError, MemoryError)

_SVG_FORMATS = (b"svg", b"svgz")

# Formats whose pixels are gray levels already; others become RGBA.
_GRAY_FORMATS = {QImage.Format.Format_Grayscale8, QImage.Format.Format_Grayscale16}
# Paletted and 1-bit formats are gray when their colour table is.
_PALETTE_FORMATS = {
    QImage.Format.Format_Indexed8,
    QImage.Format.Format_Mono,
    QImage.Format.Format_MonoLSB,
}


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file."""


class UndecodableImageError(ImageReadError):
    """The file was read, but its bytes are not a picture Qt can decode (damaged, or another kind of file)."""


class ImageWriteError(ValueError):
    """An image could not be written; the message names the file."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a picture file into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        Any image file Qt can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...);
        a photo's EXIF orientation is applied. A ``.npy`` file holding a 2-D
        numeric array is accepted too (never unpickled).

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``(H, W)`` for gray pictures, ``uint8`` ``(H, W, 4)`` RGBA
        otherwise. A ``.npy`` array is returned with its own dtype.

    Raises
    ------
    ImageReadError
        One line naming the file: missing, unreadable, not a regular file,
        larger than :data:`MAX_FILE_BYTES` or :data:`MAX_PIXELS`, not an
        image, or a ``.npy`` file holding something other than a 2-D numeric
        array.
    """
    path = Path(path)
    try:
        # Opening it ourselves turns "missing", "a folder", "a FIFO" and "no
        # permission" into precise messages (Qt would say only "unknown"),
        # and the bytes then come from this very descriptor, so the file
        # cannot be swapped for a FIFO after the check.
        with open_regular(path) as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ImageReadError(f"{path}: is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for an image")
            if path.suffix.lower() == ".npy":
                return _read_npy(path, stream)
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ImageReadError(f"{path}: {plain_reason(err)}") from None
    except MemoryError:
        raise ImageReadError(f"{path}: not enough memory to read it") from None
    return _decode(path, data)


@contextmanager
def captured_qt_messages() -> Iterator[list[str]]:
    """Collect Qt's log messages in a list instead of printing them, for the block's duration.

    Image plugins report through Qt's log: libpng's "iCCP: known incorrect
    sRGB profile", libjpeg's "Corrupt JPEG data". On the command line these
    would land on stderr beside (or instead of) our own one-line verdict.
    The handler in place before (pytest-qt's, say) is put back afterwards.

    Yields
    ------
    list of str
        The messages, in order, filled while the block runs.
    """
    messages: list[str] = []

    def collect(_kind, _context, message: str) -> None:
        messages.append(message)

    previous = qInstallMessageHandler(collect)
    try:
        yield messages
    finally:
        qInstallMessageHandler(previous)


def _decode(path: Path, data: bytes) -> np.ndarray:
    """Decode image bytes with Qt, after checking the declared pixel count."""
    encoded = QByteArray(data)
    buffer = QBuffer(encoded)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    # The content decides the format (a renamed file is read as what it is);
    # the suffix helps only for formats without a signature, such as TGA.
    suffix = path.suffix.lstrip(".").lower().encode("ascii", "ignore")
    fmt = bytes(QImageReader.imageFormat(buffer).data()) or suffix
    if fmt in _SVG_FORMATS and QGuiApplication.instance() is None:
        # Qt's SVG renderer needs fonts for <text>, and fonts need a
        # QGuiApplication: without one (the command line) it aborts the process.
        raise ImageReadError(f"{path}: SVG pictures open only in the window; convert it to PNG for the command line")
    reader = QImageReader(buffer, fmt)
    reader.setAutoTransform(True)
    declared = reader.size()
    if declared.isValid() and declared.width() * declared.height() > MAX_PIXELS:
        # Refused from the header alone: a few hundred kilobytes of PNG can
        # declare 8000x8000 pixels, gigabytes once decoded and converted.
        raise ImageReadError(
            f"{path}: {declared.width()}x{declared.height()} pixels, over the limit of {MAX_PIXELS:,} pixels"
        )
    image = reader.read()
    buffer.close()
    if image.isNull():
        raise UndecodableImageError(f"{path}: not an image Qt can read")
    if image.width() * image.height() > MAX_PIXELS:  # a format that did not declare its size
        raise ImageReadError(f"{path}: {image.width()}x{image.height()} pixels, over the limit of {MAX_PIXELS:,} pixels")
    return qimage_to_array(image)


def _read_npy(path: Path, stream) -> np.ndarray:
    """A 2-D numeric array from an open .npy file; the header is checked before any allocation."""
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except _NPY_HEADER_ERRORS as err:
        # A .npz renamed .npy, a damaged header, text: all "not a .npy array".
        detail = " ".join(str(err).split()) or type(err).__name__
        raise ImageReadError(f"{path}: not a readable .npy array ({detail})") from None
    if dtype.hasobject:
        # Object arrays are pickles: never unpickled.
        raise ImageReadError(f"{path}: not a readable .npy array (it holds Python objects, which are refused)")
    numeric = np.issubdtype(dtype, np.number) or dtype == np.bool_
    if len(shape) != 2 or not numeric or math.prod(shape) == 0:
        raise ImageReadError(
            f"{path}: a .npy image must hold a 2-D numeric array, got shape {shape} of {dtype}"
        )
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise ImageReadError(f"{path}: {shape[0]}x{shape[1]} values, over the limit of {MAX_PIXELS:,} pixels")
    nbytes = count * dtype.itemsize
    buffer = bytearray(nbytes)
    found = stream.readinto(buffer)
    if found != nbytes:
        raise ImageReadError(f"{path}: not a readable .npy array (truncated: {found} of {nbytes} bytes)")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def qimage_to_array(image: QImage) -> np.ndarray:
    """Copy a QImage's pixels into a NumPy array.

    Parameters
    ----------
    image : QImage
        Any format. Gray formats (and paletted ones with a gray colour
        table and no transparency) give gray; everything else gives RGBA.

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``(H, W)`` gray or ``(H, W, 4)`` RGBA, not premultiplied.
        The array owns its memory; the QImage can go away.

    Raises
    ------
    InvalidImageError
        For a null (empty) QImage.
    """
    if image.isNull():
        raise InvalidImageError("image array: the QImage is null (no pixels)")
    if _is_gray(image):
        return _copy_pixels(image.convertToFormat(QImage.Format.Format_Grayscale8), 1)
    return _copy_pixels(image.convertToFormat(QImage.Format.Format_RGBA8888), 4)


def _is_gray(image: QImage) -> bool:
    fmt = image.format()
    if fmt in _GRAY_FORMATS:
        return True
    # isGrayscale() scans the colour table only for paletted images; for
    # 32-bit ones it scans every pixel, which is slow for big photos and
    # would turn a colour file that happens to be gray into a gray array.
    return fmt in _PALETTE_FORMATS and not image.hasAlphaChannel() and image.isGrayscale()


def _copy_pixels(image: QImage, channels: int) -> np.ndarray:
    """Copy pixel rows out of Qt's buffer, dropping each row's padding."""
    height, width = image.height(), image.width()
    stride = image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    rows = buffer.reshape(height, stride)[:, : width * channels]
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rows.reshape(shape).copy()


def array_to_qimage(array: np.ndarray) -> QImage:
    """Make a QImage from a NumPy image.

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA (not
        premultiplied); ``uint8`` as is, or float in [0, 1] (rounded to
        0..255; values outside are clipped), or ``bool``.

    Returns
    -------
    QImage
        ``Format_Grayscale8``, ``Format_RGB888`` or ``Format_RGBA8888``. It
        owns a copy of the pixels; later changes to ``array`` do not show.

    Raises
    ------
    InvalidImageError
        For another shape or dtype, or NaN in a float array.
    """
    pixels = _to_uint8(np.asarray(array))
    formats = {2: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
               4: QImage.Format.Format_RGBA8888}
    channels = 2 if pixels.ndim == 2 else pixels.shape[2]
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    view = QImage(pixels.data, width, height, pixels.strides[0], formats[channels])
    # The view points into `pixels`; copying gives the QImage its own memory.
    return view.copy()


def _to_uint8(array: np.ndarray) -> np.ndarray:
    shape_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if not shape_ok or array.size == 0:
        raise InvalidImageError(
            f"image array: expected (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(array.dtype, np.floating):
        if np.isnan(array).any():
            raise InvalidImageError("image array: contains NaN")
        return np.rint(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    raise InvalidImageError(f"image array: expected uint8, bool or float, got {array.dtype}")


def write_png(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save an image array as a PNG file, atomically.

    The PNG is encoded in memory, written to a temporary file next to
    ``path``, flushed to disk and renamed over ``path``, so a crash or a
    full disk never leaves a half-written picture behind.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    array : numpy.ndarray
        As for :func:`array_to_qimage`.

    Raises
    ------
    InvalidImageError
        If ``array`` is not an image.
    ImageWriteError
        If the file cannot be written; one line naming the file.
    """
    path = Path(path)
    data = _encode_png(array_to_qimage(array), path)
    try:
        write_bytes_atomically(path, data)
    except OSError as err:
        raise ImageWriteError(f"{path}: cannot write ({plain_reason(err)})") from None


def _encode_png(image: QImage, path: Path) -> bytes:
    encoded = QByteArray()
    buffer = QBuffer(encoded)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    saved = image.save(buffer, "PNG")
    buffer.close()
    if not saved:
        raise ImageWriteError(f"{path}: Qt could not encode the image as PNG")
    return bytes(encoded.data())
