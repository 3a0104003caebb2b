"""Download the full MNIST (four gzipped IDX files, about 11 MB), standard library only.

Each file goes to ``<name>.part`` first and is moved to its final name only
after its size, MD5 and SHA-256 match, so a file under a final name is always
complete. A broken transfer resumes with an HTTP Range request; a mirror that
fails (HTTP error, unreachable, wrong bytes, stalled or crawling) hands over
to the next one.

No wait is unbounded: a watchdog (:mod:`digitlab.core.transfer_watch`) shuts
the connection down within a tenth of a second of a cancel, after ``timeout``
seconds without a byte, or when a mirror sends less than ``min_rate`` bytes a
second over ``rate_window`` seconds. Links are never followed: a ``.part`` or
final file that is a symbolic link is removed or replaced, never written
through or read.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from digitlab.core.fileio import fsync_directory
from digitlab.core.datasets import (
    IdxError,
    full_mnist_dir,
    read_idx,
    validate_images,
    validate_labels,
)
from digitlab.core.transfer_watch import CANCELLED, TransferWatch

__all__ = [
    "RemoteFile",
    "MIRRORS",
    "FILES",
    "DownloadError",
    "NoConnectionError",
    "DownloadCancelled",
    "NO_CONNECTION_MESSAGE",
    "download_mnist",
]


@dataclass(frozen=True)
class RemoteFile:
    """One file to download and what it must be once downloaded.

    Attributes
    ----------
    name : str
        File name, on the mirror and on disk.
    size : int
        Exact size in bytes.
    md5 : str
        Hex MD5 digest (the checksum the MNIST mirrors publish).
    sha256 : str or None
        Hex SHA-256 digest, checked too when given.
    count : int
        Number of digits (images or labels) the file holds.
    """

    name: str
    size: int
    md5: str
    sha256: str | None
    count: int


# Tried in order. The original site (yann.lecun.com) is often unavailable.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

FILES: tuple[RemoteFile, ...] = (
    RemoteFile(
        "train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 60000,
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 60000,
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 10000,
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 10000,
    ),
)

ProgressCallback = Callable[[str, int, int], None]

_CHUNK = 64 * 1024
_PROGRESS_INTERVAL = 0.05  # seconds: at most ~20 progress calls a second
# Attempts per mirror and file; a further attempt happens only after one that
# made progress (or found a stale .part), so a dead mirror costs one attempt.
_MAX_ATTEMPTS = 5
_USER_AGENT = "DigitLab (Python urllib)"
#: The slowest transfer accepted, in bytes a second, averaged over RATE_WINDOW
#: seconds: at 1 KB/s the 11 MB would take three hours.
MIN_RATE = 1000.0
RATE_WINDOW = 30.0
# Never follow a link when opening our own files (absent on Windows: lstat checks remain).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

NO_CONNECTION_MESSAGE = (
    "no internet connection: DigitLab could not reach the MNIST servers. "
    "Connect and try again, or train on the bundled sample."
)


class DownloadError(ValueError):
    """No mirror delivered a file, or a downloaded file is not valid MNIST.

    The message is one line, listing what happened at each mirror.
    """


class NoConnectionError(DownloadError):
    """Not one mirror could be reached (no network, no name resolution, refused)."""

    def __init__(self) -> None:
        super().__init__(NO_CONNECTION_MESSAGE)


class DownloadCancelled(Exception):
    """The download was cancelled through its ``cancel`` event."""


class _MirrorFailed(Exception):
    """This mirror cannot deliver the file; try the next one.

    ``unreachable`` is true when no connection to the server was made at all.
    """

    def __init__(self, reason: str, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class _Retry(Exception):
    """The transfer broke off or needs a fresh start; the same mirror may succeed."""


def download_mnist(
    dest_dir: str | os.PathLike | None = None,
    mirrors: Sequence[str] = MIRRORS,
    files: Sequence[RemoteFile] = FILES,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30,
    min_rate: float = MIN_RATE,
    rate_window: float = RATE_WINDOW,
) -> Path:
    """Download the MNIST files that are missing or damaged, then check all of them.

    Parameters
    ----------
    dest_dir : str or Path, optional
        Target folder, created if needed; default :func:`full_mnist_dir`.
    mirrors : sequence of str
        Base URLs, tried in order for each file.
    files : sequence of RemoteFile
        What to download and how to check it.
    progress : callable, optional
        ``progress(file_name, bytes_done, bytes_total)``, called at most about
        20 times a second and always once a file is complete. It runs on the
        calling thread.
    cancel : threading.Event, optional
        Once set, the transfer stops within about 0.1 s, even inside a
        blocked connect or read, and :class:`DownloadCancelled` is raised.
    timeout : float, default 30
        Seconds to wait for a server to answer or for its next byte, over the
        whole request (connecting, headers and body), not per read.
    min_rate : float, default MIN_RATE
        A mirror sending fewer bytes a second than this, averaged over
        ``rate_window`` seconds, counts as failed ("too slow").
    rate_window : float, default RATE_WINDOW
        Seconds over which the speed is averaged.

    Returns
    -------
    Path
        The folder holding the verified files.

    Raises
    ------
    NoConnectionError
        If no mirror could be reached at all (offline): a plain-words message.
    DownloadError
        If every mirror failed for a file (the one-line message says why), a
        verified file is not the expected MNIST data, or the folder cannot be
        written.
    DownloadCancelled
        If ``cancel`` was set. No final file is left half-written; a ``.part``
        file may stay and the next call resumes it.
    """
    dest = Path(dest_dir) if dest_dir is not None else full_mnist_dir()
    cancel = cancel if cancel is not None else threading.Event()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with TransferWatch(cancel, timeout, min_rate, rate_window) as watch:
            for spec in files:
                _check_cancel(cancel, spec.name)
                report = _Throttled(progress, spec.name, spec.size)
                final = dest / spec.name
                if _is_regular_file(final) and _checksum_problem(final, spec) is None:
                    report(spec.size)
                    continue
                _download_file(spec, dest, mirrors, report, watch)
    except OSError as err:
        # The network's errors are handled per mirror: this is the disk's.
        raise DownloadError(f"cannot save the download in {dest}: {_describe(err)}") from None
    for spec in files:
        _validate(dest / spec.name, spec)
    return dest


def _download_file(spec, dest, mirrors, report, watch: TransferWatch) -> None:
    """Fetch one file from the first mirror that delivers it intact."""
    part = dest / f"{spec.name}.part"
    failures: list[tuple[str, _MirrorFailed]] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + spec.name
        try:
            _fetch_from_mirror(url, part, spec, report, watch)
        except _MirrorFailed as err:
            failures.append((urlsplit(url).netloc or url, err))
            continue
        # os.replace renames over a link under the final name; it never writes through it.
        os.replace(part, dest / spec.name)
        fsync_directory(dest)
        return
    if failures and all(err.unreachable for _, err in failures):
        raise NoConnectionError()
    raise DownloadError(_failure_message(spec.name, failures))


def _failure_message(name: str, failures: list[tuple[str, _MirrorFailed]]) -> str:
    """One short line: the reason once if every mirror gave it, else each host's reason."""
    reasons = [str(err) for _, err in failures]
    if not failures:
        return f"could not download {name}: no mirror given"
    if len(failures) > 1 and len(set(reasons)) == 1:
        return f"could not download {name} from any of the {len(failures)} mirrors: {reasons[0]}"
    return f"could not download {name}: " + "; ".join(f"{host}: {err}" for host, err in failures)


