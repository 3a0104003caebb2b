"""The status bar's permanent labels: the model shown, the training data, the training state."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel

STATE_TEXTS = {"idle": "idle", "running": "training", "paused": "paused"}


class StatusLabels(QObject):
    """Builds the labels into ``window``'s status bar and keeps them up to date.

    The labels are also the window's ``model_label``, ``data_label`` and ``state_label``.
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        bar = window.statusBar()
        self.model_label = QLabel()
        self.model_label.setToolTip("The model shown: its name and number of weights and biases.")
        self.data_label = QLabel()
        self.data_label.setToolTip("The data set the training panel uses.")
        self.state_label = QLabel("idle")
        self.state_label.setToolTip("Training state.")
        for label in (self.model_label, self.data_label, self.state_label):
            bar.addPermanentWidget(label)

    @Slot()
    def update_model(self) -> None:
        session = self._window.session
        dirty = "*" if session.dirty else ""
        network = session.network
        text = (f"{session.name}{dirty} \u00b7 {network.n_parameters:,} parameters "
                f"({'-'.join(str(s) for s in network.sizes)})")
        if text != self.model_label.text():  # networkChanged comes with every live update
            self.model_label.setText(text)
        self.data_label.setText(f"data: {self._window.training_panel.data_combo.currentText()}")

    def set_state(self, state: str) -> None:
        self.state_label.setText(STATE_TEXTS.get(state, state))
