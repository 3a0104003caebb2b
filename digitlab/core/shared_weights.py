"""A network's parameters in shared memory, written by the training child, read by the window.

The training child (:mod:`digitlab.core.training_process`) copies its flat
parameter buffer (``Network.parameters``: all weights, then all biases) into one
:class:`multiprocessing.shared_memory.SharedMemory` segment about 30 times a
second; the window's worker thread copies it out again. Both copies happen
under one inter-process lock, so a reader never sees half-written weights.

The parent process creates the segment and is the only one to unlink it
(:meth:`SharedWeights.unlink`), also when the child died: a segment outlives
every process that has it open until it is unlinked.
"""

from __future__ import annotations

import os
import secrets
import sys
from multiprocessing import shared_memory

import numpy as np

from digitlab.core.fileio import plain_reason

#: Names of our segments start with this (``/dev/shm/digitlab_...`` on Linux).
NAME_PREFIX = "digitlab_"

#: Header before the parameters: one uint64, the number of writes so far.
_HEADER = np.dtype(np.uint64).itemsize


class SharedWeightsError(OSError):
    """No shared-memory segment of the size needed could be made."""


def _check_room(nbytes: int) -> None:
    # On Linux a segment beyond /dev/shm's free space is created without complaint
    # and the first write past the end kills the writer with SIGBUS: refuse it here.
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"):
        return
    stats = os.statvfs("/dev/shm")
    free = stats.f_bavail * stats.f_frsize
    if nbytes > free:
        raise SharedWeightsError(
            f"not enough shared memory for this network: it needs {nbytes / 2**20:.0f} MB, "
            f"/dev/shm has {free / 2**20:.0f} MB free"
        )


class SharedWeights:
    """A flat parameter array in a shared-memory segment, guarded by a lock.

    Use :meth:`create` in the parent and :meth:`attach` in the child.

    Parameters
    ----------
    segment : multiprocessing.shared_memory.SharedMemory
    size : int
        Number of parameters.
    dtype : numpy.dtype
    lock : multiprocessing lock
        Shared by writer and reader (from the same multiprocessing context as the child).
    """

    def __init__(self, segment: shared_memory.SharedMemory, size: int, dtype, lock) -> None:
        self._segment = segment
        #: The segment's name, for :meth:`attach` in another process.
        self.name = segment.name
        self.lock = lock
        self.size = int(size)
        self.dtype = np.dtype(dtype)
        self._writes = np.ndarray((1,), np.uint64, buffer=segment.buf)
        self._values = np.ndarray((self.size,), self.dtype, buffer=segment.buf, offset=_HEADER)
        self._owner = False

    @classmethod
    def create(cls, parameters: np.ndarray, lock) -> "SharedWeights":
        """A new segment holding a copy of the flat array ``parameters``.

        Raises
        ------
        SharedWeightsError
            If the segment cannot be made (no room, no shared memory on this system).
        """
        parameters = np.asarray(parameters)
        nbytes = _HEADER + parameters.nbytes
        _check_room(nbytes)
        name = NAME_PREFIX + secrets.token_hex(8)
        try:
            segment = shared_memory.SharedMemory(name=name, create=True, size=nbytes)
        except OSError as err:
            raise SharedWeightsError(f"cannot make shared memory for the weights: {plain_reason(err)}") from err
        shared = cls(segment, parameters.size, parameters.dtype, lock)
        shared._owner = True
        shared._values[:] = parameters
        shared._writes[0] = 0
        return shared

    @classmethod
    def attach(cls, name: str, size: int, dtype, lock) -> "SharedWeights":
        """Open the segment ``name`` that another process created."""
        return cls(shared_memory.SharedMemory(name=name), size, dtype, lock)

    def write(self, parameters: np.ndarray, wait: bool = True) -> bool:
        """Replace the shared parameters with ``parameters`` (writer side).

        With ``wait=False`` the write is skipped (False returned) while a reader
        holds the lock: a reader thread in the window's process can lose the GIL
        to the GUI thread in the middle of its copy, and training must not wait
        for the window's painting. The next write comes about 1/30 s later.
        """
        if not self.lock.acquire(block=wait):
            return False
        try:
            np.copyto(self._values, parameters, casting="no")
            self._writes[0] += 1
        finally:
            self.lock.release()
        return True

    def read(self, timeout: float = 1.0) -> tuple[np.ndarray, int] | None:
        """A read-only copy of the parameters and the number of writes so far.

        None if the lock could not be had within ``timeout`` seconds: a writer
        killed while writing leaves it locked for good, and its weights torn.
        """
        if not self.lock.acquire(timeout=timeout):
            return None
        try:
            values = self._values.copy()
            writes = int(self._writes[0])
        finally:
            self.lock.release()
        values.flags.writeable = False
        return values, writes

    def close(self) -> None:
        """Let go of this process's mapping and, in the creating process, unlink the segment.

        Safe to call twice.
        """
        if self._segment is None:
            return
        # The mapping cannot close while NumPy arrays still point into it.
        self._values = self._writes = None
        self._segment.close()
        if self._owner:
            self._unlink(self._segment)
        self._segment = None

    @staticmethod
    def _unlink(segment: shared_memory.SharedMemory) -> None:
        try:
            segment.unlink()
        except FileNotFoundError:  # already gone: nothing to clean
            pass
