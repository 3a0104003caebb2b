"""Benchmark of the window while it trains: event-loop stalls, stroke latency, throughput.

:func:`run` opens the real main window (offscreen when no display is set),
starts a training run on the bundled sample (mini-batches of 10) and, while
it runs,

- a 1 ms QTimer probe records the gaps between its ticks: the longest gap is
  the longest time the event loop could not react (a freeze the user feels);
- simulated strokes (QTest mouse moves on the canvas every 16 ms) measure the
  time from a mouse event to the end of the prediction it causes: the event
  is delivered and the prediction handler run synchronously, so the number
  is the work per stroke sample, without the canvas's frame throttle;
- the prediction handler triggered by ``canvas.changed`` is timed as well;
- the training progress records give the throughput while the UI is busy.

``digitlab bench --ui`` prints the rows. Speed goals live here, not in tests.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path



from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QPoint, QSettings, Qt, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import numpy as np  # noqa: E402

STALL_TARGET_MS = 50.0
STROKE_TARGET_MS = 16.0
PROBE_INTERVAL_MS = 1
STROKE_INTERVAL_MS = 16


def _row(name: str, value, unit: str, target: str | None = None, ok: bool | None = None, note: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, "note": note}


def _num(value: float, digits: int = 2) -> float | None:
    """``value`` rounded, or None when there is nothing to report (NaN)."""
    if not math.isfinite(value):
        return None
    return int(round(value)) if digits == 0 else round(float(value), digits)


def _percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else math.nan


class _Probe:
    """Gaps between the ticks of a 1 ms timer: how long the event loop was busy elsewhere."""

    def __init__(self) -> None:
        self.gaps_ms: list[float] = []
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps_ms.append(1000 * (now - self._last))
        self._last = now


class _StrokePlayer:
    """Moves a pressed mouse along a figure on the canvas; a new stroke every second.

    Every ``SAMPLE_EVERY``-th move is timed synchronously: the mouse event is
    delivered (the canvas draws the segment) and the prediction handler run
    at once, so the time is what one stroke sample costs from event to chart.
    The other moves take the normal path (``canvas.changed``, once a frame).
    """

    STEPS_PER_STROKE = 60
    SAMPLE_EVERY = 4

    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        self.latencies_ms: list[float] = []
        self._step = 0
        self._pressed = False
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(STROKE_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

    def _point(self, step: int) -> QPoint:
        # A figure-eight filling the middle of the canvas: every move adds ink.
        t = 2 * math.pi * step / self.STEPS_PER_STROKE
        w, h = self.canvas.width(), self.canvas.height()
        return QPoint(int(w * (0.5 + 0.3 * math.sin(t))), int(h * (0.5 + 0.35 * math.sin(2 * t))))

    def _tick(self) -> None:
        point = self._point(self._step)
        timed = self._step % self.SAMPLE_EVERY == 0
        start = time.perf_counter()
        if not self._pressed:
            if self.canvas.stroke_count() >= 4:
                self.window.clear_drawing()
            QTest.mousePress(self.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
            self._pressed = True
        else:
            QTest.mouseMove(self.canvas, point)
        if timed:
            self.window.feed.update_prediction()
            self.latencies_ms.append(1000 * (time.perf_counter() - start))
        self._step += 1
        if self._step % self.STEPS_PER_STROKE == 0:
            QTest.mouseRelease(self.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
            self._pressed = False

    def finish(self) -> None:
        self.timer.stop()
        if self._pressed:
            QTest.mouseRelease(self.canvas, Qt.MouseButton.LeftButton)
            self._pressed = False


class _TimedHandler:
    """Times the window's prediction handler when ``canvas.changed`` calls it."""

    def __init__(self, window) -> None:
        self.window = window
        self.durations_ms: list[float] = []
        window.canvas.changed.disconnect(window.feed.update_prediction)
        window.canvas.changed.connect(self.handle)

    def handle(self) -> None:
        start = time.perf_counter()
        self.window.feed.update_prediction()
        self.durations_ms.append(1000 * (time.perf_counter() - start))


def _skip_offscreen_notices(mode, context, message: str) -> None:
    if "does not support propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        # The offscreen platform's notice for every main window is noise in
        # the benchmark's table (only where the benchmark made the app: a
        # test session keeps its own message handler).
        qInstallMessageHandler(_skip_offscreen_notices)
        from digitlab.ui.app import create_application

        app = create_application([])
    return app


