"""File safety shared by every reader and writer: one-line errors, atomic writes.

Every file DigitLab writes (models, IDX data, PNG and CSV exports) goes
through :func:`atomic_output`: the bytes go to a temporary file beside the
target, are flushed to disk, and only then renamed over the target, so a
reader sees either the old file or the complete new one.
"""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Iterator


class FileProblem(ValueError):
    """A file is missing, unreadable or not what it should be.

    The message is one line, ``"<file>: <problem>"``, ready for a message box
    or the command line.

    Parameters
    ----------
    path : str or Path
        The file (or folder) at fault.
    problem : str
        What is wrong with it, one line.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self):
        # Keep the two-argument constructor picklable (multiprocessing, logging).
        return type(self), (self.path, self.problem)


class NotRegularFileError(OSError):
    """A path names a folder, FIFO, device or socket where a file was expected.

    An OSError, so readers that already report ``err.strerror`` say what it is.
    """


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    return "is not a regular file"


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading only if it is a regular file.

    Reading a FIFO blocks until someone writes to it, and a device such as
    ``/dev/zero`` never ends, so both are refused before anything is read.
    The path is stat-ed first, then opened without blocking (``O_NONBLOCK``
    has no effect on a regular file) and the open descriptor is stat-ed
    again, so a file swapped for a FIFO in between is refused too.

    Parameters
    ----------
    path : str or Path
        The file to read.

    Returns
    -------
    BinaryIO
        An open, buffered binary stream; the caller closes it.

    Raises
    ------
    NotRegularFileError
        If ``path`` is a folder, FIFO, socket or device (``strerror`` says
        which).
    OSError
        If it is missing or cannot be opened.
    """
    first = os.stat(path)
    if not stat.S_ISREG(first.st_mode):
        raise NotRegularFileError(0, _kind(first.st_mode), str(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags)
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(0, _kind(mode), str(path))
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary stream whose content replaces ``path`` when the block succeeds.

    If the block raises, the target is untouched and the temporary file is
    removed. Raises OSError if the folder is not writable.
    """
    path = Path(path)
    temp_name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # os.open with mode 0o666 honours the umask, so the file gets the usual
    # permissions (tempfile.mkstemp would make it private, 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(temp_name, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_directory(path.parent)


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as stream:
        stream.write(data)


def fsync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
