"""The place lessons are shown: one tab per lesson chosen from the Lessons menu."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

from digitlab.ui import lessons as lesson_registry
from digitlab.ui.lessons import LessonView
from digitlab.ui.session import ModelSession


class LessonArea(QTabWidget):
    """Tabs of lesson views, each made from the registry the first time it is chosen.

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
        if self.indexOf(view) < 0:
            self.addTab(view, entry.title)
            self.setTabToolTip(self.indexOf(view), view.toolTip() or entry.title)
        self.setCurrentWidget(view)
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
        return [name for name, view in self._views.items() if self.indexOf(view) >= 0]

    def current_name(self) -> str | None:
        current = self.currentWidget()
        return next((name for name, view in self._views.items() if view is current), None)

    def close_lesson(self, name: str) -> None:
        """Stop the lesson's work and remove its tab; the view is kept for when it is chosen again.

        Kept rather than deleted: freeing a view with live pyqtgraph items from
        Python crashed the garbage collector later; the window frees its
        children together when it goes.
        """
        view = self._views.get(name)
        if view is None or self.indexOf(view) < 0:
            return
        _shutdown(view)
        self.removeTab(self.indexOf(view))

    def shutdown(self) -> None:
        """Stop every lesson's work (their threads); the tabs stay."""
        for view in self._views.values():
            _shutdown(view)

    @Slot(int)
    def _on_close_requested(self, index: int) -> None:
        view = self.widget(index)
        name = next((name for name, open_view in self._views.items() if open_view is view), None)
        if name is not None:
            self.close_lesson(name)


def _shutdown(view: QWidget) -> None:
    stop = getattr(view, "shutdown", None)
    if callable(stop):
        stop()
