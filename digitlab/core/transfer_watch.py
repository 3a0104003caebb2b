"""HTTP transfers that a watchdog can end from outside: cancel, stall and a speed floor.

A blocked ``recv`` cannot see a ``threading.Event``, and a socket timeout
bounds one read only: a server that sends 2 bytes a second never trips it.
So the download opens its connections through :func:`watched_opener`, whose
sockets are registered with a :class:`TransferWatch`. The watch runs a small
thread that, every tenth of a second, shuts the registered socket down
(``shutdown(SHUT_RDWR)`` on a duplicate of its descriptor, which wakes a
blocked connect, TLS handshake or read at once) when

- the cancel event is set,
- no byte has arrived for ``timeout`` seconds (connecting included), or
- fewer than ``min_rate`` bytes a second arrived over the last ``rate_window``
  seconds.

The reader then sees an error or an early end, and asks :attr:`TransferWatch.cut_reason`
why. Name resolution runs on a helper thread, so a slow resolver cannot hold
a cancel either.
"""

from __future__ import annotations

import collections
import functools
import http.client
import socket
import threading
import time
import urllib.request

__all__ = ["CANCELLED", "TransferCut", "TransferWatch", "watched_opener"]

#: :attr:`TransferWatch.cut_reason` when the cancel event ended the transfer.
CANCELLED = "cancelled"

_TICK = 0.1  # seconds between the watchdog's checks: the bound on cancel latency


class TransferCut(OSError):
    """The watch ended a connection before it was established (cancel or no answer)."""


