"""The noise lesson's view: the network answers even when shown pure noise.

The maths is :mod:`digitlab.core.lessons.noise` (run here on a worker thread
through :class:`~digitlab.ui.lessons.runner.LessonRunner`); this view shows
the distributions of the network's *top* output on noise images and on real
digits as two histograms, with their medians and the lesson's summary.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.lessons import noise as lesson
from digitlab.core.preprocess import NOISE_KINDS, noise_image
from digitlab.ui import style
from digitlab.ui.lessons.common import RunningLessonView, lesson_texts, text_label
from digitlab.ui.session import ModelSession

HISTOGRAM_BINS = 20
#: Combo-box entries: (data, label). "all" mixes the kinds in equal parts.
KIND_CHOICES = (
    ("all", "All kinds (mixed)"),
    ("uniform", "Uniform"),
    ("gaussian", "Gaussian"),
    ("salt_and_pepper", "Salt and pepper"),
)
EXPLANATION = (
    "The network has one output per digit and no way to say \u201cnone of these\u201d.\n"
    "Shown pure noise, it still names a digit \u2014 and often looks as sure as it does on real digits."
)
#: Shown in the empty plot until the first comparison.
EMPTY_PLOT_HINT = "Run the test: press \u201cCompare\u201d above"
#: The empty plot's y range: a few images, not pyqtgraph's -0.5 to 0.5 ("images (x0.001)").
EMPTY_Y_RANGE = (0, 10)
HINT = (
    "Try this: compare, then train a few epochs (or open another model) and compare again. "
    "Does the network grow more or less sure about noise?"
)


def make_view(session: ModelSession) -> "NoiseView":
    """The registry's entry point: a noise view following ``session``."""
    return NoiseView(session)


