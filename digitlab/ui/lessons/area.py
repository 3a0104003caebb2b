"""The place lessons are shown: one tab per lesson chosen from the Lessons menu."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QTabWidget, QWidget

from digitlab.ui import lessons as lesson_registry
from digitlab.ui.lessons import LessonView
from digitlab.ui.session import ModelSession


class LessonArea(QTabWidget):
    """Tabs of lesson views, each made from the registry the first time it is chosen.

    Each view sits in a scroll area of its own, so a view wider or taller than
    the dock scrolls instead of stretching the window past a 1366x768 screen.

    Signals
    -------
    lessonOpened(str)
        A lesson's tab was opened or brought to the front; its name.
    """

    lessonOpened = Signal(str)

    def __init__(self, session: ModelSession, lessons: tuple[LessonView, ...] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._lessons = lessons if lessons is not None else lesson_registry.LESSONS
        self._views: dict[str, QWidget] = {}
        self._pages: dict[str, QScrollArea] = {}  # the tab page holding each view
        self.setTabsClosable(True)
        self.setDocumentMode(True)
        self.setMovable(True)
        self.setToolTip("Lessons: experiments with the network shown. Open more from the Lessons menu.")
        self.tabCloseRequested.connect(self._on_close_requested)

    def open_lesson(self, name: str) -> QWidget:
        """Show lesson ``name`` (making its view the first time) and return its view."""
        view = self._views.get(name)
        entry = next((lesson for lesson in self._lessons if lesson.name == name), None)
        if entry is None:
            raise KeyError(f"no lesson view {name!r}; known: {', '.join(x.name for x in self._lessons)}")
        if view is None:
            try:
                view = entry.create(self._session)
            except ImportError as err:
                # A lesson whose code is missing (a partial install) must not stop the window.
                view = QLabel(f"The lesson \u201c{entry.title}\u201d is not available: {err}")
                view.setWordWrap(True)
                view.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view.setObjectName(f"lesson_{name}")
            self._views[name] = view
            self._pages[name] = _scrolling_page(view)
        page = self._pages[name]
        if self.indexOf(page) < 0:
            self.addTab(page, entry.title)
            self.setTabToolTip(self.indexOf(page), view.toolTip() or entry.title)
        self.setCurrentWidget(page)
        self.lessonOpened.emit(name)
        return view

    def open_defaults(self) -> None:
        """Open the lessons marked ``open_at_start``; the first of them in front."""
        first = None
        for lesson in self._lessons:
            if lesson.open_at_start:
                self.open_lesson(lesson.name)
                first = first or lesson.name
        if first is not None:
            self.open_lesson(first)

    def view(self, name: str) -> QWidget | None:
        """The open view of lesson ``name``, or None."""
        return self._views.get(name)

    def open_names(self) -> list[str]:
        return [name for name, page in self._pages.items() if self.indexOf(page) >= 0]

    def current_view(self) -> QWidget | None:
        """The view of the lesson in front, or None."""
        name = self.current_name()
        return None if name is None else self._views[name]

    def current_name(self) -> str | None:
        current = self.currentWidget()
        return next((name for name, page in self._pages.items() if page is current), None)

    def close_lesson(self, name: str) -> None:
        """Stop the lesson's work and remove its tab; the view is kept for when it is chosen again.

        Kept rather than deleted: freeing a view with live pyqtgraph items from
        Python crashed the garbage collector later; the window frees its
        children together when it goes.
        """
        page = self._pages.get(name)
        if page is None or self.indexOf(page) < 0:
            return
        _shutdown(self._views[name])
        self.removeTab(self.indexOf(page))

    def shutdown(self) -> None:
        """Stop every lesson's work (their threads); the tabs stay."""
        for view in self._views.values():
            _shutdown(view)

    @Slot(int)
    def _on_close_requested(self, index: int) -> None:
        page = self.widget(index)
        name = next((name for name, open_page in self._pages.items() if open_page is page), None)
        if name is not None:
            self.close_lesson(name)


def _scrolling_page(view: QWidget) -> QScrollArea:
    page = QScrollArea()
    page.setWidgetResizable(True)  # the view fills the dock when it fits
    page.setFrameShape(QFrame.Shape.NoFrame)
    page.setWidget(view)
    return page


def _shutdown(view: QWidget) -> None:
    stop = getattr(view, "shutdown", None)
    if callable(stop):
        stop()
