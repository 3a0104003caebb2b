"""The MNIST downloader when servers stall, crawl or lie, links lurk, or nothing answers (issue 13)."""

import socket
import threading
import time

import pytest

from digitlab.core import download
from digitlab.core.download import DownloadCancelled, DownloadError, download_mnist
from tests.core.test_download import (  # noqa: F401 (fake_mnist and mirrors are fixtures)
    TRAIN_IMAGES, assert_downloaded, closed_port_url, fake_mnist, mirrors,
)


# --- bounded waits: cancel, stalls and crawls (issue 13, item 5) -------------------

# A server in each of these states would hold a plain urlopen read far longer
# than the test: minutes (stalled, 2 bytes/s, no answer) or an hour (1 KB/s).
HOSTILE_SERVERS = {
    "no answer": {"delay": 600.0},
    "stalled before the body": {"stall_after": 0},
    "stalled mid-body": {"stall_after": 5_000},
    "1 KB/s": {"trickle": (1024, 1.0)},
    "2 bytes/s": {"trickle": (2, 1.0)},
}


def cancel_after(cancel, seconds):
    """Set ``cancel`` from another thread after ``seconds``; returns when it was set (a list)."""
    when = []

    def fire():
        when.append(time.monotonic())
        cancel.set()

    timer = threading.Timer(seconds, fire)
    timer.start()
    return when, timer


@pytest.mark.parametrize("behaviour", HOSTILE_SERVERS, ids=list(HOSTILE_SERVERS))
def test_cancel_takes_effect_at_once_whatever_the_server_does(tmp_path, fake_mnist, mirrors, behaviour):
    contents, table = fake_mnist
    mirror = mirrors()
    for name, value in HOSTILE_SERVERS[behaviour].items():
        setattr(mirror, name, value)
    cancel = threading.Event()
    when, timer = cancel_after(cancel, 0.5)
    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, [mirror.url], table, cancel=cancel, timeout=120)
    took = time.monotonic() - when[0]
    timer.join()
    # The watchdog checks ten times a second; the generous bound only
    # separates "at once" from "when the server pleases" (minutes).
    assert took < 5, f"cancel took {took:.1f} s"
    part = tmp_path / f"{TRAIN_IMAGES}.part"
    if part.exists():  # what had arrived is kept for resuming, and it is the file's start
        assert contents[TRAIN_IMAGES].startswith(part.read_bytes())
    assert not (tmp_path / TRAIN_IMAGES).exists()


def test_cancel_while_connecting_to_a_black_hole(tmp_path, fake_mnist):
    from tests.mnist_server import BlackHole

    _, table = fake_mnist
    hole = BlackHole()
    try:
        cancel = threading.Event()
        when, timer = cancel_after(cancel, 0.5)
        with pytest.raises(DownloadCancelled):
            download_mnist(tmp_path, [hole.url], table, cancel=cancel, timeout=120)
        took = time.monotonic() - when[0]
        timer.join()
    finally:
        hole.close()
    assert took < 5, f"cancel took {took:.1f} s"


def test_cancel_while_the_name_server_does_not_answer(tmp_path, fake_mnist, monkeypatch):
    # No slow resolver can be made to order here; getaddrinfo is replaced by one that hangs.
    _, table = fake_mnist
    release = threading.Event()

    def hanging_getaddrinfo(*args, **kwargs):
        release.wait(60)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    cancel = threading.Event()
    when, timer = cancel_after(cancel, 0.5)
    try:
        with pytest.raises(DownloadCancelled):
            download_mnist(tmp_path, ["http://mirror.example/mnist/"], table, cancel=cancel, timeout=120)
        took = time.monotonic() - when[0]
    finally:
        release.set()
        timer.join()
    assert took < 5, f"cancel took {took:.1f} s"


def test_a_crawling_mirror_fails_below_the_speed_floor_and_the_next_one_delivers(tmp_path, fake_mnist, mirrors):
    """A byte every 0.2 s never trips a per-read timeout; the speed floor ends it."""
    contents, table = fake_mnist
    crawling, good = mirrors(), mirrors()
    crawling.trickle = (1, 0.2)
    # timeout 5: the speed floor, not the wait for a byte, must end the crawl (after 1 s).
    download_mnist(tmp_path, [crawling.url, good.url], table, timeout=5, min_rate=1000, rate_window=1.0)
    assert_downloaded(tmp_path, contents)
    assert crawling.requests_for(TRAIN_IMAGES) == [None]  # one try, not five
    # The few bytes the crawl delivered were kept: the next mirror resumed after them.
    assert [r.startswith("bytes=") for r in good.requests_for(TRAIN_IMAGES)] == [True]
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path / "alone", [crawling.url], table, timeout=5, min_rate=1000, rate_window=1.0)
    message = str(info.value)
    assert "too slow" in message and "under 1.0 KB/s" in message and "\n" not in message


