"""Help: Start here (five steps, the video, the book), keyboard shortcuts read from the real actions."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from digitlab.ui import help as help_pages


def _native(text):
    return QKeySequence(text).toString(QKeySequence.SequenceFormat.NativeText)


def test_help_menu_has_start_here_shortcuts_video_book_and_about(open_window):
    window = open_window()
    help_menu = window.menuBar().actions()[-1].menu()
    actions = [a for a in help_menu.actions() if not a.isSeparator()]
    assert [a.text().replace("&", "") for a in actions][:2] == ["Start here", "Keyboard shortcuts"]
    assert window.about_action in actions
    assert window.video_action.data() == "https://www.youtube.com/watch?v=IHZwWFHWa-w"
    assert window.book_action.data() == "http://neuralnetworksanddeeplearning.com/chap1.html"
    assert {window.video_action, window.book_action} <= set(actions)


def test_start_here_is_the_five_step_guide_with_both_links(open_window):
    window = open_window()
    window.start_here_action.trigger()
    page = window.help_pages.start_here
    assert page is not None and page.isVisible()
    text = page.text()
    steps = [text.index(word) for word in ("Draw.", "Feed noise.", "Train.", "Look inside.", "Lessons.")]
    assert steps == sorted(steps)  # 1 draw, 2 feed noise, 3 train, 4 look inside, 5 lessons
    assert help_pages.VIDEO_URL in page.html() and help_pages.BOOK_URL in page.html()
    assert page.browser.openExternalLinks()
    page.close()


def test_shortcuts_are_read_from_the_actions_and_follow_them(open_window):
    window = open_window()
    page = window.show_shortcuts()
    text = page.text()
    assert _native("Ctrl+Z") in text and _native("Ctrl+Shift+Z") in text and _native("Ctrl+Y") in text
    rows = {command: keys for _menu, command, keys in help_pages.shortcut_rows(window.menuBar())}
    assert rows["Redo"] == f"{_native('Ctrl+Shift+Z')} or {_native('Ctrl+Y')}"
    assert rows["Clear drawing"] == _native("Del")
    assert "Esc" not in " ".join(rows.values())  # Esc never clears
    # Every action with a shortcut is listed; none without.
    with_keys = {a.text().replace("&", "").rstrip(".") for a in window.findChildren(type(window.save_action))
                 if a.shortcuts() and a.shortcuts()[0].toString()}
    assert with_keys == set(rows)
    # Generated, not written down: a changed shortcut shows the next time.
    window.export_csv_action.setShortcut(QKeySequence("Ctrl+Alt+E"))
    page = window.show_shortcuts()
    assert _native("Ctrl+Alt+E") in page.text()
    page.close()


def test_start_here_is_offered_once_on_the_very_first_start(qtbot, open_window):
    first = open_window()
    qtbot.waitUntil(lambda: first.help_pages.start_here is not None and first.help_pages.start_here.isVisible(),
                    timeout=2000)
    # Beside the window, without taking the keyboard from it.
    from PySide6.QtCore import Qt

    assert first.help_pages.start_here.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert first.close()
    second = open_window()  # the same settings file: not the first start any more
    qtbot.wait(100)
    assert second.help_pages.start_here is None
