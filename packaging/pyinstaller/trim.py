"""Trim a PyInstaller analysis of DigitLab down to what the app really loads.

Used by packaging/digitlab.spec; plain functions over PyInstaller's
``(dest_name, src_path, typecode)`` tuples so tests can run them on made-up
lists. Three steps (a fourth, strip_libraries, runs on the finished folder):

1. drop Qt files and data files the app never loads (translations, unused
   plugins, pyqtgraph's logo);
2. on Linux, drop the desktop's own libraries (X11/xcb, fonts, GLib, D-Bus,
   the C++ runtime, OpenSSL): the .deb declares them as dependencies, and the
   system's copies must match its graphics drivers (a bundled, older
   libstdc++ breaks Mesa drivers built against a newer one);
3. on Linux, drop every shared library that nothing left in the bundle needs
   (libraries pulled in only by what steps 1-2 removed).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

Entry = tuple[str, str, str]  # (destination inside the bundle, source path, typecode)

# Paths under PySide6/ (Qt/plugins/... on Linux and macOS, plugins/... on
# Windows) that the app never loads, as regular expressions on the bundle
# path. Why each goes:
# - translations: the app's text is English;
# - tls, networkinformation: they serve QtNetwork, which the app does not use
#   (downloads go through urllib);
# - generic, platforminputcontexts, egldeviceintegrations and the eglfs,
#   linuxfb, vnc, minimalegl, vkkhrdisplay platforms: touch screens, input
#   methods and screens without a window system;
# - the gtk3 theme: needs GTK, which is not bundled;
# - svg icon engine and image format: need QtSvg, which is excluded (the
#   app's icons are PNGs);
# - TGA, WBMP image formats: nobody draws a digit in them (PNG, JPEG, BMP,
#   GIF, TIFF and WebP stay: digitlab.imageio promises them);
# - Wayland: the native plugin and its decorations cost ~3 MB (with QtSvg
#   for the Adwaita title bar); every Wayland desktop runs X11 apps through
#   XWayland, which Qt falls back to. That keeps the .deb under 150 MiB.
UNUSED_QT_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"/translations/",
        r"/plugins/(tls|networkinformation|generic|platforminputcontexts|egldeviceintegrations)/",
        r"/plugins/platforms/(lib)?q(eglfs|linuxfb|vnc|minimalegl|vkkhrdisplay|wayland)",
        r"/plugins/platformthemes/(lib)?qgtk3",
        r"/plugins/iconengines/(lib)?qsvgicon",
        r"/plugins/imageformats/(lib)?q(svg|tga|wbmp)\.",
        r"/plugins/wayland-",
    )
)

# Data files nothing reads at run time: pyqtgraph's "peegee" logo serves
# only pg.mkQApp(), which never makes the app's QApplication (and shows no
# icon if it did); the .ico/.icns are for the installers, which take them
# from the repository (the window icon comes from the PNGs).
UNUSED_DATA_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"^/pyqtgraph/icons/peegee/",
        r"^/digitlab/resources/icons/digitlab\.(ico|icns)$",
    )
)

# Libraries every Linux desktop has, which must come from the system (the
# .deb's Depends names their packages; packaging/README.md lists them for the
# .tar.gz). Matched against the file name's start.
SYSTEM_LIBRARY_PREFIXES = (
    "libX11", "libXau", "libXdmcp", "libXext", "libXrender", "libXi.", "libXfixes",
    "libxcb", "libxkbcommon", "libwayland-",
    "libfontconfig", "libfreetype",
    "libglib-2.0", "libgobject-2.0", "libgio-2.0", "libgmodule-2.0", "libgthread-2.0",
    "libdbus-1",
    "libstdc++", "libgcc_s",
    # OpenSSL 3 from the system also brings the system's CA certificates
    # (a Debian-built copy would look for them in Debian's place only).
    "libssl.so", "libcrypto.so",
    "libGL", "libEGL", "libOpenGL", "libGLX", "libGLdispatch",
)


def _posix(dest: str) -> str:
    return "/" + dest.replace("\\", "/")


def is_unused_qt_file(dest: str) -> bool:
    """True for a path under PySide6/ that UNUSED_QT_PATTERNS names."""
    path = _posix(dest)
    return "/PySide6/" in path and any(pattern.search(path) for pattern in UNUSED_QT_PATTERNS)


def is_system_library(dest: str) -> bool:
    """True for a shared library that a Linux desktop provides itself."""
    name = PurePosixPath(_posix(dest)).name
    return ".so" in name and name.startswith(SYSTEM_LIBRARY_PREFIXES)


def drop_unused_qt_files(entries: Iterable[Entry]) -> list[Entry]:
    """Remove Qt translations and plugins the app never loads."""
    return [entry for entry in entries if not is_unused_qt_file(entry[0])]


def drop_unused_data(datas: Iterable[Entry]) -> list[Entry]:
    """Remove data files UNUSED_DATA_PATTERNS names, and stray __pycache__ folders."""
    return [
        entry
        for entry in datas
        if "__pycache__" not in entry[0]
        and not any(pattern.search(_posix(entry[0])) for pattern in UNUSED_DATA_PATTERNS)
    ]


def drop_system_libraries(binaries: Iterable[Entry]) -> list[Entry]:
    """Remove the desktop's own libraries (Linux only; see module docstring)."""
    return [entry for entry in binaries if not is_system_library(entry[0])]