def _fetch_from_mirror(url, part: Path, spec: RemoteFile, report, watch: TransferWatch) -> None:
    """Bring ``part`` to a complete, verified copy from one mirror.

    Resumes from whatever ``part`` holds; retries while attempts make progress.
    """
    reason = "no attempt made"
    for _ in range(_MAX_ATTEMPTS):
        offset = _usable_part_size(part, spec)
        if offset < spec.size:
            try:
                _transfer(url, part, offset, spec, report, watch)
            except _Retry as err:
                reason = str(err)
                continue
        _check_cancel(watch.cancel, spec.name)
        problem = _checksum_problem(part, spec)
        if problem is None:
            return
        part.unlink()
        if offset == 0:
            raise _MirrorFailed(problem)
        # The resumed-from bytes may have come from elsewhere: start afresh.
        reason = f"{problem} after resuming"
    raise _MirrorFailed(f"gave up after {_MAX_ATTEMPTS} attempts ({reason})")


def _usable_part_size(part: Path, spec: RemoteFile) -> int:
    """Bytes already in ``part``; a ``part`` larger than the file, or not a plain file, is discarded."""
    try:
        info = part.lstat()
    except FileNotFoundError:
        return 0
    if not stat.S_ISREG(info.st_mode) or info.st_size > spec.size:
        # A link (or a FIFO...) is removed itself: its target is never touched.
        part.unlink()
        return 0
    return info.st_size


