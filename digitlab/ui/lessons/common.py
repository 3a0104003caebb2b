"""Small pieces every lesson view uses: its text labels, and the newest live snapshot.

Each lesson view opens with two lines of plain explanation and an italic
"Try this" hint, and ends with the measured result in words; they all wrap
to the dock's width. Views that plot a run live take the worker's newest
snapshot through a :class:`LatestValue`, so a slow repaint skips snapshots
instead of queueing them. Views that run a core lesson on the worker thread
derive from :class:`RunningLessonView`, which owns the runner and the
Run / Quick run / Cancel row, the progress bar and the status line.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from digitlab.ui.lessons.runner import LessonRunner


class WrappedLabel(QLabel):
    """A word-wrapped label of ignored width (long text must not widen the dock) that keeps
    the height of all its lines: a plain one asks for one line and a short dock cuts the rest."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()


def text_label(text: str = "", italic: bool = False, selectable: bool = False) -> QLabel:
    """A word-wrapped label that follows the dock's width instead of widening it."""
    label = WrappedLabel(text)
    if italic:
        label.setStyleSheet("font-style: italic;")
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def lesson_texts(explanation: str, hint: str) -> tuple[QLabel, QLabel]:
    """The explanation and the italic "Try this" hint at the top of a lesson view."""
    return text_label(explanation), text_label(hint, italic=True)


