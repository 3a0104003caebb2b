"""The mistakes lesson's view: where the network goes wrong, and on which digits.

The session's network is evaluated on a worker thread (LessonRunner) on the
bundled sample's validation part, or on the official MNIST test set when it
is here, with :mod:`digitlab.core.evaluation` (as ``digitlab evaluate
--mistakes N``). Shown: the confusion matrix, coloured by count, the diagonal
(right answers) in its own colour, a click on a cell showing its digits; the
most confidently wrong and the most ambiguous digits, in core's order.

Clicking a digit puts it on the canvas side (``ModelSession.set_input``) for
the output bars and the neuron views. When the network changes, the shown
evaluation is marked stale until Evaluate: re-running on every training
snapshot would make the galleries jump under the mouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QBoxLayout, QComboBox, QFrame, QHBoxLayout, QHeaderView, QLabel, QListView,
    QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSizePolicy, QStyle,
    QStyledItemDelegate, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from digitlab.core import evaluation
from digitlab.ui.lessons.dream import image_pixmap
from digitlab.ui.lessons.common import RunningLessonView, WrappedLabel
from digitlab.ui.session import ModelSession, output_labels
from digitlab.ui.style import ACCENT, REAL_COLOR

#: Thumbnails in each of the two "worst" galleries.
GALLERY_COUNT = 40
#: Screen pixels per image pixel in the galleries: 56 px thumbnails.
ZOOM = 2
#: Confusion-matrix cell size in pixels: room for "1135", and the whole view
#: fits the lessons dock of a 1366-pixel-wide window.
CELL_WIDTH = 36
CELL_HEIGHT = 20
#: Gallery columns wanted beside the matrix; with less room the galleries go below it.
SIDE_COLUMNS = 4
#: Digits per forward pass, so Cancel is heard within milliseconds.
CHUNK = 1000
#: ``set_input`` source of a digit fed from here: not a canvas source
#: (digitlab.ui.input_feed.CANVAS_SOURCES), so the window clears the drawing
#: and keeps showing the digit, as for noise and dreams.
INPUT_SOURCE = "mistakes"
DATA_SETS = (("sample", "Bundled sample, validation part (1,000 digits)"),
             ("official", "Official MNIST test set (10,000 digits)"))
STALE = " (The network has changed since: press Evaluate.)"
EXPLANATION = (
    "The network's answer for every test digit, counted: row = the true digit, column = what the network said; "
    "the diagonal holds the right answers.\nMany mistakes are digits a person would hesitate over too, but some "
    "are plain digits it gets wrong with high confidence: it learned pixels, not strokes."
)
HINT = (
    "Try this: click the biggest off-diagonal cell, then a digit in it, and watch the output bars and the "
    "second layer. Are the most confident mistakes badly written, or mislabelled?"
)


def make_view(session: ModelSession) -> "MistakesView":
    """The registry's entry point: a mistakes view following ``session``."""
    return MistakesView(session)


def available_sets() -> list[tuple[str, str]]:
    """``(key, title)`` of the sets to evaluate on: the sample's validation part, and
    the official test set when it is on this machine."""
    from digitlab import bench
    from digitlab.core import datasets

    choices = [DATA_SETS[0]]
    if bench.official_test_dir() is not None or datasets.mnist_available():
        choices.append(DATA_SETS[1])
    return choices


def load_set(key: str) -> tuple[np.ndarray, np.ndarray, str, int]:
    """Images, labels, a description and the IDX position of the first digit of set ``key``."""
    from digitlab import bench
    from digitlab.core import datasets

    if key == "sample":
        split = datasets.load_sample()
        return split.val_images, split.val_labels, "the bundled sample's validation part", len(split.train_labels)
    if key == "official":
        directory = bench.official_test_dir()
        if directory is None:
            directory = datasets.full_mnist_dir()
        images, labels = datasets.load_test_set(directory)
        return images, labels, "the official MNIST test set", 0
    raise ValueError(f"no evaluation set {key!r}")


@dataclass
class MistakesConfig:
    """What to evaluate: a network (a copy, the worker's own) on data set ``data``."""

    network: object
    data: str = "sample"


@dataclass
class MistakesResult:
    """The evaluated set and the network's outputs on it."""

    data: str
    description: str
    images: np.ndarray
    first_index: int
    evaluation: evaluation.Evaluation

    def summary(self) -> str:
        e = self.evaluation
        return (f"On {self.description}: {e.correct:,} of {e.n:,} right ({e.accuracy:.1%}), "
                f"{e.n - e.correct:,} mistakes.")


