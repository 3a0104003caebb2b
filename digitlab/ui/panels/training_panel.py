"""The training panel: the hyperparameter form, run controls, progress and learning curves.

What Start does
---------------
Start trains a NEW network with fresh random weights, built from the form's
architecture (hidden layers, outputs, activation, cost) and seed: the lesson
is to watch a network learn from scratch. With "Continue from the current
model" ticked, and the current model's architecture equal to the form's,
Start instead keeps training the current model and the curves carry on where
they stopped. Reset replaces the current model with fresh random weights
without training. Step does what Start does, but trains a single mini-batch
and then waits paused (further Steps continue the same run), showing that batch's
number, loss and first digits in the step strip. Speed slows a run down to watch it.

Who owns what
-------------
The panel owns the :class:`~digitlab.ui.training_worker.TrainingController`
and the model's :class:`~digitlab.core.history.History` (``panel.history``),
which :class:`~digitlab.ui.widgets.learning_curves.LearningCurves`
(``panel.curves``) draws. A run trains in a child process, which also loads
the data set (the panel hands it the set's name, so the window never waits for
a load); the network handed to the run is touched only by the worker thread
until the run ends. Everything that leaves the panel is a copy
(``modelReplaced``) or a progress record of read-only copies (``snapshot``,
``runEnded``).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from digitlab.core import datasets
from digitlab.core.architecture import ArchitectureError
from digitlab.core.fileio import error_text
from digitlab.core.history import History
from digitlab.core.network import Network
from digitlab.core.training import Progress, TrainingConfig
from digitlab.core.training_process import RunInfo
from digitlab.ui.panels.hyperparameters import HyperparameterForm
from digitlab.ui.training_worker import IDLE, PAUSED, TrainingController
from digitlab.ui.widgets.learning_curves import LearningCurves
from digitlab.ui.widgets.step_strip import StepStrip, format_duration

__all__ = ["FORM_FIELDS", "StepStrip", "TrainingPanel", "format_duration"]

#: The form's fields, also reachable as attributes of the panel
#: (``panel.learning_rate_spin``): the window, its benchmark and the tests
#: drive the panel through them.
FORM_FIELDS = (
    "hidden_edit", "outputs_combo", "activation_combo", "cost_combo", "seed_spin", "learning_rate_spin",
    "batch_spin", "epochs_spin", "momentum_spin", "weight_decay_spin", "data_combo", "train_size_spin",
    "dropout_spin", "shuffle_labels_check", "augment_check", "continue_check", "speed_combo",
)


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
        self._run_epochs = 0
        self._status_text = "Ready."
        #: What the child reported of the latest run's data (digits trained on), None before any run.
        self.last_run_info: RunInfo | None = None
        self._warning = ""  # the newest record's training warning
        #: Asked before Start or Reset discards the current model; returning
        #: False cancels (the window asks whether to save an unsaved model).
        self.replace_guard: Callable[[], bool] | None = None
        #: Losses and epoch results of the current model, from its first run on.
        self.history = History()

        self.form = HyperparameterForm(self)
        for name in FORM_FIELDS:
            setattr(self, name, getattr(self.form, name))
        self.curves = LearningCurves(self.history, self)
        self.step_strip = StepStrip(self)
        self._build_controls()
        self._build_layout()

        self.form.architectureEdited.connect(self._update_enabled)
        self.form.hyperparametersEdited.connect(self._on_hyperparameters_edited)
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.dataLoaded.connect(self._on_data_loaded)
        self.controller.loadFailed.connect(self._on_load_failed)
        self.controller.stateChanged.connect(self._on_state_changed)
        self._update_enabled()

    # ================================================================ building
    def _build_controls(self) -> None:
        def button(text: str, tip: str, slot) -> QPushButton:
            made = QPushButton(text)
            made.setToolTip(tip)
            made.clicked.connect(slot)
            return made

        self.start_button = button("Start", "Train a new randomly initialised network with these settings\n"
                                   "(or continue the current model, if ticked above).", self.start)
        self.pause_button = button("Pause", "Pause the run after the current mini-batch, or resume it.",
                                   self.toggle_pause)
        self.step_button = button("Step", "Train exactly one mini-batch, then wait (starts a paused run if "
                                  "none);\nthe strip below then shows that batch.", self.step)
        self.stop_button = button("Stop", "End the run; the model keeps what it has learned so far.", self.stop)
        self.reset_button = button("Reset", "Replace the current model with fresh random weights (no training).",
                                   self.reset_model)

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

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.step_button, self.stop_button, self.reset_button):
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.step_strip)
        layout.addWidget(self.curves, 1)

    # ============================================================ model state
    def model(self) -> Network | None:
        """The current model, or None while a run trains it (only the worker may touch it then)."""
        return None if self.is_running() else self._model

    def set_network(self, network: Network, adopt_architecture: bool = True) -> None:
        """Make ``network`` (copied) the current model, e.g. one opened from a file.

        Its history is unknown, so the curves are cleared. With
        ``adopt_architecture`` the form's layer, output, activation and cost
        fields take its values, so Start trains a fresh network of the same shape.
        """
        if self.is_running():
            raise RuntimeError("cannot replace the model while it trains")
        self._model = network.copy()
        if adopt_architecture:
            self.set_architecture(network.sizes, network.activation, network.cost)
        self._clear_history()
        self._reset_progress("Ready.")
        self._update_enabled()

    def set_architecture(self, sizes, activation: str, cost: str) -> None:
        """Fill the architecture fields (``sizes`` includes input and output layers)."""
        self.form.set_architecture(sizes, activation, cost)

    def architecture(self) -> tuple[tuple[int, ...], str, str]:
        """(sizes, activation, cost) from the form; raises ArchitectureError for bad layer text."""
        return self.form.architecture()

    def _architecture_matches_model(self) -> bool:
        if self._model is None:
            return False
        try:
            sizes, activation, cost = self.architecture()
        except ArchitectureError:
            return False
        return (sizes, activation, cost) == (self._model.sizes, self._model.activation, self._model.cost)

    def new_network(self) -> Network:
        """A network with fresh random weights from the form's architecture and seed."""
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
            self.errorOccurred.emit("Cannot create the network", error_text(err))
            return
        if not self._may_replace_model():
            return
        self._model = network
        self._clear_history()
        self._reset_progress("New random weights: the network knows nothing yet.")
        self._update_enabled()
        self.modelReplaced.emit(network.copy())

    def _clear_history(self) -> None:
        # A different model is shown now: its past is not this history's.
        self.history.clear()
        self.curves.refresh()
        self.step_strip.hide()  # it showed a batch of the old model's training

    # ================================================================== data
    def refresh_data_choices(self, select: str | None = None) -> None:
        """Offer the data sets that are ready (the full MNIST once downloaded)."""
        self.form.refresh_data_choices(select)

    def data_name(self) -> str:
        """"sample" or "mnist"."""
        return self.form.data_name()

    def load_data(self, name: str | None = None) -> datasets.DataSplit:
        """The named data set (default: the chosen one), loaded here once and cached.

        Start does not use it (the training child loads the data itself).
        """
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
        """The run's hyperparameters as the form shows them."""
        return self.form.training_config()

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
        """End any run at once (its child process too) and wait for its thread (window close, app quit)."""
        running = self.is_running()
        stopped = self.controller.shutdown(timeout_ms)
        if running and stopped:
            self._take_back_network()
        self._update_enabled()
        return stopped

    def _start_run(self, paused: bool) -> bool:
        if self.is_running():
            return False
        try:
            sizes, activation, cost = self.architecture()
            config = self.training_config()
            config.validate()
        except ValueError as err:  # ArchitectureError is a ValueError
            self.errorOccurred.emit("Cannot start training", error_text(err))
            return False
        if self.continue_check.isChecked() and self._architecture_matches_model():
            network = self._model.copy()
        else:
            if not self._may_replace_model():
                return False
            network = Network.create(sizes, activation, cost, rng=np.random.default_rng(config.seed))
            self._model = network.copy()
            self._clear_history()
            self.modelReplaced.emit(network.copy())
        name = self.data_name()
        try:
            # The child process loads the data set itself: the window never waits for a load.
            self.controller.start(network, name, config, paused=paused, batch_rate=self.form.batch_rate())
        except OSError as err:  # no shared memory for the weights
            self.errorOccurred.emit("Cannot start training", error_text(err))
            return False
        self._training_net = network
        self._run_samples = 0  # known once the child has loaded the data
        self._run_epochs = config.epochs
        self._warning = ""
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Epoch 1/{config.epochs}")
        self._set_status(f"Loading the {name} set\u2026")
        return True

    @Slot(object)
    def _on_data_loaded(self, info: RunInfo) -> None:
        self.last_run_info = info
        self._run_samples = info.run_samples
        self._set_status(f"Training on {info.train_examples:,} digits of the {info.data_name} set.")

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._take_back_network()
        self._reset_progress("Ready.")
        self._update_enabled()
        self.errorOccurred.emit("Cannot load the training data", message)

    def _take_back_network(self) -> None:
        # The run is over: the network it trained (holding its last weights) is ours again.
        if self._training_net is not None:
            self._model = self._training_net
            self._training_net = None

    # ====================================================== worker records
    def _record_losses(self, record: Progress) -> None:
        self.history.add_losses(record.batch_losses, record.grad_norms, record.step_norms)

    @Slot(object)
    def _on_progress(self, record: Progress) -> None:
        self._record_losses(record)
        if record.epoch_stats is not None:
            stats = record.epoch_stats.as_dict()
            # A continued run counts its epochs from 1 again; the history goes on counting.
            stats["epoch"] = self.history.epochs + 1
            self.history.add_epoch(stats)
            self._show_epoch(record)
        # Throttled for epochs too: in its own process a small run ends 10 epochs a second.
        self.curves.request_refresh()
        if record.step is not None:  # its loss is the history's newest: number it as the curves do
            self.step_strip.show_step(record.step, self.history.batches)
        self._show_progress(record)
        self._show_warning(getattr(record, "warning", ""))
        self.snapshot.emit(record)

    @Slot(object)
    def _on_finished(self, record: Progress) -> None:
        self._record_losses(record)
        self.curves.refresh()
        self._take_back_network()
        self._show_progress(record)
        self._warning = ""
        self._set_status(self._end_text(record))
        self._update_enabled()
        self.runEnded.emit(record)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        # Also when the child died: the network holds the last weights the window showed.
        self._take_back_network()
        self._warning = ""
        self._set_status(message)
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
            parts.append(f"{format_duration(left)} left")
        else:
            parts.append(record.kind)
        self.progress_bar.setFormat(" \u00b7 ".join(parts))

    def _show_epoch(self, record: Progress) -> None:
        stats = record.epoch_stats
        self._set_status(
            f"Epoch {stats.epoch}: training accuracy {100 * stats.train_accuracy:.1f}%, "
            f"validation accuracy {100 * stats.val_accuracy:.1f}% (loss {stats.val_loss:.4f})."
        )

    def _set_status(self, text: str) -> None:
        """The status line: ``text``, and the run's training warning under it if there is one."""
        self._status_text = text
        self.status_label.setText(f"{text}\nWarning: {self._warning}" if self._warning else text)

    def _show_warning(self, warning: str) -> None:
        # A record's warning (saturated outputs, say) holds until a record without one.
        if warning != self._warning:
            self._warning = warning
            self._set_status(self._status_text)

    def _end_text(self, record: Progress) -> str:
        if record.kind == "diverged":
            return record.message
        val_accuracy = self.history.epoch_table()["val_accuracy"]
        accuracy = f" Validation accuracy {100 * val_accuracy[-1]:.1f}%." if len(val_accuracy) else ""
        verb = "Finished" if record.kind == "finished" else "Stopped"
        return f"{verb} after {record.samples_seen:,} examples in {format_duration(record.elapsed)}.{accuracy}"

    def _reset_progress(self, text: str) -> None:
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self._warning = ""
        self._set_status(text)

    # ============================================================ reactions
    @Slot()
    def _on_hyperparameters_edited(self) -> None:
        # Applies from the next mini-batch of a running loop; otherwise used at Start.
        self.controller.set_hyperparameters(**self.form.live_hyperparameters())
        self.controller.set_batch_rate(self.form.batch_rate())

    @Slot()
    def _update_enabled(self) -> None:
        state = self.controller.state()
        idle = state == IDLE
        self.form.set_running(not idle)
        self.continue_check.setEnabled(idle and self._architecture_matches_model())
        self.start_button.setEnabled(idle)
        self.reset_button.setEnabled(idle)
        self.pause_button.setEnabled(not idle)
        self.stop_button.setEnabled(not idle)
        self.step_button.setEnabled(idle or state == PAUSED)

    # ============================================================== settings
    def config_dict(self) -> dict:
        """The panel's settings as plain values (for QSettings)."""
        return self.form.config_dict()

    def set_config_dict(self, values: dict) -> None:
        """Restore settings from :meth:`config_dict` output; unknown keys and bad values are skipped."""
        self.form.set_config_dict(values)
        self._update_enabled()