def _open_window(settings_dir: Path):
    from digitlab.ui.main_window import MainWindow

    # Private settings: the benchmark must not change the user's window layout.
    settings = QSettings(str(settings_dir / "bench-settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.errors = []
    window.show_error = lambda title, text: window.errors.append(f"{title}: {text}")
    window.ask_save_changes = lambda: "discard"
    window.resize(1366, 740)
    window.show()
    return window


def _configure_run(panel) -> None:
    panel.refresh_data_choices(select="sample")
    panel.batch_spin.setValue(10)
    panel.train_size_spin.setValue(0)
    panel.epochs_spin.setValue(1000)  # runs until stopped
    panel.learning_rate_spin.setValue(3.0)
    panel.continue_check.setChecked(False)


def _spin(app: QApplication, seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(1000 * seconds), loop.quit)
    loop.exec()


def run(seconds: float = 3.0) -> list[dict]:
    """Measure the window while it trains for ``seconds``; returns benchmark rows.

    Each row is a dict with name, value, unit, target, ok and note.
    """
    app = _application()
    with tempfile.TemporaryDirectory(prefix="digitlab-bench-") as scratch:
        window = _open_window(Path(scratch))
        try:
            return _measure(app, window, seconds)
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _measure(app: QApplication, window, seconds: float) -> list[dict]:
    panel = window.training_panel
    _configure_run(panel)
    records = []
    panel.snapshot.connect(records.append)
    handler = _TimedHandler(window)
    probe = _Probe()
    player = _StrokePlayer(window)
    _spin(app, 0.2)  # let the window settle before measuring

    # Baseline: the same strokes with no training, so the stall figure below
    # can be read as "painting itself" versus "waiting for the training thread".
    idle_probe = _Probe()
    idle_probe.timer.start()
    player.timer.start()
    _spin(app, seconds / 2)
    player.finish()
    idle_probe.timer.stop()
    idle_longest = max(idle_probe.gaps_ms) if idle_probe.gaps_ms else math.nan
    player.latencies_ms.clear()
    handler.durations_ms.clear()

    if not panel.start():
        return [_row("UI benchmark", None, "", note="training did not start: " + "; ".join(window.errors))]
    probe.timer.start()
    player.timer.start()
    _spin(app, seconds)
    player.finish()
    probe.timer.stop()
    panel.stop()
    last = records[-1] if records else None
    snapshots_per_s = len(records) / seconds

    gaps = probe.gaps_ms
    longest = max(gaps) if gaps else math.nan
    stroke_p95 = _percentile(player.latencies_ms, 95)
    throughput = last.samples_seen / last.elapsed if last is not None and last.elapsed > 0 else math.nan
    return [
        _row("UI longest event-loop stall while training", _num(longest), "ms",
             f"< {STALL_TARGET_MS:g} ms", bool(longest < STALL_TARGET_MS) if gaps else None,
             f"{len(gaps)} gaps of a {PROBE_INTERVAL_MS} ms timer over {seconds:g} s"),
        _row("UI longest event-loop stall, same strokes, no training", _num(idle_longest), "ms",
             note="baseline: the window's own painting"),
        _row("UI event-loop gap, median", _num(_percentile(gaps, 50), 3), "ms"),
        _row("UI event-loop gap, 99th percentile", _num(_percentile(gaps, 99)), "ms"),
        _row("stroke to prediction latency, 95th percentile", _num(stroke_p95), "ms",
             f"< {STROKE_TARGET_MS:g} ms", bool(stroke_p95 < STROKE_TARGET_MS) if player.latencies_ms else None,
             f"{len(player.latencies_ms)} timed mouse events; event delivery to end of the prediction handler"),
        _row("stroke to prediction latency, median", _num(_percentile(player.latencies_ms, 50)), "ms"),
        _row("prediction handler on canvas.changed, median", _num(_percentile(handler.durations_ms, 50)),
             "ms", note=f"{len(handler.durations_ms)} calls (throttled to one per frame)"),
        _row("training throughput while the UI is busy", _num(throughput, 0), "samples/s",
             note="bundled sample, mini-batches of 10"),
        _row("training updates reaching the UI", _num(snapshots_per_s, 1), "per s",
             note="progress records are throttled to about 30 per second"),
    ]
