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
import lzma
import math
import os
import re
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from digitlab import __version__
from digitlab.core.fileio import FileProblem, NotRegularFileError, atomic_output, open_regular, plain_reason
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
    "BUNDLED_MODELS",
    "bundled_model_path",
    "default_model_path",
    "load_bundled_model",
    "load_default_model",
]

FORMAT = "digitlab-model"
FORMAT_VERSION = 1

#: Files (and their unpacked contents) larger than this are refused unread.
MAX_FILE_BYTES = 200 * 1024 * 1024
# The JSON header is a few kilobytes even with a long training history.
_MAX_META_BYTES = 1024 * 1024
# Real metadata nests three or four levels (history rows in a list in a dict).
_MAX_META_DEPTH = 32
# Strings first, so brackets inside them are skipped; then the brackets.
_JSON_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
# meta plus a weight and a bias per layer.
_MAX_ENTRIES = 1 + 2 * (MAX_LAYERS - 1)
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_MAGIC = b"PK\x03\x04"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Keys save_model fills in from the network itself; callers cannot override them.
_RESERVED_KEYS = ("format", "format_version", "sizes", "activation", "cost")

# What can go wrong while unpacking a hostile or damaged archive; each becomes
# a ModelFileError instead of a traceback. Listed, not ``Exception``, so a
# bug of ours still shows as one (and the fuzz test would catch it).
_READ_ERRORS = (
    OSError,
    ValueError,  # includes UnicodeError and json.JSONDecodeError
    EOFError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,  # a header's shape too large for a C integer
    struct.error,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    NotImplementedError,  # a zip compression method Python lacks
    RuntimeError,  # zipfile on an encrypted entry; RecursionError too
    SyntaxError,  # NumPy parses a .npy header with ast.literal_eval
    tokenize.TokenError,
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
        raise ModelFileError(path, f"cannot write: {plain_reason(err)}") from None


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
        The only error: the file is missing, not a regular file, larger than
        :data:`MAX_FILE_BYTES`, not an ``.npz`` archive, encrypted, uses a
        compression other than stored/deflate, damaged, holds pickled
        objects, lacks or has extra entries, has arrays of the wrong shape or
        type or with NaN/inf values, or its metadata is too big, too deeply
        nested, not valid JSON or of an unknown format version.
    """
    path = Path(path)
    try:
        with _open_model_file(path) as stream, zipfile.ZipFile(stream) as archive:
            return _read_archive(path, archive)
    except ModelFileError:
        raise
    except _READ_ERRORS as err:
        # The one place where a damaged file's many failure modes become one error.
        raise ModelFileError(path, f"damaged or unreadable model file ({_one_line(err)})") from None


def _open_model_file(path: Path):
    """Open a regular, not oversized file that starts like a zip; refuse others unread."""
    try:
        stream = open_regular(path)
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except NotRegularFileError as err:  # a folder, or a FIFO that would block for ever
        raise ModelFileError(path, err.strerror) from None
    except OSError as err:
        raise ModelFileError(path, f"cannot read: {plain_reason(err)}") from None
    try:
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(path, f"is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for a model")
        if stream.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise ModelFileError(path, "not a DigitLab model (.npz) file")
        stream.seek(0)
    except BaseException:
        stream.close()
        raise
    return stream


def _read_archive(path: Path, archive: zipfile.ZipFile) -> tuple[Network, dict]:
    """Validate the archive's entries, then build the network."""
    infos = archive.infolist()
    if len(infos) > _MAX_ENTRIES:
        raise ModelFileError(path, f"has {len(infos)} entries, more than a model can have ({_MAX_ENTRIES})")
    unpacked = 0
    entries = {}
    for info in infos:
        _check_entry(path, info)
        unpacked += info.file_size
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name in entries:
            raise ModelFileError(path, f"entry {name!r} appears twice")
        entries[name] = info
    if unpacked > MAX_FILE_BYTES:
        raise ModelFileError(path, f"unpacks to {unpacked} bytes, over the {MAX_FILE_BYTES}-byte limit")
    names = set(entries)
    if "meta" not in names:
        raise ModelFileError(path, "not a DigitLab model: the 'meta' entry is missing")
    meta = _read_meta(path, archive, entries["meta"])
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
        _read_parameter(path, archive, entries[f"w{layer}"], (sizes[layer + 1], sizes[layer]))
        for layer in range(n_layers)
    ]
    biases = [
        _read_parameter(path, archive, entries[f"b{layer}"], (sizes[layer + 1],)) for layer in range(n_layers)
    ]
    return Network(tuple(sizes), meta["activation"], meta["cost"], weights, biases), meta


