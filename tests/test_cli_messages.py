"""One-line errors stay alone on stderr (issue 13, item 16).

No raw "[Errno 13]" text, and no libpng, libjpeg, Qt or NumPy warning beside
(or instead of) our verdict in ``digitlab predict``. The predict runs are real
child processes, since libpng writes its errors straight to file descriptor 2.
"""

from __future__ import annotations

import errno
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli.common import plain_words, print_error
from digitlab.core.datasets import load_sample
from digitlab.imageio import array_to_qimage, captured_qt_messages, write_png
from tests.unprivileged import REPO_ROOT, child_env


def predict(*args: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = child_env(DIGITLAB_DEBUG="1") if debug else child_env()
    return subprocess.run(
        [sys.executable, "-m", "digitlab", "predict", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _with_chunk_after_header(png: bytes, chunk: bytes) -> bytes:
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, IHDR length+type, its 13 bytes, CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-images")
    digit = load_sample().val_images[0]
    good = folder / "good.png"
    write_png(good, digit)
    png = good.read_bytes()
    # An ICC profile libpng refuses: a warning, and the picture still decodes.
    bad_profile = folder / "bad-icc-profile.png"
    bad_profile.write_bytes(_with_chunk_after_header(png, _chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(b"\0" * 64))))
    # A flipped byte in a chunk's type: libpng's error, printed by libpng itself.
    damaged = bytearray(png)
    damaged[37] ^= 0xFF
    (folder / "damaged.png").write_bytes(bytes(damaged))
    jpeg = folder / "good.jpg"
    assert array_to_qimage(digit).save(str(jpeg), "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 3])
    huge = np.zeros((28, 28))
    huge[5:20, 10:18] = 1e308  # NumPy warns "overflow encountered in cast" on the way to float32
    np.save(folder / "huge-values.npy", huge)
    return folder


def test_a_libpng_warning_does_not_reach_stderr(images):
    noisy = predict(str(images / "bad-icc-profile.png"), debug=True)
    assert "libpng warning: iCCP" in noisy.stderr  # the file really provokes one
    result = predict(str(images / "bad-icc-profile.png"))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"{images / 'bad-icc-profile.png'}: ")


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("damaged.png", "(libpng error: "),
        ("truncated.jpg", "not an image Qt can read"),
        ("huge-values.npy", "image array: "),
    ],
)
def test_a_bad_image_gives_our_one_line_and_nothing_else(images, name, detail):
    result = predict(str(images / name))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"digitlab: error: {images / name}: ") and detail in lines[0]
    assert "Warning" not in result.stderr and "libpng error" not in result.stderr.split(": not an image", 1)[0]


def test_the_libraries_stay_quiet_in_a_json_batch(images):
    names = ["good.png", "bad-icc-profile.png", "damaged.png", "good.jpg", "truncated.jpg", "huge-values.npy"]
    result = predict("--json", *(str(images / n) for n in names))
    assert result.returncode == 1 and result.stderr == ""
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in rows] == names
    assert [("digit" in r) for r in rows] == [True, True, False, True, False, False]


def test_captured_qt_messages_restores_the_previous_handler():
    from PySide6.QtCore import qInstallMessageHandler, qWarning

    outer = []
    previous = qInstallMessageHandler(lambda kind, context, message: outer.append(message))
    try:
        with captured_qt_messages() as inner:
            qWarning("while decoding")
        qWarning("afterwards")
    finally:
        qInstallMessageHandler(previous)
    assert inner == ["while decoding"] and outer == ["afterwards"]


# ------------------------------------------------------------ plain words


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/x/m.npz"), "/x/m.npz: permission denied"),
        (FileExistsError(errno.EEXIST, "File exists", "/x/mnist"), "/x/mnist: already exists"),
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
        (OSError(errno.ENOENT, "No such file or directory", "a", None, "b"), "a -> b: no such file or folder"),
    ],
)
def test_one_line_errors_put_raw_os_errors_in_words(raw, plain, capsys):
    assert plain_words(f"download failed: {raw}") == f"download failed: {plain}"
    print_error(str(raw))
    assert capsys.readouterr().err == f"digitlab: error: {plain}\n"


def test_plain_words_leaves_our_own_messages_alone():
    message = "m.npz: cannot write: permission denied [see --help]"
    assert plain_words(message) == message
    assert plain_words("two\nlines") == "two lines"


def test_numpy_warnings_are_silenced_in_process_too(images, capsys):
    # In-process stderr has no file descriptor to redirect: NumPy's own
    # warning must not be raised at all (pytest turns it into an error here).
    from digitlab.cli import main

    assert main(["predict", str(images / "huge-values.npy")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("digitlab: error: ")
    assert len(captured.err.splitlines()) == 1