class TransferWatch:
    """Watches one transfer at a time and cuts its socket on cancel, stall or crawl.

    Parameters
    ----------
    cancel : threading.Event
        Once set, the current and every later connection is cut.
    timeout : float
        Longest wait for the next byte (or for connecting), in seconds.
    min_rate : float
        Slowest acceptable speed in bytes a second, averaged over ``rate_window``.
    rate_window : float
        Seconds over which the speed is averaged; a connection younger than
        this is never called slow.

    Use it as a context manager: the watchdog thread runs inside the ``with``.
    """

    def __init__(self, cancel: threading.Event, timeout: float, min_rate: float, rate_window: float) -> None:
        self._cancel = self.cancel = cancel
        self.timeout = float(timeout)
        self.min_rate = float(min_rate)
        self.rate_window = float(rate_window)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None  # a duplicate: its own descriptor, the same connection
        self._reset_locked()
        #: Opens URLs like ``urlopen``, through sockets this watch can cut.
        self.opener = watched_opener(self)

    # ------------------------------------------------------------ lifetime
    def __enter__(self) -> TransferWatch:
        self._thread = threading.Thread(target=self._run, name="digitlab-download-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._close_socket_locked()

    # -------------------------------------------------- the transfer's side
    def begin(self) -> None:
        """A new request starts: fresh clocks, no cut reason."""
        with self._lock:
            self._close_socket_locked()
            self._reset_locked()

    def end(self) -> None:
        """The request is over: stop watching its socket."""
        with self._lock:
            self._close_socket_locked()
            self._active = False

    def attach(self, sock: socket.socket) -> None:
        """Watch ``sock`` (called before it connects); cut at once if already cancelled."""
        with self._lock:
            self._close_socket_locked()
            self._socket = sock.dup()
            self._active = True
            now = time.monotonic()
            self._last_byte = self._started = now
            self._samples.clear()
            self._samples.append((now, self._bytes))
            if self._cancel.is_set():
                self._cut_locked(CANCELLED)

    def connected(self) -> None:
        """The socket is connected: a later failure is the server's, not the network's."""
        with self._lock:
            self.reached_server = True

    def received(self, count: int) -> None:
        """``count`` body bytes arrived."""
        with self._lock:
            self._bytes += count
            self._last_byte = time.monotonic()

    @property
    def cut_reason(self) -> str | None:
        """Why the watch cut the current request (:data:`CANCELLED` or a sentence), or None."""
        with self._lock:
            if self._reason is None and self._cancel.is_set():
                return CANCELLED
            return self._reason

    def resolve(self, host: str, port: int) -> list:
        """``socket.getaddrinfo`` for a TCP connection, abandoned on cancel or after ``timeout``."""
        outcome: dict = {}
        finished = threading.Event()

        def lookup() -> None:
            try:
                outcome["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
            except OSError as err:
                outcome["error"] = err
            finally:
                finished.set()

        # A daemon thread: a resolver that never answers is left behind, not waited for.
        threading.Thread(target=lookup, name="digitlab-resolve", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not finished.wait(_TICK):
            if self._cancel.is_set():
                raise TransferCut(CANCELLED)
            if time.monotonic() > deadline:
                raise TransferCut(f"no answer from the name server within {self.timeout:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["infos"]

    # ---------------------------------------------------------- the watchdog
    def _run(self) -> None:
        while not self._stop.is_set():
            if self._cancel.wait(_TICK):
                with self._lock:
                    self._cut_locked(CANCELLED)
                self._stop.wait(_TICK)  # later attach() calls cut themselves
                continue
            with self._lock:
                self._check_progress_locked(time.monotonic())

    def _check_progress_locked(self, now: float) -> None:
        if not self._active or self._reason is not None:
            return
        if now - self._last_byte > self.timeout:
            what = "no data" if self.reached_server else "no answer"
            self._cut_locked(f"{what} for {self.timeout:g} s")
            return
        self._samples.append((now, self._bytes))
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.rate_window:
            self._samples.popleft()
        if now - self._started < self.rate_window:
            return
        since, bytes_then = self._samples[0]
        rate = (self._bytes - bytes_then) / max(now - since, 1e-9)
        if rate < self.min_rate:
            self._cut_locked(
                f"too slow: {_speed(rate)} over the last {self.rate_window:g} s, under {_speed(self.min_rate)}"
            )

    def _cut_locked(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected yet on this OS, or already closed: nothing to wake

    def _close_socket_locked(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _reset_locked(self) -> None:
        self._reason: str | None = None
        self._active = False
        self._bytes = 0
        self._started = self._last_byte = time.monotonic()
        self._samples: collections.deque = collections.deque()
        self.reached_server = False


def _speed(rate: float) -> str:
    return f"{rate / 1000:.1f} KB/s" if rate >= 100 else f"{rate:.0f} bytes/s"


# --------------------------------------------------------------- connections


def _watched_socket(watch: TransferWatch, address, timeout, source_address=None) -> socket.socket:
    """``socket.create_connection`` whose resolving and connecting the watch can cut."""
    host, port = address
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in watch.resolve(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            watch.attach(sock)
            if isinstance(timeout, (int, float)):  # not urllib's "global default" marker
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as err:
            sock.close()
            last_error = err
            if watch.cut_reason is not None:
                raise TransferCut(watch.cut_reason) from None
            continue
        watch.connected()
        return sock
    raise last_error if last_error is not None else OSError(f"no address found for {host}")


class _WatchedMixin:
    """Makes an ``http.client`` connection open its socket through the watch."""

    def __init__(self, *args, watch: TransferWatch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # HTTPConnection.connect() calls this attribute (HTTPSConnection's too, before TLS).
        self._create_connection = functools.partial(_watched_socket, watch)


class _WatchedHTTPConnection(_WatchedMixin, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedMixin, http.client.HTTPSConnection):
    pass


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: TransferWatch) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTPConnection, watch=self._watch), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: TransferWatch) -> None:
        super().__init__()
        self._watch = watch

    def https_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTPSConnection, watch=self._watch), req,
                            context=self._context)


def watched_opener(watch: TransferWatch) -> urllib.request.OpenerDirector:
    """An opener like ``urlopen``'s (proxies, redirects, TLS), its sockets watched by ``watch``."""
    return urllib.request.build_opener(_WatchedHTTPHandler(watch), _WatchedHTTPSHandler(watch))
