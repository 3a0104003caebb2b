"""The Help menu's pages: "Start here" (a five-step guide with the video and the book) and the shortcuts.

The shortcut list is read from the window's menus when it is shown, so it
names the keys the actions really have and cannot drift from them.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QMenuBar, QTextBrowser, QVBoxLayout, QWidget

VIDEO_URL = "https://www.youtube.com/watch?v=IHZwWFHWa-w"
BOOK_URL = "http://neuralnetworksanddeeplearning.com/chap1.html"
VIDEO_TITLE = "3Blue1Brown: Gradient descent, how neural networks learn"
BOOK_TITLE = "Michael Nielsen: Neural Networks and Deep Learning, chapter 1"

#: The guide's five steps: (what to do, how, what to notice).
START_STEPS = (
    ("Draw", "Draw a digit on the black square with the mouse or a pen (right button erases; "
             "Delete clears, Ctrl+Z undoes, even a clear).",
     "The Output panel names the digit the network reads; the small square shows the 28x28 "
     "pixels it really sees."),
    ("Feed noise", "Click <b>Feed noise</b> in the toolbar (or Network &gt; Feed noise).",
     "The network still answers, often confidently: it only knows ten answers, and noise "
     "is none of them."),
    ("Train", "In the Training panel, press <b>Start</b> and watch the learning curves.",
     "Start trains a new network from random weights: the loss falls and the validation "
     "accuracy climbs epoch by epoch. Save a model you like with File &gt; Save model."),
    ("Look inside", "Look at the <b>Hidden neurons</b> panel while you draw.",
     "Each tile is one neuron's 784 weights; the outlined ones respond most to your drawing."),
    ("Lessons", "Open an experiment from the <b>Lessons</b> menu.",
     "Each lesson tests one claim of the video, such as \"a bigger network reads better\"."),
)


def start_here_html() -> str:
    """The "Start here" guide as HTML: five steps, then the video and the book."""
    items = "".join(
        f"<li><b>{title}.</b> {how}<br><span>{notice}</span></li>" for title, how, notice in START_STEPS
    )
    return (
        "<h3>Start here</h3>"
        "<p>DigitLab is the network of 3Blue1Brown's video: 784 input pixels, two hidden layers of "
        "16 neurons, ten outputs. Five things to try, in order:</p>"
        f"<ol>{items}</ol>"
        "<p>To understand what you see:</p><ul>"
        f"<li>the video: <a href=\"{VIDEO_URL}\">{html.escape(VIDEO_TITLE)}</a></li>"
        f"<li>the book: <a href=\"{BOOK_URL}\">{html.escape(BOOK_TITLE)}</a></li></ul>"
        "<p>Help &gt; Keyboard shortcuts lists the keys. This guide is always under Help &gt; Start here.</p>"
    )


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands and dots."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".")


def _menu_actions(menu: QMenu, path: str):
    for action in menu.actions():
        if action.menu() is not None:
            yield from _menu_actions(action.menu(), f"{path} > {_plain(action.text())}")
        elif not action.isSeparator():
            yield path, action


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """``(menu, command, keys)`` of every menu command that has a shortcut, in menu order.

    ``keys`` are the action's shortcuts in the platform's own spelling
    ("Ctrl+Z", or "⌘Z" on macOS), joined by " or ".
    """
    rows, seen = [], set()
    for top in menu_bar.actions():
        if top.menu() is None:
            continue
        for path, action in _menu_actions(top.menu(), _plain(top.text())):
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
            keys = [k for k in keys if k]
            if keys and id(action) not in seen:
                seen.add(id(action))
                rows.append((path, _plain(action.text()), " or ".join(keys)))
    return rows


def shortcuts_html(menu_bar: QMenuBar) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(keys)}</td><td>{html.escape(command)}</td>"
        f"<td style='color: gray'>{html.escape(menu)}</td></tr>"
        for menu, command, keys in shortcut_rows(menu_bar)
    )
    return (
        "<h3>Keyboard shortcuts</h3>"
        f"<table cellspacing='0' cellpadding='3'>{rows}</table>"
        "<p>On the canvas, Delete or Backspace also clears; the right mouse button erases.</p>"
    )


class HelpPage(QDialog):
    """A non-modal page of help text whose links open in the web browser."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(text)
        self.browser.setToolTip("Links open in your web browser.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        for button in buttons.buttons():
            button.setToolTip("Close this page (it is always under Help).")
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def set_text(self, text: str) -> None:
        self.browser.setHtml(text)

    def text(self) -> str:
        return self.browser.toPlainText()

    def html(self) -> str:
        return self.browser.toHtml()


class HelpPages:
    """The window's help pages, made when first shown and kept."""

    def __init__(self, window) -> None:
        self._window = window
        self.start_here: HelpPage | None = None
        self.shortcuts: HelpPage | None = None

    def show_start_here(self, activate: bool = True) -> HelpPage:
        """Show the guide; ``activate=False`` leaves the keyboard with the window (the first-start offer)."""
        if self.start_here is None:
            self.start_here = HelpPage("Start here", start_here_html(), self._window)
        self._show(self.start_here, activate)
        return self.start_here

    def show_shortcuts(self) -> HelpPage:
        text = shortcuts_html(self._window.menuBar())  # read now: the actions as they are
        if self.shortcuts is None:
            self.shortcuts = HelpPage("Keyboard shortcuts", text, self._window)
        else:
            self.shortcuts.set_text(text)
        self._show(self.shortcuts, True)
        return self.shortcuts

    @staticmethod
    def _show(page: HelpPage, activate: bool) -> None:
        page.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not activate)
        page.show()
        if activate:
            page.raise_()
            page.activateWindow()

    def close_all(self) -> None:
        for page in (self.start_here, self.shortcuts):
            if page is not None:
                page.close()


def open_link(action: QAction) -> None:
    """Open the web page an action's data names (Help > The video, Help > The book)."""
    QDesktopServices.openUrl(QUrl(action.data()))
