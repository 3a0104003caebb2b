"""File safety shared by every reader and writer: one-line errors, atomic writes.

Every file DigitLab writes (models, IDX data, PNG and CSV exports) goes
through :func:`atomic_output`: the bytes go to a temporary file beside the
target, are flushed to disk, and only then renamed over the target, so a
reader sees either the old file or the complete new one. The new file keeps
the old one's permissions, and a symbolic link is written through: its
target is replaced, the link stays.

A writer killed at the wrong moment (``kill -9``, a power cut) leaves its
temporary file behind. The name says whose it was --
``.<name>.<host>-<pid>.<random>.tmp`` -- so the next save to that folder
removes the ones whose process is gone (:func:`remove_stale_temp_files`).

Errors of the operating system are told in plain words
(:func:`plain_reason`): "permission denied", never "[Errno 13]".
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Iterator

#: Seconds after which a temporary file of ours is removed even when its
#: writer cannot be proven gone (another computer's, or a reused process id).
STALE_TEMP_AGE = 24 * 3600

# Four hex digits of the host name: a process id means something only on the
# computer that wrote it (a folder may be shared over the network).
_HOST_TAG = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:4]
# .<target name>.<host tag>-<pid>.<12 hex digits>.tmp
_TEMP_NAME = re.compile(r"\..+\.(?P<host>[0-9a-f]{4})-(?P<pid>[0-9]{1,10})\.[0-9a-f]{12}\.tmp", re.DOTALL)
# What versions before the pid was in the name wrote: stale by age only.
_OLD_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}\.tmp", re.DOTALL)
# Leaves room in a 255-byte file name for the dot, the tags and ".tmp".
_MAX_NAME_IN_TEMP = 160

_PLAIN_REASONS = {
    getattr(errno, code): text
    for code, text in (
        ("EACCES", "permission denied"),
        ("EPERM", "permission denied"),
        ("EEXIST", "already exists"),
        ("ENOSPC", "no space left on the device"),
        ("EDQUOT", "the disk quota is used up"),
        ("EROFS", "the file system is read-only"),
        ("ENOENT", "no such file or folder"),
        ("ENOTDIR", "a part of the path is not a folder"),
        ("EISDIR", "is a folder"),
        ("ENOTEMPTY", "the folder is not empty"),
        ("ENAMETOOLONG", "the name is too long"),
        ("ELOOP", "too many levels of symbolic links"),
        ("EFBIG", "the file is too large"),
        ("EMFILE", "too many open files"),
        ("ENFILE", "too many open files"),
        ("EIO", "input/output error (a failing disk or device?)"),
        ("EXDEV", "cannot move a file to another file system"),
        ("EBUSY", "the file is in use"),
        ("ETXTBSY", "the file is in use"),
    )
    if hasattr(errno, code)
}
_ERRNO_PREFIX = re.compile(r"^\[(?:Errno|WinError) -?\d+\]\s*")


def plain_reason(err: OSError) -> str:
    """What went wrong, in lower-case plain words, without ``[Errno N]``.

    Parameters
    ----------
    err : OSError
        Any error of the operating system.

    Returns
    -------
    str
        For example "permission denied", "already exists" or "no space left
        on the device"; for codes not listed, the system's own wording.
    """
    reason = _PLAIN_REASONS.get(err.errno)
    if reason:
        return reason
    if err.strerror:
        return " ".join(err.strerror.split()).lower()
    text = _ERRNO_PREFIX.sub("", " ".join(str(err).split()))
    return text or type(err).__name__


def describe_os_error(err: OSError) -> str:
    """``"<file>: <plain reason>"`` (or the reason alone if no file is named)."""
    reason = plain_reason(err)
    if err.filename is None:
        return reason
    if err.filename2 is not None:
        return f"{err.filename} -> {err.filename2}: {reason}"
    return f"{err.filename}: {reason}"


def error_text(err: BaseException) -> str:
    """One line for a message box or the command line: OS errors in plain words, others as they say."""
    return describe_os_error(err) if isinstance(err, OSError) else str(err)


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

    If ``path`` is a symbolic link, its target is replaced and the link
    stays. An existing file's permission bits are kept (a private 0o600
    model stays private); a new file gets the usual ones (0o666 less the
    umask). Stale temporary files of killed writers in the folder are removed
    first (:func:`remove_stale_temp_files`).

    Parameters
    ----------
    path : str or Path
        The file to write; its folder must exist.

    Yields
    ------
    BinaryIO
        The temporary file to write to.

    Raises
    ------
    OSError
        If the folder is not writable or writing fails; the target is then
        untouched and the temporary file removed (:func:`plain_reason` says
        why in words).
    """
    target = _write_target(Path(path))
    remove_stale_temp_files(target.parent)
    keep_mode = _existing_mode(target)
    temp_name = _temp_path(target)
    # os.open with mode 0o666 honours the umask, so the file gets the usual
    # permissions (tempfile.mkstemp would make it private, 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(temp_name, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            if keep_mode is not None:
                _set_mode(stream.fileno(), temp_name, keep_mode)
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(target.parent)


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as stream:
        stream.write(data)


