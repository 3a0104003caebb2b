"""The hyperparameter form: architecture, optimiser settings and training data of the next run.

The form only holds and validates choices; it does not train. The training
panel reads :meth:`HyperparameterForm.architecture` and
:meth:`HyperparameterForm.training_config` at Start, and hears about edits
through two signals: ``architectureEdited`` (what Start will build changed)
and ``hyperparametersEdited`` (learning rate, momentum or weight decay, which
a running loop picks up at its next mini-batch; so does the speed, for slow
motion: :meth:`HyperparameterForm.batch_rate`).

Layer limits and parsing come from :mod:`digitlab.core.architecture`, the one
place that defines them for the window, the CLI and model files.

The learning rate follows the cost
----------------------------------
Squared error and cross-entropy want very different step sizes (3.0 and 0.2,
the CLI's defaults), so while the user has not typed a rate of their own, a
switch of cost also switches the rate to that cost's default. A rate typed by
the user (anything other than the current cost's default) is kept.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRegularExpression, Qt, Signal, Slot
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from digitlab.core import datasets
from digitlab.core.architecture import (
    ACTIVATIONS,
    ALLOWED_OUTPUTS,
    DEFAULT_OUTPUTS,
    INPUT_SIZE,
    MAX_HIDDEN_LAYERS,
    MAX_LAYER_SIZE,
    MAX_PARAMETERS,
    ArchitectureError,
    parse_hidden_layers,
)
from digitlab.core.training import DEFAULT_LEARNING_RATES, TrainingConfig
from digitlab.ui.panels import form_settings
from digitlab.ui.panels.noting_spin import NotingDoubleSpinBox, NotingSpinBox


# Short texts: the Settings dock is narrow at 1366x768 and a combo never cuts its text
# (AdjustToContents below); each cost's item tooltip says the rest.
DATA_LABELS = {
    "sample": "Sample (9,000 digits)",
    "mnist": "Full MNIST (60,000)",
}
COST_LABELS = {
    "mse": "Squared error (video)",
    "cross_entropy": "Cross-entropy",
}
COST_DETAILS = {
    "mse": "Squared error with sigmoid outputs: the video's choice",
    "cross_entropy": "Cross-entropy with softmax outputs (they sum to 1): usually learns faster",
}
#: The "None of these" field's choices and texts; "off" is TrainingConfig.none_class None.
NONE_CLASS_LABELS = {
    "off": "off",
    "exposure": "noise exposure",
    "eleventh": "11th output",
}
OUTPUT_LABELS = {
    10: "10 digits",
    11: "10 + none of these",
}

# A red frame flags layer text that Start would refuse.
_INVALID_STYLE = "QLineEdit { border: 2px solid #e03131; }"


#: The speed field's choices: its text and the batches a second (None: full speed).
SPEEDS = (("full", None), ("100 batches/s", 100.0), ("20 batches/s", 20.0), ("5 batches/s", 5.0),
          ("2 batches/s", 2.0))


class HyperparameterForm(QGroupBox):
    """The settings of the next training run, laid out as a compact grid.

    Signals
    -------
    architectureEdited()
        Hidden layers, outputs, activation or cost changed (the text may be
        invalid: :meth:`architecture` then raises).
    hyperparametersEdited()
        Learning rate, momentum, weight decay or speed changed; these may change
        during a run.
    """

    architectureEdited = Signal()
    hyperparametersEdited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        # True once the user chose a rate other than the cost's default; then
        # a cost switch leaves the rate alone.
        self._own_rate = False
        self._build_fields()
        self._build_layout()
        self.hidden_edit.textChanged.connect(self._on_architecture_edited)
        self.hidden_edit.editingFinished.connect(self._on_layers_finished)
        self.outputs_combo.currentIndexChanged.connect(self._on_architecture_edited)
        self.activation_combo.currentIndexChanged.connect(self._on_architecture_edited)
        self.cost_combo.currentIndexChanged.connect(self._on_cost_changed)
        self.learning_rate_spin.valueChanged.connect(self._on_rate_edited)
        for spin in (self.learning_rate_spin, self.momentum_spin, self.weight_decay_spin):
            spin.valueChanged.connect(self.hyperparametersEdited)
        self.speed_combo.currentIndexChanged.connect(self.hyperparametersEdited)
        self.none_class_combo.currentIndexChanged.connect(self._on_none_class_changed)
        self._clamp_note = ""  # that a typed number was corrected; while it lasts, before:
        self._architecture_problem = ""  # why Start would refuse the layers
        self._note_source: tuple[QWidget | None, float] = (None, 0.0)  # the corrected field and its value
        for spin in (self.learning_rate_spin, self.momentum_spin, self.weight_decay_spin, self.dropout_spin,
                     self.batch_spin, self.epochs_spin, self.train_size_spin, self.seed_spin):
            spin.clamped.connect(self._on_clamped)
            spin.valueChanged.connect(self._on_number_changed)

    # ================================================================ building
    def _build_fields(self) -> None:
        self.hidden_edit = QLineEdit("16,16")
        # Digits and commas only; the limits themselves are checked by the core parser.
        self.hidden_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^\s*(\d{1,4}\s*(,\s*\d{0,4}\s*)*)?$"), self)
        )
        self.hidden_edit.setToolTip(
            "Neurons in each hidden layer, separated by commas (the video: 16,16).\n"
            f"At most {MAX_HIDDEN_LAYERS} hidden layers of 1 to {MAX_LAYER_SIZE} neurons, and {MAX_PARAMETERS:,} weights\n"
            f"in all (so the model can be saved). The input layer ({INPUT_SIZE} pixels) and the output layer\n"
            "are added automatically."
        )

        self.outputs_combo = QComboBox()
        for outputs in ALLOWED_OUTPUTS:
            self.outputs_combo.addItem(OUTPUT_LABELS.get(outputs, f"{outputs} outputs"), outputs)
        self._select(self.outputs_combo, DEFAULT_OUTPUTS)
        self.outputs_combo.setToolTip(
            "Output neurons: one per digit, or an 11th for \"none of these\"\n"
            "(trained only by examples labelled 10; the digit data has none)."
        )

        self.activation_combo = QComboBox()
        for name in ACTIVATIONS:
            self.activation_combo.addItem(name, name)
        self.activation_combo.setToolTip("Squashing function of the hidden neurons (the video uses sigmoid).")

        self.cost_combo = QComboBox()
        for name, label in COST_LABELS.items():
            self.cost_combo.addItem(label, name)
            self.cost_combo.setItemData(self.cost_combo.count() - 1, COST_DETAILS[name], Qt.ItemDataRole.ToolTipRole)
        self.cost_combo.setToolTip(
            "What training minimises. Squared error with sigmoid outputs is the video's choice;\n"
            "cross-entropy with softmax outputs usually learns faster.\n"
            "Switching it also switches the learning rate to its default, unless you typed your own."
        )

        self.seed_spin = NotingSpinBox("Seed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Random seed for the initial weights and the order of the examples:\n"
                                  "the same seed repeats a run exactly.")

        self.learning_rate_spin = NotingDoubleSpinBox("Learning rate")
        self.learning_rate_spin.setRange(0.0001, 100.0)
        self.learning_rate_spin.setDecimals(4)
        self.learning_rate_spin.setSingleStep(0.1)
        self.learning_rate_spin.setValue(DEFAULT_LEARNING_RATES[self.cost()])
        self.learning_rate_spin.setToolTip(
            "Size of each gradient-descent step (default: 3.0 for squared error, 0.2 for cross-entropy).\n"
            "Can be changed during a run: it applies from the next mini-batch. Too high and training diverges."
        )

        self.batch_spin = NotingSpinBox("Batch size")
        self.batch_spin.setRange(1, 10_000)
        self.batch_spin.setValue(10)
        self.batch_spin.setToolTip("Examples averaged per gradient step (mini-batch size).")

        self.epochs_spin = NotingSpinBox("Epochs")
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(10)
        self.epochs_spin.setToolTip("Passes over the whole training set.")

        self.momentum_spin = NotingDoubleSpinBox("Momentum")
        self.momentum_spin.setRange(0.0, 0.99)
        self.momentum_spin.setDecimals(2)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setToolTip("Momentum: each step keeps this fraction of the previous one\n"
                                      "(0 = plain gradient descent). Can be changed during a run.")

        self.weight_decay_spin = NotingDoubleSpinBox("L2 decay")
        self.weight_decay_spin.setRange(0.0, 1.0)
        self.weight_decay_spin.setDecimals(5)
        self.weight_decay_spin.setSingleStep(0.0001)
        self.weight_decay_spin.setToolTip("L2 regularisation (weight decay): pulls every weight a little towards 0\n"
                                          "each step. Can be changed during a run.")

        self.dropout_spin = NotingDoubleSpinBox("Dropout")
        self.dropout_spin.setRange(0.0, 0.9)
        self.dropout_spin.setDecimals(2)
        self.dropout_spin.setSingleStep(0.05)
        self.dropout_spin.setToolTip("Dropout: the chance that each hidden neuron is silenced in a training step\n"
                                     "(0 = off). Prediction always uses every neuron.")

        self.data_combo = QComboBox()
        self.data_combo.setToolTip(
            "Training data: the bundled 10,000 MNIST digits (9,000 to train, 1,000 to validate),\n"
            "or the full MNIST once downloaded (File > Download full MNIST...)."
        )
        self.refresh_data_choices()

        self.train_size_spin = NotingSpinBox("Train size")
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
        self.augment_check.setToolTip("Vary the training digits each epoch as handwriting varies: position, size, turn, width, slant, pen and an elastic wobble.")
        self.none_class_combo = QComboBox()
        for method, label in NONE_CLASS_LABELS.items():
            self.none_class_combo.addItem(label, method)
        self.none_class_combo.setToolTip(
            "Teach it to say \"none of these\": every epoch adds noise images (15% of its examples),\n"
            "trained towards no output lit (exposure), or labelled as an 11th output (switches Outputs to 11)."
        )
        self.speed_combo = QComboBox()
        for text, rate in SPEEDS:
            self.speed_combo.addItem(text, rate)
        self.speed_combo.setToolTip("Slow motion: train at most this many mini-batches a second,\n"
                                    "so that every step of the descent shows. Changes a run at once.")
        self.continue_check = QCheckBox("Continue from the current model")
        self.continue_check.setToolTip(
            "Start keeps training the current model instead of a new random network.\n"
            "Only possible when the current model has the architecture set here."
        )

        # Says so when a typed number was out of range and corrected (a plain spin box drops
        # the key), or why the layers cannot be built.
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #c92a2a;")
        self.note_label.hide()

        #: Fields fixed for the length of a run (the others may change mid-run).
        #: The continue box is not among them: the panel decides when it applies.
        self.run_fixed_widgets = (
            self.hidden_edit, self.outputs_combo, self.activation_combo, self.cost_combo, self.seed_spin,
            self.batch_spin, self.epochs_spin, self.data_combo, self.train_size_spin,
            self.shuffle_labels_check, self.augment_check, self.dropout_spin, self.none_class_combo,
        )

    def _build_layout(self) -> None:
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        rows = [
            ("Hidden layers", self.hidden_edit, "Activation", self.activation_combo),
            ("Outputs", self.outputs_combo, "Cost", self.cost_combo),
            ("Learning rate", self.learning_rate_spin, "Seed", self.seed_spin),
            ("Momentum", self.momentum_spin, "Batch size", self.batch_spin),
            ("L2 decay", self.weight_decay_spin, "Epochs", self.epochs_spin),
            ("Train size", self.train_size_spin, "Data", self.data_combo),
            ("Dropout", self.dropout_spin, "Speed", self.speed_combo),
            ("None of these", self.none_class_combo, "", None),
        ]
        for row, (label_a, widget_a, label_b, widget_b) in enumerate(rows):
            for col, (label, widget) in enumerate(((label_a, widget_a), (label_b, widget_b))):
                if widget is None:
                    continue
                caption = QLabel(label)
                caption.setBuddy(widget)
                caption.setToolTip(widget.toolTip())
                grid.addWidget(caption, row, 2 * col)
                grid.addWidget(widget, row, 2 * col + 1)
        checks = QHBoxLayout()
        for check in (self.shuffle_labels_check, self.augment_check, self.continue_check):
            checks.addWidget(check)
        checks.addStretch(1)
        grid.addLayout(checks, len(rows), 0, 1, 4)
        grid.addWidget(self.note_label, len(rows) + 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        # Every combo is as wide as its longest text, so none is ever cut off (the texts are short).
        for combo in (self.cost_combo, self.outputs_combo, self.data_combo, self.none_class_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    # ============================================================ architecture
    def cost(self) -> str:
        return self.cost_combo.currentData()

    def outputs(self) -> int:
        return int(self.outputs_combo.currentData())

    def architecture(self) -> tuple[tuple[int, ...], str, str]:
        """(sizes, activation, cost) from the fields.

        Raises
        ------
        ArchitectureError
            For layer text the core refuses (its message names the limit).
        """
        sizes = parse_hidden_layers(self.hidden_edit.text(), outputs=self.outputs())
        return sizes, self.activation_combo.currentData(), self.cost()

    def set_architecture(self, sizes, activation: str, cost: str) -> None:
        """Fill the architecture fields (``sizes`` includes the input and output layers)."""
        self.hidden_edit.setText(",".join(str(s) for s in sizes[1:-1]))
        self._select(self.outputs_combo, int(sizes[-1]))
        self._select(self.activation_combo, activation)
        self._select(self.cost_combo, cost)

    def architecture_is_valid(self) -> bool:
        try:
            self.architecture()
        except ArchitectureError:
            return False
        return True

    # ================================================================ training
    def training_config(self) -> TrainingConfig:
        """The run's hyperparameters as the fields show them (``train_size`` 0 means all)."""
        return TrainingConfig(
            learning_rate=self.learning_rate_spin.value(),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            momentum=self.momentum_spin.value(),
            weight_decay=self.weight_decay_spin.value(),
            seed=self.seed_spin.value(),
            train_size=self.train_size_spin.value() or None,
            shuffle_labels=self.shuffle_labels_check.isChecked(),
            augment=self.augment_check.isChecked(),
            dropout=self.dropout_spin.value(),
            none_class=self.none_class(),
        )

    def none_class(self) -> str | None:
        """The chosen "none of these" method: None, "exposure" or "eleventh"."""
        method = self.none_class_combo.currentData()
        return None if method == "off" else method

    def live_hyperparameters(self) -> dict[str, float]:
        """The settings a running loop may take up between mini-batches."""
        return {
            "learning_rate": self.learning_rate_spin.value(),
            "momentum": self.momentum_spin.value(),
            "weight_decay": self.weight_decay_spin.value(),
        }

    def batch_rate(self) -> float | None:
        """The chosen speed in mini-batches a second; None: full speed."""
        return self.speed_combo.currentData()

    def set_running(self, running: bool) -> None:
        """Lock the fields a run cannot change (architecture, data, batch size...)."""
        for widget in self.run_fixed_widgets:
            widget.setEnabled(not running)

    # ==================================================================== data
    def refresh_data_choices(self, select: str | None = None) -> None:
        """Offer the data sets that are ready (the full MNIST once downloaded)."""
        current = select or self.data_combo.currentData() or "sample"
        self.data_combo.blockSignals(True)
        self.data_combo.clear()
        for name in datasets.dataset_choices():
            self.data_combo.addItem(DATA_LABELS.get(name, name), name)
        self.data_combo.blockSignals(False)
        self._select(self.data_combo, current)

    def data_name(self) -> str:
        """"sample" or "mnist"."""
        return self.data_combo.currentData() or "sample"

    # ================================================================ settings
    def config_dict(self) -> dict:
        """The form's settings as plain values (for QSettings)."""
        return form_settings.config_dict(self)

    def set_config_dict(self, values: dict) -> None:
        """Restore settings from :meth:`config_dict` output; unknown keys and bad values are skipped."""
        form_settings.set_config_dict(self, values)

    # =============================================================== reactions
    def note(self) -> str:
        """The note shown under the fields ('' when none)."""
        return self.note_label.text() if self.note_label.isVisibleTo(self) else ""

    def _update_note(self) -> None:
        text = self._clamp_note or self._architecture_problem
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))

    @Slot(str)
    def _on_clamped(self, text: str) -> None:
        spin = self.sender()
        self._clamp_note, self._note_source = text, (spin, spin.last_clamp)
        self._update_note()

    @Slot()
    def _on_number_changed(self) -> None:
        # The note stays until another number is set, here or in another field.
        spin, value = self._note_source
        if spin is not None and (self.sender() is not spin or spin.value() != value):
            self._clamp_note, self._note_source = "", (None, 0.0)
            self._update_note()

    def rate_is_own(self) -> bool:
        """True when the learning rate was chosen by the user, so a cost switch keeps it."""
        return self._own_rate

    @Slot()
    def _on_rate_edited(self) -> None:
        # Typing the cost's default back counts as "follow the cost" again.
        self._own_rate = not math.isclose(self.learning_rate_spin.value(), DEFAULT_LEARNING_RATES[self.cost()])

    @Slot()
    def _on_cost_changed(self) -> None:
        if not self._own_rate:
            self.learning_rate_spin.setValue(DEFAULT_LEARNING_RATES[self.cost()])
        self._on_architecture_edited()

    @Slot()
    def _on_none_class_changed(self) -> None:
        # The 11th class needs its output; the Outputs field follows (and 10 outputs turn it off).
        if self.none_class() == "eleventh" and self.outputs() != 11:
            self._select(self.outputs_combo, 11)

    @Slot()
    def _on_architecture_edited(self) -> None:
        if self.none_class() == "eleventh" and self.outputs() != 11:
            self._select(self.none_class_combo, "off")
        problem = self._layer_problem()
        self.hidden_edit.setStyleSheet(_INVALID_STYLE if problem else "")
        # While the layers are typed only the red frame shows (no note popping up at every comma).
        if not problem or self.sender() is not self.hidden_edit:
            self._on_layers_finished()
        self.architectureEdited.emit()

    @Slot()
    def _on_layers_finished(self) -> None:
        self._architecture_problem = self._layer_problem()
        self._update_note()

    def _layer_problem(self) -> str:
        """Why the layers cannot be built, in a sentence; '' if they can."""
        try:
            self.architecture()
        except ArchitectureError as err:
            return f"Hidden layers: {str(err).removeprefix('hidden layers: ')}."
        return ""

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

