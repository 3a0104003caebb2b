"""The main window: it assembles the docks, menus and status bar; the work is elsewhere.

Where things live
-----------------
- :class:`~digitlab.ui.session.ModelSession` (``window.session``): the network
  shown, its file, its dirty flag and the current input. The output chart, the
  weights view, the preview and the lesson views follow its signals.
- :class:`~digitlab.ui.input_feed.InputFeed` (``window.feed``): canvas,
  pictures and noise -> the session's input; ``LiveView``: training snapshots
  -> the session's weights, throttled.
- :class:`~digitlab.ui.model_files.ModelFiles` (``window.files``): open, save,
  export. :mod:`digitlab.ui.menus`: actions, menus, toolbar (the Lessons menu
  from the lesson registry). :mod:`digitlab.ui.settings`: every setting.
- Training: the training panel trains its own network on a worker; only the
  worker touches it, while the UI predicts from the latest snapshot's weights.
- Everything the user must hear about goes through :meth:`MainWindow.show_error`
  and the questions through :meth:`MainWindow.ask_save_changes` /
  :meth:`MainWindow.ask_open_path` / :meth:`MainWindow.ask_save_path`, so
  tests can replace them and no modal dialog ever blocks a test.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, Slot
from PySide6.QtGui import QAction, QGuiApplication
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

from digitlab.core import download
from digitlab.core.network import Network
from digitlab.core.training import Progress
from digitlab.ui import menus
from digitlab.ui import settings as app_settings
from digitlab.ui.canvas import DrawingCanvas
from digitlab.ui.dialogs import AboutDialog, DownloadDialog
from digitlab.ui.input_feed import InputFeed, LiveView
from digitlab.ui.lessons.area import LessonArea
from digitlab.ui.model_files import ModelFiles, initial_model
from digitlab.ui.output_chart import OutputChart
from digitlab.ui.preview import DigitPreview
from digitlab.ui.session import ModelSession
from digitlab.ui.panels.training_panel import TrainingPanel
from digitlab.ui.training_worker import GuiBusyFilter
from digitlab.ui.weights_view import WeightsView

#: Size of the window on first start: fits a 1366x768 screen with its task bar.
FIRST_SIZE = QSize(1360, 720)

__all__ = ["FIRST_SIZE", "MainWindow", "initial_model"]


class MainWindow(QMainWindow):
    """DigitLab's window: draw, predict, train, look inside, try lessons.

    Parameters
    ----------
    network : Network, optional
        The model to show first; default: :func:`~digitlab.ui.model_files.initial_model`.
    metadata : dict, optional
        That model's metadata (its "name" is shown in the status bar).
    model_path : path, optional
        The file it came from (Save writes there).
    settings : QSettings, optional
        Default: :func:`digitlab.ui.settings.open_settings`.
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
        self.settings = settings if settings is not None else app_settings.open_settings()
        self.startup_problem = ""
        if network is None:
            network, metadata, model_path, self.startup_problem = initial_model()
        name = Path(model_path).stem if model_path else (metadata or {}).get("name") or "model"
        self.session = ModelSession(network, name, model_path, parent=self)
        self._download_dialog: DownloadDialog | None = None
        self._finished_download: DownloadDialog | None = None
        self._about_dialog: AboutDialog | None = None
        # Where File > Download full MNIST fetches from; tests point these at a local server.
        self.download_mirrors = download.MIRRORS
        self.download_files = download.FILES
        self.download_dir: Path | None = None

        self._build_widgets()
        self.files = ModelFiles(self, self.session)
        self.feed = InputFeed(self, self.session)
        self.live_view = LiveView(self.session, self.busy, parent=self)
        self._build_docks()
        menus.build_actions(self)
        menus.build_menus(self)
        menus.build_toolbar(self)
        self._build_status_bar()
        self._connect()
        self._default_state = self.saveState()

        self.training_panel.set_network(self.session.network)
        for view in (self.chart, self.weights_view, self.preview):
            view.follow(self.session)
        self.lesson_area.open_defaults()
        self._watch_painting()
        self.restore_settings()
        self._update_actions()

    # ================================================================ building
    def _build_widgets(self) -> None:
        self.canvas = DrawingCanvas()
        self.preview = DigitPreview()
        self.chart = OutputChart()
        self.weights_view = WeightsView()
        self.lesson_area = LessonArea(self.session)
        self.training_panel = TrainingPanel()
        self.training_panel.replace_guard = self.maybe_save_changes
        self.busy = GuiBusyFilter(self)

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
        views = [self.canvas, self.preview]
        for container in (self.chart, self.weights_view, self.lesson_area):
            views += [view.viewport() for view in container.findChildren(QGraphicsView)]
        self.busy.watch(*views)

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
        self.lessons_dock = self._make_dock(
            "Lessons", "lessonsDock", self.lesson_area, "Experiments with the network; more in the Lessons menu."
        )
        self.training_dock = self._make_dock(
            "Training", "trainingDock", self.training_panel, "Train the network and watch it learn."
        )
        self.docks = (self.draw_dock, self.output_dock, self.weights_dock, self.lessons_dock, self.training_dock)
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        """Three columns: draw over output | hidden neurons (lessons tabbed) | training."""
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.draw_dock)
        self.splitDockWidget(self.draw_dock, self.weights_dock, Qt.Orientation.Horizontal)
        self.splitDockWidget(self.weights_dock, self.training_dock, Qt.Orientation.Horizontal)
        self.splitDockWidget(self.draw_dock, self.output_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.weights_dock, self.lessons_dock)
        self.weights_dock.raise_()
        self.resizeDocks(
            [self.draw_dock, self.weights_dock, self.training_dock], [420, 440, 500], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.draw_dock, self.output_dock], [400, 260], Qt.Orientation.Vertical)

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
        self.canvas.changed.connect(self.feed.update_prediction)
        self.canvas.fileDropped.connect(self.feed.open_image_file)
        self.brush_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.eraser_button.toggled.connect(self.canvas.set_eraser)
        self.clear_button.clicked.connect(self.feed.clear_drawing)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.chart.modeChanged.connect(self._save_chart_settings)
        self.chart.thresholdChanged.connect(self._save_chart_settings)
        self.session.infoChanged.connect(self._update_status)
        self.session.networkChanged.connect(self._update_status)
        panel = self.training_panel
        panel.modelReplaced.connect(self._on_model_replaced)
        panel.snapshot.connect(self.live_view.on_snapshot)
        panel.runEnded.connect(self._on_run_ended)
        panel.runFailed.connect(self._on_run_failed)
        panel.stateChanged.connect(self._on_training_state)
        panel.errorOccurred.connect(self._on_panel_error)
        panel.data_combo.currentIndexChanged.connect(self._update_status)

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
        path, _ = QFileDialog.getOpenFileName(self, caption, self.files.last_dir(), file_filter)
        return path or None

    def ask_save_path(self, caption: str, file_filter: str, suggested: str) -> str | None:
        """A file to write, or None if the user cancelled."""
        start = str(Path(self.files.last_dir()) / suggested)
        path, _ = QFileDialog.getSaveFileName(self, caption, start, file_filter)
        return path or None

    # ============================================== the session, for scripts
    @property
    def display(self) -> Network:
        """The network shown and predicted with (the session's)."""
        return self.session.network

    def model_name(self) -> str:
        return self.session.name

    def model_path(self) -> Path | None:
        return self.session.path

    def current_input(self) -> np.ndarray | None:
        """The 28x28 image the network sees now (drawing, picture or noise), or None."""
        return self.session.current_input

    def is_dirty(self) -> bool:
        return self.files.is_dirty()

    def maybe_save_changes(self) -> bool:
        return self.files.maybe_save_changes()

    def open_model_file(self, path: str | os.PathLike) -> bool:
        return self.files.open_model_file(path)

    def save_model_to(self, path: str | os.PathLike) -> bool:
        return self.files.save_model_to(path)

    def open_image_file(self, path: str | os.PathLike) -> bool:
        return self.feed.open_image_file(path)

    def feed_noise(self, kind: str) -> np.ndarray:
        return self.feed.feed_noise(kind)

    # ================================================================ slots
    @Slot()
    def new_network(self) -> None:
        """File > New network: fresh random weights from the training panel's settings."""
        if not self.training_panel.is_running():
            self.training_panel.reset_model()  # asks through replace_guard, emits modelReplaced

    @Slot()
    def _feed_default_noise(self) -> None:
        self.feed.feed_noise("uniform")

    @Slot()
    def _on_noise_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.feed.feed_noise(action.data())

    @Slot()
    def _on_lesson_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.show_lesson(action.data())

    def show_lesson(self, name: str) -> QWidget:
        """Lessons > NAME: the lesson's tab in front, its dock visible. Returns its view."""
        view = self.lesson_area.open_lesson(name)
        self.lessons_dock.show()
        self.lessons_dock.raise_()
        self.busy.watch(*[v.viewport() for v in view.findChildren(QGraphicsView)])
        return view

    @Slot()
    def _save_chart_settings(self) -> None:
        app_settings.write(self.settings, chart_mode=self.chart.mode(), unsure_threshold=self.chart.threshold())

    @Slot(object)
    def _on_model_replaced(self, network: Network) -> None:
        self.session.set_network(network, "untitled")

    @Slot(object)
    def _on_run_ended(self, record: Progress) -> None:
        self.live_view.on_run_ended(record)
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

    @Slot()
    def _update_status(self) -> None:
        session = self.session
        dirty = "*" if session.dirty else ""
        network = session.network
        text = (f"{session.name}{dirty} \u00b7 {network.n_parameters:,} parameters "
                f"({'-'.join(str(s) for s in network.sizes)})")
        if text != self.model_label.text():  # networkChanged comes with every live update
            self.model_label.setText(text)
        self.data_label.setText(f"data: {self.training_panel.data_combo.currentText()}")

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
        self.lesson_area.open_defaults()

    @Slot()
    def show_about(self) -> None:
        if self._about_dialog is None:
            self._about_dialog = AboutDialog(self)
        self._about_dialog.open()

    def about_dialog(self) -> AboutDialog | None:
        return self._about_dialog

    # ============================================================== settings
    def save_settings(self) -> None:
        app_settings.write(
            self.settings,
            geometry=self.saveGeometry(),
            window_state=self.saveState(),
            brush_size=float(self.canvas.brush_size()),
        )
        app_settings.write_training(self.settings, self.training_panel.config_dict())
        self.settings.sync()

    def restore_settings(self) -> None:
        geometry = app_settings.read(self.settings, "geometry")
        if geometry.isEmpty() or not self.restoreGeometry(geometry):
            self._first_start_size()
        state = app_settings.read(self.settings, "window_state")
        if not state.isEmpty():
            self.restoreState(state)
        self.brush_slider.setValue(int(round(app_settings.read(self.settings, "brush_size"))))
        self.chart.set_threshold(app_settings.read(self.settings, "unsure_threshold"))
        mode = app_settings.read(self.settings, "chart_mode")
        if mode in ("raw", "softmax"):
            self.chart.set_mode(mode)
        values = app_settings.read_training(self.settings)
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
        """Stop training, lessons and downloads and wait for their threads; safe to call twice."""
        self.training_panel.shutdown()
        self.lesson_area.shutdown()
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