def run(config: MistakesConfig, rng: np.random.Generator, progress=None, cancel=None) -> MistakesResult:
    """Evaluate ``config.network`` on ``config.data`` (``rng`` unused: nothing here is random)."""
    images, labels, description, first_index = load_set(config.data)
    result = evaluation.evaluate(config.network, images, labels, CHUNK, progress=progress, cancel=cancel)
    return MistakesResult(config.data, description, images, first_index, result)


def _blend(base: QColor, color: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(*(b + (c - b) * amount for b, c in zip(base.getRgbF()[:3], color.getRgbF()[:3])))


class _OutlineSelection(QStyledItemDelegate):
    """Marks the chosen cell with a frame: the usual selection fill would hide its colour."""

    def paint(self, painter, option, index) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        option.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, option, index)
        if selected:
            painter.save()
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Text), 3))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()


class ConfusionTable(QTableWidget):
    """The confusion matrix as counts, right answers (the diagonal) in blue, mistakes in orange.

    Signal ``cellChosen(int, int)``: the (true digit, answer) of a clicked cell.
    """

    cellChosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(_OutlineSelection(self))
        self.setTextElideMode(Qt.TextElideMode.ElideNone)  # "1118" a little tight beats "11..."
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setDefaultSectionSize(CELL_WIDTH)
        self.verticalHeader().setDefaultSectionSize(CELL_HEIGHT)
        self.setToolTip("Rows: the true digit. Columns: the network's answer. Click a cell to see its digits.")
        self.cellClicked.connect(self.cellChosen)

    def set_confusion(self, confusion: np.ndarray, labels: list[str]) -> None:
        """Show ``confusion`` (rows: true digits, columns: one per output, named by ``labels``)."""
        rows, columns = confusion.shape
        self.setRowCount(rows)
        self.setColumnCount(columns)
        self.setVerticalHeaderLabels(labels[:rows])
        self.setHorizontalHeaderLabels([f"\u2192{label}" for label in labels[:columns]])
        diagonal = np.eye(rows, columns, dtype=bool)
        most_right = max(1, int(confusion[diagonal].max(initial=0)))
        most_wrong = max(1, int(confusion[~diagonal].max(initial=0)))
        base = self.palette().color(QPalette.ColorRole.Base)
        text = self.palette().color(QPalette.ColorRole.Text)
        bold = QFont(self.font())
        bold.setBold(True)
        for row in range(rows):
            for column in range(columns):
                count = int(confusion[row, column])
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                right = bool(diagonal[row, column])
                # A square root: one or two mistakes must still show against a cell of fifty.
                amount = np.sqrt(count / (most_right if right else most_wrong)) if count else 0.0
                item.setBackground(QBrush(_blend(base, QColor(REAL_COLOR if right else ACCENT), 0.9 * amount)))
                item.setForeground(QBrush(QColor("white") if amount > 0.6 else text))
                if right:
                    item.setFont(bold)
                what = "read right" if right else f"read as {labels[column]}"
                item.setToolTip(f"{count} digit{'s' if count != 1 else ''} {labels[row]} {what}")
                self.setItem(row, column, item)
        self.setFixedSize(self.verticalHeader().sizeHint().width() + CELL_WIDTH * columns + 2 * self.frameWidth() + 2,
                          self.horizontalHeader().sizeHint().height() + CELL_HEIGHT * rows + 2 * self.frameWidth() + 2)


