"""A short training run in the real window, for the packaged app's smoke test.

``DIGITLAB_SMOKE_TRAIN=1 DIGITLAB_QUIT_AFTER_MS=20000 digitlab`` opens the
window, starts a one-epoch run on 2,000 digits of the bundled sample (as a
click on Start does: in the training child process) and prints one line per
progress record to stderr::

    digitlab smoke-train: started
    digitlab smoke-train: progress batch 1,230 samples (child pid 4242)
    digitlab smoke-train: ended finished 2,000 samples

or ``digitlab smoke-train: failed ...``. ``DIGITLAB_QUIT_AFTER_MS`` then
quits the app as usual. It proves that the child starts in the installed,
frozen app (``multiprocessing.freeze_support``, spawn) and that its records
and weights reach the window.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QObject, QTimer, Slot

SMOKE_TRAIN_ENV = "DIGITLAB_SMOKE_TRAIN"
PREFIX = "digitlab smoke-train:"
#: Digits of the bundled sample the run trains on (one epoch: a few seconds at most).
SMOKE_EXAMPLES = 2000


def _say(text: str) -> None:
    # Windowed builds have no stderr at all.
    if sys.stderr is not None:
        print(f"{PREFIX} {text}", file=sys.stderr, flush=True)


class SmokeTraining(QObject):
    """Starts the run once the event loop runs and reports what the panel hears."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._panel = window.training_panel
        panel = self._panel
        # The run's model is a throwaway: the timed quit must not wait for "save it first?".
        window.ask_save_changes = lambda: "discard"
        panel.refresh_data_choices(select="sample")
        panel.continue_check.setChecked(False)
        panel.train_size_spin.setValue(SMOKE_EXAMPLES)
        panel.epochs_spin.setValue(1)
        panel.snapshot.connect(self._on_record)
        panel.runEnded.connect(self._on_ended)
        panel.runFailed.connect(self._on_failed)
        panel.errorOccurred.connect(self._on_error)
        QTimer.singleShot(0, self, self._start)

    @Slot()
    def _start(self) -> None:
        if self._panel.start():
            _say("started")
        else:
            _say("failed: the run did not start")

    @Slot(object)
    def _on_record(self, record) -> None:
        _say(f"progress {record.kind} {record.samples_seen:,} samples (child pid {self._panel.controller.child_pid()})")

    @Slot(object)
    def _on_ended(self, record) -> None:
        _say(f"ended {record.kind} {record.samples_seen:,} samples")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        _say(f"failed: {message}")

    @Slot(str, str)
    def _on_error(self, title: str, text: str) -> None:
        _say(f"failed: {title}: {text}")


def start_if_asked(window) -> SmokeTraining | None:
    """With ``DIGITLAB_SMOKE_TRAIN=1`` set, start the smoke run in ``window``."""
    if os.environ.get(SMOKE_TRAIN_ENV, "").strip() != "1":
        return None
    return SmokeTraining(window)
