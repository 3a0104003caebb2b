"""Application start-up: QApplication, theme, the main window and a clean shutdown."""

from __future__ import annotations

import sys

_singletons_pinned = False


def keep_singletons_alive() -> None:
    """Work around PySide6 6.12 dropping references to ``None`` and ``True`` on Python < 3.12.

    With the PySide6 6.12 abi3 wheels on CPython 3.10/3.11, every binding call
    that returns ``None`` (``setEnabled``, ``setText``, a slot call...) and
    every ``Signal.emit`` (which returns ``True``) decrements that object's
    reference count without having incremented it: the wheels behave as if
    these singletons were immortal, which they are only from Python 3.12 on
    (PEP 683). After a few thousand calls the count reaches zero and CPython
    aborts with "none_dealloc: deallocating None" (or "bool_dealloc").
    Giving the interpreter's singletons a huge reference count up front
    emulates their 3.12 immortality. Safe to call repeatedly; a no-op on
    3.12+ and on other interpreters.
    """
    global _singletons_pinned
    if _singletons_pinned or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    singletons = [None, True, False, Ellipsis, NotImplemented, (), "", b""]
    singletons += list(range(-5, 257))  # CPython's cached small ints, immortal in 3.12
    for obj in singletons:
        # ob_refcnt is the first field of every CPython object header.
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 56
    _singletons_pinned = True
