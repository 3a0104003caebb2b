"""Packaging: the .desktop entry, the icon files and the PyInstaller spec and its helpers.

The full build (PyInstaller, dpkg -i, the installed app) is too slow for a
unit test: packaging/linux/smoke_test.sh does that. Here every piece that can
be checked in seconds is: icon containers parsed byte by byte, the spec and
its pruning rules run on stand-in file lists. The scripts and installers are
in test_packaging_scripts.py.
"""

from __future__ import annotations

import configparser
import importlib.util
import runpy
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
DESKTOP_FILE = REPO / "resources" / "digitlab.desktop"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_module(path: Path):
    """Import a packaging script by path (packaging/ is not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_icons = load_module(PACKAGING / "make_icons.py")
trim = load_module(PACKAGING / "pyinstaller" / "trim.py")
project_info = load_module(PACKAGING / "project_info.py")


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


# ---------------------------------------------------------------------------
# .desktop entry
# ---------------------------------------------------------------------------


def read_desktop_entry() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read_string(DESKTOP_FILE.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def test_desktop_entry_names_the_command_and_icon():
    entry = read_desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "DigitLab"
    assert entry["Exec"] == "digitlab"
    assert entry["Icon"] == "digitlab"
    assert entry["Terminal"] == "false"
    assert entry["Comment"].strip()
    assert entry["Categories"] == "Education;Science;"
    keywords = [word for word in entry["Keywords"].split(";") if word]
    assert "MNIST" in keywords and "neural network" in keywords
    assert entry["Keywords"].endswith(";"), "a list value must end with ';'"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True
    )
    errors = [line for line in result.stdout.splitlines() if "error:" in line]
    assert result.returncode == 0 and not errors, result.stdout


# ---------------------------------------------------------------------------
# Icons
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", make_icons.PNG_SIZES)
def test_png_icon_has_its_size_and_an_alpha_channel(size):
    width, height, depth, colour = png_header((ICONS / f"digitlab-{size}.png").read_bytes())
    assert (width, height) == (size, size)
    assert (depth, colour) == (8, 6), "8-bit RGBA expected (transparent corners)"


def parse_ico(data: bytes) -> list[tuple[int, bytes]]:
    """(size, PNG bytes) of each .ico entry, checking the directory as Windows reads it."""
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1), "not an icon file"
    entries = []
    for index in range(count):
        width, height, colours, zero, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        assert (colours, zero, planes, bits) == (0, 0, 1, 32)
        assert offset + length <= len(data)
        size = width or 256
        assert (height or 256) == size
        entries.append((size, data[offset : offset + length]))
    return entries


def test_ico_holds_every_windows_size_as_png():
    entries = parse_ico((ICONS / "digitlab.ico").read_bytes())
    assert [size for size, _ in entries] == list(make_icons.ICO_SIZES)
    for size, png in entries:
        assert png_header(png)[:2] == (size, size)


def parse_icns(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, PNG bytes) of each .icns element; the lengths must tile the file exactly."""
    magic, total = struct.unpack(">4sI", data[:8])
    assert magic == b"icns" and total == len(data)
    elements, offset = [], 8
    while offset < total:
        kind, length = struct.unpack(">4sI", data[offset : offset + 8])
        assert length > 8 and offset + length <= total
        elements.append((kind, data[offset + 8 : offset + length]))
        offset += length
    assert offset == total
    return elements


def test_icns_holds_every_macos_type_as_png_of_its_size():
    elements = parse_icns((ICONS / "digitlab.icns").read_bytes())
    assert [kind for kind, _ in elements] == [kind for kind, _ in make_icons.ICNS_TYPES]
    for (kind, png), (_, size) in zip(elements, make_icons.ICNS_TYPES):
        assert png_header(png)[:2] == (size, size), kind


def test_ico_refuses_entries_windows_cannot_hold():
    with pytest.raises(make_icons.IconBuildError, match="1..256"):
        make_icons.build_ico({512: b"\x89PNG"})


