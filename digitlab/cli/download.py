"""``digitlab download``: fetch the full MNIST, resumably."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from digitlab.cli.common import PROG, ProgressLine, path_argument


def add_parser(commands) -> None:
    command = commands.add_parser(
        "download",
        help="download the full MNIST (about 11 MB)",
        description="Download the four MNIST files, verify their checksums and keep them for "
        "`digitlab train --data mnist`. An interrupted download resumes where it stopped. "
        "A mirror that sends nothing for 30 s, or less than 1 KB/s over 30 s, is given up for the next.",
    )
    command.add_argument("--dest", metavar="DIR", type=path_argument, help="target folder (default: DigitLab's data folder)")
    # For tests and private mirrors: base URLs tried in order instead of the public ones.
    command.add_argument("--mirror", action="append", metavar="URL", help=argparse.SUPPRESS)


def run(args) -> int:
    from digitlab.core import download
    from digitlab.core.datasets import full_mnist_dir

    dest = Path(args.dest) if args.dest else full_mnist_dir()
    mirrors = tuple(args.mirror) if args.mirror else download.MIRRORS
    progress_line = ProgressLine()
    cancel = threading.Event()
    outcome: dict = {}

    def show(name: str, done: int, total: int) -> None:
        progress_line.update(
            f"{name}  {100 * done / max(total, 1):3.0f}%  {done / 1e6:.1f} of {total / 1e6:.1f} MB",
            force=done >= total,
        )
        if done >= total:
            progress_line.clear()
            print(f"{name}: {total / 1e6:.1f} MB, checksum verified", file=sys.stderr, flush=True)

    def work() -> None:
        try:
            # The module's tables are read now, not when this function was defined.
            outcome["dest"] = download.download_mnist(
                dest, mirrors=mirrors, files=download.FILES, progress=show, cancel=cancel
            )
        except BaseException as err:  # handed to the main thread, which reports it
            outcome["error"] = err
        finally:
            finished.set()

    # The download runs in a worker so Ctrl+C reaches the main thread at once;
    # the cancel shuts the worker's socket down within 0.1 s, whatever the
    # server does, and the partial file stays resumable.
    # Waiting on an Event, not Thread.join: in Python 3.11 a Ctrl+C that
    # interrupts join() marks the thread as stopped while it still runs.
    finished = threading.Event()
    worker = threading.Thread(target=work, name="digitlab-download", daemon=True)
    worker.start()
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.set()
        progress_line.clear()
        print(f"{PROG}: download cancelled; run `digitlab download` again to resume", file=sys.stderr)
        try:
            finished.wait()
        except KeyboardInterrupt:
            pass  # a second Ctrl+C: leave without waiting for the worker
        return 130
    progress_line.clear()
    error = outcome.get("error")
    if isinstance(error, download.DownloadCancelled):
        print(f"{PROG}: download cancelled", file=sys.stderr)
        return 130
    if error is not None:
        raise error
    print(f"MNIST is ready in {outcome['dest']}")
    return 0
