"""Save and load trained networks as ``.npz`` files, safely.

A model file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy``
arrays) holding:

- ``w0 .. w{L-1}``: the weight matrices, ``w{l}`` of shape
  ``(sizes[l + 1], sizes[l])``;
- ``b0 .. b{L-1}``: the bias vectors, ``b{l}`` of shape ``(sizes[l + 1],)``;
- ``meta``: UTF-8 JSON stored as a ``uint8`` array (so no pickle is ever
  involved) with ``format`` ("digitlab-model"), ``format_version`` (1),
  ``sizes``, ``activation``, ``cost`` and whatever the caller added: the
  training history, final accuracies, data set, hyperparameters, when it was
  made and by which DigitLab version.

A model file may come from anywhere, so loading trusts nothing: the archive
is opened with ``allow_pickle=False``, every array's header (shape, dtype) is
checked before its data is read, sizes are capped, and the values must be
finite. Any problem is a :class:`ModelFileError` whose one-line message names
the file. Saving is atomic: the archive is written to a temporary file beside
the target, flushed to disk and only then renamed over it, so a failed save
leaves an existing file untouched.
"""

from __future__ import annotations

import datetime
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from digitlab import __version__
from digitlab.core.fileio import FileProblem, atomic_output
from digitlab.core.architecture import (  # noqa: F401 (MAX_*, check_sizes: re-exported)
    ACTIVATIONS,
    COSTS,
    MAX_LAYER_SIZE,
    MAX_LAYERS,
    check_sizes,
    sizes_problem,
)
from digitlab.core.network import Network
from digitlab.paths import resource

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "MAX_LAYERS",
    "MAX_LAYER_SIZE",
    "ModelFileError",
    "check_sizes",
    "save_model",
    "load_model",
    "default_model_path",
    "load_default_model",
]

FORMAT = "digitlab-model"
FORMAT_VERSION = 1

#: Files (and their unpacked contents) larger than this are refused unread.
MAX_FILE_BYTES = 200 * 1024 * 1024
# The JSON header is a few kilobytes even with a long training history.
_MAX_META_BYTES = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Keys save_model fills in from the network itself; callers cannot override them.
_RESERVED_KEYS = ("format", "format_version", "sizes", "activation", "cost")

# What can go wrong while unpacking a hostile or damaged archive; each becomes
# a ModelFileError instead of a traceback.
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    NotImplementedError,  # a zip compression method Python lacks
    MemoryError,
)


class ModelFileError(FileProblem):
    """A model file is missing, unreadable, damaged or not a DigitLab model.

    The message is one line: ``"<file>: <problem>"``.
    """


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------


