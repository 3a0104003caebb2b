"""`digitlab download` from a local mirror: checksums, the default folder, Ctrl+C and resuming, HTTP errors."""

from __future__ import annotations

import _thread

import numpy as np
import pytest

from digitlab.core import download
from tests.mnist_server import random_mnist_files
from tests.test_cli import (  # noqa: F401 (private_data_dir is an autouse fixture)
    assert_one_line_error,
    private_data_dir,
    run,
)


@pytest.fixture
def mirror(tmp_path, monkeypatch, mnist_server):
    """A local HTTP mirror (tests/mnist_server.py) of small valid MNIST files; FILES describes them."""
    # 300 random images do not compress: the file spans four 64 KiB chunks.
    served = random_mnist_files(np.random.default_rng(3), tmp_path / "served", train=300, test=20)
    monkeypatch.setattr(download, "FILES", served.table)
    return mnist_server(served.contents)


def test_download(capsys, tmp_path, mirror):
    dest = tmp_path / "mnist"
    status, out, err = run(capsys, "download", "--dest", str(dest), "--mirror", mirror.url)
    assert status == 0, err
    assert f"MNIST is ready in {dest}" in out
    for name, data in mirror.files.items():
        assert (dest / name).read_bytes() == data
        assert f"{name}:" in err and "checksum verified" in err


def test_download_to_default_folder_then_train_on_it(capsys, mirror, tmp_path):
    status, _, err = run(capsys, "download", "--mirror", mirror.url)
    assert status == 0, err
    assert (tmp_path / "user-data" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    status, out, err = run(capsys, "train", "--data", "mnist", "--epochs", "1", "--json")
    assert status == 0, err
    assert "300 training and 20 validation digits" in err


def test_download_ctrl_c_cancels_cleanly_and_resumes(capsys, tmp_path, mirror):
    dest = tmp_path / "mnist"
    # The user presses Ctrl+C mid-file: after one 64 KiB chunk and a bit.
    mirror.pause_once("train-images-idx3-ubyte.gz", after=70_000, then=_thread.interrupt_main)
    status, out, err = run(capsys, "download", "--dest", str(dest), "--mirror", mirror.url)
    assert status == 130
    assert "download cancelled" in err and "Traceback" not in err
    assert not (dest / "train-images-idx3-ubyte.gz").exists()  # nothing half-written under the final name
    part = dest / "train-images-idx3-ubyte.gz.part"
    saved = part.stat().st_size if part.is_file() else 0
    assert 0 < saved < len(mirror.files["train-images-idx3-ubyte.gz"])

    status, out, err = run(capsys, "download", "--dest", str(dest), "--mirror", mirror.url)
    assert status == 0, err
    assert (dest / "train-images-idx3-ubyte.gz").read_bytes() == mirror.files["train-images-idx3-ubyte.gz"]
    assert ("train-images-idx3-ubyte.gz", f"bytes={saved}-") in mirror.requests  # resumed, not restarted


def test_download_unreachable_mirror(capsys, tmp_path, mirror):
    mirror.files.clear()  # every file is a 404 now
    status, out, err = run(capsys, "download", "--dest", str(tmp_path / "d"), "--mirror", mirror.url)
    assert status == 1
    assert_one_line_error(err.strip().splitlines()[-1], "could not download", "HTTP 404")


def test_download_offline_says_so_in_plain_words(capsys, tmp_path):
    import socket

    with socket.socket() as sock:  # nothing listens there: connection refused
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}/mnist/"
    status, out, err = run(capsys, "download", "--dest", str(tmp_path / "d"),
                           "--mirror", refused, "--mirror", "http://digitlab-test.invalid/mnist/")
    assert status == 1
    assert_one_line_error(err, "no internet connection: DigitLab could not reach the MNIST servers.",
                          "Connect and try again, or train on the bundled sample.")
    assert "Errno" not in err and "http" not in err


def test_download_ctrl_c_on_a_crawling_mirror_returns_at_once(capsys, tmp_path, mirror):
    import threading
    import time

    mirror.trickle = (2, 1.0)  # 2 bytes a second: no read ever times out
    pressed = []

    def press_ctrl_c():
        pressed.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(1.0, press_ctrl_c)
    timer.start()
    status, out, err = run(capsys, "download", "--dest", str(tmp_path / "d"), "--mirror", mirror.url)
    took = time.monotonic() - pressed[0]
    timer.join()
    assert status == 130 and "download cancelled" in err and "Traceback" not in err
    assert took < 5, f"Ctrl+C took {took:.1f} s"  # it used to wait for the server, for ever
    part = tmp_path / "d" / "train-images-idx3-ubyte.gz.part"
    assert mirror.files["train-images-idx3-ubyte.gz"].startswith(part.read_bytes())
