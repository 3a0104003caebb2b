"""The lesson registry: the Lessons menu and tabs are built from LESSONS alone."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from digitlab.core.network import Network
from digitlab.ui import lessons
from digitlab.ui.lessons import LESSONS, LessonView, lesson_view


def test_names_are_unique_and_each_view_module_has_make_view():
    names = [lesson.name for lesson in LESSONS]
    assert len(names) == len(set(names)) and "noise" in names
    assert lesson_view("noise").title == "Noise test"
    with pytest.raises(KeyError, match="known: noise"):
        lesson_view("telepathy")


def test_every_lesson_has_a_menu_action_that_shows_its_view(open_window):
    window = open_window(Network.create(rng=np.random.default_rng(0)))
    menu_actions = [action for action in window.lessons_menu.actions() if not action.isSeparator()]
    assert [action.data() for action in menu_actions] == [lesson.name for lesson in LESSONS]
    assert [action.text() for action in menu_actions] == [lesson.title for lesson in LESSONS]
    for lesson, action in zip(LESSONS, menu_actions):
        window.weights_dock.raise_()  # the lessons dock hidden behind another tab
        action.trigger()
        view = window.lesson_area.view(lesson.name)
        assert isinstance(view, QWidget) and not isinstance(view, QLabel)  # the real view, not a placeholder
        assert window.lesson_area.current_view() is view
        assert window.lessons_dock.isVisible() and view.isVisible()
    # Choosing a lesson again brings its tab back rather than adding another.
    count = window.lesson_area.count()
    menu_actions[0].trigger()
    assert window.lesson_area.count() == count


def test_a_new_registry_entry_needs_no_window_code(open_window, monkeypatch):
    made = []

    def create(session):
        made.append(session)
        view = QLabel(f"outputs: {session.n_outputs}")
        view.setToolTip("A lesson added in a test.")
        return view

    extra = LessonView("extra", "Extra lesson", create)
    monkeypatch.setattr(lessons, "LESSONS", (*LESSONS, extra))
    window = open_window(Network.create(rng=np.random.default_rng(0)))
    assert made == []  # views are made when first chosen, not at start-up
    action = window.lesson_actions["extra"]
    assert action in window.lessons_menu.actions()
    action.trigger()
    assert made == [window.session]
    assert window.lesson_area.current_name() == "extra"
    assert window.lesson_area.tabText(window.lesson_area.currentIndex()) == "Extra lesson"
    # Closing its tab removes the tab; choosing it again brings the same view back.
    view = window.lesson_area.view("extra")
    window.lesson_area.close_lesson("extra")
    assert "extra" not in window.lesson_area.open_names()
    action.trigger()
    assert len(made) == 1 and window.lesson_area.current_view() is view


def test_reset_layout_reopens_the_default_lessons(open_window):
    window = open_window(Network.create(rng=np.random.default_rng(0)))
    window.lesson_area.close_lesson("noise")
    assert window.lesson_area.count() == 0
    window.reset_layout_action.trigger()
    assert window.lesson_area.open_names() == [lesson.name for lesson in LESSONS if lesson.open_at_start]


def test_no_lesson_widens_the_window_past_a_small_screen(open_window, qtbot):
    # Every lesson's view scrolls inside the dock rather than stretching a 1366x768 window.
    window = open_window(Network.create(rng=np.random.default_rng(0)))
    window.resize(1366, 768)
    window.show()
    for lesson in LESSONS:
        window.show_lesson(lesson.name)
        QApplication.processEvents()
        assert window.width() <= 1366 and window.height() <= 768, lesson.name
