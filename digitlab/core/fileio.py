"""File safety shared by every reader and writer: one-line errors, atomic writes.

Every file DigitLab writes (models, IDX data, PNG and CSV exports) goes
through :func:`atomic_output`: the bytes go to a temporary file beside the
target, are flushed to disk, and only then renamed over the target, so a
reader sees either the old file or the complete new one.
"""

from __future__ import annotations

import os
import secrets
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
