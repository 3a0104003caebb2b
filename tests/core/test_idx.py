"""The IDX file format: round trips, hostile headers, broken gzip streams, FIFOs and devices."""

import gzip
import os
import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digitlab.core.datasets import IdxError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def idx_bytes(code: int, shape, payload: bytes = b"") -> bytes:
    """A raw IDX file: header for ``code``/``shape`` followed by ``payload``."""
    header = bytes([0, 0, code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()
    return header + payload


def digits(rng, n):
    """Random but valid MNIST-like images and labels."""
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def assert_idx_error(path, match):
    """Reading ``path`` fails with a one-line IdxError naming the file."""
    with pytest.raises(IdxError, match=match) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return info.value


# --- round trips -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_each_dtype(tmp_path, dtype, suffix):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 5, 7)) * 100).astype(dtype)
    path = tmp_path / f"data.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    # Gzip only when the name asks for it.
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.dtype(d) for d in DTYPES]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
    ),
    gz=st.booleans(),
)
def test_round_trip_any_array(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape
    # Compare bytes so NaNs and -0.0 count as the same value they were.
    assert back.astype(array.dtype).tobytes() == array.tobytes()


def test_header_is_big_endian_as_the_format_says(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([[1, 2, 3]], dtype=np.int16))
    assert path.read_bytes() == idx_bytes(0x0B, (1, 3), b"\x00\x01\x00\x02\x00\x03")


def test_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_plain = tmp_path / "plain.gz"
    gz_named_plain.write_bytes(idx_bytes(0x08, (3, 4), array.tobytes()))
    plain_named_gz = tmp_path / "compressed.idx"
    plain_named_gz.write_bytes(gzip.compress(idx_bytes(0x08, (3, 4), array.tobytes())))
    np.testing.assert_array_equal(read_idx(gz_named_plain), array)
    np.testing.assert_array_equal(read_idx(plain_named_gz), array)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "labels.idx"
    write_idx(path, np.array([1, 2, 3], dtype=np.uint8))
    before = path.read_bytes()
    with pytest.raises(IdxError, match="cannot store int64"):
        write_idx(path, np.array([1, 2, 3], dtype=np.int64))
    with pytest.raises(IdxError, match="5-dimensional"):
        write_idx(path, np.zeros((1, 1, 1, 1, 1), dtype=np.uint8))
    assert path.read_bytes() == before
    write_idx(path, np.array([7], dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), [7])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.idx"]


def test_write_into_missing_folder_is_an_idx_error(tmp_path):
    path = tmp_path / "missing" / "x.idx"
    with pytest.raises(IdxError, match="cannot write") as info:
        write_idx(path, np.zeros(3, dtype=np.uint8))
    assert str(path) in str(info.value)


def test_written_gzip_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_idx(tmp_path / "a" / "x.gz", array)
    write_idx(tmp_path / "b" / "x.gz", array)
    assert (tmp_path / "a" / "x.gz").read_bytes() == (tmp_path / "b" / "x.gz").read_bytes()


# --- corrupt and hostile files --------------------------------------------


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "too short for an IDX header"),
        (b"\x00\x00\x08", "too short for an IDX header"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
        (b"\x00\x07\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
        (idx_bytes(0x0A, (1,), b"\x05"), "unknown IDX data type code 0x0A"),
        (b"\x00\x00\x08\x00", "unsupported number of dimensions 0"),
        (b"\x00\x00\x08\x05" + b"\x00\x00\x00\x01" * 5 + b"\x05", "dimensions 5"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00", "header ends inside"),
    ],
    ids=["empty", "short", "magic-first", "magic-second", "dtype", "ndim0", "ndim5", "dims"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_bad_headers(tmp_path, content, match, compress):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    assert_idx_error(path, match)


def test_truncated_data(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(idx_bytes(0x0B, (2, 3), b"\x00" * 7))
    assert_idx_error(path, "truncated: expected 12 bytes of data, found 7")


def test_truncated_data_in_gzip(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (10, 28, 28), b"\x01" * 100)))
    assert_idx_error(path, "truncated: expected 7840 bytes of data, found 100")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_trailing_data(tmp_path, compress):
    content = idx_bytes(0x08, (3,), b"\x01\x02\x03\x04")
    path = tmp_path / "long.idx"
    path.write_bytes(gzip.compress(content) if compress else content)
    assert_idx_error(path, "trailing data")


def test_hostile_dims_fail_before_allocating(tmp_path):
    # 60000 x 100000 x 100000 bytes = 600 TB declared by a 20-byte file.
    path = tmp_path / "hostile-idx3-ubyte"
    path.write_bytes(idx_bytes(0x08, (60000, 100000, 100000)))
    gz_path = tmp_path / "hostile-idx3-ubyte.gz"
    gz_path.write_bytes(gzip.compress(idx_bytes(0x0E, (60000, 100000, 100000), b"\x00" * 64)))
    tracemalloc.start()
    try:
        assert_idx_error(path, "over the .*-byte limit")
        assert_idx_error(gz_path, "over the .*-byte limit")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_single_dimension_over_the_cap(tmp_path):
    path = tmp_path / "tall.idx"
    path.write_bytes(idx_bytes(0x08, (20_000_000,)))
    assert_idx_error(path, "dimension size 20000000 exceeds")


def test_short_file_claiming_large_size_costs_only_its_size(tmp_path):
    # Under the cap (400 MB declared) but only 1 KB present: no 400 MB buffer.
    path = tmp_path / "liar.idx"
    path.write_bytes(idx_bytes(0x08, (500_000, 28, 28), b"\x00" * 1024))
    tracemalloc.start()
    try:
        assert_idx_error(path, "truncated: expected 392000000 bytes of data, found 1024")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_corrupt_gzip_stream(tmp_path):
    # Random bytes do not compress, so the flipped bytes land in the data and
    # only the gzip CRC can notice.
    payload = np.random.default_rng(4).integers(0, 256, 50 * 784, dtype=np.uint8).tobytes()
    broken = bytearray(gzip.compress(idx_bytes(0x08, (50, 28, 28), payload)))
    broken[len(broken) // 2 : len(broken) // 2 + 16] = b"\xff" * 16
    path = tmp_path / "broken.gz"
    path.write_bytes(bytes(broken))
    assert_idx_error(path, "corrupt gzip data")


def test_garbage_after_gzip_stream(tmp_path):
    path = tmp_path / "garbage.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (2,), b"\x01\x02")) + b"junk")
    assert_idx_error(path, "corrupt gzip data")


def test_gzip_crc_mismatch(tmp_path):
    good = bytearray(gzip.compress(idx_bytes(0x08, (4,), b"\x01\x02\x03\x04")))
    good[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(good))
    assert_idx_error(path, "corrupt gzip data .*CRC")


def test_cut_gzip_file(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "full.gz", rng.integers(0, 256, (20, 28, 28), dtype=np.uint8))
    data = (tmp_path / "full.gz").read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    assert_idx_error(path, "corrupt gzip data")


def test_missing_file_and_folder(tmp_path):
    assert_idx_error(tmp_path / "nope.gz", "no such file")
    assert_idx_error(tmp_path, "is a folder")


def test_idx_error_is_a_value_error_and_pickles(tmp_path):
    err = IdxError(tmp_path / "f.gz", "broken")
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert str(copy) == str(err) and copy.path == err.path and copy.problem == "broken"


# ---------------------------------------------------------------------------
# Issue 13: FIFOs (item 6) and peak memory of wide types (item 7)
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_fifo_is_refused_without_blocking(tmp_path):
    from tests.core.test_hostile_files import assert_refused_promptly

    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    assert_refused_promptly(fifo, read_idx, IdxError, "FIFO")


def test_device_is_refused():
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    assert_idx_error("/dev/zero", "device, not a regular file")


def test_big_endian_data_is_converted_without_a_second_copy(tmp_path):
    # 8 MB of float64: converting to native order used to copy it (peak 2x).
    values = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000)
    path = tmp_path / "wide.idx"
    path.write_bytes(idx_bytes(0x0E, values.shape, values.astype(">f8").tobytes()))
    tracemalloc.start()
    try:
        back = read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(back, values)
    assert back.dtype.isnative
    assert peak < 1.4 * values.nbytes
