"""Learning curves: the batch loss (raw and smoothed), per-epoch accuracies, and the length
of each batch's gradient and step (log scale: steps shrink as the slope does) of a training history.

The widget only draws. The numbers live in a Qt-free
:class:`digitlab.core.history.History` (which also smooths them and writes the
CSV); whoever adds to the history asks the widget to show it again, either
now (:meth:`LearningCurves.refresh`, e.g. at the end of an epoch) or soon
(:meth:`LearningCurves.request_refresh`, throttled to one redraw every
``CURVE_REFRESH_MS``, however often it is asked).

Redraws are cheap: the plot items are made once and updated in place
with ``setData``, the ranges are set by hand, and long loss curves are clipped
to the view and decimated.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QEvent, QIODevice, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitlab.core.fileio import write_bytes_atomically
from digitlab.core.history import History
from digitlab.ui import style
from digitlab.ui.pen_wait import ThrottledUpdate

#: The curves redraw at most this often while training (plotting thousands of
#: points costs milliseconds of the GUI thread, and the eye needs no more).
CURVE_REFRESH_MS = 200
#: While the pen is down a due redraw waits for it to lift (digitlab.ui.pen_wait):
#: a redraw and its paint cost about 10 ms, which a stroke would feel.

#: Up to this many epochs, the epoch axis labels each one (a tick at "1.5"
#: on an epoch axis means nothing); beyond it pyqtgraph's ticks are clearer.
MAX_LABELLED_EPOCHS = 12

#: Plot titles; each names its curves after it in their colours (see :func:`curve_key`).
LOSS_TITLE = "Loss"  # per mini-batch: the axis says so
ACCURACY_TITLE = "Accuracy (%)"  # per epoch: the axis says so
NORM_TITLE = "Length of gradient and step"


#: The batch axes end at the next of these times a power of ten: they change
#: now and then, not on every redraw (regenerating the ticks of a changed axis
#: is most of a redraw's cost, and ticks that creep on every update are hard to read).
AXIS_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
#: The log axis of the lengths moves in quarter decades, for the same reason.
DECADE_STEP = 0.25

#: Least room between two value labels, in pixels (a label is about 13 px high).
MIN_LABEL_GAP = 18


class RoomyAxis(pg.AxisItem):
    """A value axis whose labels never pile up, however short the plot.

    pyqtgraph keeps at least two intervals whatever the length: on a plot
    60 px high (the dock at 1366x768) that is six labels on top of each other.
    """

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 (pyqtgraph API)
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or size <= 0 or span == 0:
            return levels
        needed = MIN_LABEL_GAP * span / size  # the least spacing, in data units
        power = 10.0 ** math.floor(math.log10(needed))
        nice = next(m * power for m in (1, 2, 5, 10) if m * power >= needed)
        major = max(levels[0][0], nice)
        return [(major, 0.0), (major / 2, 0.0)]


def axis_end(batches: int) -> float:
    """Where a batch axis ends: at least ``batches`` (and 10), rounded up to one of :data:`AXIS_STEPS`."""
    batches = max(int(batches), 10)
    power = 10.0 ** math.floor(math.log10(batches))
    return next(step * power for step in AXIS_STEPS if step * power >= batches)


def curve_key(color: QColor | str, name: str) -> str:
    """A legend entry as rich text: a square in the curve's colour, then its name.

    The legends live in the plot titles, outside the data: a legend box inside
    a plot always covers some curve sooner or later (the gradient lengths grow
    into any corner as training goes on).
    """
    return f"<span style='color:{QColor(color).name()}'>\u25a0</span>&nbsp;{name}"


class LearningCurves(QWidget):
    """Draws one :class:`~digitlab.core.history.History`: loss per mini-batch, accuracy per epoch.

    Parameters
    ----------
    history : History, optional
        The history to draw; a new empty one when not given. Its owner adds
        to it and then calls :meth:`refresh` or :meth:`request_refresh`.
    """

    def __init__(self, history: History | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self.source = history if history is not None else History()
        self.redraws = 0  # how many times the plots were updated (the throttle's tests count them)
        #: The throttle of :meth:`request_refresh`; the window sets its ``defer_while``
        #: (a stroke is being drawn) and calls its ``pen_lifted``.
        self.throttle = ThrottledUpdate(CURVE_REFRESH_MS, self._redraw, self)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setToolTip("Learning curves of the current model; they grow while it trains.")
        self.plots.setMinimumHeight(150)
        self._loss_plot = self.plots.addPlot(row=0, col=0, title=LOSS_TITLE,
                                             axisItems={"left": RoomyAxis("left")})
        self._accuracy_plot = self.plots.addPlot(row=0, col=1, title=ACCURACY_TITLE,
                                                 axisItems={"left": RoomyAxis("left")})
        self._norm_plot = self.plots.addPlot(row=1, col=0, colspan=2, title=NORM_TITLE)
        self._norm_plot.setLogMode(y=True)  # the lengths span decades as the cost flattens
        self._norm_plot.setLabel("bottom", "mini-batch")
        # A thin strip under the two main plots: it is read for its trend, not its values.
        self.plots.ci.layout.setRowStretchFactor(0, 3)
        self.plots.ci.layout.setRowStretchFactor(1, 2)
        for plot in (self._loss_plot, self._accuracy_plot, self._norm_plot):
            plot.setMenuEnabled(False)
            # The ranges follow the data, set in _redraw before the new data:
            # pyqtgraph's lazy auto-range would change them during the paint and
            # repaint everything a second time.
            plot.setMouseEnabled(x=False, y=False)
            plot.enableAutoRange(False)
            plot.hideButtons()
            plot.getAxis("left").setStyle(maxTextLevel=0)  # labels on major ticks only (see RoomyAxis)
        # Grid lines are costly to paint across a busy curve; the accuracy plot
        # (a few points, values read off against 0-100 %) is where they help.
        self._accuracy_plot.showGrid(x=False, y=True, alpha=0.2)
        self._loss_plot.setLabel("bottom", "mini-batch")
        self._accuracy_plot.setLabel("bottom", "epoch")
        self._accuracy_plot.setYRange(0, 100, padding=0.02)

        # Antialiased lines wider than 1 px cost Qt's raster engine ~20 ms per
        # paint for a few thousand points; the loss curves are drawn without it.
        self._raw_item = self._loss_plot.plot(name="raw", antialias=False)
        self._smoothed_item = self._loss_plot.plot(name="smoothed", antialias=False)
        self._train_item = self._accuracy_plot.plot(name="training", symbol="o", symbolSize=5)
        self._val_item = self._accuracy_plot.plot(name="validation", symbol="s", symbolSize=5)
        self._grad_item = self._norm_plot.plot(name="|gradient|", antialias=False)
        self._step_item = self._norm_plot.plot(name="|step|", antialias=False)
        for item in (self._raw_item, self._smoothed_item, self._grad_item, self._step_item):
            # Long runs have 100,000s of batches: draw only what is visible, decimated.
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self._apply_palette()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

    # ----------------------------------------------------------------- theming
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        style.style_plot(self.plots, palette)
        fg = style.text_color(palette)
        raw_color = style.with_alpha(fg, 70)
        # The raw loss is drawn faint over the background: its key square gets the same mix, opaque.
        keys = {
            self._loss_plot: (LOSS_TITLE, (style.muted_color(palette, 0.3), "raw"), (style.ACCENT, "smoothed")),
            self._accuracy_plot: (ACCURACY_TITLE, (style.REAL_COLOR, "training"), (style.ACCENT, "validation")),
            self._norm_plot: (NORM_TITLE, (style.REAL_COLOR, "|gradient|"), (style.ACCENT, "|step|")),
        }
        for plot, (title, *entries) in keys.items():
            legend = "&nbsp;&nbsp;".join(curve_key(color, name) for color, name in entries)
            # On the title's line: a second line would take height the plots lack at 1366x768.
            plot.setTitle(f"{title}&nbsp;&nbsp; <span style='font-size:8pt'>{legend}</span>", color=fg, size="9pt")
        self._raw_item.setPen(pg.mkPen(raw_color, width=1))
        self._smoothed_item.setPen(pg.mkPen(style.ACCENT, width=2.5))
        self._train_item.setPen(pg.mkPen(style.REAL_COLOR, width=2))
        self._train_item.setSymbolBrush(style.REAL_COLOR)
        self._train_item.setSymbolPen(style.REAL_COLOR)
        self._val_item.setPen(pg.mkPen(style.ACCENT, width=2))
        self._val_item.setSymbolBrush(style.ACCENT)
        self._val_item.setSymbolPen(style.ACCENT)
        self._grad_item.setPen(pg.mkPen(style.REAL_COLOR, width=1))
        self._step_item.setPen(pg.mkPen(style.ACCENT, width=1))

    # ----------------------------------------------------------------- drawing
    def set_history(self, history: History) -> None:
        """Draw ``history`` from now on (shown at once)."""
        self.source = history
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Show the history as it is now."""
        self.throttle.now()

    def request_refresh(self) -> None:
        """Show new data soon: at most once every CURVE_REFRESH_MS, and always the latest."""
        self.throttle.request()

    def refresh_pending(self) -> bool:
        """True while a throttled redraw is waiting for its turn."""
        return self.throttle.pending()

    def _redraw(self) -> None:
        self.redraws += 1
        history = self.source
        # Decimated points (at most a few thousand whatever the run's length):
        # a redraw of a million batches then costs what one of a thousand does.
        batches, losses = history.plot_points("loss")
        finite = losses[np.isfinite(losses)]  # a diverged run ends with inf or nan
        loss_top = 1.05 * float(finite.max()) if finite.size else 0.0
        self._loss_plot.setRange(xRange=(0, axis_end(history.batches)), yRange=(0, loss_top or 1.0), padding=0.02)
        self._raw_item.setData(batches, losses)
        self._smoothed_item.setData(*history.plot_points("smoothed_loss"))

        table = history.epoch_table()
        epochs = np.asarray(table["epoch"], dtype=np.float64)
        self._accuracy_plot.setXRange(0.5, max(len(epochs), 1) + 0.5, padding=0)
        self._train_item.setData(epochs, 100 * np.asarray(table["train_accuracy"], dtype=np.float64))
        self._val_item.setData(epochs, 100 * np.asarray(table["val_accuracy"], dtype=np.float64))
        ticks = None if len(epochs) > MAX_LABELLED_EPOCHS else [[(e, str(int(e))) for e in epochs], []]
        self._accuracy_plot.getAxis("bottom").setTicks(ticks)
        self._redraw_norms(history)

    def _redraw_norms(self, history: History) -> None:
        # A log axis shows only positive lengths; unknown ones (NaN: an old history) are left out.
        logs = []
        for item, column in ((self._grad_item, "grad_norm"), (self._step_item, "step_norm")):
            batches, values = history.plot_points(column)
            known = np.isfinite(values) & (values > 0)
            item.setData(batches[known], values[known])
            logs.append(np.log10(values[known]))
        logs = np.concatenate(logs)
        low, high = (float(logs.min()), float(logs.max())) if logs.size else (-1.0, 1.0)
        low, high = math.floor(low / DECADE_STEP) * DECADE_STEP, math.ceil(high / DECADE_STEP) * DECADE_STEP
        # The y range is in decades (log mode); at least one, so a flat curve does not fill the plot.
        middle, half = (low + high) / 2, max((high - low) / 2, 0.5)
        self._norm_plot.setRange(xRange=(0, axis_end(history.batches)), yRange=(middle - half, middle + half),
                                 padding=0.05)
        # Ticks by hand: pyqtgraph's log axis labels 2..9 of each decade too, on top of each other.
        marks = (1, 2, 5) if half < 1 else (1,)
        decades = range(math.floor(middle - half) - 1, math.ceil(middle + half) + 1)
        ticks = [(k + math.log10(m), f"{m * 10.0**k:g}") for k in decades for m in marks]
        self._norm_plot.getAxis("left").setTicks([ticks, []])

    def shown_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What the plot items hold now, as (x, y) per curve.

        The curves are "raw", "smoothed", "training", "validation", "grad_norm" and
        "step_norm" (the last two: the batches whose lengths are known).
        """
        items = {"raw": self._raw_item, "smoothed": self._smoothed_item,
                 "training": self._train_item, "validation": self._val_item,
                 "grad_norm": self._grad_item, "step_norm": self._step_item}
        result = {}
        for name, item in items.items():
            x, y = item.getOriginalDataset()
            result[name] = (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))
        return result

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | os.PathLike) -> None:
        """Save the plots as they are shown, as a PNG file (atomic write)."""
        self.refresh()  # a pending throttled redraw would otherwise be missing from the picture
        pixmap = self.plots.grab()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not pixmap.save(buffer, "PNG"):
            raise OSError(f"{path}: could not encode the curves as PNG")
        write_bytes_atomically(path, bytes(buffer.data()))

    # ----------------------------------------- conveniences over the history
    # The window and its menus reach the history through the widget that shows
    # it; these read the History, they keep no numbers of their own.
    def batches(self) -> int:
        """Number of mini-batch losses in the history."""
        return self.source.batches

    def epochs(self) -> int:
        """Number of completed epochs in the history."""
        return self.source.epochs

    def history(self) -> dict[str, np.ndarray]:
        """Copies of the history: batch, loss, smoothed_loss, grad_norm, step_norm, and the per-epoch columns.

        The epoch columns are epoch, epoch_batch (the batch the epoch ended
        at), train_loss, train_accuracy, val_loss and val_accuracy.
        """
        source = self.source
        result = {
            "batch": np.asarray(source.batch_numbers()).astype(np.int64),
            "loss": np.array(source.losses(), dtype=np.float64),
            "smoothed_loss": np.array(source.smoothed_losses(), dtype=np.float64),
            "grad_norm": source.grad_norms(),
            "step_norm": source.step_norms(),
        }
        for key, column in source.epoch_table().items():
            result["epoch_batch" if key == "batch" else key] = np.array(column)
        return result

    def export_csv(self, path: str | os.PathLike) -> None:
        """Save the history as CSV (see :meth:`digitlab.core.history.History.write_csv`)."""
        self.source.write_csv(path)
