"""The window's actions, menus and toolbar.

Each action becomes an attribute of the window (``window.save_action``, ...),
as tests and scripts use them. The Lessons menu is built from
:data:`digitlab.ui.lessons.LESSONS` alone: one action per registered lesson
view, whose data is the lesson's name.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolButton

from digitlab.core import model_io, preprocess
from digitlab.ui import help as help_pages
from digitlab.ui import lessons as lesson_registry
from digitlab.ui.input_feed import NOISE_LABELS
from digitlab.ui.model_files import BUNDLED_TITLES


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
    window.undo_action = _action(window, "&Undo", window.canvas.undo,
                                 "Undo the last stroke or clear (a cleared drawing comes back whole).", keys.Undo)
    # Both spellings on every platform: Ctrl+Y is Windows' habit, Ctrl+Shift+Z everyone else's.
    window.redo_action = _action(window, "&Redo", window.canvas.redo, "Redo what Undo took back.",
                                 ["Ctrl+Shift+Z", "Ctrl+Y"])
    # Not Esc: it closes popups, and a slip must not wipe the drawing.
    window.clear_action = _action(window, "&Clear drawing", feed.clear_drawing,
                                  "Clear the drawing (Undo brings it back).", keys.Delete)
    window.reset_layout_action = _action(window, "&Reset layout", window.reset_layout,
                                         "Put every panel back where it was at first start.")
    window.about_action = _action(window, "&About DigitLab", window.show_about,
                                  "Version, licences and where the data comes from.")
    window.start_here_action = _action(window, "&Start here", window.show_start_here,
                                       "A short guide: draw, feed noise, train, look inside, lessons.", keys.HelpContents)
    window.shortcuts_action = _action(window, "&Keyboard shortcuts", window.show_shortcuts,
                                      "Every keyboard shortcut of the menus.")
    window.video_action = _link_action(window, "The &video (3Blue1Brown)", help_pages.VIDEO_URL,
                                       help_pages.VIDEO_TITLE)
    window.book_action = _link_action(window, "The &book (Nielsen, chapter 1)", help_pages.BOOK_URL,
                                      help_pages.BOOK_TITLE)
    _bundled_actions(window)
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


def _link_action(window, text: str, url: str, title: str) -> QAction:
    action = QAction(text, window)
    action.setToolTip(f"Open {title} in the web browser ({url}).")
    action.setStatusTip(action.toolTip())
    action.setData(url)
    action.triggered.connect(lambda: help_pages.open_link(action))
    return action


def _bundled_actions(window) -> None:
    """File > Bundled models: one checkable action per bundled model, and the reload."""
    window.bundled_group = QActionGroup(window)
    window.bundled_group.setExclusive(True)
    window.bundled_actions = {}
    for name in model_io.BUNDLED_MODELS:
        title = BUNDLED_TITLES.get(name, name)
        action = QAction(f"{name.capitalize()}: {title}", window)
        action.setCheckable(True)
        action.setData(name)
        action.setToolTip(f"Show the bundled {title} as shipped (digitlab --model {name}).")
        action.setStatusTip(action.toolTip())
        action.triggered.connect(window._on_bundled_action)
        window.bundled_group.addAction(action)
        window.bundled_actions[name] = action
    window.reload_shipped_action = _action(
        window, "&Reload the shipped model", window.files.reload_shipped,
        "Load the bundled model chosen last again, as shipped (training on it is discarded).")


def build_menus(window) -> None:
    """The menu bar: File, Edit, Network, Lessons, View, Help."""
    menu_bar = window.menuBar()
    file_menu = menu_bar.addMenu("&File")
    file_menu.addActions([window.new_action, window.open_model_action, window.save_action, window.save_as_action])
    window.bundled_menu = file_menu.addMenu("&Bundled models")
    window.bundled_menu.addActions(list(window.bundled_actions.values()))
    window.bundled_menu.addSeparator()
    window.bundled_menu.addAction(window.reload_shipped_action)
    file_menu.addSeparator()
    file_menu.addAction(window.open_image_action)
    export_menu = file_menu.addMenu("&Export")
    export_menu.addActions([window.export_weights_action, window.export_png_action, window.export_csv_action])
    file_menu.addSeparator()
    file_menu.addAction(window.download_action)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)

    edit_menu = menu_bar.addMenu("&Edit")
    edit_menu.addActions([window.undo_action, window.redo_action, window.clear_action])

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
    help_menu.addActions([window.start_here_action, window.shortcuts_action])
    help_menu.addSeparator()
    help_menu.addActions([window.video_action, window.book_action])
    help_menu.addSeparator()
    help_menu.addAction(window.about_action)
    for menu in (file_menu, window.bundled_menu, edit_menu, network_menu, window.noise_menu, window.lessons_menu,
                 view_menu, help_menu, export_menu):
        menu.setToolTipsVisible(True)


def build_toolbar(window) -> None:
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolBar")
    toolbar.setToolTip("Frequent commands")
    toolbar.addActions([window.open_model_action, window.save_action, window.open_image_action])
    toolbar.addSeparator()
    toolbar.addActions([window.undo_action, window.redo_action, window.clear_action])
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
