"""Model files for the window: open, save, save as, export, and the startup model.

:class:`ModelFiles` does the work behind the File menu. It asks and tells the
user only through its host window's ``show_error``, ``ask_save_changes``,
``ask_open_path`` and ``ask_save_path`` (looked up at call time, so tests can
replace them and no modal dialog ever blocks a test).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot

from digitlab.core import model_io
from digitlab.core.history import model_metadata
from digitlab.core.network import Network
from digitlab.ui import settings as app_settings
from digitlab.ui.session import ModelSession

MODEL_FILTER = "DigitLab models (*.npz);;All files (*)"
PNG_FILTER = "PNG images (*.png)"
CSV_FILTER = "CSV files (*.csv)"
#: The metadata's "made_by" for models saved by the window.
MADE_BY = "DigitLab window"
EPOCH_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")


def initial_model(path: str | os.PathLike | None = None) -> tuple[Network, dict, Path | None, str]:
    """The model to start with: ``path``, else the shipped default, else fresh random weights.

    Returns ``(network, metadata, path or None, problem)``; ``problem`` is ""
    or a one-line message saying why the wanted model could not be used.
    """
    problem = ""
    if path is not None:
        try:
            network, metadata = model_io.load_model(path)
            return network, metadata, Path(path), ""
        except (OSError, ValueError) as err:
            problem = str(err)
    try:
        network, metadata = model_io.load_default_model()
        metadata = {**metadata, "name": "default model"}  # what the status bar calls it
        return network, metadata, None, problem
    except (OSError, ValueError) as err:
        problem = problem or f"the shipped model could not be loaded ({err}); starting untrained"
    network = Network.create(rng=np.random.default_rng(0))
    return network, {"name": "untrained network"}, None, problem


class ModelFiles(QObject):
    """Open, save and export for ``window`` (a :class:`~digitlab.ui.main_window.MainWindow`)."""

    def __init__(self, window, session: ModelSession) -> None:
        super().__init__(window)
        self._window = window
        self._session = session

    @property
    def _panel(self):
        return self._window.training_panel

    @property
    def _settings(self):
        return self._window.settings

    # ------------------------------------------------------------- dialogs
    def last_dir(self) -> str:
        return app_settings.read(self._settings, "last_dir")

    def remember_dir(self, path: str | os.PathLike) -> None:
        app_settings.write(self._settings, last_dir=str(Path(path).parent))

    def _status(self, text: str, ms: int = 5000) -> None:
        self._window.statusBar().showMessage(text, ms)

    # -------------------------------------------------------------- models
    def is_dirty(self) -> bool:
        """True while a trained model has not been saved (or a run is under way)."""
        return self._session.dirty or self._panel.is_running()

    @Slot()
    def open_model(self) -> None:
        if self._panel.is_running() or not self.maybe_save_changes():
            return
        path = self._window.ask_open_path("Open model", MODEL_FILTER)
        if path:
            self.open_model_file(path)

    def open_model_file(self, path: str | os.PathLike) -> bool:
        """Load a model file; on error the current model stays. Returns True on success."""
        if self._panel.is_running():
            self._window.show_error("Cannot open a model", "Stop the training run first.")
            return False
        try:
            network, _metadata = model_io.load_model(path)
        except (OSError, ValueError) as err:
            self._window.show_error("Cannot open the model", str(err))
            return False
        path = Path(path)
        self._panel.set_network(network)
        self._session.set_network(network, path.stem, path)
        self.remember_dir(path)
        self._status(f"Opened {path.name}.")
        return True

    @Slot()
    def save_model(self) -> bool:
        """Save to the model's file, or ask for one. Returns True if saved."""
        if self._session.path is None:
            return self.save_model_as()
        return self.save_model_to(self._session.path)

    @Slot()
    def save_model_as(self) -> bool:
        suggested = self._session.path.name if self._session.path else "digit-model.npz"
        path = self._window.ask_save_path("Save model", MODEL_FILTER, suggested)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".npz"
        return self.save_model_to(path)

    def save_model_to(self, path: str | os.PathLike) -> bool:
        """Write the shown model (atomically) with its training history. Returns True on success."""
        path = Path(path)
        try:
            model_io.save_model(path, self._session.network, self.metadata(path))
        except (OSError, ValueError) as err:
            self._window.show_error("Cannot save the model", str(err))
            return False
        running = self._panel.is_running()
        self._session.set_saved(path)
        if running:
            self._session.set_dirty(True)  # the run goes on changing the weights
        self.remember_dir(path)
        self._status(f"Saved {path.name}.")
        return True

    def metadata(self, path: Path) -> dict:
        """What a saved model carries besides its weights (the one schema, as ``digitlab train`` writes)."""
        history = self._panel.curves.history()
        rows = [
            {key: history[key][i].item() for key in EPOCH_KEYS}
            for i in range(len(history["epoch"]))
        ]
        config = self._panel.config_dict()
        return model_metadata(
            data=self._panel.data_name(),
            train_examples=self._train_examples(config),
            config=config,
            history_rows=rows,
            made_by=MADE_BY,
            name=path.stem,
            network=self._session.network,
        )

    def _train_examples(self, config: dict) -> int:
        """How many examples a run with the panel's settings trains on (0 if the data cannot be read)."""
        try:
            split = self._panel.load_data(self._panel.data_name())
        except (OSError, ValueError):
            return 0
        available = len(split.train_labels)
        return min(int(config.get("train_size") or available), available)

    def maybe_save_changes(self) -> bool:
        """Before discarding the model: ask to save it if it is unsaved. False means cancel."""
        if not self.is_dirty():
            return True
        answer = self._window.ask_save_changes()
        if answer == "cancel":
            return False
        if answer == "save":
            if self._panel.is_running():
                self._stop_training_now()
            return self.save_model()
        return True

    def _stop_training_now(self) -> None:
        """Stop a run and show the network exactly as training left it."""
        self._panel.shutdown()
        trained = self._panel.model()
        if trained is not None:
            self._session.set_parameters(trained.weights, trained.biases)
            self._session.set_dirty(True)

    # -------------------------------------------------------------- export
    def export(self, caption: str, file_filter: str, suggested: str, writer) -> bool:
        """Ask for a file and write it with ``writer(path)``; errors are shown. True if written."""
        path = self._window.ask_save_path(caption, file_filter, suggested)
        if not path:
            return False
        try:
            writer(path)
        except (OSError, ValueError) as err:
            self._window.show_error("Cannot export", str(err))
            return False
        self.remember_dir(path)
        self._status(f"Saved {Path(path).name}.")
        return True

    @Slot()
    def export_weights_image(self) -> bool:
        return self.export("Export weights image", PNG_FILTER, "weights.png", self._window.weights_view.export_image)

    @Slot()
    def export_curves_png(self) -> bool:
        return self.export("Export learning curves", PNG_FILTER, "learning-curves.png", self._panel.curves.export_png)

    @Slot()
    def export_curves_csv(self) -> bool:
        return self.export("Export learning curves", CSV_FILTER, "learning-curves.csv", self._panel.curves.export_csv)