class DigitGallery(QListWidget):
    """Thumbnails of evaluated digits, each captioned "true -> answer, confidence".

    Signal ``digitChosen(int)``: the position (in the evaluated set) of a clicked digit.
    """

    digitChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(28 * ZOOM, 28 * ZOOM))
        self.setGridSize(QSize(28 * ZOOM + 22, 28 * ZOOM + 40))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.itemClicked.connect(lambda item: self.digitChosen.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self._examples: list[evaluation.Mistake] = []

    def set_examples(self, examples, images: np.ndarray, labels: list[str], first_index: int = 0) -> None:
        """Show ``examples`` (:class:`digitlab.core.evaluation.Mistake`) in their order."""
        self.clear()
        self._examples = list(examples)
        for example in self._examples:
            item = QListWidgetItem(QIcon(image_pixmap(images[example.index] / 255.0, ZOOM)),
                                   f"{labels[example.label]}\u2192{labels[example.predicted]}\n"
                                   f"{example.confidence:.0%}")
            item.setData(Qt.ItemDataRole.UserRole, example.index)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setToolTip(f"Digit #{first_index + example.index} of its IDX file: a {labels[example.label]}, "
                            f"read as {labels[example.predicted]} (top output {example.confidence:.3f}, "
                            f"{example.margin:.3f} above the next).\nClick to put it on the canvas side.")
            self.addItem(item)

    def examples(self) -> list:
        """The shown examples, in order."""
        return list(self._examples)


class MistakesView(RunningLessonView):
    """Evaluate the session's network; its confusion matrix and its worst digits.

    Signal ``evaluated(object)``: a :class:`MistakesResult` after each evaluation (GUI thread).
    """

    evaluated = Signal(object)
    CANCELLED_TEXT = "Evaluating cancelled."
    FAILED_TEXT = "Evaluating failed: {message}"

    def __init__(self, session: ModelSession, parent: QWidget | None = None, start: bool = True) -> None:
        super().__init__(session, parent)
        self.setToolTip("Where the network goes wrong, and on which digits.")
        self._stale = False
        self._network_version = 0  # bumped on every change; a run of an older version ends stale
        self._run_version = 0
        self.runFinished.connect(self.evaluated)
        self._build()
        session.networkChanged.connect(self._on_network_changed)
        self._update_controls()
        if start:
            self.evaluate()  # quick (a tenth of a second for 10,000 digits) and off the GUI thread

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._explanation = WrappedLabel(EXPLANATION)
        self._hint = WrappedLabel(HINT)
        self._hint.setStyleSheet("font-style: italic;")
        self._summary = WrappedLabel("Evaluating\u2026")
        self._shown = WrappedLabel("Click a digit to put it on the canvas side.")

        self._data_combo = QComboBox()
        for key, title in available_sets():
            self._data_combo.addItem(title, key)
        self._data_combo.setToolTip("The digits to evaluate on. None of them was trained on.")
        # Its long titles must not widen the lessons dock beyond a 1366-pixel screen.
        self._data_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._data_combo.setMinimumContentsLength(10)
        self._data_label = QLabel("Evaluate on:")
        for widget in (self._data_label, self._data_combo):
            widget.setVisible(self._data_combo.count() > 1)  # no choice to offer without the test set
        self._data_combo.currentIndexChanged.connect(self.evaluate)
        self._evaluate_button = QPushButton("Evaluate")
        self._evaluate_button.setToolTip("Run the network on every digit of the set and count its answers.")
        self._evaluate_button.clicked.connect(self.evaluate)
        self._run_button = self._evaluate_button  # locked by the base class during a run
        self._make_cancel_and_progress(cancel_tip="")

        self.table = ConfusionTable()
        self.table.cellChosen.connect(self.show_cell)
        self.cell_gallery = DigitGallery()
        self.wrong_gallery = DigitGallery()
        self.ambiguous_gallery = DigitGallery()
        self.tabs = QTabWidget()
        for gallery, title, tip in (
            (self.wrong_gallery, "Most confidently wrong", "Wrong answers with the highest top output, surest first."),
            (self.ambiguous_gallery, "Most ambiguous", "Right or wrong, the smallest gap between the top two first."),
            (self.cell_gallery, "Chosen cell", "The digits of the clicked confusion-matrix cell, the surest first."),
        ):
            self.tabs.setTabToolTip(self.tabs.addTab(gallery, title), tip)
            gallery.digitChosen.connect(self.show_digit)

        controls = QHBoxLayout()
        for widget in (self._data_label, self._data_combo, self._evaluate_button, self._cancel_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        matrix = QWidget()
        matrix.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        left = QVBoxLayout(matrix)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(QLabel("Confusion matrix (rows: true digit, columns: the network's answer)"))
        left.addWidget(self.table)
        body = self._body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        body.addWidget(matrix, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.tabs, 1)
        # Two thumbnail rows at least: in a short dock (1366x768) the rest scrolls rather than squeezing.
        self.tabs.setMinimumHeight(2 * self.wrong_gallery.gridSize().height() + 40)
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(controls)
        inner.addWidget(self._progress)
        inner.addWidget(self._summary)
        inner.addLayout(body, 1)
        inner.addWidget(self._shown)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addWidget(scroll, 1)

    # ------------------------------------------------------------- public API
    def result(self) -> MistakesResult | None:
        return super().result()

    def is_stale(self) -> bool:
        """True when the network changed since the shown evaluation."""
        return self._stale

    def data_choices(self) -> list[str]:
        return [self._data_combo.itemData(i) for i in range(self._data_combo.count())]

    def set_data(self, key: str) -> None:
        """Choose the set to evaluate on, as the combo box would (it evaluates again)."""
        index = self._data_combo.findData(key)
        if index < 0:
            raise ValueError(f"no evaluation set {key!r} here; choices: {self.data_choices()}")
        self._data_combo.setCurrentIndex(index)

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def evaluate(self) -> None:
        """Evaluate the session's network on the chosen set, off the GUI thread; ``evaluated`` follows."""
        config = MistakesConfig(self._session.network.copy(), self._data_combo.currentData() or "sample")
        self.runner.shutdown()  # first: its "cancelled" must not overwrite the text below
        self._run_version = self._network_version
        self._summary.setText("Evaluating\u2026")
        self._progress.setValue(0)
        self.runner.start(run, config, seed=0)
        self._update_controls()

    @Slot(int, int)
    def show_cell(self, label: int, predicted: int) -> None:
        """Show all digits of cell (``label``, ``predicted``), the surest first (the official
        test set's largest cell, 1,118 right 1s, fills in about 0.1 s)."""
        if self._result is None:
            return
        self.table.setCurrentCell(label, predicted)
        examples = self._result.evaluation.cell_examples(label, predicted)
        names = output_labels(self._result.evaluation.outputs.shape[1])
        self.cell_gallery.set_examples(examples, self._result.images, names, self._result.first_index)
        what = "read right" if label == predicted else f"read as {names[predicted]}"
        self.tabs.setTabText(2, f"{names[label]} {what} ({len(examples)})")
        self.tabs.setCurrentWidget(self.cell_gallery)

    @Slot(int)
    def show_digit(self, index: int) -> np.ndarray:
        """Put digit ``index`` of the evaluated set on the canvas side; returns the fed image."""
        result = self._result
        image = result.images[index].astype(np.float32) / np.float32(255)
        self._session.set_input(image, INPUT_SOURCE)
        label = int(result.evaluation.labels[index])
        predicted = int(evaluation.predictions(result.evaluation.outputs[index:index + 1])[0])
        names = output_labels(result.evaluation.outputs.shape[1])
        self._shown.setText(f"On the canvas side: digit #{result.first_index + index} of {result.description}, "
                            f"a {names[label]} the network reads as {names[predicted]}.")
        return image

    # --------------------------------------------------------------- internals
    @Slot()
    def _on_network_changed(self) -> None:
        self._network_version += 1
        if self._result is not None and not self._stale:
            self._stale = True
            self._summary.setText(self._result.summary() + STALE)

    def _show(self, result: MistakesResult) -> None:
        e = result.evaluation
        names = output_labels(e.outputs.shape[1])
        confusion = e.confusion_matrix()
        # Labels are digits only: an 11th "none" output gets a column, never a row.
        self.table.set_confusion(confusion[:min(10, len(confusion))], names)
        self.wrong_gallery.set_examples(e.confidently_wrong(GALLERY_COUNT), result.images, names, result.first_index)
        self.ambiguous_gallery.set_examples(e.most_ambiguous(GALLERY_COUNT), result.images, names,
                                            result.first_index)
        self.cell_gallery.set_examples([], result.images, names)
        self.tabs.setTabText(2, "Chosen cell")
        if self.tabs.currentWidget() is self.cell_gallery:
            self.tabs.setCurrentWidget(self.wrong_gallery)
        self._stale = self._run_version != self._network_version
        self._arrange()  # the matrix's size is known now
        self._summary.setText(result.summary() + (STALE if self._stale else ""))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Galleries beside the matrix when SIDE_COLUMNS thumbnails fit there, else below it (a narrow dock)."""
        wide = self.width() >= self.table.width() + SIDE_COLUMNS * self.wrong_gallery.gridSize().width() + 40
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._body.direction() != direction:
            self._body.setDirection(direction)

    def galleries_beside_matrix(self) -> bool:
        return self._body.direction() == QBoxLayout.Direction.LeftToRight


__all__ = ["EXPLANATION", "HINT", "ConfusionTable", "DigitGallery", "MistakesConfig", "MistakesResult",
           "MistakesView", "available_sets", "load_set", "make_view", "run"]