def _json_default(value):
    """Turn NumPy scalars and arrays in caller metadata into plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _metadata_bytes(path: Path, network: Network, metadata: dict | None) -> bytes:
    """The ``meta`` entry: caller metadata plus the architecture, as UTF-8 JSON."""
    meta = dict(metadata or {})
    meta.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    meta.setdefault("digitlab_version", __version__)
    meta.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        sizes=list(network.sizes),
        activation=network.activation,
        cost=network.cost,
    )
    try:
        # allow_nan=False: NaN is not JSON, and other readers would choke on it.
        text = json.dumps(meta, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ModelFileError(path, f"cannot store the metadata as JSON: {err}") from None
    return text.encode("utf-8")


def save_model(path: str | os.PathLike, network: Network, metadata: dict | None = None) -> None:
    """Write ``network`` and ``metadata`` to a model file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination, conventionally ending in ``.npz``; an existing file is
        replaced only once the new one is completely on disk.
    network : Network
        The network to store; its layer sizes must pass :func:`check_sizes`
        and its parameters must be finite.
    metadata : dict, optional
        JSON-serialisable facts to keep with the model (NumPy scalars and
        arrays are converted). ``created`` (UTC, ISO 8601) and
        ``digitlab_version`` are added unless given; ``format``,
        ``format_version``, ``sizes``, ``activation`` and ``cost`` always
        come from the network, so metadata of a loaded model can be passed
        back unchanged.

    Raises
    ------
    ModelFileError
        If the network cannot be stored or the file cannot be written; an
        existing file at ``path`` is then left as it was.
    """
    path = Path(path)
    problem = sizes_problem(list(network.sizes))
    if problem:
        raise ModelFileError(path, f"cannot save this network: {problem}")
    if not np.isfinite(network.parameters).all():
        raise ModelFileError(path, "cannot save this network: its parameters contain NaN or infinity")
    arrays = {f"w{layer}": w for layer, w in enumerate(network.weights)}
    arrays.update({f"b{layer}": b for layer, b in enumerate(network.biases)})
    arrays["meta"] = np.frombuffer(_metadata_bytes(path, network, metadata), dtype=np.uint8)
    try:
        # Temp file beside ``path``, fsync, rename over it: see digitlab.core.fileio.
        with atomic_output(path) as out:
            np.savez_compressed(out, **arrays)
    except OSError as err:
        raise ModelFileError(path, f"cannot write: {err.strerror or err}") from None


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_model(path: str | os.PathLike) -> tuple[Network, dict]:
    """Read and check a model file.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_model`.

    Returns
    -------
    network : Network
        The stored network (float32 parameters).
    metadata : dict
        Everything in the ``meta`` entry, including ``format``,
        ``format_version``, ``sizes``, ``activation`` and ``cost``.

    Raises
    ------
    ModelFileError
        If the file is missing, larger than :data:`MAX_FILE_BYTES`, not an
        ``.npz`` archive, damaged, holds pickled objects, lacks or has extra
        entries, has arrays of the wrong shape or type or with NaN/inf
        values, or its metadata is not valid JSON of a known format version.
    """
    path = Path(path)
    _check_file(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return _read_archive(path, archive)
    except ModelFileError:
        raise
    except _READ_ERRORS as err:
        raise ModelFileError(path, f"damaged or unreadable model file ({_one_line(err)})") from None


def _check_file(path: Path) -> None:
    """Refuse a missing, oversized or non-zip file before NumPy looks at it."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ModelFileError(path, "is a folder, not a model file")
        with open(path, "rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except OSError as err:
        raise ModelFileError(path, f"cannot read: {err.strerror or _one_line(err)}") from None
    if size > MAX_FILE_BYTES:
        raise ModelFileError(path, f"is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for a model")
    if magic != _ZIP_MAGIC:
        raise ModelFileError(path, "not a DigitLab model (.npz) file")


def _read_archive(path: Path, archive) -> tuple[Network, dict]:
    """Validate the archive's entries, then build the network."""
    unpacked = sum(info.file_size for info in archive.zip.infolist())
    if unpacked > MAX_FILE_BYTES:
        raise ModelFileError(path, f"unpacks to {unpacked} bytes, over the {MAX_FILE_BYTES}-byte limit")
    names = set(archive.files)
    if "meta" not in names:
        raise ModelFileError(path, "not a DigitLab model: the 'meta' entry is missing")
    meta = _read_meta(path, archive)
    sizes = meta["sizes"]
    n_layers = len(sizes) - 1
    expected = {"meta"} | {f"{kind}{layer}" for kind in "wb" for layer in range(n_layers)}
    missing = sorted(expected - names)
    if missing:
        raise ModelFileError(path, f"missing array(s) {', '.join(missing)} for layer sizes {sizes}")
    extra = sorted(names - expected)
    if extra:
        raise ModelFileError(path, f"unexpected entr{'y' if len(extra) == 1 else 'ies'} {', '.join(extra)}")
    weights = [
        _read_parameter(path, archive, f"w{layer}", (sizes[layer + 1], sizes[layer]))
        for layer in range(n_layers)
    ]
    biases = [_read_parameter(path, archive, f"b{layer}", (sizes[layer + 1],)) for layer in range(n_layers)]
    return Network(tuple(sizes), meta["activation"], meta["cost"], weights, biases), meta


def _array_header(path: Path, archive, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of an entry, read from its .npy header without loading data."""
    with archive.zip.open(f"{name}.npy") as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(member)
        else:
            raise ModelFileError(path, f"entry {name!r} has an unsupported .npy version {version}")
    if dtype.hasobject:
        # Object arrays are pickles; never unpickle a file from elsewhere.
        raise ModelFileError(path, f"entry {name!r} holds Python objects (pickle), which are refused")
    return shape, dtype


def _read_meta(path: Path, archive) -> dict:
    """Decode and check the JSON metadata."""
    shape, dtype = _array_header(path, archive, "meta")
    if dtype != np.uint8 or len(shape) != 1:
        raise ModelFileError(path, f"the 'meta' entry must be 1-D bytes, found {dtype} {shape}")
    if shape[0] > _MAX_META_BYTES:
        raise ModelFileError(path, f"the metadata is {shape[0]} bytes, over the {_MAX_META_BYTES}-byte limit")
    raw = archive["meta"].tobytes()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(path, f"the metadata is not valid JSON ({_one_line(err)})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(path, "the metadata is not a JSON object")
    _check_meta(path, meta)
    return meta


def _check_meta(path: Path, meta: dict) -> None:
    """Format, version, activation, cost and sizes must be ones this code understands."""
    if meta.get("format") != FORMAT:
        raise ModelFileError(path, f"not a DigitLab model (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ModelFileError(
            path, f"unsupported model format version {version!r} (this DigitLab reads version {FORMAT_VERSION})"
        )
    if meta.get("activation") not in ACTIVATIONS:
        raise ModelFileError(
            path, f"unknown activation {meta.get('activation')!r} (known: {', '.join(ACTIVATIONS)})"
        )
    if meta.get("cost") not in COSTS:
        raise ModelFileError(path, f"unknown cost {meta.get('cost')!r} (known: {', '.join(COSTS)})")
    problem = sizes_problem(meta.get("sizes"))
    if problem:
        raise ModelFileError(path, problem)


def _read_parameter(path: Path, archive, name: str, expected: tuple[int, ...]) -> np.ndarray:
    """Load one weight or bias array after checking its header."""
    shape, dtype = _array_header(path, archive, name)
    if shape != expected:
        raise ModelFileError(path, f"array {name} has shape {shape}, expected {expected}")
    if dtype.kind != "f":
        raise ModelFileError(path, f"array {name} has type {dtype}, expected floating point")
    values = archive[name]
    if not np.isfinite(values).all():
        raise ModelFileError(path, f"array {name} contains NaN or infinity")
    if values.size and float(np.abs(values).max()) > _FLOAT32_MAX:
        # Stored as float64 but too large for the network's float32.
        raise ModelFileError(path, f"array {name} has values too large for float32 (overflow to infinity)")
    return values


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# ---------------------------------------------------------------------------
# The shipped model
# ---------------------------------------------------------------------------


def default_model_path() -> Path:
    """Path of the model shipped with DigitLab (``resources/default_model.npz``)."""
    return resource("default_model.npz")


def load_default_model() -> tuple[Network, dict]:
    """Load the shipped model; see :func:`load_model`.

    Raises
    ------
    ModelFileError
        If the shipped file is missing or damaged (a broken installation).
    """
    return load_model(default_model_path())
