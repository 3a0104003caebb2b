"""Hostile files (issue 13): targeted cases, and fuzzing the readers (the "Proof").

Fuzzing: every damaged file is a success or our one error.

A valid model file and a valid IDX file are mutated with a fixed seed --
byte flips, truncations, flips inside the .npy headers, member swaps, drops
and duplicates, other zip compressions and flags, damaged gzip -- and each
result is loaded. The only outcomes allowed are a successful load and
:class:`ModelFileError` (models) or :class:`IdxError` (IDX) with a one-line
message naming the file. Each family of mutations runs for a bounded time,
so the whole module takes well under a minute.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import threading
import time
import warnings
import zipfile

import numpy as np
import pytest

from digitlab.core.datasets import load_images_labels
from digitlab.core.idx import IdxError, read_idx, write_idx
from digitlab.core.model_io import ModelFileError, default_model_path, load_model, save_model
from digitlab.core.network import Network
from tests.core.test_model_io import SMALL, assert_refused, good_arrays, make_network, write_npz

SEED = 20261202
# Seconds per run of one family of mutations; 27 runs keep the module
# around 20 s even on a slow, shared machine.
BUDGET = 0.6
MIN_CASES = 30


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    """A small model with a real history in its metadata, deflate-compressed."""
    path = tmp_path_factory.mktemp("models") / "small.npz"
    network = Network.create((784, 6, 10), "sigmoid", "mse", rng=np.random.default_rng(SEED))
    rows = [{"epoch": i, "train_loss": 1.0 / (i + 1), "val_accuracy": None} for i in range(5)]
    save_model(path, network, {"history": rows, "data": {"name": "sample", "n": 9000}})
    return path.read_bytes()


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _zip(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are the point
        for name, content in members:
            archive.writestr(name, content)
    return out.getvalue()


def _flip(data: bytes, rng: np.random.Generator, count: int | None = None, within: int | None = None) -> bytes:
    """``data`` with 1 to 4 random bytes XOR-ed with random non-zero values."""
    out = bytearray(data)
    limit = min(len(out), within or len(out))
    for _ in range(count or int(rng.integers(1, 5))):
        position = int(rng.integers(0, limit))
        out[position] ^= int(rng.integers(1, 256))
    return bytes(out)


def _set_zip_field(data: bytes, rng: np.random.Generator) -> bytes:
    """Change the flags or compression method of a random local or central header."""
    out = bytearray(data)
    signature, flags_at, method_at = [(b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)][int(rng.integers(0, 2))]
    starts = [i for i in range(len(out) - 4) if out[i:i + 4] == signature]
    start = starts[int(rng.integers(0, len(starts)))]
    if rng.random() < 0.5:
        out[start + flags_at] ^= 1 << int(rng.integers(0, 8))  # bit 0 is "encrypted"
    else:
        method = int(rng.choice([1, 6, 9, 12, 14, 95, 98, 99, 0xFFFF]))
        out[start + method_at:start + method_at + 2] = struct.pack("<H", method)
    return bytes(out)


def _model_mutations(base: bytes):
    """(family, mutate(rng) -> bytes) pairs; each call makes one hostile file."""
    members = _members(base)
    stored = _zip(members, zipfile.ZIP_STORED)

    def swap(rng):
        changed = list(members)
        i, j = rng.choice(len(changed), size=2, replace=False)
        if rng.random() < 0.5:  # swap contents, keep names
            changed[i], changed[j] = (changed[i][0], changed[j][1]), (changed[j][0], changed[i][1])
        else:  # rename one member to another's name (a duplicate) or to a new name
            changed[i] = (changed[j][0] if rng.random() < 0.5 else "w9.npy", changed[i][1])
        return _zip(changed)

    def drop_or_duplicate(rng):
        changed = list(members)
        i = int(rng.integers(0, len(changed)))
        if rng.random() < 0.5:
            del changed[i]
        else:
            changed.append(changed[i])
        return _zip(changed)

    def header_flip(rng):
        # Stored, so a member's .npy header sits in the file as is: flip inside it.
        name, content = members[int(rng.integers(0, len(members)))]
        header_end = 10 + int.from_bytes(content[8:10], "little")
        changed = [(n, _flip(c, rng, within=header_end) if n == name else c) for n, c in members]
        return _zip(changed, zipfile.ZIP_STORED)

    def meta_text(rng):
        choices = [
            b"[" * 100_000 + b"]" * 100_000,
            b'{"format": "digitlab-model", "format_version": 1, "x": ' + b"{\"a\":" * 5000 + b"1" + b"}" * 5001,
            bytes(rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8)),
            b'{"format": "digitlab-model", "format_version": 1, "sizes": [784, 1e999, 10]}',
            b'{"format": "digitlab-model", "format_version": 1, "sizes": [784, 10], '
            b'"activation": "sigmoid", "cost": "mse"}',
        ]
        text = choices[int(rng.integers(0, len(choices)))]
        meta = io.BytesIO()
        np.save(meta, np.frombuffer(text, dtype=np.uint8))
        return _zip([(n, meta.getvalue() if n == "meta.npy" else c) for n, c in members])

    def recompressed_flip(method):
        packed = _zip(members, method)
        return lambda rng: _flip(packed, rng)

    return [
        ("byte flips", lambda rng: _flip(base, rng)),
        ("byte flips, stored", lambda rng: _flip(stored, rng)),
        ("truncations", lambda rng: base[: int(rng.integers(0, len(base)))]),
        ("npy header flips", header_flip),
        ("member swaps", swap),
        ("member drops and duplicates", drop_or_duplicate),
        ("zip flags and methods", lambda rng: _set_zip_field(base, rng)),
        ("lzma members, flipped", recompressed_flip(zipfile.ZIP_LZMA)),
        ("bzip2 members, flipped", recompressed_flip(zipfile.ZIP_BZIP2)),
        ("hostile metadata", meta_text),
    ]


def _run_family(tmp_path, mutate, load, error_type, seed):
    """Load mutated files until the time budget is spent; return (cases, loaded, refused)."""
    rng = np.random.default_rng(seed)
    path = tmp_path / "case"
    cases = loaded = 0
    deadline = time.monotonic() + BUDGET
    while cases < MIN_CASES or time.monotonic() < deadline:
        data = mutate(rng)
        path.write_bytes(data)
        cases += 1
        try:
            load(path)
        except error_type as err:
            message = str(err)
            assert "\n" not in message and message.startswith(f"{path}: "), message
        except BaseException as err:  # anything else is the bug this test hunts
            keep = tmp_path / f"escaped-{cases}"
            keep.write_bytes(data)
            pytest.fail(f"case {cases} ({keep}): {type(err).__name__}: {err}")
        else:
            loaded += 1
    return cases, loaded


@pytest.mark.parametrize("family", range(10))
def test_mutated_model_files_load_or_raise_model_file_error(tmp_path, model_bytes, family):
    name, mutate = _model_mutations(model_bytes)[family]
    cases, loaded = _run_family(tmp_path, mutate, load_model, ModelFileError, SEED + family)
    assert cases >= MIN_CASES, name
    # Every family damages most files; if everything loaded, the mutation did nothing.
    assert loaded < cases, name


def test_mutated_shipped_model_loads_or_raises_model_file_error(tmp_path):
    base = default_model_path().read_bytes()
    for family, (name, mutate) in enumerate(_model_mutations(base)[:3]):
        _run_family(tmp_path, mutate, load_model, ModelFileError, SEED + 100 + family)


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idx_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    write_idx(folder / "images.idx", images)
    write_idx(folder / "labels.idx", labels)
    write_idx(folder / "images.idx.gz", images)
    return {name: (folder / name).read_bytes() for name in ("images.idx", "labels.idx", "images.idx.gz")}


def _idx_mutations(files):
    plain, gz = files["images.idx"], files["images.idx.gz"]

    def regzipped_flip(rng):
        return gzip.compress(_flip(plain, rng, within=32), mtime=0)

    def trailing(rng):
        return plain + bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8))

    return [
        ("header flips", lambda rng: _flip(plain, rng, within=16)),
        ("byte flips", lambda rng: _flip(plain, rng)),
        ("truncations", lambda rng: plain[: int(rng.integers(0, len(plain)))]),
        ("trailing bytes", trailing),
        ("gzip flips", lambda rng: _flip(gz, rng)),
        ("gzip truncations", lambda rng: gz[: int(rng.integers(0, len(gz)))]),
        ("header flips under gzip", regzipped_flip),
    ]


def _load_as_images(path):
    """read_idx plus the MNIST checks, as the data loaders use them."""
    labels = path.parent / "labels-good.idx"
    return load_images_labels(path, labels)


@pytest.mark.parametrize("family", range(7))
def test_mutated_idx_files_load_or_raise_idx_error(tmp_path, idx_files, family):
    (tmp_path / "labels-good.idx").write_bytes(idx_files["labels.idx"])
    name, mutate = _idx_mutations(idx_files)[family]
    cases, loaded = _run_family(tmp_path, mutate, _load_as_images, IdxError, SEED + 200 + family)
    assert loaded < cases, name
    # read_idx alone, without the MNIST shape checks, obeys the same rule.
    _run_family(tmp_path, mutate, read_idx, IdxError, SEED + 300 + family)


# ---------------------------------------------------------------------------
# Model files, issue 13 item 3: failures that used to escape as other exceptions
# ---------------------------------------------------------------------------


def _rezip(src, dst, compression=zipfile.ZIP_DEFLATED, transform=None) -> None:
    """Copy an archive's members into a new zip with another compression."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", compression) as new:
        for info in old.infolist():
            data = old.read(info)
            if transform is not None:
                data = transform(info.filename, data)
            new.writestr(info.filename, data)


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
def test_other_compression_methods_are_refused_before_reading(tmp_path, method):
    good = tmp_path / "good.npz"
    save_model(good, make_network())
    bad = tmp_path / "lzma.npz"
    _rezip(good, bad, method)
    assert_refused(bad, "compression method", "only stored or deflate")
    # A flipped byte in the compressed data used to raise LZMAError; now it is
    # refused just the same, before any decompression.
    data = bytearray(bad.read_bytes())
    data[200] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_model(bad)