def test_a_mirror_that_stops_sending_fails_after_the_timeout(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    stalled, good = mirrors(), mirrors()
    stalled.stall_after = 0  # headers, then silence with the connection open
    download_mnist(tmp_path, [stalled.url, good.url], table, timeout=1.0)
    assert_downloaded(tmp_path, contents)


def test_a_fast_enough_transfer_is_not_cut_by_the_speed_floor(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    mirror = mirrors()
    mirror.trickle = (2_000, 0.05)  # about 40 KB/s for over 2 s: the floor is checked for a second
    download_mnist(tmp_path, [mirror.url], table, timeout=5, min_rate=1000, rate_window=1.0)
    assert_downloaded(tmp_path, contents)
    assert mirror.requests_for(TRAIN_IMAGES) == [None]


# --- links are never followed (item 8) ----------------------------------------------


def test_a_part_file_that_is_a_symlink_is_not_followed(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    dest, outside = tmp_path / "data", tmp_path / "outside.bin"
    dest.mkdir()
    outside.write_bytes(contents[TRAIN_IMAGES][:3000])  # a plausible resume point
    (dest / f"{TRAIN_IMAGES}.part").symlink_to(outside)
    mirror = mirrors()
    download_mnist(dest, [mirror.url], table, timeout=5)
    assert_downloaded(dest, contents)
    assert outside.read_bytes() == contents[TRAIN_IMAGES][:3000]  # neither appended to nor truncated
    assert mirror.requests_for(TRAIN_IMAGES) == [None]  # started afresh, not resumed from the link


def test_a_final_file_that_is_a_symlink_is_replaced_not_followed(tmp_path, fake_mnist, mirrors):
    contents, table = fake_mnist
    dest, outside = tmp_path / "data", tmp_path / "outside.gz"
    dest.mkdir()
    outside.write_bytes(contents[TRAIN_IMAGES])  # even a correct target is not read through the link
    (dest / TRAIN_IMAGES).symlink_to(outside)
    mirror = mirrors()
    download_mnist(dest, [mirror.url], table, timeout=5)
    assert not (dest / TRAIN_IMAGES).is_symlink()
    assert_downloaded(dest, contents)
    assert outside.read_bytes() == contents[TRAIN_IMAGES]
    assert mirror.requests_for(TRAIN_IMAGES) == [None]


def test_a_link_appearing_before_the_part_is_opened_is_refused(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"keep")
    part = tmp_path / "x.part"
    part.symlink_to(outside)
    with pytest.raises(OSError, match="symbolic link"):
        download._open_part(part, append=True)
    assert outside.read_bytes() == b"keep"


# --- messages (item 16) ---------------------------------------------------------------


def test_offline_is_said_in_plain_words(tmp_path, fake_mnist):
    _, table = fake_mnist
    # Connection refused and a name that does not resolve: what no network looks like.
    with pytest.raises(download.NoConnectionError) as info:
        download_mnist(tmp_path, [closed_port_url(), "http://digitlab-test.invalid/mnist/"], table, timeout=5)
    message = str(info.value)
    assert message == download.NO_CONNECTION_MESSAGE
    assert message.startswith("no internet connection: ") and "bundled sample" in message
    assert "Errno" not in message and "\n" not in message
    assert isinstance(info.value, DownloadError)


def test_a_server_that_answers_is_not_called_offline(tmp_path, fake_mnist, mirrors):
    _, table = fake_mnist
    broken = mirrors()
    broken.status = 404
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, [closed_port_url(), broken.url], table, timeout=5)
    assert not isinstance(info.value, download.NoConnectionError)
    assert "HTTP 404" in str(info.value) and "Connection refused" in str(info.value)


def test_the_same_reason_from_every_mirror_is_said_once(tmp_path, fake_mnist, mirrors):
    _, table = fake_mnist
    first, second = mirrors(), mirrors()
    first.status = second.status = 404
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, [first.url, second.url], table, timeout=5)
    assert str(info.value) == (f"could not download {TRAIN_IMAGES} from any of the 2 mirrors: "
                               "HTTP 404 Not Found")


def test_an_unwritable_destination_is_one_clear_line(tmp_path, fake_mnist, mirrors):
    _, table = fake_mnist
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(DownloadError) as info:
        download_mnist(blocker / "mnist", [mirrors().url], table, timeout=5)
    message = str(info.value)
    assert message.startswith(f"cannot save the download in {blocker / 'mnist'}: ")
    assert "Not a directory" in message and "Errno" not in message


# --- HTTPS, as the real mirrors speak it ----------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    import shutil

    from tests.mnist_server import self_signed_certificate

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_mirror(certificate, fake_mnist, mnist_server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # the client trusts our certificate
    return mnist_server(fake_mnist.contents, tls=certificate)


def test_downloads_over_https(tmp_path, fake_mnist, tls_mirror):
    assert tls_mirror.url.startswith("https://")
    download_mnist(tmp_path, [tls_mirror.url], fake_mnist.table, timeout=5)
    assert_downloaded(tmp_path, fake_mnist.contents)


def test_cancel_during_a_crawling_https_read_is_prompt_and_clean(tmp_path, fake_mnist, tls_mirror):
    tls_mirror.trickle = (2, 1.0)
    cancel = threading.Event()
    when, timer = cancel_after(cancel, 1.0)
    with pytest.raises(DownloadCancelled):  # not the TLS socket's ValueError or SSLError
        download_mnist(tmp_path, [tls_mirror.url], fake_mnist.table, cancel=cancel, timeout=120)
    took = time.monotonic() - when[0]
    timer.join()
    assert took < 5, f"cancel took {took:.1f} s"
    assert fake_mnist.contents[TRAIN_IMAGES].startswith((tmp_path / f"{TRAIN_IMAGES}.part").read_bytes())


def test_an_untrusted_certificate_is_one_plain_line(tmp_path, fake_mnist, certificate, mnist_server):
    mirror = mnist_server(fake_mnist.contents, tls=certificate)  # SSL_CERT_FILE not set: not trusted
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, [mirror.url], fake_mnist.table, timeout=5)
    message = str(info.value)
    assert "certificate not trusted" in message and "\n" not in message
    assert not isinstance(info.value, download.NoConnectionError)
