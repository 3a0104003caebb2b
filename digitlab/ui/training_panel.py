"""The training panel: hyperparameters, run controls and live learning curves.

What Start does
---------------
Start trains a NEW network with fresh random weights, built from the panel's
architecture (hidden layers, activation, cost) and seed: the lesson is to
watch a network learn from scratch. With "Continue from the current model"
ticked, and the current model's architecture equal to the panel's, Start
instead keeps training the current model and the curves carry on where they
stopped. Reset replaces the current model with fresh random weights without
training. Step does what Start does, but trains a single mini-batch and then
waits paused (further Steps continue the same run).

The panel owns the :class:`~digitlab.ui.training_worker.TrainingController`.
The network being trained is touched only by the worker thread; everything
that leaves the panel is a copy (``modelReplaced``) or a progress record of
read-only copies (``snapshot``, ``runEnded``).
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Callable

from PySide6.QtCore import QBuffer, QElapsedTimer, QEvent, QIODevice, QRegularExpression, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import numpy as np
import pyqtgraph as pg

from digitlab.core.fileio import write_bytes_atomically
from digitlab.core import datasets
from digitlab.core.network import ACTIVATIONS, Network
from digitlab.core.training import Progress, TrainingConfig, TrainingData
from digitlab.ui import style
from digitlab.ui.training_worker import IDLE, PAUSED, GuiBusyFilter, TrainingController

INPUT_SIZE = 784
OUTPUT_SIZE = 10
MAX_LAYERS = 10
MAX_LAYER_SIZE = 4096

#: The curves redraw at most this often while training (plotting thousands of
#: points costs milliseconds of the GUI thread, and the eye needs no more).
CURVE_REFRESH_MS = 200

#: Smoothing of the bold loss curve: an exponential moving average over
#: roughly the last 1 / (1 - EMA_BETA) = 50 batches, bias-corrected at the start.
EMA_BETA = 0.98

_DATA_LABELS = {
    "sample": "Bundled sample (9,000 digits)",
    "mnist": "Full MNIST (60,000 digits)",
}
_COST_LABELS = {
    "mse": "Squared error, sigmoid outputs (the video)",
    "cross_entropy": "Cross-entropy, softmax outputs",
}
_CSV_COLUMNS = (
    "batch", "loss", "smoothed_loss", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
)


class ArchitectureError(ValueError):
    """The hidden-layer text does not describe a network DigitLab can build."""


def parse_hidden_layers(text: str) -> tuple[int, ...]:
    """``"16, 16"`` -> ``(784, 16, 16, 10)``; an empty text means no hidden layer.

    Raises
    ------
    ArchitectureError
        With a one-line message saying what is wrong.
    """
    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        parts = []
    if any(not p.isdigit() for p in parts):
        raise ArchitectureError(f"hidden layers: expected whole numbers separated by commas, got {text!r}")
    hidden = tuple(int(p) for p in parts)
    if len(hidden) > MAX_LAYERS - 2:
        raise ArchitectureError(f"hidden layers: at most {MAX_LAYERS - 2} hidden layers, got {len(hidden)}")
    if any(not 1 <= n <= MAX_LAYER_SIZE for n in hidden):
        raise ArchitectureError(f"hidden layers: each needs 1 to {MAX_LAYER_SIZE} neurons, got {text!r}")
    return (INPUT_SIZE, *hidden, OUTPUT_SIZE)


class _GrowingSeries:
    """x/y values in NumPy buffers that double when full, so appends stay cheap."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        needed = self.size + len(x)
        if needed > len(self._x):
            capacity = max(needed, 2 * len(self._x))
            self._x = np.resize(self._x, capacity)
            self._y = np.resize(self._y, capacity)
        self._x[self.size : needed] = x
        self._y[self.size : needed] = y
        self.size = needed

    def clear(self) -> None:
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