def _check_entry(path: Path, info: zipfile.ZipInfo) -> None:
    """Refuse, before decompressing anything, entries only a hostile file would have."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(path, f"entry {name!r} is encrypted")
    if info.compress_type not in _COMPRESSIONS:
        # bzip2 and LZMA streams fail in their own ways when damaged, and
        # NumPy never writes them: only stored and deflate are read.
        raise ModelFileError(
            path, f"entry {name!r} uses compression method {info.compress_type} (only stored or deflate)"
        )
    if not name.endswith(".npy"):
        raise ModelFileError(path, f"unexpected entry {name!r} (a model holds only .npy arrays)")


def _read_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, check) -> np.ndarray:
    """Read one .npy entry; ``check(shape, dtype)`` vets its header before any data is read."""
    name = info.filename[:-4]
    with archive.open(info) as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(member)
        else:
            raise ModelFileError(path, f"entry {name!r} has an unsupported .npy version {version}")
        if dtype.hasobject:
            # Object arrays are pickles; never unpickle a file from elsewhere.
            raise ModelFileError(path, f"entry {name!r} holds Python objects (pickle), which are refused")
        check(shape, dtype)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise ModelFileError(path, f"entry {name!r} declares {nbytes} bytes but holds at most {info.file_size}")
        data = member.read(nbytes)
        # Reading on to the end makes zipfile check the CRC of the whole entry.
        if len(data) != nbytes or member.read(1):
            raise ModelFileError(path, f"entry {name!r} does not hold the {nbytes} bytes its header declares")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _read_meta(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    """Decode and check the JSON metadata."""

    def check(shape, dtype):
        if dtype != np.uint8 or len(shape) != 1:
            raise ModelFileError(path, f"the 'meta' entry must be 1-D bytes, found {dtype} {shape}")
        if shape[0] > _MAX_META_BYTES:
            raise ModelFileError(path, f"the metadata is {shape[0]} bytes, over the {_MAX_META_BYTES}-byte limit")

    raw = _read_array(path, archive, info, check).tobytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFileError(path, f"the metadata is not valid JSON (not UTF-8: {_one_line(err)})") from None
    depth = _json_depth(text)
    if depth > _MAX_META_DEPTH:
        # json.loads recurses once per level; refuse before it can overflow the stack.
        raise ModelFileError(path, f"the metadata nests {depth} levels deep, over the limit of {_MAX_META_DEPTH}")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelFileError(path, f"the metadata is not valid JSON ({_one_line(err)})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(path, "the metadata is not a JSON object")
    _check_meta(path, meta)
    return meta


def _json_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in JSON text, ignoring brackets inside strings."""
    depth = deepest = 0
    for match in _JSON_BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


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


def _read_parameter(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, expected: tuple[int, ...]) -> np.ndarray:
    """Load one weight or bias array after checking its header."""
    name = info.filename[:-4]

    def check(shape, dtype):
        if shape != expected:
            raise ModelFileError(path, f"array {name} has shape {shape}, expected {expected}")
        if dtype.kind != "f":
            raise ModelFileError(path, f"array {name} has type {dtype}, expected floating point")

    values = _read_array(path, archive, info, check)
    if not np.isfinite(values).all():
        raise ModelFileError(path, f"array {name} contains NaN or infinity")
    if values.size and float(np.abs(values).max()) > _FLOAT32_MAX:
        # Stored as float64 but too large for the network's float32.
        raise ModelFileError(path, f"array {name} has values too large for float32 (overflow to infinity)")
    return values


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError):  # plain words, not "[Errno 5] Input/output error"
        return plain_reason(err)
    return " ".join(str(err).split()) or type(err).__name__


# ---------------------------------------------------------------------------
# The shipped model
# ---------------------------------------------------------------------------


#: The networks DigitLab ships, by the name ``--model`` and File > Bundled models use:
#: "default" is the video's 784-16-16-10; "bigger" a larger network that reads better.
BUNDLED_MODELS = {"default": "default_model.npz", "bigger": "bigger_model.npz"}


def bundled_model_path(name: str) -> Path:
    """Path of the bundled model called ``name`` (a key of :data:`BUNDLED_MODELS`).

    Raises
    ------
    ModelFileError
        If no bundled model has that name.
    """
    if name not in BUNDLED_MODELS:
        known = ", ".join(BUNDLED_MODELS)
        raise ModelFileError(f"no bundled model called {name!r} (there are: {known})")
    return resource(BUNDLED_MODELS[name])


def load_bundled_model(name: str) -> tuple[Network, dict]:
    """Load the bundled model called ``name``; see :func:`load_model`."""
    return load_model(bundled_model_path(name))


def default_model_path() -> Path:
    """Path of the model shipped with DigitLab (``resources/default_model.npz``)."""
    return bundled_model_path("default")


def load_default_model() -> tuple[Network, dict]:
    """Load the shipped model; see :func:`load_model`.

    Raises
    ------
    ModelFileError
        If the shipped file is missing or damaged (a broken installation).
    """
    return load_model(default_model_path())
