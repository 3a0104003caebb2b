"""The MNIST downloader against real local HTTP servers that misbehave on purpose."""

import hashlib
import socket
import threading
import time

import pytest

from digitlab.core import datasets, download
from digitlab.core.download import (
    FILES,
    MIRRORS,
    DownloadCancelled,
    DownloadError,
    RemoteFile,
    download_mnist,
)

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


# --- misbehaving mirrors: tests/mnist_server.py ------------------------------------


@pytest.fixture
def fake_mnist(fake_mnist_files):
    """Small but valid gzipped MNIST files and a FILES-like table describing them."""
    return fake_mnist_files


@pytest.fixture
def mirrors(fake_mnist, mnist_server):
    """Factory of local mirrors serving the fake files; all closed after the test."""
    return lambda: mnist_server(fake_mnist.contents)


class ProgressWatcher:
    """Progress callback that records calls and, at each one, checks that
    every file already under its final name is complete and correct."""

    def __init__(self, dest, contents, cancel_on=None, cancel=None):
        self.dest, self.contents = dest, contents
        self.cancel_on, self.cancel = cancel_on, cancel
        self.calls = []

    def __call__(self, name, done, total):
        self.calls.append((name, done, total))
        assert_final_files_complete(self.dest, self.contents)
        if self.cancel_on == name and done > 0:
            self.cancel.set()

    def check_calls(self, table):
        for spec in table:
            dones = [done for name, done, total in self.calls if name == spec.name]
            assert all(total == spec.size for name, _, total in self.calls if name == spec.name)
            assert dones and dones[-1] == spec.size
            assert all(0 <= d <= spec.size for d in dones)


def assert_final_files_complete(dest, contents):
    for name, data in contents.items():
        final = dest / name
        if final.exists():
            assert final.read_bytes() == data, f"{name} is half-written or wrong"


def assert_downloaded(dest, contents):
    for name, data in contents.items():
        assert (dest / name).read_bytes() == data
    assert not list(dest.glob("*.part"))


