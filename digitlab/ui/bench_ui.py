"""Benchmark of the window while it trains: event-loop stalls, stroke latency, throughput.

:func:`run` opens the real main window (offscreen when no display is set),
starts a training run on the bundled sample (mini-batches of 10) as Start
does, in its child process, and then, :data:`ROUNDS` times in turn, for the
same stretch of time each,

1. pauses the run and plays simulated strokes (QTest mouse moves on the
   canvas every 16 ms): the baseline, no training;
2. resumes it and plays the same strokes while it trains.

Alternating in one run, the two phases see the same machine, however other
jobs come and go; the stall rows give the median over the rounds of each
phase's longest stall. Last, with the window closed, it runs the same
training loop, same data, in the same kind of child with no window at all:
the standalone throughput.

Meanwhile

- a 1 ms QTimer probe records the gaps between its ticks: the longest gap is
  the longest time the event loop could not react (a freeze the user feels);
- the strokes measure the time from a mouse event to the end of the
  prediction it causes (delivered and handled synchronously: the work per
  stroke sample, without the canvas's frame throttle);
- the prediction handler triggered by ``canvas.changed`` is timed as well;
- the progress records give the throughputs and the time from Start to the
  first record.

Targets, all in the same run: the stall while training at most
:data:`STALL_RATIO_TARGET` times the stall without; the throughput in the
window at least :data:`THROUGHPUT_RATIO_TARGET` of the standalone one; the
first record within :data:`FIRST_RECORD_TARGET_MS`.

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

#: The longest stall while training may be at most this many times the one without.
STALL_RATIO_TARGET = 1.25
#: Training in the window (while drawing) runs at least this share of its standalone speed.
THROUGHPUT_RATIO_TARGET = 0.8
#: From Start to the first progress record (a new process, the data loaded, one batch).
FIRST_RECORD_TARGET_MS = 1000.0
STROKE_TARGET_MS = 16.0
PROBE_INTERVAL_MS = 1
STROKE_INTERVAL_MS = 16
#: Pairs of phases (no training, training) in one run; the stall rows are medians over them.
ROUNDS = 5


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
    """Moves a pressed mouse along a figure on the canvas: strokes of about a second.

    Between strokes the pen is up for ``PEN_UP_TICKS`` ticks (160 ms), as a
    person's is while moving to the next stroke (100-300 ms): the window does
    the work it held back during the stroke then, as it does for a user.

    Every ``SAMPLE_EVERY``-th move is timed synchronously: the mouse event is
    delivered (the canvas draws the segment) and the prediction handler run
    at once, so the time is what one stroke sample costs from event to chart.
    The other moves take the normal path (``canvas.changed``, once a frame).
    """

    STEPS_PER_STROKE = 60
    SAMPLE_EVERY = 4
    PEN_UP_TICKS = 10

    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        self.latencies_ms: list[float] = []
        self._step = 0
        self._pressed = False
        self._pen_up_ticks = 0
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
        if self._pen_up_ticks:
            self._pen_up_ticks -= 1
            return
        point = self._point(self._step)
        timed = self._step % self.SAMPLE_EVERY == 0
        start = time.perf_counter()
        if not self._pressed:
            if self.canvas.stroke_count() >= 4:
                self.window.feed.clear_drawing()
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
            self._pen_up_ticks = self.PEN_UP_TICKS

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
    from digitlab.ui import settings as app_settings
    from digitlab.ui.main_window import MainWindow

    # Private settings: the benchmark must not change the user's window layout.
    settings = QSettings(str(settings_dir / "bench-settings.ini"), QSettings.Format.IniFormat)
    app_settings.write(settings, start_here_shown=True)  # no first-start guide over the measured window
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


def run(seconds: float = 2.0, rounds: int = ROUNDS) -> list[dict]:
    """Measure the window, ``rounds`` times ``seconds`` without training and as long with; returns rows.

    Each row is a dict with name, value, unit, target, ok and note.
    """
    app = _application()
    with tempfile.TemporaryDirectory(prefix="digitlab-bench-") as scratch:
        window = _open_window(Path(scratch))
        try:
            measured = _measure(app, window, seconds, rounds)
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if measured is None:
        return [_row("UI benchmark", None, "", note="training did not start: " + "; ".join(window.errors))]
    standalone = standalone_throughput(seconds)
    return _rows(measured, standalone, seconds)


class _Records:
    """The panel's progress records, with the time each reached the GUI thread."""

    def __init__(self) -> None:
        self.records = []
        self.arrivals: list[float] = []

    def add(self, record) -> None:
        self.records.append(record)
        self.arrivals.append(time.perf_counter())


def throughput(records) -> float:
    """Samples per second between the first and the last of ``records``, by the loop's own clock."""
    if len(records) < 2 or records[-1].elapsed <= records[0].elapsed:
        return math.nan
    return (records[-1].samples_seen - records[0].samples_seen) / (records[-1].elapsed - records[0].elapsed)


def _play(app: QApplication, player: _StrokePlayer, seconds: float) -> list[float]:
    """The strokes for ``seconds``; returns the event-loop gaps meanwhile."""
    probe = _Probe()
    probe.timer.start()
    player.timer.start()
    _spin(app, seconds)
    player.finish()
    probe.timer.stop()
    return probe.gaps_ms