def image_difference(first, second) -> tuple[float, int]:
    """Mean and largest channel difference between two same-sized QImages."""
    import numpy as np
    from PySide6.QtGui import QImage

    def pixels(image):
        image = image.convertToFormat(QImage.Format.Format_RGBA8888)
        raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
        rows = raw.reshape(image.height(), image.bytesPerLine())
        return rows[:, : image.width() * 4].astype(int)

    delta = np.abs(pixels(first) - pixels(second))
    return float(delta.mean()), int(delta.max())


@pytest.mark.parametrize("size", [16, 48, 256])
def test_committed_pngs_match_the_svg(qapp, size):
    """Whoever edits digitlab.svg must rerun make_icons.py: this notices if not."""
    from PySide6.QtGui import QImage

    fresh = QImage.fromData(make_icons.render_png(ICONS / "digitlab.svg", size), "PNG")
    committed = QImage(str(ICONS / f"digitlab-{size}.png"))
    assert fresh.size() == committed.size()
    mean, _largest = image_difference(fresh, committed)
    # Identical with the same Qt; another Qt's anti-aliasing may differ a little.
    assert mean < 2.0, f"{size} px icon differs from the SVG (mean {mean:.2f}): run make_icons.py"


def test_make_icons_writes_every_file(qapp, tmp_path):
    written = make_icons.make_icons(ICONS / "digitlab.svg", tmp_path)
    names = sorted(path.name for path in written)
    expected = sorted(
        [f"digitlab-{size}.png" for size in make_icons.PNG_SIZES] + ["digitlab.ico", "digitlab.icns"]
    )
    assert names == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == expected, "no temp files left over"
    assert len(parse_icns((tmp_path / "digitlab.icns").read_bytes())) == len(make_icons.ICNS_TYPES)


@pytest.mark.qt_log_ignore("Cannot read file")
def test_make_icons_reports_a_broken_svg(qapp, tmp_path):
    broken = tmp_path / "broken.svg"
    broken.write_text("<svg this is not xml")
    with pytest.raises(make_icons.IconBuildError, match="broken.svg"):
        make_icons.render_png(broken, 16)


# ---------------------------------------------------------------------------
# PyInstaller spec and its helpers
# ---------------------------------------------------------------------------


def test_spec_is_valid_python_and_project_info_reads_the_project():
    compile((PACKAGING / "digitlab.spec").read_text(encoding="utf-8"), "digitlab.spec", "exec")
    import digitlab

    assert project_info.version() == digitlab.__version__
    requirements = project_info.requirements()
    assert any(req.startswith("PySide6") for req in requirements)
    assert any(req.startswith("numpy") for req in requirements)


def test_project_info_names_the_file_it_cannot_use(tmp_path):
    (tmp_path / "digitlab").mkdir()
    (tmp_path / "digitlab" / "__init__.py").write_text('"""no version here"""\n')
    with pytest.raises(project_info.ProjectInfoError, match="__init__.py"):
        project_info.version(tmp_path)


def test_runtime_hook_gives_a_windowed_build_usable_streams():
    """In a windowed build sys.stdout/stderr/stdin are None until the hook runs."""
    hook = PACKAGING / "pyinstaller" / "rthook_stdio.py"
    code = (
        "import runpy, sys\n"
        "sys.stdout = sys.stderr = sys.stdin = None\n"
        f"runpy.run_path({str(hook)!r})\n"
        "sys.stdout.write('lost'); sys.stderr.write('lost'); sys.stdout.flush()\n"
        "assert sys.stdin.read() == ''\n"
        "import faulthandler; faulthandler.enable()\n"
        "raise SystemExit(0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_runtime_hook_leaves_real_streams_alone():
    before = (sys.stdout, sys.stderr, sys.stdin)
    runpy.run_path(str(PACKAGING / "pyinstaller" / "rthook_stdio.py"))
    assert (sys.stdout, sys.stderr, sys.stdin) == before


@pytest.mark.parametrize(
    ("dest", "unused"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/translations/qtbase_de.qm", True),  # Windows wheel layout
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/plugins/imageformats/qsvg.dll", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/plugins/platforms/qwindows.dll", False),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
        ("pyqtgraph/translations/whatever.qm", False),
    ],
)
def test_unused_qt_files(dest, unused):
    assert trim.is_unused_qt_file(dest) is unused


