"""The main window: composes the widgets, owns the displayed network, menus and settings.

Data flow
---------
- Drawing: ``canvas.changed`` -> :func:`~digitlab.core.preprocess.prepare`
  -> ``display.forward`` -> output chart, hidden-neuron highlights, 28x28 preview.
- Training: the training panel trains its own network on a worker thread. The
  window keeps a separate *display* network (a copy) and, on each snapshot,
  copies the record's weights into it; predictions therefore always use the
  latest weights while only the worker touches the network being trained.
- Everything the user must hear about goes through :meth:`MainWindow.show_error`
  and the questions through :meth:`MainWindow.ask_save_changes` /
  :meth:`MainWindow.ask_open_path` / :meth:`MainWindow.ask_save_path`, so
  tests can replace them and no modal dialog ever blocks a test.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QElapsedTimer, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import numpy as np

from digitlab import __version__
from digitlab import imageio
from digitlab.core import download, model_io, preprocess
from digitlab.core.network import Network
from digitlab.core.training import Progress
from digitlab.ui.canvas import DrawingCanvas
from digitlab.ui.preview import DigitPreview
from digitlab.ui.dialogs import AboutDialog, DownloadDialog
from digitlab.ui.noise_panel import NoisePanel
from digitlab.ui.output_chart import OutputChart
from digitlab.ui.training_panel import TrainingPanel
from digitlab.ui.training_worker import GuiBusyFilter
from digitlab.ui.weights_view import WeightsView

SETTINGS_ENV = "DIGITLAB_SETTINGS_PATH"
MODEL_FILTER = "DigitLab models (*.npz);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.ppm *.tif *.tiff *.webp);;All files (*)"
NOISE_LABELS = {
    "uniform": "Uniform noise",
    "gaussian": "Gaussian noise",
    "salt_and_pepper": "Salt-and-pepper noise",
}
#: While training, the weight pictures and the prediction follow the latest
#: weights at most this often: enough to watch them change, and it leaves the
#: GUI thread (and the GIL) mostly to drawing and to the training thread.
LIVE_VIEW_MS = 100

#: Size of the window on first start: fits a 1366x768 screen with its task bar.
FIRST_SIZE = QSize(1360, 720)


def open_settings() -> QSettings:
    """DigitLab's QSettings; ``DIGITLAB_SETTINGS_PATH`` points them at an ini file (tests)."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("DigitLab", "DigitLab")


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


def _ink_on_black(gray: np.ndarray) -> np.ndarray:
    """A grayscale picture as white ink on black in [0, 1], whatever its polarity.

    The background is the median of the border pixels (as in preprocessing);
    a light background (dark ink on paper) is inverted, then the background
    is subtracted and the ink stretched to reach 1.
    """
    border = np.concatenate((gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]))
    background = float(np.median(border))
    ink = background - gray if background > 0.5 else gray - background
    peak = float(ink.max())
    if peak <= 0:
        return np.zeros_like(gray, dtype=np.float32)
    return np.clip(ink / peak, 0.0, 1.0).astype(np.float32)