def _is_regular_file(path: Path) -> bool:
    """A plain file, not a link to one (``Path.is_file`` follows links)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _transfer(url, part: Path, offset: int, spec: RemoteFile, report, watch: TransferWatch) -> None:
    """Stream the file (from ``offset`` on) into ``part``.

    Raises
    ------
    _Retry
        The connection broke after some progress, or the server wants a restart.
    _MirrorFailed
        The server is unreachable, refuses the file, stalls or crawls.
    DownloadCancelled
        The cancel event was set.
    """
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    watch.begin()
    try:
        try:
            response = watch.opener.open(Request(url, headers=headers), timeout=watch.timeout)
        except HTTPError as err:
            err.close()
            if err.code == 416 and offset:
                part.unlink()
                raise _Retry("server refused the resume range (HTTP 416)") from None
            raise _MirrorFailed(f"HTTP {err.code} {err.reason}") from None
        # ValueError: a malformed mirror URL (say, without a scheme).
        except (URLError, OSError, http.client.HTTPException, ValueError) as err:
            _raise_if_cut(watch, spec.name)
            raise _MirrorFailed(_describe(err), unreachable=not watch.reached_server) from None
        with response:
            offset = _resume_offset(response, part, offset)
            done, error = _stream(response, part, offset, spec, report, watch)
        _raise_if_cut(watch, spec.name)
    finally:
        watch.end()
    if done < spec.size:
        reason = f"connection ended after {done} of {spec.size} bytes"
        if error is not None:
            reason += f" ({_describe(error)})"
        if done > offset:
            raise _Retry(reason)
        raise _MirrorFailed(reason)


def _raise_if_cut(watch: TransferWatch, name: str) -> None:
    """Turn the watch's reason for cutting the connection into the right exception."""
    reason = watch.cut_reason
    if reason == CANCELLED:
        raise DownloadCancelled(f"download of {name} cancelled")
    if reason is not None:
        raise _MirrorFailed(reason, unreachable=not watch.reached_server)


def _resume_offset(response, part: Path, offset: int) -> int:
    """Where the response body starts: ``offset`` if the server honoured Range, else 0."""
    if not offset or response.status != 206:
        return 0  # a plain 200: the server ignored Range and sends everything
    content_range = response.headers.get("Content-Range", "")
    if not content_range.startswith(f"bytes {offset}-"):
        part.unlink()
        raise _Retry(f"unexpected Content-Range {content_range!r}")
    return offset