def _measure(app: QApplication, window, seconds: float, rounds: int = ROUNDS) -> dict | None:
    """``rounds`` pairs of phases, ``seconds`` each: the same strokes with training paused, then running.

    Alternating in one run, so both phases see the same machine (other jobs
    come and go); each phase's figure is its longest gap, and the rows give
    the median over the rounds.
    """
    panel = window.training_panel
    _configure_run(panel)
    log = _Records()
    panel.snapshot.connect(log.add)
    handler = _TimedHandler(window)
    player = _StrokePlayer(window)
    _spin(app, 0.2)  # let the window settle before measuring

    started = time.perf_counter()
    if not panel.start():
        return None
    _wait_for(app, lambda: bool(log.records), timeout=30.0)
    first_ms = 1000 * (log.arrivals[0] - started) if log.records else math.nan
    idle_longest, longest, throughputs, rates, latencies, handled = [], [], [], [], [], []
    for _ in range(rounds):
        # No training: the child waits between mini-batches, the window gets no records.
        panel.pause()
        _wait_for_quiet(app, log)
        idle_longest.append(max(_play(app, player, seconds), default=math.nan))
        player.latencies_ms.clear()
        handler.durations_ms.clear()
        # Training: measured once records flow again.
        panel.resume()
        skip = len(log.records)
        _wait_for(app, lambda: len(log.records) > skip, timeout=5.0)
        skip = len(log.records)
        longest.append(max(_play(app, player, seconds), default=math.nan))
        during = log.records[skip:]
        throughputs.append(throughput(during))
        rates.append(len(during) / seconds)
        latencies += player.latencies_ms
        handled += handler.durations_ms
        player.latencies_ms.clear()
        handler.durations_ms.clear()
    panel.stop()
    return {
        "idle_longest": idle_longest, "longest": longest, "first_ms": first_ms,
        "throughput": _median(throughputs), "updates_per_s": _median(rates),
        "latencies": latencies, "handler": handled,
    }


def _median(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _wait_for_quiet(app: QApplication, log: _Records, quiet: float = 0.15, timeout: float = 5.0) -> None:
    """Until no record has arrived for ``quiet`` seconds (a pause has reached the child)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        seen = len(log.records)
        _spin(app, quiet)
        if len(log.records) == seen:
            return


def _wait_for(app: QApplication, condition, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition() and time.perf_counter() < deadline:
        _spin(app, 0.01)


def standalone_throughput(seconds: float) -> float:
    """Samples/s of the benchmark's run in its child process with no window (the same loop and data)."""
    from digitlab.core.network import Network
    from digitlab.core.training import TrainingConfig
    from digitlab.core.training_process import TrainingProcess

    network = Network.create(rng=np.random.default_rng(0))
    process = TrainingProcess(network, "sample", TrainingConfig(learning_rate=3.0, batch_size=10, epochs=1000))
    records = []
    try:
        process.start()
        deadline, until = time.perf_counter() + 30.0, None
        while time.perf_counter() < (until or deadline):
            message = process.receive(0.05)
            if message is not None and message[0] == "record":
                # Weights read back as the window's worker reads them: measured the same way.
                records.append(process.with_weights(message[1]))
                if until is None:
                    until = time.perf_counter() + seconds
    finally:
        process.finish()
        process.close()
    return throughput(records[1:])


def _list(values) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _rows(measured: dict, standalone: float, seconds: float) -> list[dict]:
    longest, idle_longest = _median(measured["longest"]), _median(measured["idle_longest"])
    rounds = len(measured["longest"])
    stall_limit = STALL_RATIO_TARGET * idle_longest
    in_window, first_ms = measured["throughput"], measured["first_ms"]
    latencies = measured["latencies"]
    stroke_p95 = _percentile(latencies, 95)

    def check(ok: bool, *values: float) -> bool | None:
        return bool(ok) if all(math.isfinite(v) for v in values) else None

    return [
        _row("UI longest event-loop stall while training", _num(longest), "ms",
             f"<= {STALL_RATIO_TARGET:g}x no-training stall", check(longest <= stall_limit, longest, idle_longest),
             f"median over {rounds} rounds of the longest gap of a {PROBE_INTERVAL_MS} ms timer in "
             f"{seconds:g} s of strokes (each round: {_list(measured['longest'])}); limit this run "
             f"{_num(stall_limit)} ms"),
        _row("UI longest event-loop stall, same strokes, no training", _num(idle_longest), "ms",
             note=f"baseline, training paused, alternating with the rounds above: {_list(measured['idle_longest'])}"),
        _row("stroke to prediction latency, 95th percentile", _num(stroke_p95), "ms",
             f"< {STROKE_TARGET_MS:g} ms", check(stroke_p95 < STROKE_TARGET_MS, stroke_p95),
             f"{len(latencies)} timed mouse events; event delivery to end of the prediction handler"),
        _row("stroke to prediction latency, median", _num(_percentile(latencies, 50)), "ms"),
        _row("prediction handler on canvas.changed, median", _num(_percentile(measured["handler"], 50)),
             "ms", note=f"{len(measured['handler'])} calls (throttled to one per frame)"),
        _row("training throughput in the window while drawing", _num(in_window, 0), "samples/s",
             f">= {THROUGHPUT_RATIO_TARGET:g}x standalone",
             check(in_window >= THROUGHPUT_RATIO_TARGET * standalone, in_window, standalone),
             "bundled sample, mini-batches of 10, in the training child (lowest priority)"),
        _row("training throughput, standalone", _num(standalone, 0), "samples/s",
             note="the same run in the same kind of child, no window, measured the same way"),
        _row("start of a run to its first progress record", _num(first_ms, 0), "ms",
             f"<= {FIRST_RECORD_TARGET_MS:g} ms", check(first_ms <= FIRST_RECORD_TARGET_MS, first_ms),
             "Start to the record in the GUI thread: a new process, the data loaded, one batch"),
        _row("training updates reaching the UI", _num(measured["updates_per_s"], 1), "per s",
             note="progress records are throttled to about 30 per second"),
    ]