class MainWindow(QMainWindow):
    """DigitLab's window: draw, predict, train, look inside.

    Parameters
    ----------
    network : Network, optional
        The model to show first; default: :func:`initial_model`.
    metadata : dict, optional
        That model's metadata (its "name" is shown in the status bar).
    model_path : path, optional
        The file it came from (Save writes there).
    settings : QSettings, optional
        Default: :func:`open_settings`.
    """

    def __init__(
        self,
        network: Network | None = None,
        metadata: dict | None = None,
        model_path: str | os.PathLike | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("DigitLab")
        self.setObjectName("DigitLabMainWindow")
        self.setDockNestingEnabled(True)
        self.settings = settings if settings is not None else open_settings()
        if network is None:
            network, metadata, model_path, self.startup_problem = initial_model()
        else:
            self.startup_problem = ""
        self.display: Network = network.copy()
        self._model_path: Path | None = Path(model_path) if model_path else None
        if self._model_path is not None:
            self._model_name = self._model_path.stem
        else:
            self._model_name = (metadata or {}).get("name") or "model"
        self._dirty = False  # an unsaved trained model
        self._input: np.ndarray | None = None  # the 28x28 image the network sees now
        self._noise_input: np.ndarray | None = None
        self._noise_counter = 0
        self._download_dialog: DownloadDialog | None = None
        self._finished_download: DownloadDialog | None = None
        self._about_dialog: AboutDialog | None = None
        # Where File > Download full MNIST fetches from; tests point these at a local server.
        self.download_mirrors = download.MIRRORS
        self.download_files = download.FILES
        self.download_dir: Path | None = None
        self._pending_snapshot: Progress | None = None
        self._since_live_view = QElapsedTimer()
        self._live_view_timer = QTimer(self)
        self._live_view_timer.setSingleShot(True)
        self._live_view_timer.timeout.connect(self._apply_snapshot)

        self._build_widgets()
        self._watch_painting()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._default_state = self.saveState()

        self.training_panel.set_network(self.display)
        self._show_network()
        self._load_real_digits()
        self.restore_settings()
        self._update_actions()

    # ================================================================ building
    def _build_widgets(self) -> None:
        self.canvas = DrawingCanvas()
        self.preview = DigitPreview()
        self.chart = OutputChart()
        self.weights_view = WeightsView()
        self.noise_panel = NoisePanel()
        self.training_panel = TrainingPanel()
        self.training_panel.replace_guard = self.maybe_save_changes

        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(4, 60)
        self.brush_slider.setValue(int(round(self.canvas.brush_size())))
        self.brush_slider.setToolTip("Brush size (MNIST strokes are about 20 of the canvas's 280 pixels).")
        self.eraser_button = QToolButton()
        self.eraser_button.setText("Eraser")
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip("Erase with the left button (the right button always erases).")
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the drawing (Delete or Esc).")
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z).")

    def _watch_painting(self) -> None:
        """Let training step aside while the views whose painting runs Python repaint."""
        self._busy = GuiBusyFilter(self)
        views = [self.canvas, self.preview]
        for container in (self.chart, self.weights_view, self.noise_panel):
            views += [view.viewport() for view in container.findChildren(QGraphicsView)]
        self._busy.watch(*views)

    def _draw_widget(self) -> QWidget:
        side = QVBoxLayout()
        side.addWidget(self.preview, 1)
        brush_label = QLabel("Brush")
        brush_label.setToolTip(self.brush_slider.toolTip())
        side.addWidget(brush_label)
        side.addWidget(self.brush_slider)
        buttons = QHBoxLayout()
        for button in (self.undo_button, self.clear_button):
            buttons.addWidget(button)
        side.addLayout(buttons)
        side.addWidget(self.eraser_button)
        side.addStretch(0)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side.setContentsMargins(0, 0, 0, 0)
        # The canvas is what the hand works on: give it the room, the preview a column.
        side_widget.setMaximumWidth(150)
        row = QHBoxLayout()
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.canvas, 1)
        row.addWidget(side_widget, 0)
        widget = QWidget()
        widget.setLayout(row)
        return widget

    def _make_dock(self, title: str, name: str, widget: QWidget, tooltip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState/restoreState find docks by name
        dock.setWidget(widget)
        dock.setToolTip(tooltip)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        return dock

    def _build_docks(self) -> None:
        self.draw_dock = self._make_dock("Draw", "drawDock", self._draw_widget(), "Draw a digit here.")
        self.output_dock = self._make_dock(
            "Output", "outputDock", self.chart, "The output layer: one neuron per digit."
        )
        self.weights_dock = self._make_dock(
            "Hidden neurons", "weightsDock", self.weights_view, "What each neuron responds to."
        )
        self.noise_dock = self._make_dock(
            "Noise test", "noiseDock", self.noise_panel, "How confident the network is about pure noise."
        )
        self.training_dock = self._make_dock(
            "Training", "trainingDock", self.training_panel, "Train the network and watch it learn."
        )
        self.docks = (self.draw_dock, self.output_dock, self.weights_dock, self.noise_dock, self.training_dock)
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        """Three columns: draw over output | hidden neurons (noise test tabbed) | training."""
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.draw_dock)
        self.splitDockWidget(self.draw_dock, self.weights_dock, Qt.Orientation.Horizontal)
        self.splitDockWidget(self.weights_dock, self.training_dock, Qt.Orientation.Horizontal)
        self.splitDockWidget(self.draw_dock, self.output_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.weights_dock, self.noise_dock)
        self.weights_dock.raise_()
        self.resizeDocks(
            [self.draw_dock, self.weights_dock, self.training_dock], [420, 440, 500], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.draw_dock, self.output_dock], [400, 260], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, tooltip: str, shortcut=None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tooltip)
        action.setStatusTip(tooltip)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        keys = QKeySequence.StandardKey
        self.new_action = self._action("&New network", self.new_network,
                                       "Replace the model with a new randomly initialised network.", keys.New)
        self.open_model_action = self._action("&Open model...", self.open_model,
                                              "Open a saved DigitLab model (.npz).", keys.Open)
        self.save_action = self._action("&Save model", self.save_model, "Save the model.", keys.Save)
        self.save_as_action = self._action("Save model &as...", self.save_model_as,
                                           "Save the model under a new name.", keys.SaveAs)
        self.open_image_action = self._action("Open &image...", self.open_image,
                                              "Classify a scanned or saved picture of a digit.", "Ctrl+I")
        self.export_weights_action = self._action("&Weights image...", self.export_weights_image,
                                                  "Save the hidden-neuron pictures as a PNG.")
        self.export_png_action = self._action("Learning curves as &PNG...", self.export_curves_png,
                                              "Save the learning curves as a PNG picture.")
        self.export_csv_action = self._action("Learning curves as &CSV...", self.export_curves_csv,
                                              "Save the learning curves' numbers as CSV.")
        self.download_action = self._action("&Download full MNIST...", self.download_mnist,
                                            "Download the 70,000 MNIST digits (about 11 MB) for training.")
        self.quit_action = self._action("&Quit", self.close, "Quit DigitLab.", keys.Quit)
        self.undo_action = self._action("&Undo stroke", self.canvas.undo, "Undo the last stroke.", keys.Undo)
        self.clear_action = self._action("&Clear drawing", self.clear_drawing, "Clear the drawing.",
                                         [QKeySequence(keys.Delete), QKeySequence(Qt.Key.Key_Escape)])
        self.reset_layout_action = self._action("&Reset layout", self.reset_layout,
                                                "Put every panel back where it was at first start.")
        self.about_action = self._action("&About DigitLab", self.show_about,
                                         "Version, licences and where the data comes from.")
        self.noise_actions = {}
        for kind in preprocess.NOISE_KINDS:
            action = QAction(NOISE_LABELS.get(kind, kind), self)
            action.setToolTip(f"Feed the network an image of {NOISE_LABELS.get(kind, kind).lower()} "
                              "and see how sure it is.")
            action.setData(kind)
            action.triggered.connect(self._on_noise_action)
            self.noise_actions[kind] = action
        self.noise_actions["uniform"].setShortcut(QKeySequence("Ctrl+Shift+N"))

    def _build_menus(self) -> None:
        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu("&File")
        file_menu.addActions([self.new_action, self.open_model_action, self.save_action, self.save_as_action])
        file_menu.addSeparator()
        file_menu.addAction(self.open_image_action)
        export_menu = file_menu.addMenu("&Export")
        export_menu.addActions([self.export_weights_action, self.export_png_action, self.export_csv_action])
        file_menu.addSeparator()
        file_menu.addAction(self.download_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = menu_bar.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.clear_action])

        network_menu = menu_bar.addMenu("&Network")
        self.noise_menu = network_menu.addMenu("Feed &noise")
        self.noise_menu.setToolTipsVisible(True)
        self.noise_menu.addActions(list(self.noise_actions.values()))

        view_menu = menu_bar.addMenu("&View")
        view_menu.addAction(self.reset_layout_action)
        view_menu.addSeparator()
        for dock in self.docks:
            toggle = dock.toggleViewAction()
            toggle.setToolTip(f"Show or hide the {dock.windowTitle()} panel.")
            view_menu.addAction(toggle)

        help_menu = menu_bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        for menu in (file_menu, edit_menu, network_menu, view_menu, help_menu, export_menu):
            menu.setToolTipsVisible(True)

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setToolTip("Frequent commands")
        toolbar.addActions([self.open_model_action, self.save_action, self.open_image_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.clear_action])
        toolbar.addSeparator()
        self.noise_button = QToolButton()
        self.noise_button.setText("Feed noise")
        self.noise_button.setToolTip(
            "Put a random noise image through the network: it still answers, often confidently.\n"
            "Click for uniform noise; the arrow offers other kinds."
        )
        self.noise_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.noise_button.setMenu(self.noise_menu)
        self.noise_button.clicked.connect(self._feed_default_noise)
        toolbar.addWidget(self.noise_button)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel()
        self.model_label.setToolTip("The model shown: its name and number of weights and biases.")
        self.data_label = QLabel()
        self.data_label.setToolTip("The data set the training panel uses.")
        self.state_label = QLabel("idle")
        self.state_label.setToolTip("Training state.")
        for label in (self.model_label, self.data_label, self.state_label):
            bar.addPermanentWidget(label)

    def _connect(self) -> None:
        self.canvas.changed.connect(self.update_prediction)
        self.canvas.fileDropped.connect(self.open_image_file)
        self.brush_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.eraser_button.toggled.connect(self.canvas.set_eraser)
        self.clear_button.clicked.connect(self.clear_drawing)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.chart.modeChanged.connect(self._on_chart_mode_changed)
        panel = self.training_panel
        panel.modelReplaced.connect(self._on_model_replaced)
        panel.snapshot.connect(self._on_snapshot)
        panel.runEnded.connect(self._on_run_ended)
        panel.runFailed.connect(self._on_run_failed)
        panel.stateChanged.connect(self._on_training_state)
        panel.errorOccurred.connect(self._on_panel_error)
        panel.data_combo.currentIndexChanged.connect(self._update_status)
        if hasattr(self.noise_panel, "noiseRequested"):
            self.noise_panel.noiseRequested.connect(self.feed_noise)

    # ====================================================== user interaction
    def show_error(self, title: str, text: str) -> None:
        """Tell the user about a problem. Tests replace this method."""
        QMessageBox.warning(self, title, text)

    def ask_save_changes(self) -> str:
        """Ask what to do with an unsaved trained model: "save", "discard" or "cancel"."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            "Unsaved model",
            "The trained model has not been saved. Save it first?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_open_path(self, caption: str, file_filter: str) -> str | None:
        """A file to open, or None if the user cancelled."""
        path, _ = QFileDialog.getOpenFileName(self, caption, self._last_dir(), file_filter)
        return path or None

    def ask_save_path(self, caption: str, file_filter: str, suggested: str) -> str | None:
        """A file to write, or None if the user cancelled."""
        start = str(Path(self._last_dir()) / suggested)
        path, _ = QFileDialog.getSaveFileName(self, caption, start, file_filter)
        return path or None

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _remember_dir(self, path: str | os.PathLike) -> None:
        self.settings.setValue("last_dir", str(Path(path).parent))

    # ============================================================ prediction
    @Slot()
    def update_prediction(self) -> None:
        """Predict the canvas drawing (called on ``canvas.changed``)."""
        self._busy.hold()  # drawing must feel immediate, even while training
        if self.canvas.is_empty():
            if self._noise_input is not None:
                return  # the canvas was cleared to show noise; keep showing it
            self._set_input(None)
            return
        self._noise_input = None
        try:
            x28 = preprocess.prepare(self.canvas.image())
        except preprocess.EmptyImageError:
            x28 = None  # a speck or faint smudge: nothing to recognise yet
        self._set_input(x28)

    def _set_input(self, x28: np.ndarray | None) -> None:
        self._input = x28
        self.refresh_prediction()

    def current_input(self) -> np.ndarray | None:
        """The 28x28 image the network sees now (drawing, picture or noise), or None."""
        return None if self._input is None else self._input.copy()

    def refresh_prediction(self) -> None:
        """Run the current input through the display network and update the views."""
        x = self._input
        self.preview.set_image(x)
        if x is None:
            self.chart.set_outputs(None, self.display.output_activation)
            self.weights_view.set_activations(None)
            return
        activations = self.display.forward(x)
        logits = None
        if self.display.output_activation == "softmax":
            logits = self.display.weights[-1] @ activations[-2] + self.display.biases[-1]
        self.chart.set_outputs(activations[-1], self.display.output_activation, logits=logits)
        self.weights_view.set_activations(activations)

    @Slot()
    def clear_drawing(self) -> None:
        """Clear the canvas, any loaded picture and any noise."""
        self._noise_input = None
        self.canvas.clear()
        self._set_input(None)

    @Slot()
    def _feed_default_noise(self) -> None:
        self.feed_noise("uniform")

    @Slot()
    def _on_noise_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.feed_noise(action.data())

    @Slot(str)
    def feed_noise(self, kind: str) -> np.ndarray:
        """Put a random ``kind`` noise image through the network and show the answer.

        Each call uses the next seed of a counter, so the sequence is repeatable.
        """
        rng = np.random.default_rng(self._noise_counter)
        self._noise_counter += 1
        image = preprocess.noise_image(kind, rng)
        self._noise_input = image
        self.canvas.clear()
        self._set_input(image)
        outputs = self.display.predict(image)
        winner = int(np.argmax(outputs))
        self.statusBar().showMessage(
            f"{NOISE_LABELS.get(kind, kind)} #{self._noise_counter}: the network answers {winner} "
            f"(output {outputs[winner]:.2f}), though it is no digit at all.",
            8000,
        )
        return image

    @Slot(str)
    def _on_chart_mode_changed(self, mode: str) -> None:
        self.settings.setValue("chart_mode", mode)

    # ================================================================ images
    @Slot()
    def open_image(self) -> None:
        path = self.ask_open_path("Open image", IMAGE_FILTER)
        if path:
            self.open_image_file(path)

    @Slot(str)
    def open_image_file(self, path: str) -> bool:
        """Show a picture of a digit on the canvas and classify it. Returns False on error."""
        try:
            picture = imageio.read_image(path)
            gray = preprocess.to_grayscale(picture)
        except (OSError, ValueError) as err:
            self.show_error("Cannot open the image", str(err))
            return False
        self._noise_input = None
        self.canvas.load_image(_ink_on_black(gray))
        self.update_prediction()
        self._remember_dir(path)
        if self._input is None:
            self.statusBar().showMessage(f"{Path(path).name}: no digit found in the picture.", 8000)
        else:
            self.statusBar().showMessage(f"Opened {Path(path).name}.", 5000)
        return True

    # ================================================================ models
    def model_name(self) -> str:
        return self._model_name

    def model_path(self) -> Path | None:
        return self._model_path

    def is_dirty(self) -> bool:
        """True while a trained model has not been saved (or a run is under way)."""
        return self._dirty or self.training_panel.is_running()

    def _set_display(self, network: Network, name: str, path: Path | None) -> None:
        self.display = network.copy()
        self._model_name = name
        self._model_path = path
        self._show_network()

    def _show_network(self) -> None:
        """Show the display network everywhere after it was replaced."""
        self.weights_view.set_parameters(self.display.weights, self.display.biases)
        self.noise_panel.set_network(self.display)
        self.refresh_prediction()
        self._update_status()

    @Slot()
    def new_network(self) -> None:
        """File > New network: fresh random weights from the training panel's settings."""
        if self.training_panel.is_running():
            return
        self.training_panel.reset_model()  # asks through replace_guard, emits modelReplaced

    @Slot()
    def open_model(self) -> None:
        if self.training_panel.is_running() or not self.maybe_save_changes():
            return
        path = self.ask_open_path("Open model", MODEL_FILTER)
        if path:
            self.open_model_file(path)

    def open_model_file(self, path: str | os.PathLike) -> bool:
        """Load a model file; on error the current model stays. Returns True on success."""
        if self.training_panel.is_running():
            self.show_error("Cannot open a model", "Stop the training run first.")
            return False
        try:
            network, metadata = model_io.load_model(path)
        except (OSError, ValueError) as err:
            self.show_error("Cannot open the model", str(err))
            return False
        path = Path(path)
        self.training_panel.set_network(network)
        self._set_display(network, path.stem, path)
        self._dirty = False
        self.settings.setValue("last_model_path", str(path))
        self._remember_dir(path)
        self.statusBar().showMessage(f"Opened {path.name}.", 5000)
        return True

    @Slot()
    def save_model(self) -> bool:
        """Save to the model's file, or ask for one. Returns True if saved."""
        if self._model_path is None:
            return self.save_model_as()
        return self.save_model_to(self._model_path)

    @Slot()
    def save_model_as(self) -> bool:
        suggested = (self._model_path.name if self._model_path else "digit-model.npz")
        path = self.ask_save_path("Save model", MODEL_FILTER, suggested)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".npz"
        return self.save_model_to(path)

    def save_model_to(self, path: str | os.PathLike) -> bool:
        """Write the current model (atomically) with its training history. Returns True on success."""
        path = Path(path)
        try:
            model_io.save_model(path, self.display, self._metadata(path))
        except (OSError, ValueError) as err:
            self.show_error("Cannot save the model", str(err))
            return False
        self._model_path = path
        self._model_name = path.stem
        if not self.training_panel.is_running():
            self._dirty = False
        self.settings.setValue("last_model_path", str(path))
        self._remember_dir(path)
        self._update_status()
        self.statusBar().showMessage(f"Saved {path.name}.", 5000)
        return True

    def _metadata(self, path: Path) -> dict:
        history = self.training_panel.curves.history()
        epochs = [
            {key: history[key][i].item() for key in ("epoch", "train_loss", "train_accuracy", "val_loss",
                                                      "val_accuracy")}
            for i in range(len(history["epoch"]))
        ]
        return {
            "name": path.stem,
            "data": self.training_panel.data_name(),
            "training": self.training_panel.config_dict(),
            "history": epochs,
        }

    def maybe_save_changes(self) -> bool:
        """Before discarding the model: ask to save it if it is unsaved. False means cancel."""
        if not self.is_dirty():
            return True
        answer = self.ask_save_changes()
        if answer == "cancel":
            return False
        if answer == "save":
            if self.training_panel.is_running():
                self._stop_training_now()
            return self.save_model()
        return True

    def _stop_training_now(self) -> None:
        """Stop a run and show the network exactly as training left it."""
        self.training_panel.shutdown()
        trained = self.training_panel.model()
        if trained is not None:
            self.display.set_parameters(trained.weights, trained.biases)
            self._dirty = True
            self._show_network()

    # ============================================================== training
    @Slot(object)
    def _on_model_replaced(self, network: Network) -> None:
        self._dirty = False
        self._set_display(network, "untitled", None)

    @Slot(object)
    def _on_snapshot(self, record: Progress) -> None:
        # Drawing always predicts with the newest weights (copying 13,002 numbers is cheap)...
        self.display.set_parameters(record.weights, record.biases)
        # ...while the pictures follow at most every LIVE_VIEW_MS, always ending on the latest.
        self._pending_snapshot = record
        if self._live_view_timer.isActive():
            return
        elapsed = self._since_live_view.elapsed() if self._since_live_view.isValid() else LIVE_VIEW_MS
        if elapsed >= LIVE_VIEW_MS:
            self._apply_snapshot()
        else:
            self._live_view_timer.start(LIVE_VIEW_MS - elapsed)

    @Slot()
    def _apply_snapshot(self) -> None:
        record, self._pending_snapshot = self._pending_snapshot, None
        self._live_view_timer.stop()
        self._since_live_view.start()
        if record is None:
            return
        self._busy.hold()  # training steps aside for the pictures and their repaint
        # The record holds read-only copies: safe to hand to the views as they are.
        self.weights_view.set_parameters(record.weights, record.biases)
        if self._input is not None:
            self.refresh_prediction()

    @Slot(object)
    def _on_run_ended(self, record: Progress) -> None:
        self._pending_snapshot = None
        self._live_view_timer.stop()
        self.display.set_parameters(record.weights, record.biases)
        if record.samples_seen > 0:
            self._dirty = True
        self._show_network()
        if record.kind == "diverged":
            self.show_error("Training diverged", record.message)

    @Slot(str, str)
    def _on_panel_error(self, title: str, text: str) -> None:
        self.show_error(title, text)  # looked up at call time, so tests can replace it

    @Slot(str)
    def _on_run_failed(self, message: str) -> None:
        self.show_error("Training failed", message)

    @Slot(str)
    def _on_training_state(self, state: str) -> None:
        self.state_label.setText({"idle": "idle", "running": "training", "paused": "paused"}.get(state, state))
        self._update_actions()

    def _update_actions(self) -> None:
        idle = not self.training_panel.is_running()
        for action in (self.new_action, self.open_model_action):
            action.setEnabled(idle)

    def _update_status(self) -> None:
        dirty = "*" if self._dirty else ""
        self.model_label.setText(f"{self._model_name}{dirty} \u00b7 {self.display.n_parameters:,} parameters "
                                 f"({'-'.join(str(s) for s in self.display.sizes)})")
        self.data_label.setText(f"data: {self.training_panel.data_combo.currentText()}")

    def _load_real_digits(self) -> None:
        """Real digits for the noise comparison: the bundled sample's validation part."""
        try:
            sample = self.training_panel.load_data("sample")
        except (OSError, ValueError) as err:
            self.startup_problem = self.startup_problem or str(err)
            return
        self.noise_panel.set_real_digits(sample.val_images, sample.val_labels)

    # ================================================================ export
    def _export(self, caption: str, file_filter: str, suggested: str, writer) -> bool:
        path = self.ask_save_path(caption, file_filter, suggested)
        if not path:
            return False
        return self._write_export(path, writer)

    def _write_export(self, path: str | os.PathLike, writer) -> bool:
        try:
            writer(path)
        except (OSError, ValueError) as err:
            self.show_error("Cannot export", str(err))
            return False
        self._remember_dir(path)
        self.statusBar().showMessage(f"Saved {Path(path).name}.", 5000)
        return True

    @Slot()
    def export_weights_image(self) -> bool:
        return self._export("Export weights image", "PNG images (*.png)", "weights.png",
                            self.weights_view.export_image)

    @Slot()
    def export_curves_png(self) -> bool:
        return self._export("Export learning curves", "PNG images (*.png)", "learning-curves.png",
                            self.training_panel.curves.export_png)

    @Slot()
    def export_curves_csv(self) -> bool:
        return self._export("Export learning curves", "CSV files (*.csv)", "learning-curves.csv",
                            self.training_panel.curves.export_csv)

    # ============================================================== download
    @Slot()
    def download_mnist(self) -> None:
        """File > Download full MNIST: progress dialog with Cancel; runs on a worker thread."""
        if self._download_dialog is not None:
            self._download_dialog.raise_()
            return
        dialog = DownloadDialog(self, self.download_dir, self.download_mirrors, self.download_files)
        dialog.downloadFinished.connect(self._on_download_finished)
        self._download_dialog = dialog
        dialog.start()

    def download_dialog(self) -> DownloadDialog | None:
        return self._download_dialog

    @Slot(str, str)
    def _on_download_finished(self, status: str, detail: str) -> None:
        # The finished dialog is hidden, not deleted: late queued events may still name it.
        self._finished_download, self._download_dialog = self._download_dialog, None
        if status == "ok":
            self.training_panel.refresh_data_choices()
            self.statusBar().showMessage(
                "The full MNIST is ready: choose it under Data in the training panel.", 10_000
            )
        elif status == "failed":
            self.show_error("Download failed", detail)
        else:
            self.statusBar().showMessage("Download cancelled.", 5000)

    # ================================================================== view
    @Slot()
    def reset_layout(self) -> None:
        """View > Reset layout: every panel back in its first-start place."""
        self.restoreState(self._default_state)
        self._arrange_docks()

    @Slot()
    def show_about(self) -> None:
        if self._about_dialog is None:
            self._about_dialog = AboutDialog(self)
        self._about_dialog.open()

    def about_dialog(self) -> AboutDialog | None:
        return self._about_dialog

    # ============================================================== settings
    def save_settings(self) -> None:
        settings = self.settings
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("window_state", self.saveState())
        settings.setValue("brush_size", self.canvas.brush_size())
        settings.setValue("version", __version__)
        settings.beginGroup("training")
        settings.remove("")
        for key, value in self.training_panel.config_dict().items():
            settings.setValue(key, value)
        settings.endGroup()
        settings.sync()

    def restore_settings(self) -> None:
        settings = self.settings
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self._first_start_size()
        state = settings.value("window_state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        try:
            self.brush_slider.setValue(int(round(float(settings.value("brush_size", self.canvas.brush_size())))))
        except (TypeError, ValueError):
            pass
        mode = settings.value("chart_mode")
        if mode in ("raw", "softmax"):
            self.chart.set_mode(mode)
        settings.beginGroup("training")
        values = {key: settings.value(key) for key in settings.childKeys()}
        settings.endGroup()
        if values:
            # The remembered architecture is what Start builds next; "Continue from
            # the current model" is offered only while it matches the loaded model.
            self.training_panel.set_config_dict(values)
        self._update_status()

    def _first_start_size(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen else None
        width, height = FIRST_SIZE.width(), FIRST_SIZE.height()
        if available is not None:
            width, height = min(width, available.width()), min(height, available.height())
        self.resize(width, height)

    # ============================================================== shutdown
    def shutdown(self) -> None:
        """Stop training and downloads and wait for their threads; safe to call twice."""
        self.training_panel.shutdown()
        if self._download_dialog is not None:
            self._download_dialog.shutdown()
            self._download_dialog = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.maybe_save_changes():
            event.ignore()
            return
        self.shutdown()
        self.save_settings()
        super().closeEvent(event)
