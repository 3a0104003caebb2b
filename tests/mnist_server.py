"""One local MNIST mirror for every test: a real HTTP server that misbehaves on request.

``MnistServer(files)`` serves ``files`` (name -> bytes) on 127.0.0.1 from a
thread, at any path ending in the file's name (``server.url`` ends in
``/mnist/``). Faults, set as attributes before or between downloads:

- ``status``: answer every request with this HTTP error (500, 404, ...);
- ``corrupt``: the same size, the first 100 bytes wrong;
- ``ranges``: "honour" (206 from the offset asked for), "ignore" (always 200
  with the whole file) or "refuse" (416 to any Range request);
- ``cuts_left`` responses are cut after ``cut_after`` body bytes;
- ``delay``: seconds before each answer; ``trickle``: (bytes, seconds), the
  body sent in pieces with a pause after each (``(1024, 1.0)`` is an honest
  1 KB/s link, ``(2, 1.0)`` a crawl of 2 bytes a second);
- ``stall_after``: send the headers and this many body bytes, then nothing
  more, holding the connection open until the server closes;
- ``pause_once(name, after, then, seconds)``: once, after ``after`` bytes of
  ``name``, call ``then()`` (e.g. ``_thread.interrupt_main``, a Ctrl+C) and
  wait before sending the rest.

``MnistServer(files, tls=(certfile, keyfile))`` speaks HTTPS instead
(:func:`self_signed_certificate` makes a pair; point ``SSL_CERT_FILE`` at the
certificate so the client trusts it).

Every request is logged in ``requests`` as (file name, Range header or None).
Waits (delay, trickle pauses, stalls) end at once when the server closes.
:class:`BlackHole` is a port that never completes a TCP connection. The fixtures ``mnist_server`` (a factory; servers closed after the test) and
``fake_mnist_files`` are in tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Mapping, NamedTuple

import numpy as np

from digitlab.core.datasets import write_idx
from digitlab.core.download import RemoteFile

RANGE_MODES = ("honour", "ignore", "refuse")


class MnistFiles(NamedTuple):
    """Served file contents and the RemoteFile table describing them."""

    contents: dict[str, bytes]
    table: tuple[RemoteFile, ...]


def mnist_files(arrays: Mapping[str, np.ndarray], folder: Path) -> MnistFiles:
    """Write each array as a gzipped IDX file in ``folder``; their bytes and table."""
    folder.mkdir(parents=True, exist_ok=True)
    contents, table = {}, []
    for name, array in arrays.items():
        write_idx(folder / name, array)
        data = (folder / name).read_bytes()
        contents[name] = data
        table.append(RemoteFile(name, len(data), hashlib.md5(data).hexdigest(),
                                hashlib.sha256(data).hexdigest(), len(array)))
    return MnistFiles(contents, tuple(table))


def random_mnist_files(rng: np.random.Generator, folder: Path, train: int = 120, test: int = 20) -> MnistFiles:
    """Four valid MNIST files of random digits (random pixels do not compress).

    120 training images make a file of two 64 KiB download chunks, 300 of four.
    """
    arrays = {}
    for stem, count in (("train", train), ("t10k", test)):
        arrays[f"{stem}-images-idx3-ubyte.gz"] = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        arrays[f"{stem}-labels-idx1-ubyte.gz"] = rng.integers(0, 10, count, dtype=np.uint8)
    return mnist_files(arrays, folder)


class MnistServer:
    """A real HTTP server on 127.0.0.1 serving ``files`` (copied) under /mnist/; see the module doc."""

    def __init__(self, files: Mapping[str, bytes], *, delay: float = 0.0,
                 tls: tuple[str, str] | None = None) -> None:
        self.files = dict(files)
        self.status: int | None = None
        self.corrupt = False
        self.ranges = "honour"
        self.cuts_left = 0
        self.cut_after = 0
        self.delay = delay
        self.trickle: tuple[int, float] | None = None
        self.stall_after: int | None = None
        self.closing = threading.Event()
        self.requests: list[tuple[str, str | None]] = []
        self._pause: tuple[str, int, Callable[[], None], float] | None = None
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.mnist = self
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def requests_for(self, name: str) -> list[str | None]:
        """The Range headers (None for none) of the requests for one file, in order."""
        return [range_header for requested, range_header in self.requests if requested == name]

    def pause_once(self, name: str, after: int, then: Callable[[], None], seconds: float = 0.5) -> None:
        """Next time ``name`` is sent: ``after`` bytes, then ``then()``, a pause, the rest."""
        self._pause = (name, after, then, seconds)

    def _take_pause(self, name: str):
        with self._lock:
            if self._pause is not None and self._pause[0] == name:
                pause, self._pause = self._pause, None
                return pause
        return None

    def _take_cut(self) -> bool:
        with self._lock:
            if self.cuts_left > 0:
                self.cuts_left -= 1
                return True
        return False

    def close(self) -> None:
        self.closing.set()  # wakes stalled and trickling handlers
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        server: MnistServer = self.server.mnist
        if server.ranges not in RANGE_MODES:
            raise ValueError(f"ranges must be one of {RANGE_MODES}, not {server.ranges!r}")
        name = self.path.rsplit("/", 1)[-1]
        range_header = self.headers.get("Range")
        server.requests.append((name, range_header))
        if server.delay and server.closing.wait(server.delay):
            return
        if server.status is not None:
            self.send_error(server.status)
            return
        body = server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        if server.corrupt:
            body = bytes(b ^ 0x5A for b in body[:100]) + body[100:]
        start, status = 0, 200
        if range_header and server.ranges != "ignore":
            match = re.fullmatch(r"bytes=(\d+)-", range_header)
            if server.ranges == "refuse" or match is None or int(match[1]) >= len(body):
                self.send_error(416)
                return
            start, status = int(match[1]), 206
        payload = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if server._take_cut():
            payload = payload[: server.cut_after]
            self.close_connection = True
        pause = server._take_pause(name)
        if pause is not None:
            _, after, then, seconds = pause
            self.wfile.write(payload[:after])
            self.wfile.flush()
            then()
            time.sleep(seconds)
            payload = payload[after:]
        stalled = server.stall_after is not None
        if stalled:
            payload = payload[: server.stall_after]
        self._send(payload, server.trickle, server.closing)
        if stalled:
            server.closing.wait()

    def _send(self, payload: bytes, trickle, closing: threading.Event) -> None:
        size, seconds = trickle if trickle is not None else (len(payload) or 1, 0.0)
        try:
            for offset in range(0, len(payload), size):
                self.wfile.write(payload[offset:offset + size])
                self.wfile.flush()
                if seconds and closing.wait(seconds):
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (a cancelled download): what the test asked for

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class BlackHole:
    """A port on 127.0.0.1 where connecting hangs, as behind a firewall that drops packets.

    It listens with a backlog of 0 and never accepts; one connection fills the
    queue, after which the kernel ignores every further SYN.
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self._filler = socket.create_connection(self._listener.getsockname(), timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/mnist/"

    def close(self) -> None:
        self._filler.close()
        self._listener.close()


def self_signed_certificate(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command: (certfile, keyfile)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)