class NoiseView(RunningLessonView):
    """Histograms of the network's top output on noise versus real digits.

    Signals
    -------
    comparisonFinished(object)
        The lesson's result after each comparison (in the GUI thread).
    """

    comparisonFinished = Signal(object)
    CANCELLED_TEXT = "Comparison cancelled."
    FAILED_TEXT = "The comparison failed: {message}"

    def __init__(self, session: ModelSession, parent: QWidget | None = None,
                 rng: np.random.Generator | None = None) -> None:
        # rng seeds the runs, and the single noise images; unseeded, so runs differ between app sessions.
        super().__init__(session, parent, rng)
        style.configure_pyqtgraph()
        self.setToolTip("How confident the network is about pure noise.")
        self._stale = False  # the network changed after the last comparison
        self._edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
        self._counts = {"noise": np.zeros(HISTOGRAM_BINS), "digits": np.zeros(HISTOGRAM_BINS)}
        self.runFinished.connect(self.comparisonFinished)
        self._build()
        self._restyle()
        session.networkChanged.connect(self._on_network_changed)
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._explanation, self._hint = lesson_texts(EXPLANATION, HINT)

        self._kind_combo = QComboBox()
        for data, label in KIND_CHOICES:
            self._kind_combo.addItem(label, data)
        self._kind_combo.setToolTip(
            "Which noise to show the network: uniform (every pixel random), gaussian (grey fog),\n"
            "salt and pepper (random white dots on black), or all three mixed."
        )
        samples = lesson.DEFAULT_SAMPLES
        self._compare_button = QPushButton(f"Compare {samples:,} noise images with real digits")
        self._compare_button.setToolTip(
            f"Feed {samples:,} noise images and as many real digits (the bundled validation part)\n"
            "through the network and compare how sure it looks."
        )
        self._compare_button.clicked.connect(self.compare)
        self._run_button = self._compare_button  # locked by the base class during a run
        self._make_cancel_and_progress("Stop the comparison.")
        self._feed_button = QPushButton("Feed one noise image")
        self._feed_button.setToolTip("Show the network a single noise image, as if you had drawn it.")
        self._feed_button.clicked.connect(self.feed_one)
        self._progress.setToolTip("Progress of the comparison.")

        self._plot = pg.PlotWidget()
        self._plot.setMinimumSize(260, 160)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._plot.setXRange(0.0, 1.0, padding=0.02)
        self._plot.setYRange(*EMPTY_Y_RANGE, padding=0)
        self._plot.setLabel("left", "images")
        self._plot.getAxis("left").enableAutoSIPrefix(False)  # counts of images, never "x0.001"
        self._set_bottom_label(self._session.network.output_activation)
        self._plot.setToolTip(
            "How sure the network looks: for each image, the value of its largest output.\n"
            "Real digits should pile up near 1. Noise should stay low, but often does not."
        )
        # The legend is the title (see _restyle): a box in the plot would cover bars or a median.
        self._noise_curve = self._histogram_item(style.NOISE_COLOR, "noise images")
        self._digits_curve = self._histogram_item(style.REAL_COLOR, "real digits")
        self._noise_median = self._median_line(style.NOISE_COLOR, 0.92)
        self._digits_median = self._median_line(style.REAL_COLOR, 0.78)
        self._empty_hint = pg.TextItem(EMPTY_PLOT_HINT, anchor=(0.5, 0.5))
        self._empty_hint.setPos(0.5, sum(EMPTY_Y_RANGE) / 2)
        self._plot.addItem(self._empty_hint, ignoreBounds=True)

        self._summary = text_label("Compare to see how the network answers noise.", selectable=True)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Noise:"))
        controls.addWidget(self._kind_combo)
        controls.addWidget(self._feed_button)
        controls.addStretch(1)
        run_row = QHBoxLayout()
        run_row.addWidget(self._compare_button, 1)
        run_row.addWidget(self._cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._explanation)
        layout.addWidget(self._hint)
        layout.addLayout(controls)
        layout.addLayout(run_row)
        layout.addWidget(self._progress)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self._summary)

    def _histogram_item(self, color: str, name: str) -> pg.PlotDataItem:
        item = pg.PlotDataItem(
            self._edges,
            np.zeros(HISTOGRAM_BINS),
            stepMode="center",
            fillLevel=0,
            pen=pg.mkPen(color, width=2),
            brush=pg.mkBrush(style.with_alpha(color, 70)),
            name=name,
        )
        self._plot.addItem(item)
        return item

    def _median_line(self, color: str, label_position: float) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=0.0,
            angle=90,
            movable=False,
            pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine),
            label="median {value:.2f}",
            # pyqtgraph's default anchors put the label on the roomier side of the line.
            labelOpts={"position": label_position, "color": color},
        )
        line.setVisible(False)
        self._plot.addItem(line, ignoreBounds=True)
        return line

    # ------------------------------------------------------------- public API
    def kind(self) -> str:
        """The chosen noise kind ("all" or one of ``preprocess.NOISE_KINDS``)."""
        return self._kind_combo.currentData()

    def set_kind(self, kind: str) -> None:
        index = self._kind_combo.findData(kind)
        if index < 0:
            raise ValueError(f"unknown noise kind {kind!r}")
        self._kind_combo.setCurrentIndex(index)

    def result(self):
        """The latest :class:`digitlab.core.lessons.noise.NoiseResult`, or None."""
        return super().result()

    def histogram_counts(self) -> dict[str, np.ndarray]:
        """The bar heights shown: ``{"noise": counts, "digits": counts}`` over :meth:`bin_edges`."""
        return {name: counts.copy() for name, counts in self._counts.items()}

    def bin_edges(self) -> np.ndarray:
        return self._edges.copy()

    def summary_text(self) -> str:
        return self._summary.text()

    def config(self) -> lesson.NoiseConfig:
        """The lesson's config for the shown network (a copy: the worker must not share it).

        The real digits are the lesson's default, the bundled validation part.
        """
        return lesson.NoiseConfig(network=self._session.network.copy(), kind=self.kind())

    @Slot()
    def compare(self) -> None:
        """Start the comparison on the worker thread; ``comparisonFinished`` follows."""
        config = self.config()
        self._summary.setText("Comparing\u2026")
        self._begin()
        self._start_run(lesson.run, config)

    @Slot()
    def feed_one(self) -> np.ndarray:
        """Show the network one noise image of the chosen kind (it becomes the current input)."""
        kind = self.kind()
        if kind == "all":
            kind = str(self._rng.choice(NOISE_KINDS))
        image = noise_image(kind, self._rng)
        self._session.set_input(image, "noise")
        return image

    # --------------------------------------------------------------- internals
    @Slot()
    def _on_network_changed(self) -> None:
        if self._result is not None and not self._stale:
            self._stale = True
            self._summary.setText(self._result.summary() + " (The network has changed since; compare again.)")

    def _show(self, result) -> None:
        self._stale = False
        for name, values, curve, median, line in (
            ("noise", result.noise_top, self._noise_curve, result.noise_top_median, self._noise_median),
            ("digits", result.digits_top, self._digits_curve, result.digits_top_median, self._digits_median),
        ):
            values = np.asarray(values)
            counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=self._edges)
            self._counts[name] = counts
            curve.setData(self._edges, counts)
            line.setVisible(bool(values.size))
            if values.size:
                line.setValue(median)
        self._empty_hint.setVisible(False)
        self._set_bottom_label(result.output_activation)
        # Headroom above the tallest bar: the median labels sit there, clear of the bars.
        self._plot.setYRange(0, max(EMPTY_Y_RANGE[1], max(c.max() for c in self._counts.values())) * 1.25,
                             padding=0)
        self._summary.setText(result.summary())

    def _set_bottom_label(self, output_activation: str) -> None:
        what = "top probability" if output_activation == "softmax" else "top output"
        self._plot.setLabel("bottom", f"{what} (the winning neuron's value)")

    def empty_hint(self) -> str:
        """The hint the plot shows before the first comparison ('' once it has results)."""
        return self._empty_hint.textItem.toPlainText() if self._empty_hint.isVisible() else ""

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        style.style_plot(self._plot, self.palette())
        color = style.text_color(self.palette())
        keys = "&nbsp;&nbsp;&nbsp;".join(_curve_key(key_color, name) for key_color, name in (
            (style.NOISE_COLOR, "noise images"), (style.REAL_COLOR, "real digits")))
        self._plot.setTitle(keys, color=color, size="9pt")
        self._empty_hint.setColor(style.muted_color(self.palette(), 0.7))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def _curve_key(color: str, name: str) -> str:
    """A legend entry as rich text: a square in the curve's colour, then its name."""
    return f"<span style='color:{QColor(color).name()}'>\u25a0</span>&nbsp;{name}"


__all__ = ["EMPTY_PLOT_HINT", "HINT", "EXPLANATION", "KIND_CHOICES", "NoiseView", "make_view"]