class LearningCurves(QWidget):
    """Batch loss (raw and smoothed) and per-epoch accuracies of one model's training history."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self._raw = _GrowingSeries()
        self._smoothed = _GrowingSeries()
        self._ema = 0.0
        self._ema_count = 0
        self._loss_max = 0.0
        self._epochs: list[dict] = []  # one EpochStats.as_dict() per epoch, plus "batch"
        self._since_redraw = QElapsedTimer()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self.refresh)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setToolTip("Learning curves of the current model; they grow while it trains.")
        self.plots.setMinimumHeight(150)
        self._loss_plot = self.plots.addPlot(row=0, col=0, title="Loss per mini-batch")
        self._accuracy_plot = self.plots.addPlot(row=0, col=1, title="Accuracy per epoch (%)")
        for plot in (self._loss_plot, self._accuracy_plot):
            plot.setMenuEnabled(False)
            # The ranges follow the data, set in _redraw before the new data:
            # pyqtgraph's lazy auto-range would change them during the paint and
            # repaint everything a second time.
            plot.setMouseEnabled(x=False, y=False)
            plot.enableAutoRange(False)
            plot.hideButtons()
        # Grid lines are costly to paint across a busy curve; the accuracy plot
        # (a few points, values read off against 0-100 %) is where they help.
        self._accuracy_plot.showGrid(x=False, y=True, alpha=0.2)
        self._loss_plot.setLabel("bottom", "mini-batch")
        self._accuracy_plot.setLabel("bottom", "epoch")
        self._accuracy_plot.setYRange(0, 100, padding=0.02)
        self._loss_legend = self._loss_plot.addLegend(offset=(-5, 5))
        self._accuracy_legend = self._accuracy_plot.addLegend(offset=(-5, -5))

        # Items are created once; updates go through setData.
        # Antialiased lines wider than 1 px cost Qt's raster engine ~20 ms per
        # paint for a few thousand points; the loss curves are drawn without it.
        self._raw_item = self._loss_plot.plot(name="raw", antialias=False)
        self._smoothed_item = self._loss_plot.plot(name="smoothed", antialias=False)
        self._train_item = self._accuracy_plot.plot(name="training", symbol="o", symbolSize=5)
        self._val_item = self._accuracy_plot.plot(name="validation", symbol="s", symbolSize=5)
        for item in (self._raw_item, self._smoothed_item):
            # Long runs have 100,000s of batches: draw only what is visible, decimated.
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self._apply_palette()
        self._busy = GuiBusyFilter(self)
        self._busy.watch(self.plots.viewport())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

    # --------------------------------------------------------------- theming
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        style.style_plot(self.plots, palette)
        fg = style.text_color(palette)
        for legend in (self._loss_legend, self._accuracy_legend):
            legend.setLabelTextColor(fg)
            legend.setBrush(style.with_alpha(style.plot_background(palette), 200))
        self._raw_item.setPen(pg.mkPen(style.with_alpha(fg, 70), width=1))
        self._smoothed_item.setPen(pg.mkPen(style.ACCENT, width=2.5))
        self._train_item.setPen(pg.mkPen(style.REAL_COLOR, width=2))
        self._train_item.setSymbolBrush(style.REAL_COLOR)
        self._train_item.setSymbolPen(style.REAL_COLOR)
        self._val_item.setPen(pg.mkPen(style.ACCENT, width=2))
        self._val_item.setSymbolBrush(style.ACCENT)
        self._val_item.setSymbolPen(style.ACCENT)

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        """Forget the history (a different model is shown now)."""
        self._raw.clear()
        self._smoothed.clear()
        self._ema, self._ema_count = 0.0, 0
        self._loss_max = 0.0
        self._epochs.clear()
        self.refresh()

    def batches(self) -> int:
        """Number of mini-batch losses recorded."""
        return self._raw.size

    def epochs(self) -> int:
        """Number of completed epochs recorded."""
        return len(self._epochs)

    def add_losses(self, losses: np.ndarray) -> None:
        """Append mini-batch losses (in order)."""
        if len(losses) == 0:
            return
        start = self._raw.size + 1
        x = np.arange(start, start + len(losses), dtype=np.float64)
        smoothed = np.empty(len(losses))
        ema, count = self._ema, self._ema_count
        for i, loss in enumerate(losses):  # ~1,000 values per record at most: a loop is fine
            ema = EMA_BETA * ema + (1 - EMA_BETA) * loss
            count += 1
            smoothed[i] = ema / (1 - EMA_BETA**count)
        self._ema, self._ema_count = ema, count
        finite = losses[np.isfinite(losses)]
        if finite.size:
            self._loss_max = max(self._loss_max, float(finite.max()))
        self._raw.extend(x, losses)
        self._smoothed.extend(x, smoothed)

    def add_epoch(self, stats: dict) -> None:
        """Append one epoch's statistics (``EpochStats.as_dict()``), at the current batch."""
        entry = dict(stats)
        entry["epoch"] = len(self._epochs) + 1  # continued runs keep counting
        entry["batch"] = self._raw.size
        self._epochs.append(entry)

    def _redraw(self) -> None:
        batches = max(self._raw.size, 10)
        self._loss_plot.setRange(xRange=(0, batches), yRange=(0, 1.05 * self._loss_max or 1.0), padding=0.02)
        self._accuracy_plot.setXRange(0.5, max(len(self._epochs), 1) + 0.5, padding=0)
        self._raw_item.setData(self._raw.x, self._raw.y)
        self._smoothed_item.setData(self._smoothed.x, self._smoothed.y)
        epochs = np.array([e["epoch"] for e in self._epochs], dtype=np.float64)
        train = np.array([100 * e["train_accuracy"] for e in self._epochs], dtype=np.float64)
        val = np.array([100 * e["val_accuracy"] for e in self._epochs], dtype=np.float64)
        self._train_item.setData(epochs, train)
        self._val_item.setData(epochs, val)
        # Whole epochs only: "1.5" on an epoch axis means nothing.
        ticks = None if len(epochs) > 12 else [[(e, str(int(e))) for e in epochs], []]
        self._accuracy_plot.getAxis("bottom").setTicks(ticks)

    @Slot()
    def refresh(self) -> None:
        """Show the data added since the last refresh, now."""
        self._busy.hold()  # training steps aside for the redraw and the repaint
        self._redraw_timer.stop()
        self._since_redraw.start()
        self._redraw()

    def request_refresh(self) -> None:
        """Show new data soon: at most every CURVE_REFRESH_MS, and always the latest."""
        if self._redraw_timer.isActive():
            return
        elapsed = self._since_redraw.elapsed() if self._since_redraw.isValid() else CURVE_REFRESH_MS
        if elapsed >= CURVE_REFRESH_MS:
            self.refresh()
        else:
            self._redraw_timer.start(CURVE_REFRESH_MS - elapsed)

    def history(self) -> dict[str, np.ndarray]:
        """Copies of the curves: batch, loss, smoothed_loss, and per-epoch columns."""
        result = {
            "batch": self._raw.x.astype(np.int64),
            "loss": self._raw.y.copy(),
            "smoothed_loss": self._smoothed.y.copy(),
        }
        for key in ("epoch", "batch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            name = "epoch_batch" if key == "batch" else key
            result[name] = np.array([e[key] for e in self._epochs])
        return result

    # ---------------------------------------------------------------- export
    def export_png(self, path: str | os.PathLike) -> None:
        """Save both plots as they are shown, as a PNG file (atomic write)."""
        pixmap = self.plots.grab()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not pixmap.save(buffer, "PNG"):
            raise OSError(f"{path}: could not encode the curves as PNG")
        write_bytes_atomically(path, bytes(buffer.data()))

    def export_csv(self, path: str | os.PathLike) -> None:
        """Save the history as CSV: one row per mini-batch; epoch columns filled where an epoch ended."""
        by_batch = {e["batch"]: e for e in self._epochs}
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for batch, loss, smoothed in zip(self._raw.x, self._raw.y, self._smoothed.y):
            epoch = by_batch.get(int(batch))
            row = [int(batch), repr(float(loss)), repr(float(smoothed))]
            if epoch is None:
                row += [""] * 5
            else:
                row += [epoch["epoch"]] + [repr(float(epoch[k])) for k in _CSV_COLUMNS[4:]]
            writer.writerow(row)
        write_bytes_atomically(path, text.getvalue().encode("utf-8"))


def _to_bool(value) -> bool:
    # QSettings' ini files hand booleans back as the strings "true" / "false".
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingPanel(QWidget):
    """Hyperparameters, Start / Pause / Step / Stop / Reset, progress and learning curves.

    Signals
    -------
    modelReplaced(object)
        A new network (a copy: the receiver may keep it) replaced the current
        model: Reset, or Start of a fresh run.
    snapshot(object)
        A :class:`~digitlab.core.training.Progress` record: the latest weights
        to show and predict with (at most ~30 a second).
    runEnded(object)
        The final record of a run ("finished", "stopped" or "diverged").
    runFailed(str)
        A run ended with an unexpected error.
    stateChanged(str)
        ``"idle"``, ``"running"`` or ``"paused"``.
    errorOccurred(str, str)
        Title and text of a problem the user must hear about (bad settings,
        unreadable data); the window shows it.
    """

    modelReplaced = Signal(object)
    snapshot = Signal(object)
    runEnded = Signal(object)
    runFailed = Signal(str)
    stateChanged = Signal(str)
    errorOccurred = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = TrainingController(self)
        self._model: Network | None = None
        self._training_net: Network | None = None
        self._data_cache: dict[str, datasets.DataSplit] = {}
        self._run_samples = 0  # samples the current run will see in total
        #: Asked before Start or Reset discards the current model; returning
        #: False cancels (the window asks whether to save an unsaved model).
        self.replace_guard: Callable[[], bool] | None = None
        self._run_epochs = 0
        self._build_controls()
        self.curves = LearningCurves(self)
        self._build_layout()
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.stateChanged.connect(self._on_state_changed)
        self._update_enabled()

    # ================================================================ building
    def _build_controls(self) -> None:
        self.hidden_edit = QLineEdit("16,16")
        self.hidden_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^\s*(\d{1,4}\s*(,\s*\d{0,4}\s*)*)?$"), self)
        )
        self.hidden_edit.setToolTip(
            "Neurons in each hidden layer, separated by commas (the video: 16,16).\n"
            "The input layer (784 pixels) and output layer (10 digits) are added automatically."
        )
        self.hidden_edit.textChanged.connect(self._on_architecture_edited)

        self.activation_combo = QComboBox()
        for name in ACTIVATIONS:
            self.activation_combo.addItem(name, name)
        self.activation_combo.setToolTip("Squashing function of the hidden neurons (the video uses sigmoid).")
        self.activation_combo.currentIndexChanged.connect(self._on_architecture_edited)

        self.cost_combo = QComboBox()
        for name, label in _COST_LABELS.items():
            self.cost_combo.addItem(label, name)
        self.cost_combo.setToolTip(
            "What training minimises. Squared error with sigmoid outputs is the video's choice;\n"
            "cross-entropy with softmax outputs usually learns faster."
        )
        self.cost_combo.currentIndexChanged.connect(self._on_architecture_edited)

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Random seed for the initial weights and the order of the examples:\n"
                                  "the same seed repeats a run exactly.")

        self.learning_rate_spin = QDoubleSpinBox()
        self.learning_rate_spin.setRange(0.0001, 100.0)
        self.learning_rate_spin.setDecimals(4)
        self.learning_rate_spin.setSingleStep(0.1)
        self.learning_rate_spin.setValue(3.0)
        self.learning_rate_spin.setToolTip(
            "Size of each gradient-descent step. Can be changed during a run:\n"
            "it applies from the next mini-batch. Too high and training diverges."
        )
        self.learning_rate_spin.valueChanged.connect(self._on_hyperparameter_changed)

        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 10_000)
        self.batch_spin.setValue(10)
        self.batch_spin.setToolTip("Examples averaged per gradient step (mini-batch size).")

        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(10)
        self.epochs_spin.setToolTip("Passes over the whole training set.")

        self.momentum_spin = QDoubleSpinBox()
        self.momentum_spin.setRange(0.0, 0.99)
        self.momentum_spin.setDecimals(2)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setToolTip("Momentum: each step keeps this fraction of the previous one\n"
                                      "(0 = plain gradient descent). Can be changed during a run.")
        self.momentum_spin.valueChanged.connect(self._on_hyperparameter_changed)

        self.weight_decay_spin = QDoubleSpinBox()
        self.weight_decay_spin.setRange(0.0, 1.0)
        self.weight_decay_spin.setDecimals(5)
        self.weight_decay_spin.setSingleStep(0.0001)
        self.weight_decay_spin.setToolTip("L2 regularisation (weight decay): pulls every weight a little towards 0\n"
                                          "each step. Can be changed during a run.")
        self.weight_decay_spin.valueChanged.connect(self._on_hyperparameter_changed)

        self.data_combo = QComboBox()
        self.data_combo.setToolTip(
            "Training data: the bundled 10,000 MNIST digits (9,000 to train, 1,000 to validate),\n"
            "or the full MNIST once downloaded (File > Download full MNIST...)."
        )
        self.refresh_data_choices()

        self.train_size_spin = QSpinBox()
        self.train_size_spin.setRange(0, 60_000)
        self.train_size_spin.setSingleStep(500)
        self.train_size_spin.setSpecialValueText("all")
        self.train_size_spin.setToolTip("Train on only this many examples (a random subset); 'all' uses every one.\n"
                                        "Few examples and many epochs show overfitting.")

        self.shuffle_labels_check = QCheckBox("Shuffle labels")
        self.shuffle_labels_check.setToolTip(
            "Give every training image a random label: the network can only memorise.\n"
            "Training accuracy rises, validation accuracy stays at chance (~10%)."
        )
        self.augment_check = QCheckBox("Augment")
        self.augment_check.setToolTip("Shift, rotate and scale the training digits a little each epoch.")
        self.continue_check = QCheckBox("Continue from the current model")
        self.continue_check.setToolTip(
            "Start keeps training the current model instead of a new random network.\n"
            "Only possible when the current model has the architecture set here."
        )

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a new randomly initialised network with these settings\n"
                                     "(or continue the current model, if ticked above).")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause the run after the current mini-batch, or resume it.")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train exactly one mini-batch, then wait (starts a paused run if none).")
        self.step_button.clicked.connect(self.step)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run; the model keeps what it has learned so far.")
        self.stop_button.clicked.connect(self.stop)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Replace the current model with fresh random weights (no training).")
        self.reset_button.clicked.connect(self.reset_model)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setToolTip("Progress of the run: epoch, speed and estimated time left.")

        self.status_label = QLabel("Ready.")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("What the last epoch measured, or why a run ended.")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._architecture_widgets = (
            self.hidden_edit, self.activation_combo, self.cost_combo, self.seed_spin, self.batch_spin,
            self.epochs_spin, self.data_combo, self.train_size_spin, self.shuffle_labels_check,
            self.augment_check, self.continue_check,
        )

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        rows = [
            ("Hidden layers", self.hidden_edit, "Activation", self.activation_combo),
            ("Cost", self.cost_combo, "Seed", self.seed_spin),
            ("Learning rate", self.learning_rate_spin, "Batch size", self.batch_spin),
            ("Momentum", self.momentum_spin, "Epochs", self.epochs_spin),
            ("L2 decay", self.weight_decay_spin, "Train size", self.train_size_spin),
        ]
        for row, (label_a, widget_a, label_b, widget_b) in enumerate(rows):
            for col, (label, widget) in enumerate(((label_a, widget_a), (label_b, widget_b))):
                caption = QLabel(label)
                caption.setBuddy(widget)
                caption.setToolTip(widget.toolTip())
                grid.addWidget(caption, row, 2 * col)
                grid.addWidget(widget, row, 2 * col + 1)
        data_label = QLabel("Data")
        data_label.setToolTip(self.data_combo.toolTip())
        grid.addWidget(data_label, len(rows), 0)
        grid.addWidget(self.data_combo, len(rows), 1, 1, 3)
        checks = QHBoxLayout()
        for check in (self.shuffle_labels_check, self.augment_check, self.continue_check):
            checks.addWidget(check)
        checks.addStretch(1)
        grid.addLayout(checks, len(rows) + 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        # The cost labels are long; let the combo shrink rather than widen the dock.
        self.cost_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.cost_combo.setMinimumContentsLength(10)
        self.data_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.data_combo.setMinimumContentsLength(10)

        settings_box = QGroupBox("Settings")
        settings_box.setLayout(grid)

        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.step_button, self.stop_button, self.reset_button):
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(settings_box)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.curves, 1)

    # ============================================================ model state
    def model(self) -> Network | None:
        """The current model, or None while a run trains it (only the worker may touch it then)."""
        return None if self.is_running() else self._model

    def set_network(self, network: Network, adopt_architecture: bool = True) -> None:
        """Make ``network`` (copied) the current model, e.g. one opened from a file.

        Its history is unknown, so the curves are cleared. With
        ``adopt_architecture`` the panel's layer, activation and cost fields
        take its values, so Start trains a fresh network of the same shape.
        """
        if self.is_running():
            raise RuntimeError("cannot replace the model while it trains")
        self._model = network.copy()
        if adopt_architecture:
            self.set_architecture(network.sizes, network.activation, network.cost)
        self.curves.clear()
        self._reset_progress("Ready.")
        self._update_enabled()

    def set_architecture(self, sizes, activation: str, cost: str) -> None:
        """Fill the architecture fields (``sizes`` includes input and output layers)."""
        self.hidden_edit.setText(",".join(str(s) for s in sizes[1:-1]))
        self._select_data(self.activation_combo, activation)
        self._select_data(self.cost_combo, cost)

    def architecture(self) -> tuple[tuple[int, ...], str, str]:
        """(sizes, activation, cost) from the fields; raises ArchitectureError for bad layer text."""
        return (
            parse_hidden_layers(self.hidden_edit.text()),
            self.activation_combo.currentData(),
            self.cost_combo.currentData(),
        )

    def _architecture_matches_model(self) -> bool:
        if self._model is None:
            return False
        try:
            sizes, activation, cost = self.architecture()
        except ArchitectureError:
            return False
        return (sizes, activation, cost) == (self._model.sizes, self._model.activation, self._model.cost)

    def new_network(self) -> Network:
        """A network with fresh random weights from the panel's architecture and seed."""
        sizes, activation, cost = self.architecture()
        rng = np.random.default_rng(self.seed_spin.value())
        return Network.create(sizes, activation, cost, rng=rng)

    def _may_replace_model(self) -> bool:
        return self.replace_guard is None or bool(self.replace_guard())

    @Slot()
    def reset_model(self) -> None:
        """Replace the current model with fresh random weights, without training."""
        if self.is_running():
            return
        try:
            network = self.new_network()
        except ArchitectureError as err:
            self.errorOccurred.emit("Cannot create the network", str(err))
            return
        if not self._may_replace_model():
            return
        self._model = network
        self.curves.clear()
        self._reset_progress("New random weights: the network knows nothing yet.")
        self._update_enabled()
        self.modelReplaced.emit(network.copy())

    # ================================================================== data
    def refresh_data_choices(self, select: str | None = None) -> None:
        """Offer the data sets that are ready (the full MNIST once downloaded)."""
        current = select or self.data_combo.currentData() or "sample"
        self.data_combo.blockSignals(True)
        self.data_combo.clear()
        for name in datasets.dataset_choices():
            self.data_combo.addItem(_DATA_LABELS.get(name, name), name)
        self.data_combo.blockSignals(False)
        self._select_data(self.data_combo, current)

    def data_name(self) -> str:
        """"sample" or "mnist"."""
        return self.data_combo.currentData() or "sample"

    def load_data(self, name: str | None = None) -> datasets.DataSplit:
        """The named data set (default: the chosen one), loaded once and cached."""
        name = name or self.data_name()
        if name not in self._data_cache:
            # Reading the full MNIST takes about a second, once: say so with the cursor.
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._data_cache[name] = datasets.load_named(name)
            finally:
                QApplication.restoreOverrideCursor()
        return self._data_cache[name]

    # =============================================================== running
    def is_running(self) -> bool:
        return self.controller.is_running()

    def training_config(self) -> TrainingConfig:
        """The run's hyperparameters as the fields show them."""
        train_size = self.train_size_spin.value()
        return TrainingConfig(
            learning_rate=self.learning_rate_spin.value(),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            momentum=self.momentum_spin.value(),
            weight_decay=self.weight_decay_spin.value(),
            seed=self.seed_spin.value(),
            train_size=train_size or None,
            shuffle_labels=self.shuffle_labels_check.isChecked(),
            augment=self.augment_check.isChecked(),
        )

    @Slot()
    def start(self) -> bool:
        """Start a run (see the module docstring for what it trains). Returns True if it started."""
        return self._start_run(paused=False)

    @Slot()
    def step(self) -> None:
        """Train one mini-batch; starts a paused run when none is under way."""
        if not self.is_running() and not self._start_run(paused=True):
            return
        self.controller.step(1)

    @Slot()
    def toggle_pause(self) -> None:
        """Pause a running run, resume a paused one."""
        if self.controller.state() == PAUSED:
            self.controller.resume()
        else:
            self.controller.pause()

    @Slot()
    def pause(self) -> None:
        self.controller.pause()

    @Slot()
    def resume(self) -> None:
        self.controller.resume()

    @Slot()
    def stop(self) -> None:
        """End the run after the current mini-batch; the model keeps what it learned."""
        self.controller.stop()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop any run and wait for its thread (window close, app quit)."""
        running = self.is_running()
        stopped = self.controller.shutdown(timeout_ms)
        if running and self._training_net is not None and stopped:
            self._model = self._training_net
            self._training_net = None
        self._update_enabled()
        return stopped

    def _start_run(self, paused: bool) -> bool:
        if self.is_running():
            return False
        try:
            sizes, activation, cost = self.architecture()
            config = self.training_config()
            config.validate()
        except ValueError as err:
            self.errorOccurred.emit("Cannot start training", str(err))
            return False
        try:
            split = self.load_data()
        except (OSError, ValueError) as err:
            self.errorOccurred.emit("Cannot load the training data", str(err))
            return False
        data = TrainingData(split.train_images, split.train_labels, split.val_images, split.val_labels)
        if self.continue_check.isChecked() and self._architecture_matches_model():
            network = self._model.copy()
        else:
            if not self._may_replace_model():
                return False
            network = Network.create(sizes, activation, cost, rng=np.random.default_rng(config.seed))
            self._model = network.copy()
            self.curves.clear()
            self.modelReplaced.emit(network.copy())
        n_train = min(config.train_size or len(split.train_labels), len(split.train_labels))
        self._run_samples = n_train * config.epochs
        self._run_epochs = config.epochs
        self._training_net = network
        self.controller.start(network, data, config, paused=paused)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Epoch 1/{config.epochs}")
        self.status_label.setText(f"Training on {n_train:,} digits of the {split.name} set.")
        return True

    # ====================================================== worker records
    @Slot(object)
    def _on_progress(self, record: Progress) -> None:
        self.curves.add_losses(record.batch_losses)
        if record.epoch_stats is not None:
            self.curves.add_epoch(record.epoch_stats.as_dict())
            self._show_epoch(record)
            self.curves.refresh()
        else:
            self.curves.request_refresh()
        self._show_progress(record)
        self.snapshot.emit(record)

    @Slot(object)
    def _on_finished(self, record: Progress) -> None:
        self.curves.add_losses(record.batch_losses)
        self.curves.refresh()
        # The worker is done: the trained network is ours again.
        if self._training_net is not None:
            self._model = self._training_net
            self._training_net = None
        self._show_progress(record)
        self.status_label.setText(self._end_text(record))
        self._update_enabled()
        self.runEnded.emit(record)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._training_net is not None:
            self._model = self._training_net
            self._training_net = None
        self.status_label.setText(message)
        self.progress_bar.setFormat("failed")
        self._update_enabled()
        self.runFailed.emit(message)

    @Slot(str)
    def _on_state_changed(self, state: str) -> None:
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self._update_enabled()
        self.stateChanged.emit(state)

    def _show_progress(self, record: Progress) -> None:
        done = min(record.samples_seen / self._run_samples, 1.0) if self._run_samples else 0.0
        self.progress_bar.setValue(int(round(1000 * done)))
        rate = record.samples_seen / record.elapsed if record.elapsed > 0 else 0.0
        left = (self._run_samples - record.samples_seen) / rate if rate > 0 else math.inf
        epoch = min(record.epoch + 1, self._run_epochs)
        parts = [f"Epoch {epoch}/{self._run_epochs}", f"{rate:,.0f} samples/s"]
        if record.kind == "paused":
            parts.append("paused")
        elif record.kind in ("batch", "epoch"):
            parts.append(f"{_format_duration(left)} left")
        else:
            parts.append(record.kind)
        self.progress_bar.setFormat(" \u00b7 ".join(parts))

    def _show_epoch(self, record: Progress) -> None:
        stats = record.epoch_stats
        self.status_label.setText(
            f"Epoch {stats.epoch}: training accuracy {100 * stats.train_accuracy:.1f}%, "
            f"validation accuracy {100 * stats.val_accuracy:.1f}% (loss {stats.val_loss:.4f})."
        )

    def _end_text(self, record: Progress) -> str:
        if record.kind == "diverged":
            return record.message
        last = self.curves.history()
        accuracy = ""
        if len(last["val_accuracy"]):
            accuracy = f" Validation accuracy {100 * last['val_accuracy'][-1]:.1f}%."
        verb = "Finished" if record.kind == "finished" else "Stopped"
        return f"{verb} after {record.samples_seen:,} examples in {_format_duration(record.elapsed)}.{accuracy}"

    def _reset_progress(self, text: str) -> None:
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self.status_label.setText(text)

    # ============================================================ reactions
    @Slot()
    def _on_hyperparameter_changed(self) -> None:
        # Applies from the next mini-batch of a running loop; otherwise used at Start.
        self.controller.set_hyperparameters(
            learning_rate=self.learning_rate_spin.value(),
            momentum=self.momentum_spin.value(),
            weight_decay=self.weight_decay_spin.value(),
        )

    @Slot()
    def _on_architecture_edited(self) -> None:
        try:
            parse_hidden_layers(self.hidden_edit.text())
            valid = True
        except ArchitectureError:
            valid = False
        # A red frame flags text that Start would refuse.
        self.hidden_edit.setStyleSheet("" if valid else "QLineEdit { border: 2px solid #e03131; }")
        self._update_enabled()

    def _update_enabled(self) -> None:
        state = self.controller.state()
        idle = state == IDLE
        for widget in self._architecture_widgets:
            widget.setEnabled(idle)
        self.continue_check.setEnabled(idle and self._architecture_matches_model())
        self.start_button.setEnabled(idle)
        self.reset_button.setEnabled(idle)
        self.pause_button.setEnabled(not idle)
        self.stop_button.setEnabled(not idle)
        self.step_button.setEnabled(idle or state == PAUSED)

    # ============================================================== settings
    def config_dict(self) -> dict:
        """The panel's settings as plain values (for QSettings)."""
        return {
            "hidden": self.hidden_edit.text(),
            "activation": self.activation_combo.currentData(),
            "cost": self.cost_combo.currentData(),
            "learning_rate": self.learning_rate_spin.value(),
            "batch_size": self.batch_spin.value(),
            "epochs": self.epochs_spin.value(),
            "momentum": self.momentum_spin.value(),
            "weight_decay": self.weight_decay_spin.value(),
            "seed": self.seed_spin.value(),
            "data": self.data_name(),
            "train_size": self.train_size_spin.value(),
            "shuffle_labels": self.shuffle_labels_check.isChecked(),
            "augment": self.augment_check.isChecked(),
            "continue_training": self.continue_check.isChecked(),
        }

    def set_config_dict(self, values: dict) -> None:
        """Restore settings from :meth:`config_dict` output; unknown keys and bad values are skipped."""
        spins = {
            "learning_rate": (self.learning_rate_spin, float),
            "batch_size": (self.batch_spin, int),
            "epochs": (self.epochs_spin, int),
            "momentum": (self.momentum_spin, float),
            "weight_decay": (self.weight_decay_spin, float),
            "seed": (self.seed_spin, int),
            "train_size": (self.train_size_spin, int),
        }
        for key, (spin, kind) in spins.items():
            if key in values:
                try:
                    spin.setValue(kind(float(values[key])) if kind is int else kind(values[key]))
                except (TypeError, ValueError):
                    pass
        if "hidden" in values:
            text = str(values["hidden"])
            try:
                parse_hidden_layers(text)
                self.hidden_edit.setText(text)
            except ArchitectureError:
                pass
        for key, combo in (("activation", self.activation_combo), ("cost", self.cost_combo),
                           ("data", self.data_combo)):
            if key in values:
                self._select_data(combo, str(values[key]))
        for key, check in (("shuffle_labels", self.shuffle_labels_check), ("augment", self.augment_check),
                           ("continue_training", self.continue_check)):
            if key in values:
                check.setChecked(_to_bool(values[key]))
        self._update_enabled()

    @staticmethod
    def _select_data(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
