"""Before Qt starts on Linux: can its X11 (xcb) platform open a window at all?

Without a display, or without the system's xcb libraries, Qt prints a
paragraph and aborts the process (exit 134) as soon as the QApplication is
made. :func:`xcb_problem` finds both cases first, so the app can say in one
line what is wrong, print the ``apt-get`` line that fixes it, and exit 1.

This module imports no Qt: it must run where Qt cannot.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, Mapping, Sequence

__all__ = ["SYSTEM_PACKAGES", "apt_command", "chosen_platforms", "xcb_problem"]

#: packaging/linux/qt-system-libraries.txt, entry by entry: the alternatives
#: of each entry, and the library whose absence that package explains (None:
#: not needed to open a window, e.g. OpenSSL). A test keeps the two equal.
SYSTEM_PACKAGES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("libstdc++6",), "libstdc++.so.6"),
    (("libgcc-s1",), "libgcc_s.so.1"),
    (("libglib2.0-0", "libglib2.0-0t64"), "libglib-2.0.so.0"),
    (("libdbus-1-3",), "libdbus-1.so.3"),
    (("libssl3", "libssl3t64"), None),
    (("libfontconfig1",), "libfontconfig.so.1"),
    (("libfreetype6",), "libfreetype.so.6"),
    (("libegl1",), "libEGL.so.1"),
    (("libgl1",), "libGL.so.1"),
    (("libx11-6",), "libX11.so.6"),
    (("libx11-xcb1",), "libX11-xcb.so.1"),
    (("libxcb1",), "libxcb.so.1"),
    (("libxcb-cursor0",), "libxcb-cursor.so.0"),
    (("libxcb-glx0",), None),  # only the optional GLX integration plugin uses it
    (("libxcb-icccm4",), "libxcb-icccm.so.4"),
    (("libxcb-image0",), "libxcb-image.so.0"),
    (("libxcb-keysyms1",), "libxcb-keysyms.so.1"),
    (("libxcb-randr0",), "libxcb-randr.so.0"),
    (("libxcb-render0",), "libxcb-render.so.0"),
    (("libxcb-render-util0",), "libxcb-render-util.so.0"),
    (("libxcb-shape0",), "libxcb-shape.so.0"),
    (("libxcb-shm0",), "libxcb-shm.so.0"),
    (("libxcb-sync1",), "libxcb-sync.so.1"),
    (("libxcb-util1",), "libxcb-util.so.1"),
    (("libxcb-xfixes0",), "libxcb-xfixes.so.0"),
    (("libxcb-xkb1",), "libxcb-xkb.so.1"),
    (("libxkbcommon0",), "libxkbcommon.so.0"),
    (("libxkbcommon-x11-0",), "libxkbcommon-x11.so.0"),
)

NO_DISPLAY_MESSAGE = (
    "cannot open a window: no display found (DISPLAY is not set). Start DigitLab from a "
    "desktop session, or use the commands (digitlab --help) without a window."
)


def apt_command() -> str:
    """``sudo apt-get install ...`` with every package of the list (the first of each "a | b").

    The same names as ``packaging/linux/list-system-libraries.sh``; where only
    a "t64" name exists, apt picks it for the plain one itself.
    """
    return "sudo apt-get install " + " ".join(names[0] for names, _ in SYSTEM_PACKAGES)


def chosen_platforms(argv: Sequence[str], environ: Mapping[str, str]) -> list[str] | None:
    """The Qt platform plugins Qt will try, in order (``-platform`` first), or None for Qt's default."""
    value = None
    for index, arg in enumerate(argv):
        if arg in ("-platform", "--platform") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(("-platform=", "--platform=")):
            value = arg.split("=", 1)[1]
    if value is None:
        value = environ.get("QT_QPA_PLATFORM", "")
    names = [part.split(":", 1)[0].strip() for part in value.split(";")]
    names = [name for name in names if name]
    return names or None


def _can_load(library: str) -> bool:
    """Whether the dynamic loader finds ``library`` (by soname, as Qt's plugin loader does)."""
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def xcb_problem(
    argv: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    can_load: Callable[[str], bool] = _can_load,
    platform: str | None = None,
) -> str | None:
    """Why Qt's xcb platform cannot open a window here, or None if it can (or is not used).

    Parameters
    ----------
    argv : sequence of str
        The arguments given to the QApplication (``-platform NAME`` counts).
    environ : mapping, optional
        Environment (default ``os.environ``): ``QT_QPA_PLATFORM``, ``DISPLAY``,
        ``WAYLAND_DISPLAY``.
    can_load : callable
        ``can_load(soname) -> bool``; default: ask the dynamic loader.
    platform : str, optional
        ``sys.platform`` (default the real one): only Linux is checked.

    Returns
    -------
    str or None
        A message: one line, or for missing libraries one line and the
        ``apt-get`` line that installs them.
    """
    environ = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return None
    platforms = chosen_platforms(argv, environ)
    if platforms is None:
        if environ.get("WAYLAND_DISPLAY"):
            return None  # Qt may well use Wayland; let it decide
    elif platforms != ["xcb"]:
        return None  # offscreen, wayland, a list with fallbacks...: not ours to judge
    if not environ.get("DISPLAY"):
        return NO_DISPLAY_MESSAGE
    missing = [names[0] for names, library in SYSTEM_PACKAGES if library is not None and not can_load(library)]
    if not missing:
        return None
    return (
        f"cannot open a window: Qt's X11 support needs {', '.join(missing)}, not installed here. "
        f"Install Qt's system libraries and start DigitLab again:\n    {apt_command()}"
    )
