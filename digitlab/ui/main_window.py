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
  export, the bundled models and when to ask "Save it first?".
  :mod:`digitlab.ui.menus`: actions, menus, toolbar (the Lessons menu
  from the lesson registry). :mod:`digitlab.ui.settings`: every setting.
- :mod:`digitlab.ui.window_layout`: the docks and the first window's size;
  :mod:`digitlab.ui.status_bar`, :mod:`digitlab.ui.window_download`,
  :mod:`digitlab.ui.help` (Start here, shortcuts) and
  :mod:`digitlab.ui.questions` (the save question's words).
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

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog, QMainWindow, QMessageBox, QSizePolicy, QSlider, QToolButton, QWidget,
)

import numpy as np

from digitlab.core import download
from digitlab.core.network import Network
from digitlab.core.training import Progress
from digitlab.ui import menus, questions, window_layout
from digitlab.ui import settings as app_settings
from digitlab.ui.canvas import DrawingCanvas
from digitlab.ui.dialogs import AboutDialog, DownloadDialog
from digitlab.ui.help import HelpPage, HelpPages
from digitlab.ui.input_feed import InputFeed, LiveView
from digitlab.ui.lessons.area import LessonArea
from digitlab.ui.model_files import ModelFiles, initial_model
from digitlab.ui.output_chart import OutputChart
from digitlab.ui.preview import DigitPreview
from digitlab.ui.session import ModelSession
from digitlab.ui.panels.training_panel import TrainingPanel
from digitlab.ui.status_bar import StatusLabels
from digitlab.ui.weights_view import WeightsView
from digitlab.ui.window_download import MnistDownload
from digitlab.ui.window_layout import FIRST_SIZE

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
        self._shown_once = False
        self._first_layout = True
        self.settings = settings if settings is not None else app_settings.open_settings()
        self.startup_problem = ""
        if network is None:
            network, metadata, model_path, self.startup_problem = initial_model()
        name = Path(model_path).stem if model_path else (metadata or {}).get("name") or "model"
        bundled = None if model_path else (metadata or {}).get("bundled")
        self.session = ModelSession(network, name, model_path, parent=self, bundled=bundled)
        self._download = MnistDownload(self)
        self._about_dialog: AboutDialog | None = None
        self.help_pages = HelpPages(self)
        # Where File > Download full MNIST fetches from; tests point these at a local server.
        self.download_mirrors = download.MIRRORS
        self.download_files = download.FILES
        self.download_dir: Path | None = None

        self._build_widgets()
        self.files = ModelFiles(self, self.session)
        self.feed = InputFeed(self, self.session)
        self.live_view = LiveView(self.session, parent=self)
        self._hold_while_drawing(self.live_view.throttle)
        window_layout.build_docks(self)
        menus.build_actions(self)
        menus.build_menus(self)
        menus.build_toolbar(self)
        self.status_labels = StatusLabels(self)
        self.model_label = self.status_labels.model_label
        self.data_label = self.status_labels.data_label
        self.state_label = self.status_labels.state_label
        self._connect()
        self._default_state = self.saveState()

        self.training_panel.set_network(self.session.network)
        for view in (self.chart, self.weights_view, self.preview):
            view.follow(self.session)
        self.lesson_area.open_defaults()
        self.restore_settings()
        self._update_actions()
        self._update_edit_actions()

    # ================================================================ building
    def _build_widgets(self) -> None:
        self.canvas = DrawingCanvas()
        self.preview = DigitPreview()
        self.chart = OutputChart()
        self.weights_view = WeightsView()
        self.lesson_area = LessonArea(self.session)
        self.training_panel = TrainingPanel()
        self.training_panel.replace_guard = self.maybe_save_changes
        # A redraw of the curves costs a stroke about 10 ms: they wait for the pen to lift.
        self._hold_while_drawing(self.training_panel.curves.throttle)

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
        self.clear_button.setToolTip("Clear the drawing (Delete); Undo brings it back.")
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setToolTip("Undo the last stroke or clear (Ctrl+Z).")
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.setToolTip("Redo what Undo took back (Ctrl+Shift+Z or Ctrl+Y).")
        for button in (self.clear_button, self.undo_button, self.redo_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def _hold_while_drawing(self, throttle) -> None:
        # Training's redraws wait while a stroke is drawn and come as the pen lifts (ui/pen_wait.py).
        throttle.defer_while = self.canvas.stroke_in_progress
        self.canvas.strokeEnded.connect(throttle.pen_lifted)

    def _connect(self) -> None:
        self.canvas.changed.connect(self.feed.update_prediction)
        self.canvas.fileDropped.connect(self.feed.open_image_file)
        self.brush_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.eraser_button.toggled.connect(self.canvas.set_eraser)
        self.clear_button.clicked.connect(self.feed.clear_drawing)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button.clicked.connect(self.canvas.redo)
        self.canvas.historyChanged.connect(self._update_edit_actions)
        self.session.infoChanged.connect(self._update_bundled_checks)
        self.chart.modeChanged.connect(self._save_chart_settings)
        self.chart.thresholdChanged.connect(self._save_chart_settings)
        self.session.infoChanged.connect(self.status_labels.update_model)
        self.session.networkChanged.connect(self.status_labels.update_model)
        panel = self.training_panel
        panel.modelReplaced.connect(self._on_model_replaced)
        panel.snapshot.connect(self.live_view.on_snapshot)
        panel.runEnded.connect(self._on_run_ended)
        panel.runFailed.connect(self._on_run_failed)
        panel.stateChanged.connect(self._on_training_state)
        panel.errorOccurred.connect(self._on_panel_error)
        panel.data_combo.currentIndexChanged.connect(self.status_labels.update_model)

    # ====================================================== user interaction
    def show_error(self, title: str, text: str) -> None:
        """Tell the user about a problem. Tests replace this method."""
        QMessageBox.warning(self, title, text)

    def ask_save_changes(self) -> str:
        """Ask what to do with the model: "save", "discard" or "cancel". Tests replace this method.

        Asked only when :meth:`ModelFiles.maybe_save_changes` finds the model
        worth keeping, or on close while training runs ("Training is
        running. Stop it and quit?", one question that also stops the run).
        """
        question = questions.save_question(
            self.training_panel.is_running(), self.files.worth_keeping(), self.files.latest_val_accuracy()
        )
        return questions.ask(self, question)

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
    def _on_bundled_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_bundled_model(action.data())
        self._update_bundled_checks()  # a refused or cancelled switch leaves the old check

    def open_bundled_model(self, name: str) -> bool:
        """File > Bundled models > NAME: show that bundled model as shipped. True if shown."""
        return self.files.open_bundled(name)

    @Slot()
    def _update_bundled_checks(self) -> None:
        shown = self.session.bundled
        for name, action in self.bundled_actions.items():
            action.setChecked(name == shown)

    @Slot()
    def _update_edit_actions(self) -> None:
        for widgets, enabled in (((self.undo_action, self.undo_button), self.canvas.can_undo()),
                                 ((self.redo_action, self.redo_button), self.canvas.can_redo())):
            for widget in widgets:
                widget.setEnabled(enabled)

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
        self.status_labels.set_state(state)
        self._update_actions()

    def _update_actions(self) -> None:
        idle = not self.training_panel.is_running()
        for action in (self.new_action, self.open_model_action, self.reload_shipped_action,
                       *self.bundled_actions.values()):
            action.setEnabled(idle)

    # ============================================================== download
    @Slot()
    def download_mnist(self) -> None:
        """File > Download full MNIST: progress dialog with Cancel; runs on a worker thread."""
        self._download.start()

    def download_dialog(self) -> DownloadDialog | None:
        return self._download.dialog()

    # ================================================================== view
    @Slot()
    def reset_layout(self) -> None:
        """View > Reset layout: every panel back in its first-start place."""
        self.restoreState(self._default_state)
        window_layout.arrange_docks(self)
        self.lesson_area.open_defaults()
        QTimer.singleShot(0, self, lambda: window_layout.square_canvas(self))

    @Slot()
    def show_about(self) -> None:
        if self._about_dialog is None:
            self._about_dialog = AboutDialog(self)
        self._about_dialog.open()

    def about_dialog(self) -> AboutDialog | None:
        return self._about_dialog

    @Slot()
    def show_start_here(self) -> HelpPage:
        """Help > Start here: the five-step guide, with the video and the book."""
        return self.help_pages.show_start_here()

    @Slot()
    def show_shortcuts(self) -> HelpPage:
        """Help > Keyboard shortcuts: read from the menus' actions as they are now."""
        return self.help_pages.show_shortcuts()

    def _offer_start_here(self) -> None:
        """On the very first start only, open the guide beside the window (keyboard stays here)."""
        if self.isVisible() and not app_settings.read(self.settings, "start_here_shown"):
            app_settings.write(self.settings, start_here_shown=True)
            self.help_pages.show_start_here(activate=False)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self, self._after_first_show)

    @Slot()
    def _after_first_show(self) -> None:
        if self._first_layout:
            window_layout.square_canvas(self)
        self._offer_start_here()

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
            window_layout.place_first_window(self)
        state = app_settings.read(self.settings, "window_state")
        self._first_layout = state.isEmpty() or not self.restoreState(state)
        if self._first_layout:
            window_layout.size_docks(self)
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
        self.status_labels.update_model()
        self._update_bundled_checks()

    # ============================================================== shutdown
    def shutdown(self) -> None:
        """Stop training, lessons and downloads and wait for their threads; safe to call twice."""
        self.training_panel.shutdown()
        self.lesson_area.shutdown()
        self._download.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.maybe_save_changes():
            event.ignore()
            return
        self.shutdown()
        self.help_pages.close_all()
        self.save_settings()
        super().closeEvent(event)