@pytest.mark.parametrize(
    ("dest", "system"),
    [
        ("libxcb-cursor.so.0", True),
        ("libX11.so.6", True),
        ("libstdc++.so.6", True),
        ("libssl.so.3", True),
        ("libfontconfig.so.1", True),
        ("libpython3.11.so.1.0", False),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", False),
        ("numpy.libs/libscipy_openblas64_-32a4b2a6.so", False),
        ("libffi.so.8", False),
        ("libXinerama-readme.txt", False),
    ],
)
def test_system_libraries(dest, system):
    assert trim.is_system_library(dest) is system


def test_prune_keeps_what_roots_need_and_drops_the_rest():
    binaries = [
        ("numpy/_core/_multiarray_umath.so", "/src/umath.so", "EXTENSION"),
        ("numpy.libs/libopenblas.so", "/src/openblas.so", "BINARY"),
        ("numpy.libs/libgfortran.so.5", "/src/gfortran.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/src/qxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/src/xcbqpa.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "/src/network.so", "BINARY"),
        ("libgssapi_krb5.so.2", "/src/gssapi.so", "BINARY"),
        ("libpython3.11.so.1.0", "/src/libpython.so", "BINARY"),
    ]
    needs = {
        "/src/umath.so": {"libopenblas.so", "libc.so.6"},
        "/src/openblas.so": {"libgfortran.so.5"},
        "/src/qxcb.so": {"libQt6XcbQpa.so.6", "libxcb.so.1"},
        "/src/network.so": {"libgssapi_krb5.so.2"},
    }
    datas = [
        ("libQt6XcbQpa.so.6", "PySide6/Qt/lib/libQt6XcbQpa.so.6", "SYMLINK"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        ("digitlab/resources/data/x.gz", "/src/x.gz", "DATA"),
    ]
    kept, kept_datas = trim.prune_unreferenced(binaries, datas, lambda src: needs.get(src, set()))
    assert {dest for dest, _, _ in kept} == {
        "numpy/_core/_multiarray_umath.so",
        "numpy.libs/libopenblas.so",
        "numpy.libs/libgfortran.so.5",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "libpython3.11.so.1.0",
    }
    assert [dest for dest, _, _ in kept_datas] == ["libQt6XcbQpa.so.6", "digitlab/resources/data/x.gz"]


def test_unused_data_files_are_dropped_and_the_rest_kept():
    datas = [
        ("pyqtgraph/icons/peegee/peegee_512px.png", "/src/a", "DATA"),
        ("pyqtgraph/icons/auto.png", "/src/b", "DATA"),
        ("pyqtgraph/colors/maps/CET-D1.csv", "/src/c", "DATA"),
        ("digitlab/resources/icons/digitlab.icns", "/src/d", "DATA"),
        ("digitlab/resources/icons/digitlab.ico", "/src/e", "DATA"),
        ("digitlab/resources/icons/digitlab-48.png", "/src/f", "DATA"),
        ("digitlab/resources/data/images-idx3-ubyte.gz", "/src/g", "DATA"),
        ("digitlab/__pycache__/cli.cpython-311.pyc", "/src/h", "DATA"),
    ]
    kept = [dest for dest, _, _ in trim.drop_unused_data(datas)]
    assert kept == [
        "pyqtgraph/icons/auto.png",
        "pyqtgraph/colors/maps/CET-D1.csv",
        "digitlab/resources/icons/digitlab-48.png",
        "digitlab/resources/data/images-idx3-ubyte.gz",
    ]


def test_auditwheel_libraries_are_never_stripped():
    assert trim.is_vendored_by_auditwheel("/b/_internal/numpy.libs/libscipy_openblas64_.so")
    assert not trim.is_vendored_by_auditwheel("/b/_internal/numpy/_core/_multiarray_umath.so")