def _md5(data):
    return hashlib.md5(data).hexdigest()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def closed_port_url():
    """A URL on a port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


# --- tests -----------------------------------------------------------------------


def test_downloads_everything_from_first_mirror(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    first, second = mirrors(), mirrors()
    watcher = ProgressWatcher(tmp_path, contents)
    result = download_mnist(tmp_path, [first.url, second.url], table, progress=watcher, timeout=5)
    assert result == tmp_path
    assert_downloaded(tmp_path, contents)
    assert sorted(first.requests) == sorted((name, None) for name in contents)
    assert second.requests == []
    watcher.check_calls(table)
    # Once everything is there and verified, nothing is fetched again.
    again = ProgressWatcher(tmp_path, contents)
    download_mnist(tmp_path, [first.url], table, progress=again, timeout=5)
    assert len(first.requests) == len(contents)
    again.check_calls(table)


def test_default_destination_makes_full_mnist_available(tmp_path, monkeypatch, fake_mnist, mirrors):
    contents, table = fake_mnist
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    assert not datasets.mnist_available()
    dest = download_mnist(mirrors=[mirrors().url], files=table, timeout=5)
    assert dest == tmp_path / "data" / "mnist"
    assert datasets.mnist_available()
    split = datasets.load_full_mnist()
    assert (len(split.train_images), len(split.val_images)) == (120, 20)


def test_http_500_falls_back_to_second_mirror(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    broken, good = mirrors(), mirrors()
    broken.status = 500
    download_mnist(tmp_path, [broken.url, good.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert len(broken.requests) == len(good.requests) == len(contents)


def test_unreachable_mirror_falls_back(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    download_mnist(tmp_path, [closed_port_url(), mirrors().url], table, timeout=5)
    assert_downloaded(tmp_path, contents)


def test_mirror_url_without_trailing_slash(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    download_mnist(tmp_path, [mirrors().url.rstrip("/")], table, timeout=5)
    assert_downloaded(tmp_path, contents)


def test_corrupt_bytes_are_discarded_and_next_mirror_used(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    corrupt, good = mirrors(), mirrors()
    corrupt.corrupt = True
    watcher = ProgressWatcher(tmp_path, contents)
    download_mnist(tmp_path, [corrupt.url, good.url], table, progress=watcher, timeout=5)
    assert_downloaded(tmp_path, contents)
    # The bad .part was deleted, so the good mirror started from zero.
    assert good.requests_for(TRAIN_IMAGES) == [None]


def test_all_mirrors_failing_is_one_line_error(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    broken, corrupt = mirrors(), mirrors()
    broken.status, corrupt.corrupt = 500, True
    dead = closed_port_url()
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, [broken.url, corrupt.url, dead], table, timeout=5)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"could not download {TRAIN_IMAGES}: ")
    # Each mirror by its host, once; no full URLs, no "[Errno ...]", no digests.
    host = lambda url: url.split("/")[2]  # noqa: E731
    assert f"{host(broken.url)}: HTTP 500 Internal Server Error; " in message
    assert f"{host(corrupt.url)}: checksum mismatch (md5); " in message
    assert message.endswith(f"{host(dead)}: Connection refused")
    assert "http://" not in message and "Errno" not in message
    assert len(message) < 200
    assert isinstance(info.value, ValueError)
    assert list(tmp_path.iterdir()) == []


def test_cut_connection_resumes_with_range(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    mirror = mirrors()
    mirror.cuts_left, mirror.cut_after = 1, 10_000
    watcher = ProgressWatcher(tmp_path, contents)
    download_mnist(tmp_path, [mirror.url], table, progress=watcher, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None, "bytes=10000-"]
    watcher.check_calls(table)


def test_mirror_that_keeps_cutting_hands_its_part_to_the_next(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    flaky, good = mirrors(), mirrors()
    flaky.cuts_left, flaky.cut_after = 10_000, 4_000
    download_mnist(tmp_path, [flaky.url, good.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    # Five attempts of 4,000 bytes each, then the next mirror resumes from there.
    assert flaky.requests_for(TRAIN_IMAGES) == [None] + [f"bytes={n}-" for n in range(4000, 20000, 4000)]
    assert good.requests_for(TRAIN_IMAGES) == ["bytes=20000-"]


def test_cut_before_any_data_moves_to_next_mirror(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    silent, good = mirrors(), mirrors()
    silent.cuts_left, silent.cut_after = 10_000, 0
    download_mnist(tmp_path, [silent.url, good.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert silent.requests_for(TRAIN_IMAGES) == [None]


def test_server_ignoring_range_restarts_from_zero(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(b"\x00" * 5000)
    mirror = mirrors()
    mirror.ranges = "ignore"
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    # The 200 reply overwrote the .part: one request was enough.
    assert mirror.requests_for(TRAIN_IMAGES) == ["bytes=5000-"]


def test_range_refused_with_416_restarts_from_zero(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(contents[TRAIN_IMAGES][:3000])
    mirror = mirrors()
    mirror.ranges = "refuse"
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == ["bytes=3000-", None]


def test_part_with_foreign_prefix_is_redownloaded(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(b"\xff" * 3000)
    mirror = mirrors()
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == ["bytes=3000-", None]


def test_oversized_part_is_discarded(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(b"\x00" * (len(contents[TRAIN_IMAGES]) + 1))
    mirror = mirrors()
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None]


def test_complete_part_needs_no_request(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(contents[TRAIN_IMAGES])
    mirror = mirrors()
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == []


def test_damaged_final_file_is_replaced(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    (tmp_path / TRAIN_IMAGES).write_bytes(b"not mnist")
    mirror = mirrors()
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None]


def test_cancel_from_progress_callback_then_resume(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    mirror = mirrors()
    cancel = threading.Event()
    watcher = ProgressWatcher(tmp_path, contents, cancel_on=TRAIN_IMAGES, cancel=cancel)
    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, [mirror.url], table, progress=watcher, cancel=cancel, timeout=5)
    # Nothing under a final name; the partial download is kept for resuming.
    assert [p.name for p in tmp_path.iterdir()] == [f"{TRAIN_IMAGES}.part"]
    assert 0 < (tmp_path / f"{TRAIN_IMAGES}.part").stat().st_size <= len(contents[TRAIN_IMAGES])
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)


def test_cancel_mid_file_keeps_part_and_resumes_it(tmp_path, monkeypatch, fake_mnist, mirrors):
    contents, table = fake_mnist
    # Report every chunk, so the cancel lands after the file's first piece.
    monkeypatch.setattr(download, "_PROGRESS_INTERVAL", 0.0)
    mirror = mirrors()
    cancel = threading.Event()
    watcher = ProgressWatcher(tmp_path, contents, cancel_on=TRAIN_IMAGES, cancel=cancel)
    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, [mirror.url], table, progress=watcher, cancel=cancel, timeout=5)
    part = tmp_path / f"{TRAIN_IMAGES}.part"
    kept = part.read_bytes()
    # Whatever had arrived (reads take what is there, up to one chunk), and only that.
    assert 0 < len(kept) <= download._CHUNK < len(contents[TRAIN_IMAGES])
    assert kept == contents[TRAIN_IMAGES][:len(kept)]
    download_mnist(tmp_path, [mirror.url], table, timeout=5)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None, f"bytes={len(kept)}-"]


def test_cancel_before_start_fetches_nothing(tmp_path, fake_mnist, mirrors):
    _, table = fake_mnist
    mirror = mirrors()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, [mirror.url], table, cancel=cancel, timeout=5)
    assert mirror.requests == []
    assert list(tmp_path.iterdir()) == []


def test_verified_files_are_checked_as_mnist(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    wrong_count = [spec if spec.name != TRAIN_IMAGES else
                   RemoteFile(spec.name, spec.size, spec.md5, spec.sha256, 121) for spec in table]
    with pytest.raises(DownloadError, match="holds 120 digits, expected 121"):
        download_mnist(tmp_path, [mirrors().url], wrong_count, timeout=5)


def test_checksummed_file_that_is_not_idx_is_rejected(tmp_path, mnist_server):
    junk = b"\x00\x00\x08\x03 this is not an MNIST file"
    mirror = mnist_server({"junk-images.gz": junk})
    spec = RemoteFile("junk-images.gz", len(junk), _md5(junk), None, 1)
    with pytest.raises(DownloadError, match="not valid MNIST data") as info:
        download_mnist(tmp_path, [mirror.url], [spec], timeout=5)
    assert "junk-images.gz" in str(info.value)


def test_sha256_is_checked_when_given(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    spec = table[1]
    bad = [RemoteFile(spec.name, spec.size, spec.md5, "0" * 64, spec.count)]
    with pytest.raises(DownloadError, match="checksum mismatch \\(sha256"):
        download_mnist(tmp_path, [mirrors().url], bad, timeout=5)


def test_real_table_matches_the_official_test_files(tmp_path, official_test_dir, mnist_server):
    assert [spec.name for spec in FILES] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert [spec.count for spec in FILES] == [60000, 60000, 10000, 10000]
    assert MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    # Serve the real t10k files and let the real table verify and validate them.
    t10k = {spec.name: (official_test_dir / spec.name).read_bytes() for spec in FILES[2:]}
    download_mnist(tmp_path, [mnist_server(t10k).url], FILES[2:], timeout=5)
    assert_downloaded(tmp_path, t10k)


def test_mirror_slower_than_the_timeout_hands_over_to_the_next(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    slow, good = mirrors(), mirrors()
    slow.delay = 1.0  # no answer within the 0.3 s timeout
    download_mnist(tmp_path, [slow.url, good.url], table, timeout=0.3)
    assert_downloaded(tmp_path, contents)
    assert good.requests_for(TRAIN_IMAGES) == [None]


def test_trickling_mirror_is_slow_but_complete(tmp_path, fake_mnist, mirrors):
    """The timeout bounds each wait for bytes, not the whole transfer."""
    contents, table = fake_mnist
    mirror = mirrors()
    # ~24 pieces of the training images 0.05 s apart: over a second in all,
    # never 0.5 s without a byte.
    mirror.trickle = (4_000, 0.05)
    watcher = ProgressWatcher(tmp_path, contents)
    started = time.monotonic()
    download_mnist(tmp_path, [mirror.url], table, progress=watcher, timeout=0.5)
    assert time.monotonic() - started > 1.0
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None]
    watcher.check_calls(table)
