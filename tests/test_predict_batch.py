"""``digitlab predict --json`` on a batch of good and hostile files, in a child process (issue 13).

Every good file gets an answer, every bad one one error line, the exit
status is 1, and there is no traceback and no abort; a hostile model file is
one error line too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitlab.core.datasets import load_sample
from digitlab.core.model_io import default_model_path
from digitlab.imageio import write_png

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("DIGITLAB_DEBUG", None)  # it re-raises errors on purpose
    return subprocess.run(
        [sys.executable, "-m", "digitlab", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


SVG_WITH_TEXT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
    b'<rect width="28" height="28" fill="white"/><text x="6" y="22" font-size="20">7</text></svg>'
)


def _npy_claiming(shape) -> bytes:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    header = header.ljust(64 * ((len(header) + 10) // 64 + 1) - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(paths in order, set of the good ones)."""
    folder = tmp_path_factory.mktemp("batch")
    images = load_sample().val_images
    good = []
    for i in range(3):
        path = folder / f"digit{i}.png"
        write_png(path, images[i])
        good.append(path)
    np.save(folder / "digit.npy", images[3].astype(np.float32) / 255)
    good.append(folder / "digit.npy")

    bad = {
        "huge.npy": _npy_claiming((100_000, 100_000)),  # 192 bytes declaring 80 GB
        "notes.png": b"not a picture\n",
        "empty.png": b"",
        "cut.png": (folder / "digit0.png").read_bytes()[:60],
        "broken.npy": b"\x93NUMPY\x01\x00garbage",
        # Qt's SVG renderer aborted the process (SIGABRT) on <text> without a
        # QGuiApplication (issue 13 item 2); renamed, it is still an SVG.
        "text.svg": SVG_WITH_TEXT,
        "svg-renamed.png": SVG_WITH_TEXT,
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    with open(folder / "archive.npy", "wb") as out:  # a .npz renamed .npy
        np.savez(out, a=np.zeros((28, 28)))
    np.save(folder / "objects.npy", np.array([[{"x": 1}]], dtype=object), allow_pickle=True)
    np.save(folder / "blank.npy", np.zeros((28, 28)))  # readable, but no ink
    (folder / "a-folder.png").mkdir()
    hostile = [folder / n for n in (*bad, "archive.npy", "objects.npy", "blank.npy", "a-folder.png")]
    hostile.append(folder / "missing.png")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.png")
        hostile.append(folder / "pipe.png")
    # Good and bad interleaved: a bad file must not end the batch.
    order = []
    for i in range(max(len(good), len(hostile))):
        order += hostile[i:i + 1] + good[i:i + 1]
    return order, set(good)


def test_predict_json_answers_every_good_file_and_one_line_per_bad_one(batch):
    paths, good = batch
    result = _run("predict", "--json", *map(str, paths))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)  # not -6 (abort), not 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in paths]
    for path, line in zip(paths, lines):
        if path in good:
            assert set(line) == {"path", "digit", "probabilities"}, line
            assert 0 <= line["digit"] <= 9 and len(line["probabilities"]) == 10
        else:
            assert set(line) == {"path", "error"}, line
            assert line["error"] and "\n" not in line["error"]
    errors = {Path(line["path"]).name: line["error"] for line in lines if "error" in line}
    assert "over the limit" in errors["huge.npy"]
    assert "not a readable .npy array" in errors["archive.npy"]
    assert "SVG" in errors["text.svg"] and "SVG" in errors["svg-renamed.png"]
    if "pipe.png" in errors:
        assert "fifo" in errors["pipe.png"].lower()


def test_predict_text_output_gives_one_error_line_per_bad_file(batch):
    paths, good = batch
    result = _run("predict", *map(str, paths))
    assert "Traceback" not in result.stderr and result.returncode == 1
    assert len(result.stdout.splitlines()) == len(good)
    # libpng still prints its own "libpng error: ..." lines beside ours (issue
    # 13 item 16, not fixed here), so count only our lines.
    errors = [line for line in result.stderr.splitlines() if line.startswith("digitlab: error: ")]
    assert len(errors) == len(paths) - len(good), result.stderr


def _hostile_models(folder: Path) -> list[Path]:
    shipped = default_model_path().read_bytes()
    with zipfile.ZipFile(default_model_path()) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    lzma_path = folder / "lzma.npz"
    with zipfile.ZipFile(lzma_path, "w", zipfile.ZIP_LZMA) as archive:
        for name, data in members:
            archive.writestr(name, data)
    damaged = bytearray(lzma_path.read_bytes())
    damaged[300] ^= 0xFF
    lzma_path.write_bytes(bytes(damaged))
    encrypted = bytearray(shipped)
    encrypted[6] |= 1
    encrypted[shipped.find(b"PK\x01\x02") + 8] |= 1
    (folder / "encrypted.npz").write_bytes(bytes(encrypted))
    (folder / "cut.npz").write_bytes(shipped[: len(shipped) // 2])
    paths = [lzma_path, folder / "encrypted.npz", folder / "cut.npz"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.npz")
        paths.append(folder / "pipe.npz")
    return paths


def test_hostile_model_is_one_error_line(tmp_path, batch):
    paths, good = batch
    image = str(sorted(good)[0])
    for model in _hostile_models(tmp_path):
        result = _run("predict", "--json", "--model", str(model), image, timeout=60)
        assert result.returncode == 1, (model, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith(f"digitlab: error: {model}: "), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", [["predict", "--model", "", "x.png"], ["evaluate", "--model", ""],
                                     ["--model", "", "predict", "x.png"]])
def test_empty_model_path_is_an_error_not_the_default(command):
    # Issue 13 item 16: `--model ""` used to fall back to the shipped model.
    result = _run(*command, timeout=60)
    assert result.returncode in (1, 2)
    assert "empty path" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