def check_folder_writable(folder: str | os.PathLike) -> None:
    """Make sure a file can be created in ``folder``: create and remove a probe file.

    For long jobs that save at the end (``digitlab train --out``): better to
    hear now than after an hour of training. Only creating a file proves it;
    mode bits lie to root, and read-only mounts and access lists are not in
    them at all. The probe is named like a temporary file of ours, so a crash
    between creating and removing it leaves nothing that lasts.

    Raises
    ------
    FileProblem
        ``"<folder>: cannot create files there (permission denied)"`` and
        the like.
    """
    folder = Path(folder)
    probe = _temp_path(folder / "write-probe")
    try:
        handle = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise FileProblem(folder, f"cannot create files there ({plain_reason(err)})") from None
    os.close(handle)
    with suppress(OSError):
        os.unlink(probe)


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writers of ours left in ``folder``.

    Only regular files named exactly like :func:`atomic_output`'s temporary
    files are considered, never links, folders or anything else. One is
    stale when this computer wrote it and its process is gone, or when it
    has not changed for :data:`STALE_TEMP_AGE` seconds (written by another
    computer, or by a version of DigitLab that did not put the process id in
    the name). A live writer's file is young and its process alive, so it
    stays. Failures are ignored: cleaning up must never stop a save.

    Parameters
    ----------
    folder : str or Path
        The folder about to be written to.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:  # a write-only folder (0o733) cannot be listed: nothing to clean
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and _is_stale(entry.name, now - info.st_mtime):
            with suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _is_stale(name: str, age: float) -> bool:
    match = _TEMP_NAME.fullmatch(name)
    if match and match["host"] == _HOST_TAG and _process_gone(int(match["pid"])):
        return True
    return bool(match or _OLD_TEMP_NAME.fullmatch(name)) and age > STALE_TEMP_AGE


def _process_gone(pid: int) -> bool:
    """Whether no process ``pid`` exists here (False when that cannot be told)."""
    if os.name != "posix" or pid <= 0:
        # On Windows os.kill(pid, 0) would end the process, not probe it.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it exists, but is someone else's
        return False
    return False


def _temp_path(target: Path) -> Path:
    """A fresh temporary file name beside ``target``, in the pattern cleanup recognises."""
    name = target.name[:_MAX_NAME_IN_TEMP]
    return target.parent / f".{name}.{_HOST_TAG}-{os.getpid()}.{secrets.token_hex(6)}.tmp"


def _write_target(path: Path) -> Path:
    """The file to replace: ``path`` itself, or the file a symbolic link points to.

    Renaming over the link would turn it into a plain file and leave its
    target stale; a dangling link gets its target created.
    """
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if target.is_symlink():  # realpath stops at a loop of links
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    return target


def _existing_mode(target: Path) -> int | None:
    """The permission bits of the file being replaced, if there is one."""
    try:
        info = os.stat(target)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    # Set-user/group-id bits have no business on a data file: not carried over.
    return stat.S_IMODE(info.st_mode) & 0o777


def _set_mode(handle: int, name: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(handle, mode)
    else:  # Windows: only the read-only flag exists
        os.chmod(name, mode)


def fsync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); best effort.

    The file itself is already on disk when this runs; only the rename's
    survival of a power cut is at stake. So a folder that cannot be opened
    for reading (a write-only 0o733 drop box) or a file system that refuses
    to sync folders is no reason to report a save as failed. Windows cannot
    open folders at all.
    """
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
