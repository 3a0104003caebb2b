"""Render resources/icons/digitlab.svg into every icon file the platforms need.

Run it after editing the SVG and commit what it writes, so neither the app nor
the installers need a render step::

    .venv/bin/python packaging/make_icons.py          # writes resources/icons/
    .venv/bin/python packaging/make_icons.py --out /tmp/icons

It writes ``digitlab-<N>.png`` for N in PNG_SIZES, ``digitlab.ico`` (Windows)
and ``digitlab.icns`` (macOS). Both container formats accept PNG-compressed
entries (Windows Vista and later, macOS 10.7 and later), so they are packed
here with ``struct`` from the same PNGs: no Pillow, no iconutil.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = REPO_ROOT / "resources" / "icons"
SVG_NAME = "digitlab.svg"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Windows Explorer asks for up to 256 px; larger entries are not allowed.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# macOS icon types and the pixel size each holds (the "@2x" Retina variants
# reuse the next size up). ic10 is 512@2x, rendered only inside the .icns.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class IconBuildError(ValueError):
    """The SVG could not be rendered or an entry does not fit its container."""


def render_png(svg_path: Path, size: int) -> bytes:
    """Render the SVG into a square, transparent ``size`` x ``size`` PNG."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise IconBuildError(f"{svg_path}: not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise IconBuildError(f"{svg_path}: Qt could not encode a {size} px PNG")
    buffer.close()
    return bytes(data.data())


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which always comes first)."""
    if png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise IconBuildError("icon entry is not a PNG image")
    return struct.unpack(">II", png[16:24])


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """Pack square PNGs (size -> bytes) into a Windows .ico file."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        if not 1 <= size <= 256:
            raise IconBuildError(f".ico entries must be 1..256 px, got {size}")
        png = pngs[size]
        # A width/height byte of 0 means 256; 32 bits per pixel, 1 plane.
        entries.append(
            struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        )
        blobs.append(png)
        offset += len(png)
    return header + b"".join(entries) + b"".join(blobs)


def build_icns(entries: list[tuple[bytes, bytes]]) -> bytes:
    """Pack (four-byte type, PNG bytes) pairs into a macOS .icns file."""
    body = b"".join(struct.pack(">4sI", kind, 8 + len(png)) + png for kind, png in entries)
    return struct.pack(">4sI", b"icns", 8 + len(body)) + body


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder so a crash never leaves half a file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def make_icons(svg_path: Path, out_dir: Path) -> list[Path]:
    """Render every PNG size and pack the .ico and .icns; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    needed = set(PNG_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    pngs = {size: render_png(svg_path, size) for size in sorted(needed)}
    written = []
    for size in PNG_SIZES:
        path = out_dir / f"digitlab-{size}.png"
        write_atomic(path, pngs[size])
        written.append(path)
    ico_path = out_dir / "digitlab.ico"
    write_atomic(ico_path, build_ico({size: pngs[size] for size in ICO_SIZES}))
    icns_path = out_dir / "digitlab.icns"
    write_atomic(icns_path, build_icns([(kind, pngs[size]) for kind, size in ICNS_TYPES]))
    return written + [ico_path, icns_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=ICON_DIR / SVG_NAME, help="source SVG")
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output folder")
    args = parser.parse_args(argv)
    # Rendering needs a QGuiApplication; offscreen needs no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (kept alive)
    for path in make_icons(args.svg, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