class LatestValue:
    """The newest value put by the worker thread, taken (once) by the GUI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = None

    def put(self, value) -> None:
        with self._lock:
            self._value = value

    def take(self):
        """The newest value since the last take, or None."""
        with self._lock:
            value, self._value = self._value, None
        return value


class RunningLessonView(QWidget):
    """A lesson view that runs a core lesson through a :class:`LessonRunner`.

    It owns the runner, the Run / Quick run / Cancel row (:meth:`_make_run_controls`),
    the progress bar and status line, and the finished / failed / cancelled wiring.
    A view with its own Run button and no quick box or status line sets ``self._run_button``
    and calls :meth:`_make_cancel_and_progress` instead.
    A subclass builds its widgets, then calls ``_update_controls()``, and overrides:

    - :meth:`config` — the lesson's config (read the quick box with :meth:`quick`);
    - :meth:`_update_run_button` — the Run button's text (read the config with :meth:`config`);
    - :meth:`_set_controls_enabled` — extend it when the view has more controls to lock during a run;
    - :meth:`_draw` — draw a live snapshot the worker put in ``self._latest``;
    - :meth:`_show` — show a finished result (status, figures, summary);
    - :meth:`_message_label` — where the failed / cancelled texts go (default ``self._summary``),
      and the class texts ``CANCELLED_TEXT`` and ``FAILED_TEXT``;
    - ``STALE_TEXT`` — when set, the status line says it once the session's network changes
      after a run (the result shown was computed for the old one).

    Signals
    -------
    runFinished(object)
        The lesson's result, in the GUI thread.
    """

    runFinished = Signal(object)
    #: Shown in the message label when the user cancels the run.
    CANCELLED_TEXT = "Training cancelled."
    #: Shown in the message label when the run raises; ``{message}`` is the error.
    FAILED_TEXT = "The run failed: {message}"
    #: Status text when the session's network changes after a run; None: the view does not use the network.
    STALE_TEXT: str | None = None

    def __init__(self, session, parent: QWidget | None = None,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._rng = rng if rng is not None else np.random.default_rng()
        self._latest = LatestValue()
        self._result = None
        # Made by _make_run_controls; views built with only _make_cancel_and_progress have neither.
        self._quick_box: QCheckBox | None = None
        self._status: QLabel | None = None
        #: How many times the view was redrawn from a snapshot during the current run (live updates).
        self.live_updates = 0
        self.runner = LessonRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        if self.STALE_TEXT is not None:
            session.networkChanged.connect(self._on_network_changed)

    def _make_run_controls(self, quick: bool, quick_tip: str, cancel_tip: str = "Stop training.") -> QHBoxLayout:
        """The quick box, Run and Cancel buttons (returned as one row), progress bar and status label."""
        self._quick_box = QCheckBox("Quick run")
        self._quick_box.setChecked(quick)
        self._quick_box.setToolTip(quick_tip)
        self._quick_box.toggled.connect(self._update_controls)
        self._run_button = QPushButton()
        self._run_button.clicked.connect(self.start)
        self._make_cancel_and_progress(cancel_tip)
        self._status = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self._run_button, 1)
        row.addWidget(self._quick_box)
        row.addWidget(self._cancel_button)
        return row

    def _lesson_layout(self, run_row: QHBoxLayout) -> QVBoxLayout:
        """The view's layout, begun with the texts (``self._explanation``, ``self._hint``), ``run_row``,
        the progress bar and the status line; the caller adds the rest below."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addLayout(run_row)
        layout.addWidget(self._progress)
        layout.addWidget(self._status)
        return layout

    def _make_cancel_and_progress(self, cancel_tip: str = "Stop training.") -> None:
        """The Cancel button (``self._cancel_button``) and the progress bar (``self._progress``)."""
        self._cancel_button = QPushButton("Cancel")
        self._cancel_button.setToolTip(cancel_tip)
        self._cancel_button.clicked.connect(self.runner.cancel)
        self._progress = QProgressBar()
        self._progress.setRange(0, 1000)
        self._progress.setTextVisible(False)
        self._progress.setMaximumHeight(6)

    def _set_status(self, text: str) -> None:
        if self._status is not None:
            self._status.setText(text)

    # ------------------------------------------------------------- hooks
    def config(self):
        """The lesson's config for the next run."""
        raise NotImplementedError

    def _update_run_button(self) -> None:
        """Set the Run button's text (and tooltip) for the next run."""

    def _set_controls_enabled(self, running: bool) -> None:
        """Lock the controls that would change a run under way; only Cancel works then."""
        self._run_button.setEnabled(not running)
        if self._quick_box is not None:
            self._quick_box.setEnabled(not running)
        self._cancel_button.setEnabled(running)

    def _draw(self, snapshot) -> None:
        """Draw a live snapshot taken from ``self._latest``."""

    def _show(self, result) -> None:
        """Show a finished result: status, drawing, summary."""
        raise NotImplementedError

    def _message_label(self) -> QLabel:
        """The label that says a run failed or was cancelled."""
        return self._summary

    # ------------------------------------------------------------- public API
    def quick(self) -> bool:
        return self._quick_box.isChecked()

    def set_quick(self, quick: bool) -> None:
        self._quick_box.setChecked(bool(quick))

    def result(self):
        """The latest finished result, or None."""
        return self._result

    def is_running(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        """Stop a run under way and wait for its thread."""
        self.runner.shutdown()

    @Slot()
    def start(self) -> None:
        """Start the lesson; subclasses prepare the view, then call :meth:`_start_run`."""
        raise NotImplementedError

    # --------------------------------------------------------------- internals
    def _begin(self) -> None:
        """Forget the last run's snapshots and live count, and reset the progress bar."""
        self._latest.take()
        self.live_updates = 0
        self._progress.setValue(0)
        self._set_status("Training\u2026")

    def _start_run(self, run_fn, config) -> None:
        self.runner.start(run_fn, config, seed=int(self._rng.integers(2**31)))
        self._update_controls()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self._progress.setValue(int(round(fraction * 1000)))
        self._set_status(message)
        snapshot = self._latest.take()
        if snapshot is not None:
            self._draw(snapshot)
            self.live_updates += 1

    @Slot(object)
    def _on_finished(self, result) -> None:
        self._latest.take()
        self._result = result
        self._progress.setValue(1000)
        self._show(result)
        self._update_controls()
        self.runFinished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._message_label().setText(self.FAILED_TEXT.format(message=message))
        self._set_status("")
        self._update_controls()

    @Slot()
    def _on_cancelled(self) -> None:
        self._message_label().setText(self.CANCELLED_TEXT)
        self._set_status("")
        self._update_controls()

    @Slot()
    def _on_network_changed(self) -> None:
        if self._result is not None:
            self._set_status(self.STALE_TEXT)

    def _update_controls(self) -> None:
        self._update_run_button()
        self._set_controls_enabled(self.runner.is_running())


__all__ = ["LatestValue", "RunningLessonView", "WrappedLabel", "lesson_texts", "text_label"]