def test_encrypted_flag_is_refused(tmp_path):
    path = tmp_path / "enc.npz"
    save_model(path, make_network())
    data = bytearray(path.read_bytes())
    # Set bit 0 (encrypted) of the general-purpose flags in every local and
    # central header; zipfile raises RuntimeError for such an entry.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 0x01
            start += 4
    path.write_bytes(bytes(data))
    assert_refused(path, "entry '", "is encrypted")


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deeply_nested_metadata_is_refused(tmp_path, depth):
    arrays = good_arrays()
    text = json.dumps({"format": "digitlab-model", "format_version": 1, "sizes": list(SMALL),
                       "activation": "sigmoid", "cost": "mse"})
    text = text[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    arrays["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    path = tmp_path / "deep.npz"
    write_npz(path, arrays)
    assert_refused(path, "nests", "levels deep")


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "brackets.npz"
    save_model(path, make_network(), {"note": "[[[[" * 40 + '\\"{{{{' * 20})
    _, meta = load_model(path)
    assert meta["note"].startswith("[[[[")


def test_damaged_array_header_is_one_error(tmp_path):
    """A header whose dict text is broken (tokenize.TokenError / SyntaxError before)."""
    good = tmp_path / "good.npz"
    save_model(good, make_network())
    for broken in (b"{'descr': '<f4', 'fortran_order': False, 'shape': (5, 784), }   \n".replace(b"}", b"'"),
                   b"{'descr': '<f4', 'fortran_order': False, 'shape': (5, 784\n"):
        def transform(name, data, broken=broken):
            if name != "w0.npy":
                return data
            header_len = int.from_bytes(data[8:10], "little")
            return data[:10] + broken.ljust(header_len)[:header_len] + data[10 + header_len:]

        bad = tmp_path / "header.npz"
        _rezip(good, bad, transform=transform)
        with pytest.raises(ModelFileError):
            load_model(bad)


def test_truncated_entry_is_refused(tmp_path):
    good = tmp_path / "good.npz"
    save_model(good, make_network((784, 10)))

    def transform(name, data):
        if name != "w0.npy":
            return data
        header_len = int.from_bytes(data[8:10], "little")
        return data[:10 + header_len + 100]  # the header, then the data cut short

    bad = tmp_path / "short.npz"
    _rezip(good, bad, transform=transform)
    assert_refused(bad, "w0")


# ---------------------------------------------------------------------------
# Issue 13, item 6: a FIFO is refused at once instead of blocking for ever
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    assert_refused_promptly(fifo, load_model, ModelFileError, "FIFO")


def assert_refused_promptly(fifo, load, error, fragment) -> None:
    """``load(fifo)`` must raise ``error`` within 5 s; a blocked reader fails the test."""
    outcome = []

    def attempt():
        try:
            load(fifo)
        except Exception as err:  # noqa: BLE001 -- judged below
            outcome.append(err)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():
        # Release the reader blocked in open(): a writer opens, then closes at once.
        os.close(os.open(fifo, os.O_WRONLY))
        thread.join(5)
        pytest.fail(f"{load.__name__} blocked on a FIFO")
    assert len(outcome) == 1 and isinstance(outcome[0], error), outcome
    assert fragment in str(outcome[0]) and str(fifo) in str(outcome[0])


def test_folder_is_refused(tmp_path):
    assert_refused(tmp_path, "folder")