def elf_needed(path: str) -> set[str]:
    """Direct DT_NEEDED names of an ELF file, read with binutils' objdump.

    Direct, not ldd's transitive list: a library that only a system library
    needs must not keep its bundled copy alive.
    """
    output = subprocess.run(
        ["objdump", "-p", path], check=True, capture_output=True, text=True
    ).stdout
    return set(re.findall(r"^\s*NEEDED\s+(\S+)", output, flags=re.MULTILINE))


def _is_root(entry: Entry) -> bool:
    """Files loaded by name at run time rather than as some library's NEEDED."""
    dest, _src, kind = entry
    name = PurePosixPath(_posix(dest)).name
    return kind == "EXTENSION" or "/plugins/" in _posix(dest) or name.startswith("libpython")


def prune_unreferenced(
    binaries: list[Entry],
    datas: list[Entry],
    needed: Callable[[str], set[str]] = elf_needed,
) -> tuple[list[Entry], list[Entry]]:
    """Keep only the libraries reachable from the roots through NEEDED names.

    Roots are Python extension modules, Qt plugins and libpython. A bundle
    may hold one library under two paths (PyInstaller adds top-level
    symlinks), so reachability is by file name. Symlinks (SYMLINK entries in
    ``datas``) whose target is dropped go too. Returns (binaries, datas).
    """
    by_name: dict[str, list[Entry]] = {}
    for entry in binaries:
        by_name.setdefault(PurePosixPath(_posix(entry[0])).name, []).append(entry)
    reachable: set[str] = set()
    queue = [entry for entry in binaries if _is_root(entry)]
    seen_sources: set[str] = set()
    while queue:
        dest, src, _kind = queue.pop()
        reachable.add(PurePosixPath(_posix(dest)).name)
        if src in seen_sources:
            continue
        seen_sources.add(src)
        for name in needed(src):
            if name not in reachable and name in by_name:
                reachable.add(name)
                queue.extend(by_name[name])
    kept = [
        entry
        for entry in binaries
        if _is_root(entry) or PurePosixPath(_posix(entry[0])).name in reachable
    ]
    kept_dests = {_posix(entry[0]) for entry in kept}
    kept_datas = [
        entry
        for entry in datas
        if entry[2] != "SYMLINK" or _posix(entry[1]) in kept_dests
    ]
    return kept, kept_datas


def has_symbol_table(path: str) -> bool:
    """True when an ELF file still carries a symbol table or debug sections."""
    result = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True)
    return result.returncode == 0 and (" .symtab" in result.stdout or " .debug_" in result.stdout)


def is_vendored_by_auditwheel(path: str) -> bool:
    """Libraries a manylinux wheel vendors into ``<name>.libs/`` (e.g. numpy.libs)."""
    return any(part.endswith(".libs") for part in PurePosixPath(path.replace("\\", "/")).parts)


def strip_libraries(folder: str) -> list[str]:
    """``strip --strip-unneeded`` the shared libraries under ``folder`` that need it.

    PyInstaller's own ``strip=True`` cannot be used: it strips every library,
    and strip breaks the ones auditwheel rewrote with patchelf (numpy's
    OpenBLAS then fails with "ELF load command address/offset not
    page-aligned"), so those are left alone. What is stripped: a Python built
    from source (pyenv keeps debug info: 23 MB of libpython alone, 6 MB
    stripped) and the symbol tables the wheels leave in (4 MB in Qt's ICU).
    Returns the files stripped.
    """
    from pathlib import Path

    stripped = []
    for path in sorted(Path(folder).rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or is_vendored_by_auditwheel(str(path)):
            continue
        if has_symbol_table(str(path)):
            subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
            stripped.append(str(path))
    return stripped
