"""The window's actions, menus and toolbar.

Each action becomes an attribute of the window (``window.save_action``, ...),
as tests and scripts use them. The Lessons menu is built from
:data:`digitlab.ui.lessons.LESSONS` alone: one action per registered lesson
view, whose data is the lesson's name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolButton

from digitlab.core import preprocess
from digitlab.ui.input_feed import NOISE_LABELS
from digitlab.ui import lessons as lesson_registry


def _action(window, text: str, slot, tooltip: str, shortcut=None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tooltip)
    action.setStatusTip(tooltip)
    if shortcut is not None:
        if isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    return action


def build_actions(window) -> None:
    """Make the window's actions (its ``*_action`` attributes, ``noise_actions``, ``lesson_actions``)."""
    keys = QKeySequence.StandardKey
    files, feed = window.files, window.feed
    window.new_action = _action(window, "&New network", window.new_network,
                                "Replace the model with a new randomly initialised network.", keys.New)
    window.open_model_action = _action(window, "&Open model...", files.open_model,
                                       "Open a saved DigitLab model (.npz).", keys.Open)
    window.save_action = _action(window, "&Save model", files.save_model, "Save the model.", keys.Save)
    window.save_as_action = _action(window, "Save model &as...", files.save_model_as,
                                    "Save the model under a new name.", keys.SaveAs)
    window.open_image_action = _action(window, "Open &image...", feed.open_image,
                                       "Classify a scanned or saved picture of a digit.", "Ctrl+I")
    window.export_weights_action = _action(window, "&Weights image...", files.export_weights_image,
                                           "Save the hidden-neuron pictures as a PNG.")
    window.export_png_action = _action(window, "Learning curves as &PNG...", files.export_curves_png,
                                       "Save the learning curves as a PNG picture.")
    window.export_csv_action = _action(window, "Learning curves as &CSV...", files.export_curves_csv,
                                       "Save the learning curves' numbers as CSV.")
    window.download_action = _action(window, "&Download full MNIST...", window.download_mnist,
                                     "Download the 70,000 MNIST digits (about 11 MB) for training.")
    window.quit_action = _action(window, "&Quit", window.close, "Quit DigitLab.", keys.Quit)
    window.undo_action = _action(window, "&Undo stroke", window.canvas.undo, "Undo the last stroke.", keys.Undo)
    window.clear_action = _action(window, "&Clear drawing", feed.clear_drawing, "Clear the drawing.",
                                  [QKeySequence(keys.Delete), QKeySequence(Qt.Key.Key_Escape)])
    window.reset_layout_action = _action(window, "&Reset layout", window.reset_layout,
                                         "Put every panel back where it was at first start.")
    window.about_action = _action(window, "&About DigitLab", window.show_about,
                                  "Version, licences and where the data comes from.")
    window.noise_actions = {}
    for kind in preprocess.NOISE_KINDS:
        label = NOISE_LABELS.get(kind, kind)
        action = QAction(label, window)
        action.setToolTip(f"Feed the network an image of {label.lower()} and see how sure it is.")
        action.setData(kind)
        action.triggered.connect(window._on_noise_action)
        window.noise_actions[kind] = action
    window.noise_actions["uniform"].setShortcut(QKeySequence("Ctrl+Shift+N"))
    window.lesson_actions = {}
    for lesson in lesson_registry.LESSONS:  # looked up now: the registry is the one list
        action = QAction(lesson.title, window)
        action.setToolTip(f"Open the lesson \u201c{lesson.title}\u201d in the Lessons panel.")
        action.setStatusTip(action.toolTip())
        action.setData(lesson.name)
        action.triggered.connect(window._on_lesson_action)
        window.lesson_actions[lesson.name] = action


def build_menus(window) -> None:
    """The menu bar: File, Edit, Network, Lessons, View, Help."""
    menu_bar = window.menuBar()
    file_menu = menu_bar.addMenu("&File")
    file_menu.addActions([window.new_action, window.open_model_action, window.save_action, window.save_as_action])
    file_menu.addSeparator()
    file_menu.addAction(window.open_image_action)
    export_menu = file_menu.addMenu("&Export")
    export_menu.addActions([window.export_weights_action, window.export_png_action, window.export_csv_action])
    file_menu.addSeparator()
    file_menu.addAction(window.download_action)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)

    edit_menu = menu_bar.addMenu("&Edit")
    edit_menu.addActions([window.undo_action, window.clear_action])

    network_menu = menu_bar.addMenu("&Network")
    window.noise_menu = network_menu.addMenu("Feed &noise")
    window.noise_menu.addActions(list(window.noise_actions.values()))

    window.lessons_menu = menu_bar.addMenu("&Lessons")
    window.lessons_menu.addActions(list(window.lesson_actions.values()))

    view_menu = menu_bar.addMenu("&View")
    view_menu.addAction(window.reset_layout_action)
    view_menu.addSeparator()
    for dock in window.docks:
        toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {dock.windowTitle()} panel.")
        view_menu.addAction(toggle)

    help_menu = menu_bar.addMenu("&Help")
    help_menu.addAction(window.about_action)
    for menu in (file_menu, edit_menu, network_menu, window.noise_menu, window.lessons_menu, view_menu,
                 help_menu, export_menu):
        menu.setToolTipsVisible(True)


def build_toolbar(window) -> None:
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolBar")
    toolbar.setToolTip("Frequent commands")
    toolbar.addActions([window.open_model_action, window.save_action, window.open_image_action])
    toolbar.addSeparator()
    toolbar.addActions([window.undo_action, window.clear_action])
    toolbar.addSeparator()
    window.noise_button = QToolButton()
    window.noise_button.setText("Feed noise")
    window.noise_button.setToolTip(
        "Put a random noise image through the network: it still answers, often confidently.\n"
        "Click for uniform noise; the arrow offers other kinds."
    )
    window.noise_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    window.noise_button.setMenu(window.noise_menu)
    window.noise_button.clicked.connect(window._feed_default_noise)
    toolbar.addWidget(window.noise_button)
