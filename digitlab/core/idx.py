"""The IDX file format of LeCun's MNIST files, read and written with strict checks.

An IDX file is a 4-byte magic number -- two zero bytes, a type code and the
number of dimensions -- then one big-endian uint32 per dimension, then the
values, big-endian, row-major. Files are often gzipped.

Reading never trusts the header: declared sizes are capped before anything is
allocated or decompressed, data is read in bounded chunks (so a file that
claims to be huge but is short costs only its real size), and any mismatch
between the header and the data is an :class:`IdxError` naming the file.
:mod:`digitlab.core.datasets` builds the data sets on top of this.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from digitlab.core.fileio import FileProblem, NotRegularFileError, atomic_output, open_regular, plain_reason

__all__ = ["IdxError", "MAX_DATA_BYTES", "MAX_DIM", "read_idx", "write_idx"]

# Caps on what a header may declare; both are far above MNIST (47 MB, 60,000)
# and low enough that a hostile header cannot make us allocate gigabytes.
MAX_DATA_BYTES = 512 * 1024 * 1024
MAX_DIM = 10_000_000

_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20

# IDX type code -> big-endian NumPy dtype, as the format defines them.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {(dt.kind, dt.itemsize): code for code, dt in _IDX_DTYPES.items()}

class IdxError(FileProblem):
    """A data file is missing, unreadable or not what it should be.

    The message is one line: ``"<file>: <problem>"``.
    """


# ---------------------------------------------------------------------------
# IDX reading
# ---------------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or plain, into a native-endian array.

    Gzip is recognised by its magic bytes (1f 8b), not by the file name.

    Parameters
    ----------
    path : str or Path
        The file to read.

    Returns
    -------
    numpy.ndarray
        Array with the declared shape and type (uint8, int8, int16, int32,
        float32 or float64).

    Raises
    ------
    IdxError
        If the file is missing or unreadable, the gzip stream is corrupt, the
        header is malformed or declares more than the size caps, or the data
        is shorter or longer than the header says.
    """
    path = Path(path)
    try:
        # open_regular: a FIFO would block for ever, a device never end.
        with open_regular(path) as raw:
            is_gzip = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not is_gzip:
                return _read_idx_stream(raw, path)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx_stream(stream, path)
    except FileNotFoundError:
        raise IdxError(path, "no such file") from None
    except IsADirectoryError:
        raise IdxError(path, "is a folder, not a file") from None
    except NotRegularFileError as err:  # a FIFO, device or socket: says which
        raise IdxError(path, err.strerror) from None
    except MemoryError:
        raise IdxError(path, "not enough memory to read it") from None
    # BadGzipFile is an OSError, so it must come before the generic case.
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise IdxError(path, f"corrupt gzip data ({_one_line(err)})") from None
    except OSError as err:
        raise IdxError(path, f"cannot read: {plain_reason(err)}") from None


def _read_idx_stream(stream: BinaryIO, path: Path) -> np.ndarray:
    """Parse and check header and data from an open (decompressed) stream."""
    dtype, shape = _read_header(stream, path)
    expected = math.prod(shape) * dtype.itemsize
    data = _read_at_most(stream, expected)
    if len(data) < expected:
        raise IdxError(
            path, f"truncated: expected {expected} bytes of data, found {len(data)}"
        )
    if stream.read(1):
        raise IdxError(path, f"trailing data after the {expected} bytes the header declares")
    # frombuffer shares the bytearray's memory (writable), so no copy is made.
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype.byteorder not in ("=", "|") and not dtype.isnative:
        # Swap in place: a copy would double the peak memory of a big file.
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def _read_header(stream: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Read the magic number and dimensions; check them against the caps."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise IdxError(path, f"too short for an IDX header ({len(magic)} bytes)")
    if magic[0] != 0 or magic[1] != 0:
        raise IdxError(
            path, f"not an IDX file (magic number {magic.hex()} does not start with 0000)"
        )
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        raise IdxError(path, f"unknown IDX data type code 0x{code:02X}")
    if not 1 <= ndim <= 4:
        raise IdxError(path, f"unsupported number of dimensions {ndim} (expected 1 to 4)")
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise IdxError(path, f"header ends inside the {ndim} dimension sizes")
    shape = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    dtype = _IDX_DTYPES[code]
    _check_size_caps(path, shape, dtype)
    return dtype, shape


def _check_size_caps(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse shapes beyond the caps, before any allocation happens."""
    for dim in shape:
        if dim > MAX_DIM:
            raise IdxError(path, f"dimension size {dim} exceeds the limit of {MAX_DIM}")
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_DATA_BYTES:
        dims = "x".join(str(d) for d in shape)
        raise IdxError(
            path, f"declares {dims} values ({declared} bytes), over the {MAX_DATA_BYTES}-byte limit"
        )


def _read_at_most(stream: BinaryIO, nbytes: int) -> bytearray:
    """Read up to ``nbytes`` in chunks, so memory grows only with real data."""
    data = bytearray()
    while len(data) < nbytes:
        chunk = stream.read(min(_READ_CHUNK, nbytes - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError):  # plain words, not "[Errno 5] Input/output error"
        return plain_reason(err)
    return " ".join(str(err).split()) or type(err).__name__


# ---------------------------------------------------------------------------
# IDX writing
# ---------------------------------------------------------------------------


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as an IDX file, atomically; gzipped if the name ends in .gz.

    The data goes to a temporary file in the same folder, is flushed to disk,
    and only then replaces ``path``: a crash never leaves a half-written file.

    Parameters
    ----------
    path : str or Path
        Destination file.
    array : numpy.ndarray
        1 to 4 dimensions of uint8, int8, int16, int32, float32 or float64,
        within the same size caps :func:`read_idx` enforces.

    Raises
    ------
    IdxError
        If the array cannot be stored as IDX or the file cannot be written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _IDX_CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise IdxError(
            path,
            f"cannot store {array.dtype} data; IDX holds uint8, int8, int16, int32, float32, float64",
        )
    if not 1 <= array.ndim <= 4:
        raise IdxError(path, f"cannot store a {array.ndim}-dimensional array (IDX holds 1 to 4)")
    dtype = _IDX_DTYPES[code]
    _check_size_caps(path, array.shape, dtype)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = np.ascontiguousarray(array, dtype=dtype).tobytes()
    try:
        with atomic_output(path) as out:
            if path.name.endswith(".gz"):
                # mtime=0: identical data gives identical bytes (reproducible files).
                with gzip.GzipFile(filename=path.name, mode="wb", fileobj=out, mtime=0) as gz:
                    gz.write(header)
                    gz.write(data)
            else:
                out.write(header)
                out.write(data)
    except OSError as err:
        raise IdxError(path, f"cannot write: {plain_reason(err)}") from None