def _open_part(part: Path, append: bool) -> int:
    """Open ``part`` for writing without following a link (O_NOFOLLOW; lstat where absent)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    flags |= _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not _NOFOLLOW and part.is_symlink():
        raise OSError(f"{part} is a symbolic link; DigitLab does not write through links")
    try:
        return os.open(part, flags, 0o644)
    except OSError as err:
        if part.is_symlink():  # ELOOP: a link appeared since the lstat check
            raise OSError(f"{part} is a symbolic link; DigitLab does not write through links") from None
        raise


def _stream(response, part: Path, offset: int, spec: RemoteFile, report, watch: TransferWatch):
    """Append the body to ``part`` (truncating it when ``offset`` is 0).

    Returns the bytes now in ``part`` and the error that ended the transfer
    early, if any. Never writes past ``spec.size``.
    """
    done, error = offset, None
    with os.fdopen(_open_part(part, append=bool(offset)), "wb") as out:
        report(done)
        try:
            while done < spec.size:
                _check_cancel(watch.cancel, spec.name)
                # read1: whatever has arrived (read() would wait for a whole
                # chunk, which at 1 KB/s takes a minute with no progress shown).
                chunk = response.read1(min(_CHUNK, spec.size - done))
                if not chunk:
                    break
                watch.received(len(chunk))
                out.write(chunk)
                done += len(chunk)
                report(done)
        except (OSError, http.client.HTTPException, ValueError) as err:
            # ValueError: a TLS socket shut down by the watch ("read on closed socket").
            error = err
        finally:
            # Flushed to disk even when cancelled: the .part must be resumable.
            out.flush()
            os.fsync(out.fileno())
    return done, error


def _checksum_problem(path: Path, spec: RemoteFile) -> str | None:
    """None if ``path`` has the expected size and digests, else what differs."""
    size = path.stat().st_size
    if size != spec.size:
        return f"size {size} instead of {spec.size}"
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            md5.update(block)
            sha256.update(block)
    if md5.hexdigest() != spec.md5:
        return "checksum mismatch (md5)"  # the digests would make the one-line message unreadable
    if spec.sha256 is not None and sha256.hexdigest() != spec.sha256:
        return "checksum mismatch (sha256)"
    return None


def _validate(path: Path, spec: RemoteFile) -> None:
    """Check a verified file really holds ``spec.count`` MNIST images or labels."""
    try:
        array = read_idx(path)
        if "labels" in spec.name:
            validate_labels(array, path)
        else:
            validate_images(array, path)
    except IdxError as err:
        raise DownloadError(f"downloaded file is not valid MNIST data: {err}") from None
    if len(array) != spec.count:
        raise DownloadError(f"{path}: holds {len(array)} digits, expected {spec.count}")


class _Throttled:
    """Calls ``progress`` at most every ``_PROGRESS_INTERVAL``, and always at the end."""

    def __init__(self, progress: ProgressCallback | None, name: str, total: int) -> None:
        self._progress = progress
        self._name = name
        self._total = total
        self._last = float("-inf")

    def __call__(self, done: int) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if done < self._total and now - self._last < _PROGRESS_INTERVAL:
            return
        self._last = now
        self._progress(self._name, done, self._total)


def _check_cancel(cancel: threading.Event | None, name: str) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"download of {name} cancelled")


def _describe(err: BaseException) -> str:
    """One line for a network or disk error, without "[Errno N]" or "<urlopen error ...>"."""
    cause = getattr(err, "reason", None) if isinstance(err, URLError) else None
    if isinstance(cause, BaseException):
        err = cause
    elif cause is not None:
        return " ".join(str(cause).split()) or type(err).__name__
    if getattr(err, "verify_message", None):  # a TLS certificate problem
        text = f"certificate not trusted ({err.verify_message})"
    elif isinstance(err, ssl.SSLError) and err.reason:  # not "[SSL: X] x (_ssl.c:1006)"
        text = f"secure connection failed ({err.reason.lower().replace('_', ' ')})"
    elif isinstance(err, OSError) and err.strerror:
        text = err.strerror if err.filename is None else f"{err.filename}: {err.strerror}"
    else:
        text = str(err)
    return " ".join(text.split()) or type(err).__name__
