"""Model files for the window: open, save, save as, export, and the startup model.

:class:`ModelFiles` does the work behind the File menu. It asks and tells the
user only through its host window's ``show_error``, ``ask_save_changes``,
``ask_open_path`` and ``ask_save_path`` (looked up at call time, so tests can
replace them and no modal dialog ever blocks a test).

It asks "Save it first?" only about a model worth keeping
(:meth:`ModelFiles.worth_keeping` states the rule).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot

from digitlab.core import evaluation, model_io
from digitlab.core.fileio import error_text
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
#: What guessing scores on the ten digits: a model must beat it clearly to be worth keeping.
CHANCE_ACCURACY = 0.1
#: How a bundled model is called in the status bar and the File > Bundled models menu.
BUNDLED_TITLES = {
    "default": "the video's network (784-16-16-10)",
    "bigger": "a bigger network",
}


def bundled_display_name(name: str) -> str:
    """What the status bar calls bundled model ``name``: "default model", "bigger model"."""
    return f"{name} model"


def initial_model(path: str | os.PathLike | None = None) -> tuple[Network, dict, Path | None, str]:
    """The model to start with: ``path``, else the shipped default, else fresh random weights.

    ``path`` may also be a bundled model's name ("default", "bigger"); a
    bundled name wins over a file of that name in the current folder
    (``./bigger`` names the file), as on the command line. A bundled model's
    metadata carries its name under "bundled".

    Returns ``(network, metadata, path or None, problem)``; ``problem`` is ""
    or a one-line message saying why the wanted model could not be used.
    """
    problem = ""
    if path is not None and str(path) in model_io.BUNDLED_MODELS:
        try:
            return (*load_bundled(str(path)), None, "")
        except (OSError, ValueError) as err:
            problem = error_text(err)
    elif path is not None:
        try:
            network, metadata = model_io.load_model(path)
            return network, metadata, Path(path), ""
        except (OSError, ValueError) as err:
            problem = error_text(err)
    try:
        return (*load_bundled("default"), None, problem)
    except (OSError, ValueError) as err:
        problem = problem or f"the shipped model could not be loaded ({error_text(err)}); starting untrained"
    network = Network.create(rng=np.random.default_rng(0))
    return network, {"name": "untrained network"}, None, problem


def load_bundled(name: str) -> tuple[Network, dict]:
    """Bundled model ``name`` and its metadata, named for the status bar, with "bundled": ``name``."""
    network, metadata = model_io.load_bundled_model(name)
    return network, {**metadata, "name": bundled_display_name(name), "bundled": name}


class ModelFiles(QObject):
    """Open, save and export for ``window`` (a :class:`~digitlab.ui.main_window.MainWindow`)."""

    def __init__(self, window, session: ModelSession) -> None:
        super().__init__(window)
        self._window = window
        self._session = session
        #: The bundled model "Reload the shipped model" loads: the one chosen last.
        self.last_bundled = session.bundled or "default"

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
            self._window.show_error("Cannot open the model", error_text(err))
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
            self._window.show_error("Cannot save the model", error_text(err))
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
        """How many examples a run with the panel's settings trains on (0 if the data cannot be read).

        The training child reported it for the latest run; only a model never trained here loads the data.
        """
        info = self._panel.last_run_info
        if info is not None:
            return int(info.train_examples)
        try:
            split = self._panel.load_data(self._panel.data_name())
        except (OSError, ValueError):
            return 0
        available = len(split.train_labels)
        return min(int(config.get("train_size") or available), available)

    def open_bundled(self, name: str) -> bool:
        """File > Bundled models: show bundled model ``name`` (after asking about unsaved work)."""
        if self._panel.is_running():
            self._window.show_error("Cannot open a model", "Stop the training run first.")
            return False
        if not self.maybe_save_changes():
            return False
        try:
            network, metadata = load_bundled(name)
        except (OSError, ValueError) as err:
            self._window.show_error("Cannot open the bundled model", error_text(err))
            return False
        self._panel.set_network(network)
        self._session.set_network(network, metadata["name"], bundled=name)
        self.last_bundled = name
        self._status(f"Opened the bundled {BUNDLED_TITLES.get(name, name)}.")
        return True

    @Slot()
    def reload_shipped(self) -> bool:
        """File > Bundled models > Reload the shipped model: the last chosen bundled model, as shipped."""
        return self.open_bundled(self.last_bundled)

    def latest_val_accuracy(self) -> float | None:
        """The validation accuracy after the last finished epoch of the panel's history, or None."""
        column = self._panel.curves.history().get("val_accuracy")
        if column is None or len(column) == 0 or not np.isfinite(column[-1]):
            return None
        return float(column[-1])

    def baseline_accuracy(self) -> float:
        """Validation accuracy of the model the training started from, on the panel's data."""
        try:
            split = self._panel.load_data()
        except (OSError, ValueError):
            return CHANCE_ACCURACY
        if len(split.val_labels) == 0:
            return CHANCE_ACCURACY
        outputs = evaluation.network_outputs(self._session.baseline, split.val_images)
        return evaluation.accuracy(outputs, split.val_labels)

    def worth_keeping(self) -> bool:
        """True when the shown model is worth a "Save it first?" question.

        The rule: the model has changed since it was loaded, saved or
        created (unsaved, or a run is under way), at least one epoch of
        training has finished, and the validation accuracy after the latest
        epoch is both at least twice chance (20% on ten digits: a model that
        flat-lined or diverged is not) and better than the validation
        accuracy of the model the training started from (the one loaded,
        saved or created last, measured on the same validation digits; a
        fresh random network scores about chance). A run that only made the
        shipped model worse, or a few mini-batches of Step, asks nothing.
        """
        if not self.is_dirty():
            return False
        accuracy = self.latest_val_accuracy()
        if accuracy is None or accuracy < 2 * CHANCE_ACCURACY:
            return False
        return accuracy > self.baseline_accuracy()

    def maybe_save_changes(self) -> bool:
        """Before discarding the model: ask about it if it is worth keeping (or still training).

        While training runs (only when the window closes) the question is
        asked in any case, as it also stops the run. False means cancel.
        """
        if not self._panel.is_running() and not self.worth_keeping():
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
            self._window.show_error("Cannot export", error_text(err))
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
